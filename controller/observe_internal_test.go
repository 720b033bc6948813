package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
	"github.com/stagegate-dev/stagegate/render"
)

const twoNamespaces = `apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop-canary}
spec:
  template:
    spec:
      initContainers: [{name: init, image: busybox:1.36}]
      containers: [{name: web, image: ghcr.io/acme/web:1.2}, {name: proxy, image: busybox:1.36}]
`

func TestOnlyNamespace(t *testing.T) {
	objs, err := gatestest.Parse("x.yaml", []byte(twoNamespaces))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onlyNamespace(objs, "prod-canary", "prod"); err == nil || !strings.Contains(err.Error(), "shop, shop-canary") || !strings.Contains(err.Error(), "gates.metrics.namespace") {
		t.Errorf("two namespaces: err = %v, want one naming both and the option to set", err)
	}
	var shop, cluster render.Objects
	for _, o := range objs {
		switch {
		case o.Kind() == "Namespace":
			cluster = append(cluster, o)
			shop = append(shop, o)
		case o.Namespace() == "shop":
			shop = append(shop, o)
		}
	}
	if ns, err := onlyNamespace(shop, "prod-canary", "prod"); err != nil || ns != "shop" {
		t.Errorf("one namespace: %q, %v; want shop", ns, err)
	}
	if _, err := onlyNamespace(cluster, "prod-canary", "prod"); err == nil {
		t.Error("no namespaced object: want an error")
	}
}

func TestImagesAreSortedOnce(t *testing.T) {
	objs, err := gatestest.Parse("x.yaml", []byte(twoNamespaces))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := images(objs), []string{"busybox:1.36", "ghcr.io/acme/web:1.2"}; !slices.Equal(got, want) {
		t.Errorf("images = %q, want %q", got, want)
	}
}

func TestRememberedKeepsFactsForTheInterval(t *testing.T) {
	c := &Controller{}
	calls := 0
	get := func() (*gates.HTTPFacts, bool) { calls++; return &gates.HTTPFacts{}, true }
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	a := remembered(c, "prod/http", "sha1", t0, time.Minute, get)
	b := remembered(c, "prod/http", "sha1", t0.Add(30*time.Second), time.Minute, get)
	if calls != 1 || a != b {
		t.Errorf("within the interval: %d calls, want 1 and the same facts", calls)
	}
	remembered(c, "prod/http", "sha1", t0.Add(time.Minute), time.Minute, get)
	remembered(c, "prod/http", "sha2", t0.Add(61*time.Second), time.Minute, get)
	if calls != 3 {
		t.Errorf("after the interval and for a new source commit: %d calls, want 3", calls)
	}
	cut := func() (*gates.HTTPFacts, bool) { calls++; return &gates.HTTPFacts{}, false }
	remembered(c, "prod/http", "sha3", t0, time.Minute, cut)
	remembered(c, "prod/http", "sha3", t0, time.Minute, cut)
	if calls != 5 {
		t.Errorf("facts not to keep were kept: %d calls, want 5", calls)
	}
}
