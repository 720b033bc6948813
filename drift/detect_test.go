package drift

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/stagegate-dev/stagegate/render"
)

// recorded is a Cluster that answers with objects recorded from an API server (the fixtures).
// It exercises Detect's bookkeeping: which objects are read, how results are ordered, how
// failures and the inventory are reported. What the API server does on a dry-run (defaults,
// managed fields) is in the fixtures and in the test against a real API server.
type recorded struct {
	dryRun    map[string]*unstructured.Unstructured // by name
	live      map[string]*unstructured.Unstructured
	failApply map[string]error
	inventory []Ref
	gets      atomic.Int32
}

func (c *recorded) DryRunApply(_ context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if err := c.failApply[obj.GetName()]; err != nil {
		return nil, err
	}
	return c.dryRun[obj.GetName()].DeepCopy(), nil
}

func (c *recorded) Get(_ context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error) {
	c.gets.Add(1)
	u, ok := c.live[name]
	if !ok || u.GetNamespace() != ns || u.GroupVersionKind() != gvk {
		return nil, nil
	}
	return u.DeepCopy(), nil
}

func (c *recorded) Inventory(_ context.Context, pipeline, env string) ([]Ref, error) {
	if pipeline != "shop" || env != "prod" {
		return nil, errors.New("no such inventory")
	}
	return c.inventory, nil
}

func rendered(t *testing.T, u *unstructured.Unstructured) render.Object {
	t.Helper()
	// The rendered object is what Git holds: no server fields. Its namespace is left out to
	// show that Detect reads the live object where the dry-run put it.
	c := strip(u.Object)
	unstructured.RemoveNestedField(c, "metadata", "namespace")
	return render.Object{Content: c}
}

func TestDetect(t *testing.T) {
	web := fixture(t, "image", "desired")
	db := fixture(t, "secret-value", "desired")
	api := fixture(t, "missing", "desired")
	api.SetName("api")
	job := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job", "metadata": map[string]any{"name": "migrate", "namespace": "shop"},
	}}
	legacy := fixture(t, "extra", "live")
	cluster := &recorded{
		dryRun: map[string]*unstructured.Unstructured{"web": web, "db": db, "api": api},
		live: map[string]*unstructured.Unstructured{
			"web":          fixture(t, "image", "live"),
			"db":           fixture(t, "secret-value", "live"),
			"legacy-flags": legacy,
		},
		failApply: map[string]error{"migrate": errors.New(`Job.batch "migrate" is invalid: spec.template: field is immutable`)},
		inventory: []Ref{
			{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Namespace: "shop", Name: "web"},
			{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: "shop", Name: "legacy-flags"},
			{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: "shop", Name: "pruned-already"},
		},
	}
	objs := render.Objects{rendered(t, db), rendered(t, web), rendered(t, api), {Content: job.Object}}

	rep, err := Detect(context.Background(), cluster, objs, Options{Pipeline: "shop", Env: "prod", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID     string
		Status Status
		Paths  []string
	}
	var got []row
	for _, o := range rep.Objects {
		got = append(got, row{o.ID().String(), o.Status, o.Paths})
	}
	want := []row{
		{"Secret shop/db", Drifted, []string{"/data/password"}},
		{"apps/Deployment shop/web", Drifted, []string{"/spec/template/spec/containers/name=web/image"}},
		{"apps/Deployment shop/api", Missing, nil},
		{"batch/Job shop/migrate", Failed, nil},
		{"ConfigMap shop/legacy-flags", Extra, nil},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	if r := rep.Objects[3].Reason; r != `dry-run apply: Job.batch "migrate" is invalid: spec.template: field is immutable` {
		t.Errorf("failed reason = %q", r)
	}
	if d := cmp.Diff(Summary{Drifted: 2, Missing: 1, Extra: 1, Failed: 1}, rep.Summary()); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	// One GET per compared object, one per inventory object not rendered; none for the object
	// whose dry-run failed.
	if n := cluster.gets.Load(); n != 5 {
		t.Errorf("%d GETs, want 5", n)
	}
}

func TestDetectWithoutEnvironmentReadsNoInventory(t *testing.T) {
	web := fixture(t, "in-sync", "desired")
	cluster := &recorded{
		dryRun:    map[string]*unstructured.Unstructured{"web": web},
		live:      map[string]*unstructured.Unstructured{"web": fixture(t, "in-sync", "live")},
		inventory: []Ref{{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: "shop", Name: "x"}},
	}
	rep, err := Detect(context.Background(), cluster, render.Objects{rendered(t, web)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.InSync() || len(rep.Objects) != 1 {
		t.Errorf("report %+v, want one in-sync object", rep)
	}
}

func TestDetectInventoryErrorStopsTheScan(t *testing.T) {
	_, err := Detect(context.Background(), &recorded{}, nil, Options{Pipeline: "shop", Env: "staging"})
	if err == nil || err.Error() != "read inventory of shop/staging: no such inventory" {
		t.Errorf("err = %v", err)
	}
}

func TestDetectStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	web := fixture(t, "in-sync", "desired")
	cluster := &recorded{dryRun: map[string]*unstructured.Unstructured{"web": web}}
	if _, err := Detect(ctx, cluster, render.Objects{rendered(t, web)}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// Before the first apply of an environment its namespace does not exist, and the API server
// refuses a dry-run of anything in it: those objects are missing, not failed.
func TestDetectObjectInMissingNamespaceIsMissing(t *testing.T) {
	web := fixture(t, "missing", "desired")
	cluster := &recorded{failApply: map[string]error{
		"web": apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "shop"),
	}}
	obj := render.Object{Content: strip(web.Object)}
	rep, err := Detect(context.Background(), cluster, render.Objects{obj}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Objects[0]; got.Status != Missing || got.Diff == "" {
		t.Errorf("got %s with diff %q, want missing with the rendered object as diff", got.Status, got.Diff)
	}
}

// recordedLister is recorded with List: the environment's labelled objects only.
type recordedLister struct {
	*recorded
	lists atomic.Int32
}

func (c *recordedLister) List(_ context.Context, gvk schema.GroupVersionKind, ns string) ([]*unstructured.Unstructured, error) {
	c.lists.Add(1)
	var out []*unstructured.Unstructured
	for _, u := range c.live {
		if u.GroupVersionKind() == gvk && u.GetNamespace() == ns && u.GetLabels()["stagegate.dev/env"] == "prod" {
			out = append(out, u.DeepCopy())
		}
	}
	return out, nil
}

// With a Lister, Detect reads live objects one list per kind and namespace, and GETs only what
// the lists did not return (here a live object without the environment's labels).
func TestDetectListsLiveObjects(t *testing.T) {
	var objs render.Objects
	cluster := &recordedLister{recorded: &recorded{
		dryRun: map[string]*unstructured.Unstructured{},
		live:   map[string]*unstructured.Unstructured{},
	}}
	for _, name := range []string{"a", "b", "c", "unlabelled"} {
		u := fixture(t, "extra", "live")
		u.SetName(name)
		if name == "unlabelled" {
			u.SetLabels(nil)
		}
		cluster.dryRun[name], cluster.live[name] = u, u
		objs = append(objs, render.Object{Content: strip(u.Object)})
	}
	rep, err := Detect(context.Background(), cluster, objs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.InSync() {
		t.Errorf("not in sync: %s", rep.Summary())
	}
	if l, g := cluster.lists.Load(), cluster.gets.Load(); l != 1 || g != 1 {
		t.Errorf("%d lists and %d GETs, want 1 list (ConfigMaps in shop) and 1 GET (the unlabelled one)", l, g)
	}
}
