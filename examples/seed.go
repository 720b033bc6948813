// Package examples holds the sample deployment repository (shop/) and the config that promotes
// it (stagegate.yaml), embedded so the binary can build a working demo with nothing else.
//
// Seed writes them out as a bare Git repository with a short, deterministic history, which the
// tests start from; Fresh writes only the first commit, which stagegate quickstart starts from,
// and Commit adds a change to it. None of them touches the network or needs the git CLI.
package examples

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

//go:embed all:shop stagegate.yaml
var files embed.FS

// Branches of the sample repository, in promotion order.
var Branches = []string{"env/dev", "env/staging", "env/prod"}

// Seeded is a sample repository written by Seed.
type Seeded struct {
	// Repo is the bare repository's path; URL is its file:// URL.
	Repo string
	URL  string
	// Config is a stagegate.yaml whose pipeline "shop" points at URL.
	Config string
	// Commits are the shas Seed made, by name: "initial", "dev-web-1.5", "staging-promotion",
	// "dev-theme".
	Commits map[string]string
}

// Seed writes the sample repository into dir/shop.git and its config into dir/stagegate.yaml.
// The history (fixed authors and dates, so the shas are the same on every machine):
//
//	initial            the shop at web 1.4.0 on env/dev, env/staging and env/prod
//	dev-web-1.5        env/dev: web 1.4.0 → 1.5.0
//	staging-promotion  env/staging: a stagegate promotion of dev-web-1.5
//	dev-theme          env/dev: the dark theme and a longer cart timeout
//
// so a plan shows one unpromoted commit for staging and the web upgrade for prod.
func Seed(dir string) (Seeded, error) {
	s := Seeded{
		Repo:    filepath.Join(dir, "shop.git"),
		Config:  filepath.Join(dir, "stagegate.yaml"),
		Commits: map[string]string{},
	}
	abs, err := filepath.Abs(s.Repo)
	if err != nil {
		return s, err
	}
	s.URL = "file://" + filepath.ToSlash(abs)
	if _, err := os.Stat(s.Repo); err == nil {
		return s, fmt.Errorf("seed %s: it already exists; remove it or choose another directory", s.Repo)
	}
	if err := seedRepo(&s); err != nil {
		return s, fmt.Errorf("seed %s: %w", s.Repo, err)
	}
	cfg, err := files.ReadFile("stagegate.yaml")
	if err != nil {
		return s, err
	}
	cfg, err = replaceOnce(cfg, "file:///tmp/stagegate-demo/shop.git", s.URL)
	if err != nil {
		return s, fmt.Errorf("examples/stagegate.yaml: %w", err)
	}
	return s, os.WriteFile(s.Config, cfg, 0o644)
}

// author writes the history; each commit is a minute after the one before.
type author struct {
	r    *git.Repository
	wt   *git.Worktree
	when time.Time
}

func (a *author) sig(name string) *object.Signature {
	a.when = a.when.Add(time.Minute)
	return &object.Signature{Name: name, Email: strings.ToLower(name) + "@shop.example", When: a.when}
}

func seedRepo(s *Seeded) error {
	a, initial, err := initRepo(s)
	if err != nil {
		return err
	}
	r := a.r
	if err := a.checkout("env/dev"); err != nil {
		return err
	}
	if err := a.edit("base/kustomization.yaml", `newTag: "1.4.0"`, `newTag: "1.5.0"`); err != nil {
		return err
	}
	web15, err := a.commit("Bob", "web: 1.5.0 with the new checkout page")
	if err != nil {
		return err
	}
	s.Commits["dev-web-1.5"] = web15.String()

	promo, err := a.promotion(web15, initial, "env/dev", "staging")
	if err != nil {
		return err
	}
	s.Commits["staging-promotion"] = promo.String()
	if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("env/staging"), promo)); err != nil {
		return err
	}

	if err := a.edit("base/kustomization.yaml", "THEME=classic", "THEME=dark"); err != nil {
		return err
	}
	if err := a.edit("base/cart.yaml", `{name: REDIS_ADDR, value: "redis:6379"}`, `{name: REDIS_ADDR, value: "redis:6379"}`+"\n            - {name: REDIS_TIMEOUT, value: 2s}"); err != nil {
		return err
	}
	theme, err := a.commit("Carol", "web: dark theme; cart: 2s Redis timeout")
	if err != nil {
		return err
	}
	s.Commits["dev-theme"] = theme.String()

	return bare(r)
}

// initRepo writes the shop as the first commit of a new repository at s.Repo, with env/dev,
// env/staging and env/prod all at it.
func initRepo(s *Seeded) (*author, plumbing.Hash, error) {
	// The objects go straight into the bare repository; the worktree lives in memory only.
	st := filesystem.NewStorage(osfs.New(s.Repo), cache.NewObjectLRUDefault())
	r, err := git.Init(st, memfs.New())
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	a := &author{r: r, wt: wt, when: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)}
	if err := copyTree(wt.Filesystem, "shop"); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	initial, err := a.commit("Alice", "Initial shop deployment\n\nweb 1.4.0, cart 2.1.3, redis 7.2.5 in dev, staging and prod.")
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	s.Commits["initial"] = initial.String()
	for _, b := range Branches {
		if err := r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(b), initial)); err != nil {
			return nil, plumbing.ZeroHash, err
		}
	}
	return a, initial, nil
}

// bare leaves a plain bare repository: HEAD on env/dev, no master, core.bare set.
func bare(r *git.Repository) error {
	if err := r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("env/dev"))); err != nil {
		return err
	}
	if err := r.Storer.RemoveReference(plumbing.Master); err != nil {
		return err
	}
	cfg, err := r.Config()
	if err != nil {
		return err
	}
	cfg.Core.IsBare = true
	cfg.Core.Worktree = ""
	return r.SetConfig(cfg)
}

func (a *author) commit(name, msg string) (plumbing.Hash, error) {
	if err := a.wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return plumbing.ZeroHash, err
	}
	sig := a.sig(name)
	return a.wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
}

func (a *author) checkout(branch string) error {
	return a.wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch)})
}

func (a *author) edit(file, old, new string) error {
	b, err := readFile(a.wt.Filesystem, file)
	if err != nil {
		return err
	}
	b, err = replaceOnce(b, old, new)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return writeFile(a.wt.Filesystem, file, b)
}

// promotion writes a commit the way stagegate promotes: the source's tree on the target's head,
// with a Stagegate-Source trailer.
func (a *author) promotion(source, parent plumbing.Hash, sourceBranch, env string) (plumbing.Hash, error) {
	src, err := a.r.CommitObject(source)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	sig := a.sig("stagegate")
	c := &object.Commit{
		Author:       *sig,
		Committer:    *sig,
		Message:      fmt.Sprintf("Promote %s to %s\n\n%s\n\nStagegate-Source: %s@%s\n", source.String()[:7], env, src.Message, sourceBranch, source),
		TreeHash:     src.TreeHash,
		ParentHashes: []plumbing.Hash{parent},
	}
	obj := a.r.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return a.r.Storer.SetEncodedObject(obj)
}

// copyTree copies the embedded folder root into the worktree's root.
func copyTree(dst billy.Filesystem, root string) error {
	return fs.WalkDir(files, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(dst, strings.TrimPrefix(p, root+"/"), b)
	})
}

func readFile(fsys billy.Filesystem, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(f)
	return b.Bytes(), err
}

func writeFile(fsys billy.Filesystem, name string, b []byte) error {
	if err := fsys.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := fsys.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replaceOnce replaces the one occurrence of old; the seed must fail loudly if the sample
// files change under it.
func replaceOnce(b []byte, old, new string) ([]byte, error) {
	if n := bytes.Count(b, []byte(old)); n != 1 {
		return nil, fmt.Errorf("want exactly one %q, found %d", old, n)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1), nil
}
