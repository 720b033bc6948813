package gates

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
)

func TestExternalGate(t *testing.T) {
	gate := config.ExternalGate{Name: "image-scan", URL: "https://scanner.example.com/stagegate", SecretEnv: "SCANNER_SECRET"}
	cve := Finding{Check: "image-scan/critical-cve", Severity: Error, Object: ObjectRef{Kind: "Deployment", Namespace: "shop", Name: "web"},
		Message: "ghcr.io/acme/web:1.4.2 has CVE-2026-1234 (critical)", Fix: "Rebuild on a patched base image."}
	note := Finding{Check: "image-scan/unsigned", Severity: Warning, Message: "ghcr.io/acme/web:1.4.2 is not signed"}
	later := forgeNow.Add(30 * time.Second)
	tests := []struct {
		name     string
		facts    map[string]*ExternalFacts
		want     Outcome
		summary  string
		retry    time.Time
		findings []string
	}{
		{name: "not asked yet waits", want: Pending, summary: "the service has not been asked yet"},
		{name: "another gate's facts are not this one's", facts: map[string]*ExternalFacts{"load-test": {Verdict: Pass}},
			want: Pending, summary: "the service has not been asked yet"},
		{name: "a refused request waits and says what to fix, never fails",
			facts: map[string]*ExternalFacts{"image-scan": {Err: &ProbeError{Kind: ProbeRefused, Message: "401 Unauthorized from https://scanner.example.com/stagegate; check the key in secretEnv SCANNER_SECRET"}}},
			want:  Pending, retry: forgeNow.Add(runtimeRetry),
			summary: "the service refused the request: 401 Unauthorized from https://scanner.example.com/stagegate; check the key in secretEnv SCANNER_SECRET"},
		{name: "a timeout waits",
			facts: map[string]*ExternalFacts{"image-scan": {Err: &ProbeError{Kind: ProbeTimeout, Message: "no answer within 30s"}}},
			want:  Pending, retry: forgeNow.Add(runtimeRetry), summary: "the service did not answer in time: no answer within 30s"},
		{name: "a 5xx waits",
			facts: map[string]*ExternalFacts{"image-scan": {Err: &ProbeError{Kind: ProbeUnreachable, Message: "503 Service Unavailable"}}},
			want:  Pending, retry: forgeNow.Add(runtimeRetry), summary: "the service could not be reached: 503 Service Unavailable"},
		{name: "an unreadable answer waits",
			facts: map[string]*ExternalFacts{"image-scan": {Err: &ProbeError{Kind: ProbeBadAnswer, Message: `unknown verdict "ok"`}}},
			want:  Pending, retry: forgeNow.Add(runtimeRetry), summary: `the service's answer could not be read: unknown verdict "ok"`},
		{name: "pass with the service's summary and a warning",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Pass, Summary: "3 images scanned, no critical CVEs", Findings: []Finding{note}, From: "response"}},
			want:  Pass, summary: "3 images scanned, no critical CVEs", findings: []string{"image-scan/unsigned warning ghcr.io/acme/web:1.4.2 is not signed"}},
		{name: "pass from a commit status: its description is the summary",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Pass, Summary: "load test: p99 180ms", From: "status"}},
			want:  Pass, summary: "load test: p99 180ms"},
		{name: "pass without a summary says so",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Pass}}, want: Pass, summary: "the service passed the promotion"},
		{name: "an error finding fails a pass, as in every gate",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Pass, Summary: "scanned", Findings: []Finding{cve}}},
			want:  Fail, summary: "scanned; 1 error (image-scan/critical-cve on Deployment shop/web)",
			findings: []string{"image-scan/critical-cve error ghcr.io/acme/web:1.4.2 has CVE-2026-1234 (critical)"}},
		{name: "fail with findings",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Fail, Summary: "1 critical CVE", Findings: []Finding{cve, note}}},
			want:  Fail, summary: "1 critical CVE",
			findings: []string{
				"image-scan/unsigned warning ghcr.io/acme/web:1.4.2 is not signed",
				"image-scan/critical-cve error ghcr.io/acme/web:1.4.2 has CVE-2026-1234 (critical)",
			}},
		{name: "fail without a summary counts the findings",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Fail, Findings: []Finding{cve}}},
			want:  Fail, summary: "1 error (image-scan/critical-cve on Deployment shop/web)",
			findings: []string{"image-scan/critical-cve error ghcr.io/acme/web:1.4.2 has CVE-2026-1234 (critical)"}},
		{name: "fail with neither summary nor findings still fails",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Fail}}, want: Fail, summary: "the service failed the promotion"},
		{name: "pending asks again when the service said",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Pending, Summary: "scan queued", RetryAfter: later}},
			want:  Pending, retry: later, summary: "scan queued"},
		{name: "pending with error findings still waits: they are not a verdict",
			facts: map[string]*ExternalFacts{"image-scan": {Verdict: Pending, Findings: []Finding{cve}}},
			want:  Pending, retry: forgeNow.Add(runtimeRetry), summary: "the service has not decided yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Now: forgeNow}
			if tc.facts != nil {
				in.Runtime = &RuntimeFacts{External: tc.facts}
			}
			r := evaluateOne(t, newExternal(gate), in)
			if r.Gate != "image-scan" || r.Outcome != tc.want || r.Summary != tc.summary || !r.RetryAfter.Equal(tc.retry) {
				t.Errorf("got %s %s %q retry %v\nwant %s %q retry %v", r.Gate, r.Outcome, r.Summary, r.RetryAfter, tc.want, tc.summary, tc.retry)
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, string(f.Check)+" "+string(f.Severity)+" "+f.Message)
			}
			if diff := cmp.Diff(tc.findings, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExternalGateOverride: an environment may downgrade one of the service's checks.
func TestExternalGateOverride(t *testing.T) {
	s, err := For(config.Environment{Name: "prod", Gates: config.Gates{External: []config.ExternalGate{{
		GateCommon: config.GateCommon{Severity: map[string]config.Severity{"image-scan/critical-cve": config.SeverityWarning}},
		Name:       "image-scan", URL: "https://scanner.example.com/", SecretEnv: "K",
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Evaluate(Input{Now: forgeNow, Runtime: &RuntimeFacts{External: map[string]*ExternalFacts{"image-scan": {
		Verdict: Fail, Summary: "1 critical CVE",
		Findings: []Finding{{Check: "image-scan/critical-cve", Severity: Error, Message: "CVE-2026-1234"}},
	}}}})[0]
	if r.Outcome != Pass || r.Summary != "1 critical CVE; 1 warning" {
		t.Errorf("got %s %q, want pass: the service's fail came from a finding the environment downgraded", r.Outcome, r.Summary)
	}
}
