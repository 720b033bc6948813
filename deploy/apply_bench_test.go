package deploy_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/render"
)

// countingTransport counts the requests a Cluster sends.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// BenchmarkApply applies N ConfigMaps: "create" into an empty namespace each time,
// "unchanged" again and again (the steady state of an environment that did not move). It
// reports API requests per object, counted at the client.
func BenchmarkApply(b *testing.B) {
	const n = 200
	rc := deploytest.Start(b)
	var reqs atomic.Int64
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &reqs} })
	c, err := deploy.New(rc, deploy.Options{QPS: 500, Burst: 1000})
	if err != nil {
		b.Fatal(err)
	}
	docs := make([]string, n)
	for i := range docs {
		docs[i] = strings.Replace(configMap, "name: settings", "name: cm-"+strconv.Itoa(i), 1)
	}
	objsIn := func(ns string) render.Objects { return objects(b, ns, docs...) }
	run := func(b *testing.B, ns string) {
		_, err := deploy.Apply(context.Background(), c, objsIn(ns), deploy.ApplyOptions{Pipeline: "bench", Env: "dev", InventoryNamespace: ns, Workers: 8})
		if err != nil {
			b.Fatal(err)
		}
	}

	b.Run("create", func(b *testing.B) {
		var total int64
		for b.Loop() {
			b.StopTimer()
			ns := deploytest.Namespace(b, rc)
			reqs.Store(0)
			b.StartTimer()
			run(b, ns)
			total += reqs.Load()
		}
		b.ReportMetric(float64(total)/float64(b.N*n), "requests/object")
	})
	b.Run("unchanged", func(b *testing.B) {
		ns := deploytest.Namespace(b, rc)
		run(b, ns)
		reqs.Store(0)
		for b.Loop() {
			run(b, ns)
		}
		b.ReportMetric(float64(reqs.Load())/float64(b.N*n), "requests/object")
	})

	// The peer: kubectl apply --server-side of the same objects, same API server.
	kubectl := filepath.Join(os.Getenv(deploytest.AssetsEnv), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		b.Logf("no kubectl beside the API server (%v): skipping the kubectl comparison", err)
		return
	}
	kubeconfig := deploytest.Kubeconfig(b, rc)
	kubectlApply := func(b *testing.B, ns string) {
		file := filepath.Join(b.TempDir(), "objects.yaml")
		if err := os.WriteFile(file, []byte(strings.ReplaceAll(strings.Join(docs, "\n---\n"), "NS", ns)), 0o600); err != nil {
			b.Fatal(err)
		}
		out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(filepath.Dir(kubeconfig), "cache"),
			"apply", "--server-side", "--field-manager", "kubectl-bench", "-f", file).CombinedOutput()
		if err != nil {
			b.Fatalf("kubectl apply: %v\n%s", err, out)
		}
	}
	b.Run("kubectl-create", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			ns := deploytest.Namespace(b, rc)
			b.StartTimer()
			kubectlApply(b, ns)
		}
	})
	b.Run("kubectl-unchanged", func(b *testing.B) {
		ns := deploytest.Namespace(b, rc)
		kubectlApply(b, ns)
		for b.Loop() {
			kubectlApply(b, ns)
		}
	})
}
