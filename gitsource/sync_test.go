package gitsource_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

var envs = map[string]map[string]string{
	"env/dev":     {"overlays/dev/kustomization.yaml": "resources: []\n"},
	"env/staging": {"overlays/staging/kustomization.yaml": "resources: []\n"},
}

func TestOpenCreatesTheMirrorOnceAndReusesIt(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, envs)
	cache := t.TempDir()
	cfg := config.Repo{URL: "file://" + repo}

	first, err := gitsource.Open(ctx, cfg, options(t, cache, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if first.Fetches() != 0 {
		t.Errorf("Open fetched %d times, want 0 (nothing is fetched before Sync)", first.Fetches())
	}
	if _, err := first.Sync(ctx, []string{"env/dev"}); err != nil {
		t.Fatal(err)
	}
	if first.FetchedBytes() <= 0 {
		t.Errorf("the first fetch received %d pack bytes, want some", first.FetchedBytes())
	}
	mirrors, _ := filepath.Glob(filepath.Join(cache, "git", "repo-*.git"))
	if len(mirrors) != 1 || mirrors[0] != first.Dir() {
		t.Fatalf("mirrors in cache = %v, want exactly %s", mirrors, first.Dir())
	}

	second, err := gitsource.Open(ctx, cfg, options(t, cache, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if second.Dir() != first.Dir() {
		t.Errorf("second Open uses %s, want the existing mirror %s", second.Dir(), first.Dir())
	}
	// The reopened mirror already holds env/dev: resolving needs no sync, and syncing fetches nothing.
	if _, err := second.Resolve("env/dev"); err != nil {
		t.Errorf("reopened mirror lost env/dev: %v", err)
	}
	if _, err := second.Sync(ctx, []string{"env/dev"}); err != nil {
		t.Fatal(err)
	}
	if second.Fetches() != 0 || second.FetchedBytes() != 0 {
		t.Errorf("Sync of a reused, up-to-date mirror fetched %d times, %d bytes, want 0", second.Fetches(), second.FetchedBytes())
	}

	other, err := gitsource.Open(ctx, config.Repo{URL: "file://" + gitsourcetest.NewRepo(t, envs)}, options(t, cache, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if other.Dir() == first.Dir() {
		t.Errorf("two repositories named repo.git share the mirror %s", other.Dir())
	}
}

func TestOpenDefaultsCacheDir(t *testing.T) {
	tests := []struct {
		name string
		env  env
		want string // relative to the temp dir
	}{
		{"XDG_CACHE_HOME wins", env{"XDG_CACHE_HOME": "xdg", "HOME": "home"}, "xdg/stagegate/git"},
		{"else ~/.cache", env{"HOME": "home"}, "home/.cache/stagegate/git"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			e := env{}
			for k, v := range tt.env {
				e[k] = filepath.Join(tmp, v)
			}
			m, err := gitsource.Open(context.Background(), config.Repo{URL: gitsourcetest.NewRepo(t, envs)}, gitsource.Options{Getenv: e.get, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := filepath.Dir(m.Dir()), filepath.Join(tmp, tt.want); got != want {
				t.Errorf("mirror in %s, want %s", got, want)
			}
		})
	}
}

func TestOpenRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		repo config.Repo
		want string // in the error
		leak string // must not be in the error
	}{
		{"inline password", config.Repo{URL: "https://bot:s3cr3t-value@git.example.com/shop.git"}, "use tokenEnv or tokenFile", "s3cr3t-value"},
		{"inline token as user", config.Repo{URL: "https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/acme/shop.git"}, "use tokenEnv", "ghp_abcdefghij"},
		{"token in query", config.Repo{URL: "https://git.example.com/shop.git?access_token=s3cr3t-value"}, "use tokenEnv", "s3cr3t-value"},
		{"scp-like password", config.Repo{URL: "git:s3cr3t-value@git.example.com:shop.git"}, "use sshKeyFile", "s3cr3t-value"},
		{"relative path", config.Repo{URL: "repos/shop.git"}, "absolute path", ""},
		{"empty", config.Repo{}, "repo.url: required", ""},
		{"unsupported scheme", config.Repo{URL: "ftp://example.com/shop.git"}, `unsupported scheme "ftp"`, ""},
		{"token on ssh", config.Repo{URL: "ssh://git@example.com/shop.git", TokenEnv: "T", SSHKeyFile: "/k"}, "only apply to http(s)", ""},
		{"ssh key on https", config.Repo{URL: "https://example.com/shop.git", SSHKeyFile: "/k"}, "only apply to ssh", ""},
		{"ssh without key", config.Repo{URL: "git@example.com:shop.git"}, "repo.sshKeyFile is not set", ""},
		{"both token sources", config.Repo{URL: "https://example.com/shop.git", TokenEnv: "T", TokenFile: "/t"}, "keep one", ""},
		{"token over http", config.Repo{URL: "http://git.example.com/shop.git", TokenEnv: "T"}, "use https://", ""},
		{"token file over http", config.Repo{URL: "http://10.0.0.7/shop.git", TokenFile: "/t"}, "use https://", ""},
		{"user name in an https URL", config.Repo{URL: "https://bot@git.example.com/shop.git"}, "with username", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gitsource.Open(context.Background(), tt.repo, options(t, t.TempDir(), nil, nil))
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if tt.leak != "" && strings.Contains(err.Error(), tt.leak) {
				t.Errorf("error %q leaks the secret", err)
			}
		})
	}
}

// TestSyncOverHTTPFetchesOnlyWhatChanged drives a mirror through a real smart-HTTP server and
// checks, from the server's request log, that an unchanged remote costs one ref advertisement
// and no pack transfer.
func TestSyncOverHTTPFetchesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, envs)
	base, requests := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "", "")
	m := open(t, config.Repo{URL: base + "/repo.git"}, nil, nil)
	branches := []string{"env/dev", "env/staging"}

	// First sync: both branches are new, one fetch.
	heads, err := m.Sync(ctx, branches)
	if err != nil {
		t.Fatal(err)
	}
	want := gitsource.Heads{"env/dev": gitsourcetest.Head(t, repo, "env/dev"), "env/staging": gitsourcetest.Head(t, repo, "env/staging")}
	if diff := cmp.Diff(want, heads); diff != "" {
		t.Errorf("first Sync heads (-want +got):\n%s", diff)
	}
	if m.Fetches() != 1 {
		t.Errorf("first Sync fetched %d times, want 1", m.Fetches())
	}
	if diff := cmp.Diff([]string{"POST /repo.git/git-upload-pack"}, posts(requests())); diff != "" {
		t.Errorf("first Sync fetches both branches in one pack request (-want +got):\n%s", diff)
	}

	// Unchanged remote: Probe and Sync transfer nothing.
	before, probes := len(requests()), m.Probes()
	probed, err := m.Probe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, probed); diff != "" {
		t.Errorf("Probe (-want +got):\n%s", diff)
	}
	if _, err := m.Sync(ctx, branches); err != nil {
		t.Fatal(err)
	}
	if m.Fetches() != 1 {
		t.Errorf("Sync of an unchanged remote fetched: Fetches() = %d, want 1", m.Fetches())
	}
	advert := "GET /repo.git/info/refs?service=git-upload-pack"
	if diff := cmp.Diff([]string{advert, advert}, requests()[before:]); diff != "" {
		t.Errorf("requests for Probe + Sync of an unchanged remote (-want +got):\n%s", diff)
	}
	if got := m.Probes() - probes; got != 2 {
		t.Errorf("Probe + Sync counted %d probes, want 2: one ref advertisement each", got)
	}

	// One branch moves: one fetch, of that branch only, and the mirror holds the new commit.
	moved := gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"overlays/dev/app.yaml": "kind: ConfigMap\n"}, "add app")
	before = len(requests())
	heads, err = m.Sync(ctx, branches)
	if err != nil {
		t.Fatal(err)
	}
	want["env/dev"] = moved
	if diff := cmp.Diff(want, heads); diff != "" {
		t.Errorf("Sync after a push (-want +got):\n%s", diff)
	}
	if m.Fetches() != 2 {
		t.Errorf("Fetches() = %d after one branch moved, want 2", m.Fetches())
	}
	if diff := cmp.Diff([]string{"POST /repo.git/git-upload-pack"}, posts(requests()[before:])); diff != "" {
		t.Errorf("pack requests after a push (-want +got):\n%s", diff)
	}
	tree, err := m.Tree("env/dev")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tree.ReadFile("overlays/dev/app.yaml"); err != nil || string(got) != "kind: ConfigMap\n" {
		t.Errorf("new file after incremental sync = %q, %v", got, err)
	}
}

// posts returns the requests that transfer objects.
func posts(requests []string) []string {
	var out []string
	for _, r := range requests {
		if strings.HasPrefix(r, "POST") {
			out = append(out, r)
		}
	}
	return out
}

func TestSyncForcePushedBranch(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, envs)
	m := open(t, config.Repo{URL: repo}, nil, nil)
	gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"a": "1"}, "a")
	if _, err := m.Sync(ctx, []string{"env/dev"}); err != nil {
		t.Fatal(err)
	}
	// Rewind the remote branch to a commit that does not contain the mirror's head.
	gitsourcetest.Branch(t, repo, "env/dev", "env/staging")
	heads, err := m.Sync(ctx, []string{"env/dev"})
	if err != nil {
		t.Fatal(err)
	}
	if want := gitsourcetest.Head(t, repo, "env/staging"); heads["env/dev"] != want {
		t.Errorf("after force push, env/dev = %s, want %s", heads["env/dev"], want)
	}
}

func TestSyncAllBranchesWhenNoneNamed(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	m := open(t, config.Repo{URL: repo}, nil, nil)
	heads, err := m.Sync(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"env/dev", "env/staging"}, heads.Names()); diff != "" {
		t.Errorf("Sync(nil) branches (-want +got):\n%s", diff)
	}
}

func TestSyncMissingBranch(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	base, requests := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "", "")
	m := open(t, config.Repo{URL: base + "/repo.git"}, nil, nil)

	_, err := m.Sync(context.Background(), []string{"env/dev", "env/prod"})
	var nf *gitsource.BranchNotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("Sync with a missing branch: %v, want *BranchNotFoundError", err)
	}
	want := &gitsource.BranchNotFoundError{Branch: "env/prod", URL: base + "/repo.git", Have: []string{"env/dev", "env/staging"}}
	if diff := cmp.Diff(want, nf); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	for _, s := range []string{`"env/prod"`, base + "/repo.git", "env/dev, env/staging"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if gitsource.IsTransient(err) {
		t.Error("a missing branch is reported as transient")
	}
	if m.Fetches() != 0 {
		t.Errorf("Sync fetched %d times before failing on a missing branch, want 0", m.Fetches())
	}
	for _, r := range requests() {
		if strings.HasPrefix(r, "POST") {
			t.Errorf("Sync with a missing branch transferred a pack: %s", r)
		}
	}
}

// TestTwoMirrorsShareACache is two processes' view of one cache: both sync the same mirror
// directory, each through its own Mirror, and each sees what the other fetched.
func TestTwoMirrorsShareACache(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, envs)
	cache := t.TempDir()
	a, err := gitsource.Open(ctx, config.Repo{URL: repo}, options(t, cache, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := gitsource.Open(ctx, config.Repo{URL: repo}, options(t, cache, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sha := gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"new": "x"}, "new")
	if _, err := a.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// b never fetched, yet reads the commit a fetched into the shared mirror.
	c, err := b.Commit("env/dev")
	if err != nil {
		t.Fatalf("second Mirror cannot read what the first fetched: %v", err)
	}
	if c.SHA != sha {
		t.Errorf("second Mirror sees env/dev at %s, want %s", c.SHA, sha)
	}
	if _, err := b.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if b.Fetches() != 0 {
		t.Errorf("second Mirror fetched %d times though the shared mirror was up to date", b.Fetches())
	}
	if _, err := os.Stat(filepath.Join(cache, "git")); err != nil {
		t.Fatal(err)
	}
}
