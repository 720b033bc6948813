package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
)

// healthOf runs Health and returns "Kind name" → status, failing on an error.
func healthOf(t *testing.T, c *deploy.Cluster, opts deploy.ApplyOptions) (deploy.HealthReport, map[string]deploy.HealthStatus) {
	t.Helper()
	rep, err := deploy.Health(context.Background(), c, opts)
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	out := map[string]deploy.HealthStatus{}
	for _, o := range rep.Objects {
		out[o.Entry.Kind+" "+o.Entry.Name] = o.Status
		if o.Message == "" {
			t.Errorf("%s %s is %s without a message", o.Entry.Kind, o.Entry.Name, o.Status)
		}
	}
	return rep, out
}

// setDeploymentStatus plays the Deployment controller, which the test API server does not run:
// the rollout of web's current generation has the given Progressing condition.
func setDeploymentStatus(t *testing.T, c *deploy.Cluster, ns string, progressing map[string]any) {
	t.Helper()
	dep, _ := get(t, c, "apps/v1", "Deployment", ns, "web")
	dep.Object["status"] = map[string]any{
		"observedGeneration": dep.GetGeneration(),
		"replicas":           int64(2), "updatedReplicas": int64(2), "readyReplicas": int64(2), "availableReplicas": int64(2),
		"conditions": []any{
			map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
			progressing,
		},
	}
	if err := c.Client().Status().Update(context.Background(), dep); err != nil {
		t.Fatal(err)
	}
}

func TestHealthReportsTheKstatusOfEveryInventoryObject(t *testing.T) {
	c, ns, opts := setup(t)

	rep, err := deploy.Health(context.Background(), c, opts)
	if err != nil {
		t.Fatalf("health before the first apply: %v", err)
	}
	if diff := cmp.Diff(deploy.HealthReport{Env: "dev"}, rep); diff != "" {
		t.Errorf("health before the first apply (-want +got):\n%s", diff)
	}

	const rev = "0123456789abcdef0123456789abcdef01234567"
	opts.Revision = rev
	apply(t, c, objects(t, ns, configMap, deploymnt), opts)
	inv, err := deploy.Inventory(context.Background(), c, opts)
	if err != nil {
		t.Fatal(err)
	}

	// No controller-manager runs here: the Deployment stays in progress.
	rep, got := healthOf(t, c, opts)
	if rep.Revision != rev || rep.Env != "dev" {
		t.Errorf("report of env %q at revision %q, want dev at %s", rep.Env, rep.Revision, rev)
	}
	var order []deploy.Entry
	for _, o := range rep.Objects {
		order = append(order, o.Entry)
	}
	if diff := cmp.Diff(inv, order); diff != "" {
		t.Errorf("objects not in inventory order (-inventory +report):\n%s", diff)
	}
	want := map[string]deploy.HealthStatus{"ConfigMap settings": deploy.HealthCurrent, "Deployment web": deploy.HealthInProgress}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("freshly applied (-want +got):\n%s", diff)
	}

	setDeploymentStatus(t, c, ns, map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"})
	_, got = healthOf(t, c, opts)
	want["Deployment web"] = deploy.HealthCurrent
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rolled out (-want +got):\n%s", diff)
	}

	setDeploymentStatus(t, c, ns, map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
		"message": `ReplicaSet "web-5d4f" has timed out progressing.`})
	rep, got = healthOf(t, c, opts)
	want["Deployment web"] = deploy.HealthFailed
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("past its progress deadline (-want +got):\n%s", diff)
	}
	for _, o := range rep.Objects {
		if o.Entry.Kind == "Deployment" && !strings.Contains(o.Message, "Progress deadline exceeded") {
			t.Errorf("failed Deployment's message %q does not say why", o.Message)
		}
	}

	// A finalizer holds the ConfigMap while it is deleted: Terminating, then NotFound.
	cm, _ := get(t, c, "v1", "ConfigMap", ns, "settings")
	cm.SetFinalizers([]string{"test.stagegate.dev/hold"})
	if err := c.Client().Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Client().Delete(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	_, got = healthOf(t, c, opts)
	want["ConfigMap settings"] = deploy.HealthTerminating
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigMap being deleted (-want +got):\n%s", diff)
	}
	cm, _ = get(t, c, "v1", "ConfigMap", ns, "settings")
	cm.SetFinalizers(nil)
	if err := c.Client().Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	rep, got = healthOf(t, c, opts)
	want["ConfigMap settings"] = deploy.HealthNotFound
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigMap deleted (-want +got):\n%s", diff)
	}
	if rep.Revision != rev {
		t.Errorf("revision %q after a deletion in the cluster, want %s still", rep.Revision, rev)
	}
}

func TestHealthOfAnAPIServerThatDoesNotAnswerIsUnreachable(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	direct, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := deploy.ApplyOptions{Pipeline: "shop", Env: "dev", InventoryNamespace: ns, Revision: "abc"}
	apply(t, direct, objects(t, ns, configMap, deploymnt), opts)

	proxied, proxy := deploytest.StartProxy(t, rc)
	c, err := deploy.New(proxied, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	healthOf(t, c, opts) // through the proxy while it is up
	proxy.Cut()

	_, err = deploy.Health(context.Background(), c, opts)
	var down *deploy.UnreachableError
	if !errors.As(err, &down) {
		t.Fatalf("health with the API server gone: error %v, want an UnreachableError", err)
	}
	t.Logf("reported: %v", err)
	for _, s := range []string{"environment dev", "transient", "ask again later"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "during the apply") {
		t.Errorf("error %q speaks of an apply", err)
	}

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	if rep, _ := healthOf(t, c, opts); rep.Revision != "abc" || len(rep.Objects) != 2 {
		t.Errorf("after the API server came back: revision %q, %d objects; want abc, 2", rep.Revision, len(rep.Objects))
	}
}

func TestHealthOptionsAreRequired(t *testing.T) {
	c, _, _ := setup(t)
	_, err := deploy.Health(context.Background(), c, deploy.ApplyOptions{Pipeline: "shop"})
	if err == nil || !strings.Contains(err.Error(), "env is required") || !strings.Contains(err.Error(), "inventoryNamespace is required") {
		t.Errorf("health without env and inventory namespace: %v", err)
	}
}

// The API server goes away after the inventory was read, while the objects are: the report is
// not a list of objects "not found" but an UnreachableError.
func TestHealthCutShortAfterTheInventoryIsUnreachable(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	direct, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := deploy.ApplyOptions{Pipeline: "shop", Env: "dev", InventoryNamespace: ns, Revision: "abc"}
	apply(t, direct, objects(t, ns, deploymnt, configMap), opts)

	proxied, proxy := deploytest.StartProxy(t, rc)
	var inventoryRead atomic.Bool
	proxied.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if inventoryRead.Load() {
				proxy.Cut() // discovery for the objects' kinds, or the objects themselves
			}
			resp, err := rt.RoundTrip(r)
			if err == nil && strings.Contains(r.URL.Path, "/stagegate-inventory-") {
				inventoryRead.Store(true)
			}
			return resp, err
		})
	})
	c, err := deploy.New(proxied, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := deploy.Health(context.Background(), c, opts)
	var down *deploy.UnreachableError
	if !errors.As(err, &down) {
		t.Fatalf("health with the API server gone after the inventory: report %+v, error %v; want an UnreachableError", rep, err)
	}
	t.Logf("reported: %v", err)
	if !inventoryRead.Load() {
		t.Error("the inventory was never read: the API server went away too early for this test")
	}
}
