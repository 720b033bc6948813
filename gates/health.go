package gates

import (
	"fmt"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

const (
	checkHealthFailed     = "health/failed"
	checkHealthMissing    = "health/missing"
	checkHealthInProgress = "health/in-progress"
	checkHealthUnknown    = "health/unknown"
)

var healthChecks = []Check{
	{ID: checkHealthFailed, Severity: Error, Title: "Workload failed in the source environment",
		Why: "kstatus says the object will not become ready without a change (a rollout past its progress deadline, a failed Job): the change that breaks it there would break the target too.",
		Fix: "Look at the object's events and conditions in the source cluster (kubectl describe); fix or revert the change on the source branch. The gate judges the next commit applied there."},
	{ID: checkHealthMissing, Severity: Error, Title: "Applied object is missing from the source cluster",
		Why: "The source environment's inventory lists the object as applied, but its cluster does not have it (or no longer serves its kind): someone or something deleted it, so what runs there is not what was promoted from.",
		Fix: "Find out what deleted it; stagegate apply --env <source> creates it again, or remove it from the source branch if it should stay gone."},
	{ID: checkHealthInProgress, Severity: Warning, Title: "Workload has not settled in the source environment",
		Why: "The object is still rolling out or being deleted (kstatus InProgress or Terminating); its health is not known until it settles, so the gate waits.",
		Fix: "Usually nothing: the gate looks again every 30 seconds. If it never settles, look at its events and conditions in the source cluster (kubectl describe)."},
	{ID: checkHealthUnknown, Severity: Warning, Title: "Health of an object in the source environment is unknown",
		Why: "The agent could not read the object or kstatus could not work out its status; the gate waits rather than guess.",
		Fix: "Read the message: usually the agent lacks get on the kind in the source cluster (give it the same access it applies with), or the object's status is malformed."},
}

// healthRetry is how soon the gate looks again while workloads settle: a rollout takes seconds
// to minutes.
const healthRetry = 30 * time.Second

// healthGate requires the source environment's workloads, applied from the source commit, to be
// healthy in its cluster: every object its inventory lists has kstatus Current. It reads
// deploy.Health of the source's cluster, which the agent gathers.
type healthGate struct{}

func newHealth(config.HealthGate) Gate { return healthGate{} }

func (healthGate) needsRuntime()   {}
func (healthGate) keepsSummary()   {}
func (healthGate) Name() string    { return "health" }
func (healthGate) Checks() []Check { return healthChecks }

func (healthGate) Evaluate(in Input) Result {
	var h *HealthFacts
	if in.Runtime != nil {
		h = in.Runtime.Health
	}
	source := healthSource(in, h)
	switch {
	case h == nil:
		// No RetryAfter: the agent reads the source's health with the promotion's next cycle.
		return Result{Outcome: Pending, Summary: fmt.Sprintf("the health of %s is not known here; the agent reads it from its cluster for a promotion", source)}
	case h.Unreachable != "":
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry),
			Summary: fmt.Sprintf("cannot reach the cluster of %s: %s", source, h.Unreachable)}
	case in.Forge == nil || in.Forge.SourceSHA == "":
		return Result{Outcome: Pending, Summary: fmt.Sprintf("the commit promoted from %s is not known here; the agent gathers it for a promotion", source)}
	}
	sha := short(in.Forge.SourceSHA)
	switch h.Revision {
	case "":
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry),
			Summary: fmt.Sprintf("nothing applied to the cluster of %s completely yet; waiting for %s", source, sha)}
	case in.Forge.SourceSHA:
	default:
		// The workloads' health says nothing about the commit promoted until they run it.
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(runtimeRetry),
			Summary: fmt.Sprintf("the cluster of %s runs %s, not %s yet", source, short(h.Revision), sha)}
	}

	env := h.Source
	if env == "" {
		env = "<source>"
	}
	branch := branchOr(in.Forge.SourceBranch, "the source branch")
	var findings []Finding
	var first, firstUnsettled string
	counts := map[HealthStatus]int{}
	for _, o := range h.Objects {
		if o.Status == HealthCurrent {
			continue
		}
		f := Finding{Object: o.Object}
		status := o.Status
		switch o.Status {
		case HealthFailed:
			f.Check, f.Severity = checkHealthFailed, Error
			f.Message = fmt.Sprintf("failed in the cluster of %s at %s: %s", source, sha, o.Message)
			f.Fix = fmt.Sprintf("see why with %s in the cluster of %s; fix or revert the change on %s", kubectlDescribe(o.Object), source, branch)
		case HealthNotFound:
			f.Check, f.Severity = checkHealthMissing, Error
			f.Message = fmt.Sprintf("the inventory of %s lists it as applied at %s, but its cluster lacks it: %s", source, sha, o.Message)
			f.Fix = fmt.Sprintf("find out what deleted it; stagegate apply --env %s creates it again, or remove it from %s if it should stay gone", env, branch)
		case HealthInProgress, HealthTerminating:
			f.Check, f.Severity = checkHealthInProgress, Warning
			f.Message = fmt.Sprintf("%s in the cluster of %s: %s", o.Status, source, o.Message)
			f.Fix = fmt.Sprintf("nothing to do while it progresses: the gate looks again in %s; if it never settles, see why with %s", roundDuration(healthRetry), kubectlDescribe(o.Object))
		default:
			status = HealthUnknown
			f.Check, f.Severity = checkHealthUnknown, Warning
			f.Message = fmt.Sprintf("health unknown in the cluster of %s: %s", source, o.Message)
			f.Fix = fmt.Sprintf("give the agent get on %s in the cluster of %s (it applies them, so it should have it), or fix what the message names", o.Object.Kind, source)
		}
		counts[status]++
		what := fmt.Sprintf("%s %s: %s", o.Object, status, o.Message)
		switch {
		case f.Severity == Error && first == "":
			first = what
		case f.Severity != Error && firstUnsettled == "":
			firstUnsettled = what
		}
		findings = append(findings, f)
	}
	if len(findings) == 0 {
		return Result{Outcome: Pass, Summary: fmt.Sprintf("%s of %s healthy at %s", plural(len(h.Objects), "object"), source, sha)}
	}

	// The summary names states and the first object, never a time: it reads the same from
	// cycle to cycle while nothing changes.
	var parts []string
	for _, c := range []struct {
		s    HealthStatus
		word string
	}{{HealthFailed, "failed"}, {HealthNotFound, "missing"}, {HealthInProgress, "in progress"}, {HealthTerminating, "terminating"}, {HealthUnknown, "unknown"}} {
		if n := counts[c.s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c.word))
		}
	}
	if first == "" {
		first = firstUnsettled
	}
	summary := fmt.Sprintf("%d of %s of %s at %s not healthy (%s); first: %s",
		len(findings), plural(len(h.Objects), "object"), source, sha, strings.Join(parts, ", "), first)
	if firstUnsettled != "" {
		// Objects still settling: wait for them. Failed or missing ones still fail the gate, by
		// their error findings; but when an override makes those warnings, the gate must keep
		// waiting for the rest rather than pass.
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(healthRetry), Summary: summary, Findings: findings}
	}
	return Result{Outcome: Fail, Summary: summary, Findings: findings}
}

// healthSource names the environment the health facts are about: by name when the agent said,
// else by its branch.
func healthSource(in Input, h *HealthFacts) string {
	switch {
	case h != nil && h.Source != "":
		return "environment " + h.Source
	case in.Forge != nil && in.Forge.SourceBranch != "":
		return in.Forge.SourceBranch
	}
	return "the source environment"
}

// kubectlDescribe is the kubectl command that shows an object's conditions and events.
func kubectlDescribe(r ObjectRef) string {
	kind := strings.ToLower(r.Kind)
	if group, _, ok := strings.Cut(r.APIVersion, "/"); ok && group != "apps" && group != "batch" {
		kind += "." + group // a kind name alone may be ambiguous outside the well-known groups
	}
	cmd := "kubectl describe " + kind + " " + r.Name
	if r.Namespace != "" {
		cmd += " -n " + r.Namespace
	}
	return cmd
}
