package gitsource_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// TestConcurrentReadsDuringSync reads trees, commits and history from several goroutines while
// the same Mirror keeps fetching new commits over HTTP. Run with -race: it guards the locking
// around go-git's storage, which is not safe for concurrent use on its own.
func TestConcurrentReadsDuringSync(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {
		"base/deploy.yaml":    "v0\n",
		"overlays/dev/link":   gitsourcetest.Symlink("../../base"),
		"overlays/dev/k.yaml": "resources: [link]\n",
	}})
	base, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "", "")
	m := open(t, config.Repo{URL: base + "/repo.git"}, nil, nil)
	heads, err := m.Sync(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := heads["env/dev"]

	const rounds = 8
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := readEverything(ctx, m, old); err != nil {
					errs <- fmt.Errorf("reader %d: %w", g, err)
					return
				}
			}
		}()
	}
	for i := range rounds {
		gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"base/deploy.yaml": fmt.Sprintf("v%d\n", i+1)}, fmt.Sprint("round ", i))
		if _, err := m.Sync(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := readEverything(ctx, m, "env/dev"); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m.Fetches() != rounds+1 {
		t.Errorf("Fetches() = %d, want %d", m.Fetches(), rounds+1)
	}
	tree, err := m.Tree("env/dev")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := tree.ReadFile("overlays/dev/link/deploy.yaml"); string(got) != fmt.Sprintf("v%d\n", rounds) {
		t.Errorf("after %d rounds, deploy.yaml = %q", rounds, got)
	}
}

// readEverything walks the tree of rev, reads every file and lists the history.
func readEverything(ctx context.Context, m *gitsource.Mirror, rev string) error {
	tree, err := m.Tree(rev)
	if err != nil {
		return err
	}
	err = fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		_, err = tree.ReadFile(p)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := tree.ReadFile("overlays/dev/link/deploy.yaml"); err != nil {
		return err
	}
	if _, err := m.Log(ctx, rev, "", 0); err != nil {
		return err
	}
	_, err = m.Commit(rev)
	return err
}
