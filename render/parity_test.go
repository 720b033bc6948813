package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// kustomizeBin is the kustomize CLI to compare with (hack/kustomize.sh prints it); tests that need
// it skip when it is unset.
func kustomizeBin(tb testing.TB) string {
	bin := os.Getenv("KUSTOMIZE_BIN")
	if bin == "" {
		tb.Skip("KUSTOMIZE_BIN is unset; run with KUSTOMIZE_BIN=$(hack/kustomize.sh) to compare with the kustomize CLI")
	}
	return bin
}

// TestParityWithCLI: every golden case renders to the same objects as `kustomize build`,
// compared decoded and by ID (the CLI's order and formatting differ by design).
func TestParityWithCLI(t *testing.T) {
	bin := kustomizeBin(t)
	// The CLI cannot build a directory without a kustomization; give it the one Build generates
	// (without the origin annotations Build strips), in a copy of the repository.
	repo := t.TempDir()
	if err := os.CopyFS(repo, os.DirFS("testdata/repo")); err != nil {
		t.Fatal(err)
	}
	k, err := plainKustomization(os.DirFS(repo), nil, "plain")
	if err != nil {
		t.Fatal(err)
	}
	var kust types.Kustomization
	if err := yaml.Unmarshal(k, &kust); err != nil {
		t.Fatal(err)
	}
	kust.BuildMetadata = nil
	if k, err = yaml.Marshal(kust); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "plain", "kustomization.yaml"), k, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, dir := range goldenCases {
		t.Run(dir, func(t *testing.T) {
			ours, err := Build(context.Background(), testRepo(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := cliBuild(bin, filepath.Join(repo, dir))
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := decodeStream(out)
			if err != nil {
				t.Fatalf("decoding the CLI's output: %v", err)
			}
			if len(theirs) != len(ours) {
				t.Errorf("CLI rendered %d objects, Build %d", len(theirs), len(ours))
			}
			want, got := map[ID]map[string]any{}, map[ID]map[string]any{}
			for _, o := range theirs {
				want[o.ID()] = o.Content
			}
			for _, o := range ours {
				got[o.ID()] = o.Content
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Build(%q) differs from kustomize build (-cli +build):\n%s", dir, diff)
			}
		})
	}
}

// cliBuild runs `kustomize build dir`.
func cliBuild(bin, dir string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "build", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, errors.Join(err, errors.New(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// decodeStream reads a YAML stream the way kubectl does, into unstructured's types.
func decodeStream(b []byte) (Objects, error) {
	var objs Objects
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := utiljson.Unmarshal(j, &m); err != nil {
			return nil, err
		}
		if m != nil {
			objs = append(objs, Object{Content: m})
		}
	}
}
