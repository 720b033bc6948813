package render

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuildErrors(t *testing.T) {
	cm := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n")}
	}
	kust := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name string
		tree fstest.MapFS
		path string
		opts Options
		want []string // substrings of the error message
	}{{
		name: "a malformed resource names the file and the line",
		tree: fstest.MapFS{
			"app/kustomization.yaml": kust("resources:\n  - bad.yaml\n"),
			"app/bad.yaml":           kust("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [oops\n"),
		},
		path: "app",
		want: []string{"bad.yaml", "line "},
	}, {
		name: "a malformed kustomization names the file and the line",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("namespace: x\nresources:\n  - a.yaml\n  b: c\n")},
		path: "app",
		want: []string{"app/kustomization.yaml", "line 3"},
	}, {
		name: "an unknown kustomization field names the file and the field",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resource:\n  - a.yaml\n")},
		path: "app",
		want: []string{"app/kustomization.yaml", `unknown field "resource"`},
	}, {
		name: "a missing resource names the kustomization, the line and the entry",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources:\n  - cm.yaml\n  - missing.yaml\n"), "app/cm.yaml": cm("a")},
		path: "app",
		want: []string{"app/kustomization.yaml:3", `"missing.yaml"`, "app/missing.yaml does not exist"},
	}, {
		name: "a missing patch file names the kustomization, the line and the entry",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources: [cm.yaml]\npatches:\n  - path: nope.yaml\n"), "app/cm.yaml": cm("a")},
		path: "app",
		want: []string{"app/kustomization.yaml:3", `"nope.yaml"`, "app/nope.yaml does not exist"},
	}, {
		name: "an https resource is refused",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources:\n  - https://github.com/acme/deploy//base?ref=v1\n")},
		path: "app",
		want: []string{"app/kustomization.yaml:2", `"https://github.com/acme/deploy//base?ref=v1"`, "remote"},
	}, {
		name: "an scp-style git base is refused",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources:\n  - git@github.com:acme/deploy.git/base\n")},
		path: "app",
		want: []string{`"git@github.com:acme/deploy.git/base"`, "remote"},
	}, {
		name: "a github.com base without scheme is refused",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("bases:\n  - github.com/acme/deploy/base\n")},
		path: "app",
		want: []string{`"github.com/acme/deploy/base"`, "remote"},
	}, {
		name: "a remote component in a nested base is refused, naming the nested file",
		tree: fstest.MapFS{
			"app/kustomization.yaml":  kust("resources: [../base]\n"),
			"base/kustomization.yaml": kust("components:\n  - ssh://git@example.com/acme/c.git?ref=main\n"),
		},
		path: "app",
		want: []string{"base/kustomization.yaml:2", "remote"},
	}, {
		name: "a remote patch file is refused",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources: [cm.yaml]\npatches:\n  - path: http://example.com/p.yaml\n"), "app/cm.yaml": cm("a")},
		path: "app",
		want: []string{`"http://example.com/p.yaml"`, "remote"},
	}, {
		name: "a path escaping the repository is refused",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources:\n  - ../../../etc\n")},
		path: "app",
		want: []string{"app/kustomization.yaml:2", `"../../../etc"`, "leaves the repository"},
	}, {
		name: "an absolute path is refused",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources:\n  - /etc/passwd\n")},
		path: "app",
		want: []string{`"/etc/passwd"`, "absolute"},
	}, {
		name: "helmCharts without Options.Helm is refused, naming the chart",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("helmCharts:\n  - name: redis\n    repo: https://charts.example.com\n    version: 1.0.0\n")},
		path: "app",
		want: []string{"app/kustomization.yaml:1", `chart "redis"`, "Helm"},
	}, {
		name: "a missing path",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources: []\n")},
		path: "overlays/nope",
		want: []string{"overlays/nope", "no such directory"},
	}, {
		name: "a path leaving the tree",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources: []\n")},
		path: "../app",
		want: []string{"../app", "inside"},
	}, {
		name: "a file as path",
		tree: fstest.MapFS{"app/cm.yaml": cm("a")},
		path: "app/cm.yaml",
		want: []string{"app/cm.yaml", "not a directory"},
	}, {
		name: "an empty directory",
		tree: fstest.MapFS{"empty/README.md": kust("# nothing\n")},
		path: "empty",
		want: []string{"empty", "no kustomization.yaml and no .yaml"},
	}, {
		name: "duplicate objects name the file that adds the second",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources: [a.yaml, b.yaml]\n"), "app/a.yaml": cm("same"), "app/b.yaml": cm("same")},
		path: "app",
		want: []string{"b.yaml", "already registered id", "same"},
	}, {
		name: "a base directory without a kustomization",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources:\n  - ../base\n"), "base/cm.yaml": cm("a")},
		path: "app",
		want: []string{"app/kustomization.yaml:2", `"../base"`, "base: directory has no kustomization.yaml"},
	}, {
		name: "a component that is a file",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("components:\n  - cm.yaml\n"), "app/cm.yaml": cm("a")},
		path: "app",
		want: []string{`"cm.yaml"`, "is a file"},
	}, {
		name: "two kustomization files",
		tree: fstest.MapFS{"app/kustomization.yaml": kust("resources: []\n"), "app/kustomization.yml": kust("resources: []\n")},
		path: "app",
		want: []string{"app/kustomization.yaml", "app/kustomization.yml"},
	}, {
		name: "a malformed file in a plain directory",
		tree: fstest.MapFS{"plain/ok.yaml": cm("a"), "plain/broken.yaml": kust("kind: [\n")},
		path: "plain",
		want: []string{"broken.yaml"},
	}, {
		name: "an exec plugin is refused (builtins only)",
		tree: fstest.MapFS{
			"app/kustomization.yaml": kust("resources: [cm.yaml]\ntransformers: [plugin.yaml]\n"),
			"app/cm.yaml":            cm("a"),
			"app/plugin.yaml":        kust("apiVersion: acme.io/v1\nkind: Exec\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n"),
		},
		path: "app",
		want: []string{"plugin"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Build(context.Background(), tt.tree, tt.path, tt.opts)
			if err == nil {
				t.Fatalf("Build(%q) = %d objects, want an error", tt.path, len(objs))
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Errorf("error %T is not a *render.Error: %v", err, err)
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
