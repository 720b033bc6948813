package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// startAgent runs `stagegate run args...` until the test ends, and returns its address and a
// stop function that returns its exit code.
func startAgent(t *testing.T, args ...string) (addr string, stop func() int, stderr *bytes.Buffer) {
	t.Helper()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	stderr = &bytes.Buffer{}
	go func() {
		done <- run(ctx, append([]string{"run", "--listen", addr}, args...), io.Discard, stderr)
	}()
	code := -1
	var once sync.Once
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				t.Error("run did not stop after the signal")
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return addr, stop, stderr
}

func healthz(addr string) string {
	r, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return ""
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestRunRefusesASecondAgentOnTheSamePipelines(t *testing.T) {
	gh := emulator(t)
	cfg, cache := githubConfig(t, gh), t.TempDir()
	addr, _, _ := startAgent(t, "--config", cfg, "--cache-dir", cache)
	waitFor(t, func() bool { return healthz(addr) != "" })

	code, _, errs := stagegate(t, "run", "--once", "--config", cfg, "--cache-dir", cache)
	if code == 0 || !strings.Contains(errs, "pipeline shop: another stagegate agent (pid "+strconv.Itoa(os.Getpid())+") on this machine already runs it") {
		t.Fatalf("a second agent on the same pipeline: exit %d, stderr:\n%s\nwant a refusal naming the first agent's pid", code, errs)
	}
	// Another cache directory is another machine, as far as the lock knows.
	if code, _, errs := stagegate(t, "run", "--once", "--config", cfg, "--cache-dir", t.TempDir()); code != 0 {
		t.Fatalf("an agent with a cache of its own: exit %d, stderr:\n%s", code, errs)
	}
}

func TestRunShardRunsOnlyItsPipelines(t *testing.T) {
	gh := emulator(t)
	gitsourcetest.Commit(t, gh.Repo(), "env/dev", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop}\ndata: {color: green}\n"}, "green")
	cfg := githubConfig(t, gh)
	mine := 0
	if !(controller.Shard{Index: 0, Count: 2}).Owns("shop") {
		mine = 1
	}
	if code, _, errs := stagegate(t, "run", "--once", "--shard", strconv.Itoa(1-mine)+"/2", "--config", cfg, "--cache-dir", t.TempDir()); code != 0 || gh.PRs() != 0 {
		t.Fatalf("the other shard: exit %d, %d requests; want 0 and none (shop is not its pipeline); stderr:\n%s", code, gh.PRs(), errs)
	}
	if code, _, errs := stagegate(t, "run", "--once", "--shard", strconv.Itoa(mine)+"/2", "--config", cfg, "--cache-dir", t.TempDir()); code != 0 || gh.PRs() != 1 {
		t.Fatalf("shop's shard: exit %d, %d requests; want 0 and one; stderr:\n%s", code, gh.PRs(), errs)
	}
	if code, _, errs := stagegate(t, "run", "--once", "--shard", "2/2", "--config", cfg); code == 0 || !strings.Contains(errs, "--shard") {
		t.Errorf("--shard 2/2: exit %d, stderr:\n%s", code, errs)
	}
}

func TestRunLeaderElectLeadsAndSaysSoOnHealthz(t *testing.T) {
	ns := deploytest.Namespace(t, deploytest.Start(t))
	t.Setenv("KUBECONFIG", deploytest.Kubeconfig(t, deploytest.Start(t)))
	gh := emulator(t)
	gitsourcetest.Commit(t, gh.Repo(), "env/dev", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop}\ndata: {color: green}\n"}, "green")
	addr, stop, stderr := startAgent(t, "--config", githubConfig(t, gh), "--cache-dir", t.TempDir(),
		"--leader-elect", "--leader-elect-namespace", ns, "--shard", "0/1")
	waitFor(t, func() bool { return strings.Contains(healthz(addr), "leader: leading") })
	waitFor(t, func() bool { return gh.PRs() == 1 && gh.PR(1).Merged })
	if code := stop(); code != 0 {
		t.Fatalf("run exited %d after the signal, want 0; stderr:\n%s", code, stderr.String())
	}
	// A clean exit released the lease for the next leader, on the shard's own name.
	cs := kubernetes.NewForConfigOrDie(deploytest.Start(t))
	l, err := cs.CoordinationV1().Leases(ns).Get(context.Background(), "stagegate-shard-0-of-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the shard's Lease: %v", err)
	}
	if h := l.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("lease holder after a clean exit = %q; want none (released)", *h)
	}
}
