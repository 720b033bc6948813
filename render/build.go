package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/yaml"
)

// Options tunes a build. The zero value is the safe default.
type Options struct {
	// Helm allows kustomize's helmCharts, which runs the helm binary (found on PATH) and lets it
	// pull charts from their repositories. Default false: a kustomization with helmCharts fails
	// with an error naming it.
	Helm bool
}

// Build renders the directory path of tree (slash-separated, relative to the repository root,
// "overlays/prod") and returns its objects in canonical order.
//
// A directory with a kustomization (kustomization.yaml, .yml or Kustomization) is built with
// kustomize in process, as `kustomize build` does with its default options (load restrictions
// root-only, builtin plugins only). A directory without one renders its YAML files the way Flux
// does (see plainKustomization). Each object's Source is the repository file it came from.
//
// Errors caused by the content are *Error. Build is safe for concurrent use.
func Build(ctx context.Context, tree fs.FS, dir string, opts Options) (objs Objects, err error) {
	// One bad commit must not take the agent down, whatever part of rendering it trips.
	defer func() {
		if r := recover(); r != nil {
			objs, err = nil, &Error{Path: dir, Err: fmt.Errorf("%w: %v", errPanic, r)}
		}
	}()
	return build(ctx, tree, dir, opts)
}

// errPanic marks a panic in stagegate's own rendering code (kustomize's are reported as such by
// run): a bug, which the fuzz target treats as a failure.
var errPanic = errors.New("render panicked; this is a stagegate bug, please report it")

func build(ctx context.Context, tree fs.FS, dir string, opts Options) (Objects, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := cleanDir(dir)
	if err != nil {
		return nil, err
	}
	fail := func(file string, err error) error { return &Error{Path: dir, File: file, Err: err} }
	if fi, err := fs.Stat(tree, dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fail("", errors.New("no such directory in the repository"))
		}
		return nil, fail("", err)
	} else if !fi.IsDir() {
		return nil, fail("", errors.New("not a directory; an environment's path names the directory holding its kustomization.yaml"))
	}

	t := &treeFS{tree: tree, root: "/", files: map[string][]byte{}}
	kfile, data, err := kustomizationFile(tree, nil, dir)
	if err != nil {
		return nil, fail(dir, err)
	}
	generated := kfile == ""
	if generated {
		kfile = path.Join(dir, "kustomization.yaml")
		if data, err = plainKustomization(tree, t.files, dir); err != nil {
			return nil, fail(dir, err)
		}
		t.files[kfile] = data
	}

	// The sandbox reads the user's kustomization, so its errors give the user's line numbers.
	sb := &sandbox{tree: tree, files: t.files, path: dir, opts: opts, seen: map[string]bool{}}
	if err := sb.visit(dir); err != nil {
		return nil, err
	}
	keepOrigins := false
	if !generated {
		if data, keepOrigins, err = withOrigins(data); err != nil {
			return nil, fail(kfile, err)
		}
		t.files[kfile] = data
	}
	if len(sb.helmHomes) > 0 {
		cleanup, err := t.materialize(sb.helmHomes)
		defer cleanup()
		if err != nil {
			return nil, fail(kfile, fmt.Errorf("preparing helm chart directories: %w", err))
		}
	}

	m, err := run(t, dir, opts, sb.openAPI)
	if err != nil {
		return nil, fail("", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	objs, err := objects(m, dir, keepOrigins)
	if err != nil {
		return nil, fail("", err)
	}
	objs.Sort()
	return objs, nil
}

// cleanDir turns the caller's path into a tree path, refusing one that leaves the tree.
func cleanDir(dir string) (string, error) {
	d := path.Clean(strings.TrimPrefix(dir, "./"))
	if d == "" || d == "/" {
		d = "."
	}
	if path.IsAbs(d) || d == ".." || strings.HasPrefix(d, "../") {
		return "", &Error{Path: dir, Err: errors.New("path must be relative to the repository root and stay inside it")}
	}
	return d, nil
}

// withOrigins turns on kustomize's origin annotations in the top kustomization, which records in
// config.kubernetes.io/origin the file each resource was read from, relative to the build
// directory. kustomize propagates the setting to every base and component. Build reads the
// annotation into Object.Source and removes it, so the output equals the plain CLI's, unless the
// user asked for the annotations (keep is then true).
//
// The kustomization is re-encoded from kustomize's own type, which kustomize decodes again the
// same way, so nothing else changes.
func withOrigins(data []byte) (out []byte, keep bool, err error) {
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return nil, false, err
	}
	for _, m := range k.BuildMetadata {
		if m == types.OriginAnnotations {
			return data, true, nil
		}
	}
	k.BuildMetadata = append(k.BuildMetadata, types.OriginAnnotations)
	out, err = yaml.Marshal(k)
	return out, false, err
}

// Kustomize keeps the OpenAPI schema (which tells strategic merge how to merge lists, and which
// kinds are cluster-scoped) in kyaml package variables. Its own lock covers the setters but not
// the readers: the first use parses the built-in schema into maps that other builds read
// unlocked (kustomize#4824, the reason Flux serialises builds), and a kustomization with an
// `openapi:` field replaces the schema for the whole process, then leaves it set for the next
// build. So: parse the schema once before any build; let ordinary builds run concurrently (they
// only read it); run a build that sets a schema alone, and restore the default after it.
var (
	schemaMu   sync.RWMutex
	schemaOnce sync.Once
)

func loadSchema() { _ = openapi.Schema() }

func run(t *treeFS, dir string, opts Options, setsSchema bool) (m resmap.ResMap, err error) {
	schemaOnce.Do(func() {
		schemaMu.Lock()
		defer schemaMu.Unlock()
		loadSchema()
	})
	if setsSchema {
		schemaMu.Lock()
		defer func() {
			openapi.ResetOpenAPI()
			loadSchema()
			schemaMu.Unlock()
		}()
	} else {
		schemaMu.RLock()
		defer schemaMu.RUnlock()
	}
	// Kustomize panics on some malformed input (kustomize's issues are full of them); one bad
	// commit must not take the agent down.
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("kustomize panicked: %v", r)
		}
	}()

	// Nothing here can keep kustomize off the network: krusty makes its own file loader, which GETs
	// http(s) paths and clones Git URLs itself (see sandbox). The sandbox has refused every such
	// path before this point.
	ko := krusty.MakeDefaultOptions() // root-only loading, builtin plugins only: exec and KRM functions off
	ko.PluginConfig = types.DisabledPluginConfig()
	if opts.Helm {
		ko.PluginConfig.HelmConfig.Enabled = true
		ko.PluginConfig.HelmConfig.Command = "helm"
	}
	return krusty.MakeKustomizer(ko).Run(t, t.abs(dir))
}

// originKey is the annotation withOrigins turns on.
const originKey = "config.kubernetes.io/origin"

// objects converts kustomize's resources, reading each one's source from its origin annotation.
func objects(m resmap.ResMap, dir string, keepOrigins bool) (Objects, error) {
	objs := make(Objects, 0, m.Size())
	for _, r := range m.Resources() {
		var o Object
		origin, err := r.GetOrigin()
		if err != nil {
			return nil, fmt.Errorf("%s: reading origin: %w", r.CurId(), err)
		}
		switch {
		case origin == nil || origin.Repo != "":
		case origin.Path != "":
			o.Source = path.Join(dir, origin.Path)
		case origin.ConfiguredIn != "": // generated: the kustomization that configured it
			o.Source = path.Join(dir, origin.ConfiguredIn)
		}
		objs = append(objs, o)
	}
	if !keepOrigins {
		if err := m.RemoveOriginAnnotations(); err != nil {
			return nil, err
		}
	}
	for i, r := range m.Resources() {
		// The CLI prints the same JSON, as YAML (Resource.AsYAML). It is also why an unquoted
		// 2024-05-01 comes out as the string "2024-05-01T00:00:00Z", in both.
		j, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		// apimachinery's JSON decoding gives unstructured's types: int64 for whole numbers.
		if err := utiljson.Unmarshal(j, &objs[i].Content); err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
	}
	return objs, nil
}

// materialize copies what the helm binary reads out of the tree into a temporary directory that
// becomes the tree's root: the chart directories, which helm reads charts from (and pulls charts
// into), and the additional values files, which kustomize hands helm by their path on disk. Only
// those are copied; everything else is still read from the tree.
func (t *treeFS) materialize(paths []string) (cleanup func(), err error) {
	root, err := os.MkdirTemp("", "stagegate-render-")
	if err != nil {
		return func() {}, err
	}
	cleanup = func() { os.RemoveAll(root) }
	paths = slices.Clone(paths)
	slices.SortFunc(paths, func(a, b string) int { return len(a) - len(b) }) // a directory before what it holds
	t.root, t.disk = root, nil
	for _, p := range paths {
		if slices.ContainsFunc(t.disk, func(d string) bool { return within(p, d) }) {
			continue // copied with its directory
		}
		t.disk = append(t.disk, p)
		fi, err := fs.Stat(t.tree, p)
		if err != nil {
			if err := os.MkdirAll(t.abs(p), 0o755); err != nil { // helm pulls the chart into it
				return cleanup, err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(t.abs(p)), 0o755); err != nil {
			return cleanup, err
		}
		if !fi.IsDir() {
			err = copyTree(t.tree, p, t.abs(p))
		} else if err = os.Mkdir(t.abs(p), 0o755); err == nil || errors.Is(err, fs.ErrExist) {
			err = copyTree(t.tree, p, t.abs(p))
		}
		if err != nil {
			return cleanup, err
		}
	}
	return cleanup, nil
}

// within reports whether tree path r is dir or inside it.
func within(r, dir string) bool { return dir == "." || r == dir || strings.HasPrefix(r, dir+"/") }

// copyTree copies directory dir of tree to the disk directory to, as directories and regular
// files only. It is not os.CopyFS: since Go 1.25 that recreates the symlinks of an fs.ReadLinkFS
// (gitsource.Tree is one), and helm would follow a chart's link to /etc/hostname on the host. Here
// a symlink is read through the tree, which refuses one leaving the repository (gitsource.Tree
// fails with ErrSymlinkOutside), and written as the file it names.
func copyTree(tree fs.FS, dir, to string) error {
	return fs.WalkDir(tree, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := p
		if dir != "." {
			rel = strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		}
		dst := filepath.Join(to, filepath.FromSlash(rel))
		switch {
		case d.IsDir() && p == dir:
			return nil // made by materialize
		case d.IsDir():
			return os.Mkdir(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			fi, err := fs.Stat(tree, p) // follows the link, inside the tree only
			if err != nil {
				return fmt.Errorf("chart file %s: %w", p, err)
			}
			if fi.IsDir() {
				return fmt.Errorf("chart file %s: a symlink to a directory; helm charts are copied out of the repository file by file, so replace the link with the directory", p)
			}
		case !d.Type().IsRegular():
			return fmt.Errorf("chart file %s: not a regular file (%s)", p, d.Type())
		}
		b, err := fs.ReadFile(tree, p)
		if err != nil {
			return fmt.Errorf("chart file %s: %w", p, err)
		}
		// O_EXCL: dst is new in a fresh directory; never write through something already there.
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}
