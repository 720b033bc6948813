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
	start, since, wait := runningSince(f)
	if wait != nil {
		return *wait
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

// runningSince says since when the source environment has run f.SourceSHA, and how: "deployed"
// (its stagegate/deploy success status, when it has a cluster) or "on <branch>" (when the commit
// reached its branch). When that is not known yet it returns the Pending result to give instead.
// The soak and metrics gates share it, so both count from the same moment.
func runningSince(f *ForgeFacts) (start time.Time, since string, wait *Result) {
	source := branchOr(f.SourceBranch, "the source")
	switch {
	case f.SourceHasCluster && f.SourceDeployed.IsZero():
		// No RetryAfter: the deploy status arrives with the agent's next cycle or a webhook.
		return time.Time{}, "", &Result{Outcome: Pending, Summary: fmt.Sprintf("%s is not deployed from %s yet", short(f.SourceSHA), source)}
	case f.SourceHasCluster:
		return f.SourceDeployed, "deployed", nil
	case f.SourceArrived.IsZero():
		return time.Time{}, "", &Result{Outcome: Pending, Summary: fmt.Sprintf("when %s reached %s is not known yet", short(f.SourceSHA), source)}
	}
	return f.SourceArrived, "on " + source, nil
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
