package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The API server goes away in the middle of an apply: the apply says so and that a retry is
// the fix, reports which objects went through, claims and prunes nothing it should not; once
// the server is back the next apply converges.
func TestApplyConvergesAfterTheAPIServerWentAwayMidApply(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	direct, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	proxied, proxy := deploytest.StartProxy(t, rc)
	const cutAt = 40 // requests through the proxy: discovery, inventory, list, then applies
	var sent atomic.Int64
	proxied.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if sent.Add(1) == cutAt {
				proxy.Cut()
			}
			return rt.RoundTrip(r)
		})
	})
	c, err := deploy.New(proxied, deploy.Options{QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	opts := deploy.ApplyOptions{Pipeline: "shop", Env: "dev", InventoryNamespace: ns, Prune: true, Workers: 4}

	// Before: a Service the new rendering drops, so a wrong prune would show.
	opts.Revision = "before"
	apply(t, direct, objects(t, ns, service, configMap), opts)
	opts.Revision = "after"
	docs := []string{configMap}
	for i := range 100 {
		docs = append(docs, strings.Replace(configMap, "name: settings", "name: cm-"+strconv.Itoa(i), 1))
	}
	objs := objects(t, ns, docs...)

	res, err := deploy.Apply(context.Background(), c, objs, opts)
	var down *deploy.UnreachableError
	if !errors.As(err, &down) {
		t.Fatalf("apply with the API server gone: error %v, want an UnreachableError", err)
	}
	t.Logf("reported: %v", err)
	if !strings.Contains(err.Error(), "transient") || !strings.Contains(err.Error(), "retry") {
		t.Errorf("error %q does not say the failure is transient and to retry", err)
	}
	if strings.Contains(err.Error(), "failed otherwise") {
		t.Errorf("some connection errors were not recognised as the API server going away: %v", err)
	}
	applied := 0
	for _, o := range res.Objects {
		switch o.Action {
		case deploy.Created, deploy.Unchanged:
			applied++
			if _, ok := get(t, direct, "v1", o.ID.Kind, ns, o.ID.Name); !ok {
				t.Errorf("%v reported %s but not in the cluster", o.ID, o.Action)
			}
		case deploy.Failed, deploy.Skipped:
			if o.Err == nil {
				t.Errorf("%v %s without a reason", o.ID, o.Action)
			}
		default:
			t.Errorf("%v: %s, want applied, failed or skipped", o.ID, o.Action)
		}
	}
	if applied == 0 || applied == len(objs) {
		t.Fatalf("%d of %d objects applied: the API server did not go away mid-apply", applied, len(objs))
	}
	if down.Applied != applied || down.NotApplied != len(objs)-applied {
		t.Errorf("UnreachableError counts %d applied, %d not; the result %d and %d", down.Applied, down.NotApplied, applied, len(objs)-applied)
	}
	if _, ok := get(t, direct, "v1", "Service", ns, "web"); !ok {
		t.Error("the cut apply pruned the Service")
	}
	inv, err := deploy.Inventory(context.Background(), direct, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range inv {
		if _, ok := get(t, direct, e.APIVersion, e.Kind, e.Namespace, e.Name); !ok {
			t.Errorf("inventory claims %s %s, which is not in the cluster", e.Kind, e.Name)
		}
	}

	// The inventory may not even be writable now; either way it must not name the cut apply's
	// revision, or a restarted agent would think it applied.
	if rev, err := deploy.Revision(context.Background(), direct, opts); err != nil || rev == "after" {
		t.Errorf("revision after the cut apply = %q, %v; want the last complete one (before) or none", rev, err)
	}

	if err := proxy.Restore(); err != nil {
		t.Fatalf("restore the proxy: %v", err)
	}
	res = apply(t, c, objs, opts)
	if got := actions(res)["Service web"]; got != deploy.Deleted {
		t.Errorf("Service web: %q after the API server came back, want deleted", got)
	}
	for _, o := range res.Objects {
		if o.ID.Kind == "ConfigMap" {
			if _, ok := get(t, direct, "v1", "ConfigMap", ns, o.ID.Name); !ok {
				t.Errorf("ConfigMap %s missing after the converging apply", o.ID.Name)
			}
		}
	}
	if rev, err := deploy.Revision(context.Background(), direct, opts); err != nil || rev != "after" {
		t.Errorf("revision after the converging apply = %q, %v; want after", rev, err)
	}
	inv, err = deploy.Inventory(context.Background(), direct, opts)
	if err != nil {
		t.Fatal(err)
	}
	var want []deploy.Entry
	for _, o := range objs {
		want = append(want, deploy.Entry{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: o.Content["metadata"].(map[string]any)["name"].(string)})
	}
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("inventory after converging (-want +got):\n%s", diff)
	}
	if res := apply(t, c, objs, opts); res.Changed() || res.Count(deploy.Unchanged) != len(objs) {
		t.Errorf("third apply: %d unchanged of %d, changed %v", res.Count(deploy.Unchanged), len(objs), res.Changed())
	}
}
