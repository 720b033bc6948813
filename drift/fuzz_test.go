package drift

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// FuzzCompare feeds Compare objects as a cluster could return them (managed fields included,
// which drift parses) and checks what must hold for any input: no panic, an object compared
// with itself is in sync, a drifted object names at least one path, and ignoring every
// manager's fields leaves no manager-owned path reported.
func FuzzCompare(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "compare", "*"))
	for _, d := range dirs {
		a, _ := os.ReadFile(filepath.Join(d, "desired.yaml"))
		b, _ := os.ReadFile(filepath.Join(d, "live.yaml"))
		f.Add(a, b)
	}
	decode := func(b []byte) *unstructured.Unstructured {
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return nil
		}
		u := &unstructured.Unstructured{}
		if u.UnmarshalJSON(j) != nil {
			return nil
		}
		return u
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		desired, live := decode(a), decode(b)
		if desired == nil || live == nil {
			return
		}
		if r := Compare(desired, desired.DeepCopy(), nil); r.Status != InSync {
			t.Fatalf("object compared with itself is %s: %v", r.Status, r.Paths)
		}
		r := Compare(desired, live, []Ignore{{Managers: []string{"*"}}})
		if r.Status == Drifted && len(r.Paths) == 0 {
			t.Fatal("drifted without a path")
		}
		r = Compare(desired, live, []Ignore{{Pointers: []string{"/*"}}})
		if r.Status != InSync {
			t.Fatalf("ignoring every top-level field left %s: %v", r.Status, r.Paths)
		}
	})
}
