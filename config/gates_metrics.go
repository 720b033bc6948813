package config

import (
	"fmt"
	"io"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// MetricsGate runs PromQL queries against a Prometheus-compatible HTTP API about the source
// environment and compares each answer with a threshold: the promotion waits until the source
// has run the change for the window, then passes when every query is within its threshold.
type MetricsGate struct {
	GateCommon `json:",inline"`
	// Prometheus is where the queries go. Required.
	Prometheus Prometheus `json:"prometheus"`
	// Window is how long the source must have run the change before the queries count, and
	// the range a range query covers ({{.Window}} in a query). Default: the environment's soak
	// duration when it has a soak gate, else 5m.
	Window Duration `json:"window,omitzero"`
	// Namespace is {{.Namespace}} in the queries. Default: the one namespace the source
	// environment's rendered objects live in (an error when there are several).
	Namespace string `json:"namespace,omitempty"`
	// Interval is how often the agent queries again while a promotion waits. Default 1m.
	Interval Duration `json:"interval,omitzero"`
	// Queries to run, each with its threshold. Required: at least one.
	Queries []MetricQuery `json:"queries"`
}

// Prometheus is a Prometheus-compatible query API (Prometheus, Thanos, Mimir, VictoriaMetrics).
type Prometheus struct {
	// URL of the API's root ("http://prometheus.monitoring:9090"); /api/v1/query is appended.
	URL string `json:"url"`
	// BearerTokenFile names a file holding a bearer token; read on every query, so a rotated
	// token is picked up. Default: none.
	BearerTokenFile string `json:"bearerTokenFile,omitempty"`
	// BearerTokenEnv names an environment variable holding a bearer token. Default: none.
	BearerTokenEnv string `json:"bearerTokenEnv,omitempty"`
	// CAFile is a PEM file of certificate authorities to trust for https:// URLs, in addition
	// to the system's. Default: the system's.
	CAFile string `json:"caFile,omitempty"`
	// Headers sent with every query (X-Scope-OrgID for a multi-tenant Mimir or Cortex).
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout of one query. Default 30s.
	Timeout Duration `json:"timeout,omitzero"`
}

// MetricQuery is one PromQL query and the threshold its answer must meet.
type MetricQuery struct {
	// Name of the value ("error_rate"), as the PR and the trailers show it. Required; a
	// lowercase identifier.
	Name string `json:"name"`
	// Query is PromQL, a Go template over {{.Env}}, {{.Namespace}}, {{.SHA}}, {{.ShortSHA}},
	// {{.Pipeline}}, {{.Target}} and {{.Window}}. Required.
	Query string `json:"query"`
	// Range: evaluate the query at every Step over the window rather than once at its end;
	// every sample must meet the threshold. Default false (an instant query).
	Range bool `json:"range,omitempty"`
	// Step of a range query. Default: the window divided by 30, at least 1s.
	Step Duration `json:"step,omitzero"`
	// Condition every value must meet: a comparison and a threshold ("< 0.01", ">= 0.99").
	// Required.
	Condition string `json:"condition"`
}

// Defaults of the metrics gate, in one place for the config, the gate and the agent.
const (
	// DefaultMetricsWindow is the window when neither window nor a soak duration is set.
	DefaultMetricsWindow = 5 * time.Minute
	// DefaultMetricsInterval is how often the agent queries again while a promotion waits.
	DefaultMetricsInterval = time.Minute
	// DefaultMetricsTimeout is the timeout of one query.
	DefaultMetricsTimeout = 30 * time.Second
)

// WindowOr returns the gate's window: window when set, else soak (the environment's soak
// duration) when above 0, else DefaultMetricsWindow.
func (g MetricsGate) WindowOr(soak time.Duration) time.Duration {
	switch {
	case g.Window.Duration > 0:
		return g.Window.Duration
	case soak > 0:
		return soak
	}
	return DefaultMetricsWindow
}

// IntervalOrDefault returns interval, or DefaultMetricsInterval when unset.
func (g MetricsGate) IntervalOrDefault() time.Duration {
	if g.Interval.Duration > 0 {
		return g.Interval.Duration
	}
	return DefaultMetricsInterval
}

// TimeoutOrDefault returns timeout, or DefaultMetricsTimeout when unset.
func (p Prometheus) TimeoutOrDefault() time.Duration {
	if p.Timeout.Duration > 0 {
		return p.Timeout.Duration
	}
	return DefaultMetricsTimeout
}

// StepOr returns a range query's step over window: step when set, else window/30, at least 1s.
func (q MetricQuery) StepOr(window time.Duration) time.Duration {
	if q.Step.Duration > 0 {
		return q.Step.Duration
	}
	return max(window/30, time.Second)
}

// QueryVars lists the fields a metrics query's template may use, as {{.Name}}: the fields and
// methods of probe.Vars, which executes the templates (config cannot import probe).
var QueryVars = []string{"Env", "Namespace", "SHA", "ShortSHA", "Pipeline", "Target", "Window"}

// sampleVars has QueryVars' names, to execute a template at load time the way probe.Vars does.
type sampleVars struct {
	Env, Namespace, SHA, Pipeline, Target, Window string
}

func (sampleVars) ShortSHA() string { return "0123456" }

// Template parses the query as the Go template probe executes, with missingkey=error: a field
// it does not know is an error rather than an empty string in PromQL.
func (q MetricQuery) Template() (*template.Template, error) {
	return template.New(q.Name).Option("missingkey=error").Parse(q.Query)
}

// Comparison is a condition's operator.
type Comparison string

// Comparisons a condition may use.
const (
	Less         Comparison = "<"
	LessEqual    Comparison = "<="
	Greater      Comparison = ">"
	GreaterEqual Comparison = ">="
	Equal        Comparison = "=="
	NotEqual     Comparison = "!="
)

// Condition is a metric query's condition: every value must compare with Threshold by Op.
type Condition struct {
	Op        Comparison
	Threshold float64
}

// ParseCondition reads "<op> <number>" ("< 0.01", ">=0.99", "!= 0"); op is one of <, <=, >,
// >=, == and !=; the number is what strconv.ParseFloat reads, except NaN.
func ParseCondition(s string) (Condition, error) {
	t := strings.TrimSpace(s)
	var op Comparison
	// Two-character operators first, so "<=" is not read as "<" and "=0".
	for _, o := range []Comparison{LessEqual, GreaterEqual, Equal, NotEqual, Less, Greater} {
		if strings.HasPrefix(t, string(o)) {
			op = o
			break
		}
	}
	if op == "" {
		return Condition{}, fmt.Errorf("want a comparison and a number like \"< 0.01\" or \">= 0.99\" (<, <=, >, >=, ==, !=), got %q", s)
	}
	num := strings.TrimSpace(strings.TrimPrefix(t, string(op)))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) {
		return Condition{}, fmt.Errorf("want a number after %s, like \"%s 0.01\", got %q", op, op, num)
	}
	return Condition{Op: op, Threshold: v}, nil
}

// Holds reports whether v meets the condition; NaN meets none.
func (c Condition) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch c.Op {
	case Less:
		return v < c.Threshold
	case LessEqual:
		return v <= c.Threshold
	case Greater:
		return v > c.Threshold
	case GreaterEqual:
		return v >= c.Threshold
	case Equal:
		return v == c.Threshold
	case NotEqual:
		return v != c.Threshold
	}
	return false
}

// String reads like "< 0.01".
func (c Condition) String() string {
	return string(c.Op) + " " + strconv.FormatFloat(c.Threshold, 'g', -1, 64)
}

var (
	queryNamePattern  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// validate checks the metrics gate's options; path is its config path.
func (g MetricsGate) validate(path string) []error {
	var errs []error
	add := func(p, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(format, args...)))
	}
	// A refused query has no answer: lowered, its finding would let the gate pass unanswered.
	if sev, ok := g.Severity["metrics/query-failed"]; ok && sev != SeverityError {
		add(path+".severity.metrics/query-failed", "cannot be lowered: the gate would pass on a query Prometheus refused; fix the query instead")
	}
	pp := path + ".prometheus"
	p := g.Prometheus
	// Messages never repeat the URL: it may hold credentials.
	if p.URL == "" {
		add(pp+".url", `required; the query API's root, like "http://prometheus.monitoring:9090"`)
	} else if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(pp+".url", `want an http:// or https:// URL of the query API's root, like "http://prometheus.monitoring:9090"`)
	} else if u.User != nil {
		add(pp+".url", "has credentials in it; remove them and put a token in bearerTokenFile or bearerTokenEnv")
	}
	if p.BearerTokenEnv != "" && !envNamePattern.MatchString(p.BearerTokenEnv) {
		add(pp+".bearerTokenEnv", "want an environment variable name like PROMETHEUS_TOKEN, got %q", p.BearerTokenEnv)
	}
	if p.BearerTokenFile != "" && p.BearerTokenEnv != "" {
		add(pp+".bearerTokenEnv", "set either bearerTokenFile or bearerTokenEnv, not both")
	}
	for name := range p.Headers {
		if !headerNamePattern.MatchString(name) {
			add(pp+".headers", "%q is not an HTTP header name", name)
		} else if strings.EqualFold(name, "Authorization") && (p.BearerTokenFile != "" || p.BearerTokenEnv != "") {
			add(pp+".headers", "Authorization is set from the bearer token; remove it from headers")
		}
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"prometheus.timeout", p.Timeout.Duration}, {"window", g.Window.Duration}, {"interval", g.Interval.Duration}} {
		if d.d < 0 {
			add(path+"."+d.name, "%s is negative; leave it out for the default", fmtDuration(d.d))
		}
	}
	if len(g.Queries) == 0 {
		add(path+".queries", "required; list at least one query with a name, a query and a condition")
	}
	names := map[string]int{}
	for i, q := range g.Queries {
		qp := fmt.Sprintf("%s.queries[%d]", path, i)
		switch {
		case q.Name == "":
			add(qp+".name", `required; a lowercase identifier like "error_rate"`)
		case !queryNamePattern.MatchString(q.Name):
			add(qp+".name", "want a lowercase identifier like \"error_rate\" (a-z, 0-9, _), got %q", q.Name)
		default:
			if j, dup := names[q.Name]; dup {
				add(qp+".name", "duplicate query name %q, also used by queries[%d]; give each query its own name", q.Name, j)
			} else {
				names[q.Name] = i
			}
		}
		if strings.TrimSpace(q.Query) == "" {
			add(qp+".query", "required; PromQL, like sum(rate(http_requests_total{code=~\"5..\"}[{{.Window}}])) / sum(rate(http_requests_total[{{.Window}}]))")
		} else if err := checkQueryTemplate(q); err != nil {
			add(qp+".query", "%v", err)
		}
		if q.Condition == "" {
			add(qp+".condition", `required; a comparison and a threshold, like "< 0.01"`)
		} else if _, err := ParseCondition(q.Condition); err != nil {
			add(qp+".condition", "%v", err)
		}
		switch {
		case q.Step.Duration < 0:
			add(qp+".step", "%s is negative; leave it out for the default (the window / 30)", fmtDuration(q.Step.Duration))
		case q.Step.Duration > 0 && !q.Range:
			add(qp+".step", "only used by a range query; add range: true or remove step")
		}
	}
	return errs
}

// checkQueryTemplate parses the query's template and executes it with sample values, so a
// typo like {{.Sha}} fails at load time rather than at the first promotion.
func checkQueryTemplate(q MetricQuery) error {
	fields := "{{." + strings.Join(QueryVars, "}}, {{.") + "}}"
	t, err := q.Template()
	if err != nil {
		return fmt.Errorf("not a valid template (%v); the fields are %s", templateError(err), fields)
	}
	vars := sampleVars{Env: "staging", Namespace: "shop", SHA: "0123456789abcdef0123456789abcdef01234567", Pipeline: "shop", Target: "prod", Window: "5m"}
	if err := t.Execute(io.Discard, vars); err != nil {
		return fmt.Errorf("template does not execute (%v); the fields are %s", templateError(err), fields)
	}
	return nil
}

// templateError cuts text/template's "template: name:1:5: " prefix and names the type of
// sampleVars as probe's, which is what the template really runs against.
func templateError(err error) string {
	s := err.Error()
	if _, rest, ok := strings.Cut(s, "template: "); ok {
		s = rest
	}
	return strings.ReplaceAll(s, "config.sampleVars", "probe.Vars")
}
