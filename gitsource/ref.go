package gitsource

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Refs other than branches: the local forge keeps its records under refs/stagegate/forge, a
// commit whose tree is the records and whose history is their audit trail. These methods read,
// write and push such a ref the way Sync, WritePromotion and Push do branches.

// SyncRef brings the mirror's copy of ref (a full ref name, "refs/stagegate/forge") up to the
// remote's and returns its sha, "" when the remote has no such ref (the mirror's copy, if any,
// is then deleted). An unchanged ref costs one ref advertisement and no fetch.
func (m *Mirror) SyncRef(ctx context.Context, ref string) (string, error) {
	name := plumbing.ReferenceName(ref)
	if err := name.Validate(); err != nil || !strings.HasPrefix(ref, "refs/") {
		return "", fmt.Errorf("sync ref %q: not a full ref name such as refs/stagegate/forge", ref)
	}
	remote, err := m.listRefs(ctx)
	if err != nil {
		return "", err
	}
	want := remote[ref]
	err = m.write(ctx, func() error {
		local := ""
		if r, err := m.repo.Storer.Reference(name); err == nil {
			local = r.Hash().String()
		}
		switch {
		case want == local:
			return nil
		case want == "":
			return m.repo.Storer.RemoveReference(name)
		}
		spec := gitconfig.RefSpec("+" + ref + ":" + ref)
		if err := m.fetch(ctx, []gitconfig.RefSpec{spec}); err != nil {
			return err
		}
		r, err := m.repo.Storer.Reference(name)
		if err != nil {
			return fmt.Errorf("mirror has no %s after fetch: %w", ref, err)
		}
		// The remote may have moved between the listing and the fetch: the fetched one is newer.
		want = r.Hash().String()
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("sync %s of %s: %w", ref, m.url, err)
	}
	return want, nil
}

// PushRef is Push for any full ref name: the remote's ref is set to sha only if it is at expect
// ("" for absent) now, else a *LeaseError. Branches may be given as refs/heads/<name>.
func (m *Mirror) PushRef(ctx context.Context, ref, sha, expect string) error {
	name := plumbing.ReferenceName(ref)
	if err := name.Validate(); err != nil || !strings.HasPrefix(ref, "refs/") {
		return fmt.Errorf("push: %q is not a full ref name such as refs/stagegate/forge", ref)
	}
	if expect != "" && !isFullSHA(expect) {
		return fmt.Errorf("push %s: expected %q is not a full sha", ref, expect)
	}
	err := m.write(ctx, func() error {
		h, err := m.resolve(sha)
		if err != nil {
			return err
		}
		return m.push(ctx, name, h, plumbing.NewHash(expect))
	})
	if err != nil {
		return fmt.Errorf("push %s to %s: %w", ref, m.url, err)
	}
	m.log.Debug("pushed", "ref", ref, "sha", sha, "expected", expect)
	return nil
}

// NewCommit describes a commit WriteCommit makes.
type NewCommit struct {
	// Tree is the commit whose tree the new commit takes (anything Resolve accepts), unless Files
	// is set.
	Tree string
	// Files, when not nil, is the whole tree instead: slash paths to contents, regular files.
	Files map[string][]byte
	// Parents, in order (anything Resolve accepts); none for a root commit.
	Parents []string
	Message string
	// Author is also the committer; empty fields default to DefaultAuthorName,
	// DefaultAuthorEmail and the current time.
	Author Signature
}

// WriteCommit writes the commit c into the mirror (objects only: no ref moves) and returns its
// sha. PushRef or Push puts it on the remote.
func (m *Mirror) WriteCommit(ctx context.Context, c NewCommit) (string, error) {
	var sha string
	err := m.write(ctx, func() error {
		var tree plumbing.Hash
		if c.Files != nil {
			h, err := m.writeTree(c.Files)
			if err != nil {
				return err
			}
			tree = h
		} else {
			src, err := m.commitObject(c.Tree)
			if err != nil {
				return fmt.Errorf("tree: %w", err)
			}
			tree = src.TreeHash
		}
		commit := &object.Commit{Message: c.Message, TreeHash: tree}
		for _, p := range c.Parents {
			h, err := m.resolve(p)
			if err != nil {
				return fmt.Errorf("parent: %w", err)
			}
			commit.ParentHashes = append(commit.ParentHashes, h)
		}
		sig := object.Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When}
		if sig.Name == "" {
			sig.Name = DefaultAuthorName
		}
		if sig.Email == "" {
			sig.Email = DefaultAuthorEmail
		}
		if sig.When.IsZero() {
			sig.When = time.Now()
		}
		commit.Author, commit.Committer = sig, sig
		h, err := m.store(commit)
		sha = h.String()
		return err
	})
	if err != nil {
		return "", fmt.Errorf("write commit into the mirror of %s: %w", m.url, err)
	}
	return sha, nil
}

type encoder interface {
	Encode(plumbing.EncodedObject) error
}

// store writes an object unless the mirror has it; the caller holds the write lock.
func (m *Mirror) store(o encoder) (plumbing.Hash, error) {
	obj := m.repo.Storer.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h := obj.Hash()
	if m.repo.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	return m.repo.Storer.SetEncodedObject(obj)
}

// writeTree writes files (slash paths → contents) as nested trees and returns the root's hash.
func (m *Mirror) writeTree(files map[string][]byte) (plumbing.Hash, error) {
	type dir struct {
		files map[string][]byte
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string][]byte{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, content := range files {
		clean := path.Clean(p)
		if clean != p || p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == "." {
			return plumbing.ZeroHash, fmt.Errorf("write tree: path %q is not a clean relative slash path", p)
		}
		parts := strings.Split(p, "/")
		d := root
		for _, part := range parts[:len(parts)-1] {
			if d.dirs[part] == nil {
				d.dirs[part] = newDir()
			}
			d = d.dirs[part]
		}
		d.files[parts[len(parts)-1]] = content
	}
	var write func(d *dir) (plumbing.Hash, error)
	write = func(d *dir) (plumbing.Hash, error) {
		var entries []object.TreeEntry
		for name, content := range d.files {
			if d.dirs[name] != nil {
				return plumbing.ZeroHash, fmt.Errorf("write tree: %s is both a file and a directory", name)
			}
			blob := m.repo.Storer.NewEncodedObject()
			blob.SetType(plumbing.BlobObject)
			w, err := blob.Writer()
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if _, err := w.Write(content); err != nil {
				return plumbing.ZeroHash, err
			}
			if err := w.Close(); err != nil {
				return plumbing.ZeroHash, err
			}
			h := blob.Hash()
			if m.repo.Storer.HasEncodedObject(h) != nil {
				if _, err := m.repo.Storer.SetEncodedObject(blob); err != nil {
					return plumbing.ZeroHash, err
				}
			}
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
		}
		for name, sub := range d.dirs {
			h, err := write(sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// Git sorts entries by name, a directory's name as if it ended in "/".
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
		return m.store(&object.Tree{Entries: entries})
	}
	return write(root)
}

// Files returns every regular file in the tree of the commit rev (anything Resolve accepts,
// "refs/stagegate/forge" included): slash paths to contents. For small trees of records, not
// for a repository's manifests (Tree reads those lazily).
func (m *Mirror) Files(rev string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := m.read(func() error {
		c, err := m.commitObject(rev)
		if err != nil {
			return err
		}
		t, err := c.Tree()
		if err != nil {
			return err
		}
		clear(out)
		return t.Files().ForEach(func(f *object.File) error {
			s, err := f.Contents()
			if err != nil {
				return err
			}
			out[f.Name] = []byte(s)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read files of %s in the mirror of %s: %w", rev, m.url, err)
	}
	return out, nil
}

// IsAncestor reports whether commit a is b or one of b's ancestors (both anything Resolve
// accepts), as `git merge-base --is-ancestor` does.
func (m *Mirror) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	var yes bool
	err := m.read(func() error {
		ca, err := m.commitObject(a)
		if err != nil {
			return err
		}
		cb, err := m.commitObject(b)
		if err != nil {
			return err
		}
		if ca.Hash == cb.Hash {
			yes = true
			return nil
		}
		iter := object.NewCommitPreorderIter(cb, nil, nil)
		defer iter.Close()
		stop := errors.New("found")
		err = iter.ForEach(func(c *object.Commit) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if c.Hash == ca.Hash {
				return stop
			}
			return nil
		})
		yes = errors.Is(err, stop)
		if yes {
			return nil
		}
		return err
	})
	return yes, err
}
