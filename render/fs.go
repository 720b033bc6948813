package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// treeFS shows kustomize a repository tree (an fs.FS) as a read-only kyaml filesystem.
//
// Kustomize thinks in absolute OS paths, so the tree appears at root: "/" normally, which makes
// escaping it impossible by construction (filepath.Clean("/../etc") is "/etc", the tree's "etc").
// When Helm inflation needs a real directory for the helm binary, root is a temporary directory
// instead, and paths outside it are refused. Files are read from the tree on demand, never
// copied, so rendering one overlay of a large repository reads only what that overlay uses.
//
// files holds content served in place of (or in addition to) the tree: the top kustomization
// rewritten to turn on origin annotations, and the kustomization generated for a plain directory.
type treeFS struct {
	tree  fs.FS
	root  string
	files map[string][]byte // repository-relative path → content
	disk  []string          // directories materialised under root for helm, read from disk
}

// src is where tree path r is read from: the tree, or the disk for what helm reads (materialize).
func (t *treeFS) src(r string) fs.FS {
	for _, d := range t.disk {
		if within(r, d) {
			return os.DirFS(t.root)
		}
	}
	return t.tree
}

var _ filesys.FileSystem = (*treeFS)(nil)

var errReadOnly = errors.New("the repository tree is read-only")

// rel maps a kustomize path (absolute, or relative to root) to a tree path ("." for the root).
func (t *treeFS) rel(p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(t.root, p)
	}
	r, err := filepath.Rel(t.root, filepath.Clean(p))
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the repository", p)
	}
	return filepath.ToSlash(r), nil
}

// abs maps a tree path back to the path kustomize sees.
func (t *treeFS) abs(r string) string { return filepath.Join(t.root, filepath.FromSlash(r)) }

func (t *treeFS) stat(p string) (fs.FileInfo, string, error) {
	r, err := t.rel(p)
	if err != nil {
		return nil, "", err
	}
	if b, ok := t.files[r]; ok {
		return fileInfo{name: path.Base(r), size: int64(len(b))}, r, nil
	}
	fi, err := fs.Stat(t.src(r), r)
	return fi, r, err
}

func (t *treeFS) Create(p string) (filesys.File, error) { return nil, pathErr("create", p) }
func (t *treeFS) Mkdir(p string) error                  { return pathErr("mkdir", p) }
func (t *treeFS) MkdirAll(p string) error               { return pathErr("mkdir", p) }
func (t *treeFS) RemoveAll(p string) error              { return pathErr("remove", p) }
func (t *treeFS) WriteFile(p string, _ []byte) error    { return pathErr("write", p) }

func pathErr(op, p string) error { return &fs.PathError{Op: op, Path: p, Err: errReadOnly} }

func (t *treeFS) Open(p string) (filesys.File, error) {
	b, err := t.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &file{Reader: bytes.NewReader(b), info: fileInfo{name: filepath.Base(p), size: int64(len(b))}}, nil
}

func (t *treeFS) IsDir(p string) bool {
	fi, _, err := t.stat(p)
	return err == nil && fi.IsDir()
}

func (t *treeFS) Exists(p string) bool {
	_, _, err := t.stat(p)
	return err == nil
}

func (t *treeFS) ReadDir(p string) ([]string, error) {
	r, err := t.rel(p)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(t.src(r), r)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
		seen[e.Name()] = true
	}
	for f := range t.files {
		if path.Dir(f) == r && !seen[path.Base(f)] {
			names = append(names, path.Base(f))
		}
	}
	sort.Strings(names)
	return names, nil
}

// CleanedAbs splits a path into its directory and file, the way kyaml's on-disk filesystem does,
// but returns an error where that one calls log.Fatal.
func (t *treeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	fi, r, err := t.stat(p)
	if err != nil {
		return "", "", err
	}
	if fi.IsDir() {
		return filesys.ConfirmedDir(t.abs(r)), "", nil
	}
	return filesys.ConfirmedDir(t.abs(path.Dir(r))), path.Base(r), nil
}

func (t *treeFS) Glob(pattern string) ([]string, error) {
	r, err := t.rel(pattern)
	if err != nil {
		return nil, err
	}
	matches, err := fs.Glob(t.tree, r)
	if err != nil {
		return nil, err
	}
	for f := range t.files {
		if ok, _ := path.Match(r, f); ok && !slices.Contains(matches, f) {
			matches = append(matches, f)
		}
	}
	sort.Strings(matches)
	for i, m := range matches {
		matches[i] = t.abs(m)
	}
	return matches, nil
}

func (t *treeFS) ReadFile(p string) ([]byte, error) {
	r, err := t.rel(p)
	if err != nil {
		return nil, err
	}
	if b, ok := t.files[r]; ok {
		return bytes.Clone(b), nil
	}
	b, err := fs.ReadFile(t.src(r), r)
	if err != nil {
		// Name the path kustomize asked for, not the tree path, so its messages stay consistent.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, &fs.PathError{Op: "read", Path: p, Err: pe.Err}
		}
		return nil, err
	}
	return b, nil
}

func (t *treeFS) Walk(p string, fn filepath.WalkFunc) error {
	r, err := t.rel(p)
	if err != nil {
		return err
	}
	return fs.WalkDir(t.tree, r, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return fn(t.abs(q), nil, err)
		}
		fi, err := d.Info()
		return fn(t.abs(q), fi, err)
	})
}

// file is an open, read-only file of the tree.
type file struct {
	*bytes.Reader
	info fileInfo
}

func (f *file) Write([]byte) (int, error)  { return 0, errReadOnly }
func (f *file) Close() error               { return nil }
func (f *file) Stat() (os.FileInfo, error) { return f.info, nil }

// fileInfo describes a file served from treeFS.files.
type fileInfo struct {
	name string
	size int64
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return 0o444 }
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return nil }
