package gates

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
)

func TestHTTPGate(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	deployed := &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: forgeNow.Add(-10 * time.Minute)}
	gate := config.HTTPGate{Requests: 4, Targets: []config.HTTPTarget{
		{Name: "checkout", URL: "https://staging.example.com/checkout", BodyMatch: "ok", P95: config.Duration{Duration: 300 * time.Millisecond}},
		{Name: "home", URL: "https://staging.example.com/", Status: []int{200, 204}},
	}}
	ok := func(ms ...int) []HTTPSample {
		var s []HTTPSample
		for _, m := range ms {
			s = append(s, HTTPSample{Status: 200, Latency: time.Duration(m) * time.Millisecond, BodyMatched: true})
		}
		return s
	}
	facts := func(checkout, home []HTTPSample) *RuntimeFacts {
		return &RuntimeFacts{HTTP: &HTTPFacts{At: forgeNow, Targets: []HTTPTargetFacts{
			{Name: "checkout", URL: "https://staging.example.com/checkout", Samples: checkout},
			{Name: "home", URL: "https://staging.example.com/", Samples: home},
		}}}
	}
	timeout := HTTPSample{Latency: time.Second, Err: &ProbeError{Kind: ProbeTimeout, Message: "checkout (https://staging.example.com/checkout) did not answer within 1s"}}
	tests := []struct {
		name     string
		forge    *ForgeFacts
		runtime  *RuntimeFacts
		want     Outcome
		summary  string
		findings []string
		observed []Observation
	}{
		{name: "without promotion facts it waits", runtime: facts(ok(1, 2, 3, 4), ok(1, 1, 1, 1)), want: Pending,
			summary: "whether the source runs the commit is not known here; the agent gathers it for a promotion"},
		{name: "a source that has not deployed the commit waits",
			forge: &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceHasCluster: true}, runtime: facts(ok(1, 2, 3, 4), ok(1, 1, 1, 1)),
			want: Pending, summary: "0123456 is not deployed from env/staging yet"},
		{name: "no requests sent yet", forge: deployed, want: Pending, summary: "the requests have not been sent yet"},
		{name: "requests sent before the source ran the commit for the delay judged the old version", forge: deployed,
			runtime: func() *RuntimeFacts {
				f := facts(ok(1, 2, 3, 4), ok(1, 1, 1, 1))
				f.HTTP.At = forgeNow.Add(-20 * time.Minute)
				return f
			}(),
			want: Pending, summary: "the requests were sent before 0123456 had run on env/staging for the delay; waiting for the next ones"},
		{name: "within the delay after the deploy it waits for old pods to go",
			forge:   &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: forgeNow.Add(-30 * time.Second)},
			runtime: facts(ok(1, 2, 3, 4), ok(1, 1, 1, 1)), want: Pending,
			summary: "waiting until 2026-11-23T12:00:30Z to send requests to env/staging: 0123456 deployed since 2026-11-23T11:59:30Z, delay 1m"},
		{name: "without a cluster the delay counts from the commit's arrival",
			forge:   &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceArrived: forgeNow.Add(-30 * time.Second)},
			runtime: facts(ok(1, 2, 3, 4), ok(1, 1, 1, 1)), want: Pending,
			summary: "waiting until 2026-11-23T12:00:30Z to send requests to env/staging: 0123456 on env/staging since 2026-11-23T11:59:30Z, delay 1m"},
		{name: "a round cut short is not judged", forge: deployed, runtime: facts(ok(1, 2, 3), ok(1, 1, 1, 1)), want: Pending,
			summary: "the round of requests to checkout was cut short (3 of 4 sent); sending again"},
		{name: "a target with no samples waits", forge: deployed, runtime: facts(ok(1, 2, 3, 4), nil), want: Pending,
			summary: "no requests have been sent to home yet"},
		{name: "every answer good passes with observations", forge: deployed, runtime: facts(ok(100, 120, 250, 300), ok(1, 1, 1, 1)), want: Pass,
			summary: "2 targets answered as expected, 4 requests each",
			observed: []Observation{
				{Name: "checkout", Value: "4/4 ok", Condition: "4/4", OK: true},
				{Name: "checkout p95", Value: "300ms", Condition: "<= 300ms", OK: true},
				{Name: "home", Value: "4/4 ok", Condition: "4/4", OK: true},
			}},
		{name: "bad statuses are counted, most frequent first", forge: deployed,
			runtime: facts(ok(1, 1, 1, 1), []HTTPSample{{Status: 503}, {Status: 503}, {Status: 500}, {Status: 204}}), want: Fail,
			summary:  "home: 3 of 4 answers were 503 (2) or 500 (1), want 200 or 204",
			findings: []string{"http/status error home: 3 of 4 answers were 503 (2) or 500 (1), want 200 or 204"}},
		{name: "a p95 above the budget fails, nearest rank", forge: deployed, runtime: facts(ok(100, 120, 250, 412), ok(1, 1, 1, 1)), want: Fail,
			summary:  "checkout: p95 412ms > 300ms budget (4 answers)",
			findings: []string{"http/latency error checkout: p95 412ms > 300ms budget (4 answers)"}},
		{name: "a body that does not match fails", forge: deployed,
			runtime: facts(append(ok(1, 1, 1), HTTPSample{Status: 200, Latency: time.Millisecond}), ok(1, 1, 1, 1)), want: Fail,
			summary:  `checkout: 1 of 4 answers did not match bodyMatch "ok"`,
			findings: []string{`http/body error checkout: 1 of 4 answers did not match bodyMatch "ok"`}},
		{name: "requests with no answer fail the gate rather than wait, and do not count in the p95", forge: deployed,
			runtime: facts(append(ok(10, 10, 10), timeout), ok(1, 1, 1, 1)), want: Fail,
			summary:  "checkout: 1 of 4 requests got no answer (timeout: checkout (https://staging.example.com/checkout) did not answer within 1s)",
			findings: []string{"http/unreachable error checkout: 1 of 4 requests got no answer (timeout: checkout (https://staging.example.com/checkout) did not answer within 1s)"}},
		{name: "a target that never answers fails and has no p95", forge: deployed,
			runtime: facts([]HTTPSample{timeout, timeout, timeout, timeout}, ok(1, 1, 1, 1)), want: Fail,
			summary:  "checkout: 4 of 4 requests got no answer (timeout: checkout (https://staging.example.com/checkout) did not answer within 1s); 1 error (http/unreachable on the rendering)",
			findings: []string{"http/unreachable error checkout: 4 of 4 requests got no answer (timeout: checkout (https://staging.example.com/checkout) did not answer within 1s)"},
			observed: []Observation{
				{Name: "checkout", Value: "0/4 ok", Condition: "4/4"},
				{Name: "home", Value: "4/4 ok", Condition: "4/4", OK: true},
			}},
		{name: "several problems: the first in target order, and how many more", forge: deployed,
			runtime: facts(ok(1, 1, 1, 900), []HTTPSample{{Status: 404}, {Status: 200}, {Status: 200}, {Status: 200}}), want: Fail,
			summary: "checkout: p95 900ms > 300ms budget (4 answers) (and 1 more)",
			findings: []string{
				"http/latency error checkout: p95 900ms > 300ms budget (4 answers)",
				"http/status error home: 1 of 4 answers were 404, want 200 or 204",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluateOne(t, newHTTP(gate), Input{Now: forgeNow, Forge: tc.forge, Runtime: tc.runtime})
			if r.Outcome != tc.want || r.Summary != tc.summary {
				t.Errorf("got %s %q\nwant %s %q", r.Outcome, r.Summary, tc.want, tc.summary)
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, string(f.Check)+" "+string(f.Severity)+" "+f.Message)
			}
			if diff := cmp.Diff(tc.findings, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if tc.observed != nil {
				if diff := cmp.Diff(tc.observed, r.Observed); diff != "" {
					t.Errorf("observed (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestHTTPGateLatencyOverride: a latency budget turned into a warning lets the gate pass, and
// the summary says why it passed with what it saw.
func TestHTTPGateLatencyOverride(t *testing.T) {
	env := config.Environment{Name: "prod", Gates: config.Gates{HTTP: &config.HTTPGate{
		GateCommon: config.GateCommon{Severity: map[string]config.Severity{"http/latency": config.SeverityWarning}},
		Requests:   1,
		Targets:    []config.HTTPTarget{{Name: "home", URL: "https://staging.example.com/", P95: config.Duration{Duration: time.Millisecond}}},
	}}}
	s, err := For(env)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Evaluate(Input{Now: forgeNow, Forge: &ForgeFacts{SourceSHA: "abc", SourceArrived: forgeNow.Add(-time.Hour)}, Runtime: &RuntimeFacts{HTTP: &HTTPFacts{At: forgeNow, Targets: []HTTPTargetFacts{
		{Name: "home", Samples: []HTTPSample{{Status: 200, Latency: 5 * time.Millisecond, BodyMatched: true}}},
	}}}})[0]
	if r.Outcome != Pass || r.Summary != "home: p95 5ms > 1ms budget (1 answer); 1 warning" {
		t.Errorf("got %s %q", r.Outcome, r.Summary)
	}
}

func TestHTTPGatePercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range xs {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{ms(7), 7 * time.Millisecond},
		{ms(5, 1, 3), 5 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 19 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21), 20 * time.Millisecond},
	} {
		if got := percentile(tc.in, 95); got != tc.want {
			t.Errorf("p95 of %v = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestHTTPChecksDocumented holds docs/gates.md to the http gate's checks.
func TestHTTPChecksDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/gates.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range httpChecks {
		if !strings.Contains(string(doc), "\n### "+c.ID+"\n") {
			t.Errorf("docs/gates.md has no section \"### %s\"", c.ID)
		}
	}
}

// TestHTTPGateSummaryHonoursOverrides: the summary Evaluate keeps never names a finding the
// environment turned off, and names an error before a downgraded one.
func TestHTTPGateSummaryHonoursOverrides(t *testing.T) {
	facts := &RuntimeFacts{HTTP: &HTTPFacts{At: forgeNow, Targets: []HTTPTargetFacts{
		{Name: "a", Samples: []HTTPSample{{Status: 503, Latency: 900 * time.Millisecond}}},
		{Name: "b", Samples: []HTTPSample{{Status: 404, Latency: time.Millisecond}}},
	}}}
	targets := []config.HTTPTarget{{Name: "a", URL: "https://a.example.com/", P95: config.Duration{Duration: 100 * time.Millisecond}}, {Name: "b", URL: "https://b.example.com/"}}
	for _, tc := range []struct {
		overrides map[string]config.Severity
		want      Outcome
		summary   string
	}{
		{nil, Fail, "a: 1 of 1 answers were 503, want 200 (and 2 more)"},
		{map[string]config.Severity{"http/status": config.SeverityOff}, Fail, "a: p95 900ms > 100ms budget (1 answer)"},
		{map[string]config.Severity{"http/status": config.SeverityWarning}, Fail, "a: p95 900ms > 100ms budget (1 answer) (and 2 more)"},
		{map[string]config.Severity{"http/status": config.SeverityOff, "http/latency": config.SeverityWarning}, Pass, "a: p95 900ms > 100ms budget (1 answer); 1 warning"},
	} {
		s, err := For(config.Environment{Name: "prod", Gates: config.Gates{HTTP: &config.HTTPGate{GateCommon: config.GateCommon{Severity: tc.overrides}, Requests: 1, Targets: targets}}})
		if err != nil {
			t.Fatal(err)
		}
		r := s.Evaluate(Input{Now: forgeNow, Forge: &ForgeFacts{SourceSHA: "abc", SourceArrived: forgeNow.Add(-time.Hour)}, Runtime: facts})[0]
		if r.Outcome != tc.want || r.Summary != tc.summary {
			t.Errorf("with %v: got %s %q, want %s %q", tc.overrides, r.Outcome, r.Summary, tc.want, tc.summary)
		}
	}
}

// TestHTTPGateNeverPassesATargetThatAnsweredNothing: with http/unreachable lowered, a target
// that answered none of its requests still keeps the gate from passing.
func TestHTTPGateNeverPassesATargetThatAnsweredNothing(t *testing.T) {
	for _, sev := range []config.Severity{config.SeverityWarning, config.SeverityOff} {
		s, err := For(config.Environment{Name: "prod", Gates: config.Gates{HTTP: &config.HTTPGate{
			GateCommon: config.GateCommon{Severity: map[string]config.Severity{"http/unreachable": sev}},
			Requests:   2, Targets: []config.HTTPTarget{{Name: "home", URL: "https://staging.example.com/"}},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		down := HTTPSample{Err: &ProbeError{Kind: ProbeUnreachable, Message: "connection refused"}}
		r := s.Evaluate(Input{Now: forgeNow, Forge: &ForgeFacts{SourceSHA: "abc", SourceArrived: forgeNow.Add(-time.Hour)},
			Runtime: &RuntimeFacts{HTTP: &HTTPFacts{At: forgeNow, Targets: []HTTPTargetFacts{{Name: "home", Samples: []HTTPSample{down, down}}}}}})[0]
		if r.Outcome != Pending {
			t.Errorf("http/unreachable %s, nothing answered: got %s %q, want pending", sev, r.Outcome, r.Summary)
		}
	}
}
