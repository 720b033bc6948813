package controller_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// A promotion into an environment whose cluster drifted fails the drift gate, with the drift
// in the request, until the request is labelled to acknowledge it; the merge records that.
func TestTheDriftGateHoldsAPromotionUntilTheDriftIsAcknowledged(t *testing.T) {
	k := newKubeWorld(t, "staging")
	k.p.Spec.Environments[1].Gates.Drift = &config.DriftGate{}
	k.ctrl = k.controller()
	k.cycle() // staging applied; nothing to promote
	// A hotfix by hand in staging.
	k.patch("staging", "Deployment", "web", `{"spec":{"replicas":4}}`)

	gitsourcetest.Commit(t, k.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	k.cycle()
	pr := k.gh.PR(1)
	if pr.Merged {
		t.Fatal("merged into a drifted environment")
	}
	if s := k.statuses(pr.HeadSHA); s["stagegate/drift"] != "failure" {
		t.Errorf("stagegate/drift = %q, want failure", s["stagegate/drift"])
	}
	if !strings.Contains(pr.Body, "drift/drifted") || !strings.Contains(pr.Body, "spec.replicas") {
		t.Errorf("the request body does not show the drift:\n%s", pr.Body)
	}

	if err := k.ctrl.Forge.AddLabels(context.Background(), 1, gates.AcknowledgeDriftLabel); err != nil {
		t.Fatal(err)
	}
	k.cycle()
	if !k.gh.PR(1).Merged {
		t.Fatalf("not merged after the drift was acknowledged: %v", k.statuses(k.gh.PR(1).HeadSHA))
	}
	trailers := map[string]string{}
	for _, tr := range gitsource.Trailers(k.git("log", "-1", "--format=%B", "env/staging")) {
		trailers[tr.Key] = tr.Value
	}
	if !strings.Contains(trailers["Stagegate-Drift-Acknowledged"], "#1") {
		t.Errorf("the merge does not record the acknowledgement: %v", trailers)
	}
	if got := k.replicas("staging"); got != 2 {
		t.Errorf("staging replicas after the promotion's apply = %d, want 2 (the promotion overwrote the drift)", got)
	}
}

// The dry-run gate sends the promotion's objects to the target's cluster; a change to an
// immutable field is a finding naming the object and field.
func TestTheDryRunGateReportsWhatTheClusterRejects(t *testing.T) {
	k := newKubeWorld(t, "staging")
	k.p.Spec.Environments[1].Gates.DryRun = &config.DryRunGate{}
	k.ctrl = k.controller()
	k.cycle() // staging applied

	gitsourcetest.Commit(t, k.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	k.cycle() // merged and applied in the same cycle
	if pr := k.gh.PR(1); !pr.Merged {
		t.Fatalf("an acceptable change was not merged: %v", k.statuses(pr.HeadSHA))
	}

	// A new selector: apps/v1 Deployments refuse it.
	gitsourcetest.Commit(t, k.gh.Repo(), "env/dev", map[string]string{"base/deploy.yaml": strings.ReplaceAll(deploy, "app: web", "app: web2")}, "web: new selector")
	k.cycle()
	pr := k.lastInto("env/staging")
	if pr.Merged {
		t.Fatal("merged a change the cluster rejects")
	}
	if s := k.statuses(pr.HeadSHA); s["stagegate/dry-run"] != "failure" {
		t.Errorf("stagegate/dry-run = %q, want failure", s["stagegate/dry-run"])
	}
	if !strings.Contains(pr.Body, "dry-run/immutable") || !strings.Contains(pr.Body, "spec.selector") {
		t.Errorf("the request body does not name the immutable field:\n%s", pr.Body)
	}
}
