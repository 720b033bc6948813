package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/gitsource/githubtest"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// BenchmarkAgentMemory100x3 measures issue #5's memory point: the agent holding 100 pipelines of
// three environments each stays under 200 MiB of resident memory.
//
// The agent runs as its own process (a binary built here), so what is measured is its RSS and not
// the test's, which holds the 100 GitHub emulators. Every pipeline is the sample shop (nine objects
// in prod) on its own emulator, with dev one commit ahead, so the start-up cycle of each opens a
// promotion request into staging, and then the agent idles on a one-hour interval.
//
// Reported: MiB-rss-peak (VmHWM once the last request is open), MiB-rss-idle (VmRSS after the agent
// has idled for a while) and s-to-open (agent start to the 100th request); ns/op is the same span.
//
//	go test -run '^$' -bench AgentMemory -benchtime 1x ./cmd/stagegate/
func BenchmarkAgentMemory100x3(b *testing.B) {
	if testing.Short() {
		b.Skip("builds the agent and starts 100 emulators")
	}
	const pipelines = 100
	idle := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("STAGEGATE_BENCH_IDLE")); err == nil {
		idle = d
	}

	bin := filepath.Join(b.TempDir(), "stagegate")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}

	shop := sampleShop(b)
	ghs := make([]*githubtest.Server, pipelines)
	var cfg bytes.Buffer
	for i := range ghs {
		name := fmt.Sprintf("p%03d", i)
		gh := githubtest.New(b, githubtest.Options{Owner: "acme", Repo: name, Branches: map[string]map[string]string{"env/dev": shop}})
		gitsourcetest.Branch(b, gh.Repo(), "env/staging", "env/dev")
		gitsourcetest.Branch(b, gh.Repo(), "env/prod", "env/dev")
		gitsourcetest.Commit(b, gh.Repo(), "env/dev", map[string]string{
			"base/kustomization.yaml": strings.Replace(shop["base/kustomization.yaml"], `newTag: "1.4.0"`, `newTag: "1.5.0"`, 1),
		}, "web 1.5.0")
		ghs[i] = gh
		fmt.Fprintf(&cfg, `---
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: %s}
spec:
  repo: {url: %q, tokenEnv: STAGEGATE_TEST_TOKEN}
  forge: {type: github, baseURL: %q}
  interval: 1h
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev, gates: {schema: {}}}
    - {name: staging, branch: env/staging, path: overlays/staging, promote: {auto: false}, gates: {schema: {}}}
    - {name: prod, branch: env/prod, path: overlays/prod, promote: {auto: false}, gates: {schema: {}}}
`, name, gh.GitURL(), gh.URL())
	}
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "stagegate.yaml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(dir, "agent.log")
	if p := os.Getenv("STAGEGATE_BENCH_LOG"); p != "" {
		logPath = p // kept after the run, e.g. with GODEBUG=gctrace=1 (the agent inherits the environment)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	addr := freeAddr(b)

	b.ResetTimer()
	start := time.Now()
	agent := exec.Command(bin, "run", "--config", cfgPath, "--cache-dir", filepath.Join(dir, "cache"), "--listen", addr)
	agent.Env = append(os.Environ(), "STAGEGATE_TEST_TOKEN="+githubtest.DefaultToken, "GOTOOLCHAIN=local")
	agent.Stdout, agent.Stderr = logFile, logFile
	if err := agent.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	stop := func() error {
		agent.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			agent.Process.Kill()
			return fmt.Errorf("the agent did not stop within 30s of SIGTERM")
		}
	}
	fail := func(format string, args ...any) {
		b.Helper()
		stop()
		log, _ := os.ReadFile(logPath)
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		b.Fatalf(format+"\nthe agent's log ends:\n%s", append(args, log)...)
	}

	opened := func() int {
		n := 0
		for _, gh := range ghs {
			n += gh.PRs()
		}
		return n
	}
	for deadline := time.Now().Add(5 * time.Minute); opened() < pipelines; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			exited <- err
			fail("the agent exited (%v) with %d of %d requests open", err, opened(), pipelines)
		default:
		}
		if time.Now().After(deadline) {
			fail("after 5m, %d of %d requests are open", opened(), pipelines)
		}
	}
	toOpen := time.Since(start)
	b.StopTimer()
	for i, gh := range ghs {
		if gh.PRs() != 1 || gh.PR(1).Base != "env/staging" || gh.PR(1).State != "open" {
			fail("pipeline p%03d has %d requests; want one, open, into env/staging (prod equals staging)", i, gh.PRs())
		}
	}
	busy, err := memory(agent.Process.Pid)
	if err != nil {
		fail("%v", err)
	}
	if r, err := http.Get("http://" + addr + "/healthz"); err != nil || r.StatusCode != 200 {
		fail("GET /healthz: %v", err)
	}

	time.Sleep(idle)
	rest, err := memory(agent.Process.Pid)
	if err != nil {
		fail("%v", err)
	}
	stats, err := memstats(addr)
	if err != nil {
		fail("%v", err)
	}
	if err := stop(); err != nil {
		log, _ := os.ReadFile(logPath)
		b.Fatalf("the agent's exit after SIGTERM: %v\n%.4000s", err, log)
	}

	b.Logf("%d pipelines opened their requests in %v; RSS then %.1f MiB (peak %.1f MiB), after %v idle %.1f MiB (anonymous %.1f MiB, file-backed %.1f MiB)",
		pipelines, toOpen.Round(time.Millisecond), mib(busy.rss), mib(rest.hwm), idle, mib(rest.rss), mib(rest.anon), mib(rest.file))
	b.Logf("the Go runtime at idle (/metrics): heap in use %.1f MiB, heap idle %.1f MiB of which released %.1f MiB, stacks %.1f MiB, from the OS %.1f MiB; %d goroutines",
		mib(stats["go_memstats_heap_inuse_bytes"]), mib(stats["go_memstats_heap_idle_bytes"]), mib(stats["go_memstats_heap_released_bytes"]),
		mib(stats["go_memstats_stack_inuse_bytes"]), mib(stats["go_memstats_sys_bytes"]), stats["go_goroutines"])
	b.ReportMetric(mib(rest.hwm), "MiB-rss-peak")
	b.ReportMetric(mib(rest.rss), "MiB-rss-idle")
	b.ReportMetric(mib(stats["go_memstats_heap_inuse_bytes"]), "MiB-heap-inuse-idle")
	b.ReportMetric(toOpen.Seconds(), "s-to-open")
	if mib(rest.hwm) >= 200 {
		b.Errorf("peak RSS %.1f MiB; issue #5 wants the agent under 200 MiB with 100 pipelines × 3 environments", mib(rest.hwm))
	}
}

// sampleShop is the sample shop of examples/ (base, a monitoring component and three overlays),
// as path → content for githubtest.Options.Branches.
func sampleShop(b *testing.B) map[string]string {
	files := map[string]string{}
	root := filepath.Join("..", "..", "examples", "shop")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(path)
		rel, _ := filepath.Rel(root, path)
		files[filepath.ToSlash(rel)] = string(content)
		return err
	})
	if err != nil || !strings.Contains(files["base/kustomization.yaml"], `newTag: "1.4.0"`) {
		b.Fatalf("read the sample shop in %s: %v (want web at 1.4.0 in base/kustomization.yaml)", root, err)
	}
	return files
}

// residence is a process's resident set now (VmRSS), its high-water mark (VmHWM), and the
// resident set's anonymous part (RssAnon: heaps, stacks) and file-backed part (RssFile: mostly the
// binary's own pages), in bytes.
type residence struct{ rss, hwm, anon, file int64 }

func memory(pid int) (residence, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return residence{}, fmt.Errorf("read the agent's memory: %w", err)
	}
	defer f.Close()
	var m residence
	for sc := bufio.NewScanner(f); sc.Scan(); {
		key, value, _ := strings.Cut(sc.Text(), ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case key == "VmRSS" && err == nil:
			m.rss = kb << 10
		case key == "VmHWM" && err == nil:
			m.hwm = kb << 10
		case key == "RssAnon" && err == nil:
			m.anon = kb << 10
		case key == "RssFile" && err == nil:
			m.file = kb << 10
		}
	}
	if m.rss == 0 || m.hwm == 0 {
		return m, fmt.Errorf("/proc/%d/status has no VmRSS or VmHWM", pid)
	}
	return m, nil
}

// memstats reads the Go runtime's gauges (go_memstats_*, go_goroutines) from the agent's /metrics.
func memstats(addr string) (map[string]int64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("read the agent's /metrics: %w", err)
	}
	defer resp.Body.Close()
	stats := map[string]int64{}
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || !(strings.HasPrefix(name, "go_memstats_") || name == "go_goroutines") {
			continue
		}
		if f, err := strconv.ParseFloat(value, 64); err == nil {
			stats[name] = int64(f)
		}
	}
	if stats["go_memstats_heap_inuse_bytes"] == 0 {
		return nil, fmt.Errorf("the agent's /metrics (%s) has no go_memstats_heap_inuse_bytes", resp.Status)
	}
	return stats, nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
