package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// rollOut sets the source environment's Deployment's status as a rolled-out Deployment's (the
// test API server runs no controllers that would).
func (k *kubeWorld) rollOut(env string) {
	k.t.Helper()
	ctx := context.Background()
	d, err := k.kube.AppsV1().Deployments(k.ns[env]).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		k.t.Fatal(err)
	}
	n := *d.Spec.Replicas
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		},
	}
	if _, err := k.kube.AppsV1().Deployments(k.ns[env]).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		k.t.Fatal(err)
	}
}

// The health gate on staging waits while dev's Deployment, applied from the promoted commit,
// is rolling out, and lets the promotion merge once it is available.
func TestHealthGateWaitsForTheSourceToRollOut(t *testing.T) {
	k := newKubeWorld(t, "dev")
	k.p.Spec.Environments = k.p.Spec.Environments[:2]
	k.p.Spec.Environments[1].Gates.Health = &config.HealthGate{}
	k.ctrl = k.controller()
	gitsourcetest.Commit(t, k.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")

	k.cycle() // dev applied from the new commit; staging's request opened
	pr := k.lastInto("env/staging")
	if pr.Number == 0 || pr.Merged {
		t.Fatalf("staging request %+v: want one open", pr)
	}
	if got := k.statuses(pr.HeadSHA)["stagegate/health"]; got != "pending" {
		t.Fatalf("health status while dev's Deployment rolls out = %q, want pending", got)
	}
	if body := k.gh.PR(pr.Number).Body; !strings.Contains(body, "Deployment") {
		t.Errorf("the request body does not name the Deployment in progress:\n%s", body)
	}

	k.rollOut("dev")
	k.cycle()
	if !k.gh.PR(pr.Number).Merged {
		t.Fatalf("staging request not merged once dev rolled out; statuses %v", k.statuses(pr.HeadSHA))
	}
	if got := k.trailers("env/staging")["Stagegate-Gate"]; !slices.Contains(got, "health=pass") {
		t.Errorf("Stagegate-Gate trailers = %q, want health=pass", got)
	}
}
