package controller_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// trailers reads the trailers of a commit of the emulator's repository, by key.
func (w *world) trailers(rev string) map[string][]string {
	w.t.Helper()
	got := map[string][]string{}
	for _, tr := range gitsource.Trailers(w.git("log", "-1", "--format=%B", rev)) {
		got[tr.Key] = append(got[tr.Key], tr.Value)
	}
	return got
}

func TestRollbackIsARequestThatPausesPromotionUntilResumed(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.p.Spec.Environments = w.p.Spec.Environments[:2] // dev → staging
	staging := &w.p.Spec.Environments[1]
	staging.Promote = &config.Promote{Auto: true, Approvals: 1}
	staging.Rollback = &config.Rollback{Auto: true, Gates: config.Gates{Schema: &config.SchemaGate{}}}
	w.ctrl = w.controller()
	good := w.git("rev-parse", "env/staging")

	// A bad change reaches staging through an approved promotion (#1).
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "red", 1)}, "web: red")
	w.cycle()
	w.gh.AddReview(1, "alice", "APPROVED")
	w.cycle()
	if !w.gh.PR(1).Merged {
		t.Fatal("the bad promotion #1 did not merge")
	}
	bad := w.git("rev-parse", "env/staging")
	// The fix is on its way (#2), waiting for its approval.
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle()
	if pr := w.gh.PR(2); pr.Merged || pr.Head != controller.PromoteBranch("staging") {
		t.Fatalf("request #2 = %s merged=%v; want the fix's promotion, open", pr.Head, pr.Merged)
	}

	// carol rolls staging back to where it was.
	rolled, err := w.ctrl.Rollback(ctx, "staging", good[:7], "carol")
	if err != nil {
		t.Fatal(err)
	}
	if rolled.Request.Number != 3 || rolled.Branch != "stagegate/rollback/staging" {
		t.Fatalf("rollback request #%d on %s; want #3 on stagegate/rollback/staging", rolled.Request.Number, rolled.Branch)
	}
	rb := w.gh.PR(3)
	if rb.Head != "stagegate/rollback/staging" || rb.Base != "env/staging" || rb.Title != "Roll back staging to "+good[:7] || rb.HeadSHA != rolled.SHA {
		t.Fatalf("request #3 = %q %s ← %s @%s; want the rollback", rb.Title, rb.Base, rb.Head, rb.HeadSHA)
	}
	if got, want := w.git("rev-parse", rolled.SHA+"^{tree}"), w.git("rev-parse", good+"^{tree}"); got != want {
		t.Errorf("the rollback commit's tree %s is not the earlier state's %s", got, want)
	}
	if parent := w.git("rev-parse", rolled.SHA+"^"); parent != bad {
		t.Errorf("the rollback commit's parent %s is not staging's head %s", parent, bad)
	}
	tr := w.trailers(rolled.SHA)
	for k, v := range map[string]string{"Stagegate-Rollback-To": good, "Stagegate-Rolls-Back": bad, "Stagegate-Source": "env/staging@" + good} {
		if strings.Join(tr[k], ",") != v {
			t.Errorf("rollback commit trailer %s = %v, want %s", k, tr[k], v)
		}
	}
	if len(tr["Stagegate-Rendered"]) != 1 || !strings.HasPrefix(tr["Stagegate-Rendered"][0], "sha256:") {
		t.Errorf("rollback commit has no rendered digest: %v", tr)
	}
	if got := w.git("rev-parse", "refs/stagegate/pause/shop/staging"); got != rolled.Pause.SHA {
		t.Errorf("pause ref = %s, want %s", got, rolled.Pause.SHA)
	}
	for _, want := range []string{"**Paused:** automatic promotion into staging is paused", "by carol", "stagegate resume --config stagegate.yaml --pipeline shop --env staging",
		"-  color: red\n+  color: blue", "Promote ", "Stagegate-Rollback-To: " + good} {
		if !strings.Contains(rb.Body, want) {
			t.Errorf("rollback body lacks %q:\n%s", want, rb.Body)
		}
	}
	if s := w.statuses(bad); s[controller.StatusPause] != "pending" {
		t.Errorf("statuses on staging's head = %v; want %s pending", s, controller.StatusPause)
	}

	// The fix's approval arrives while staging is paused: it is not merged, and says why. The
	// rollback's gates run and it merges by itself.
	w.gh.AddReview(2, "alice", "APPROVED")
	w.cycle()
	fix := w.gh.PR(2)
	if fix.Merged {
		t.Fatal("the promotion #2 merged into a paused staging")
	}
	if !strings.HasPrefix(fix.Body, "> ⏸️ **Paused:** automatic promotion into staging is paused since ") {
		t.Errorf("request #2's body does not start with the pause:\n%s", fix.Body)
	}
	if s := w.statuses(fix.HeadSHA); s["stagegate"] != "pending" || s["stagegate/approvals"] != "success" {
		t.Errorf("statuses on #2 = %v; want approvals success and the overall status pending (paused)", s)
	}
	if n := w.ctrl.PauseNotice("staging"); !strings.Contains(n, "paused since") || !strings.Contains(n, "stagegate resume") {
		t.Errorf("the status page's pause notice = %q; want the pause and how to resume", n)
	}
	if !w.gh.PR(3).Merged {
		t.Fatalf("the rollback #3 did not merge although rollback.auto is on and its gates pass; statuses %v", w.statuses(rolled.SHA))
	}
	if s := w.statuses(rolled.SHA); s["stagegate/schema"] != "success" || s["stagegate"] != "success" {
		t.Errorf("statuses on the rollback = %v; want its schema gate and the overall status passed", s)
	}
	if got, want := w.git("rev-parse", "env/staging^{tree}"), w.git("rev-parse", good+"^{tree}"); got != want {
		t.Errorf("staging's tree after the rollback %s, want the earlier state's %s", got, want)
	}
	tr = w.trailers("env/staging")
	for k, v := range map[string]string{"Stagegate-Rollback-To": good, "Stagegate-Rolls-Back": bad, "Stagegate-Gate": "schema=pass", "Stagegate-Request": "#3"} {
		if strings.Join(tr[k], ",") != v {
			t.Errorf("rollback merge trailer %s = %v, want %s (all %v)", k, tr[k], v, tr)
		}
	}

	// Still paused: a person closes the fix's request, a newer fix arrives, and no request opens.
	w.closeRequest(2)
	newer := gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "yellow", 1)}, "web: yellow")
	w.cycle()
	w.cycle()
	if w.gh.PRs() != 3 {
		t.Fatalf("%d requests while paused; want no new one", w.gh.PRs())
	}
	if s := w.statuses(w.git("rev-parse", "env/staging")); s[controller.StatusPause] != "pending" {
		t.Errorf("statuses on staging's new head = %v; want %s pending", s, controller.StatusPause)
	}

	// Resume: promotion flows again.
	if _, ok, err := w.ctrl.Resume(ctx, "staging", "carol"); err != nil || !ok {
		t.Fatalf("Resume = %v, %v", ok, err)
	}
	if out := w.git("for-each-ref", "refs/stagegate/"); out != "" {
		t.Errorf("the pause is still there after resume: %s", out)
	}
	if s := w.statuses(w.git("rev-parse", "env/staging")); s[controller.StatusPause] != "success" {
		t.Errorf("statuses on staging's head after resume = %v; want %s success", s, controller.StatusPause)
	}
	w.cycle()
	if n := w.ctrl.PauseNotice("staging"); n != "" {
		t.Errorf("pause notice after resume = %q, want none", n)
	}
	if w.gh.PRs() != 4 {
		t.Fatalf("%d requests after resume; want a new promotion #4", w.gh.PRs())
	}
	next := w.gh.PR(4)
	if next.Title != "Promote "+newer[:7]+" to staging" || strings.Contains(next.Body, "Paused") {
		t.Errorf("request #4 = %q, body paused=%v; want the newer fix, not paused", next.Title, strings.Contains(next.Body, "Paused"))
	}
	w.gh.AddReview(4, "alice", "APPROVED")
	w.cycle()
	if !w.gh.PR(4).Merged {
		t.Fatalf("#4 did not merge after resume; statuses %v", w.statuses(w.gh.PR(4).HeadSHA))
	}
	if got, want := w.git("rev-parse", "env/staging^{tree}"), w.git("rev-parse", newer+"^{tree}"); got != want {
		t.Errorf("staging's tree %s is not the newer fix's %s", got, want)
	}

	// The merged rollback's branch costs an idle cycle nothing.
	w.cycle()
	w.gh.ResetLog()
	w.cycle()
	reqs := w.gh.Requests()
	for _, r := range reqs {
		if r.Method != "GET" || r.Status != 304 {
			t.Errorf("an idle cycle after a rollback made %s", r)
		}
	}
	if len(reqs) > 1 {
		t.Errorf("an idle cycle after a rollback made %d requests, want at most 1: %v", len(reqs), reqs)
	}
}

func TestARollbackWaitsForItsChecksAndRefusesAMovedBranch(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.p.Spec.Environments = w.p.Spec.Environments[:2]
	w.p.Spec.Environments[1].Rollback = &config.Rollback{Auto: true, Gates: config.Gates{Checks: &config.ChecksGate{Required: []string{"ci/build"}}}}
	w.ctrl = w.controller()
	m := controller.NewMetrics()
	w.ctrl.Metrics = m
	rollbacks := func() float64 { return testutil.ToFloat64(m.Rollbacks.WithLabelValues("shop", "staging")) }
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "red", 1)}, "web: red")
	w.cycle()
	rolled, err := w.ctrl.Rollback(ctx, "staging", "HEAD~1", "carol")
	if err != nil {
		t.Fatal(err)
	}
	w.cycle()
	if w.gh.PR(2).Merged {
		t.Fatal("the rollback merged before its required check reported")
	}
	if s := w.statuses(rolled.SHA); s["stagegate/checks"] != "pending" || s["stagegate"] != "pending" {
		t.Errorf("statuses on the rollback = %v; want checks and the overall status pending", s)
	}
	if err := w.ctrl.Forge.SetStatus(ctx, rolled.SHA, gitsource.Status{Kind: gitsource.CommitStatus, Context: "ci/build", State: gitsource.StatusSuccess}); err != nil {
		t.Fatal(err)
	}
	// Someone pushes to staging meanwhile: the rollback would now undo more than it says.
	gitsourcetest.Commit(t, w.gh.Repo(), "env/staging", map[string]string{"hotfix.txt": "x"}, "hotfix")
	w.cycle()
	if w.gh.PR(2).Merged {
		t.Fatal("the rollback merged although staging moved since it was written")
	}
	if rollbacks() != 0 {
		t.Errorf("stagegate_rollbacks_total = %v before the rollback merged, want 0", rollbacks())
	}
	if s := w.statuses(rolled.SHA); s["stagegate/checks"] != "success" || s["stagegate"] != "failure" {
		t.Errorf("statuses on the rollback = %v; want checks passed and the overall status failing (staging moved)", s)
	}
	// Asked again, the rollback is written over the new head and merges.
	again, err := w.ctrl.Rollback(ctx, "staging", rolled.Plan.To.SHA, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if again.Request.Number != 2 || again.SHA == rolled.SHA {
		t.Fatalf("the second rollback = #%d %s; want the same request with a new commit", again.Request.Number, again.SHA)
	}
	w.ctrl.Forge.SetStatus(ctx, again.SHA, gitsource.Status{Kind: gitsource.CommitStatus, Context: "ci/build", State: gitsource.StatusSuccess})
	w.cycle()
	if !w.gh.PR(2).Merged {
		t.Fatalf("the rollback did not merge with its check green; statuses %v", w.statuses(again.SHA))
	}
	if rollbacks() != 1 {
		t.Errorf("stagegate_rollbacks_total = %v after the rollback merged, want 1", rollbacks())
	}
	if got := testutil.ToFloat64(m.GateOutcomes.WithLabelValues("shop", "staging", "checks", "pending")); got < 1 {
		t.Errorf("the rollback's checks gate counted pending %v times, want at least 1", got)
	}
}

func TestRollbackToARequestOrAPromotedSourceCommit(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.p.Spec.Environments = w.p.Spec.Environments[:2]
	w.ctrl = w.controller()
	first := gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle()
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "red", 1)}, "web: red")
	w.cycle()
	if !w.gh.PR(1).Merged || !w.gh.PR(2).Merged {
		t.Fatal("the two promotions did not merge")
	}
	afterFirst := w.gh.PR(1).MergeSHA
	for _, rev := range []string{"#1", first[:8]} {
		rolled, err := w.ctrl.Rollback(ctx, "staging", rev, "carol")
		if err != nil {
			t.Fatalf("--to %s: %v", rev, err)
		}
		if rolled.Plan.To.SHA != afterFirst || len(rolled.Plan.Undone) != 1 {
			t.Errorf("--to %s rolls back to %s undoing %d commits; want #1's merge %s, undoing #2's", rev, rolled.Plan.To.SHA, len(rolled.Plan.Undone), afterFirst)
		}
	}
	if w.gh.PRs() != 3 {
		t.Errorf("asking twice for the same rollback made %d requests; want one rollback request (#3)", w.gh.PRs())
	}
	if _, err := w.ctrl.Rollback(ctx, "staging", "#3", "carol"); err == nil || !strings.Contains(err.Error(), "did not merge into env/staging") {
		t.Errorf("--to an open request = %v; want an error saying it did not merge", err)
	}
}
