package render

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/hasher"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
)

// sandbox walks the kustomization graph before kustomize runs and refuses what stagegate must
// never do: fetch remote bases or files (kustomize would clone with git or GET over HTTP as soon
// as it met them), read outside the repository, or run helm when Options.Helm is off. It checks
// every path of every kustomization it reaches and of every generator, transformer and validator
// configuration they name, inline or in a file. Checking first also gives errors that name the
// file, the line and the entry, where kustomize's own messages name only absolute paths deep in a
// wrapped chain.
//
// It parses each kustomization with kustomize's own Unmarshal and FixKustomization, and each
// plugin configuration with kustomize's own resource parser, so it reads every entry exactly the
// way kustomize will.
//
// The sandbox is the only thing between a build and the network, and it can only be that because
// it knows every field: kustomize gives no way to keep its loader offline. krusty.Kustomizer.Run
// makes its own loader (api/internal/loader.NewLoader, internal, with no option to replace it);
// that loader's Load GETs any http(s) path with a bare http.Client{} (its http field is unexported
// and never set; no timeout, no context), and its New clones any Git URL by running git. Neither
// goes through the filesystem Build gives kustomize, so treeFS cannot refuse them, and changing
// http.DefaultTransport or the git environment would change them for the whole process. In place
// of that second line of defence, TestSandboxKnowsEveryField fails when a kustomize upgrade adds a
// field (of a kustomization or of a builtin plugin) the sandbox has not classified. Deployments
// should still deny the agent egress beyond its forge and chart repositories.
type sandbox struct {
	tree  fs.FS
	files map[string][]byte // served instead of the tree (see treeFS.files)
	path  string            // the directory being rendered, for errors
	opts  Options

	seen map[string]bool
	// openAPI is set when some kustomization names an openapi schema: kyaml keeps the schema in
	// a process-wide variable, so such a build must run alone (see build.go).
	openAPI bool
	// helmHomes are the chart directories helm reads and pulls into, and the additional values
	// files kustomize passes helm by their path on disk (Options.Helm only).
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
	// FixKustomization folds bases into resources, env into envs and helmChartInflationGenerator
	// into helmCharts and helmGlobals, as kustomize does; the deprecated helm entries are checked
	// as written too, so that errors name the field the user wrote.
	deprecatedHelm := k.HelmChartInflationGenerator
	k.FixKustomization()

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
	c.plugins("generators", k.Generators)
	c.plugins("transformers", k.Transformers)
	c.plugins("validators", k.Validators)
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
	if len(k.HelmCharts) > 0 {
		c.helm(&k, deprecatedHelm)
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
)

// check collects the first problem of one kustomization file.
type check struct {
	s    *sandbox
	dir  string
	file string
	data []byte
	err  error
}

func (c *check) fail(entry string, err error) { c.failIn(c.file, c.data, entry, err) }

// failIn records a problem found in another file than the kustomization: a plugin configuration.
func (c *check) failIn(file string, data []byte, entry string, err error) {
	if c.err == nil {
		c.err = &Error{Path: c.s.path, File: file, Line: lineOf(data, entry), Entry: entry, Err: err}
	}
}

// pathProblem says why field's entry, a path relative to dir, must not be used: it is remote,
// absolute or leaves the repository. It is nil for a path inside the repository.
func pathProblem(field, dir, entry string) error {
	if isRemote(entry) {
		return fmt.Errorf("%s: remote bases and files are not allowed; stagegate renders only what is in the repository, so vendor it into the repository", field)
	}
	if path.IsAbs(entry) {
		return fmt.Errorf("%s: absolute paths are not allowed; use a path relative to %s", field, dir)
	}
	if p := path.Join(dir, entry); p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("%s: path leaves the repository", field)
	}
	return nil
}

// ref checks one entry of field; kind says what the entry may be.
func (c *check) ref(field, entry string, kind refKind) {
	if entry == "" || c.err != nil {
		return
	}
	if kind == inlineOrFile {
		if _, ok := inline(entry); ok {
			return
		}
	}
	if err := pathProblem(field, c.dir, entry); err != nil {
		c.fail(entry, err)
		return
	}
	if kind == pathOnly || kind == inlineOrFile {
		return
	}
	p := path.Join(c.dir, entry)
	fi, err := fs.Stat(c.s.tree, p)
	switch {
	case kind == fileOnly && err == nil && fi.IsDir():
		c.fail(entry, fmt.Errorf("%s: %s is a directory, not a file", field, p))
	case (kind == fileOnly || kind == existing) && err == nil:
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

// plugins checks field's generator, transformer or validator entries. kustomize takes an entry
// for inline configuration when it parses as resources, and otherwise for a file (or directory)
// of configurations. The builtin plugin each configuration selects then loads the paths it names
// (patches, file sources, replacement lists) through kustomize's file loader, which GETs any
// http(s) path. So every configuration is parsed here, inline or from its file, and each path
// it names gets the checks the kustomization's own paths get.
func (c *check) plugins(field string, entries []string) {
	for _, entry := range entries {
		if c.err != nil {
			return
		}
		if configs, ok := inline(entry); ok {
			for _, r := range configs {
				c.config(field, c.file, c.data, r)
			}
			continue
		}
		if err := pathProblem(field, c.dir, entry); err != nil {
			c.fail(entry, err)
			return
		}
		p := path.Join(c.dir, entry)
		fi, err := fs.Stat(c.s.tree, p)
		switch {
		case err != nil:
			c.fail(entry, fmt.Errorf("%s: %s is neither a file in the repository nor valid inline configuration", field, p))
		case fi.IsDir():
			// kustomize would build the directory's kustomization and use its output as
			// configurations; what that output holds (after its own patches and replacements) is
			// only known once kustomize has run, too late to refuse a remote path in it.
			c.fail(entry, fmt.Errorf("%s: %s is a directory; list its configuration files here instead, so stagegate can check them before kustomize runs", field, p))
		default:
			data, err := fs.ReadFile(c.s.tree, p)
			if err != nil {
				c.fail(entry, fmt.Errorf("%s: %w", field, err))
				return
			}
			configs, err := configFactory().SliceFromBytes(data)
			if err != nil {
				c.failIn(p, data, "", fmt.Errorf("%s: %w", field, err))
				return
			}
			for _, r := range configs {
				c.config(field, p, data, r)
			}
		}
	}
}

// pathKeys are the fields of kustomize's builtin plugin configurations that name a file the plugin
// loads: path (PatchTransformer, PatchJson6902Transformer, and each of ReplacementTransformer's
// replacements), paths (PatchStrategicMergeTransformer), files, envs and env (ConfigMapGenerator,
// SecretGenerator) and targetFilePath (ValueAddTransformer). They are matched at any depth, so a
// path field kustomize nests somewhere new is still checked; the other fields named path
// (fieldSpecs' "metadata/labels") pass the checks.
var pathKeys = map[string]bool{"path": true, "paths": true, "files": true, "envs": true, "env": true, "targetFilePath": true}

// config checks one plugin configuration read from file (data is the file's content).
func (c *check) config(field, file string, data []byte, r *resource.Resource) {
	if c.err != nil {
		return
	}
	if kind := r.GetKind(); kind == "HelmChartInflationGenerator" {
		c.failIn(file, data, kind, fmt.Errorf("%s: a HelmChartInflationGenerator configuration is not allowed; inflate charts with the kustomization's helmCharts field, which stagegate checks and runs only with the environment's helm option (render.Options.Helm)", field))
		return
	}
	m, err := r.Map()
	if err != nil {
		c.failIn(file, data, "", fmt.Errorf("%s: %w", field, err))
		return
	}
	walkStrings(m, "", func(key, value string) {
		if c.err != nil || !pathKeys[key] || value == "" {
			return
		}
		if _, ok := inline(value); ok && key == "paths" {
			return // an inline patch
		}
		entries := []string{value}
		if _, p, ok := strings.Cut(value, "="); ok && key == "files" {
			entries = []string{p, value} // "key=path"
		}
		for _, e := range entries {
			if err := pathProblem(field+" "+r.GetKind()+"."+key, c.dir, e); err != nil {
				c.failIn(file, data, e, err)
				return
			}
		}
	})
}

// walkStrings calls fn with every string in v and the key of the map entry holding it (a list's
// strings get the list's key).
func walkStrings(v any, key string, fn func(key, value string)) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			walkStrings(v[k], k, fn)
		}
	case []any:
		for _, e := range v {
			walkStrings(e, key, fn)
		}
	case string:
		fn(key, v)
	}
}

// inline parses entry the way kustomize decides whether a generator, transformer, validator or
// strategic-merge patch entry is inline YAML (it parses as resources) or a path (it does not).
func inline(entry string) ([]*resource.Resource, bool) {
	rs, err := configFactory().SliceFromBytes([]byte(entry))
	return rs, err == nil
}

// configFactory is kustomize's own resource parser, so plugin configurations are read exactly as
// kustomize reads them: several documents, and List items, each one configuration.
func configFactory() *resource.Factory { return resource.NewFactory(&hasher.Hasher{}) }

// helm refuses helmCharts unless Options.Helm, and otherwise checks every path helm or kustomize's
// helm generator will use and records the chart home: the helm binary reads (and pulls into) real
// directories, so Build must give it some. deprecated is helmChartInflationGenerator as written,
// which FixKustomization has folded into helmCharts and helmGlobals.
func (c *check) helm(k *types.Kustomization, deprecated []types.HelmChartArgs) {
	field, chart := "helmChartInflationGenerator", ""
	if len(k.HelmCharts) > len(deprecated) {
		field, chart = "helmCharts", k.HelmCharts[0].Name
	} else if len(deprecated) > 0 {
		chart = deprecated[0].ChartName
	}
	if !c.s.opts.Helm {
		c.fail(field, fmt.Errorf("chart %q: Helm inflation is off; turn it on with the environment's helm option (render.Options.Helm)", chart))
		return
	}
	const configHome = "helm's configuration home holds repository credentials and caches, outside the repository; stagegate gives helm a fresh one for each build, so remove the field"
	for _, d := range deprecated {
		f := "helmChartInflationGenerator"
		c.chart(f+".chartName", d.ChartName, f+".chartVersion", d.ChartVersion, f+".chartRepoUrl", d.ChartRepoURL)
		c.ref(f+".chartHome", d.ChartHome, pathOnly)
		c.ref(f+".values", d.Values, pathOnly)
		if d.HelmHome != "" {
			c.fail(d.HelmHome, fmt.Errorf("%s.helmHome: %s", f, configHome))
		}
	}
	if k.HelmGlobals != nil && k.HelmGlobals.ConfigHome != "" {
		c.fail(k.HelmGlobals.ConfigHome, fmt.Errorf("helmGlobals.configHome: %s", configHome))
	}
	home := types.HelmDefaultHome
	if k.HelmGlobals != nil && k.HelmGlobals.ChartHome != "" {
		home = k.HelmGlobals.ChartHome
	}
	c.ref("helmGlobals.chartHome", home, pathOnly)
	for _, h := range k.HelmCharts {
		c.chart("helmCharts.name", h.Name, "helmCharts.version", h.Version, "helmCharts.repo", h.Repo)
		c.ref("helmCharts.valuesFile", h.ValuesFile, pathOnly)
		for _, f := range h.AdditionalValuesFiles {
			c.ref("helmCharts.additionalValuesFiles", f, pathOnly)
		}
	}
	if c.err == nil {
		c.s.helmHomes = append(c.s.helmHomes, path.Join(c.dir, home))
		for _, h := range k.HelmCharts {
			for _, f := range h.AdditionalValuesFiles {
				c.s.helmHomes = append(c.s.helmHomes, path.Join(c.dir, f))
			}
		}
	}
}

// chart checks a chart's name and version, which kustomize joins onto the chart home to find the
// chart's directory (<home>/<name>, or <home>/<name>-<version>/<name> for a chart from a
// repository): either could otherwise point helm anywhere on the disk. The repository, which helm
// pulls from, must be a network one (https, http, oci): a file:// or path repository is the host's.
func (c *check) chart(nameField, name, versionField, version, repoField, repo string) {
	if c.err != nil {
		return
	}
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		c.fail(name, fmt.Errorf("%s: chart name %q must be one directory name, the chart's directory in the chart home", nameField, name))
		return
	}
	if repo != "" && strings.ContainsAny(version, `/\`) {
		c.fail(version, fmt.Errorf("%s: chart %q: version %q must not contain a slash", versionField, name, version))
	}
	if s := strings.ToLower(repo); repo != "" && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "oci://") {
		c.fail(repo, fmt.Errorf("%s: chart %q: repository %q must be an https://, http:// or oci:// URL; keep a local chart in the chart home instead", repoField, name, repo))
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
