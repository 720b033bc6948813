package controller_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

const dbSecret = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: %s}\n"

// driftWorld is a kubeWorld whose dev environment also renders a Secret and has drift
// detection, applied once.
func newDriftWorld(t *testing.T) *kubeWorld {
	t.Helper()
	k := newKubeWorld(t, "dev")
	gitsourcetest.Commit(t, k.gh.Repo(), "env/dev", map[string]string{
		"base/kustomization.yaml": "resources: [cm.yaml, deploy.yaml, secret.yaml]\n",
		"base/secret.yaml":        strings.Replace(dbSecret, "%s", "hunter2", 1),
	}, "db secret")
	k.p.Spec.Environments[0].Drift = &config.Drift{Schedule: "@every 10m", Mode: config.DriftDetect}
	k.ctrl = k.controller()
	k.cycle()
	return k
}

func (k *kubeWorld) drift(env string) controller.DriftScan {
	k.t.Helper()
	scan, err := k.ctrl.Drift(context.Background(), env)
	if err != nil {
		k.t.Fatalf("drift %s: %v", env, err)
	}
	if scan.Skipped != "" {
		k.t.Fatalf("drift %s skipped: %s", env, scan.Skipped)
	}
	return scan
}

func (k *kubeWorld) patch(env, kind, name, patch string) {
	k.t.Helper()
	ctx, ns, opts := context.Background(), k.ns[env], metav1.PatchOptions{FieldManager: "kubectl-edit"}
	var err error
	switch kind {
	case "Deployment":
		_, err = k.kube.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), opts)
	case "Secret":
		_, err = k.kube.CoreV1().Secrets(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), opts)
	}
	if err != nil {
		k.t.Fatal(err)
	}
}

func (k *kubeWorld) replicas(env string) int32 {
	k.t.Helper()
	d, err := k.kube.AppsV1().Deployments(k.ns[env]).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		k.t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// driftStatus is the stagegate/drift status on env's head.
func (k *kubeWorld) driftStatus(env string) gitsource.Status {
	k.t.Helper()
	got, err := k.ctrl.Forge.Statuses(context.Background(), k.git("rev-parse", "env/"+env))
	if err != nil {
		k.t.Fatal(err)
	}
	for _, s := range got {
		if s.Context == controller.StatusDrift {
			return s
		}
	}
	return gitsource.Status{}
}

// openDriftIssues lists the open issues labelled stagegate/drift.
func (k *kubeWorld) openDriftIssues() []gitsource.Issue {
	k.t.Helper()
	got, err := k.ctrl.Forge.Issues(context.Background(), controller.DriftLabel, gitsource.RequestOpen)
	if err != nil {
		k.t.Fatal(err)
	}
	return got
}

// Another field manager changes replicas → drift reported with the path (status, issue, gauge)
// → correct mode restores it and closes the issue saying so → an ignore rule suppresses it.
func TestDriftIsReportedCorrectedAndIgnored(t *testing.T) {
	k := newDriftWorld(t)
	if s := k.drift("dev").Report.Summary(); s.Drift() != 0 || s.InSync != 3 {
		t.Fatalf("right after the apply: %s, want 3 in sync", s)
	}
	if s := k.driftStatus("dev"); s.State != gitsource.StatusSuccess {
		t.Errorf("stagegate/drift = %+v, want success", s)
	}

	k.patch("dev", "Deployment", "web", `{"spec":{"replicas":5}}`)
	scan := k.drift("dev")
	if s := scan.Report.Summary(); s.Drifted != 1 {
		t.Fatalf("after scaling by hand: %s, want 1 drifted", s)
	}
	if s := k.driftStatus("dev"); s.State != gitsource.StatusFailure || !strings.Contains(s.Description, "1 drifted") {
		t.Errorf("stagegate/drift = %+v, want failure counting 1 drifted", s)
	}
	issues := k.openDriftIssues()
	if len(issues) != 1 || !strings.Contains(issues[0].Body, "/spec/replicas") || issues[0].Title != "Drift in dev (shop)" {
		t.Fatalf("open drift issues = %+v, want one naming /spec/replicas", issues)
	}
	n := issues[0].Number

	// The same drift again: no second issue, no edit.
	k.gh.ResetLog()
	k.drift("dev")
	for _, r := range k.gh.Requests() {
		if r.Method != "GET" {
			t.Errorf("an unchanged scan wrote to the forge: %s %s", r.Method, r.Path)
		}
	}

	// Correct mode applies the head again and records it on the issue, which it closes.
	k.ctrl.Pipeline.Spec.Environments[0].Drift.Mode = config.DriftCorrect
	scan = k.drift("dev")
	if scan.Corrected == nil || scan.Report.Summary().Drift() != 0 {
		t.Fatalf("correct mode: corrected=%v, after: %s; want corrected and in sync", scan.Corrected != nil, scan.Report.Summary())
	}
	if got := k.replicas("dev"); got != 2 {
		t.Errorf("replicas after correction = %d, want 2 (the branch's)", got)
	}
	issue := k.gh.Issue(n)
	if issue.State != "closed" || len(issue.Comments) == 0 || !strings.Contains(issue.Comments[len(issue.Comments)-1], "corrected the drift") {
		t.Errorf("drift issue #%d after correction: state %s, comments %q; want closed saying it was corrected", n, issue.State, issue.Comments)
	}
	if s := k.driftStatus("dev"); s.State != gitsource.StatusSuccess || !strings.Contains(s.Description, "drift corrected") {
		t.Errorf("stagegate/drift = %+v, want success noting the correction", s)
	}

	// An ignore rule (an HPA owns replicas): not drift.
	k.ctrl.Pipeline.Spec.Environments[0].Drift.Mode = config.DriftDetect
	k.ctrl.Pipeline.Spec.Environments[0].Drift.Ignore = []config.DriftIgnore{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}
	k.patch("dev", "Deployment", "web", `{"spec":{"replicas":7}}`)
	if s := k.drift("dev").Report.Summary(); s.Drift() != 0 {
		t.Errorf("with replicas ignored: %s, want in sync", s)
	}
	if got := k.openDriftIssues(); len(got) != 0 {
		t.Errorf("open drift issues with the drift ignored: %+v", got)
	}
}

// A Secret's value drifting is reported, and its values appear nowhere.
func TestSecretDriftIsReportedWithoutTheValue(t *testing.T) {
	k := newDriftWorld(t)
	k.patch("dev", "Secret", "db", `{"stringData":{"password":"sw0rdfish"}}`)
	scan := k.drift("dev")
	if s := scan.Report.Summary(); s.Drifted != 1 {
		t.Fatalf("after changing the password: %s, want 1 drifted", s)
	}
	issues := k.openDriftIssues()
	if len(issues) != 1 || !strings.Contains(issues[0].Body, "Secret") || !strings.Contains(issues[0].Body, "/data/password") {
		t.Fatalf("open drift issues = %+v, want one naming the Secret's /data/password", issues)
	}
	for _, v := range []string{"hunter2", "sw0rdfish", base64.StdEncoding.EncodeToString([]byte("hunter2")), base64.StdEncoding.EncodeToString([]byte("sw0rdfish"))} {
		if strings.Contains(issues[0].Body, v) {
			t.Errorf("the drift issue shows a secret value %q:\n%s", v, issues[0].Body)
		}
	}
}
