package gitsource_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// lineageFiles is the layout both environments start from.
var lineageFiles = map[string]string{
	"overlays/dev/kustomization.yaml":     "resources: [../../base]\n",
	"overlays/staging/kustomization.yaml": "resources: [../../base]\n",
	"base/app.yaml":                       "image: app:v1\n",
	"base/config.yaml":                    "level: info\n",
	"current.yaml":                        gitsourcetest.Symlink("base/app.yaml"),
}

// promote puts a promotion commit of env/dev onto env/staging in repo, as a merged promotion
// PR would (stagegate writes it, pushes it to the promotion branch, and the branch is merged
// by fast-forward).
func promote(t *testing.T, repo string) {
	t.Helper()
	ctx := context.Background()
	m := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	if _, err := m.Sync(ctx, []string{"env/dev", "env/staging"}); err != nil {
		t.Fatal(err)
	}
	dev, staging := gitsourcetest.Head(t, repo, "env/dev"), gitsourcetest.Head(t, repo, "env/staging")
	sha, err := m.WritePromotion(ctx, gitsource.Promotion{Target: "env/staging", SourceBranch: "env/dev", SourceSHA: dev, Subject: "Promote " + dev[:7] + " to staging"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, "env/staging", sha, staging); err != nil {
		t.Fatal(err)
	}
}

// promoteByMerge writes a promotion commit of env/dev onto env/staging, pushes it to the
// promotion branch, runs during (a person pushing to env/staging while the PR is open), then
// merges the PR with a merge commit, as GitHub's merge method does.
func promoteByMerge(t *testing.T, repo string, during func()) {
	t.Helper()
	ctx := context.Background()
	m := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	if _, err := m.Sync(ctx, []string{"env/dev", "env/staging"}); err != nil {
		t.Fatal(err)
	}
	dev := gitsourcetest.Head(t, repo, "env/dev")
	sha, err := m.WritePromotion(ctx, gitsource.Promotion{Target: "env/staging", SourceBranch: "env/dev", SourceSHA: dev, Subject: "Promote " + dev[:7] + " to staging"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, promoteBranch, sha, ""); err != nil {
		t.Fatal(err)
	}
	during()
	staging := gitsourcetest.Head(t, repo, "env/staging")
	tree, _, _ := strings.Cut(gitsourcetest.Git(t, repo, "merge-tree", "--write-tree", staging, sha), "\n")
	merge := strings.TrimSpace(gitsourcetest.Git(t, repo, "commit-tree", tree, "-p", staging, "-p", sha, "-m", "Merge pull request #1 from acme/"+promoteBranch))
	gitsourcetest.Git(t, repo, "update-ref", "refs/heads/env/staging", merge, staging)
}

func TestLineage(t *testing.T) {
	commit := gitsourcetest.Commit
	tests := []struct {
		name string
		// history builds on a repository where env/staging was branched from env/dev.
		history     func(t *testing.T, repo string)
		wantMissing []string
		wantCommits []string // subjects, newest first
		wantBase    string   // "merge base", "promotion" or "none"
	}{
		{"no hotfix: the source only moved ahead", func(t *testing.T, repo string) {
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v2\n"}, "Bump app to v2")
		}, nil, nil, "merge base"},
		{"a hotfix on the target is missing from the source", func(t *testing.T, repo string) {
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v2\n"}, "Bump app to v2")
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix: debug logging")
		}, []string{"base/config.yaml"}, []string{"Hotfix: debug logging"}, "merge base"},
		{"a hotfix back-ported to the source with the same content is not missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix: debug logging")
			commit(t, repo, "env/dev", map[string]string{"base/config.yaml": "level: debug\n"}, "Back-port: debug logging")
		}, nil, nil, "merge base"},
		{"a hotfix back-ported with other content is still missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix: debug logging")
			commit(t, repo, "env/dev", map[string]string{"base/config.yaml": "level: warn\n"}, "Quieter logs")
		}, []string{"base/config.yaml"}, []string{"Hotfix: debug logging"}, "merge base"},
		{"a hotfix reverted on the target leaves nothing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix: debug logging")
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: info\n"}, "Revert hotfix")
		}, nil, nil, "merge base"},
		{"a file deleted on the target only is missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": gitsourcetest.Deleted}, "Drop config")
		}, []string{"base/config.yaml"}, []string{"Drop config"}, "merge base"},
		{"a file added on the target only is missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/pdb.yaml": "minAvailable: 1\n"}, "Add a PDB")
		}, []string{"base/pdb.yaml"}, []string{"Add a PDB"}, "merge base"},
		{"a file deleted on both sides is not missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": gitsourcetest.Deleted}, "Drop config")
			commit(t, repo, "env/dev", map[string]string{"base/config.yaml": gitsourcetest.Deleted}, "Drop config too")
		}, nil, nil, "merge base"},
		{"a file hotfixed on the target and deleted on the source is missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix: debug logging")
			commit(t, repo, "env/dev", map[string]string{"base/config.yaml": gitsourcetest.Deleted}, "Drop config")
		}, []string{"base/config.yaml"}, []string{"Hotfix: debug logging"}, "merge base"},
		{"a symlink retargeted on the target only is missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"current.yaml": gitsourcetest.Symlink("base/config.yaml")}, "Point current at config")
		}, []string{"current.yaml"}, []string{"Point current at config"}, "merge base"},
		{"several hotfixes: only the commits touching missing paths, newest first", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix one")
			commit(t, repo, "env/staging", map[string]string{"base/app.yaml": "image: app:v1.0.1\n"}, "Hotfix two")
			commit(t, repo, "env/staging", map[string]string{"base/new.yaml": "x: 1\n"}, "Back-ported already")
			commit(t, repo, "env/dev", map[string]string{"base/new.yaml": "x: 1\n"}, "Same as staging")
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: trace\n"}, "Hotfix three")
		}, []string{"base/app.yaml", "base/config.yaml"}, []string{"Hotfix three", "Hotfix two", "Hotfix one"}, "merge base"},
		{"changes before the last promotion do not count", func(t *testing.T, repo string) {
			commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix, overwritten by the promotion")
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v2\n"}, "Bump app to v2")
			promote(t, repo)
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v3\n"}, "Bump app to v3")
		}, nil, nil, "promotion"},
		{"a hotfix after the last promotion is missing", func(t *testing.T, repo string) {
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v2\n"}, "Bump app to v2")
			promote(t, repo)
			commit(t, repo, "env/staging", map[string]string{"base/app.yaml": "image: app:v2.0.1\n"}, "Hotfix v2.0.1")
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v3\n"}, "Bump app to v3")
		}, []string{"base/app.yaml"}, []string{"Hotfix v2.0.1"}, "promotion"},
		{"a promotion merged with a merge commit, and a hotfix that landed while its PR was open", func(t *testing.T, repo string) {
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v2\n"}, "Bump app to v2")
			promoteByMerge(t, repo, func() {
				commit(t, repo, "env/staging", map[string]string{"base/config.yaml": "level: debug\n"}, "Hotfix during review")
			})
		}, []string{"base/config.yaml"}, []string{"Hotfix during review"}, "promotion"},
		{"a promotion merged with a merge commit, nothing else", func(t *testing.T, repo string) {
			commit(t, repo, "env/dev", map[string]string{"base/app.yaml": "image: app:v2\n"}, "Bump app to v2")
			promoteByMerge(t, repo, func() {})
		}, nil, nil, "promotion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": lineageFiles})
			gitsourcetest.Branch(t, repo, "env/staging", "env/dev")
			tt.history(t, repo)
			got := lineage(t, repo)
			if diff := cmp.Diff(tt.wantMissing, got.Missing); diff != "" {
				t.Errorf("Missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantCommits, subjects(got.Commits)); diff != "" {
				t.Errorf("Commits (-want +got):\n%s", diff)
			}
			base := map[bool]string{true: "promotion", false: "merge base"}[got.BaseIsPromotion]
			if got.Base == "" {
				base = "none"
			}
			if base != tt.wantBase {
				t.Errorf("base %q (%s), want the %s", got.Base, base, tt.wantBase)
			}
		})
	}
}

// TestLineageUnrelatedHistories: with no promotion and no merge base, every difference counts.
func TestLineageUnrelatedHistories(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{
		"env/dev":     {"base/app.yaml": "image: app:v1\n", "same.yaml": "x\n"},
		"env/staging": {"base/app.yaml": "image: app:v0\n", "same.yaml": "x\n", "extra.yaml": "y\n"},
	})
	got := lineage(t, repo)
	want := gitsource.LineageResult{Missing: []string{"base/app.yaml", "extra.yaml"}}
	if diff := cmp.Diff(want.Missing, got.Missing); diff != "" || got.Base != "" {
		t.Errorf("Missing (-want +got):\n%s\nbase %q, want none", diff, got.Base)
	}
	if diff := cmp.Diff([]string{"init env/staging"}, subjects(got.Commits)); diff != "" {
		t.Errorf("Commits (-want +got):\n%s", diff)
	}
}

func TestLineageUnknownCommit(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": lineageFiles})
	m := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lineage(context.Background(), "env/dev", "env/prod"); err == nil {
		t.Error("Lineage of a target the mirror lacks succeeded")
	}
}

// lineage syncs a fresh mirror of repo and returns Lineage(env/dev, env/staging).
func lineage(t *testing.T, repo string) gitsource.LineageResult {
	t.Helper()
	ctx := context.Background()
	m := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	heads, err := m.Sync(ctx, []string{"env/dev", "env/staging"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Lineage(ctx, heads["env/dev"], heads["env/staging"])
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func subjects(cs []gitsource.Commit) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Subject)
	}
	return out
}
