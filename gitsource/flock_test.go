package gitsource_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// TestSyncWaitsForAnotherProcess holds the mirror's lock file the way another stagegate process
// would, and checks that Sync waits for it and gives up when its context ends.
func TestSyncWaitsForAnotherProcess(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	m := open(t, config.Repo{URL: repo}, nil, nil)
	lockFile := strings.TrimSuffix(m.Dir(), ".git") + ".lock"
	f, err := os.OpenFile(lockFile, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("mirror lock file: %v", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = m.Sync(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another stagegate process") {
		t.Fatalf("Sync while another process holds the lock = %v, want a timeout that says why", err)
	}
	if m.Fetches() != 0 {
		t.Errorf("Sync fetched without the lock")
	}

	// Released: the waiting Sync goes ahead.
	released := make(chan error, 1)
	go func() {
		_, err := m.Sync(context.Background(), nil)
		released <- err
	}()
	time.Sleep(50 * time.Millisecond)
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if m.Fetches() != 1 {
		t.Errorf("Fetches() = %d after the lock was released, want 1", m.Fetches())
	}
}

// TestConcurrentSyncsShareAMirror runs two Mirrors on one cache (as two processes would) that
// sync and read at the same time, then asks git itself whether the mirror is intact.
func TestConcurrentSyncsShareAMirror(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, envs)
	cache := t.TempDir()
	var mirrors []*gitsource.Mirror
	for range 2 {
		m, err := gitsource.Open(ctx, config.Repo{URL: repo}, options(t, cache, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		mirrors = append(mirrors, m)
	}
	for i := range 5 {
		gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"f": strings.Repeat("x", i)}, "c")
		var wg sync.WaitGroup
		for _, m := range mirrors {
			wg.Go(func() {
				if _, err := m.Sync(ctx, nil); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Log(ctx, "env/dev", "", 0); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	out, err := exec.Command("git", "--git-dir", mirrors[0].Dir(), "fsck", "--strict").CombinedOutput()
	if err != nil {
		t.Errorf("git fsck of the shared mirror: %v\n%s", err, out)
	}
	if got, want := gitsourcetest.Head(t, mirrors[0].Dir(), "env/dev"), gitsourcetest.Head(t, repo, "env/dev"); got != want {
		t.Errorf("shared mirror env/dev = %s, want %s", got, want)
	}
}

func TestOpenAcceptsURLForms(t *testing.T) {
	key, _ := gitsourcetest.NewSSHKey(t, "")
	for _, url := range []string{
		"/srv/git/shop.git",
		"file:///srv/git/shop.git",
		"https://github.com/acme/shop.git",
		"http://git.internal:8080/shop.git",
		"ssh://git@github.com/acme/shop.git",
		"git+ssh://git@github.com:2222/acme/shop.git",
		"git@github.com:acme/shop.git",
	} {
		t.Run(url, func(t *testing.T) {
			repo := config.Repo{URL: url}
			if strings.Contains(url, "ssh") || strings.HasPrefix(url, "git@") {
				repo.SSHKeyFile = key
			}
			m, err := gitsource.Open(context.Background(), repo, options(t, t.TempDir(), nil, nil))
			if err != nil {
				t.Fatalf("Open(%s): %v", url, err)
			}
			if m.URL() != url {
				t.Errorf("URL() = %s, want %s", m.URL(), url)
			}
		})
	}
}
