package gates

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

const (
	checkHTTPStatus      = "http/status"
	checkHTTPBody        = "http/body"
	checkHTTPLatency     = "http/latency"
	checkHTTPUnreachable = "http/unreachable"
)

var httpChecks = []Check{
	{ID: checkHTTPStatus, Severity: Error, Title: "URL answered with a status it may not have",
		Why: "The source environment runs the change being promoted; an answer like 500 or 503 from one of its URLs means the change broke it, or broke it under load.",
		Fix: "Look at the source environment's logs for the target's URL; fix the change, or list the status in the target's status if it is a good answer."},
	{ID: checkHTTPBody, Severity: Error, Title: "Answer's body does not match bodyMatch",
		Why: "The URL answered with an accepted status but not with the content expected of it: an error page served as 200, an empty result, the wrong version.",
		Fix: "Request the URL yourself and compare the body with the target's bodyMatch; fix the change, or the expression if the content rightly changed."},
	{ID: checkHTTPLatency, Severity: Error, Title: "95th percentile latency above the budget",
		Why: "The change made the source environment slower than the target's p95 budget allows; promoted further, it would be as slow there.",
		Fix: "Find what made the requests slower (a query, a dependency, resources) and fix it, or raise the target's p95 if the budget is too tight."},
	{ID: checkHTTPUnreachable, Severity: Error, Title: "URL did not answer",
		Why: "Requests to the source environment's URL were refused, found no host or timed out: after the deploy, the service is not reachable. The gate runs again every interval, so a passing blip does not block for long.",
		Fix: "Check that the source environment's service is up and reachable from the agent (DNS, network policy, TLS and caFile), and that the target's URL is right."},
}

// httpGate judges the answers to synthetic requests sent to the source environment's URLs.
//
// Requests that got no answer count against the gate like bad statuses: the gate fails rather
// than waits. After the deploy, a URL of the source that does not answer is the signal the gate
// exists for, and a Fail is not final: the agent sends the requests again every interval and
// the gate passes once they are answered. It is Pending while facts are missing or cannot be
// judged (no requests sent yet, sent before the source ran the commit for the delay, a round
// cut short), and while a target answered none of its requests with http/unreachable lowered.
type httpGate struct {
	c config.HTTPGate
}

func newHTTP(c config.HTTPGate) Gate { return httpGate{c: c} }

func (httpGate) needsRuntime()   {}
func (httpGate) observes()       {}
func (httpGate) keepsSummary()   {}
func (httpGate) Name() string    { return "http" }
func (httpGate) Checks() []Check { return httpChecks }

func (g httpGate) Evaluate(in Input) Result {
	f := in.Forge
	if f == nil {
		return Result{Outcome: Pending, Summary: "whether the source runs the commit is not known here; the agent gathers it for a promotion"}
	}
	source := branchOr(f.SourceBranch, "the source")
	start, since, wait := runningSince(f)
	if wait != nil {
		return *wait
	}
	// The requests count once the source has run the commit for the delay: right after a
	// deploy the old pods may still answer, and without a cluster the commit may not even be
	// synced yet.
	settled := start.Add(g.c.DelayOr())
	if in.Now.Before(settled) {
		return Result{Outcome: Pending, RetryAfter: settled,
			Summary: fmt.Sprintf("waiting until %s to send requests to %s: %s %s since %s, delay %s", settled.UTC().Format(time.RFC3339),
				sourceEnvOf(in), short(f.SourceSHA), since, start.UTC().Format(time.RFC3339), roundDuration(g.c.DelayOr()))}
	}
	var facts *HTTPFacts
	if in.Runtime != nil {
		facts = in.Runtime.HTTP
	}
	if facts == nil {
		return Result{Outcome: Pending, Summary: "the requests have not been sent yet"}
	}
	if facts.At.Before(settled) {
		// They judged what ran before the commit, or while it rolled out.
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry),
			Summary: fmt.Sprintf("the requests were sent before %s had run on %s for the delay; waiting for the next ones", short(f.SourceSHA), source)}
	}

	var findings []Finding
	var observed []Observation
	unanswered := false
	for _, t := range g.c.Targets {
		i := slices.IndexFunc(facts.Targets, func(tf HTTPTargetFacts) bool { return tf.Name == t.Name })
		if i < 0 || len(facts.Targets[i].Samples) == 0 {
			return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry), Summary: fmt.Sprintf("no requests have been sent to %s yet", t.Name)}
		}
		if n, want := len(facts.Targets[i].Samples), g.c.RequestsOr(); n < want {
			// A round cut short (the agent stopped, the cycle's deadline) is not judged.
			return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry),
				Summary: fmt.Sprintf("the round of requests to %s was cut short (%d of %d sent); sending again", t.Name, n, want)}
		}
		fs, obs := judgeTarget(t, facts.Targets[i].Samples)
		findings = append(findings, fs...)
		observed = append(observed, obs...)
		if answered(facts.Targets[i].Samples) == 0 {
			unanswered = true
		}
	}
	r := Result{Outcome: Pass, Findings: findings, Observed: observed}
	if len(findings) > 0 {
		r.Outcome = Fail
		if unanswered {
			// A target that answered nothing cannot pass, whatever the overrides say: Pending
			// with its error findings is Fail, and still Pending with http/unreachable lowered.
			r.Outcome, r.RetryAfter = Pending, in.Now.Add(runtimeRetry)
		}
		r.Summary = g.failure(findings)
		return r
	}
	// No latencies or counts that change from one round to the next: the summary stays the
	// same while the verdict does (the observations carry the values).
	r.Summary = fmt.Sprintf("%s answered as expected, %s each", plural(len(g.c.Targets), "target"), plural(g.c.RequestsOr(), "request"))
	return r
}

// failure is the summary of a failed round: the first finding in target order (the one a reader
// of the config meets first) that still fails the gate once the environment's overrides apply,
// and how many more there are. Evaluate keeps it, so it must not name a finding turned off.
func (g httpGate) failure(findings []Finding) string {
	var shown []Finding
	for _, f := range findings {
		if g.c.Severity[f.Check] != config.SeverityOff {
			shown = append(shown, f)
		}
	}
	if len(shown) == 0 {
		return ""
	}
	first := slices.IndexFunc(shown, func(f Finding) bool {
		sev, ok := g.c.Severity[f.Check]
		return !ok || sev == config.SeverityError
	})
	s := shown[max(first, 0)].Message
	if len(shown) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(shown)-1)
	}
	return s
}

// answered counts the samples that got an answer.
func answered(samples []HTTPSample) int {
	n := 0
	for _, s := range samples {
		if s.Err == nil {
			n++
		}
	}
	return n
}

// sourceEnvOf names the source in a summary: its branch.
func sourceEnvOf(in Input) string {
	if in.Forge == nil {
		return "the source"
	}
	return branchOr(in.Forge.SourceBranch, "the source")
}

// judgeTarget judges one target's samples.
func judgeTarget(t config.HTTPTarget, samples []HTTPSample) ([]Finding, []Observation) {
	allowed := t.StatusOr()
	var (
		findings  []Finding
		noAnswer  []HTTPSample
		badStatus = map[int]int{}
		bad       int
		mismatch  int
		ok        int
		latencies []time.Duration
	)
	for _, s := range samples {
		switch {
		case s.Err != nil:
			noAnswer = append(noAnswer, s)
			continue
		case !slices.Contains(allowed, s.Status):
			badStatus[s.Status]++
			bad++
		case t.BodyMatch != "" && !s.BodyMatched:
			mismatch++
		default:
			ok++
		}
		latencies = append(latencies, s.Latency)
	}
	n := len(samples)
	add := func(check, format string, args ...any) {
		findings = append(findings, Finding{Check: check, Severity: Error,
			Message: t.Name + ": " + fmt.Sprintf(format, args...)})
	}
	if len(noAnswer) > 0 {
		add(checkHTTPUnreachable, "%d of %d requests got no answer (%s)", len(noAnswer), n, noAnswer[0].Err.Error())
	}
	if bad > 0 {
		add(checkHTTPStatus, "%d of %d answers were %s, want %s", bad, n, statusCounts(badStatus), joinInts(allowed))
	}
	if mismatch > 0 {
		add(checkHTTPBody, "%d of %d answers did not match bodyMatch %q", mismatch, n, t.BodyMatch)
	}
	observed := []Observation{{Name: t.Name, Value: fmt.Sprintf("%d/%d ok", ok, n), Condition: fmt.Sprintf("%d/%d", n, n), OK: ok == n}}
	if budget := t.P95.Duration; budget > 0 && len(latencies) > 0 {
		p95 := percentile(latencies, 95)
		within := p95 <= budget
		observed = append(observed, Observation{Name: t.Name + " p95", Value: fmtLatency(p95), Condition: "<= " + fmtLatency(budget), OK: within})
		if !within {
			add(checkHTTPLatency, "p95 %s > %s budget (%s)", fmtLatency(p95), fmtLatency(budget), plural(len(latencies), "answer"))
		}
	}
	return findings, observed
}

// percentile is the nearest-rank p-th percentile of ds: the smallest value with at least p% of
// the values at or below it. ds is not empty.
func percentile(ds []time.Duration, p int) time.Duration {
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n), 1-based
	return sorted[max(rank, 1)-1]
}

// fmtLatency writes a latency to the millisecond ("412ms", "1.204s"); below one, to the
// microsecond.
func fmtLatency(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// statusCounts writes the bad statuses seen: "503", or "503 (2) or 500 (1)" when they differ.
func statusCounts(counts map[int]int) string {
	codes := make([]int, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	// Most frequent first, then by code.
	slices.SortFunc(codes, func(a, b int) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return a - b
	})
	if len(codes) == 1 {
		return strconv.Itoa(codes[0])
	}
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d (%d)", c, counts[c])
	}
	return strings.Join(parts, " or ")
}

// joinInts writes "200", "200 or 204", "200, 201 or 204".
func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
