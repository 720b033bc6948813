package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
)

// sandbox walks the kustomization graph before kustomize runs and refuses what stagegate must
// never do: fetch remote bases or files (kustomize would clone with git or GET over HTTP as soon
// as it met them), read outside the repository, or run helm when Options.Helm is off. Checking
// first also gives errors that name the kustomization file, the line and the entry, where
// kustomize's own messages name only absolute paths deep in a wrapped chain.
//
// It parses each kustomization with kustomize's own Unmarshal and FixKustomization, so it reads
// every entry exactly the way kustomize will.
type sandbox struct {
	tree  fs.FS
	files map[string][]byte // served instead of the tree (see treeFS.files)
	path  string            // the directory being rendered, for errors
	opts  Options

	seen map[string]bool
	// openAPI is set when some kustomization names an openapi schema: kyaml keeps the schema in
	// a process-wide variable, so such a build must run alone (see build.go).
	openAPI bool
	// helmHomes are the chart directories helm reads and pulls into (Options.Helm only).
	helmHomes []string
}

// kustomizationFile finds dir's kustomization: its repository path and content, or "" when the
// directory has none. Several of them is an error, as in kustomize.
func kustomizationFile(tree fs.FS, files map[string][]byte, dir string) (string, []byte, error) {
	var found string
	var data []byte
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		b, ok := files[p]
		if !ok {
			fi, err := fs.Stat(tree, p)
			if err != nil || fi.IsDir() {
				continue
			}
			if b, err = fs.ReadFile(tree, p); err != nil {
				return "", nil, err
			}
		}
		if found != "" {
			return "", nil, fmt.Errorf("found both %s and %s: keep one", found, p)
		}
		found, data = p, b
	}
	return found, data, nil
}

// visit checks dir's kustomization and, recursively, every local directory it refers to.
func (s *sandbox) visit(dir string) error {
	if s.seen[dir] {
		return nil
	}
	s.seen[dir] = true
	file, data, err := kustomizationFile(s.tree, s.files, dir)
	if err != nil {
		return &Error{Path: s.path, File: dir, Err: err}
	}
	if file == "" {
		return &Error{Path: s.path, File: dir, Err: errors.New("directory has no kustomization.yaml")}
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return &Error{Path: s.path, File: file, Err: err}
	}
	k.FixKustomization() // folds bases into resources and env into envs, as kustomize does

	c := check{s: s, dir: dir, file: file, data: data}
	for _, r := range k.Resources {
		c.ref("resources", r, fileOrDir)
	}
	for _, r := range k.Components {
		c.ref("components", r, dirOnly)
	}
	for _, r := range k.Crds {
		c.ref("crds", r, fileOnly)
	}
	for _, r := range k.Configurations {
		c.ref("configurations", r, fileOnly)
	}
	for _, r := range k.Generators {
		c.ref("generators", r, inlineOrAny)
	}
	for _, r := range k.Transformers {
		c.ref("transformers", r, inlineOrAny)
	}
	for _, r := range k.Validators {
		c.ref("validators", r, inlineOrAny)
	}
	for _, p := range k.PatchesStrategicMerge {
		c.ref("patchesStrategicMerge", string(p), inlineOrFile)
	}
	for _, p := range k.Patches {
		c.ref("patches", p.Path, fileOnly)
	}
	for _, p := range k.PatchesJson6902 {
		c.ref("patchesJson6902", p.Path, fileOnly)
	}
	for _, r := range k.Replacements {
		c.ref("replacements", r.Path, fileOnly)
	}
	var kv []types.KvPairSources
	for _, g := range k.ConfigMapGenerator {
		kv = append(kv, g.KvPairSources)
	}
	for _, g := range k.SecretGenerator {
		kv = append(kv, g.KvPairSources)
	}
	for _, src := range kv {
		for _, f := range src.FileSources {
			_, p, _ := strings.Cut(f, "=") // "key=path" or "path"
			if p == "" {
				p = f
			}
			c.ref("files", p, existing)
		}
		for _, f := range src.EnvSources {
			c.ref("envs", f, existing)
		}
	}
	if len(k.OpenAPI) > 0 {
		s.openAPI = true
		c.ref("openapi", k.OpenAPI["path"], fileOnly)
	}
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 {
		c.helm(&k)
	}
	return c.err
}

type refKind int

const (
	fileOnly     refKind = iota // a file kustomize loads
	pathOnly                    // a path that may not exist yet (helm pulls charts into it)
	existing                    // a generator source: a file, or a directory kustomize judges
	fileOrDir                   // a resource: a file, or a directory with a kustomization
	dirOnly                     // a component
	inlineOrFile                // a patch given inline or as a file
	inlineOrAny                 // a generator, transformer or validator: inline, file or directory
)

// check collects the first problem of one kustomization file.
type check struct {
	s    *sandbox
	dir  string
	file string
	data []byte
	err  error
}

func (c *check) fail(entry string, err error) {
	if c.err == nil {
		c.err = &Error{Path: c.s.path, File: c.file, Line: lineOf(c.data, entry), Entry: entry, Err: err}
	}
}

// ref checks one entry of field; kind says what the entry may be.
func (c *check) ref(field, entry string, kind refKind) {
	if entry == "" || c.err != nil {
		return
	}
	if (kind == inlineOrFile || kind == inlineOrAny) && strings.ContainsAny(entry, "\n{") {
		return // inline YAML or JSON, not a path
	}
	if isRemote(entry) {
		c.fail(entry, fmt.Errorf("%s: remote bases and files are not allowed; stagegate renders only what is in the repository, so vendor it into the repository", field))
		return
	}
	if path.IsAbs(entry) {
		c.fail(entry, fmt.Errorf("%s: absolute paths are not allowed; use a path relative to %s", field, c.dir))
		return
	}
	p := path.Join(c.dir, entry)
	if p == ".." || strings.HasPrefix(p, "../") {
		c.fail(entry, fmt.Errorf("%s: path leaves the repository", field))
		return
	}
	if kind == pathOnly || kind == inlineOrFile {
		return
	}
	fi, err := fs.Stat(c.s.tree, p)
	switch {
	case kind == fileOnly && err == nil && fi.IsDir():
		c.fail(entry, fmt.Errorf("%s: %s is a directory, not a file", field, p))
	case (kind == fileOnly || kind == existing) && err == nil:
	case err != nil && kind == inlineOrAny:
		return // kustomize reads it as inline config and says what is wrong
	case err != nil:
		c.fail(entry, fmt.Errorf("%s: %s does not exist", field, p))
	case fi.IsDir():
		if err := c.s.visit(p); err != nil {
			var re *Error
			if errors.As(err, &re) && re.File == p { // the directory itself has no kustomization
				c.fail(entry, fmt.Errorf("%s: %s: %w", field, p, re.Err))
				return
			}
			c.err = err
		}
	case kind == dirOnly:
		c.fail(entry, fmt.Errorf("%s: %s is a file; a component is a directory with a kustomization.yaml", field, p))
	}
}

// helm refuses helmCharts unless Options.Helm, and otherwise records where helm will look for
// charts: the helm binary reads (and pulls into) real directories, so Build must give it some.
func (c *check) helm(k *types.Kustomization) {
	field, chart := "helmChartInflationGenerator", ""
	if len(k.HelmChartInflationGenerator) > 0 {
		chart = k.HelmChartInflationGenerator[0].ChartName
	}
	if len(k.HelmCharts) > 0 {
		field, chart = "helmCharts", k.HelmCharts[0].Name
	}
	if !c.s.opts.Helm {
		c.fail(field, fmt.Errorf("chart %q: Helm inflation is off; turn it on with the environment's helm option (render.Options.Helm)", chart))
		return
	}
	home := types.HelmDefaultHome
	if k.HelmGlobals != nil && k.HelmGlobals.ChartHome != "" {
		home = k.HelmGlobals.ChartHome
	}
	c.ref("helmGlobals.chartHome", home, pathOnly)
	for _, h := range k.HelmCharts {
		c.ref("helmCharts.valuesFile", h.ValuesFile, pathOnly)
		for _, f := range h.AdditionalValuesFiles {
			c.ref("helmCharts.additionalValuesFiles", f, pathOnly)
		}
	}
	if c.err == nil {
		c.s.helmHomes = append(c.s.helmHomes, path.Join(c.dir, home))
	}
}

// userAt is a scp-style "user@host:" prefix, which kustomize takes for a Git repository.
var userAt = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote reports whether kustomize would fetch entry over the network: it clones anything
// with a URL scheme (https://, ssh://, file://), a "user@host:" prefix or a github.com/ prefix,
// and GETs http(s) files. A query ("?ref=v1") only means something to the Git fetcher, so an
// entry carrying one is remote too even when kustomize would not recognise the host.
func isRemote(entry string) bool {
	s := strings.ToLower(strings.TrimSpace(entry))
	s = strings.TrimPrefix(s, "git::")
	return strings.Contains(s, "://") ||
		userAt.MatchString(s) ||
		strings.HasPrefix(s, "github.com/") || strings.HasPrefix(s, "github.com:") ||
		strings.Contains(s, "?")
}
