package gates

import (
	"fmt"

	"github.com/stagegate-dev/stagegate/config"
)

const (
	checkDryRunAdmission = "dry-run/admission"
	checkDryRunSchema    = "dry-run/schema"
	checkDryRunImmutable = "dry-run/immutable"
	checkDryRunRejected  = "dry-run/rejected"
)

var dryRunChecks = []Check{
	{ID: checkDryRunAdmission, Severity: Error, Title: "Admission control denies the object",
		Why: "A webhook or admission policy of the target cluster (ValidatingAdmissionPolicy, Kyverno, Gatekeeper, a quota) would refuse the object, so the apply after the merge would fail.",
		Fix: "Read the message: it names the webhook or policy and why. Change the object to satisfy it, or ask the cluster's owners for an exception."},
	{ID: checkDryRunSchema, Severity: Error, Title: "Cluster's schema rejects the object",
		Why: "The target cluster's version of the type (or of the CRD) does not accept a field or value, so the apply after the merge would fail.",
		Fix: "Correct the field the message names, for the API version and CRD the target cluster serves."},
	{ID: checkDryRunImmutable, Severity: Error, Title: "Change to an immutable field",
		Why: "The field cannot change once the object exists (a Deployment's selector, a Job's template, a Service's clusterIP), so the apply after the merge would fail.",
		Fix: "Change the field back to the cluster's value, or annotate the object stagegate.dev/recreate: enabled to let stagegate delete and recreate it (it is briefly gone)."},
	{ID: checkDryRunRejected, Severity: Error, Title: "Cluster rejects the object",
		Why: "The target cluster refused the object for another reason (a missing namespace or CRD, a conflict), so the apply after the merge would fail.",
		Fix: "Read the API server's message and fix the object or what it depends on."},
}

// dryRunGate refuses a promotion whose objects the target cluster would reject: the agent sends
// the promotion's rendered objects as a server-side dry-run apply, which runs admission,
// validation and immutability checks without storing anything.
type dryRunGate struct{}

func newDryRun(config.DryRunGate) Gate { return dryRunGate{} }

func (dryRunGate) needsCluster()   {}
func (dryRunGate) Name() string    { return "dry-run" }
func (dryRunGate) Checks() []Check { return dryRunChecks }

func (dryRunGate) Evaluate(in Input) Result {
	c := in.Cluster
	switch {
	case c != nil && c.Unreachable != "":
		return clusterUnreachable(in)
	case c == nil || c.DryRun == nil:
		// No RetryAfter: the agent runs the dry-run with the promotion's next cycle.
		return Result{Outcome: Pending, Summary: fmt.Sprintf("the server-side dry-run on the cluster of %s has not run yet; the agent runs it for a promotion", envName(in.Env))}
	}
	if len(c.DryRun.Rejections) == 0 {
		all := fmt.Sprintf("all %s", plural(len(in.Objects), "object"))
		if len(in.Objects) == 1 {
			all = "the one object"
		}
		return Result{Outcome: Pass, Summary: fmt.Sprintf("the cluster accepts %s (server-side dry-run)", all)}
	}
	refs := newRefIndex(in.Objects)
	findings := make([]Finding, 0, len(c.DryRun.Rejections))
	for _, rj := range c.DryRun.Rejections {
		f := Finding{Severity: Error, Object: refs.resolve(rj.Object), Path: rj.Field}
		switch rj.Reason {
		case RejectionAdmission:
			f.Check = checkDryRunAdmission
			f.Message = "admission denied it: " + rj.Message
			f.Fix = "change the object to satisfy the webhook or policy the message names, or ask the cluster's owners for an exception"
		case RejectionSchema:
			f.Check = checkDryRunSchema
			f.Message = "the cluster's schema rejects it: " + rj.Message
			f.Fix = "correct the field for the API version and CRD the target cluster serves"
		case RejectionImmutable:
			f.Check = checkDryRunImmutable
			field := "a field"
			if rj.Field != "" {
				field = rj.Field
			}
			f.Message = fmt.Sprintf("changes %s, which cannot change once the object exists: %s", field, rj.Message)
			f.Fix = "change it back to the cluster's value, or annotate the object stagegate.dev/recreate: enabled to let stagegate delete and recreate it (it is briefly gone)"
		default:
			f.Check = checkDryRunRejected
			f.Message = "the cluster rejects it: " + rj.Message
			f.Fix = "read the API server's message and fix the object or what it depends on"
		}
		findings = append(findings, f)
	}
	return Result{Outcome: Fail, Findings: findings}
}
