package controller

import (
	"context"
	"errors"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/render"
)

// ask gathers what the target's cluster says, for the drift and dry-run gates when the target
// environment runs them: a drift scan of the target branch's rendering (what should be running
// there) and a server-side dry-run of the promotion's rendering. A cluster that cannot be asked
// leaves them pending, with the reason.
func (c *Controller) ask(ctx context.Context, p *promotion) error {
	return c.askFor(ctx, p, c.Gates[p.to.Name].Gates())
}

// askFor is ask for the gates named (a rollback's, which are not the environment's).
func (c *Controller) askFor(ctx context.Context, p *promotion, names []string) error {
	wantDrift, wantDryRun := slices.Contains(names, "drift"), slices.Contains(names, "dry-run")
	if !wantDrift && !wantDryRun {
		return nil
	}
	facts := &gates.ClusterFacts{}
	p.cluster = facts
	if c.Clusters == nil || p.to.Cluster == nil {
		facts.Unreachable = "this agent has no access to " + p.to.Name + "'s cluster"
		return nil
	}
	cluster, err := c.Clusters(ctx, p.to)
	if err != nil {
		facts.Unreachable = err.Error()
		return nil
	}
	if wantDrift {
		current, err := renderTree(ctx, c.Mirror, p.plan.Target.SHA, p.to)
		if err != nil {
			return err
		}
		report, err := c.detect(ctx, cluster, p.to, current)
		if err != nil {
			facts.Unreachable = err.Error()
			return nil
		}
		facts.Drift = &report
	}
	if wantDryRun {
		res, err := deploy.Apply(ctx, cluster, p.plan.Proposed, c.applyOptions(p.to, "", true))
		if err != nil && res.Count(deploy.Failed) == 0 {
			facts.Unreachable = err.Error() // the dry-run itself could not run
			return nil
		}
		facts.DryRun = &gates.DryRunFacts{Rejections: rejections(res, p.plan.Proposed)}
	}
	return nil
}

// rejections turns the objects a dry-run apply refused into the dry-run gate's facts. An object
// refused only because its namespace, created by the same promotion, does not exist yet is
// not a rejection: a dry-run creates nothing.
func rejections(res deploy.Result, proposed render.Objects) []gates.Rejection {
	newNamespaces := map[string]bool{}
	for _, o := range proposed {
		if o.Kind() == "Namespace" && o.APIVersion() == "v1" {
			newNamespaces[o.Name()] = true
		}
	}
	byID := map[render.ID]render.Object{}
	for _, o := range proposed {
		byID[o.ID()] = o
	}
	var out []gates.Rejection
	for _, r := range res.Objects {
		if r.Action != deploy.Failed || r.Err == nil {
			continue
		}
		if apierrors.IsNotFound(r.Err) && newNamespaces[r.ID.Namespace] && strings.Contains(r.Err.Error(), "namespaces") {
			continue
		}
		rej := gates.Rejection{Reason: rejectionReason(r.Err), Message: r.Err.Error()}
		if o, ok := byID[r.ID]; ok {
			rej.Object = gates.Ref(o)
		} else {
			rej.Object = gates.ObjectRef{Kind: r.ID.Kind, Namespace: r.ID.Namespace, Name: r.ID.Name}
		}
		var immutable *deploy.ImmutableFieldError
		if errors.As(r.Err, &immutable) {
			rej.Field = strings.Join(immutable.Fields, ", ")
		}
		out = append(out, rej)
	}
	return out
}

// rejectionReason sorts an API server's refusal by what the user has to do about it. Errors
// about Secrets arrive as text only (their values are redacted), so the text decides last.
func rejectionReason(err error) gates.RejectionReason {
	var immutable *deploy.ImmutableFieldError
	msg := err.Error()
	switch {
	case errors.As(err, &immutable):
		return gates.RejectionImmutable
	case strings.Contains(msg, "admission webhook") || strings.Contains(msg, "ValidatingAdmissionPolicy") || apierrors.IsForbidden(err):
		return gates.RejectionAdmission
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || meta.IsNoMatchError(err) ||
		strings.Contains(msg, "is invalid") || strings.Contains(msg, "the cluster does not serve"):
		return gates.RejectionSchema
	}
	return gates.RejectionOther
}
