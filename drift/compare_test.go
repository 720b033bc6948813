package drift

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/stagegate-dev/stagegate/config"
)

// fixture reads testdata/compare/<dir>/<name>.yaml; nil when the file does not exist.
func fixture(t *testing.T, dir, name string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "compare", dir, name+".yaml"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s/%s: %v", dir, name, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("%s/%s: %v", dir, name, err)
	}
	return u
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name       string
		dir        string
		ignore     []Ignore
		status     Status
		paths      []string
		ignored    []string
		diffHas    []string // lines the diff must contain
		diffHasNot []string // text the diff must not contain
	}{
		{
			name:       "server-set metadata, status and the last-applied annotation are not drift",
			dir:        "in-sync",
			status:     InSync,
			diffHasNot: []string{"@@"},
		},
		{
			name:    "replicas changed by another field manager are drift at /spec/replicas",
			dir:     "replicas-by-hpa",
			status:  Drifted,
			paths:   []string{"/spec/replicas"},
			diffHas: []string{"-  replicas: 7", "+  replicas: 3"},
		},
		{
			name:    "an ignore rule by field manager suppresses replicas the HPA owns",
			dir:     "replicas-by-hpa",
			ignore:  []Ignore{{Kind: "Deployment", Managers: []string{"kube-controller-*"}}},
			status:  InSync,
			ignored: []string{"/spec/replicas"},
		},
		{
			name:   "a manager rule for another kind does not apply",
			dir:    "replicas-by-hpa",
			ignore: []Ignore{{Kind: "StatefulSet", Managers: []string{"kube-controller-manager"}}},
			status: Drifted,
			paths:  []string{"/spec/replicas"},
		},
		{
			name:    "an ignore rule by JSON pointer with a name glob suppresses the field",
			dir:     "replicas-by-hpa",
			ignore:  []Ignore{{Group: "apps", Kind: "Deployment", Name: "w*", Pointers: []string{"/spec/replicas"}}},
			status:  InSync,
			ignored: []string{"/spec/replicas"},
		},
		{
			name:   "a pointer rule for another name does not apply",
			dir:    "replicas-by-hpa",
			ignore: []Ignore{{Kind: "Deployment", Name: "api", Pointers: []string{"/spec/replicas"}}},
			status: Drifted,
			paths:  []string{"/spec/replicas"},
		},
		{
			name:    "a container field is named by the container's name",
			dir:     "image",
			status:  Drifted,
			paths:   []string{"/spec/template/spec/containers/name=web/image"},
			diffHas: []string{"-      - image: ghcr.io/acme/web:1.5.0-debug", "+      - image: ghcr.io/acme/web:1.4.2"},
		},
		{
			name:    "a pointer matches a list item by index and by glob",
			dir:     "image",
			ignore:  []Ignore{{Pointers: []string{"/spec/template/spec/containers/0/image"}}},
			status:  InSync,
			ignored: []string{"/spec/template/spec/containers/name=web/image"},
		},
		{
			name:    "a pointer matches a list item by key",
			dir:     "image",
			ignore:  []Ignore{{Pointers: []string{"/spec/template/spec/containers/name=web"}}},
			status:  InSync,
			ignored: []string{"/spec/template/spec/containers/name=web/image"},
		},
		{
			name:    "a manager rule covers a keyed list item's field the manager owns",
			dir:     "image",
			ignore:  []Ignore{{Managers: []string{"kubectl-set"}}},
			status:  InSync,
			ignored: []string{"/spec/template/spec/containers/name=web/image"},
		},
		{
			name:   "a manager rule does not cover fields the manager does not own",
			dir:    "image",
			ignore: []Ignore{{Managers: []string{"kube-controller-manager"}}},
			status: Drifted,
			paths:  []string{"/spec/template/spec/containers/name=web/image"},
		},
		{
			name:    "a label only Git has is drift, with the slash escaped in the pointer",
			dir:     "label-added",
			status:  Drifted,
			paths:   []string{"/metadata/labels/app.kubernetes.io~1version"},
			diffHas: []string{"+    app.kubernetes.io/version: 1.4.2"},
		},
		{
			name:    "a list of scalars that changed length is one changed field",
			dir:     "args",
			status:  Drifted,
			paths:   []string{"/spec/template/spec/containers/name=web/args"},
			diffHas: []string{"-        - --verbose"},
		},
		{
			name:       "a Secret value that changed is reported by key, without either value",
			dir:        "secret-value",
			status:     Drifted,
			paths:      []string{"/data/password"},
			diffHas:    []string{"-  password: <masked-old>", "+  password: <masked-new>"},
			diffHasNot: []string{"aHVudGVyMg==", "c3dvcmRmaXNo", "c2hvcA=="},
		},
		{
			name:       "an object not in the cluster is missing, its whole rendering the diff",
			dir:        "missing",
			status:     Missing,
			diffHas:    []string{"+kind: Deployment"},
			diffHasNot: []string{"resourceVersion", "managedFields", "status:"},
		},
		{
			name:    "an object only the inventory knows is extra",
			dir:     "extra",
			status:  Extra,
			diffHas: []string{"-kind: ConfigMap"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired, live := fixture(t, tt.dir, "desired"), fixture(t, tt.dir, "live")
			got := Compare(desired, live, tt.ignore)
			if got.Status != tt.status {
				t.Errorf("status = %s, want %s\ndiff:\n%s", got.Status, tt.status, got.Diff)
			}
			if d := cmp.Diff(tt.paths, got.Paths); d != "" {
				t.Errorf("paths (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.ignored, got.Ignored); d != "" {
				t.Errorf("ignored (-want +got):\n%s", d)
			}
			for _, s := range tt.diffHas {
				if !containsLine(got.Diff, s) {
					t.Errorf("diff has no line %q:\n%s", s, got.Diff)
				}
			}
			for _, s := range tt.diffHasNot {
				if strings.Contains(got.Diff, s) {
					t.Errorf("diff contains %q:\n%s", s, got.Diff)
				}
			}
			if tt.status == InSync && got.Diff != "" {
				t.Errorf("in-sync object has a diff:\n%s", got.Diff)
			}
		})
	}
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// An ignored field leaves the diff, while a field that still drifts stays in it.
func TestCompareIgnoredFieldLeavesDiff(t *testing.T) {
	desired := fixture(t, "replicas-by-hpa", "desired")
	live := fixture(t, "replicas-by-hpa", "live")
	cs, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers")
	cs[0].(map[string]any)["image"] = "ghcr.io/acme/web:evil"
	_ = unstructured.SetNestedSlice(live.Object, cs, "spec", "template", "spec", "containers")

	got := Compare(desired, live, []Ignore{{Managers: []string{"kube-controller-manager"}}})
	if got.Status != Drifted {
		t.Fatalf("status = %s, want drifted", got.Status)
	}
	if d := cmp.Diff([]string{"/spec/template/spec/containers/name=web/image"}, got.Paths); d != "" {
		t.Errorf("paths (-want +got):\n%s", d)
	}
	if strings.Contains(got.Diff, "replicas") {
		t.Errorf("diff shows the ignored replicas:\n%s", got.Diff)
	}
	if !containsLine(got.Diff, "-      - image: ghcr.io/acme/web:evil") {
		t.Errorf("diff lacks the image change:\n%s", got.Diff)
	}
	// Compare must not change its inputs: Detect's callers may hold them.
	if r, _, _ := unstructured.NestedInt64(desired.Object, "spec", "replicas"); r != 3 {
		t.Errorf("desired replicas changed to %d", r)
	}
}

// A rule as written in stagegate.yaml acts the same as one written in Go.
func TestIgnoreRulesFromConfig(t *testing.T) {
	rules := IgnoreRules([]config.DriftIgnore{
		{Kind: "Deployment", Managers: []string{"kube-controller-manager"}},
		{Kind: "Deployment", JSONPointers: []string{"/spec/template/spec/containers/*/image"}},
	})
	for _, dir := range []string{"replicas-by-hpa", "image"} {
		got := Compare(fixture(t, dir, "desired"), fixture(t, dir, "live"), rules)
		if got.Status != InSync || len(got.Ignored) != 1 {
			t.Errorf("%s: status %s, ignored %v; want in sync with one ignored field", dir, got.Status, got.Ignored)
		}
	}
}
