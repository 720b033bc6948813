package gates

import (
	"time"
)

// The runtime gates judge how the source environment behaves while it runs the change: its
// metrics (metrics.go), answers to synthetic requests (http.go), its workloads' health
// (health.go) and the verdict of a service elsewhere (external.go). They sit on the environment
// promoted into and look at the one before it. The agent observes the source (package probe,
// deploy.Health) before the gates run and hands them RuntimeFacts; the gates stay pure.

// runtimeGate is implemented by gates that need facts only the agent gathers from the running
// source environment; like a forgeGate, `stagegate gate` skips them (see WithoutForge).
type runtimeGate interface{ needsRuntime() }

// observedGate is implemented by gates whose results carry observed values that change from
// one evaluation to the next while the verdict stays (metrics, latencies): the agent refreshes
// their commit statuses less often than it evaluates them (see Result.Observed).
type observedGate interface{ observes() }

// Observes reports whether the gate named name in s reports observed values.
func (s *Set) Observes(name string) bool {
	_, ok := s.gate(name).(observedGate)
	return ok
}

// Runtime reports whether the gate named name in s judges the running source environment.
func (s *Set) Runtime(name string) bool {
	_, ok := s.gate(name).(runtimeGate)
	return ok
}

// gate is the gate named name in s, nil when s has none.
func (s *Set) gate(name string) Gate {
	for _, g := range s.gates {
		if g.Name() == name {
			return g
		}
	}
	return nil
}

// runtimeRetry is how soon a runtime gate asks to be evaluated again after the source could not
// be observed (a query API or a URL that did not answer).
const runtimeRetry = time.Minute

// RuntimeFacts are what the running source environment shows, gathered by the agent before the
// gates run. A nil field was not gathered: its gate is Pending.
type RuntimeFacts struct {
	Metrics *MetricsFacts
	HTTP    *HTTPFacts
	Health  *HealthFacts
	// External holds each external gate's facts by gate name.
	External map[string]*ExternalFacts
}

// Observation is one value a runtime gate observed and judged, for the PR's gate table and the
// merge's trailers ("error_rate=0.0021 < 0.01").
type Observation struct {
	// Name of the value ("error_rate", "checkout p95").
	Name string `json:"name"`
	// Value observed, as written ("0.0021", "182ms").
	Value string `json:"value"`
	// Condition the value had to meet ("< 0.01", "<= 300ms").
	Condition string `json:"condition"`
	// OK says whether it met it.
	OK bool `json:"ok"`
}

// ProbeError says why the source could not be observed, sorted by what it means for the
// verdict: a source that does not answer is Pending (it may answer soon), a question the source
// refuses (a PromQL syntax error, a 401) is Fail until someone fixes the config.
type ProbeError struct {
	Kind    ProbeErrorKind `json:"kind"`
	Message string         `json:"message"`
}

// ProbeErrorKind sorts probe errors.
type ProbeErrorKind string

// Probe error kinds.
const (
	// ProbeUnreachable: connection refused, DNS failure, a 5xx, a 429: try again later.
	ProbeUnreachable ProbeErrorKind = "unreachable"
	// ProbeTimeout: no answer within the timeout: try again later.
	ProbeTimeout ProbeErrorKind = "timeout"
	// ProbeRefused: the request itself is wrong (a PromQL syntax error, a 400, 401 or 403, a
	// template that does not execute): fix the config.
	ProbeRefused ProbeErrorKind = "refused"
	// ProbeBadAnswer: an answer that cannot be read (not JSON, an unknown result type).
	ProbeBadAnswer ProbeErrorKind = "bad-answer"
)

func (e *ProbeError) Error() string { return string(e.Kind) + ": " + e.Message }

// MetricsFacts are the answers of the metrics gate's queries.
type MetricsFacts struct {
	// At is the time the queries were evaluated at (the end of the window).
	At time.Time
	// Window the queries covered.
	Window time.Duration
	// Queries in config order, one per configured query.
	Queries []QueryAnswer
	// Err is set when the queries could not be prepared at all (the namespace could not be
	// worked out); Queries is then empty.
	Err *ProbeError
}

// QueryAnswer is one query's answer.
type QueryAnswer struct {
	// Name of the query, from the config.
	Name string
	// Query as sent, with its template executed.
	Query string
	// Series of the answer: one per label set; an instant query's have one value, a range
	// query's one per step. Empty: the query returned no data.
	Series []MetricSeries
	// Err is why there is no answer; nil when Prometheus answered.
	Err *ProbeError
}

// MetricSeries is one series of a query's answer.
type MetricSeries struct {
	// Labels of the series ("pod=web-1"); empty for a scalar.
	Labels map[string]string
	// Values in time order; NaN where the query had no value (0/0).
	Values []float64
}

// HTTPFacts are the answers to the http gate's synthetic requests.
type HTTPFacts struct {
	// At is when the requests were sent.
	At time.Time
	// Targets in config order.
	Targets []HTTPTargetFacts
}

// HTTPTargetFacts are one target's answers.
type HTTPTargetFacts struct {
	Name string
	URL  string
	// Samples, one per request sent, in the order sent.
	Samples []HTTPSample
}

// HTTPSample is one request's outcome.
type HTTPSample struct {
	// Status code of the answer; 0 when there was none (Err says why).
	Status int
	// Latency from sending the request to reading the whole body.
	Latency time.Duration
	// BodyMatched says whether the body matched the target's bodyMatch (true when none is set).
	BodyMatched bool
	// Err is why there was no answer (connection refused, timeout); nil otherwise.
	Err *ProbeError
}

// HealthFacts are the source cluster's workloads' health, from its inventory.
type HealthFacts struct {
	// Source is the name of the environment the facts are about, the one promoted from
	// (deploy.HealthReport.Env); "" when unknown, and the gate names the source branch instead.
	Source string
	// Unreachable says why the source's cluster could not be asked ("" when it answered).
	Unreachable string
	// Revision the source's inventory records as last applied completely ("" when none).
	Revision string
	// Objects the inventory lists, with their status, in inventory order.
	Objects []ObjectHealth
}

// ObjectHealth is one object's kstatus.
type ObjectHealth struct {
	Object ObjectRef
	Status HealthStatus
	// Message is kstatus's explanation ("Deployment is available. Replicas: 3").
	Message string
}

// HealthStatus is a kstatus status.
type HealthStatus string

// Health statuses, as kstatus computes them.
const (
	HealthCurrent     HealthStatus = "Current"
	HealthInProgress  HealthStatus = "InProgress"
	HealthFailed      HealthStatus = "Failed"
	HealthTerminating HealthStatus = "Terminating"
	HealthNotFound    HealthStatus = "NotFound"
	HealthUnknown     HealthStatus = "Unknown"
)

// ExternalFacts are what an external gate's service said about the promotion commit.
type ExternalFacts struct {
	// Verdict the service gave: Pass, Fail or Pending. Empty when it could not be asked (Err).
	Verdict Outcome
	// Summary the service gave, one line.
	Summary string
	// Findings the service listed, with Check already prefixed by the gate's name.
	Findings []Finding
	// RetryAfter is when to ask again, for a Pending verdict.
	RetryAfter time.Time
	// From says where the verdict came from: "response" (the answer to the POST) or "status"
	// (a commit status stagegate/<gate> on the promotion commit).
	From string
	// URL is where the service shows the details of its verdict ("" when it gave none): the
	// commit status links to it.
	URL string
	// Err is why the service could not be asked or its answer not read.
	Err *ProbeError
}

// RunningSince is when the source environment started running f.SourceSHA, as the soak gate
// counts it: the commit's stagegate/deploy success when the source has a cluster, otherwise
// when the commit reached its branch. Zero when it does not run it yet (or f is nil).
func RunningSince(f *ForgeFacts) time.Time {
	if f == nil {
		return time.Time{}
	}
	start, _, _ := runningSince(f)
	return start
}

// String writes the observation as a trailer and a table read it: "error_rate=0.0021 < 0.01".
func (o Observation) String() string {
	s := o.Name + "=" + o.Value
	if o.Condition != "" {
		s += " " + o.Condition
	}
	return s
}
