package gates

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/drift"
)

// AcknowledgeDriftLabel on a promotion request lets it into an environment whose cluster has
// drifted. The acknowledgement is recorded: the drift gate passes with its findings downgraded to
// warnings and a drift/acknowledged note naming the label and the request.
const AcknowledgeDriftLabel = "stagegate/acknowledge-drift"

// CheckDriftAcknowledged records that the acknowledge-drift label let a promotion into an
// environment with drift.
const CheckDriftAcknowledged = "drift/acknowledged"

const (
	checkDriftDrifted = "drift/drifted"
	checkDriftMissing = "drift/missing"
	checkDriftExtra   = "drift/extra"
	checkDriftFailed  = "drift/failed"
)

var driftChecks = []Check{
	{ID: checkDriftDrifted, Severity: Error, Title: "Object in the cluster differs from Git",
		Why: "Someone changed the object in the cluster (kubectl edit, a hotfix, another controller); the promotion's apply would silently overwrite that change.",
		Fix: "Put the change into Git if it should stay, or add the label " + AcknowledgeDriftLabel + " to the promotion request to let the promotion overwrite it."},
	{ID: checkDriftMissing, Severity: Error, Title: "Rendered object is missing from the cluster",
		Why: "The environment's branch renders the object but the cluster does not have it: someone deleted it, or an apply did not finish.",
		Fix: "Find out why it is gone; remove it from Git if it should stay gone, or add the label " + AcknowledgeDriftLabel + " to let the promotion create it again."},
	{ID: checkDriftExtra, Severity: Error, Title: "Cluster has an object Git no longer renders",
		Why: "stagegate applied the object before and the branch no longer renders it, yet it is still in the cluster: a prune did not happen or did not finish.",
		Fix: "Delete it from the cluster or render it again, or add the label " + AcknowledgeDriftLabel + " to let the promotion go ahead."},
	{ID: checkDriftFailed, Severity: Warning, Title: "Object could not be compared with the cluster",
		Why: "The scan could not read the object or dry-run it, so whether it drifted is unknown; the gate waits for a scan that compares every object.",
		Fix: "Read the reason (stagegate drift --env <env> shows it too); fix access or the object, or add the label " + AcknowledgeDriftLabel + " to go ahead without knowing."},
	{ID: CheckDriftAcknowledged, Severity: Info, Title: "Drift acknowledged by label",
		Why: "Someone chose to promote over drift in the target cluster; the record names the request and what had drifted.",
		Fix: "Nothing to fix; the promotion's apply brings the cluster back to Git. Remove the label if the drift should block after all."},
}

// driftGate refuses a promotion into an environment whose cluster has drifted from its branch:
// the promotion's apply would overwrite changes someone made in the cluster, unnoticed. It reads
// the agent's drift scan of the target's current rendering; the environment's drift.ignore rules
// have already decided what is not drift.
type driftGate struct{}

func newDrift(config.DriftGate) Gate { return driftGate{} }

func (driftGate) needsCluster()   {}
func (driftGate) keepsSummary()   {}
func (driftGate) Name() string    { return "drift" }
func (driftGate) Checks() []Check { return driftChecks }

func (driftGate) Evaluate(in Input) Result {
	c := in.Cluster
	switch {
	case c != nil && c.Unreachable != "":
		return clusterUnreachable(in)
	case c == nil || c.Drift == nil:
		// No RetryAfter: the agent scans with the promotion's next cycle.
		return Result{Outcome: Pending, Summary: fmt.Sprintf("the cluster of %s has not been scanned for drift yet; the agent scans it for a promotion", envName(in.Env))}
	}
	branch := branchOr(in.Env.Branch, envName(in.Env))
	sum := c.Drift.Summary()
	if sum.Drift() == 0 && sum.Failed == 0 {
		return Result{Outcome: Pass, Summary: fmt.Sprintf("%s is in sync with its cluster (%s)", branch, plural(sum.InSync, "object"))}
	}

	refs := newRefIndex(in.Objects)
	var findings []Finding
	var firstFailure string
	for _, o := range c.Drift.Objects {
		ref := refs.resolve(ObjectRef{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name})
		f := Finding{Severity: Error, Object: ref}
		switch o.Status {
		case drift.Drifted:
			paths := make([]string, len(o.Paths))
			for i, p := range o.Paths {
				paths[i] = pointerPath(p)
			}
			f.Check = checkDriftDrifted
			if len(paths) > 0 {
				f.Path = paths[0]
			}
			f.Message = fmt.Sprintf("changed in the cluster, differs from %s: %s", branch, listSome(paths, 5))
			f.Fix = fmt.Sprintf("see the diff with stagegate drift --env %s; put the change into Git, or add the label %s to let the promotion overwrite it", in.Env.Name, AcknowledgeDriftLabel)
		case drift.Missing:
			f.Check = checkDriftMissing
			f.Message = fmt.Sprintf("rendered on %s but missing from the cluster", branch)
			f.Fix = fmt.Sprintf("remove it from Git if it should stay gone, or add the label %s to let the promotion create it again", AcknowledgeDriftLabel)
		case drift.Extra:
			f.Check = checkDriftExtra
			f.Message = fmt.Sprintf("in the cluster, applied by stagegate before, but no longer rendered on %s", branch)
			f.Fix = fmt.Sprintf("delete it from the cluster or render it again, or add the label %s to let the promotion go ahead", AcknowledgeDriftLabel)
		case drift.Failed:
			f.Check, f.Severity = checkDriftFailed, Warning
			f.Message = "could not be compared with the cluster: " + o.Reason
			f.Fix = fmt.Sprintf("fix the cause (stagegate drift --env %s shows it too), or add the label %s to go ahead without knowing", in.Env.Name, AcknowledgeDriftLabel)
			if firstFailure == "" {
				firstFailure = fmt.Sprintf("%s: %s", ref, o.Reason)
			}
		default:
			continue
		}
		findings = append(findings, f)
	}

	what := driftSummary(sum, branch)
	if r := in.Forge; r != nil && r.Request != nil && slices.Contains(r.Request.Labels, AcknowledgeDriftLabel) {
		for i := range findings {
			if findings[i].Severity == Error {
				findings[i].Severity = Warning
			}
		}
		// No current time and no counts that change while nothing changes: the summary and the
		// note read the same from cycle to cycle, so the agent rewrites no status and no PR body.
		by := fmt.Sprintf("label %s on request #%d", AcknowledgeDriftLabel, r.Request.Number)
		findings = append(findings, Finding{
			Check: CheckDriftAcknowledged, Severity: Info,
			Message: fmt.Sprintf("%s acknowledges the drift: %s", by, what),
			Fix:     "nothing to fix; the promotion's apply brings the cluster back to Git. Remove the label if the drift should block after all",
		})
		return Result{Outcome: Pass, Summary: "drift acknowledged by " + by + ": " + what, Findings: findings}
	}
	if sum.Drift() == 0 {
		// Only objects that could not be compared: whether they drifted is unknown. Wait for a
		// scan that compares them rather than fail or pass on a guess.
		return Result{Outcome: Pending, RetryAfter: in.Now.Add(clusterRetry), Findings: findings,
			Summary: fmt.Sprintf("%s; first: %s", what, firstFailure)}
	}
	return Result{Outcome: Fail, Summary: what, Findings: findings}
}

// driftSummary reads like "3 objects drifted from env/prod: 2 drifted, 1 extra" or, with
// objects the scan could not compare, "...; 1 object could not be compared".
func driftSummary(s drift.Summary, branch string) string {
	var parts []string
	for _, c := range []struct {
		n    int
		word string
	}{{s.Drifted, "drifted"}, {s.Missing, "missing"}, {s.Extra, "extra"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.word))
		}
	}
	var out string
	if n := s.Drift(); n > 0 {
		out = fmt.Sprintf("%s drifted from %s: %s", plural(n, "object"), branch, strings.Join(parts, ", "))
	}
	if s.Failed > 0 {
		failed := fmt.Sprintf("%s could not be compared with the cluster", plural(s.Failed, "object"))
		if out == "" {
			return failed
		}
		out += "; " + failed
	}
	return out
}
