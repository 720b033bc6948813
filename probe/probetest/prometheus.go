package probetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Prometheus is a Prometheus server started for one test.
type Prometheus struct {
	url    string
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{} // closed when the process has exited
}

// URL is the server's root ("http://127.0.0.1:40123").
func (p *Prometheus) URL() string { return p.url }

// Stop kills the server now, to test what happens when it is down; cleanup stops it otherwise.
func (p *Prometheus) Stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// StartPrometheus starts /usr/bin/prometheus (or $PROMETHEUS_BIN) on a free loopback port with
// a temporary storage directory, scraping targets ("127.0.0.1:8080") every second, and waits
// until it is ready. It is stopped when the test ends.
func StartPrometheus(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	bin := os.Getenv("PROMETHEUS_BIN")
	if bin == "" {
		bin = "/usr/bin/prometheus"
	}
	if _, err := os.Stat(bin); err != nil {
		msg := fmt.Sprintf("no Prometheus server at %s (set PROMETHEUS_BIN, or apt-get install prometheus): %v", bin, err)
		if os.Getenv("STAGEGATE_REQUIRE_PROMETHEUS") == "1" {
			t.Fatal(msg + "; STAGEGATE_REQUIRE_PROMETHEUS=1 requires it")
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: test
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := &Prometheus{url: "http://" + addr, log: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin,
		"--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("prometheus exited before it was ready: %v\n%s", p.cmd.ProcessState, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus at %s not ready after 30s (last: %v)\n%s", p.url, err, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitForSeries polls prom until query returns at least one series, for the scrape lag after an
// exporter's value changed, and fails the test after 20s.
func WaitForSeries(t testing.TB, prom *Prometheus, query string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := countSeries(prom.URL(), query)
		if err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s returned no series after 20s (last error: %v)", query, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitForValue polls prom until query returns one series whose value satisfies ok: a changed
// gauge is visible only after the next scrape.
func WaitForValue(t testing.TB, prom *Prometheus, query string, ok func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last []float64
	for {
		vs, err := values(prom.URL(), query)
		last = vs
		if err == nil && len(vs) > 0 {
			all := true
			for _, v := range vs {
				all = all && ok(v)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s still answers %v after 20s (last error: %v)", query, last, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func countSeries(root, query string) (int, error) {
	vs, err := values(root, query)
	return len(vs), err
}

func values(root, query string) ([]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	var out []float64
	for _, s := range r.Data.Result {
		var v float64
		if str, ok := s.Value[1].(string); ok {
			fmt.Sscan(str, &v)
		}
		out = append(out, v)
	}
	return out, nil
}

// freeAddr returns a loopback address with a port nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// ClosedAddr returns a loopback address nothing listens on, to stand for a server that is down.
func ClosedAddr(t testing.TB) string { return freeAddr(t) }

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
