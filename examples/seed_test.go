package examples_test

import (
	"os/exec"
	"strings"
	"testing"

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
