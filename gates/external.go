package gates

import (
	"fmt"

	"github.com/stagegate-dev/stagegate/config"
)

// externalGate is the verdict of a service elsewhere on the promotion commit.
//
// It fails only when the service says so. When the agent cannot ask the service or read its
// answer (a 401, a timeout, a 5xx, an answer that is not the contract's JSON) the gate waits
// and asks again: the agent posts the gate's result as the commit status stagegate/<name> and
// reads a terminal status by that name back as the service's verdict, so a Fail for the
// agent's own trouble would stick as if the service had given it.
type externalGate struct {
	c config.ExternalGate
}

func newExternal(c config.ExternalGate) Gate { return externalGate{c: c} }

func (externalGate) needsRuntime()  {}
func (externalGate) keepsSummary()  {}
func (g externalGate) Name() string { return g.c.Name }

func (g externalGate) Evaluate(in Input) Result {
	var f *ExternalFacts
	if in.Runtime != nil {
		f = in.Runtime.External[g.c.Name]
	}
	if f == nil {
		return Result{Outcome: Pending, Summary: "the service has not been asked yet"}
	}
	if e := f.Err; e != nil {
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry), Summary: askFailed(e)}
	}
	switch f.Verdict {
	case Pass:
		// The service's findings go through the framework like any gate's: an error finding
		// fails the gate whatever the verdict said, unless an override or a waiver says otherwise.
		return Result{Outcome: Pass, Findings: f.Findings, Summary: serviceSummary(f, "the service passed the promotion")}
	case Fail:
		return Result{Outcome: Fail, Findings: f.Findings, Summary: serviceSummary(f, "the service failed the promotion")}
	case Pending:
		retry := f.RetryAfter
		if retry.IsZero() {
			retry = in.Now.Add(runtimeRetry)
		}
		// Findings of an undecided answer are left out: an error among them would fail the gate.
		return Result{Outcome: Pending, RetryAfter: retry, Summary: serviceSummary(&ExternalFacts{Summary: f.Summary}, "the service has not decided yet")}
	}
	return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry),
		Summary: fmt.Sprintf("the service's verdict %q is not pass, fail or pending", f.Verdict)}
}

// serviceSummary is the service's own summary; without one, def when there are no findings to
// count, and "" (let Evaluate count them) when there are.
func serviceSummary(f *ExternalFacts, def string) string {
	switch {
	case f.Summary != "":
		return f.Summary
	case len(f.Findings) > 0:
		return ""
	}
	return def
}

// askFailed says why the service could not be asked and what to do; the agent asks again.
func askFailed(e *ProbeError) string {
	switch e.Kind {
	case ProbeRefused:
		return "the service refused the request: " + e.Message
	case ProbeTimeout:
		return "the service did not answer in time: " + e.Message
	case ProbeBadAnswer:
		return "the service's answer could not be read: " + e.Message
	default:
		return "the service could not be reached: " + e.Message
	}
}
