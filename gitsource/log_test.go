package gitsource_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// TestLog builds dev three commits ahead of staging, plus a hotfix on staging that dev lacks,
// and reads history the way promotion does.
func TestLog(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {"app.yaml": "v1\n"}})
	root := gitsourcetest.Head(t, repo, "env/dev")
	gitsourcetest.Branch(t, repo, "env/staging", "env/dev")
	c1 := gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"app.yaml": "v2\n"}, "bump to v2")
	hotfix := gitsourcetest.Commit(t, repo, "env/staging", map[string]string{"fix.yaml": "x\n"}, "hotfix\n\nStagegate-Source: none\n")
	c2 := gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"app.yaml": "v3\n"}, "bump to v3")
	c3 := gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"app.yaml": "v4\n"}, "bump to v4")

	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		head, stop string
		limit      int
		want       []string
	}{
		{"dev ahead of staging", "env/dev", "env/staging", 0, []string{c3, c2, c1}},
		{"staging ahead of dev: the hotfix", "env/staging", "env/dev", 0, []string{hotfix}},
		{"whole history", "env/dev", "", 0, []string{c3, c2, c1, root}},
		{"limit", "env/dev", "", 2, []string{c3, c2}},
		{"stop at head: nothing", "env/dev", "env/dev", 0, nil},
		{"stop is a descendant: nothing", c1, c3, 0, nil},
		{"short shas", c3[:8], c1[:8], 0, []string{c3, c2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, err := m.Log(context.Background(), tt.head, tt.stop, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range log {
				got = append(got, c.SHA)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Log(%s, %s, %d) (-want +got):\n%s", tt.head, tt.stop, tt.limit, diff)
			}
		})
	}

	if _, err := m.Log(context.Background(), "env/dev", "env/nope", 0); !errors.As(err, new(*gitsource.NotFoundError)) {
		t.Errorf("Log with an unknown stop = %v, want *NotFoundError", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Log(ctx, "env/dev", "", 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Log with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestCommit(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {"app.yaml": "v1\n"}})
	root := gitsourcetest.Head(t, repo, "env/dev")
	msg := "Promote abc1234 to staging\n\nStagegate-Source: env/dev@abc1234\nStagegate-Gate: security=pass\n"
	sha := gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"app.yaml": "v2\n"}, msg)
	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}

	got, err := m.Commit(sha)
	if err != nil {
		t.Fatal(err)
	}
	when := gitsourcetest.Epoch.Add(time.Minute)
	want := gitsource.Commit{
		SHA:            sha,
		Parents:        []string{root},
		Author:         gitsourcetest.AuthorName,
		AuthorEmail:    gitsourcetest.AuthorEmail,
		AuthorTime:     when,
		Committer:      gitsourcetest.AuthorName,
		CommitterEmail: gitsourcetest.AuthorEmail,
		CommitTime:     when,
		Subject:        "Promote abc1234 to staging",
		Message:        msg,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(time.Time.Equal)); diff != "" {
		t.Errorf("Commit (-want +got):\n%s", diff)
	}
}

func TestResolve(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{
		"env/dev":     {"app.yaml": "v1\n"},
		"env/staging": {"app.yaml": "v0\n"},
	})
	dev := gitsourcetest.Head(t, repo, "env/dev")
	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rev  string
		want string // "" means a *NotFoundError
	}{
		{"env/dev", dev},
		{"refs/heads/env/dev", dev},
		{dev, dev},
		{strings.ToUpper(dev), dev},
		{dev[:4], dev},
		{dev[:7], dev},
		{dev[:9], dev}, // odd length
		{dev[:3], ""},  // too short
		{"env/prod", ""},
		{"0000000000000000000000000000000000000000", ""},
		{"deadbeef", ""},
		{"not-hex", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rev, func(t *testing.T) {
			got, err := m.Resolve(tt.rev)
			if tt.want == "" {
				var nf *gitsource.NotFoundError
				if !errors.As(err, &nf) {
					t.Fatalf("Resolve(%q) = %q, %v; want *NotFoundError", tt.rev, got, err)
				}
				if gitsource.IsTransient(err) {
					t.Error("unknown revision reported as transient")
				}
				if !strings.Contains(err.Error(), "sync") {
					t.Errorf("error %q does not say what to do", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tt.rev, got, err, tt.want)
			}
		})
	}
}

func TestResolveAmbiguousShortSHA(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"main": {"f": "0\n"}})
	// Two commits sharing a 4-digit prefix need a few hundred commits (65536 prefixes); one
	// git fast-import makes 2000 in well under a second, where Commit would take a minute.
	var stream strings.Builder
	for i := range 2000 {
		msg := fmt.Sprintf("c%d", i)
		fmt.Fprintf(&stream, "commit refs/heads/many\ncommitter T <t@example.com> 1700000000 +0000\ndata %d\n%s\n\n", len(msg), msg)
	}
	cmd := exec.Command("git", "--git-dir", repo, "fast-import", "--quiet")
	cmd.Stdin = strings.NewReader(stream.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fast-import: %v\n%s", err, out)
	}
	seen := map[string]string{}
	var a, b string
	for _, sha := range strings.Fields(gitsourcetest.Git(t, repo, "rev-list", "many")) {
		if other, ok := seen[sha[:4]]; ok {
			a, b = other, sha
			break
		}
		seen[sha[:4]] = sha
	}
	if a == "" {
		t.Fatal("no 4-digit collision among 2000 commits")
	}

	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), []string{"many"}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Resolve(a[:4])
	if !errors.As(err, new(*gitsource.NotFoundError)) || !strings.Contains(err.Error(), "ambiguous") ||
		!strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Errorf("Resolve(ambiguous %s) = %v, want an ambiguity error naming %s and %s", a[:4], err, a, b)
	}
	for _, sha := range []string{a, b} {
		if got, err := m.Resolve(sha[:12]); err != nil || got != sha {
			t.Errorf("Resolve(%s) = %s, %v", sha[:12], got, err)
		}
	}
}
