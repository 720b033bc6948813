package probe

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

const scanKey = "s3cr3t-key"

func scanEnv(string) string { return scanKey }

var examplePromotion = Promotion{
	Pipeline:        "shop",
	Source:          Ref{Environment: "staging", Branch: "env/staging", SHA: "9f1c2ab44e0d7c3b5a6f8e9d0c1b2a3f4e5d6c7b"},
	Target:          Ref{Environment: "prod", Branch: "env/prod", SHA: "3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d"},
	PromotionCommit: "c0ffee00112233445566778899aabbccddeeff00",
	RenderedDigest:  "sha256:2f5e0c8b9d6a4f3e1c7b5a9d8e6f4c2b0a1d3e5f7c9b8a6d4e2f0c1b3a5d7e9f",
	Images:          []string{"ghcr.io/acme/shop-web:1.4.2", "ghcr.io/acme/worker@sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"},
	Request:         &Request{Number: 42, URL: "https://github.com/acme/shop-deploy/pull/42"},
}

// scanService is a test external service: it verifies the signature (401 when it does not
// match) and answers with answer(n, delivery), n counting the signed POSTs from 1.
func scanService(t *testing.T, answer func(n int64, w http.ResponseWriter, p Promotion)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign([]byte(scanKey), body))) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p Promotion
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.UserAgent() != "stagegate" ||
			r.Header.Get(DeliveryHeader) != p.DeliveryID || r.Header.Get(GateHeader) != p.Gate {
			t.Errorf("request %s %v does not follow the contract", r.Method, r.Header)
		}
		answer(n.Add(1), w, p)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// judgeExternal runs the external gate g on facts the way the agent does.
func judgeExternal(t *testing.T, g config.ExternalGate, facts *gates.ExternalFacts) gates.Result {
	t.Helper()
	s, err := gates.For(config.Environment{Name: "prod", Gates: config.Gates{External: []config.ExternalGate{g}}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Evaluate(gates.Input{Now: probeNow, Runtime: &gates.RuntimeFacts{External: map[string]*gates.ExternalFacts{g.Name: facts}}})[0]
}

func TestExternalPendingThenPass(t *testing.T) {
	var deliveries []string
	srv, n := scanService(t, func(n int64, w http.ResponseWriter, p Promotion) {
		deliveries = append(deliveries, p.DeliveryID)
		if n == 1 {
			w.Write([]byte(`{"verdict": "pending", "summary": "scan queued", "retryAfter": "45s"}`))
			return
		}
		w.Write([]byte(`{"verdict": "pass", "summary": "2 images scanned, no critical CVEs", "url": "https://scanner.example.com/r/1",
			"findings": [{"id": "unsigned-image", "severity": "warning", "message": "ghcr.io/acme/worker is not signed", "object": {"kind": "Deployment", "namespace": "shop", "name": "worker"}}]}`))
	})
	g := config.ExternalGate{Name: "image-scan", URL: srv.URL, SecretEnv: "SCANNER_SECRET"}
	opts := Options{Getenv: scanEnv, Now: func() time.Time { return probeNow }}

	first := External(t.Context(), g, examplePromotion, opts)
	if first.Err != nil || first.Verdict != gates.Pending || !first.RetryAfter.Equal(probeNow.Add(45*time.Second)) {
		t.Fatalf("first answer: %+v %v", first, first.Err)
	}
	r := judgeExternal(t, g, first)
	if r.Outcome != gates.Pending || r.Summary != "scan queued" || !r.RetryAfter.Equal(probeNow.Add(45*time.Second)) {
		t.Errorf("gate after the first answer: %s %q %v", r.Outcome, r.Summary, r.RetryAfter)
	}

	second := External(t.Context(), g, examplePromotion, opts)
	r = judgeExternal(t, g, second)
	if r.Outcome != gates.Pass || r.Summary != "2 images scanned, no critical CVEs" || second.URL != "https://scanner.example.com/r/1" || second.From != "response" {
		t.Errorf("gate after the second answer: %s %q (%+v)", r.Outcome, r.Summary, second)
	}
	want := []gates.Finding{{Check: "image-scan/unsigned-image", Severity: config.SeverityWarning, Message: "ghcr.io/acme/worker is not signed",
		Object: gates.ObjectRef{Kind: "Deployment", Namespace: "shop", Name: "worker"}}}
	if diff := cmp.Diff(want, r.Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if n.Load() != 2 || len(deliveries) != 2 || deliveries[0] != deliveries[1] || deliveries[0] != DeliveryID("image-scan", examplePromotion.PromotionCommit) {
		t.Errorf("deliveries %v: want two POSTs with the same id", deliveries)
	}
	if DeliveryID("image-scan", "c0ffee01") == DeliveryID("image-scan", "c0ffee02") || DeliveryID("a", "x") == DeliveryID("b", "x") {
		t.Error("delivery ids of different commits or gates must differ")
	}
}

func TestExternalAnswers(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    gates.Outcome
		summary string
		retry   time.Duration
		checks  []string
	}{
		{name: "202 with no body waits for a status or the next POST", status: 202, want: gates.Pending,
			summary: "the service accepted the request; its verdict comes later", retry: 30 * time.Second},
		{name: "202 honours Retry-After", status: 202, header: map[string]string{"Retry-After": "120"}, body: "queued", want: gates.Pending,
			summary: "the service accepted the request; its verdict comes later", retry: 2 * time.Minute},
		{name: "a pending verdict's retryAfter in seconds, bounded below by 5s", status: 200, body: `{"verdict":"pending","retryAfter":1}`, want: gates.Pending,
			summary: "the service has not decided yet", retry: 5 * time.Second},
		{name: "and above by 1h", status: 200, body: `{"verdict":"pending","retryAfter":"48h"}`, want: gates.Pending,
			summary: "the service has not decided yet", retry: time.Hour},
		{name: "fail with findings", status: 200, want: gates.Fail, summary: "1 critical CVE",
			body:   `{"verdict":"fail","summary":"1 critical CVE","findings":[{"id":"critical-cve","severity":"error","message":"CVE-2026-1234 in ghcr.io/acme/shop-web:1.4.2","fix":"Rebuild on a patched base."}]}`,
			checks: []string{"image-scan/critical-cve"}},
		{name: "a pass with an error finding fails, as in every gate", status: 200, want: gates.Fail,
			body:    `{"verdict":"pass","findings":[{"id":"critical-cve","message":"CVE-2026-1234"}]}`,
			summary: "1 error (image-scan/critical-cve on the rendering)", checks: []string{"image-scan/critical-cve"}},
		{name: "500 waits", status: 500, body: "database down", want: gates.Pending, retry: time.Minute,
			summary: "the service could not be reached: 500 Internal Server Error from URL: database down"},
		{name: "an unknown verdict waits", status: 200, body: `{"verdict":"ok"}`, want: gates.Pending, retry: time.Minute,
			summary: `the service's answer could not be read: the answer of URL has verdict "ok"; want pass, fail or pending`},
		{name: "an answer that is not JSON waits", status: 200, body: `<html>`, want: gates.Pending, retry: time.Minute,
			summary: "the service's answer could not be read: the answer of URL is not the contract's JSON: invalid character '<' looking for beginning of value"},
		{name: "a finding id that cannot be a check waits", status: 200, body: `{"verdict":"fail","findings":[{"id":"Bad ID"}]}`, want: gates.Pending, retry: time.Minute,
			summary: `the service's answer could not be read: the answer of URL: findings[0].id "Bad ID": want lowercase letters, digits and '-', like critical-cve`},
		{name: "404 is the config's problem and waits", status: 404, want: gates.Pending, retry: time.Minute,
			summary: "the service refused the request: 404 Not Found from URL; check url and the service's logs for delivery " + DeliveryID("image-scan", examplePromotion.PromotionCommit)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := scanService(t, func(_ int64, w http.ResponseWriter, _ Promotion) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			g := config.ExternalGate{Name: "image-scan", URL: srv.URL, SecretEnv: "SCANNER_SECRET"}
			facts := External(t.Context(), g, examplePromotion, Options{Getenv: scanEnv, Now: func() time.Time { return probeNow }})
			r := judgeExternal(t, g, facts)
			summary := strings.ReplaceAll(tc.summary, "URL", srv.URL)
			var retry time.Time
			if tc.retry > 0 {
				retry = probeNow.Add(tc.retry)
			}
			if r.Outcome != tc.want || r.Summary != summary || !r.RetryAfter.Equal(retry) {
				t.Errorf("got %s %q retry %v\nwant %s %q retry %v", r.Outcome, r.Summary, r.RetryAfter, tc.want, summary, retry)
			}
			var checks []string
			for _, f := range r.Findings {
				checks = append(checks, f.Check)
			}
			if diff := cmp.Diff(tc.checks, checks); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExternalAgentErrorsOnlyWait: whatever keeps the agent from asking, the gate waits and says
// what to fix; it never fails, since a failure would be posted as stagegate/<name> and read back
// as the service's verdict.
func TestExternalAgentErrorsOnlyWait(t *testing.T) {
	srv, n := scanService(t, func(_ int64, w http.ResponseWriter, _ Promotion) { w.Write([]byte(`{"verdict":"pass"}`)) })
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // the server notices the client gone only once the body is read
		sleepOrDone(r, 5*time.Second)
	}))
	t.Cleanup(slow.Close)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "empty.key"), []byte(" \n"), 0o600)
	os.WriteFile(filepath.Join(dir, "right.key"), []byte(scanKey+"\n"), 0o600)
	resolve := func(p string) string { return filepath.Join(dir, p) }
	tests := []struct {
		name    string
		gate    config.ExternalGate
		getenv  func(string) string
		kind    gates.ProbeErrorKind
		summary string
	}{
		{name: "a wrong key: the service answers 401",
			gate:   config.ExternalGate{Name: "image-scan", URL: srv.URL, SecretEnv: "SCANNER_SECRET"},
			getenv: func(string) string { return "wrong" }, kind: gates.ProbeRefused,
			summary: "the service refused the request: 401 Unauthorized from " + srv.URL + ": bad signature; check that the key in secretEnv SCANNER_SECRET is the one the service verifies signatures with"},
		{name: "no key in the environment",
			gate:   config.ExternalGate{Name: "image-scan", URL: srv.URL, SecretEnv: "SCANNER_SECRET"},
			getenv: func(string) string { return "" }, kind: gates.ProbeRefused,
			summary: "the service refused the request: the environment variable SCANNER_SECRET is not set; set it to the gate's HMAC key"},
		{name: "an empty secretFile",
			gate: config.ExternalGate{Name: "image-scan", URL: srv.URL, SecretFile: "empty.key"}, kind: gates.ProbeRefused,
			summary: "the service refused the request: secretFile empty.key is empty; write the gate's HMAC key in it"},
		{name: "a service slower than the timeout",
			gate: config.ExternalGate{Name: "image-scan", URL: slow.URL, SecretFile: "right.key", Timeout: config.Duration{Duration: 100 * time.Millisecond}}, kind: gates.ProbeTimeout,
			summary: "the service did not answer in time: " + slow.URL + " did not answer within 100ms; make the service answer 202 at once and post its verdict as a status, or raise timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			facts := External(t.Context(), tc.gate, examplePromotion, Options{Getenv: tc.getenv, Resolve: resolve, Now: func() time.Time { return probeNow }})
			if facts.Err == nil || facts.Err.Kind != tc.kind {
				t.Fatalf("facts %+v, want a %s error", facts, tc.kind)
			}
			r := judgeExternal(t, tc.gate, facts)
			if r.Outcome != gates.Pending || r.Summary != tc.summary || !r.RetryAfter.Equal(probeNow.Add(time.Minute)) {
				t.Errorf("got %s %q retry %v\nwant pending %q", r.Outcome, r.Summary, r.RetryAfter, tc.summary)
			}
		})
	}
	if n.Load() != 0 {
		t.Errorf("the service accepted %d requests; none was signed with its key", n.Load())
	}
	// With the right key from secretFile it passes.
	g := config.ExternalGate{Name: "image-scan", URL: srv.URL, SecretFile: "right.key"}
	if r := judgeExternal(t, g, External(t.Context(), g, examplePromotion, Options{Resolve: resolve})); r.Outcome != gates.Pass {
		t.Errorf("with the right key: %s %q", r.Outcome, r.Summary)
	}
}
