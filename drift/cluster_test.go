package drift

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/render"
)

func TestMain(m *testing.M) { os.Exit(deploytest.Main(m)) }

func manifests(t *testing.T, ns, text string) render.Objects {
	t.Helper()
	var objs render.Objects
	for _, doc := range strings.Split(strings.ReplaceAll(text, "NS", ns), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, render.Object{Content: m})
	}
	objs.Sort()
	return objs
}

const shop = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/web:1.4.2
        env: [{name: MODE, value: prod}]
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: NS}
stringData: {password: hunter2, user: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: legacy-flags, namespace: NS}
data: {beta: "true"}`

// Drift against a real API server: what deploy applied is in sync; another field manager's
// change is drift at its path, unless a rule ignores that manager; a Secret's changed value is
// reported without the value; an object no longer rendered is extra, one never applied missing.
func TestDetectAgainstAPIServer(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	ctx := context.Background()
	cl, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs := manifests(t, ns, shop)
	applyOpts := deploy.ApplyOptions{Pipeline: "shop", Env: "prod", InventoryNamespace: ns}
	if _, err := deploy.Apply(ctx, cl, objs, applyOpts); err != nil {
		t.Fatal(err)
	}
	live := Live{Cluster: cl, Pipeline: "shop", Env: "prod", InventoryNamespace: ns}
	opts := Options{Pipeline: "shop", Env: "prod"}
	statuses := func(r Report) map[string]Status {
		m := map[string]Status{}
		for _, o := range r.Objects {
			m[o.Name] = o.Status
		}
		return m
	}

	rep, err := Detect(ctx, live, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.InSync() {
		var b bytes.Buffer
		_ = rep.WriteText(&b)
		t.Fatalf("right after apply, not in sync:\n%s", b.String())
	}

	// Another manager scales the Deployment; someone edits the Secret.
	scale := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": ns},
		"spec":     map[string]any{"replicas": int64(7)},
	}}
	if err := cl.Client().Apply(ctx, client.ApplyConfigurationFromUnstructured(scale),
		client.FieldOwner("hpa-like"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	secret := &unstructured.Unstructured{}
	secret.SetAPIVersion("v1")
	secret.SetKind("Secret")
	if err := cl.Client().Get(ctx, client.ObjectKey{Namespace: ns, Name: "db"}, secret); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(secret.Object, base64.StdEncoding.EncodeToString([]byte("swordfish")), "data", "password")
	if err := cl.Client().Update(ctx, secret, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}

	rep, err = Detect(ctx, live, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string][]string{}
	for _, o := range rep.Objects {
		paths[o.Name] = o.Paths
	}
	want := map[string][]string{"web": {"/spec/replicas"}, "db": {"/data/password"}, "legacy-flags": nil}
	if d := cmp.Diff(want, paths); d != "" {
		t.Errorf("drifted paths (-want +got):\n%s", d)
	}
	var text, js bytes.Buffer
	_ = rep.WriteText(&text)
	_ = rep.WriteJSON(&js)
	for _, v := range []string{"hunter2", "swordfish", "aHVudGVyMg==", "c3dvcmRmaXNo", "c2hvcA=="} {
		if strings.Contains(text.String(), v) || strings.Contains(js.String(), v) {
			t.Errorf("report shows Secret value %q:\n%s", v, text.String())
		}
	}

	// The scale belongs to an autoscaler: a rule by its manager stops it from drifting.
	opts.Ignore = []Ignore{{Kind: "Deployment", Managers: []string{"hpa-like"}}}
	rep, err = Detect(ctx, live, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	web := rep.Objects[slicesIndex(rep, "web")]
	if web.Status != InSync || !cmp.Equal(web.Ignored, []string{"/spec/replicas"}) {
		t.Errorf("with the manager ignored: web %s, ignored %v; want in sync, /spec/replicas ignored", web.Status, web.Ignored)
	}

	// The ConfigMap leaves Git and a new one arrives, before any apply.
	next := manifests(t, ns, strings.Replace(shop, "legacy-flags", "flags", 1))
	rep, err = Detect(ctx, live, next, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := map[string]Status{"web": InSync, "db": Drifted, "flags": Missing, "legacy-flags": Extra}
	if d := cmp.Diff(wantStatus, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
}

func slicesIndex(r Report, name string) int {
	for i, o := range r.Objects {
		if o.Name == name {
			return i
		}
	}
	return -1
}
