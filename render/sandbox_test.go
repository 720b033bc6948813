package render

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/types"
)

// TestBuildNeverFetches gives kustomize every field that takes a path a URL of a live HTTP server
// that serves valid content and counts requests. kustomize's file loader GETs any http(s) path
// with a client stagegate cannot replace (see sandbox), so the sandbox must refuse each one before
// kustomize runs: every case must fail naming the file and the entry, and the server must see no
// request at all.
func TestBuildNeverFetches(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, ".txt"):
			w.Write([]byte("fetched-from-the-network\n"))
		case strings.HasSuffix(r.URL.Path, ".env"):
			w.Write([]byte("FETCHED=yes\n"))
		default: // a patch, a schema or a replacement list: all parse as YAML
			w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {fetched: \"yes\"}\n"))
		}
	}))
	defer srv.Close()
	u := func(name string) string { return srv.URL + "/" + name }
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
	meta := "apiVersion: builtin\nmetadata: {name: x}\n"

	tests := []struct {
		name  string
		files map[string]string // under app/; cm.yaml is always there
		opts  Options
		want  []string // substrings of the error besides the URL; the first is the file at fault
		url   string   // the entry the error must name
	}{{
		name:  "an inline PatchTransformer with a remote path",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\ntransformers:\n" + inlineItem(meta+"kind: PatchTransformer\npath: "+u("p.yaml")+"\n")},
		want:  []string{"app/kustomization.yaml:7", "transformers", "remote"},
		url:   u("p.yaml"),
	}, {
		name: "a PatchTransformer file with a remote path",
		files: map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             meta + "kind: PatchTransformer\npath: " + u("p.yaml") + "\n",
		},
		want: []string{"app/t.yaml:4", "transformers", "remote"},
		url:  u("p.yaml"),
	}, {
		name: "a ConfigMapGenerator file with a remote file source",
		files: map[string]string{
			"kustomization.yaml": "generators: [g.yaml]\n",
			"g.yaml":             meta + "kind: ConfigMapGenerator\nfiles: [" + u("f.txt") + "]\n",
		},
		want: []string{"app/g.yaml", "generators", "remote"},
		url:  u("f.txt"),
	}, {
		name: "an inline SecretGenerator with a key=remote file source",
		files: map[string]string{
			"kustomization.yaml": "generators:\n" + inlineItem(meta+"kind: SecretGenerator\nfiles: [k="+u("f.txt")+"]\n"),
		},
		want: []string{"app/kustomization.yaml", "generators", "remote"},
		url:  u("f.txt"),
	}, {
		name: "a ConfigMapGenerator with a remote env file, in the second document of a file",
		files: map[string]string{
			"kustomization.yaml": "generators: [g.yaml]\n",
			"g.yaml":             meta + "kind: ConfigMapGenerator\nliterals: [a=b]\n---\napiVersion: builtin\nmetadata: {name: y}\nkind: ConfigMapGenerator\nenv: " + u("e.env") + "\n",
		},
		want: []string{"app/g.yaml:9", "remote"},
		url:  u("e.env"),
	}, {
		name: "a ConfigMapGenerator with remote envs inside a List",
		files: map[string]string{
			"kustomization.yaml": "generators: [g.yaml]\n",
			"g.yaml":             "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(meta, "\n", "\n  ") + "kind: ConfigMapGenerator\n  envs: [" + u("e.env") + "]\n",
		},
		want: []string{"app/g.yaml", "remote"},
		url:  u("e.env"),
	}, {
		name: "a PatchStrategicMergeTransformer with a remote path",
		files: map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             meta + "kind: PatchStrategicMergeTransformer\npaths: [" + u("p.yaml") + "]\n",
		},
		want: []string{"app/t.yaml", "remote"},
		url:  u("p.yaml"),
	}, {
		name: "a PatchJson6902Transformer with a remote path",
		files: map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             meta + "kind: PatchJson6902Transformer\ntarget: {kind: ConfigMap, name: cm}\npath: " + u("op.yaml") + "\n",
		},
		want: []string{"app/t.yaml", "remote"},
		url:  u("op.yaml"),
	}, {
		name: "a ReplacementTransformer with a remote replacements path",
		files: map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             meta + "kind: ReplacementTransformer\nreplacements:\n- path: " + u("r.yaml") + "\n",
		},
		want: []string{"app/t.yaml:5", "remote"},
		url:  u("r.yaml"),
	}, {
		name: "a ValueAddTransformer with a remote targetFilePath",
		files: map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             meta + "kind: ValueAddTransformer\nvalue: v\ntargetFilePath: " + u("targets.yaml") + "\n",
		},
		want: []string{"app/t.yaml", "remote"},
		url:  u("targets.yaml"),
	}, {
		name:  "an inline validator with a remote path",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\nvalidators:\n" + inlineItem(meta+"kind: PatchTransformer\npath: "+u("p.yaml")+"\n")},
		want:  []string{"app/kustomization.yaml", "validators", "remote"},
		url:   u("p.yaml"),
	}, {
		name:  "a remote transformer config file",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [" + u("t.yaml") + "]\n"},
		want:  []string{"app/kustomization.yaml:2", "remote"},
		url:   u("t.yaml"),
	}, {
		name:  "a remote openapi schema",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\nopenapi:\n  path: " + u("schema.json") + "\n"},
		want:  []string{"app/kustomization.yaml:3", "openapi", "remote"},
		url:   u("schema.json"),
	}, {
		name:  "a remote CRD file",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\ncrds: [" + u("crd.yaml") + "]\n"},
		want:  []string{"app/kustomization.yaml:2", "crds", "remote"},
		url:   u("crd.yaml"),
	}, {
		name:  "a remote configurations file",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\nconfigurations: [" + u("c.yaml") + "]\n"},
		want:  []string{"app/kustomization.yaml:2", "configurations", "remote"},
		url:   u("c.yaml"),
	}, {
		name:  "a remote replacements file",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\nreplacements:\n- path: " + u("r.yaml") + "\n"},
		want:  []string{"app/kustomization.yaml:3", "replacements", "remote"},
		url:   u("r.yaml"),
	}, {
		name:  "a remote patchesStrategicMerge file with a brace in its name",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\npatchesStrategicMerge:\n- " + u("{p}.yaml") + "\n"},
		want:  []string{"app/kustomization.yaml:3", "patchesStrategicMerge", "remote"},
		url:   u("{p}.yaml"),
	}, {
		name:  "a remote configMapGenerator env",
		files: map[string]string{"kustomization.yaml": "configMapGenerator:\n- name: c\n  env: " + u("e.env") + "\n"},
		want:  []string{"app/kustomization.yaml:3", "envs", "remote"},
		url:   u("e.env"),
	}, {
		name:  "a remote helm values file with helm on",
		files: map[string]string{"kustomization.yaml": "helmCharts:\n- name: hello\n  valuesFile: " + u("values.yaml") + "\n"},
		opts:  Options{Helm: true},
		want:  []string{"app/kustomization.yaml:3", "valuesFile", "remote"},
		url:   u("values.yaml"),
	}, {
		name:  "a remote additional helm values file with helm on",
		files: map[string]string{"kustomization.yaml": "helmCharts:\n- name: hello\n  additionalValuesFiles: [" + u("values.yaml") + "]\n"},
		opts:  Options{Helm: true},
		want:  []string{"app/kustomization.yaml:3", "additionalValuesFiles", "remote"},
		url:   u("values.yaml"),
	}, {
		name:  "a remote values file in the deprecated helmChartInflationGenerator with helm on",
		files: map[string]string{"kustomization.yaml": "helmChartInflationGenerator:\n- chartName: hello\n  values: " + u("values.yaml") + "\n"},
		opts:  Options{Helm: true},
		want:  []string{"app/kustomization.yaml:3", "helmChartInflationGenerator", "remote"},
		url:   u("values.yaml"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := requests.Load()
			tree := fstest.MapFS{"app/cm.yaml": {Data: []byte(cm)}}
			for name, data := range tt.files {
				tree["app/"+name] = &fstest.MapFile{Data: []byte(data)}
			}
			objs, err := Build(context.Background(), tree, "app", tt.opts)
			if n := requests.Load() - before; n != 0 {
				t.Errorf("the build made %d HTTP requests; want none", n)
			}
			if err == nil {
				t.Fatalf("Build = %d objects, want an error:\n%s", len(objs), objs.YAML())
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Errorf("error %T is not a *render.Error: %v", err, err)
			}
			t.Log(err)
			for _, w := range append(tt.want, `"`+tt.url+`"`) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestBuildPluginConfigs covers what the sandbox refuses in generator, transformer and validator
// configs besides URLs, and that it still lets ordinary ones through.
func TestBuildPluginConfigs(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"
	meta := "apiVersion: builtin\nmetadata: {name: x}\n"
	tests := []struct {
		name  string
		files map[string]string // under app/; cm.yaml is always there
		opts  Options
		want  []string // substrings of the error; none means the build must succeed
	}{{
		name: "a PatchTransformer path leaving the repository",
		files: map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [t.yaml]\n",
			"t.yaml":             meta + "kind: PatchTransformer\npath: ../../../etc/passwd\n",
		},
		want: []string{"app/t.yaml:4", `"../../../etc/passwd"`, "leaves the repository"},
	}, {
		name: "an absolute ConfigMapGenerator file source",
		files: map[string]string{
			"kustomization.yaml": "generators:\n" + inlineItem(meta+"kind: ConfigMapGenerator\nfiles: [hostname=/etc/hostname]\n"),
		},
		want: []string{"app/kustomization.yaml", `"/etc/hostname"`, "absolute"},
	}, {
		name: "a HelmChartInflationGenerator config, even with helm on",
		files: map[string]string{
			"kustomization.yaml": "generators: [g.yaml]\n",
			"g.yaml":             meta + "kind: HelmChartInflationGenerator\nname: hello\nchartHome: /tmp\n",
		},
		opts: Options{Helm: true},
		want: []string{"app/g.yaml", "HelmChartInflationGenerator", "helmCharts"},
	}, {
		name: "an inline HelmChartInflationGenerator",
		files: map[string]string{
			"kustomization.yaml": "generators:\n" + inlineItem(meta+"kind: HelmChartInflationGenerator\nname: hello\n"),
		},
		want: []string{"app/kustomization.yaml", "HelmChartInflationGenerator"},
	}, {
		name: "a transformer directory",
		files: map[string]string{
			"kustomization.yaml":   "resources: [cm.yaml]\ntransformers: [t]\n",
			"t/kustomization.yaml": "resources: [t.yaml]\n",
			"t/t.yaml":             meta + "kind: PatchTransformer\npatch: '{\"metadata\": {\"labels\": {\"a\": \"b\"}}}'\ntarget: {kind: ConfigMap}\n",
		},
		want: []string{"app/kustomization.yaml:2", `"t"`, "directory"},
	}, {
		name:  "a transformer entry that is neither a file nor inline YAML",
		files: map[string]string{"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [missing.yaml]\n"},
		want:  []string{"app/kustomization.yaml:2", `"missing.yaml"`, "app/missing.yaml"},
	}, {
		name: "local plugin configs render",
		files: map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ngenerators: [g.yaml]\ntransformers:\n- t.yaml\n" + inlineItem(meta+"kind: PatchStrategicMergeTransformer\npaths:\n"+inlineItem("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, annotations: {docs: \"https://example.com/docs\"}}\n")),
			"g.yaml":             meta + "kind: ConfigMapGenerator\nfiles: [k=f.txt]\noptions: {disableNameSuffixHash: true}\n",
			"f.txt":              "local\n",
			"t.yaml":             meta + "kind: PatchTransformer\npath: p.yaml\n",
			"p.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, labels: {patched: \"yes\"}}\n",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := fstest.MapFS{"app/cm.yaml": {Data: []byte(cm)}}
			for name, data := range tt.files {
				tree["app/"+name] = &fstest.MapFile{Data: []byte(data)}
			}
			objs, err := Build(context.Background(), tree, "app", tt.opts)
			t.Log(err)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(objs) != 2 {
					t.Errorf("got %d objects, want the ConfigMap and the generated one:\n%s", len(objs), objs.YAML())
				}
				return
			}
			if err == nil {
				t.Fatalf("Build = %d objects, want an error:\n%s", len(objs), objs.YAML())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestBuildHelmPaths: with helm on, every path helm or the helm generator uses must stay in the
// repository, and helm's config home (credentials, repository list) is never the user's to set.
// The sandbox refuses these before helm runs, so no helm binary is needed.
func TestBuildHelmPaths(t *testing.T) {
	tests := []struct {
		name, kustomization string
		want                []string
	}{
		{"a chart name with a slash", "helmCharts:\n- name: ../../../etc\n", []string{"app/kustomization.yaml:2", "helmCharts", `"../../../etc"`, "name"}},
		{"a chart name with a directory", "helmCharts:\n- name: sub/hello\n", []string{"helmCharts", `"sub/hello"`}},
		{"a chart name of dots", "helmCharts:\n- name: ..\n", []string{"helmCharts", `".."`}},
		{"a chart version that is a path", "helmCharts:\n- name: hello\n  repo: https://charts.example.com\n  version: ../../x\n", []string{"helmCharts.version", `"../../x"`}},
		{"an absolute chart home", "helmGlobals:\n  chartHome: /etc\nhelmCharts:\n- name: hello\n", []string{"app/kustomization.yaml:2", "chartHome", "absolute"}},
		{"a chart home leaving the repository", "helmGlobals:\n  chartHome: ../../..\nhelmCharts:\n- name: hello\n", []string{"chartHome", "leaves the repository"}},
		{"a chart repository on the host", "helmCharts:\n- name: hello\n  repo: file:///etc/helm\n", []string{"app/kustomization.yaml:3", "helmCharts.repo", `"file:///etc/helm"`}},
		{"a deprecated generator's chart repository on the host", "helmChartInflationGenerator:\n- chartName: hello\n  chartRepoUrl: /srv/charts\n", []string{"helmChartInflationGenerator.chartRepoUrl", `"/srv/charts"`}},
		{"a helm config home", "helmGlobals:\n  configHome: /root/.config/helm\nhelmCharts:\n- name: hello\n", []string{"app/kustomization.yaml:2", "configHome"}},
		{"an absolute values file", "helmCharts:\n- name: hello\n  valuesFile: /etc/passwd\n", []string{"app/kustomization.yaml:3", "valuesFile", "absolute"}},
		{"a deprecated generator's absolute chart home", "helmChartInflationGenerator:\n- chartName: hello\n  chartHome: /tmp\n", []string{"app/kustomization.yaml:3", "helmChartInflationGenerator", "chartHome", "absolute"}},
		{"a deprecated generator's chart home leaving the repository", "helmChartInflationGenerator:\n- chartName: hello\n  chartHome: ../..\n", []string{"helmChartInflationGenerator", "leaves the repository"}},
		{"a deprecated generator's helm home", "helmChartInflationGenerator:\n- chartName: hello\n  helmHome: /root/.config/helm\n", []string{"helmChartInflationGenerator", "helmHome"}},
		{"a deprecated generator's chart name with a slash", "helmChartInflationGenerator:\n- chartName: ../x\n", []string{"helmChartInflationGenerator", `"../x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := fstest.MapFS{"app/kustomization.yaml": {Data: []byte(tt.kustomization)}}
			objs, err := Build(context.Background(), tree, "app", Options{Helm: true})
			if err == nil {
				t.Fatalf("Build = %d objects, want an error", len(objs))
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestMaterializeCopiesNoLinks: the chart directories helm reads are copied through the tree's
// own reads. A symlink in a chart must never become a link on disk (helm would follow it to a
// host file): one leaving the tree fails the build, one inside it is copied as the file it names.
func TestMaterializeCopiesNoLinks(t *testing.T) {
	chart := "app/charts/hello/"
	tree := fstest.MapFS{
		chart + "Chart.yaml":           {Data: []byte("apiVersion: v2\nname: hello\nversion: 0.1.0\n")},
		chart + "values.yaml":          {Data: []byte("../../common/values.yaml"), Mode: fs.ModeSymlink},
		"app/common/values.yaml":       {Data: []byte("greeting: hello\n")},
		chart + "templates/cm.yaml":    {Data: []byte("kind: ConfigMap\n")},
		chart + "templates/hostname":   {Data: []byte("/etc/hostname"), Mode: fs.ModeSymlink},
		chart + "templates/up/escaped": {Data: []byte("../../../../../../../etc/hostname"), Mode: fs.ModeSymlink},
	}

	t.Run("a link leaving the tree fails, naming it", func(t *testing.T) {
		tf := &treeFS{tree: tree, root: "/", files: map[string][]byte{}}
		cleanup, err := tf.materialize([]string{"app/charts"})
		defer cleanup()
		if err == nil || !strings.Contains(err.Error(), chart+"templates/") {
			t.Errorf("materialize = %v, want an error naming the link", err)
		}
		assertNoLinks(t, tf.root)
	})

	delete(tree, chart+"templates/hostname")
	delete(tree, chart+"templates/up/escaped")
	t.Run("a link inside the tree is copied as a file", func(t *testing.T) {
		tf := &treeFS{tree: tree, root: "/", files: map[string][]byte{}}
		cleanup, err := tf.materialize([]string{"app/charts"})
		defer cleanup()
		if err != nil {
			t.Fatal(err)
		}
		assertNoLinks(t, tf.root)
		b, err := os.ReadFile(filepath.Join(tf.root, "app/charts/hello/values.yaml"))
		if err != nil || string(b) != "greeting: hello\n" {
			t.Errorf("values.yaml = %q, %v; want the linked file's content", b, err)
		}
	})
}

// inlineItem is doc as a YAML list item holding a literal block, the way inline plugin configs
// and patches are written in a kustomization.
func inlineItem(doc string) string {
	return "- |\n  " + strings.ReplaceAll(strings.TrimSuffix(doc, "\n"), "\n", "\n  ") + "\n"
}

func assertNoLinks(t *testing.T, root string) {
	t.Helper()
	if root == "/" {
		return // nothing was materialised
	}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			t.Errorf("materialize created a symlink %s -> %s", p, target)
		}
		return err
	})
}

// TestSandboxKnowsEveryField is the guard for the sandbox's one weakness: it must know every
// kustomize field that names a path or URL, because kustomize's loader cannot be kept off the
// network (see sandbox). It lists every string field of the Kustomization type and of the builtin
// plugins' configurations, by reflection, and fails on any field it has not been told about: after
// a kustomize upgrade, decide whether the new field names a file or URL, check it in the sandbox
// if so (sandbox.visit, pathKeys), and add it to one of the lists below.
func TestSandboxKnowsEveryField(t *testing.T) {
	kustomization := map[string]bool{ // the sandbox checks these as paths
		"resources[]": true, "bases[]": true, "components[]": true, "crds[]": true, "configurations[]": true,
		"generators[]": true, "transformers[]": true, "validators[]": true, "openapi{}": true,
		"patches[].path": true, "patchesJson6902[].path": true, "patchesStrategicMerge[]": true, "replacements[].path": true,
		"configMapGenerator[].env": true, "configMapGenerator[].envs[]": true, "configMapGenerator[].files[]": true,
		"secretGenerator[].env": true, "secretGenerator[].envs[]": true, "secretGenerator[].files[]": true,
		"helmGlobals.chartHome": true, "helmGlobals.configHome": true,
		"helmCharts[].name": true, "helmCharts[].version": true, "helmCharts[].repo": true,
		"helmCharts[].valuesFile": true, "helmCharts[].additionalValuesFiles[]": true,
		"helmChartInflationGenerator[].chartName": true, "helmChartInflationGenerator[].chartVersion": true,
		"helmChartInflationGenerator[].chartRepoUrl": true, "helmChartInflationGenerator[].chartHome": true,
		"helmChartInflationGenerator[].helmHome": true, "helmChartInflationGenerator[].values": true,
	}
	kustomizationNotPaths := []string{
		"apiVersion", "kind", "metadata.", "namePrefix", "nameSuffix", "namespace", "commonLabels{}", "commonAnnotations{}",
		"labels[].", "images[].", "imageTags[].", "replicas[].", "vars[].", "sortOptions.", "buildMetadata[]", "generatorOptions.",
		"patches[].patch", "patches[].target.", "patchesJson6902[].patch", "patchesJson6902[].target.",
		"replacements[].source", "replacements[].targets[].",
		"configMapGenerator[].behavior", "configMapGenerator[].literals[]", "configMapGenerator[].name", "configMapGenerator[].namespace", "configMapGenerator[].options.",
		"secretGenerator[].behavior", "secretGenerator[].literals[]", "secretGenerator[].name", "secretGenerator[].namespace", "secretGenerator[].options.", "secretGenerator[].type",
		"helmCharts[].apiVersions[]", "helmCharts[].kubeVersion", "helmCharts[].nameTemplate", "helmCharts[].namespace", "helmCharts[].releaseName", "helmCharts[].valuesMerge",
		// Not used by kustomize's helm generator (SplitHelmParameters drops them).
		"helmChartInflationGenerator[].chartRepoName", "helmChartInflationGenerator[].extraArgs[]", "helmChartInflationGenerator[].helmBin",
		"helmChartInflationGenerator[].releaseName", "helmChartInflationGenerator[].releaseNamespace", "helmChartInflationGenerator[].valuesMerge",
	}
	checkFields(t, "Kustomization", reflect.TypeOf(types.Kustomization{}), kustomization, kustomizationNotPaths)

	plugins := map[string]bool{}
	for k, ok := range pathKeys {
		plugins[k] = ok
		plugins[k+"[]"] = ok
	}
	plugins["replacements[].path"] = true
	pluginNotPaths := []string{
		"apiVersion", "kind", "metadata.", "name", "namespace", "behavior", "literals[]", "options.", "type", "annotations{}", "labels{}",
		"fieldSpecs[].", "target.", "targets[].", "replacements[].source", "replacements[].targets[].", "imageTag.", "replica.",
		"patch", "patches", "jsonOp", "prefix", "suffix", "value", "cloud", "kubernetesService.", "serviceAccount.", "setRoleBindingSubjects",
	}
	for _, p := range []any{
		builtins.AnnotationsTransformerPlugin{}, builtins.ConfigMapGeneratorPlugin{}, builtins.HashTransformerPlugin{},
		builtins.IAMPolicyGeneratorPlugin{}, builtins.ImageTagTransformerPlugin{}, builtins.LabelTransformerPlugin{},
		builtins.NamespaceTransformerPlugin{}, builtins.PatchJson6902TransformerPlugin{}, builtins.PatchStrategicMergeTransformerPlugin{},
		builtins.PatchTransformerPlugin{}, builtins.PrefixTransformerPlugin{}, builtins.SuffixTransformerPlugin{},
		builtins.ReplacementTransformerPlugin{}, builtins.ReplicaCountTransformerPlugin{}, builtins.SecretGeneratorPlugin{},
		builtins.ValueAddTransformerPlugin{},
		// HelmChartInflationGeneratorPlugin is refused as a plugin configuration (see check.config).
	} {
		checkFields(t, reflect.TypeOf(p).Name(), reflect.TypeOf(p), plugins, pluginNotPaths)
	}
}

func checkFields(t *testing.T, typ string, rt reflect.Type, paths map[string]bool, notPaths []string) {
	t.Helper()
	fields := map[string]bool{}
	stringFields(rt, "", fields)
	for f := range fields {
		known := paths[f]
		for _, n := range notPaths {
			known = known || f == n || (strings.HasSuffix(n, ".") || strings.HasSuffix(n, "source")) && strings.HasPrefix(f, n)
		}
		if !known {
			t.Errorf("%s field %s is new to the sandbox: if it names a file or URL, check it; then list it here", typ, f)
		}
	}
}

// stringFields collects the JSON paths of the string fields of t ("patches[].path").
func stringFields(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		out[prefix] = true
	case reflect.Slice, reflect.Array:
		stringFields(t.Elem(), prefix+"[]", out)
	case reflect.Map:
		stringFields(t.Elem(), prefix+"{}", out)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			p := prefix
			if name != "" || !f.Anonymous { // an embedded struct without a name is inlined
				if name == "" {
					name = f.Name
				}
				if p != "" {
					p += "."
				}
				p += name
			}
			stringFields(f.Type, p, out)
		}
	}
}

// TestMaterializeValuesFiles: kustomize passes helm additional values files by their path under the
// build's root, so materialize puts them on disk too, once even when a chart home holds them, and
// treeFS then reads them from there.
func TestMaterializeValuesFiles(t *testing.T) {
	tree := fstest.MapFS{
		"app/charts/hello/Chart.yaml":  {Data: []byte("apiVersion: v2\nname: hello\nversion: 0.1.0\n")},
		"app/charts/hello/values.yaml": {Data: []byte("a: 1\n")},
		"app/values/prod.yaml":         {Data: []byte("b: 2\n")},
	}
	tf := &treeFS{tree: tree, root: "/", files: map[string][]byte{}}
	cleanup, err := tf.materialize([]string{"app/values/prod.yaml", "app/charts/hello/values.yaml", "app/charts", "app/pulled"})
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"app/values/prod.yaml": "b: 2\n", "app/charts/hello/values.yaml": "a: 1\n"} {
		if b, err := os.ReadFile(filepath.Join(tf.root, p)); err != nil || string(b) != want {
			t.Errorf("%s on disk = %q, %v; want %q", p, b, err, want)
		}
		if _, ok := tf.src(p).(fstest.MapFS); ok {
			t.Errorf("%s is read from the tree, not from the copy helm reads", p)
		}
	}
	if fi, err := os.Stat(filepath.Join(tf.root, "app/pulled")); err != nil || !fi.IsDir() {
		t.Errorf("the chart home helm pulls into is missing: %v", err)
	}
}
