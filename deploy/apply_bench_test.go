package deploy_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
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

// benchObjects is the environment BenchmarkApply applies: 1,000 objects, mostly ConfigMaps, with
// some Deployments and (headless) Services.
func benchObjects() []string {
	var docs []string
	for i := range 900 {
		docs = append(docs, strings.Replace(configMap, "name: settings", "name: cm-"+strconv.Itoa(i), 1))
	}
	for i := range 50 {
		name := "web-" + strconv.Itoa(i)
		docs = append(docs,
			strings.Replace(deploymnt, "{name: web,", "{name: "+name+",", 1),
			// Headless: envtest's Service IP range holds about 250 addresses.
			strings.NewReplacer("{name: web,", "{name: "+name+",", "spec: {", "spec: {clusterIP: None, ").Replace(service))
	}
	return docs
}

// BenchmarkApply applies 1,000 objects with deploy.Apply and, in the same iteration, the same
// objects with kubectl apply --server-side, each into a namespace of its own: "create" into
// empty namespaces, "unchanged" again and again (the steady state of an environment that did not
// move). It reports each side's wall time, stagegate's as a ratio of kubectl's, and API requests
// per object, counted at stagegate's client and from kubectl's -v=6 log of a separate, untimed
// run (logging slows kubectl down).
//
// Same client QPS: kubectl 1.37 sets no QPS for its API clients (only discovery gets 50 QPS,
// burst 300), so client-go's default of 5 QPS / burst 10 applies, but per client, and kubectl's
// resource builder makes a new client for every object it decodes
// (cli-runtime resource.Builder.getClient → rest.RESTClientFor). It sends one request per object
// and never waits on its rate limiter: it is effectively unlimited. stagegate runs unlimited too
// (Options.QPS -1). kubectl applies one object after another; stagegate uses 16 workers (the
// default is 4: on a 2-core machine shared with other work, creates went at 0.64x kubectl's
// time with 4 or 8 workers and about 0.5x with 16 or 32, all bound by the API server's CPU).
func BenchmarkApply(b *testing.B) {
	rc := deploytest.Start(b)
	kubectl := filepath.Join(os.Getenv(deploytest.AssetsEnv), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		b.Skipf("no kubectl beside the API server (%v): nothing to compare with", err)
	}
	kubeconfig := deploytest.Kubeconfig(b, rc)
	cacheDir := filepath.Join(filepath.Dir(kubeconfig), "cache") // discovery, cached as users have it
	var reqs atomic.Int64
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &reqs} })
	c, err := deploy.New(rc, deploy.Options{QPS: -1})
	if err != nil {
		b.Fatal(err)
	}
	docs := benchObjects()
	n := len(docs)

	stagegate := func(b *testing.B, ns string) (time.Duration, int64) {
		objs := objects(b, ns, docs...)
		reqs.Store(0)
		start := time.Now()
		_, err := deploy.Apply(context.Background(), c, objs, deploy.ApplyOptions{Pipeline: "bench", Env: "dev", InventoryNamespace: ns}) // default workers
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(start), reqs.Load()
	}
	kubectlApply := func(b *testing.B, ns string, verbose bool) (time.Duration, int64) {
		file := filepath.Join(b.TempDir(), "objects.yaml")
		if err := os.WriteFile(file, []byte(strings.ReplaceAll(strings.Join(docs, "\n---\n"), "NS", ns)), 0o600); err != nil {
			b.Fatal(err)
		}
		args := []string{"--kubeconfig", kubeconfig, "--cache-dir", cacheDir,
			"apply", "--server-side", "--field-manager", "kubectl-bench", "-f", file}
		if verbose {
			args = append(args, "-v=6")
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(kubectl, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("kubectl apply: %v\n%s", err, stderr.String())
		}
		// At -v=6 client-go logs one "Response" line per request.
		return time.Since(start), int64(strings.Count(stderr.String(), `"Response"`))
	}
	kubectlRequests := func(b *testing.B, ns string) float64 {
		b.StopTimer()
		defer b.StartTimer()
		_, r := kubectlApply(b, ns, true)
		if r == 0 {
			b.Fatal("kubectl -v=6 logged no requests: its log format changed")
		}
		return float64(r) / float64(n)
	}
	report := func(b *testing.B, runs int, sg, kc time.Duration, sgReqs int64, kcPerObject float64) {
		b.ReportMetric(sg.Seconds()/float64(runs), "stagegate-s")
		b.ReportMetric(kc.Seconds()/float64(runs), "kubectl-s")
		b.ReportMetric(float64(sg)/float64(kc), "x-kubectl")
		b.ReportMetric(float64(sgReqs)/float64(runs*n), "requests/object")
		b.ReportMetric(kcPerObject, "kubectl-requests/object")
		b.Logf("%d objects, %d runs: stagegate %v, kubectl %v per run (%.2fx); requests/object %.3f, kubectl %.3f",
			n, runs, sg/time.Duration(runs), kc/time.Duration(runs), float64(sg)/float64(kc), float64(sgReqs)/float64(runs*n), kcPerObject)
	}

	// Warm kubectl's discovery cache, as on a user's machine.
	kubectlApply(b, deploytest.Namespace(b, rc), false)

	b.Run("create", func(b *testing.B) {
		var sg, kc time.Duration
		var sgReqs int64
		runs := 0
		for b.Loop() {
			b.StopTimer()
			ns1, ns2 := deploytest.Namespace(b, rc), deploytest.Namespace(b, rc)
			b.StartTimer()
			d, r := stagegate(b, ns1)
			sg, sgReqs = sg+d, sgReqs+r
			d, _ = kubectlApply(b, ns2, false)
			kc += d
			runs++
		}
		report(b, runs, sg, kc, sgReqs, kubectlRequests(b, deploytest.Namespace(b, rc)))
	})
	b.Run("unchanged", func(b *testing.B) {
		ns1, ns2 := deploytest.Namespace(b, rc), deploytest.Namespace(b, rc)
		stagegate(b, ns1)
		kubectlApply(b, ns2, false)
		var sg, kc time.Duration
		var sgReqs int64
		runs := 0
		for b.Loop() {
			d, r := stagegate(b, ns1)
			sg, sgReqs = sg+d, sgReqs+r
			d, _ = kubectlApply(b, ns2, false)
			kc += d
			runs++
		}
		report(b, runs, sg, kc, sgReqs, kubectlRequests(b, ns2))
	})
}
