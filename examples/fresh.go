package examples

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Fresh writes the sample repository into dir/shop.git with its first commit only, on env/dev,
// env/staging and env/prod alike: nothing to promote yet. It is the quickstart's starting point;
// it writes no config (Config is empty), since the quickstart writes its own. The sha of
// Commits["initial"] is the same as Seed's.
func Fresh(dir string) (Seeded, error) {
	s := Seeded{Repo: filepath.Join(dir, "shop.git"), Commits: map[string]string{}}
	abs, err := filepath.Abs(s.Repo)
	if err != nil {
		return s, err
	}
	s.URL = "file://" + filepath.ToSlash(abs)
	if _, err := os.Stat(s.Repo); err == nil {
		return s, fmt.Errorf("seed %s: it already exists; remove it or choose another directory", s.Repo)
	}
	a, _, err := initRepo(&s)
	if err != nil {
		return s, fmt.Errorf("seed %s: %w", s.Repo, err)
	}
	if err := bare(a.r); err != nil {
		return s, fmt.Errorf("seed %s: %w", s.Repo, err)
	}
	return s, nil
}

// Edit is one change to a file of the sample repository: its one occurrence of Old becomes New.
type Edit struct{ File, Old, New string }

// Commit writes one commit on branch of the bare repository at repo (a path), authored at when
// by name (email name@shop.example, lowercased), with edits applied to the branch head's files,
// and moves the branch to it. It returns the commit's sha. It needs no git CLI: the quickstart
// makes its changes with it, as a developer would push them.
func Commit(repo, branch, name, msg string, when time.Time, edits ...Edit) (string, error) {
	st := filesystem.NewStorage(osfs.New(repo), cache.NewObjectLRUDefault())
	r, err := git.Open(st, memfs.New())
	if err != nil {
		return "", fmt.Errorf("open %s: %w", repo, err)
	}
	// Checking out moves HEAD; a bare repository's HEAD names its default branch, so put it back.
	head, err := r.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", err
	}
	wt, err := r.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Force: true}); err != nil {
		return "", fmt.Errorf("check out %s: %w", branch, err)
	}
	for _, e := range edits {
		b, err := readFile(wt.Filesystem, e.File)
		if err != nil {
			return "", err
		}
		if b, err = replaceOnce(b, e.Old, e.New); err != nil {
			return "", fmt.Errorf("%s: %w", e.File, err)
		}
		if err := writeFile(wt.Filesystem, e.File, b); err != nil {
			return "", err
		}
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", err
	}
	sig := &object.Signature{Name: name, Email: strings.ToLower(name) + "@shop.example", When: when}
	sha, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return "", err
	}
	return sha.String(), r.Storer.SetReference(head)
}
