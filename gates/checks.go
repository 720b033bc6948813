package gates

import (
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// Checks gate check IDs.
const (
	// CheckStatusFailed: a required status or check run failed or errored.
	CheckStatusFailed = "checks/failed"
	// CheckStatusMissing: a required context never reported, within the timeout.
	CheckStatusMissing = "checks/missing"
)

var checksChecks = []Check{
	{ID: CheckStatusFailed, Severity: Error, Title: "Required check failed on the source commit",
		Why: "CI, an image scan or another required check says the commit being promoted is broken.",
		Fix: "Open the check's link, fix the cause on the source environment's branch, and let the new commit be promoted; or re-run the check if it was flaky."},
	{ID: CheckStatusMissing, Severity: Error, Title: "Required check never reported",
		Why: "Nothing says the commit being promoted passed the check: the CI job did not start, or the context is misspelt.",
		Fix: "Make the CI job report on the source commit, or correct the name in checks.required."},
}

// checksGate requires named statuses and check runs on the source commit to be green.
type checksGate struct {
	required []string
	timeout  time.Duration
}

func newChecks(c config.ChecksGate) Gate {
	return checksGate{required: c.Required, timeout: c.Timeout.Duration}
}

func (checksGate) needsForge()     {}
func (checksGate) Name() string    { return "checks" }
func (checksGate) Checks() []Check { return checksChecks }

// Evaluate is Pending without promotion facts: the source commit's statuses live on the forge.
func (g checksGate) Evaluate(in Input) Result {
	f := in.Forge
	if f == nil {
		return Result{Outcome: Pending, Summary: "the source commit's checks are not available here; the agent reads them from the forge"}
	}
	var (
		findings               []Finding
		failed, waiting, green []string
		missingSince           time.Time // when missing contexts time out (zero: never)
		seen                   = map[string]bool{}
		sourceCommitName       = short(f.SourceSHA)
	)
	timedOut := func() (deadline time.Time, out bool) {
		if g.timeout <= 0 || f.SourceArrived.IsZero() {
			return time.Time{}, false
		}
		deadline = f.SourceArrived.Add(g.timeout)
		return deadline, !in.Now.Before(deadline)
	}
	for _, want := range g.required {
		matched := matchingStatuses(want, f.SourceChecks)
		if len(matched) == 0 {
			if deadline, out := timedOut(); out {
				failed = append(failed, want+" (not reported)")
				findings = append(findings, Finding{Check: CheckStatusMissing, Severity: Error,
					Message: fmt.Sprintf("%s has not reported on %s, %s after it reached %s", want, sourceCommitName, roundDuration(g.timeout), branchOr(f.SourceBranch, "the source")),
					Fix:     "make the job report on the source commit, or correct checks.required"})
			} else {
				waiting = append(waiting, want+" (not reported)")
				missingSince = deadline
			}
			continue
		}
		for _, s := range matched {
			if seen[s.Context] { // matched by an earlier entry too
				continue
			}
			seen[s.Context] = true
			switch s.State {
			case gitsource.StatusSuccess:
				green = append(green, s.Context)
			case gitsource.StatusFailure, gitsource.StatusError:
				msg := fmt.Sprintf("%s is %s on %s", s.Context, s.State, sourceCommitName)
				if s.Description != "" {
					msg += ": " + s.Description
				}
				fix := "fix the cause on the source branch, or re-run the check if it was flaky"
				if s.TargetURL != "" {
					msg += " (" + s.TargetURL + ")"
					fix = "see " + s.TargetURL + "; " + fix
				}
				failed = append(failed, s.Context+" ("+string(s.State)+")")
				findings = append(findings, Finding{Check: CheckStatusFailed, Severity: Error, Message: msg, Fix: fix})
			default: // pending: queued or in progress
				waiting = append(waiting, s.Context+" ("+string(s.State)+")")
			}
		}
	}
	switch {
	case len(findings) > 0:
		return Result{Outcome: Fail, Findings: findings,
			Summary: fmt.Sprintf("%s on %s: %s", plural(len(findings), "required check")+" not green", sourceCommitName, listSome(failed, 3))}
	case len(waiting) > 0:
		r := Result{Outcome: Pending, Summary: fmt.Sprintf("waiting for %s on %s", listSome(waiting, 3), sourceCommitName)}
		// Running checks report through a webhook or the next poll; only a missing context's
		// timeout is a time worth coming back at.
		if !missingSince.IsZero() {
			r.RetryAfter = missingSince
		}
		return r
	}
	slices.Sort(green)
	green = slices.Compact(green)
	return Result{Outcome: Pass, Summary: fmt.Sprintf("%s green on %s: %s", plural(len(green), "check"), sourceCommitName, listSome(green, 5))}
}

// matchingStatuses are the statuses whose context is want, or matches it as a glob.
func matchingStatuses(want string, all []gitsource.Status) []gitsource.Status {
	var out []gitsource.Status
	for _, s := range all {
		if s.Context == want {
			out = append(out, s)
			continue
		}
		if ok, _ := path.Match(want, s.Context); ok {
			out = append(out, s)
		}
	}
	return out
}
