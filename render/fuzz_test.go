package render

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
)

// FuzzBuild feeds arbitrary kustomization and resource bytes through Build: it must return
// objects or an error, never panic, hang or escape the tree, and give the same digest twice.
// dir is the path rendered; name, when a valid path, is one more file holding resource (a
// one-character name at the top, rendered as ".", once sliced out of range in plainKustomization).
// The seed corpus (testdata/fuzz/FuzzBuild) holds the golden cases and the refused inputs.
func FuzzBuild(f *testing.F) {
	cm := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
	f.Add([]byte("resources: [r.yaml]\n"), cm, false, "app", "")
	f.Add([]byte(""), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"), true, "app", "")
	f.Add([]byte(""), cm, true, ".", "a")
	f.Add([]byte(""), cm, true, ".", "b/c.yaml")
	f.Add([]byte(""), cm, true, "./", "x.yaml")
	f.Add([]byte(""), cm, true, "app", "app/z")
	f.Fuzz(func(t *testing.T, kustomization, resource []byte, plain bool, dir, name string) {
		if len(kustomization)+len(resource) > 16<<10 {
			return // kustomize's cost grows with input; big inputs only slow the fuzzer down
		}
		tree := fstest.MapFS{
			"app/r.yaml":                 {Data: resource},
			"app/sub/kustomization.yaml": {Data: []byte("resources: [cm.yaml]\n")},
			"app/sub/cm.yaml":            {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\n")},
			"comp/kustomization.yaml":    {Data: []byte("kind: Component\ncommonLabels: {c: x}\n")},
			"base/cm.yaml":               {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n")},
			"base/kustomization.yaml":    {Data: []byte("resources: [cm.yaml]\n")},
		}
		if !plain {
			tree["app/kustomization.yaml"] = &fstest.MapFile{Data: kustomization}
		}
		if fs.ValidPath(name) && name != "." && tree[name] == nil {
			tree[name] = &fstest.MapFile{Data: resource}
		}
		objs, err := Build(context.Background(), tree, dir, Options{})
		if errors.Is(err, errPanic) {
			t.Fatal(err)
		}
		if err != nil {
			t.Log(err)
			return
		}
		t.Logf("%d objects", len(objs))
		again, err := Build(context.Background(), tree, dir, Options{})
		if err != nil {
			t.Fatalf("second build failed after the first succeeded: %v", err)
		}
		if objs.Digest() != again.Digest() {
			t.Fatalf("digest differs between two builds of the same tree:\n%s\n---\n%s", objs.YAML(), again.YAML())
		}
	})
}
