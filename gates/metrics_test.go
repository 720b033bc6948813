package gates

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
)

func TestMetrics(t *testing.T) {
	const sha = "abcdef0123456789abcdef0123456789abcdef01"
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	deployed := now.Add(-time.Hour)
	gate := config.MetricsGate{
		Prometheus: config.Prometheus{URL: "http://prometheus:9090"},
		Window:     config.Duration{Duration: 10 * time.Minute},
		Queries: []config.MetricQuery{
			{Name: "error_rate", Query: `error_rate{version="{{.SHA}}"}`, Condition: "< 0.01"},
			{Name: "p95", Query: `p95{version="{{.SHA}}"}`, Condition: "< 0.3", Range: true},
		},
	}
	forge := &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: deployed}
	series := func(labels map[string]string, values ...float64) MetricSeries {
		return MetricSeries{Labels: labels, Values: values}
	}
	answers := func(errRate, p95 []MetricSeries) *RuntimeFacts {
		return &RuntimeFacts{Metrics: &MetricsFacts{At: now, Window: 10 * time.Minute, Queries: []QueryAnswer{
			{Name: "error_rate", Series: errRate},
			{Name: "p95", Series: p95},
		}}}
	}
	withErr := func(kind ProbeErrorKind, msg string) *RuntimeFacts {
		rt := answers([]MetricSeries{series(nil, 0.002)}, nil)
		rt.Metrics.Queries[1].Err = &ProbeError{Kind: kind, Message: msg}
		return rt
	}
	good := []MetricSeries{series(map[string]string{"pod": "web-1"}, 0.0021), series(map[string]string{"pod": "web-2"}, 0.001)}
	fast := []MetricSeries{series(nil, 0.12, 0.18, 0.15)}
	obs := func(name, value, cond string, ok bool) Observation {
		return Observation{Name: name, Value: value, Condition: cond, OK: ok}
	}

	for _, tc := range []struct {
		name     string
		noWindow bool // leave window out, for the default
		env      config.Environment
		forge    *ForgeFacts
		runtime  *RuntimeFacts
		want     Outcome
		summary  string
		retry    time.Time
		findings []string // "check: message"
		observed []Observation
	}{
		{name: "without promotion facts the deploy time is unknown, so it waits", forge: nil, runtime: answers(good, fast), want: Pending,
			summary: "the source's deploy time and metrics are not available here; the agent gathers them for a promotion"},
		{name: "a source not deployed yet waits, as soak does", forge: &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceHasCluster: true},
			runtime: answers(good, fast), want: Pending, summary: "abcdef0 is not deployed from env/staging yet"},
		{name: "a source without a cluster whose arrival is unknown waits", forge: &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha},
			runtime: answers(good, fast), want: Pending, summary: "when abcdef0 reached env/staging is not known yet"},
		{name: "inside the window it waits until the window's end, naming fixed times only",
			forge:   &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: now.Add(-4 * time.Minute)},
			runtime: answers(good, fast), want: Pending, retry: now.Add(6 * time.Minute),
			summary: "waiting until 2026-11-23T12:06:00Z for 10m of metrics from abcdef0 deployed since 2026-11-23T11:56:00Z"},
		{name: "the window defaults to the environment's soak duration", noWindow: true,
			env:     config.Environment{Gates: config.Gates{Soak: &config.SoakGate{Duration: config.Duration{Duration: 2 * time.Hour}}}},
			forge:   forge,
			runtime: answers(good, fast), want: Pending, retry: deployed.Add(2 * time.Hour),
			summary: "waiting until 2026-11-23T13:00:00Z for 2h of metrics from abcdef0 deployed since 2026-11-23T11:00:00Z"},
		{name: "a source without a cluster counts from when the commit reached its branch",
			forge:   &ForgeFacts{SourceBranch: "env/staging", SourceSHA: sha, SourceArrived: now.Add(-time.Minute)},
			runtime: answers(good, fast), want: Pending, retry: now.Add(9 * time.Minute),
			summary: "waiting until 2026-11-23T12:09:00Z for 10m of metrics from abcdef0 on env/staging since 2026-11-23T11:59:00Z"},
		{name: "after the window, without runtime facts, it waits for the agent's query", forge: forge, runtime: nil, want: Pending,
			summary: "the metrics of abcdef0 have not been queried yet; the agent queries them for a promotion"},
		{name: "runtime facts without metrics wait the same way", forge: forge, runtime: &RuntimeFacts{}, want: Pending,
			summary: "the metrics of abcdef0 have not been queried yet; the agent queries them for a promotion"},
		{name: "answers queried before the window ended do not count", forge: forge,
			runtime: &RuntimeFacts{Metrics: &MetricsFacts{At: deployed.Add(5 * time.Minute), Queries: answers(good, fast).Metrics.Queries}},
			want:    Pending, retry: now.Add(time.Minute),
			summary: "the metrics of abcdef0 were queried before 2026-11-23T11:10:00Z, the end of its 10m window; waiting for the next query"},
		{name: "every value within its threshold passes with the worst value of each query", forge: forge, runtime: answers(good, fast), want: Pass,
			summary:  "2 queries within thresholds over 10m from abcdef0: error_rate 0.0021 < 0.01, p95 0.18 < 0.3",
			observed: []Observation{obs("error_rate", "0.0021", "< 0.01", true), obs("p95", "0.18", "< 0.3", true)}},
		{name: "one series over the threshold fails, naming the series and the threshold", forge: forge,
			runtime: answers(append(good, series(map[string]string{"__name__": "x", "pod": "web-3"}, 0.052)), fast), want: Fail,
			summary:  "error_rate 0.052 not < 0.01 over 10m from abcdef0",
			findings: []string{"metrics/threshold: error_rate = 0.052 (pod=web-3) not < 0.01 over 10m from abcdef0"},
			observed: []Observation{obs("error_rate", "0.052", "< 0.01", false), obs("p95", "0.18", "< 0.3", true)}},
		{name: "one sample of a range query over the threshold fails", forge: forge,
			runtime: answers(good, []MetricSeries{series(nil, 0.12, 0.41, 0.2)}), want: Fail,
			summary:  "p95 0.41 not < 0.3 over 10m from abcdef0",
			findings: []string{"metrics/threshold: p95 = 0.41 not < 0.3 over 10m from abcdef0"},
			observed: []Observation{obs("error_rate", "0.0021", "< 0.01", true), obs("p95", "0.41", "< 0.3", false)}},
		{name: "a value just over the threshold is written with enough digits to show it", forge: forge,
			runtime: answers([]MetricSeries{series(nil, 0.0100004)}, fast), want: Fail,
			summary:  "error_rate 0.0100004 not < 0.01 over 10m from abcdef0",
			findings: []string{"metrics/threshold: error_rate = 0.0100004 not < 0.01 over 10m from abcdef0"},
			observed: []Observation{obs("error_rate", "0.0100004", "< 0.01", false), obs("p95", "0.18", "< 0.3", true)}},
		{name: "an empty answer is no data: it waits, never passes", forge: forge, runtime: answers(nil, fast), want: Pending,
			retry:    now.Add(time.Minute),
			summary:  "query error_rate returned no data for abcdef0; is the version label right?; waiting",
			observed: []Observation{obs("p95", "0.18", "< 0.3", true)}},
		{name: "an answer of NaN only (0/0, no traffic) is no data", forge: forge,
			runtime: answers([]MetricSeries{series(nil, math.NaN())}, fast), want: Pending, retry: now.Add(time.Minute),
			summary:  "query error_rate returned no data for abcdef0; is the version label right?; waiting",
			observed: []Observation{obs("p95", "0.18", "< 0.3", true)}},
		{name: "series with numbers are judged when others are NaN", forge: forge,
			runtime: answers([]MetricSeries{series(map[string]string{"pod": "idle"}, math.NaN()), series(map[string]string{"pod": "web-1"}, 0.003)}, fast), want: Pass,
			summary:  "2 queries within thresholds over 10m from abcdef0: error_rate 0.003 < 0.01, p95 0.18 < 0.3",
			observed: []Observation{obs("error_rate", "0.003", "< 0.01", true), obs("p95", "0.18", "< 0.3", true)}},
		{name: "a query missing from the facts waits", forge: forge,
			runtime: &RuntimeFacts{Metrics: &MetricsFacts{At: now, Queries: []QueryAnswer{{Name: "error_rate", Series: good}}}},
			want:    Pending, retry: now.Add(time.Minute),
			summary:  "query p95 has not been run yet; waiting",
			observed: []Observation{obs("error_rate", "0.0021", "< 0.01", true)}},
		{name: "prometheus down waits and retries", forge: forge,
			runtime: withErr(ProbeUnreachable, "prometheus at http://prometheus:9090 did not answer query p95: connection refused"), want: Pending,
			retry:    now.Add(runtimeRetry),
			summary:  "prometheus at http://prometheus:9090 did not answer query p95: connection refused; trying again",
			observed: []Observation{obs("error_rate", "0.002", "< 0.01", true)}},
		{name: "a timeout waits and retries", forge: forge, runtime: withErr(ProbeTimeout, "query p95 timed out after 30s"), want: Pending,
			retry: now.Add(runtimeRetry), summary: "query p95 timed out after 30s; trying again",
			observed: []Observation{obs("error_rate", "0.002", "< 0.01", true)}},
		{name: "an answer that cannot be read waits and retries", forge: forge, runtime: withErr(ProbeBadAnswer, "query p95: not JSON"), want: Pending,
			retry: now.Add(runtimeRetry), summary: "query p95: not JSON; trying again",
			observed: []Observation{obs("error_rate", "0.002", "< 0.01", true)}},
		{name: "a refused query (a syntax error) fails with a finding naming the query and the fix", forge: forge,
			runtime: withErr(ProbeRefused, "prometheus refused query p95: bad_data: parse error; fix gates.metrics.queries[p95].query"), want: Fail,
			summary:  "prometheus refused query p95: bad_data: parse error; fix gates.metrics.queries[p95].query",
			findings: []string{"metrics/query-failed: prometheus refused query p95: bad_data: parse error; fix gates.metrics.queries[p95].query"},
			observed: []Observation{obs("error_rate", "0.002", "< 0.01", true)}},
		{name: "a threshold broken while another query is down is pending with its error finding, which the set fails", forge: forge,
			runtime: brokenWhileDown(now), want: Pending, retry: now.Add(runtimeRetry),
			summary:  "error_rate 0.5 not < 0.01 over 10m from abcdef0",
			findings: []string{"metrics/threshold: error_rate = 0.5 not < 0.01 over 10m from abcdef0"},
			observed: []Observation{obs("error_rate", "0.5", "< 0.01", false)}},
		{name: "queries that could not be prepared wait when the cause may go away", forge: forge,
			runtime: &RuntimeFacts{Metrics: &MetricsFacts{At: now, Err: &ProbeError{Kind: ProbeUnreachable, Message: "the namespace of staging is not known yet"}}},
			want:    Pending, retry: now.Add(runtimeRetry), summary: "the namespace of staging is not known yet; trying again"},
		{name: "queries that could not be prepared fail when the config is wrong", forge: forge,
			runtime: &RuntimeFacts{Metrics: &MetricsFacts{At: now, Err: &ProbeError{Kind: ProbeRefused, Message: "cannot read prometheus.caFile ca.pem; fix gates.metrics.prometheus.caFile"}}},
			want:    Fail, summary: "cannot read prometheus.caFile ca.pem; fix gates.metrics.prometheus.caFile",
			findings: []string{"metrics/query-failed: cannot read prometheus.caFile ca.pem; fix gates.metrics.prometheus.caFile"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := gate
			if tc.noWindow {
				g.Window = config.Duration{}
			}
			got := newMetrics(g).Evaluate(Input{Env: tc.env, Forge: tc.forge, Runtime: tc.runtime, Now: now})
			if got.Outcome != tc.want || got.Summary != tc.summary || !got.RetryAfter.Equal(tc.retry) {
				t.Errorf("got %s %q retry %v\nwant %s %q retry %v", got.Outcome, got.Summary, got.RetryAfter, tc.want, tc.summary, tc.retry)
			}
			var findings []string
			for _, f := range got.Findings {
				findings = append(findings, f.Check+": "+f.Message)
				if f.Severity != Error || f.Fix == "" {
					t.Errorf("finding %s: severity %s, fix %q; want error with a fix", f.Check, f.Severity, f.Fix)
				}
			}
			if diff := cmp.Diff(tc.findings, findings); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.observed, got.Observed); diff != "" {
				t.Errorf("observed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMetricsNeverPassWithoutAnAnswer holds the gate to its promise: whatever goes wrong
// while querying, the verdict is not Pass.
func TestMetricsNeverPassWithoutAnAnswer(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	gate := newMetrics(config.MetricsGate{Queries: []config.MetricQuery{{Name: "up", Condition: "== 1"}}})
	forge := &ForgeFacts{SourceSHA: "abc", SourceArrived: now.Add(-time.Hour)}
	for _, a := range []QueryAnswer{
		{Name: "up"},
		{Name: "up", Series: []MetricSeries{{Values: []float64{math.NaN()}}}},
		{Name: "up", Series: []MetricSeries{{}}},
		{Name: "other", Series: []MetricSeries{{Values: []float64{1}}}},
		{Name: "up", Err: &ProbeError{Kind: ProbeUnreachable}},
		{Name: "up", Err: &ProbeError{Kind: ProbeTimeout}},
		{Name: "up", Err: &ProbeError{Kind: ProbeRefused}},
		{Name: "up", Err: &ProbeError{Kind: ProbeBadAnswer}},
		{Name: "up", Series: []MetricSeries{{Values: []float64{1}}}, Err: &ProbeError{Kind: ProbeBadAnswer}},
	} {
		r := gate.Evaluate(Input{Forge: forge, Runtime: &RuntimeFacts{Metrics: &MetricsFacts{At: now, Queries: []QueryAnswer{a}}}, Now: now})
		if r.Outcome == Pass {
			t.Errorf("answer %+v passed: %s", a, r.Summary)
		}
	}
}

func TestMetricsSeverityOverridesNameItsChecks(t *testing.T) {
	gate := func(sev map[string]config.Severity) config.Environment {
		return config.Environment{Name: "prod", Gates: config.Gates{Metrics: &config.MetricsGate{
			GateCommon: config.GateCommon{Severity: sev}, Queries: []config.MetricQuery{{Name: "up", Query: "up", Condition: "== 1"}}}}}
	}
	if _, err := For(gate(map[string]config.Severity{checkMetricsThreshold: Warning})); err != nil {
		t.Errorf("overriding the metrics checks: %v", err)
	}
	_, err := For(gate(map[string]config.Severity{"metrics/nope": Warning}))
	if err == nil || !strings.Contains(err.Error(), "the metrics gate's checks are metrics/query-failed, metrics/threshold") {
		t.Errorf("an unknown metrics check: %v; want it refused with the list of checks", err)
	}
}

func brokenWhileDown(now time.Time) *RuntimeFacts {
	return &RuntimeFacts{Metrics: &MetricsFacts{At: now, Queries: []QueryAnswer{
		{Name: "error_rate", Series: []MetricSeries{{Values: []float64{0.5}}}},
		{Name: "p95", Err: &ProbeError{Kind: ProbeTimeout, Message: "query p95 timed out"}},
	}}}
}

// TestMetricsThresholdOverride: a broken threshold fails, and lowered to a warning it passes
// only when every query answered; with a query unanswered the gate waits.
func TestMetricsThresholdOverride(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	forge := &ForgeFacts{SourceSHA: "abcdef0123", SourceArrived: now.Add(-time.Hour)}
	answered := &RuntimeFacts{Metrics: &MetricsFacts{At: now, Queries: []QueryAnswer{
		{Name: "error_rate", Series: []MetricSeries{{Values: []float64{0.5}}}},
		{Name: "p95", Series: []MetricSeries{{Values: []float64{0.1}}}},
	}}}
	for _, tc := range []struct {
		name    string
		sev     map[string]config.Severity
		runtime *RuntimeFacts
		want    Outcome
	}{
		{"broken, every query answered: fail", nil, answered, Fail},
		{"broken, another query down: fail", nil, brokenWhileDown(now), Fail},
		{"lowered to a warning, every query answered: pass", map[string]config.Severity{checkMetricsThreshold: Warning}, answered, Pass},
		{"lowered to a warning, another query down: wait", map[string]config.Severity{checkMetricsThreshold: Warning}, brokenWhileDown(now), Pending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := config.Environment{Name: "prod", Gates: config.Gates{Metrics: &config.MetricsGate{
				GateCommon: config.GateCommon{Severity: tc.sev},
				Queries: []config.MetricQuery{
					{Name: "error_rate", Query: "e", Condition: "< 0.01"},
					{Name: "p95", Query: "p", Condition: "< 0.3"},
				}}}}
			set, err := For(env)
			if err != nil {
				t.Fatal(err)
			}
			r := set.Evaluate(Input{Env: env, Forge: forge, Runtime: tc.runtime, Now: now})[0]
			if r.Outcome != tc.want {
				t.Errorf("%s %q; want %s", r.Outcome, r.Summary, tc.want)
			}
		})
	}
}
