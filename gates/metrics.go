package gates

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

const (
	checkMetricsThreshold   = "metrics/threshold"
	checkMetricsQueryFailed = "metrics/query-failed"
)

var metricsChecks = []Check{
	{ID: checkMetricsThreshold, Severity: Error, Title: "Metric of the source environment is over its threshold",
		Why: "While the source environment ran the change, a query's answer broke its condition (an error rate too high, a latency too long): the change is not behaving well enough to go further.",
		Fix: "Look at the source environment's dashboards for the series named in the finding; fix the change and promote the fix, or change the threshold in gates.metrics.queries if it is wrong."},
	{ID: checkMetricsQueryFailed, Severity: Error, Title: "Metrics query was refused",
		Why: "Prometheus refused the query (a PromQL syntax error, a 401 or 403, a template that does not execute), so the gate cannot judge the change until the config is fixed; waiting does not help.",
		Fix: "Read the error; fix the query or the credentials in gates.metrics, and try the query in Prometheus's web UI with the promoted commit's SHA filled in."},
}

// metricsGate judges the source environment's metrics: each query's answer against its
// threshold, once the source has run the change for the window.
type metricsGate struct {
	c config.MetricsGate
}

func newMetrics(c config.MetricsGate) Gate { return metricsGate{c: c} }

func (metricsGate) needsRuntime()   {}
func (metricsGate) observes()       {}
func (metricsGate) keepsSummary()   {}
func (metricsGate) Name() string    { return "metrics" }
func (metricsGate) Checks() []Check { return metricsChecks }

// Evaluate waits until the source has run the source commit for the window, then judges every
// value of every series each query returned. Nothing it cannot read passes: a query that failed
// or returned no data is Pending (or Fail, when the query itself is wrong).
func (g metricsGate) Evaluate(in Input) Result {
	f := in.Forge
	if f == nil {
		return Result{Outcome: Pending, Summary: "the source's deploy time and metrics are not available here; the agent gathers them for a promotion"}
	}
	start, since, wait := runningSince(f)
	if wait != nil {
		return *wait
	}
	var soak time.Duration
	if s := in.Env.Gates.Soak; s != nil {
		soak = s.Duration.Duration
	}
	window := g.c.WindowOr(soak)
	sha := short(f.SourceSHA)
	// As soak's, the summaries name fixed times only, so they read the same from cycle to cycle.
	end := start.Add(window)
	if in.Now.Before(end) {
		return Result{Outcome: Pending, RetryAfter: end,
			Summary: fmt.Sprintf("waiting until %s for %s of metrics from %s %s since %s",
				end.UTC().Format(time.RFC3339), roundDuration(window), sha, since, start.UTC().Format(time.RFC3339))}
	}
	var m *MetricsFacts
	if in.Runtime != nil {
		m = in.Runtime.Metrics
	}
	if m == nil {
		// No RetryAfter: the agent queries with the promotion's next cycle.
		return Result{Outcome: Pending, Summary: fmt.Sprintf("the metrics of %s have not been queried yet; the agent queries them for a promotion", sha)}
	}
	if m.Err != nil {
		return g.probeFailed([]queryError{{err: m.Err}}, in.Now)
	}
	if !m.At.IsZero() && m.At.Before(end) {
		// Queried before the window was over: the answers cover time before the deploy.
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(g.c.IntervalOrDefault()),
			Summary: fmt.Sprintf("the metrics of %s were queried before %s, the end of its %s window; waiting for the next query",
				sha, end.UTC().Format(time.RFC3339), roundDuration(window))}
	}

	answers := map[string]*QueryAnswer{}
	for i := range m.Queries {
		answers[m.Queries[i].Name] = &m.Queries[i]
	}
	var (
		failed   []queryError
		noData   []string
		verdicts []queryVerdict
	)
	for _, q := range g.c.Queries {
		a := answers[q.Name]
		cond, err := config.ParseCondition(q.Condition)
		switch {
		case err != nil:
			// Validation refuses this; should a config slip through, it is the config to fix.
			failed = append(failed, queryError{name: q.Name, err: &ProbeError{Kind: ProbeRefused,
				Message: fmt.Sprintf("condition of query %s: %v; fix gates.metrics.queries[%s].condition", q.Name, err, q.Name)}})
		case a == nil:
			noData = append(noData, fmt.Sprintf("query %s has not been run yet", q.Name))
		case a.Err != nil:
			failed = append(failed, queryError{name: q.Name, err: a.Err})
		default:
			v, ok := judge(q.Name, cond, a.Series)
			if !ok {
				noData = append(noData, fmt.Sprintf("query %s returned no data for %s; is the version label right?", q.Name, sha))
				continue
			}
			verdicts = append(verdicts, v)
		}
	}

	var observed []Observation
	var findings []Finding
	var over []string
	for _, v := range verdicts {
		observed = append(observed, Observation{Name: v.name, Value: v.value(), Condition: v.cond.String(), OK: v.ok})
		if v.ok {
			continue
		}
		over = append(over, v.String())
		findings = append(findings, Finding{Check: checkMetricsThreshold, Severity: Error,
			Message: fmt.Sprintf("%s = %s%s not %s over %s from %s", v.name, v.value(), v.labels(), v.cond, roundDuration(window), sha),
			Fix: fmt.Sprintf("look at %s in the source environment's dashboards for the series named; fix the change and promote the fix, or change gates.metrics.queries[%s].condition if %s is wrong",
				v.name, v.name, v.cond)})
	}
	var refused []string
	var waiting []queryError
	for _, e := range failed {
		if e.err.Kind != ProbeRefused {
			waiting = append(waiting, e)
			continue
		}
		refused = append(refused, e.err.Message)
		findings = append(findings, Finding{Check: checkMetricsQueryFailed, Severity: Error, Message: e.err.Message,
			Fix: fmt.Sprintf("fix gates.metrics.queries[%s] (or the prometheus credentials) and try the query in Prometheus's web UI with %s filled in", e.nameOr("the queries"), sha)})
	}
	if len(findings) > 0 {
		// A violation or a refused query fails whatever the other queries say: waiting would not
		// change it.
		var parts []string
		if len(over) > 0 {
			parts = append(parts, fmt.Sprintf("%s over %s from %s", strings.Join(over, ", "), roundDuration(window), sha))
		}
		r := Result{Outcome: Fail, Summary: strings.Join(append(parts, refused...), "; "), Findings: findings, Observed: observed}
		if len(refused) == 0 && len(waiting)+len(noData) > 0 {
			// Broken thresholds while some query has no answer yet: said as Pending with error
			// findings, which the set turns into Fail while they are errors, so that an override
			// lowering metrics/threshold leaves the gate waiting for the other queries rather
			// than passing without them. (metrics/query-failed cannot be lowered: see config.)
			r.Outcome = Pending
			r.RetryAfter = in.Now.Add(runtimeRetry)
		}
		return r
	}
	if len(waiting) > 0 {
		r := g.probeFailed(waiting, in.Now)
		r.Observed = observed
		return r
	}
	if len(noData) > 0 {
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(g.c.IntervalOrDefault()), Observed: observed,
			Summary: someOf(noData) + "; waiting"}
	}
	parts := make([]string, len(verdicts))
	for i, v := range verdicts {
		parts[i] = v.String()
	}
	what := fmt.Sprintf("%d queries within thresholds", len(verdicts))
	if len(verdicts) == 1 {
		what = "1 query within its threshold"
	}
	return Result{Outcome: Pass, Observed: observed,
		Summary: fmt.Sprintf("%s over %s from %s: %s", what, roundDuration(window), sha, listSome(parts, 3))}
}

// queryError is a query the source's Prometheus did not answer, or answered with an error.
type queryError struct {
	name string // empty when no query could be run (MetricsFacts.Err)
	err  *ProbeError
}

func (e queryError) nameOr(def string) string {
	if e.name == "" {
		return def
	}
	return e.name
}

// probeFailed is Pending for errors that may go away (Prometheus down, a timeout, an answer it
// could not read) and Fail for a question Prometheus refuses: retrying it changes nothing.
func (g metricsGate) probeFailed(errs []queryError, now time.Time) Result {
	var findings []Finding
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.err.Message)
		if e.err.Kind == ProbeRefused {
			findings = append(findings, Finding{Check: checkMetricsQueryFailed, Severity: Error, Message: e.err.Message,
				Fix: fmt.Sprintf("fix gates.metrics (%s) as the message says", e.nameOr("the prometheus options"))})
		}
	}
	if len(findings) > 0 {
		return Result{Outcome: Fail, Summary: someOf(msgs), Findings: findings}
	}
	return Result{Outcome: Pending, RetryAfter: now.Add(runtimeRetry), Summary: someOf(msgs) + "; trying again"}
}

// someOf joins the first of msgs with how many more there are: a summary stays one line.
func someOf(msgs []string) string {
	if len(msgs) == 1 {
		return msgs[0]
	}
	return fmt.Sprintf("%s (and %d more)", msgs[0], len(msgs)-1)
}

// queryVerdict is one query's worst value against its condition.
type queryVerdict struct {
	name   string
	cond   config.Condition
	worst  float64
	series map[string]string
	ok     bool
}

// judge compares every number of every series with cond and returns the worst: the first that
// breaks the condition furthest, else the one closest to breaking it. NaN (0/0, no traffic) is
// no data; series with numbers are judged on their own. ok is false when there is no number.
func judge(name string, cond config.Condition, series []MetricSeries) (queryVerdict, bool) {
	v := queryVerdict{name: name, cond: cond, ok: true}
	found := false
	for _, s := range series {
		for _, x := range s.Values {
			if math.IsNaN(x) {
				continue
			}
			holds := cond.Holds(x)
			if !found || (!holds && v.ok) || (holds == v.ok && badness(cond, x) > badness(cond, v.worst)) {
				v.worst, v.series, v.ok, found = x, s.Labels, holds, true
			}
		}
	}
	return v, found
}

// badness orders values by how far they are from meeting cond, or how close to breaking it.
func badness(c config.Condition, x float64) float64 {
	switch c.Op {
	case config.Less, config.LessEqual:
		return x
	case config.Greater, config.GreaterEqual:
		return -x
	case config.Equal:
		return math.Abs(x - c.Threshold)
	}
	return 0 // !=: the first value that equals the threshold
}

// value writes the worst value with three significant digits, or more where three would put it
// on the other side of the threshold, or on it (0.0100004 is not "0.01", which reads as < 0.01
// failing for no reason).
func (v queryVerdict) value() string {
	return formatValue(v.worst, v.cond)
}

func formatValue(x float64, c config.Condition) string {
	if math.IsInf(x, 0) || (math.Abs(x) >= 1e4 && math.Abs(x) < 1e15 && x == math.Trunc(x)) {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	for prec := 3; prec < 17; prec++ {
		s := strconv.FormatFloat(x, 'g', prec, 64)
		if r, err := strconv.ParseFloat(s, 64); err == nil && cmp.Compare(r, c.Threshold) == cmp.Compare(x, c.Threshold) {
			return s
		}
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// labels writes the worst value's series as " (pod=web-1, version=0123456)", without its
// metric name; "" for a series without labels.
func (v queryVerdict) labels() string {
	var kv []string
	for k, val := range v.series {
		if k != "__name__" {
			kv = append(kv, k+"="+val)
		}
	}
	if len(kv) == 0 {
		return ""
	}
	slices.Sort(kv)
	return " (" + listSome(kv, 5) + ")"
}

// String reads like "error_rate 0.0021 < 0.01" or "error_rate 0.052 not < 0.01".
func (v queryVerdict) String() string {
	if v.ok {
		return fmt.Sprintf("%s %s %s", v.name, v.value(), v.cond)
	}
	return fmt.Sprintf("%s %s not %s", v.name, v.value(), v.cond)
}
