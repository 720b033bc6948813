package config

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseMetricsGate(t *testing.T) {
	ps, err := Parse(yamlDoc(validBase+`      gates:
        soak: {duration: 30m}
        metrics:
          prometheus:
            url: https://prometheus.example:9090/prom
            bearerTokenFile: secrets/prom-token
            caFile: ca.pem
            headers: {X-Scope-OrgID: shop}
            timeout: 10s
          namespace: shop
          interval: 2m
          queries:
            - name: error_rate
              query: sum(rate(http_requests_total{version="{{.SHA}}",code=~"5.."}[{{.Window}}])) / sum(rate(http_requests_total{version="{{.SHA}}"}[{{.Window}}]))
              condition: "< 0.01"
            - name: p95_latency_seconds
              query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{.Namespace}}",version="{{.ShortSHA}}"}[1m])))
              range: true
              step: 30s
              condition: "<= 0.3"
`), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := ps[0].Spec.Environments[1].Gates.Metrics
	if m == nil {
		t.Fatal("no metrics gate")
	}
	if got := m.WindowOr(30 * time.Minute); got != 30*time.Minute {
		t.Errorf("WindowOr(soak 30m) = %s; want the soak duration", got)
	}
	if got := m.IntervalOrDefault(); got != 2*time.Minute {
		t.Errorf("IntervalOrDefault = %s; want 2m", got)
	}
	if got := m.Prometheus.TimeoutOrDefault(); got != 10*time.Second {
		t.Errorf("TimeoutOrDefault = %s; want 10s", got)
	}
	if got := m.Queries[1].StepOr(time.Hour); got != 30*time.Second {
		t.Errorf("StepOr = %s; want the configured 30s", got)
	}
}

func TestMetricsGateDefaults(t *testing.T) {
	tests := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"window set wins over soak", MetricsGate{Window: Duration{10 * time.Minute}}.WindowOr(time.Hour), 10 * time.Minute},
		{"window unset takes the soak duration", MetricsGate{}.WindowOr(time.Hour), time.Hour},
		{"window without soak is 5m", MetricsGate{}.WindowOr(0), 5 * time.Minute},
		{"interval is 1m", MetricsGate{}.IntervalOrDefault(), time.Minute},
		{"timeout is 30s", Prometheus{}.TimeoutOrDefault(), 30 * time.Second},
		{"step is the window / 30", MetricQuery{}.StepOr(30 * time.Minute), time.Minute},
		{"step is at least 1s", MetricQuery{}.StepOr(10 * time.Second), time.Second},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseCondition(t *testing.T) {
	tests := []struct {
		in      string
		want    Condition
		wantErr string
	}{
		{in: "< 0.01", want: Condition{Less, 0.01}},
		{in: "<=0.3", want: Condition{LessEqual, 0.3}},
		{in: " > 5 ", want: Condition{Greater, 5}},
		{in: ">= 0.99", want: Condition{GreaterEqual, 0.99}},
		{in: "== 0", want: Condition{Equal, 0}},
		{in: "!= 1e3", want: Condition{NotEqual, 1000}},
		{in: "< +Inf", want: Condition{Less, math.Inf(1)}},
		{in: "0.01", wantErr: `want a comparison and a number like "< 0.01"`},
		{in: "= 1", wantErr: `want a comparison and a number`},
		{in: "<", wantErr: `want a number after <, like "< 0.01", got ""`},
		{in: "< one", wantErr: `want a number after <, like "< 0.01", got "one"`},
		{in: "< NaN", wantErr: `want a number after <`},
	}
	for _, tt := range tests {
		got, err := ParseCondition(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCondition(%q) error = %v; want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCondition(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseCondition(%q) = %+v; want %+v", tt.in, got, tt.want)
		}
	}
}

func TestConditionHolds(t *testing.T) {
	tests := []struct {
		cond string
		v    float64
		want bool
	}{
		{"< 0.01", 0.0021, true},
		{"< 0.01", 0.01, false},
		{"<= 0.01", 0.01, true},
		{"> 100", 100, false},
		{">= 100", 100, true},
		{"== 0", 0, true},
		{"!= 0", 0, false},
		{"< 0.01", math.NaN(), false},
		{"!= 0", math.NaN(), false},
		{"< 1", math.Inf(1), false},
	}
	for _, tt := range tests {
		c, err := ParseCondition(tt.cond)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Holds(tt.v); got != tt.want {
			t.Errorf("%q.Holds(%v) = %v; want %v", tt.cond, tt.v, got, tt.want)
		}
	}
}

func TestParseReportsMetricsGateProblems(t *testing.T) {
	// Lines are checked by the forge gates' tests; these compare path and message.
	const at = "spec.environments[1].gates.metrics"
	tests := []struct {
		name    string
		metrics string
		want    []string
	}{
		{
			name:    "no url, no queries",
			metrics: `{prometheus: {}}`,
			want: []string{
				at + `.prometheus.url: required; the query API's root, like "http://prometheus.monitoring:9090"`,
				at + `.queries: required; list at least one query with a name, a query and a condition`,
			},
		},
		{
			name:    "a URL that is not http",
			metrics: `{prometheus: {url: "prometheus:9090"}, queries: [{name: up, query: up, condition: "== 1"}]}`,
			want:    []string{at + `.prometheus.url: want an http:// or https:// URL of the query API's root, like "http://prometheus.monitoring:9090"`},
		},
		{
			name:    "credentials in the URL, never repeated",
			metrics: `{prometheus: {url: "https://bob:s3cret@prom.example"}, queries: [{name: up, query: up, condition: "== 1"}]}`,
			want:    []string{at + `.prometheus.url: has credentials in it; remove them and put a token in bearerTokenFile or bearerTokenEnv`},
		},
		{
			name:    "token file and env, a bad env name, an Authorization header",
			metrics: `{prometheus: {url: "http://p:9090", bearerTokenFile: t, bearerTokenEnv: "PROM TOKEN", headers: {Authorization: x, "bad header": y}}, queries: [{name: up, query: up, condition: "== 1"}]}`,
			want: []string{
				at + `.prometheus.bearerTokenEnv: want an environment variable name like PROMETHEUS_TOKEN, got "PROM TOKEN"`,
				at + `.prometheus.bearerTokenEnv: set either bearerTokenFile or bearerTokenEnv, not both`,
				at + `.prometheus.headers: Authorization is set from the bearer token; remove it from headers`,
				at + `.prometheus.headers: "bad header" is not an HTTP header name`,
			},
		},
		{
			name:    "metrics/query-failed cannot be lowered",
			metrics: `{severity: {metrics/query-failed: warning}, prometheus: {url: "http://p:9090"}, queries: [{name: up, query: up, condition: "== 1"}]}`,
			want:    []string{at + `.severity.metrics/query-failed: cannot be lowered: the gate would pass on a query Prometheus refused; fix the query instead`},
		},
		{
			name:    "negative durations",
			metrics: `{prometheus: {url: "http://p:9090", timeout: -1s}, window: -5m, interval: -1m, queries: [{name: up, query: up, condition: "== 1", range: true, step: -1s}]}`,
			want: []string{
				at + `.prometheus.timeout: -1s is negative; leave it out for the default`,
				at + `.window: -5m is negative; leave it out for the default`,
				at + `.interval: -1m is negative; leave it out for the default`,
				at + `.queries[0].step: -1s is negative; leave it out for the default (the window / 30)`,
			},
		},
		{
			name: "bad names, a duplicate, missing query and condition, a step without range",
			metrics: `{prometheus: {url: "http://p:9090"}, queries: [
              {name: Error-Rate, query: up, condition: "< 1"},
              {name: up, query: up, condition: "== 1"},
              {name: up, query: " ", condition: ""},
              {query: up, condition: "1", step: 10s}]}`,
			want: []string{
				at + `.queries[0].name: want a lowercase identifier like "error_rate" (a-z, 0-9, _), got "Error-Rate"`,
				at + `.queries[2].name: duplicate query name "up", also used by queries[1]; give each query its own name`,
				at + `.queries[2].query: required; PromQL, like sum(rate(http_requests_total{code=~"5.."}[{{.Window}}])) / sum(rate(http_requests_total[{{.Window}}]))`,
				at + `.queries[2].condition: required; a comparison and a threshold, like "< 0.01"`,
				at + `.queries[3].name: required; a lowercase identifier like "error_rate"`,
				at + `.queries[3].condition: want a comparison and a number like "< 0.01" or ">= 0.99" (<, <=, >, >=, ==, !=), got "1"`,
				at + `.queries[3].step: only used by a range query; add range: true or remove step`,
			},
		},
		{
			name: "template typos",
			metrics: `{prometheus: {url: "http://p:9090"}, queries: [
              {name: ok, query: 'up{version="{{.ShortSHA}}",env="{{.Env}}"}', condition: "== 1"},
              {name: typo, query: 'up{version="{{.Sha}}"}', condition: "== 1"},
              {name: unclosed, query: 'up{version="{{.SHA"}', condition: "== 1"}]}`,
			want: []string{
				at + `.queries[1].query: template does not execute (typo:1:14: executing "typo" at <.Sha>: can't evaluate field Sha in type probe.Vars); the fields are {{.Env}}, {{.Namespace}}, {{.SHA}}, {{.ShortSHA}}, {{.Pipeline}}, {{.Target}}, {{.Window}}`,
				at + `.queries[2].query: not a valid template (unclosed:1: bad character U+0022 '"'); the fields are {{.Env}}, {{.Namespace}}, {{.SHA}}, {{.ShortSHA}}, {{.Pipeline}}, {{.Target}}, {{.Window}}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(yamlDoc(validBase+"      gates:\n        metrics: "+tt.metrics+"\n"), "stagegate.yaml")
			var got []string
			for _, l := range problemLines(t, err) {
				if _, rest, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(l, "stagegate.yaml:") {
					l = rest
				}
				got = append(got, l)
			}
			// The problems of one query come from one check each, in field order; header
			// names come from a map, so compare as sets.
			if diff := cmp.Diff(sortedCopy(tt.want), sortedCopy(got)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, l := range got {
				if strings.Contains(l, "s3cret") {
					t.Errorf("a problem repeats the URL's password: %s", l)
				}
			}
		})
	}
}

func TestRuntimeGatesAreRefusedOnTheFirstEnvironment(t *testing.T) {
	_, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: /srv/git/shop.git}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev, gates: {metrics: {prometheus: {url: "http://p:9090"}, queries: [{name: up, query: up, condition: "== 1"}]}}}
`)), "stagegate.yaml")
	want := "spec.environments[0].gates.metrics: judges the environment promoted from, and dev is the first; put it on the environment after the one it should watch"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("metrics on the first environment: %v; want %q", err, want)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// FuzzParseCondition holds ParseCondition to what it promises: a condition it accepts writes
// itself back as text it reads the same way.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"< 0.01", ">=0.99", "== 0", "!= 1e3", "< +Inf", "<= -0", "<", "=< 1", "< 0x1p-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s)
		if err != nil {
			return
		}
		back, err := ParseCondition(c.String())
		if err != nil || back != c {
			t.Errorf("ParseCondition(%q) = %+v, written %q, read back as %+v, %v", s, c, c.String(), back, err)
		}
	})
}
