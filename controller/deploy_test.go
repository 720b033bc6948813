package controller_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	deployer "github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestMain(m *testing.M) { os.Exit(deploytest.Main(m)) }

// kubeWorld is a world whose environments named in envs are applied to the test API server,
// each into a namespace of its own (their overlays say so on every branch).
type kubeWorld struct {
	*world
	rc   *rest.Config
	kube kubernetes.Interface
	ns   map[string]string // environment → namespace
}

func newKubeWorld(t *testing.T, envs ...string) *kubeWorld {
	t.Helper()
	w := newWorld(t)
	k := &kubeWorld{world: w, rc: deploytest.Start(t), ns: map[string]string{}}
	k.kube = kubernetes.NewForConfigOrDie(k.rc)
	files := map[string]string{}
	for i, e := range w.p.Spec.Environments {
		ns := "t-" + e.Name // environments without a cluster are only rendered
		for _, name := range envs {
			if name == e.Name {
				ns = deploytest.Namespace(t, k.rc)
				k.ns[e.Name] = ns
				w.p.Spec.Environments[i].Cluster = &config.Cluster{InventoryNamespace: ns}
			}
		}
		files["overlays/"+e.Name+"/kustomization.yaml"] = "namespace: " + ns + "\nresources: [../../base]\n"
	}
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", files, "overlays: test namespaces")
	// Every branch starts at the same commit: one sha heads three environments.
	w.git("update-ref", "refs/heads/env/staging", "refs/heads/env/dev")
	w.git("update-ref", "refs/heads/env/prod", "refs/heads/env/dev")
	w.ctrl = k.controller()
	return k
}

func (k *kubeWorld) controller() *controller.Controller {
	c := k.world.controller()
	c.Clusters = func(_ context.Context, env config.Environment) (*deployer.Cluster, error) {
		return deployer.New(rest.CopyConfig(k.rc), deployer.Options{})
	}
	return c
}

func (k *kubeWorld) color(env string) string {
	k.t.Helper()
	cm, err := k.kube.CoreV1().ConfigMaps(k.ns[env]).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return cm.Data["color"]
}

// deployStatus is the stagegate/deploy status on sha.
func (k *kubeWorld) deployStatus(sha string) gitsource.Status {
	k.t.Helper()
	got, err := k.ctrl.Forge.Statuses(context.Background(), sha)
	if err != nil {
		k.t.Fatal(err)
	}
	for _, s := range got {
		if s.Context == controller.StatusDeploy {
			return s
		}
	}
	return gitsource.Status{}
}

// The agent applies an environment when its branch moves, posts stagegate/deploy on the head,
// and applies the target of a promotion it merged in the same cycle.
func TestTheAgentAppliesEnvironmentsWhenTheirBranchMoves(t *testing.T) {
	k := newKubeWorld(t, "dev", "staging")
	k.cycle()
	if got := k.color("dev"); got != "blue" {
		t.Fatalf("dev's ConfigMap color = %s after the first cycle, want blue (applied)", got)
	}
	head := k.git("rev-parse", "env/dev")
	if s := k.deployStatus(head); s.State != gitsource.StatusSuccess || !strings.Contains(s.Description, "applied to") {
		t.Errorf("stagegate/deploy on dev's head = %+v, want success", s)
	}

	src := gitsourcetest.Commit(t, k.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	k.cycle() // dev applied; staging's promotion opened, gated and merged; staging applied
	if got := k.color("dev"); got != "green" {
		t.Errorf("dev color = %s, want green", got)
	}
	if !k.gh.PR(1).Merged {
		t.Fatalf("staging's promotion was not merged: %v", k.statuses(k.gh.PR(1).HeadSHA))
	}
	if got := k.color("staging"); got != "green" {
		t.Errorf("staging color = %s after its promotion merged, want green in the same cycle", got)
	}
	if s := k.deployStatus(k.git("rev-parse", "env/staging")); s.State != gitsource.StatusSuccess {
		t.Errorf("stagegate/deploy on staging's head = %+v, want success", s)
	}
	first := k.deployStatus(src)

	// A restarted agent reads what is applied from the inventory: it does not apply again
	// (which would undo a hand edit that drift's detect mode only reports) and keeps the first
	// success, which soak counts from.
	k.patch("dev", "Deployment", "web", `{"spec":{"replicas":5}}`)
	k.ctrl = k.controller()
	before := k.resourceVersion("dev")
	k.cycle()
	if after := k.resourceVersion("dev"); after != before {
		t.Errorf("a restart applied dev again: its ConfigMap moved from resourceVersion %s to %s", before, after)
	}
	if got := k.replicas("dev"); got != 5 {
		t.Errorf("a restart undid the hand edit: replicas %d, want 5", got)
	}
	if s := k.deployStatus(src); !s.Updated.Equal(first.Updated) {
		t.Errorf("the deploy status was posted again (%s, first %s): soak would restart", s.Updated, first.Updated)
	}
}

func (k *kubeWorld) resourceVersion(env string) string {
	k.t.Helper()
	cm, err := k.kube.CoreV1().ConfigMaps(k.ns[env]).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		k.t.Fatal(err)
	}
	return cm.ResourceVersion
}

// A failed apply posts failure with the reason, and is retried by the next cycle.
func TestAFailedApplyPostsFailureAndIsRetried(t *testing.T) {
	k := newKubeWorld(t, "dev")
	m := controller.NewMetrics()
	k.ctrl.Metrics = m
	deploys := func(result string) float64 {
		return testutil.ToFloat64(m.Deployments.WithLabelValues("shop", "dev", result))
	}
	failing := func() float64 { return testutil.ToFloat64(m.DeployFailing.WithLabelValues("shop", "dev")) }
	// The overlay names a namespace that does not exist yet.
	missing := k.ns["dev"] + "-later"
	gitsourcetest.Commit(t, k.gh.Repo(), "env/dev", map[string]string{"overlays/dev/kustomization.yaml": "namespace: " + missing + "\nresources: [../../base]\n"}, "dev: move namespace")
	head := k.git("rev-parse", "env/dev")
	if err := k.ctrl.Cycle(context.Background()); err == nil || !strings.Contains(err.Error(), "deploy dev") {
		t.Fatalf("cycle error = %v, want the deploy of dev failing", err)
	} else {
		t.Logf("cycle error: %v", err)
	}
	s := k.deployStatus(head)
	if s.State != gitsource.StatusFailure || !strings.Contains(s.Description, missing) {
		t.Errorf("stagegate/deploy = %+v, want failure naming namespace %s", s, missing)
	}
	if deploys("failure") != 1 || deploys("success") != 0 || failing() != 1 {
		t.Errorf("after the failed apply: deployments failure=%v success=%v, failing=%v; want 1, 0, 1", deploys("failure"), deploys("success"), failing())
	}
	if _, err := k.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: missing}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.cycle()
	if s := k.deployStatus(head); s.State != gitsource.StatusSuccess {
		t.Errorf("after the namespace appeared, stagegate/deploy = %+v, want success", s)
	}
	if deploys("failure") != 1 || deploys("success") != 1 || failing() != 0 {
		t.Errorf("after the retry: deployments failure=%v success=%v, failing=%v; want 1, 1, 0", deploys("failure"), deploys("success"), failing())
	}
	if got := testutil.ToFloat64(m.ApplyObjects.WithLabelValues("shop", "dev", "created")); got != 2 {
		t.Errorf("stagegate_apply_objects_total{action=created} = %v, want 2 (the ConfigMap and the Deployment)", got)
	}
}
