package deploy

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prune deletes the stale entries in reverse apply order (custom resources before their CRDs,
// namespaced objects before their namespace). It deletes only objects labelled as this
// environment's and not annotated stagegate.dev/prune: disabled. keep lists the entries whose
// deletion failed, so the next apply tries again.
func prune(ctx context.Context, m *ssa.ResourceManager, opts ApplyOptions, stale []Entry) (out []ObjectResult, keep []Entry) {
	dopts := ssa.DeleteOptions{
		PropagationPolicy: metav1.DeletePropagationBackground,
		Inclusions:        map[string]string{LabelPipeline: opts.Pipeline, LabelEnv: opts.Env},
		Exclusions:        map[string]string{AnnotationPrune: "disabled"},
	}
	for i := len(stale) - 1; i >= 0; i-- {
		e := stale[i]
		u := e.unstructured()
		id := idOf(u)
		entry, err := m.Delete(ctx, u, dopts)
		switch {
		case err != nil && meta.IsNoMatchError(err):
			// Its CRD is gone, and the object with it.
			out = append(out, ObjectResult{ID: id, Action: Deleted})
		case err != nil:
			out = append(out, ObjectResult{ID: id, Action: Failed, Err: fmt.Errorf("prune %s: %w", id, err)})
			keep = append(keep, e)
		case entry.Action == ssa.SkippedAction:
			out = append(out, ObjectResult{ID: id, Action: Kept})
		default:
			out = append(out, ObjectResult{ID: id, Action: Deleted})
		}
		slog.Debug("pruned", "pipeline", opts.Pipeline, "env", opts.Env, "object", id.String(), "action", string(out[len(out)-1].Action))
	}
	return out, keep
}
