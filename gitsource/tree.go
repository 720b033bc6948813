package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrSymlinkOutside is wrapped by the error for a path that goes through a symlink whose target
// lies outside the tree (an absolute target, or one climbing above the root). Following it
// would read the machine stagegate runs on, not the commit.
var ErrSymlinkOutside = errors.New("symlink points outside the repository")

// maxSymlinks bounds how many symlinks one lookup follows, so a loop ends in an error; Linux
// uses the same number.
const maxSymlinks = 40

// Tree is a commit's tree as a read-only filesystem, with no working copy: directories and file
// contents are read from the mirror when asked for (contents on the first Read). It implements
// fs.FS, fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and fs.ReadLinkFS; names are slash paths relative
// to the repository root, "." being the root. It is safe for concurrent use.
//
// It follows os.DirFS's conventions: Open, Stat and ReadFile follow symlinks; ReadDir and Lstat
// report a symlink as one (fs.ModeSymlink), so fs.WalkDir does not descend into it. A symlink
// whose target stays inside the tree is followed; one whose target leaves the tree fails with an
// error naming the path and wrapping ErrSymlinkOutside. Submodules (gitlinks) appear as empty
// directories: their content lives in another repository, which stagegate does not fetch.
// Every entry's ModTime is the commit's commit time.
type Tree struct {
	m       *Mirror
	sha     plumbing.Hash // the commit
	root    plumbing.Hash // its tree
	modTime time.Time
	// trees caches decoded tree objects by hash. It is only touched inside m.read, which
	// serialises all access.
	trees map[plumbing.Hash]*object.Tree
}

var (
	_ fs.ReadDirFS  = (*Tree)(nil)
	_ fs.ReadFileFS = (*Tree)(nil)
	_ fs.StatFS     = (*Tree)(nil)
	_ fs.ReadLinkFS = (*Tree)(nil)
)

// Tree returns the tree of the commit rev (anything Resolve accepts) names.
func (m *Mirror) Tree(rev string) (*Tree, error) {
	var t *Tree
	err := m.read(func() error {
		c, err := m.commitObject(rev)
		if err != nil {
			return err
		}
		t = &Tree{m: m, sha: c.Hash, root: c.TreeHash, modTime: c.Committer.When, trees: map[plumbing.Hash]*object.Tree{}}
		return nil
	})
	return t, err
}

// SHA returns the commit's sha.
func (t *Tree) SHA() string { return t.sha.String() }

// Hash returns the tree's hash: two commits with the same Hash have identical content.
func (t *Tree) Hash() string { return t.root.String() }

// node is one resolved entry of the tree.
type node struct {
	name string // base name as asked for ("." for the root)
	mode filemode.FileMode
	hash plumbing.Hash // zero for a submodule
}

func (n node) isDir() bool { return n.mode == filemode.Dir || n.mode == filemode.Submodule }

// Open opens the named file or directory, following symlinks.
func (t *Tree) Open(name string) (fs.File, error) {
	var f fs.File
	err := t.m.read(func() error {
		n, err := t.lookup("open", name, true)
		if err != nil {
			return err
		}
		if n.isDir() {
			entries, err := t.dirEntries(n)
			if err != nil {
				return err
			}
			f = &dir{info: t.info(n, 0), entries: entries}
			return nil
		}
		size, err := t.m.repo.Storer.EncodedObjectSize(n.hash)
		if err != nil {
			return t.objectErr("open", name, err)
		}
		f = &file{t: t, hash: n.hash, path: name, info: t.info(n, size)}
		return nil
	})
	return f, err
}

// ReadFile reads the named file, following symlinks.
func (t *Tree) ReadFile(name string) ([]byte, error) {
	var data []byte
	err := t.m.read(func() error {
		n, err := t.lookup("readfile", name, true)
		if err != nil {
			return err
		}
		if n.isDir() {
			return &fs.PathError{Op: "readfile", Path: name, Err: errors.New("is a directory")}
		}
		data, err = t.blob(n.hash)
		if err != nil {
			return t.objectErr("readfile", name, err)
		}
		return nil
	})
	return data, err
}

// ReadDir lists the named directory, sorted by name. Symlinks are listed as symlinks.
func (t *Tree) ReadDir(name string) ([]fs.DirEntry, error) {
	var entries []fs.DirEntry
	err := t.m.read(func() error {
		n, err := t.lookup("readdir", name, true)
		if err != nil {
			return err
		}
		if !n.isDir() {
			return &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
		}
		entries, err = t.dirEntries(n)
		return err
	})
	return entries, err
}

// Stat describes the named file or directory, following symlinks.
func (t *Tree) Stat(name string) (fs.FileInfo, error) { return t.stat("stat", name, true) }

// Lstat describes the named entry without following a final symlink.
func (t *Tree) Lstat(name string) (fs.FileInfo, error) { return t.stat("lstat", name, false) }

func (t *Tree) stat(op, name string, follow bool) (fs.FileInfo, error) {
	var info fs.FileInfo
	err := t.m.read(func() error {
		n, err := t.lookup(op, name, follow)
		if err != nil {
			return err
		}
		var size int64
		if !n.isDir() {
			if size, err = t.m.repo.Storer.EncodedObjectSize(n.hash); err != nil {
				return t.objectErr(op, name, err)
			}
		}
		info = t.info(n, size)
		return nil
	})
	return info, err
}

// ReadLink returns the target of the named symlink as stored, without checking it.
func (t *Tree) ReadLink(name string) (string, error) {
	var target string
	err := t.m.read(func() error {
		n, err := t.lookup("readlink", name, false)
		if err != nil {
			return err
		}
		if n.mode != filemode.Symlink {
			return &fs.PathError{Op: "readlink", Path: name, Err: errors.New("not a symlink")}
		}
		b, err := t.blob(n.hash)
		target = string(b)
		return err
	})
	return target, err
}

// lookup walks name from the root, following symlinks in directories and, if follow, the last
// element. The caller holds the read lock.
func (t *Tree) lookup(op, name string, follow bool) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	rest := name
	dir, dirPath := t.root, "."
	for links := 0; ; {
		if rest == "." {
			return node{name: path.Base(name), mode: filemode.Dir, hash: t.root}, nil
		}
		elem, more, _ := strings.Cut(rest, "/")
		tree, err := t.tree(dir)
		if err != nil {
			return node{}, t.objectErr(op, name, err)
		}
		e, ok := findEntry(tree, elem)
		if !ok {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		p := path.Join(dirPath, elem)
		last := more == ""
		switch {
		case e.Mode == filemode.Symlink && (!last || follow):
			if links++; links > maxSymlinks {
				return node{}, &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symlinks")}
			}
			b, err := t.blob(e.Hash)
			if err != nil {
				return node{}, t.objectErr(op, name, err)
			}
			target := string(b)
			resolved := path.Join(path.Dir(p), target)
			if path.IsAbs(target) || resolved == ".." || strings.HasPrefix(resolved, "../") {
				return node{}, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%s -> %s: %w", p, target, ErrSymlinkOutside)}
			}
			// Start again from the root with the link replaced by its target.
			rest = path.Join(resolved, more)
			dir, dirPath = t.root, "."
			continue
		case last:
			return node{name: path.Base(name), mode: e.Mode, hash: e.Hash}, nil
		case e.Mode != filemode.Dir:
			// A file, or a submodule (an empty directory here), has no children.
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		dir, dirPath, rest = e.Hash, p, more
	}
}

func findEntry(t *object.Tree, name string) (object.TreeEntry, bool) {
	for _, e := range t.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return object.TreeEntry{}, false
}

// tree loads (and caches) a tree object; the caller holds the read lock.
func (t *Tree) tree(h plumbing.Hash) (*object.Tree, error) {
	if tr, ok := t.trees[h]; ok {
		return tr, nil
	}
	tr, err := object.GetTree(t.m.repo.Storer, h)
	if err != nil {
		return nil, err
	}
	t.trees[h] = tr
	return tr, nil
}

// blob reads a whole blob; the caller holds the read lock.
func (t *Tree) blob(h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(t.m.repo.Storer, h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// dirEntries lists a directory node, sorted by name (git orders "a.b" after "a/", fs does not).
func (t *Tree) dirEntries(n node) ([]fs.DirEntry, error) {
	if n.mode == filemode.Submodule {
		return []fs.DirEntry{}, nil
	}
	tree, err := t.tree(n.hash)
	if err != nil {
		return nil, t.objectErr("readdir", n.name, err)
	}
	entries := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		entries = append(entries, &dirEntry{t: t, n: node{name: e.Name, mode: e.Mode, hash: e.Hash}})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return entries, nil
}

// objectErr reports an object the mirror cannot read: the mirror is damaged or was pruned.
func (t *Tree) objectErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("commit %s in the mirror of %s: %w", t.sha, t.m.url, err)}
}

func (t *Tree) info(n node, size int64) fileInfo {
	return fileInfo{name: n.name, size: size, mode: fileMode(n.mode), modTime: t.modTime}
}

func fileMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir, filemode.Submodule:
		return fs.ModeDir | 0o755
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	}
	return 0o644
}

type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return i.modTime }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }

// dirEntry is a directory listing entry; its size is read only if Info is called.
type dirEntry struct {
	t *Tree
	n node
}

func (e *dirEntry) Name() string      { return e.n.name }
func (e *dirEntry) IsDir() bool       { return e.n.isDir() }
func (e *dirEntry) Type() fs.FileMode { return fileMode(e.n.mode).Type() }
func (e *dirEntry) String() string    { return fs.FormatDirEntry(e) }
func (e *dirEntry) Info() (fs.FileInfo, error) {
	var size int64
	if !e.n.isDir() {
		err := e.t.m.read(func() (err error) {
			size, err = e.t.m.repo.Storer.EncodedObjectSize(e.n.hash)
			return err
		})
		if err != nil {
			return nil, e.t.objectErr("stat", e.n.name, err)
		}
	}
	return e.t.info(e.n, size), nil
}

// file is an open regular file; its content is read from the mirror on the first Read.
type file struct {
	t    *Tree
	hash plumbing.Hash
	path string
	info fileInfo
	r    *bytes.Reader
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }

func (f *file) load() error {
	if f.r != nil {
		return nil
	}
	var data []byte
	err := f.t.m.read(func() (err error) {
		data, err = f.t.blob(f.hash)
		return err
	})
	if err != nil {
		return f.t.objectErr("read", f.path, err)
	}
	f.r = bytes.NewReader(data)
	return nil
}

func (f *file) Read(p []byte) (int, error) {
	if err := f.load(); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

// Seek and ReadAt let callers such as http.ServeContent use the file directly.
func (f *file) Seek(offset int64, whence int) (int64, error) {
	if err := f.load(); err != nil {
		return 0, err
	}
	return f.r.Seek(offset, whence)
}

func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.load(); err != nil {
		return 0, err
	}
	return f.r.ReadAt(p, off)
}

// dir is an open directory.
type dir struct {
	info    fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dir) Close() error               { return nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}
