package gates

import (
	"fmt"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

// soakGate waits until the source environment has run the exact source commit for a duration.
// It judges no object and reports no findings: its answer is a time, in the summary and in
// RetryAfter.
type soakGate struct {
	duration time.Duration
}

func newSoak(c config.SoakGate) Gate { return soakGate{duration: c.Duration.Duration} }

func (soakGate) needsForge()  {}
func (soakGate) Name() string { return "soak" }

// Evaluate is Pending without promotion facts: how long the source has run the commit is only
// known to the agent, which reads the deploy status and the branch's history.
func (g soakGate) Evaluate(in Input) Result {
	f := in.Forge
	if f == nil {
		return Result{Outcome: Pending, Summary: "the source's deploy time is not available here; the agent gathers it for a promotion"}
	}
	source := branchOr(f.SourceBranch, "the source")
	var start time.Time
	var since string
	switch {
	case f.SourceHasCluster && f.SourceDeployed.IsZero():
		// No RetryAfter: the deploy status arrives with the agent's next cycle or a webhook.
		return Result{Outcome: Pending, Summary: fmt.Sprintf("%s is not deployed from %s yet", short(f.SourceSHA), source)}
	case f.SourceHasCluster:
		start, since = f.SourceDeployed, "deployed"
	case f.SourceArrived.IsZero():
		return Result{Outcome: Pending, Summary: fmt.Sprintf("when %s reached %s is not known yet", short(f.SourceSHA), source)}
	default:
		start, since = f.SourceArrived, "on "+source
	}
	// The summaries name fixed times only, never the time elapsed: they stay the same from cycle
	// to cycle while nothing changes, so the agent rewrites no status and no PR body.
	end := start.Add(g.duration)
	if !in.Now.Before(end) {
		return Result{Outcome: Pass, Summary: fmt.Sprintf("%s %s since %s, at least %s required",
			short(f.SourceSHA), since, start.UTC().Format(time.RFC3339), roundDuration(g.duration))}
	}
	return Result{Outcome: Pending, RetryAfter: end,
		Summary: fmt.Sprintf("soaking until %s: %s %s since %s, at least %s required", end.UTC().Format(time.RFC3339),
			short(f.SourceSHA), since, start.UTC().Format(time.RFC3339), roundDuration(g.duration))}
}

// roundDuration writes a duration to the second, without a trailing 0s or 0m ("1h30m", "45s").
func roundDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
