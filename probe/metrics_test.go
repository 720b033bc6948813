package probe_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/probe"
	"github.com/stagegate-dev/stagegate/probe/probetest"
)

const (
	sha   = "0123456789abcdef0123456789abcdef01234567"
	other = "fedcba9876543210fedcba9876543210fedcba98"
)

var vars = probe.Vars{Pipeline: "shop", Env: "staging", Target: "prod", Namespace: "shop", SHA: sha, Window: "10s"}

// errorRate and latency select the promoted version's series by the template's SHA, Env and
// Namespace: the exporter serves another version's worse numbers beside them.
var (
	errorRate = config.MetricQuery{Name: "error_rate", Condition: "< 0.01",
		Query: `http_error_ratio{version="{{.SHA}}",env="{{.Env}}",namespace="{{.Namespace}}"}`}
	latency = config.MetricQuery{Name: "p95_latency_seconds", Condition: "< 0.3",
		Query: `max(latency_p95_seconds{version="{{.ShortSHA}}"})`}
)

func labels(version, pod string) map[string]string {
	return map[string]string{"version": version, "env": "staging", "namespace": "shop", "pod": pod}
}

// judge runs the metrics gate of env over facts, as the agent would once the window is over.
func judge(t *testing.T, g config.MetricsGate, facts *gates.MetricsFacts) gates.Result {
	t.Helper()
	env := config.Environment{Name: "prod", Branch: "env/prod", Gates: config.Gates{Metrics: &g}}
	set, err := gates.For(env)
	if err != nil {
		t.Fatal(err)
	}
	in := gates.Input{Pipeline: "shop", Env: env, Now: facts.At,
		Forge:   &gates.ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceArrived: facts.At.Add(-time.Hour)},
		Runtime: &gates.RuntimeFacts{Metrics: facts}}
	for _, r := range set.Evaluate(in) {
		if r.Gate == "metrics" {
			return r
		}
	}
	t.Fatalf("no metrics result")
	return gates.Result{}
}

func query(t *testing.T, g config.MetricsGate, opts probe.Options) *gates.MetricsFacts {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return probe.Metrics(ctx, g, vars, 10*time.Second, time.Now(), opts)
}

func TestMetricsAgainstPrometheus(t *testing.T) {
	exp := probetest.NewExporter(t)
	// Another version's series are bad: a query that did not select by SHA would fail.
	exp.Set("http_error_ratio", labels(other, "old-1"), 0.5)
	exp.Set("latency_p95_seconds", labels(other[:7], "old-1"), 2)
	prom := probetest.StartPrometheus(t, exp.Target())
	probetest.WaitForSeries(t, prom, `http_error_ratio{version="`+other+`"}`)
	g := config.MetricsGate{Prometheus: config.Prometheus{URL: prom.URL(), Timeout: config.Duration{Duration: 5 * time.Second}},
		Window: config.Duration{Duration: 10 * time.Second}, Queries: []config.MetricQuery{errorRate, latency}}

	// Nothing from the promoted version yet: no data, so the gate waits.
	facts := query(t, g, probe.Options{})
	for _, a := range facts.Queries {
		if a.Err != nil || len(a.Series) != 0 {
			t.Errorf("%s before the version ran: series %v, err %v; want an empty answer", a.Name, a.Series, a.Err)
		}
	}
	if a := facts.Queries[0]; a.Query != `http_error_ratio{version="`+sha+`",env="staging",namespace="shop"}` {
		t.Errorf("query sent: %s; want the template executed with the vars", a.Query)
	}
	if r := judge(t, g, facts); r.Outcome != gates.Pending || !strings.Contains(r.Summary, "returned no data for 0123456") || r.RetryAfter.IsZero() {
		t.Errorf("no data: %s %q retry %v; want pending with no data and a retry time", r.Outcome, r.Summary, r.RetryAfter)
	}

	// Low error rate, fast: pass, with the worst values observed.
	exp.Set("http_error_ratio", labels(sha, "web-1"), 0.002)
	exp.Set("http_error_ratio", labels(sha, "web-2"), 0.001)
	exp.Set("latency_p95_seconds", labels(sha[:7], "web-1"), 0.18)
	probetest.WaitForSeries(t, prom, `http_error_ratio{version="`+sha+`",pod="web-2"}`)
	probetest.WaitForSeries(t, prom, `latency_p95_seconds{version="`+sha[:7]+`"}`)
	r := judge(t, g, query(t, g, probe.Options{}))
	want := []gates.Observation{{Name: "error_rate", Value: "0.002", Condition: "< 0.01", OK: true}, {Name: "p95_latency_seconds", Value: "0.18", Condition: "< 0.3", OK: true}}
	if r.Outcome != gates.Pass || !equalObs(r.Observed, want) {
		t.Errorf("low error rate: %s %q %+v; want pass with %+v", r.Outcome, r.Summary, r.Observed, want)
	}
	if r.Summary != "2 queries within thresholds over 10s from 0123456: error_rate 0.002 < 0.01, p95_latency_seconds 0.18 < 0.3" {
		t.Errorf("pass summary: %q", r.Summary)
	}

	// One pod's error rate goes up: the same promotion fails, naming the pod and the threshold.
	exp.Set("http_error_ratio", labels(sha, "web-2"), 0.052)
	probetest.WaitForValue(t, prom, `http_error_ratio{version="`+sha+`",pod="web-2"}`, func(v float64) bool { return v > 0.05 })
	spike := time.Now()
	r = judge(t, g, query(t, g, probe.Options{}))
	if r.Outcome != gates.Fail || len(r.Findings) != 1 || r.Findings[0].Check != "metrics/threshold" ||
		!strings.Contains(r.Findings[0].Message, "error_rate = 0.052 (env=staging, instance=") ||
		!strings.Contains(r.Findings[0].Message, "pod=web-2") || !strings.Contains(r.Findings[0].Message, "not < 0.01") {
		t.Errorf("high error rate: %s %q %+v; want fail with a metrics/threshold finding for pod web-2", r.Outcome, r.Summary, r.Findings)
	}

	// It recovers: the instant query passes again, a range query over the window still sees the spike.
	exp.Set("http_error_ratio", labels(sha, "web-2"), 0.003)
	probetest.WaitForValue(t, prom, `http_error_ratio{version="`+sha+`",pod="web-2"}`, func(v float64) bool { return v < 0.01 })
	if r := judge(t, g, query(t, g, probe.Options{})); r.Outcome != gates.Pass {
		t.Errorf("recovered: %s %q; want pass", r.Outcome, r.Summary)
	}
	ranged := g
	ranged.Queries = []config.MetricQuery{errorRate}
	ranged.Queries[0].Range = true
	ranged.Queries[0].Step = config.Duration{Duration: time.Second}
	facts = query(t, ranged, probe.Options{})
	if a := facts.Queries[0]; a.Err != nil || len(a.Series) != 2 || len(a.Series[0].Values) < 2 || len(a.Series[1].Values) < 2 {
		t.Fatalf("range query: %+v, err %v; want 2 series with a value per second since they appeared", a.Series, a.Err)
	}
	if time.Since(spike) > 8*time.Second {
		t.Logf("the spike is %s old, maybe out of the 10s window: not judging the range query", time.Since(spike))
	} else {
		if r := judge(t, ranged, facts); r.Outcome != gates.Fail || !strings.Contains(r.Summary, "error_rate 0.052 not < 0.01") {
			t.Errorf("range over the spike: %s %q; want fail on 0.052", r.Outcome, r.Summary)
		}
	}

	// A PromQL syntax error is refused by Prometheus: the gate fails, naming the query and the fix.
	broken := g
	broken.Queries = []config.MetricQuery{{Name: "broken", Query: `rate(http_error_ratio[`, Condition: "< 1"}}
	facts = query(t, broken, probe.Options{})
	if e := facts.Queries[0].Err; e == nil || e.Kind != gates.ProbeRefused || !strings.Contains(e.Message, "refused query broken: bad_data: ") ||
		!strings.HasSuffix(e.Message, "; fix gates.metrics.queries[broken].query") || !strings.Contains(e.Message, "prometheus at "+prom.URL()) {
		t.Errorf("syntax error: %+v; want refused, bad_data, naming the query and the fix", e)
	}
	if r := judge(t, broken, facts); r.Outcome != gates.Fail || len(r.Findings) != 1 || r.Findings[0].Check != "metrics/query-failed" {
		t.Errorf("syntax error: %s %q %+v; want fail with metrics/query-failed", r.Outcome, r.Summary, r.Findings)
	}

	t.Run("bearer token and headers through an auth proxy", func(t *testing.T) {
		target, _ := url.Parse(prom.URL())
		proxy := httputil.NewSingleHostReverseProxy(target)
		auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer s3cret-token" || r.Header.Get("X-Scope-OrgID") != "shop" {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		defer auth.Close()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "token"), []byte("s3cret-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		resolve := func(p string) string { return filepath.Join(dir, p) }
		base := config.Prometheus{URL: auth.URL, Headers: map[string]string{"X-Scope-OrgID": "shop"}}
		for _, tc := range []struct {
			name string
			p    func(config.Prometheus) config.Prometheus
			opts probe.Options
			want gates.Outcome
		}{
			{"token from a file, relative to the config", func(p config.Prometheus) config.Prometheus { p.BearerTokenFile = "token"; return p },
				probe.Options{Resolve: resolve}, gates.Pass},
			{"token from an environment variable", func(p config.Prometheus) config.Prometheus { p.BearerTokenEnv = "PROM_TOKEN"; return p },
				probe.Options{Getenv: func(k string) string { return map[string]string{"PROM_TOKEN": " s3cret-token "}[k] }}, gates.Pass},
			{"a wrong token is refused", func(p config.Prometheus) config.Prometheus { p.BearerTokenEnv = "PROM_TOKEN"; return p },
				probe.Options{Getenv: func(string) string { return "wrong-token" }}, gates.Fail},
			{"no token is refused", func(p config.Prometheus) config.Prometheus { return p }, probe.Options{}, gates.Fail},
			{"an unset token variable is refused before sending", func(p config.Prometheus) config.Prometheus { p.BearerTokenEnv = "PROM_TOKEN"; return p },
				probe.Options{Getenv: func(string) string { return "" }}, gates.Fail},
			{"a missing token file is refused", func(p config.Prometheus) config.Prometheus { p.BearerTokenFile = "nope"; return p },
				probe.Options{Resolve: resolve}, gates.Fail},
		} {
			t.Run(tc.name, func(t *testing.T) {
				gg := g
				gg.Prometheus = tc.p(base)
				facts := query(t, gg, tc.opts)
				r := judge(t, gg, facts)
				if r.Outcome != tc.want {
					t.Errorf("%s %q; want %s", r.Outcome, r.Summary, tc.want)
				}
				for _, a := range facts.Queries {
					if a.Err != nil && (strings.Contains(a.Err.Message, "s3cret-token") || strings.Contains(a.Err.Message, "wrong-token")) {
						t.Errorf("the message shows the token: %s", a.Err.Message)
					}
					if tc.want == gates.Fail && (a.Err == nil || a.Err.Kind != gates.ProbeRefused) {
						t.Errorf("%s: err %+v; want refused", a.Name, a.Err)
					}
				}
			})
		}
	})

	t.Run("TLS with a CA file and a path prefix", func(t *testing.T) {
		target, _ := url.Parse(prom.URL())
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewUnstartedServer(http.StripPrefix("/prom", proxy))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
		srv.StartTLS()
		defer srv.Close()
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		gg := g
		gg.Prometheus = config.Prometheus{URL: srv.URL + "/prom/", CAFile: ca}
		if r := judge(t, gg, query(t, gg, probe.Options{})); r.Outcome != gates.Pass {
			t.Errorf("with the CA file: %s %q; want pass", r.Outcome, r.Summary)
		}
		gg.Prometheus.CAFile = ""
		facts := query(t, gg, probe.Options{})
		if e := facts.Queries[0].Err; e == nil || e.Kind != gates.ProbeRefused || !strings.Contains(e.Message, "set gates.metrics.prometheus.caFile") {
			t.Errorf("without the CA file: %+v; want refused, pointing at caFile", e)
		}
		if r := judge(t, gg, facts); r.Outcome == gates.Pass {
			t.Errorf("without the CA file the gate passed")
		}
		gg.Prometheus.CAFile = filepath.Join(t.TempDir(), "missing.pem")
		facts = query(t, gg, probe.Options{})
		if facts.Err == nil || facts.Err.Kind != gates.ProbeRefused || len(facts.Queries) != 0 {
			t.Errorf("a missing CA file: %+v; want refused before any query", facts.Err)
		}
		if r := judge(t, gg, facts); r.Outcome != gates.Fail {
			t.Errorf("a missing CA file: %s %q; want fail", r.Outcome, r.Summary)
		}
	})

	// Prometheus goes down: the same promotion waits, with the reason, and retries.
	prom.Stop()
	facts = query(t, g, probe.Options{})
	if e := facts.Queries[0].Err; e == nil || e.Kind != gates.ProbeUnreachable || !strings.Contains(e.Message, "connection refused") {
		t.Errorf("prometheus stopped: %+v; want unreachable, connection refused", e)
	}
	if r := judge(t, g, facts); r.Outcome != gates.Pending || r.RetryAfter.IsZero() || !strings.Contains(r.Summary, "did not answer query") {
		t.Errorf("prometheus stopped: %s %q retry %v; want pending with the reason and a retry time", r.Outcome, r.Summary, r.RetryAfter)
	}
}

func equalObs(a, b []gates.Observation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
