package render

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Benchmarks compare Build with the kustomize CLI doing the same builds (one `kustomize build`
// process per directory, which is what shelling out costs), when KUSTOMIZE_BIN is set. They
// report in-process time per tree as sec/tree, the CLI's as cli-sec/tree, and ratio
// (in-process / CLI; the goal is ≤ 0.5). hack/render-bench.sh prints them.
//
// The in-process figures are steady state: kyaml's OpenAPI schema is parsed once per process
// (about a second, see loadSchema) before timing, as it would be in a running agent.

// BenchmarkBuildApps renders a generated repository of 300 apps × 5 objects, one build per app.
func BenchmarkBuildApps(b *testing.B) {
	root := b.TempDir()
	apps := writeApps(b, root, 300)
	benchmarkTree(b, root, apps)
}

// BenchmarkBuildOverlays renders the golden repository's dev, staging and prod overlays.
func BenchmarkBuildOverlays(b *testing.B) {
	benchmarkTree(b, "testdata/repo", []string{"overlays/dev", "overlays/staging", "overlays/prod"})
}

func benchmarkTree(b *testing.B, root string, dirs []string) {
	tree := os.DirFS(root)
	ctx := context.Background()
	build := func() {
		for _, d := range dirs {
			if _, err := Build(ctx, tree, d, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	build() // warm: the schema parse and the page cache, for both sides
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		build()
	}
	b.StopTimer()
	inProcess := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(inProcess, "sec/tree")

	bin := os.Getenv("KUSTOMIZE_BIN")
	if bin == "" {
		b.Log("KUSTOMIZE_BIN unset: no CLI comparison")
		return
	}
	start = time.Now()
	for _, d := range dirs {
		if _, err := cliBuild(bin, filepath.Join(root, d)); err != nil {
			b.Fatal(err)
		}
	}
	cli := time.Since(start).Seconds()
	b.ReportMetric(cli, "cli-sec/tree")
	b.ReportMetric(inProcess/cli, "ratio")
}

// writeApps writes n apps of five objects each (Deployment, Service, ConfigMap, ServiceAccount,
// HorizontalPodAutoscaler) with a namespace, labels and a strategic-merge patch, the shape of a
// typical app directory, and returns their directories.
func writeApps(tb testing.TB, root string, n int) []string {
	dirs := make([]string, n)
	for i := range n {
		dir := fmt.Sprintf("apps/app%03d", i)
		dirs[i] = dir
		name := fmt.Sprintf("app%03d", i)
		files := map[string]string{
			"kustomization.yaml": fmt.Sprintf(`namespace: team-%d
labels:
  - pairs: {app.kubernetes.io/name: %s}
    includeSelectors: true
resources: [deployment.yaml, service.yaml, configmap.yaml, serviceaccount.yaml, hpa.yaml]
patches:
  - path: replicas.yaml
images:
  - name: ghcr.io/acme/%s
    newTag: "1.%d.0"
`, i%10, name, name, i),
			"deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {component: %[1]s}}
  template:
    metadata: {labels: {component: %[1]s}}
    spec:
      serviceAccountName: %[1]s
      containers:
        - name: app
          image: ghcr.io/acme/%[1]s:1.0.0
          ports: [{containerPort: 8080}]
          envFrom: [{configMapRef: {name: %[1]s}}]
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 500m, memory: 128Mi}}
`, name),
			"service.yaml": fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec:
  selector: {component: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, name),
			"configmap.yaml": fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: %s}
data: {LOG_LEVEL: info, FEATURE_X: "true"}
`, name),
			"serviceaccount.yaml": fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s}\n", name),
			"hpa.yaml": fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: %[1]s}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  minReplicas: 2
  maxReplicas: 10
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
`, name),
			"replicas.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: app, env: [{name: APP_INDEX, value: "%d"}]}]
`, name, i),
		}
		for f, content := range files {
			p := filepath.Join(root, dir, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), fs.FileMode(0o644)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return dirs
}

// TestWriteApps keeps the benchmark's generated tree honest: every app renders five objects.
func TestWriteApps(t *testing.T) {
	root := t.TempDir()
	for _, d := range writeApps(t, root, 3) {
		objs, err := Build(context.Background(), os.DirFS(root), d, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 5 {
			t.Errorf("%s rendered %d objects, want 5", d, len(objs))
		}
	}
}
