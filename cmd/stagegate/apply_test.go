package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/stagegate-dev/stagegate/deploy/deploytest"
)

func TestMain(m *testing.M) { os.Exit(deploytest.Main(m)) }

// TestApplyAndDrift runs stagegate apply and stagegate drift against a real API server, as a
// user would: apply creates, applies again without change, drift is clean until another field
// manager changes the cluster, and a dry-run shows what apply would restore.
func TestApplyAndDrift(t *testing.T) {
	rc := deploytest.Start(t)
	s, global := seed(t)
	cfg := must(os.ReadFile(s.Config))
	cfg = bytes.Replace(cfg, []byte("context: kind-dev"), []byte("kubeconfig: "+deploytest.Kubeconfig(t, rc)), 1)
	os.WriteFile(s.Config, cfg, 0o644)

	code, out, errs := stagegate(t, append([]string{"apply", "--env", "dev"}, global...)...)
	if code != 0 || !strings.Contains(out, "created    apps/Deployment shop-dev/web") || !strings.Contains(out, "created    Namespace shop-dev") {
		t.Fatalf("first apply: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = stagegate(t, append([]string{"apply", "--env", "dev"}, global...)...)
	if code != 0 || !strings.Contains(out, ": 0 created, 0 configured, 8 unchanged, 0 deleted, 0 failed") {
		t.Fatalf("second apply should change nothing: exit %d\n%s", code, out)
	}
	if code, out, errs := stagegate(t, append([]string{"drift", "--env", "dev"}, global...)...); code != 0 {
		t.Fatalf("drift right after apply: exit %d, want 0 (in sync)\n%s\n%s", code, out, errs)
	}

	// Someone scales web by hand.
	kube := kubernetes.NewForConfigOrDie(rc)
	if _, err := kube.AppsV1().Deployments("shop-dev").Patch(context.Background(), "web", types.MergePatchType,
		[]byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = stagegate(t, append([]string{"drift", "--env", "dev"}, global...)...)
	if code != exitFound || !strings.Contains(out, "/spec/replicas") {
		t.Errorf("drift after a hand edit: exit %d, want %d naming /spec/replicas\n%s", code, exitFound, out)
	}
	code, out, _ = stagegate(t, append([]string{"apply", "--env", "dev", "--dry-run"}, global...)...)
	if code != 0 || !strings.Contains(out, "configured apps/Deployment shop-dev/web") {
		t.Errorf("apply --dry-run: exit %d, want web to be configured back\n%s", code, out)
	}
	web, err := kube.AppsV1().Deployments("shop-dev").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil || *web.Spec.Replicas != 5 {
		t.Errorf("the dry-run changed the cluster: replicas %v, %v", web.Spec.Replicas, err)
	}

	// An environment without a cluster says what to set.
	code, _, errs = stagegate(t, append([]string{"drift", "--env", "staging"}, global...)...)
	if code != exitError || !strings.Contains(errs, `context "kind-staging" does not exist; check its cluster (kubeconfig, context)`) {
		t.Errorf("drift on staging (context kind-staging does not exist): exit %d, stderr %q", code, errs)
	}
}
