package render

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenCases are the directories of testdata/repo rendered by the golden and parity tests.
var goldenCases = []string{
	"base",             // configMapGenerator with hash suffix, labels with selectors
	"overlays/dev",     // namespace, namePrefix, images newTag
	"overlays/staging", // component, patch file, generator merge, CRD + custom resources
	"overlays/prod",    // strategic-merge and JSON 6902 patches, inline patch, secretGenerator, digest image, JSON input
	"crds",             // CRD with custom resources (floats, null, timestamp-like strings)
	"custom-schema",    // openapi: a custom schema drives strategic merge (runs alone, see build.go)
	"plain",            // no kustomization: rendered the way Flux does
}

func testRepo() fs.FS { return os.DirFS("testdata/repo") }

// goldenText is what a golden file holds: the digest, then each object's source and canonical YAML.
func goldenText(objs Objects) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# digest: %s\n", objs.Digest())
	for _, o := range objs {
		fmt.Fprintf(&b, "---\n# source: %s\n", o.Source)
		b.Write(o.YAML())
	}
	return b.Bytes()
}

func TestBuildGolden(t *testing.T) {
	for _, dir := range goldenCases {
		t.Run(dir, func(t *testing.T) {
			objs, err := Build(context.Background(), testRepo(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := goldenText(objs)
			file := filepath.Join("testdata", "golden", strings.ReplaceAll(dir, "/", "_")+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./render -run TestBuildGolden -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Build(%q) differs from %s (-want +got):\n%s", dir, file, diff)
			}
		})
	}
}

// TestBuildSources checks Object.Source for each way an object can come to be.
func TestBuildSources(t *testing.T) {
	objs, err := Build(context.Background(), testRepo(), "overlays/prod", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range objs {
		got[o.Kind()+" "+o.Name()] = o.Source
	}
	want := map[string]string{
		"Namespace shop-prod":                           "overlays/prod/namespace.yaml",
		"CustomResourceDefinition widgets.shop.acme.io": "crds/widget-crd.yaml",
		"Widget banner":                                 "crds/widgets.yaml",
		"Widget footer":                                 "crds/widgets.yaml",
		"Deployment web":                                "base/deployment.yaml",
		"Service web":                                   "base/service.yaml",
		"PodDisruptionBudget web":                       "overlays/prod/pdb.yaml",
		"ServiceMonitor web":                            "components/monitoring/servicemonitor.yaml",
		"ConfigMap " + nameOf(t, objs, "ConfigMap"):     "base/kustomization.yaml",
		"Secret " + nameOf(t, objs, "Secret"):           "overlays/prod/kustomization.yaml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
	for _, o := range objs {
		if _, ok := o.Annotations()[originKey]; ok {
			t.Errorf("%s keeps the %s annotation Build added", o.ID(), originKey)
		}
	}
}

func nameOf(t *testing.T, objs Objects, kind string) string {
	for _, o := range objs {
		if o.Kind() == kind {
			return o.Name()
		}
	}
	t.Fatalf("no %s rendered", kind)
	return ""
}

// TestBuildKeepsRequestedOrigins: a kustomization that asks for origin annotations gets them.
func TestBuildKeepsRequestedOrigins(t *testing.T) {
	tree := fstest.MapFS{
		"app/kustomization.yaml": {Data: []byte("buildMetadata: [originAnnotations]\nresources: [cm.yaml]\n")},
		"app/cm.yaml":            {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")},
	}
	objs, err := Build(context.Background(), tree, "app", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := objs[0].Annotations()[originKey], "path: cm.yaml\n"; got != want {
		t.Errorf("origin annotation = %q, want %q", got, want)
	}
}

// TestBuildContentTypes: Content uses unstructured's types, so code written against
// unstructured.Unstructured (and the gates) sees int64 and float64, never int or float32.
func TestBuildContentTypes(t *testing.T) {
	objs, err := Build(context.Background(), testRepo(), "crds", Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := objs.Index()[ID{Group: "shop.acme.io", Kind: "Widget", Name: "banner"}].Content["spec"].(map[string]any)
	want := map[string]any{
		"color": "blue", "weight": 1.5, "count": int64(3), "enabled": true,
		// kustomize (CLI included) re-encodes an unquoted date as an RFC 3339 timestamp.
		"launched": "2024-05-01T00:00:00Z", "tags": []any{"a", "b"}, "empty": nil,
	}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("Widget banner spec (-want +got):\n%s", diff)
	}
}

// TestBuildDigestIgnoresFormatting: the same objects written differently (JSON instead of YAML,
// keys and resources in another order, comments) give the same digest and sources.
func TestBuildDigestIgnoresFormatting(t *testing.T) {
	tree := mapFS(t, "testdata/repo")
	want, err := Build(context.Background(), tree, "overlays/prod", Options{})
	if err != nil {
		t.Fatal(err)
	}

	j, err := yaml.YAMLToJSON(tree["base/deployment.yaml"].Data)
	if err != nil {
		t.Fatal(err)
	}
	tree["base/deployment.yaml"] = &fstest.MapFile{Data: j}
	tree["base/kustomization.yaml"] = &fstest.MapFile{Data: []byte(`# reordered
configMapGenerator:
- literals: ["LOG_LEVEL=info"]
  files: [config.properties]
  name: shop-config
resources: [service.yaml, deployment.yaml]
labels:
- includeSelectors: true
  pairs: {app.kubernetes.io/name: shop}
`)}
	got, err := Build(context.Background(), tree, "overlays/prod", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != want.Digest() {
		t.Errorf("digest changed with formatting: %s, want %s\n%s", got.Digest(), want.Digest(), cmp.Diff(string(want.YAML()), string(got.YAML())))
	}
	for i := range want {
		if got[i].Source != want[i].Source {
			t.Errorf("%s: source %q, want %q", got[i].ID(), got[i].Source, want[i].Source)
		}
	}
}

// mapFS loads a directory into memory, the shape of tree production code passes (a Git tree).
func mapFS(t testing.TB, dir string) fstest.MapFS {
	m := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, p))
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBuildConcurrent runs many builds at once and expects each to equal its sequential result.
// custom-schema replaces kyaml's process-wide OpenAPI schema while the others read it for
// strategic merge and scope lookups: without the guard in build.go, -race reports it here in
// about one run of three (a race detector sees only the interleavings that happen).
func TestBuildConcurrent(t *testing.T) {
	tree := mapFS(t, "testdata/repo")
	cases := []string{"overlays/prod", "custom-schema", "crds", "overlays/staging", "plain"}
	want := map[string]string{}
	for _, dir := range cases {
		objs, err := Build(context.Background(), tree, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[dir] = objs.Digest()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 5 {
				dir := cases[(g+r)%len(cases)]
				objs, err := Build(context.Background(), tree, dir, Options{})
				if err != nil {
					t.Error(err)
					return
				}
				if objs.Digest() != want[dir] {
					t.Errorf("%s: concurrent digest %s, sequential %s", dir, objs.Digest(), want[dir])
				}
			}
		}()
	}
	wg.Wait()
}

// TestBuildSchemaDoesNotLeak: a custom OpenAPI schema applies to the build that names it only.
// kyaml keeps it in a package variable and would otherwise apply it to every later build.
func TestBuildSchemaDoesNotLeak(t *testing.T) {
	tree := mapFS(t, "testdata/repo")
	if _, err := Build(context.Background(), tree, "custom-schema", Options{}); err != nil {
		t.Fatal(err)
	}
	for p, f := range mapFS(t, "testdata/repo/custom-schema") {
		tree["no-schema/"+p] = f
	}
	tree["no-schema/kustomization.yaml"] = &fstest.MapFile{Data: []byte("resources: [pipeline.yaml]\npatches: [{path: patch.yaml}]\n")}
	objs, err := Build(context.Background(), tree, "no-schema", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Without a schema strategic merge replaces the list, as `kustomize build` does.
	steps := objs[0].Content["spec"].(map[string]any)["steps"].([]any)
	if len(steps) != 1 {
		t.Errorf("steps = %v: the previous build's schema merged the list", steps)
	}
}

func TestBuildCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, testRepo(), "base", Options{}); err != context.Canceled {
		t.Errorf("Build with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestSortIgnoresSourceOrder: one object in two API versions sorts the same whichever came first.
func TestSortIgnoresSourceOrder(t *testing.T) {
	v1 := Object{Content: map[string]any{"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": map[string]any{"name": "web"}}}
	v2 := Object{Content: map[string]any{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": map[string]any{"name": "web"}}}
	a, b := Objects{v1, v2}, Objects{v2, v1}
	a.Sort()
	b.Sort()
	if a.Digest() != b.Digest() {
		t.Errorf("digest depends on input order:\n%s\nvs\n%s", a.YAML(), b.YAML())
	}
}

// TestBuildPlainRoot renders the repository root of a repository without a kustomization, whose
// top level holds one-character names: "." walks to paths like "x", which plainKustomization once
// sliced as if they were "./x" and panicked.
func TestBuildPlainRoot(t *testing.T) {
	cm := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n")}
	}
	tree := fstest.MapFS{
		"a":                    {Data: []byte("not yaml, ignored\n")},
		"x/cm.yaml":            cm("in-x"),
		"y.yaml":               cm("top"),
		"k/kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")},
		"k/cm.yaml":            cm("in-k"),
	}
	for _, dir := range []string{".", "./", ""} {
		objs, err := Build(context.Background(), tree, dir, Options{})
		if err != nil {
			t.Fatalf("Build(%q): %v", dir, err)
		}
		got := map[string]string{}
		for _, o := range objs {
			got[o.Name()] = o.Source
		}
		want := map[string]string{"in-x": "x/cm.yaml", "top": "y.yaml", "in-k": "k/cm.yaml"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Build(%q) objects and sources (-want +got):\n%s", dir, diff)
		}
	}
}

// panicFS panics on every call, standing for a bug anywhere under Build.
type panicFS struct{}

func (panicFS) Open(string) (fs.File, error) { panic("boom") }

// TestBuildRecoversPanics: a panic in stagegate's own code (the sandbox, plainKustomization), not
// only in kustomize, comes back as an *Error instead of taking the agent down.
func TestBuildRecoversPanics(t *testing.T) {
	_, err := Build(context.Background(), panicFS{}, "app", Options{})
	var re *Error
	if !errors.As(err, &re) || !errors.Is(err, errPanic) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Build over a panicking tree = %v, want a *render.Error wrapping errPanic", err)
	}
}
