package probe

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

var probeNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// counting serves h and counts the requests it received.
func counting(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// judgeHTTP runs the http gate on facts the way the agent does, for a source deployed before
// the requests were sent.
func judgeHTTP(t *testing.T, g config.HTTPGate, facts *gates.HTTPFacts) gates.Result {
	t.Helper()
	s, err := gates.For(config.Environment{Name: "prod", Gates: config.Gates{HTTP: &g}})
	if err != nil {
		t.Fatal(err)
	}
	forge := &gates.ForgeFacts{SourceBranch: "env/staging", SourceSHA: "0123456789abcdef", SourceHasCluster: true, SourceDeployed: probeNow.Add(-time.Hour)}
	return s.Evaluate(gates.Input{Now: probeNow, Forge: forge, Runtime: &gates.RuntimeFacts{HTTP: facts}})[0]
}

func findingChecks(r gates.Result) []string {
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.Check)
	}
	return ids
}

func sleepOrDone(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

func TestHTTPHealthyTargetPasses(t *testing.T) {
	var badUA atomic.Int64
	srv, n := counting(t, func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "stagegate" || r.Header.Get("X-Canary") != "1" || r.Method != http.MethodPost {
			badUA.Add(1)
		}
		w.Write([]byte(`{"ok": true}`))
	})
	g := config.HTTPGate{Requests: 7, Targets: []config.HTTPTarget{{Name: "checkout", URL: srv.URL + "/checkout", Method: "POST", Body: "{}",
		Headers: map[string]string{"X-Canary": "1"}, BodyMatch: `"ok":\s*true`, P95: config.Duration{Duration: 2 * time.Second}}}}
	facts := HTTP(t.Context(), g, Options{Now: func() time.Time { return probeNow }})
	if got := n.Load(); got != 7 {
		t.Errorf("the server received %d requests, want exactly 7", got)
	}
	if badUA.Load() != 0 {
		t.Errorf("%d requests lacked the method, User-Agent stagegate or the configured header", badUA.Load())
	}
	if !facts.At.Equal(probeNow) || len(facts.Targets) != 1 || len(facts.Targets[0].Samples) != 7 {
		t.Fatalf("facts = %+v", facts)
	}
	for i, s := range facts.Targets[0].Samples {
		if s.Status != 200 || !s.BodyMatched || s.Err != nil || s.Latency <= 0 {
			t.Errorf("sample %d = %+v", i, s)
		}
	}
	if r := judgeHTTP(t, g, facts); r.Outcome != gates.Pass || r.Summary != "1 target answered as expected, 7 requests each" {
		t.Errorf("gate: %s %q %v", r.Outcome, r.Summary, r.Findings)
	}
}

func TestHTTPFailingAnswers(t *testing.T) {
	failing, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	wrongBody, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>maintenance</html>"))
	})
	g := config.HTTPGate{Requests: 3, Targets: []config.HTTPTarget{
		{Name: "api", URL: failing.URL},
		{Name: "home", URL: wrongBody.URL, BodyMatch: "Welcome"},
	}}
	facts := HTTP(t.Context(), g, Options{Now: func() time.Time { return probeNow }})
	r := judgeHTTP(t, g, facts)
	if r.Outcome != gates.Fail || r.Summary != "api: 3 of 3 answers were 500, want 200 (and 1 more)" {
		t.Errorf("gate: %s %q", r.Outcome, r.Summary)
	}
	if got := strings.Join(findingChecks(r), " "); got != "http/status http/body" && got != "http/body http/status" {
		t.Errorf("findings %s, want http/status and http/body", got)
	}
}

func TestHTTPSlowAnswers(t *testing.T) {
	t.Run("slower than the timeout: timeouts, bounded in time", func(t *testing.T) {
		srv, n := counting(t, func(w http.ResponseWriter, r *http.Request) { sleepOrDone(r, 5*time.Second) })
		g := config.HTTPGate{Requests: 3, Timeout: config.Duration{Duration: 100 * time.Millisecond}, Targets: []config.HTTPTarget{{Name: "slow", URL: srv.URL}}}
		start := time.Now()
		facts := HTTP(t.Context(), g, Options{})
		if took := time.Since(start); took > 3*100*time.Millisecond+time.Second {
			t.Errorf("took %s; 3 requests of 100ms at most should take little over 300ms", took)
		}
		if n.Load() != 3 {
			t.Errorf("the server received %d requests, want 3", n.Load())
		}
		for i, s := range facts.Targets[0].Samples {
			if s.Err == nil || s.Err.Kind != gates.ProbeTimeout || !strings.Contains(s.Err.Message, "slow ("+srv.URL+") did not answer within 100ms") {
				t.Errorf("sample %d = %+v, want a timeout naming the target and URL", i, s)
			}
		}
		r := judgeHTTP(t, g, facts)
		if r.Outcome != gates.Fail || !strings.HasPrefix(r.Summary, "slow: 3 of 3 requests got no answer (timeout: ") {
			t.Errorf("gate: %s %q", r.Outcome, r.Summary)
		}
	})
	t.Run("within the timeout but over the p95 budget", func(t *testing.T) {
		srv, _ := counting(t, func(w http.ResponseWriter, r *http.Request) { sleepOrDone(r, 60*time.Millisecond) })
		g := config.HTTPGate{Requests: 2, Timeout: config.Duration{Duration: 5 * time.Second},
			Targets: []config.HTTPTarget{{Name: "slow", URL: srv.URL, P95: config.Duration{Duration: 20 * time.Millisecond}}}}
		facts := HTTP(t.Context(), g, Options{})
		for i, s := range facts.Targets[0].Samples {
			if s.Err != nil || s.Status != 200 || s.Latency < 60*time.Millisecond {
				t.Errorf("sample %d = %+v, want a 200 after 60ms or more", i, s)
			}
		}
		r := judgeHTTP(t, g, facts)
		if r.Outcome != gates.Fail || !strings.Contains(r.Summary, " > 20ms budget (2 answers)") || strings.Join(findingChecks(r), " ") != "http/latency" {
			t.Errorf("gate: %s %q %v", r.Outcome, r.Summary, findingChecks(r))
		}
		if len(r.Observed) != 2 || r.Observed[1].Name != "slow p95" || r.Observed[1].OK {
			t.Errorf("observed %+v", r.Observed)
		}
	})
	t.Run("a cancelled context stops sending", func(t *testing.T) {
		srv, n := counting(t, func(w http.ResponseWriter, r *http.Request) {})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		HTTP(ctx, config.HTTPGate{Requests: 50, Targets: []config.HTTPTarget{{Name: "a", URL: srv.URL}}}, Options{})
		if n.Load() != 0 {
			t.Errorf("sent %d requests after the context ended", n.Load())
		}
	})
}

func TestHTTPDoesNotFollowRedirects(t *testing.T) {
	elsewhere, reached := counting(t, func(w http.ResponseWriter, r *http.Request) {})
	srv, _ := counting(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/login", http.StatusFound)
	})
	g := config.HTTPGate{Requests: 4, Targets: []config.HTTPTarget{{Name: "home", URL: srv.URL}}}
	facts := HTTP(t.Context(), g, Options{})
	if reached.Load() != 0 {
		t.Errorf("the redirect's target received %d requests; redirects must not be followed", reached.Load())
	}
	for i, s := range facts.Targets[0].Samples {
		if s.Status != http.StatusFound {
			t.Errorf("sample %d status %d, want the 302 itself", i, s.Status)
		}
	}
	if r := judgeHTTP(t, g, facts); r.Outcome != gates.Fail || r.Summary != "home: 4 of 4 answers were 302, want 200" {
		t.Errorf("gate: %s %q", r.Outcome, r.Summary)
	}
	g.Targets[0].Status = []int{302}
	if r := judgeHTTP(t, g, facts); r.Outcome != gates.Pass {
		t.Errorf("with status [302]: %s %q", r.Outcome, r.Summary)
	}
}

func TestHTTPUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	g := config.HTTPGate{Requests: 2, Targets: []config.HTTPTarget{{Name: "gone", URL: url}}}
	facts := HTTP(t.Context(), g, Options{})
	for i, s := range facts.Targets[0].Samples {
		if s.Err == nil || s.Err.Kind != gates.ProbeUnreachable || !strings.HasPrefix(s.Err.Message, "gone ("+url+"): ") {
			t.Errorf("sample %d = %+v", i, s)
		}
	}
	if r := judgeHTTP(t, g, facts); r.Outcome != gates.Fail || findingChecks(r)[0] != "http/unreachable" {
		t.Errorf("gate: %s %q", r.Outcome, r.Summary)
	}
}

func TestHTTPTrustsCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	resolve := func(p string) string { return filepath.Join(dir, p) }
	g := config.HTTPGate{Requests: 2, Targets: []config.HTTPTarget{{Name: "tls", URL: srv.URL, BodyMatch: "^ok$"}}}

	facts := HTTP(t.Context(), g, Options{Resolve: resolve})
	if s := facts.Targets[0].Samples[0]; s.Err == nil || s.Err.Kind != gates.ProbeUnreachable || !strings.Contains(s.Err.Message, "certificate") {
		t.Errorf("without caFile: %+v, want a certificate error", s)
	}

	g.CAFile = "ca.pem"
	facts = HTTP(t.Context(), g, Options{Resolve: resolve})
	if r := judgeHTTP(t, g, facts); r.Outcome != gates.Pass {
		t.Errorf("with caFile: %s %q", r.Outcome, r.Summary)
	}

	g.CAFile = "missing.pem"
	facts = HTTP(t.Context(), g, Options{Resolve: resolve})
	if s := facts.Targets[0].Samples; len(s) != 1 || s[0].Err == nil || s[0].Err.Kind != gates.ProbeRefused || !strings.Contains(s[0].Err.Message, "caFile") {
		t.Errorf("with a missing caFile: %+v", s)
	}
}
