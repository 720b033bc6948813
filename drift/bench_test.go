package drift

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/render"
)

type countingTransport struct {
	n  *atomic.Int64
	rt http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// BenchmarkDetect1500 is a steady-state scan: 1,500 objects deploy applied, none changed since.
// It reports the API requests per object next to the time per scan.
//
//	KUBEBUILDER_ASSETS="$(hack/kube-assets.sh)" go test ./drift/ -run '^$' -bench Detect1500 -benchtime 3x
func BenchmarkDetect1500(b *testing.B) {
	rc := deploytest.Start(b)
	ns := deploytest.Namespace(b, rc)
	var requests atomic.Int64
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{&requests, rt} }
	// The client's rate limit, not drift, would set the pace at deploy's default QPS.
	cl, err := deploy.New(rc, deploy.Options{QPS: 5000, Burst: 10000})
	if err != nil {
		b.Fatal(err)
	}
	var objs render.Objects
	for i := range 1500 {
		objs = append(objs, render.Object{Content: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": fmt.Sprintf("cm-%04d", i), "namespace": ns, "labels": map[string]any{"app": "web"}},
			"data":     map[string]any{"index": fmt.Sprint(i), "greeting": "hello"},
		}})
	}
	ctx := context.Background()
	if _, err := deploy.Apply(ctx, cl, objs, deploy.ApplyOptions{Pipeline: "bench", Env: "prod", InventoryNamespace: ns, Workers: 16}); err != nil {
		b.Fatal(err)
	}
	live := Live{Cluster: cl, Pipeline: "bench", Env: "prod", InventoryNamespace: ns}
	b.ResetTimer()
	requests.Store(0)
	for b.Loop() {
		rep, err := Detect(ctx, live, objs, Options{Pipeline: "bench", Env: "prod"})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.InSync() {
			b.Fatalf("not in sync: %s", rep.Summary())
		}
	}
	b.ReportMetric(float64(requests.Load())/float64(b.N)/float64(len(objs)), "requests/object")
}
