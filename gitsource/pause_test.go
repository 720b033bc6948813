package gitsource_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestPauseIsARefEveryMirrorSeesUntilResumed(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {"a.txt": "a"}})
	base, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "", "")
	cfg := config.Repo{URL: base + "/repo.git"}
	a, b := open(t, cfg, env{}, nil), open(t, cfg, env{}, nil) // two agents

	at := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	p, err := a.Pause(ctx, gitsource.Pause{Name: gitsource.PauseName("shop", "staging"), By: "alice", At: at, Reason: "rollback of staging to 1a2b3c4\n(#3)"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(gitsourcetest.Git(t, repo, "rev-parse", "refs/stagegate/pause/shop/staging")); got != p.SHA {
		t.Fatalf("the remote's pause ref = %q, want the pause commit %s", got, p.SHA)
	}
	if branches := gitsourcetest.Git(t, repo, "branch", "--list"); strings.Contains(branches, "pause") {
		t.Errorf("a pause shows as a branch:\n%s", branches)
	}
	got, err := b.Paused(ctx, "shop/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]gitsource.Pause{"shop/staging": {Name: "shop/staging", SHA: p.SHA, By: "alice", At: at, Reason: "rollback of staging to 1a2b3c4 (#3)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the other mirror's Paused (-want +got):\n%s", diff)
	}
	if other, err := b.Paused(ctx, "web/"); err != nil || len(other) != 0 {
		t.Errorf("Paused of another pipeline = %v, %v; want none", other, err)
	}

	// A second pause replaces the first (the lease is on what was read).
	p2, err := b.Pause(ctx, gitsource.Pause{Name: "shop/staging", By: "bob", At: at.Add(time.Hour), Reason: "again"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Paused(ctx, "shop/"); got["shop/staging"].By != "bob" || got["shop/staging"].SHA != p2.SHA {
		t.Errorf("after the second pause: %+v, want bob's", got)
	}

	gone, ok, err := a.Resume(ctx, "shop/staging")
	if err != nil || !ok || gone.By != "bob" {
		t.Fatalf("Resume = %+v, %v, %v; want bob's pause removed", gone, ok, err)
	}
	if refs := gitsourcetest.Git(t, repo, "for-each-ref", "refs/stagegate/"); refs != "" {
		t.Errorf("the pause ref is still there after Resume:\n%s", refs)
	}
	if got, err := b.Paused(ctx, "shop/"); err != nil || len(got) != 0 {
		t.Errorf("Paused after Resume = %v, %v; want none", got, err)
	}
	if _, ok, err := b.Resume(ctx, "shop/staging"); ok || err != nil {
		t.Errorf("a second Resume = %v, %v; want nothing to resume and no error", ok, err)
	}
}

func TestResumeRemovesAPauseMovedByHandAndPauseNeedsWho(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {"a.txt": "a"}})
	m := open(t, config.Repo{URL: repo}, env{}, nil)
	if _, err := m.Pause(ctx, gitsource.Pause{Name: "shop/prod", By: "alice", At: time.Unix(1, 0), Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	// Someone points the pause at another commit by hand: it still pauses, and resumes.
	gitsourcetest.Git(t, repo, "update-ref", "refs/stagegate/pause/shop/prod", gitsourcetest.Head(t, repo, "env/dev"))
	if p, ok, err := m.Resume(ctx, "shop/prod"); err != nil || !ok || p.SHA != gitsourcetest.Head(t, repo, "env/dev") {
		t.Fatalf("Resume of a pause moved by hand = %+v, %v, %v", p, ok, err)
	}
	if refs := gitsourcetest.Git(t, repo, "for-each-ref", "refs/stagegate/"); refs != "" {
		t.Errorf("the pause ref is still there after Resume:\n%s", refs)
	}
	if _, err := m.Pause(ctx, gitsource.Pause{Name: "shop/prod", At: time.Unix(1, 0)}); err == nil || !strings.Contains(err.Error(), "who paused") {
		t.Errorf("a pause without who = %v, want an error saying so", err)
	}
}

func TestReadPause(t *testing.T) {
	for _, tc := range []struct {
		name, message string
		want          gitsource.Pause
	}{
		{"a pause stagegate wrote", "Pause automatic promotion into shop/prod\n\nrollback\n\nStagegate-Paused-By: alice\nStagegate-Paused-At: 2026-11-23T14:00:00Z\n",
			gitsource.Pause{Name: "n", SHA: "s", By: "alice", At: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), Reason: "rollback"}},
		{"a pause pushed by hand still pauses, saying nothing", "wip\n", gitsource.Pause{Name: "n", SHA: "s"}},
		{"a bad time is left zero", "P\n\nwhy\n\nStagegate-Paused-At: yesterday\n", gitsource.Pause{Name: "n", SHA: "s", Reason: "why"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, gitsource.ReadPause("n", "s", tc.message)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
