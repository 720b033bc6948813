package gitsource_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// treeFixture is a mirror synced with one branch whose first commit has a small layout and whose
// second commit changes it, so tests can read both.
func treeFixture(t *testing.T) (m *gitsource.Mirror, first, second string) {
	t.Helper()
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {
		"base/kustomization.yaml":         "resources: [deploy.yaml]\n",
		"base/deploy.yaml":                "kind: Deployment\n",
		"overlays/dev/kustomization.yaml": "resources: [../../base]\n",
		"overlays/dev/base":               gitsourcetest.Symlink("../../base"),
		"overlays/dev/deploy.yaml":        gitsourcetest.Symlink("../../base/deploy.yaml"),
		"overlays/dev/passwd":             gitsourcetest.Symlink("../../../etc/passwd"),
		"overlays/dev/absolute":           gitsourcetest.Symlink("/etc/passwd"),
		"overlays/dev/loop":               gitsourcetest.Symlink("loop"),
		"README.md":                       "# shop\n",
		"a.b":                             "sorts after a/ in git, before it in fs\n",
		"a/x":                             "x\n",
	}})
	first = gitsourcetest.Head(t, repo, "env/dev")
	second = gitsourcetest.Commit(t, repo, "env/dev", map[string]string{
		"base/deploy.yaml": "kind: Deployment\nreplicas: 2\n",
		"README.md":        gitsourcetest.Deleted,
	}, "scale up")
	m = open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), []string{"env/dev"}); err != nil {
		t.Fatal(err)
	}
	return m, first, second
}

func TestTreeReadsAnyCommit(t *testing.T) {
	m, first, second := treeFixture(t)
	tests := []struct {
		rev, file, want string
	}{
		{first, "base/deploy.yaml", "kind: Deployment\n"},
		{second, "base/deploy.yaml", "kind: Deployment\nreplicas: 2\n"},
		{"env/dev", "base/deploy.yaml", "kind: Deployment\nreplicas: 2\n"},
		{first[:7], "README.md", "# shop\n"},
		{first, "overlays/dev/deploy.yaml", "kind: Deployment\n"},      // symlink to a file
		{first, "overlays/dev/base/deploy.yaml", "kind: Deployment\n"}, // through a symlinked dir
	}
	for _, tt := range tests {
		t.Run(tt.rev[:7]+"/"+tt.file, func(t *testing.T) {
			tree, err := m.Tree(tt.rev)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tree.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("ReadFile (-want +got):\n%s", diff)
			}
			// Open + Read gives the same bytes as ReadFile.
			f, err := tree.Open(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			read, err := io.ReadAll(f)
			if err != nil || string(read) != tt.want {
				t.Errorf("Open+Read = %q, %v; want %q", read, err, tt.want)
			}
		})
	}

	tree, err := m.Tree(second)
	if err != nil {
		t.Fatal(err)
	}
	if tree.SHA() != second {
		t.Errorf("SHA() = %s, want the commit %s", tree.SHA(), second)
	}
	if tree.Hash() == "" || tree.Hash() == second {
		t.Errorf("Hash() = %q, want the tree's hash", tree.Hash())
	}
	if _, err := tree.ReadFile("README.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("deleted file: %v, want fs.ErrNotExist", err)
	}
}

func TestTreeReadDirStatAndErrors(t *testing.T) {
	m, first, _ := treeFixture(t)
	tree, err := m.Tree(first)
	if err != nil {
		t.Fatal(err)
	}

	entries, err := tree.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fs.FormatDirEntry(e))
	}
	want := []string{"- README.md", "d a/", "- a.b", "d base/", "d overlays/"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadDir(\".\") (-want +got):\n%s", diff)
	}

	entries, err = tree.ReadDir("overlays/dev")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, e := range entries {
		got = append(got, fs.FormatDirEntry(e))
	}
	want = []string{"L absolute", "L base", "L deploy.yaml", "- kustomization.yaml", "L loop", "L passwd"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadDir(overlays/dev) lists symlinks as symlinks (-want +got):\n%s", diff)
	}

	info, err := tree.Stat("base/deploy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != int64(len("kind: Deployment\n")) || info.IsDir() || info.Name() != "deploy.yaml" {
		t.Errorf("Stat(base/deploy.yaml) = %s size %d dir %v", info.Name(), info.Size(), info.IsDir())
	}
	if !info.ModTime().Equal(gitsourcetest.Epoch) {
		t.Errorf("ModTime = %v, want the commit time %v", info.ModTime(), gitsourcetest.Epoch)
	}
	if info, err := tree.Stat("overlays/dev/base"); err != nil || !info.IsDir() {
		t.Errorf("Stat follows a symlinked dir: %v, %v", info, err)
	}
	if info, err := tree.Lstat("overlays/dev/base"); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat of a symlink: %v, %v", info, err)
	}
	if target, err := tree.ReadLink("overlays/dev/passwd"); err != nil || target != "../../../etc/passwd" {
		t.Errorf("ReadLink = %q, %v", target, err)
	}

	for _, name := range []string{"nope", "base/nope", "base/deploy.yaml/x", "nope/deeper"} {
		if _, err := tree.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%q) = %v, want fs.ErrNotExist", name, err)
		}
		if _, err := tree.Open(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) = %v, want fs.ErrNotExist", name, err)
		}
	}
	for _, name := range []string{"/base", "../x", "base/", "./base"} {
		if _, err := tree.Open(name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want fs.ErrInvalid", name, err)
		}
	}
	if _, err := tree.ReadFile("base"); err == nil {
		t.Error("ReadFile of a directory succeeded")
	}
	if _, err := tree.ReadDir("base/deploy.yaml"); err == nil {
		t.Error("ReadDir of a file succeeded")
	}
}

func TestTreeRefusesSymlinksLeavingTheTree(t *testing.T) {
	m, first, _ := treeFixture(t)
	tree, err := m.Tree(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"overlays/dev/passwd", "overlays/dev/absolute"} {
		_, err := tree.ReadFile(name)
		if !errors.Is(err, gitsource.ErrSymlinkOutside) {
			t.Errorf("ReadFile(%s) = %v, want ErrSymlinkOutside", name, err)
			continue
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name the path %s", err, name)
		}
		if _, err := tree.Stat(name); !errors.Is(err, gitsource.ErrSymlinkOutside) {
			t.Errorf("Stat(%s) = %v, want ErrSymlinkOutside", name, err)
		}
	}
	if _, err := tree.ReadFile("overlays/dev/loop"); err == nil || !strings.Contains(err.Error(), "too many levels of symlinks") {
		t.Errorf("ReadFile of a symlink loop = %v, want too many levels of symlinks", err)
	}
}

// TestTreeIsAnFS runs the standard library's conformance checks for fs.FS implementations
// (Open, ReadDir, ReadFile, Stat, ReadLink and Lstat agreeing with each other).
func TestTreeIsAnFS(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"main": {
		"base/kustomization.yaml":         "resources: [deploy.yaml]\n",
		"base/deploy.yaml":                "kind: Deployment\n",
		"overlays/dev/kustomization.yaml": "resources: [../../base]\n",
		"overlays/dev/base":               gitsourcetest.Symlink("../../base"),
		"a.b":                             "x\n",
		"a/x":                             "x\n",
		"vendor/lib":                      gitsourcetest.Gitlink("1111111111111111111111111111111111111111"),
	}})
	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	tree, err := m.Tree("main")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(tree, "a.b", "a/x", "base/deploy.yaml", "overlays/dev/kustomization.yaml", "overlays/dev/base", "vendor/lib"); err != nil {
		t.Error(err)
	}
}

func TestTreeShowsSubmodulesAsEmptyDirs(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"main": {
		"README.md":  "x\n",
		"vendor/lib": gitsourcetest.Gitlink("1111111111111111111111111111111111111111"),
	}})
	sha := gitsourcetest.Head(t, repo, "main")
	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	tree, err := m.Tree(sha)
	if err != nil {
		t.Fatal(err)
	}
	info, err := tree.Stat("vendor/lib")
	if err != nil || !info.IsDir() {
		t.Fatalf("Stat(submodule) = %v, %v; want a directory", info, err)
	}
	entries, err := tree.ReadDir("vendor/lib")
	if err != nil || len(entries) != 0 {
		t.Errorf("ReadDir(submodule) = %v, %v; want empty", entries, err)
	}
}
