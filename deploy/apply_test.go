package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/render"
)

func TestMain(m *testing.M) { os.Exit(deploytest.Main(m)) }

// setup connects to the shared API server and gives the test its own namespace, which also
// holds the inventory.
func setup(t *testing.T) (*deploy.Cluster, string, deploy.ApplyOptions) {
	t.Helper()
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	c, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c, ns, deploy.ApplyOptions{Pipeline: "shop", Env: "dev", InventoryNamespace: ns}
}

// objects decodes a YAML stream, replacing NS with ns.
func objects(t testing.TB, ns string, docs ...string) render.Objects {
	t.Helper()
	var objs render.Objects
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(strings.ReplaceAll(d, "NS", ns)), &m); err != nil {
			t.Fatalf("decode %q: %v", d, err)
		}
		objs = append(objs, render.Object{Content: m})
	}
	return objs
}

// actions maps "Kind name" to the action, for cmp.Diff.
func actions(res deploy.Result) map[string]deploy.Action {
	out := map[string]deploy.Action{}
	for _, o := range res.Objects {
		out[o.ID.Kind+" "+o.ID.Name] = o.Action
	}
	return out
}

func apply(t *testing.T, c *deploy.Cluster, objs render.Objects, opts deploy.ApplyOptions) deploy.Result {
	t.Helper()
	res, err := deploy.Apply(context.Background(), c, objs, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func get(t *testing.T, c *deploy.Cluster, apiVersion, kind, ns, name string) (*unstructured.Unstructured, bool) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	err := c.Client().Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", kind, ns, name, err)
	}
	return u, true
}

const (
	configMap = `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: NS}, data: {color: blue}}`
	service   = `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: NS}, spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}}`
	deploymnt = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
`
)

func TestApplyCreatesThenChangesNothing(t *testing.T) {
	c, ns, opts := setup(t)
	objs := objects(t, ns, configMap, service, deploymnt)

	first := apply(t, c, objs, opts)
	want := map[string]deploy.Action{"ConfigMap settings": deploy.Created, "Service web": deploy.Created, "Deployment web": deploy.Created}
	if diff := cmp.Diff(want, actions(first)); diff != "" {
		t.Fatalf("first apply (-want +got):\n%s", diff)
	}
	versions := func() map[string]string {
		out := map[string]string{}
		for _, k := range [][3]string{{"v1", "ConfigMap", "settings"}, {"v1", "Service", "web"}, {"apps/v1", "Deployment", "web"}} {
			u, _ := get(t, c, k[0], k[1], ns, k[2])
			out[k[1]] = u.GetResourceVersion()
			if u.GetLabels()[deploy.LabelPipeline] != "shop" || u.GetLabels()[deploy.LabelEnv] != "dev" {
				t.Errorf("%s labels = %v, want stagegate.dev/pipeline=shop and stagegate.dev/env=dev", k[1], u.GetLabels())
			}
		}
		return out
	}
	before := versions()

	second := apply(t, c, objs, opts)
	want = map[string]deploy.Action{"ConfigMap settings": deploy.Unchanged, "Service web": deploy.Unchanged, "Deployment web": deploy.Unchanged}
	if diff := cmp.Diff(want, actions(second)); diff != "" {
		t.Errorf("second apply (-want +got):\n%s", diff)
	}
	if second.Changed() {
		t.Error("second apply reports a change")
	}
	if diff := cmp.Diff(before, versions()); diff != "" {
		t.Errorf("resourceVersions moved on a second apply (-before +after):\n%s", diff)
	}

	if _, ok := get(t, c, "v1", "ConfigMap", ns, deploy.InventoryName("shop", "dev")); !ok {
		t.Fatal("no inventory ConfigMap stagegate-inventory-shop-dev")
	}
	inv, err := deploy.Inventory(context.Background(), c, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantInv := []deploy.Entry{
		{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: "settings"},
		{APIVersion: "v1", Kind: "Service", Namespace: ns, Name: "web"},
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: ns, Name: "web"},
	}
	if diff := cmp.Diff(wantInv, inv); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
}

func TestApplyConfiguresOnlyTheChangedObject(t *testing.T) {
	c, ns, opts := setup(t)
	apply(t, c, objects(t, ns, configMap, deploymnt), opts)
	dep, _ := get(t, c, "apps/v1", "Deployment", ns, "web")

	res := apply(t, c, objects(t, ns, strings.Replace(configMap, "blue", "green", 1), deploymnt), opts)
	want := map[string]deploy.Action{"ConfigMap settings": deploy.Configured, "Deployment web": deploy.Unchanged}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	cm, _ := get(t, c, "v1", "ConfigMap", ns, "settings")
	if got := cm.Object["data"].(map[string]any)["color"]; got != "green" {
		t.Errorf("color = %v, want green", got)
	}
	if after, _ := get(t, c, "apps/v1", "Deployment", ns, "web"); after.GetResourceVersion() != dep.GetResourceVersion() {
		t.Error("the unchanged Deployment's resourceVersion moved")
	}
}

func TestApplyPrunesWhatIsNoLongerRendered(t *testing.T) {
	c, ns, opts := setup(t)
	opts.Prune = true
	kept := `{apiVersion: v1, kind: ConfigMap, metadata: {name: kept, namespace: NS, annotations: {stagegate.dev/prune: disabled}}, data: {a: b}}`
	apply(t, c, objects(t, ns, configMap, service, kept), opts)

	res := apply(t, c, objects(t, ns, configMap), opts)
	want := map[string]deploy.Action{"ConfigMap settings": deploy.Unchanged, "Service web": deploy.Deleted, "ConfigMap kept": deploy.Kept}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := get(t, c, "v1", "Service", ns, "web"); ok {
		t.Error("pruned Service still exists")
	}
	if _, ok := get(t, c, "v1", "ConfigMap", ns, "kept"); !ok {
		t.Error("ConfigMap annotated stagegate.dev/prune: disabled was deleted")
	}

	// Kept objects leave the inventory: the next apply neither deletes nor reports them.
	res = apply(t, c, objects(t, ns, configMap), opts)
	if diff := cmp.Diff(map[string]deploy.Action{"ConfigMap settings": deploy.Unchanged}, actions(res)); diff != "" {
		t.Errorf("third apply (-want +got):\n%s", diff)
	}
}

func TestApplyWithoutPruneKeepsObjectsAndRemembersThem(t *testing.T) {
	c, ns, opts := setup(t)
	apply(t, c, objects(t, ns, configMap, service), opts)
	apply(t, c, objects(t, ns, configMap), opts) // no prune: Service stays, still in inventory
	if _, ok := get(t, c, "v1", "Service", ns, "web"); !ok {
		t.Fatal("Service deleted without Prune")
	}
	opts.Prune = true
	res := apply(t, c, objects(t, ns, configMap), opts)
	if got := actions(res)["Service web"]; got != deploy.Deleted {
		t.Errorf("Service web: %q, want deleted by the first apply with Prune", got)
	}
}

func TestApplyCRDAndItsCustomResourcesTogether(t *testing.T) {
	c, ns, opts := setup(t)
	group := ns + ".example.com" // CRDs are cluster-wide: one group per test
	crd := `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.GROUP}
spec:
  group: GROUP
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
`
	widget := `{apiVersion: GROUP/v1, kind: Widget, metadata: {name: w1, namespace: NS}, spec: {size: 3}}`
	// Custom resource first in the rendering: staging, not input order, must put the CRD first.
	objs := objects(t, ns, strings.ReplaceAll(widget, "GROUP", group), strings.ReplaceAll(crd, "GROUP", group))

	res := apply(t, c, objs, opts)
	want := map[string]deploy.Action{"CustomResourceDefinition widgets." + group: deploy.Created, "Widget w1": deploy.Created}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if res.Objects[0].ID.Kind != "CustomResourceDefinition" {
		t.Errorf("first result %v, want the CRD applied first", res.Objects[0].ID)
	}
	if _, ok := get(t, c, group+"/v1", "Widget", ns, "w1"); !ok {
		t.Error("Widget w1 not in the cluster")
	}
	res = apply(t, c, objs, opts)
	if res.Changed() {
		t.Errorf("second apply changed something: %v", actions(res))
	}
}

const secret = `{apiVersion: v1, kind: Secret, metadata: {name: creds, namespace: NS}, immutable: true, stringData: {password: PASSWORD}}`

func TestApplyImmutableFieldFailsNamingObjectAndField(t *testing.T) {
	c, ns, opts := setup(t)
	apply(t, c, objects(t, ns, strings.Replace(secret, "PASSWORD", "hunter2-old", 1), configMap), opts)

	res, err := deploy.Apply(context.Background(), c,
		objects(t, ns, strings.Replace(secret, "PASSWORD", "hunter2-new", 1), configMap), opts)
	if err == nil {
		t.Fatal("changing an immutable Secret succeeded")
	}
	var imm *deploy.ImmutableFieldError
	if !errors.As(err, &imm) {
		t.Fatalf("error %q is not an ImmutableFieldError", err)
	}
	if imm.Object.Kind != "Secret" || imm.Object.Name != "creds" || len(imm.Fields) == 0 {
		t.Errorf("ImmutableFieldError = %+v, want Secret creds with its fields", imm)
	}
	msg := err.Error()
	for _, want := range []string{"Secret " + ns + "/creds", "data", "immutable", deploy.AnnotationRecreate} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	for _, o := range res.Objects {
		if o.Err != nil && strings.Contains(o.Err.Error(), "hunter2") {
			t.Errorf("result error shows the Secret's value: %v", o.Err)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the Secret's value: %s", msg)
	}
	if got := actions(res); got["Secret creds"] != deploy.Failed || got["ConfigMap settings"] != deploy.Unchanged {
		t.Errorf("actions %v, want the Secret failed and the ConfigMap unchanged", got)
	}
}

func TestApplyRecreatesWhenAnnotated(t *testing.T) {
	c, ns, opts := setup(t)
	annotated := strings.Replace(secret, "namespace: NS}", "namespace: NS, annotations: {stagegate.dev/recreate: enabled}}", 1)
	apply(t, c, objects(t, ns, strings.Replace(annotated, "PASSWORD", "old", 1)), opts)
	old, _ := get(t, c, "v1", "Secret", ns, "creds")

	res := apply(t, c, objects(t, ns, strings.Replace(annotated, "PASSWORD", "new", 1)), opts)
	if got := actions(res)["Secret creds"]; got != deploy.Recreated {
		t.Errorf("Secret creds: %q, want recreated", got)
	}
	s, _ := get(t, c, "v1", "Secret", ns, "creds")
	if s.GetUID() == old.GetUID() {
		t.Error("Secret kept its UID: not recreated")
	}
	var sec corev1.Secret
	if err := c.Client().Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "creds"}, &sec); err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["password"]) != "new" {
		t.Error("recreated Secret does not hold the new value")
	}
}

func TestApplyDryRunChangesNothing(t *testing.T) {
	c, ns, opts := setup(t)
	dry := opts
	dry.DryRun, dry.Prune = true, true

	res := apply(t, c, objects(t, ns, configMap, service), dry)
	want := map[string]deploy.Action{"ConfigMap settings": deploy.Created, "Service web": deploy.Created}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("dry-run on an empty namespace (-want +got):\n%s", diff)
	}
	for _, k := range [][2]string{{"ConfigMap", "settings"}, {"Service", "web"}, {"ConfigMap", deploy.InventoryName("shop", "dev")}} {
		if _, ok := get(t, c, "v1", k[0], ns, k[1]); ok {
			t.Errorf("dry-run created %s %s", k[0], k[1])
		}
	}

	apply(t, c, objects(t, ns, configMap, service), opts)
	cm, _ := get(t, c, "v1", "ConfigMap", ns, "settings")
	res = apply(t, c, objects(t, ns, strings.Replace(configMap, "blue", "green", 1)), dry)
	want = map[string]deploy.Action{"ConfigMap settings": deploy.Configured, "Service web": deploy.Deleted}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("dry-run of a change and a prune (-want +got):\n%s", diff)
	}
	after, _ := get(t, c, "v1", "ConfigMap", ns, "settings")
	if after.GetResourceVersion() != cm.GetResourceVersion() {
		t.Error("dry-run changed the ConfigMap")
	}
	if _, ok := get(t, c, "v1", "Service", ns, "web"); !ok {
		t.Error("dry-run pruned the Service")
	}
}

func TestApplyOptionsValidate(t *testing.T) {
	err := deploy.ApplyOptions{}.Validate()
	for _, want := range []string{"pipeline is required", "env is required", "inventoryNamespace is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %q", err, want)
		}
	}
}

func TestApplyDryRunOfCRDAndItsCustomResources(t *testing.T) {
	c, ns, opts := setup(t)
	opts.DryRun = true
	group := ns + ".example.com"
	crd := strings.ReplaceAll(`{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: gadgets.GROUP},
  spec: {group: GROUP, scope: Namespaced, names: {plural: gadgets, singular: gadget, kind: Gadget},
    versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]}}`, "GROUP", group)
	gadget := strings.ReplaceAll(`{apiVersion: GROUP/v1, kind: Gadget, metadata: {name: g1, namespace: NS}}`, "GROUP", group)

	res := apply(t, c, objects(t, ns, crd, gadget), opts)
	want := map[string]deploy.Action{"CustomResourceDefinition gadgets." + group: deploy.Created, "Gadget g1": deploy.Created}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := get(t, c, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "gadgets."+group); ok {
		t.Error("dry-run created the CRD")
	}
}

func TestApplyStagesNamespacesThenClusterRBACThenTheRest(t *testing.T) {
	c, ns, opts := setup(t)
	app := ns + "-app"
	objs := objects(t, ns,
		strings.ReplaceAll(`{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: APP}, data: {a: b}}`, "APP", app),
		strings.ReplaceAll(`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: APP-reader}, rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]}`, "APP", app),
		strings.ReplaceAll(`{apiVersion: v1, kind: Namespace, metadata: {name: APP}}`, "APP", app),
	)
	res := apply(t, c, objs, opts)
	var order []string
	for _, o := range res.Objects {
		order = append(order, o.ID.Kind+" "+string(o.Action))
	}
	want := []string{"Namespace created", "ClusterRole created", "ConfigMap created"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("apply order (-want +got):\n%s", diff)
	}
}

func TestApplyFailureSkipsLaterStagesAndPrunesNothing(t *testing.T) {
	c, ns, opts := setup(t)
	opts.Prune = true
	apply(t, c, objects(t, ns, configMap, service), opts)

	badRole := strings.ReplaceAll(`{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: NS-broken}, rules: [{apiGroups: [""], resources: [configmaps]}]}`, "NS", ns)
	res, err := deploy.Apply(context.Background(), c, objects(t, ns, badRole, configMap), opts)
	if err == nil {
		t.Fatal("apply of an invalid ClusterRole succeeded")
	}
	if !strings.Contains(err.Error(), "ClusterRole "+ns+"-broken") || !strings.Contains(err.Error(), "verbs") {
		t.Errorf("error %q does not name the ClusterRole and its field", err)
	}
	want := map[string]deploy.Action{"ClusterRole " + ns + "-broken": deploy.Failed, "ConfigMap settings": deploy.Skipped}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := get(t, c, "v1", "Service", ns, "web"); !ok {
		t.Fatal("a failed apply pruned the Service")
	}

	// The next good apply still knows the Service from the first inventory and prunes it.
	res = apply(t, c, objects(t, ns, configMap), opts)
	if got := actions(res)["Service web"]; got != deploy.Deleted {
		t.Errorf("Service web: %q after a failed apply, want deleted by the next good one", got)
	}
}

func TestApplyWaitReportsWhatDidNotRollOut(t *testing.T) {
	c, ns, opts := setup(t)
	opts.Wait, opts.ReadyTimeout = true, 3*time.Second

	// No controller-manager runs here: the Deployment never rolls out by itself.
	res, err := deploy.Apply(context.Background(), c, objects(t, ns, configMap, deploymnt), opts)
	var nr *deploy.NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("error %v, want a NotReadyError", err)
	}
	t.Logf("reported: %v", err)
	if len(nr.Objects) != 1 || nr.Objects[0].ID.Kind != "Deployment" || !strings.Contains(err.Error(), "Deployment "+ns+"/web") {
		t.Errorf("NotReadyError %v, want the Deployment alone", err)
	}
	for _, o := range res.Objects {
		if (o.NotReady != "") != (o.ID.Kind == "Deployment") {
			t.Errorf("%v NotReady = %q", o.ID, o.NotReady)
		}
	}

	// Play the controller: report the rollout done, and the same apply waits successfully.
	dep, _ := get(t, c, "apps/v1", "Deployment", ns, "web")
	dep.Object["status"] = map[string]any{
		"observedGeneration": dep.GetGeneration(),
		"replicas":           int64(2), "updatedReplicas": int64(2), "readyReplicas": int64(2), "availableReplicas": int64(2),
		"conditions": []any{
			map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
			map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
		},
	}
	if err := c.Client().Status().Update(context.Background(), dep); err != nil {
		t.Fatal(err)
	}
	res, err = deploy.Apply(context.Background(), c, objects(t, ns, configMap, deploymnt), opts)
	if err != nil {
		t.Fatalf("apply with a rolled-out Deployment: %v", err)
	}
	if res.Changed() {
		t.Errorf("second apply changed something: %v", actions(res))
	}
}

func TestApplyManyObjectsInParallel(t *testing.T) {
	c, ns, opts := setup(t)
	opts.Workers = 8
	var docs []string
	for i := range 40 {
		docs = append(docs, strings.Replace(configMap, "name: settings", "name: cm-"+strconv.Itoa(i), 1))
	}
	objs := objects(t, ns, docs...)
	if res := apply(t, c, objs, opts); res.Count(deploy.Created) != 40 {
		t.Errorf("first apply: %d created, want 40: %v", res.Count(deploy.Created), actions(res))
	}
	if res := apply(t, c, objs, opts); res.Count(deploy.Unchanged) != 40 {
		t.Errorf("second apply: %d unchanged, want 40: %v", res.Count(deploy.Unchanged), actions(res))
	}
}

func TestApplyDryRunOfWhatIsAppliedChangesNothing(t *testing.T) {
	c, ns, opts := setup(t)
	objs := objects(t, ns, configMap, service, deploymnt)
	apply(t, c, objs, opts)

	dry := opts
	dry.DryRun = true
	res := apply(t, c, objs, dry)
	want := map[string]deploy.Action{"ConfigMap settings": deploy.Unchanged, "Service web": deploy.Unchanged, "Deployment web": deploy.Unchanged}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("dry-run of the applied objects (-want +got):\n%s", diff)
	}
	res = apply(t, c, objects(t, ns, configMap, service, strings.Replace(deploymnt, "nginx:1.27", "nginx:1.28", 1)), dry)
	want["Deployment web"] = deploy.Configured
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("dry-run of a new image (-want +got):\n%s", diff)
	}
}

// An object someone else created gets this environment's labels on its first apply: configured,
// not unchanged, even when the rendered content is otherwise what the cluster holds.
func TestApplyAdoptsAnUnlabelledObjectAsConfigured(t *testing.T) {
	c, ns, opts := setup(t)
	cm := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(strings.ReplaceAll(configMap, "NS", ns)), &cm.Object); err != nil {
		t.Fatal(err)
	}
	if err := c.Client().Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	res := apply(t, c, objects(t, ns, configMap), opts)
	if got := actions(res)["ConfigMap settings"]; got != deploy.Configured {
		t.Errorf("ConfigMap settings: %q, want configured (labels added)", got)
	}
	if res := apply(t, c, objects(t, ns, configMap), opts); res.Changed() {
		t.Errorf("second apply changed something: %v", actions(res))
	}
}

// An apply of what the last one sent, to objects nobody has written since, asks the server
// nothing about them: a few requests for the whole environment.
func TestApplyOfNothingNewSendsNoObject(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	var reqs atomic.Int64
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &reqs} })
	c, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := deploy.ApplyOptions{Pipeline: "shop", Env: "dev", InventoryNamespace: ns}
	var docs []string
	for i := range 40 {
		docs = append(docs, strings.Replace(configMap, "name: settings", "name: cm-"+strconv.Itoa(i), 1))
	}
	objs := objects(t, ns, append(docs, deploymnt)...)
	apply(t, c, objs, opts)

	reqs.Store(0)
	res := apply(t, c, objs, opts)
	if res.Count(deploy.Unchanged) != len(objs) {
		t.Errorf("second apply: %d unchanged of %d: %v", res.Count(deploy.Unchanged), len(objs), actions(res))
	}
	// Read the inventory, list ConfigMaps, list Deployments; the inventory did not change.
	if n := reqs.Load(); n > 3 {
		t.Errorf("second apply sent %d requests for %d objects, want at most 3", n, len(objs))
	}
}

// Someone else changing a field stagegate applied moves the object's resourceVersion: the next
// apply sends it again and puts the field back.
func TestApplyRestoresAFieldSomeoneElseChanged(t *testing.T) {
	c, ns, opts := setup(t)
	objs := objects(t, ns, configMap, service)
	apply(t, c, objs, opts)
	cm, _ := get(t, c, "v1", "ConfigMap", ns, "settings")
	cm.Object["data"] = map[string]any{"color": "red"}
	if err := c.Client().Update(context.Background(), cm, client.FieldOwner("someone-else")); err != nil {
		t.Fatal(err)
	}

	res := apply(t, c, objs, opts)
	want := map[string]deploy.Action{"ConfigMap settings": deploy.Configured, "Service web": deploy.Unchanged}
	if diff := cmp.Diff(want, actions(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	cm, _ = get(t, c, "v1", "ConfigMap", ns, "settings")
	if got := cm.Object["data"].(map[string]any)["color"]; got != "blue" {
		t.Errorf("color = %v after the apply, want blue again", got)
	}
}
