package render

import (
	"context"
	"os/exec"
	"testing"
	"testing/fstest"
)

// TestBuildHelm inflates a chart kept in the repository (no pull), which needs the helm binary:
// skipped without one. The refusal without Options.Helm is in TestBuildErrors.
func TestBuildHelm(t *testing.T) {
	if _, err := exec.LookPath("helm"); err != nil {
		t.Skip("helm is not on PATH")
	}
	tree := fstest.MapFS{
		"app/kustomization.yaml":                    {Data: []byte("helmCharts:\n  - name: hello\n    releaseName: hi\n")},
		"app/charts/hello/Chart.yaml":               {Data: []byte("apiVersion: v2\nname: hello\nversion: 0.1.0\n")},
		"app/charts/hello/values.yaml":              {Data: []byte("greeting: hello\n")},
		"app/charts/hello/templates/configmap.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting }}\n")},
	}
	objs, err := Build(context.Background(), tree, "app", Options{Helm: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Name() != "hi" || objs[0].Source != "app/kustomization.yaml" {
		t.Errorf("got %d objects: %s", len(objs), objs.YAML())
	}
}
