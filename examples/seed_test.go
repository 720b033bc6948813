package examples_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/examples"
)

func TestSeedIsDeterministicAndLoads(t *testing.T) {
	a, err := examples.Seed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := examples.Seed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Commits, b.Commits); diff != "" {
		t.Errorf("two seeds made different commits (-first +second):\n%s", diff)
	}
	if _, err := examples.Seed(strings.TrimSuffix(a.Repo, "/shop.git")); err == nil {
		t.Error("seeding over an existing repository: want an error")
	}

	// The real git CLI reads the repository: the branches exist and hold the documented history.
	out, err := exec.Command("git", "-C", a.Repo, "log", "--format=%s", "env/dev").CombinedOutput()
	if err != nil {
		t.Fatalf("git log: %v\n%s", err, out)
	}
	want := "web: dark theme; cart: 2s Redis timeout\nweb: 1.5.0 with the new checkout page\nInitial shop deployment\n"
	if string(out) != want {
		t.Errorf("env/dev history:\n%s\nwant:\n%s", out, want)
	}
	if out, err := exec.Command("git", "-C", a.Repo, "fsck", "--strict").CombinedOutput(); err != nil {
		t.Errorf("git fsck: %v\n%s", err, out)
	}

	ps, err := config.Load(a.Config)
	if err != nil {
		t.Fatalf("the seeded config does not load: %v", err)
	}
	if ps[0].Spec.Repo.URL != a.URL {
		t.Errorf("seeded config repo.url = %q, want %q", ps[0].Spec.Repo.URL, a.URL)
	}
}

func TestFreshAndCommit(t *testing.T) {
	s, err := examples.Fresh(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := examples.Seed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if s.Commits["initial"] != seeded.Commits["initial"] {
		t.Errorf("Fresh's first commit %s differs from Seed's %s", s.Commits["initial"], seeded.Commits["initial"])
	}
	sha, err := examples.Commit(s.Repo, "env/dev", "Bob", "web: 1.5.0", time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC),
		examples.Edit{File: "base/kustomization.yaml", Old: `newTag: "1.4.0"`, New: `newTag: "1.5.0"`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := examples.Commit(s.Repo, "env/dev", "Bob", "no such text", time.Now(),
		examples.Edit{File: "base/kustomization.yaml", Old: "nothing like this", New: "x"}); err == nil {
		t.Error("an edit whose old text is missing: want an error")
	}

	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", s.Repo}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	for _, b := range examples.Branches {
		want := s.Commits["initial"] + "\n"
		if b == "env/dev" {
			want = sha + "\n"
		}
		if got := git("rev-parse", b); got != want {
			t.Errorf("%s at %s, want %s", b, got, want)
		}
	}
	if got := git("symbolic-ref", "HEAD"); got != "refs/heads/env/dev\n" {
		t.Errorf("HEAD = %q, want refs/heads/env/dev", got)
	}
	if got := git("show", "env/dev:base/kustomization.yaml"); !strings.Contains(got, `newTag: "1.5.0"`) {
		t.Errorf("the commit did not change base/kustomization.yaml:\n%s", got)
	}
	if got := git("log", "--format=%an <%ae> %s", "-1", "env/dev"); got != "Bob <bob@shop.example> web: 1.5.0\n" {
		t.Errorf("commit = %q", got)
	}
	git("fsck", "--strict")
}
