package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// With mergeMethod rebase GitHub takes no message: the request's head is what lands. The agent
// first makes that head the same promotion with the full trailers, and approvals of the plain
// commit still count.
func TestARebaseMergeCarriesEveryTrailer(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		w.p.Spec.Environments[1].Promote = &config.Promote{Auto: true, Approvals: 1, MergeMethod: "rebase"}
		w.ctrl = w.controller()
		src := gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		before := w.git("rev-parse", "env/staging")
		w.cycle()
		plain := w.request(1).HeadSHA
		w.review(1, "alice", gitsource.Approved) // on the plain promotion commit
		w.cycle()

		pr := w.request(1)
		if !pr.Merged {
			t.Fatalf("not merged; statuses on the head: %v", w.statuses(pr.HeadSHA))
		}
		if pr.HeadSHA == plain {
			t.Fatal("the request's head is still the plain promotion commit")
		}
		if s := w.statuses(pr.HeadSHA); s["stagegate"] != "success" || s["stagegate/approvals"] != "success" {
			t.Errorf("statuses on the rebase commit = %v, want the gates' statuses again", s)
		}
		head := w.git("rev-parse", "env/staging")
		if parent := w.git("rev-parse", "env/staging^"); parent != before {
			t.Errorf("env/staging^ = %s, want the old head %s (one commit on top)", parent, before)
		}
		if got, want := w.git("rev-parse", head+"^{tree}"), w.git("rev-parse", src+"^{tree}"); got != want {
			t.Errorf("staging's tree %s, want the source's %s", got, want)
		}
		got := map[string][]string{}
		for _, tr := range gitsource.Trailers(w.git("log", "-1", "--format=%B", "env/staging")) {
			got[tr.Key] = append(got[tr.Key], tr.Value)
		}
		for k, v := range map[string]string{"Stagegate-Source": "env/dev@" + src, "Stagegate-Approved-By": "alice", "Stagegate-Request": "#1"} {
			if strings.Join(got[k], ",") != v {
				t.Errorf("trailer %s = %v, want %s (all: %v)", k, got[k], v, got)
			}
		}
		if !slices.Contains(got["Stagegate-Gate"], "approvals=pass") || len(got["Stagegate-Rendered"]) != 1 {
			t.Errorf("gate verdicts or rendered digest missing: %v", got)
		}
	})
}

// headMover makes the first Merge fail as GitHub does when the head moved.
type headMover struct {
	controller.Forge
	failed bool
}

func (h *headMover) Merge(ctx context.Context, number int, opts gitsource.MergeOptions) (string, error) {
	if !h.failed {
		h.failed = true
		return "", &gitsource.HeadMovedError{Number: number, SHA: opts.SHA}
	}
	return h.Forge.Merge(ctx, number, opts)
}

// A rebase merge that fails after the trailered commit was pushed leaves it on the branch: the
// next cycle keeps it rather than pushing the plain commit back, and merges it.
func TestARebaseCommitIsKeptAcrossCycles(t *testing.T) {
	w := newWorld(t)
	w.p.Spec.Environments[1].Promote = &config.Promote{Auto: true, MergeMethod: "rebase"}
	w.ctrl = w.controller()
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.ctrl.Forge = &headMover{Forge: w.ctrl.Forge}
	w.cycle()
	pr := w.gh.PR(1)
	if pr.Merged {
		t.Fatal("merged although the first merge failed")
	}
	rebased := pr.HeadSHA
	w.git("config", "core.logAllRefUpdates", "always") // record every move of a branch from here on
	w.gh.ResetLog()
	w.cycle()
	pr = w.gh.PR(1)
	if !pr.Merged || pr.HeadSHA != rebased {
		t.Fatalf("merged=%v head %s; want the kept rebase commit %s merged", pr.Merged, pr.HeadSHA, rebased)
	}
	if moves := w.git("reflog", "show", "--format=%H", "refs/heads/stagegate/promote/staging"); moves != "" {
		t.Errorf("the promotion branch moved in the second cycle:\n%s", moves)
	}
	for _, r := range w.gh.Requests() {
		if r.Method == "POST" && strings.Contains(r.Path, "/statuses/") {
			t.Errorf("statuses posted again on an unchanged head: %s %s", r.Method, r.Path)
		}
	}
}
