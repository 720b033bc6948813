package deploy

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// live is what the cluster held, before a stage was applied, of the objects labelled as this
// environment's: one list per kind and namespace, instead of one read per object. Knowing an
// object's resourceVersion before the apply tells an apply that changed it from one that did
// not, so each object costs one request.
type live struct {
	objs map[string]*unstructured.Unstructured // by group/kind/namespace/name
	errs map[listKey]error                     // the lists that failed
}

// listKey names one list: a kind in a namespace ("" for cluster-scoped kinds).
type listKey struct {
	gvk       schema.GroupVersionKind
	namespace string
}

func liveKey(gk schema.GroupKind, namespace, name string) string {
	return gk.Group + "/" + gk.Kind + "/" + namespace + "/" + name
}

// listLive lists, once per kind and namespace among objs, the objects labelled as this
// environment's. A kind the cluster does not serve yet lists as empty: its objects fail, or in
// a dry-run count as created, when they are applied.
func listLive(ctx context.Context, c *Cluster, objs []*unstructured.Unstructured, opts ApplyOptions) live {
	l := live{objs: map[string]*unstructured.Unstructured{}, errs: map[listKey]error{}}
	seen := map[listKey]bool{}
	for _, u := range objs {
		k := listKey{u.GroupVersionKind(), u.GetNamespace()}
		if seen[k] {
			continue
		}
		seen[k] = true
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
		err := c.client.List(ctx, list, client.InNamespace(k.namespace),
			client.MatchingLabels{LabelPipeline: opts.Pipeline, LabelEnv: opts.Env})
		switch {
		case meta.IsNoMatchError(err):
		case err != nil:
			where := "cluster-wide"
			if k.namespace != "" {
				where = "in namespace " + k.namespace
			}
			l.errs[k] = fmt.Errorf("list %s %s before applying: %w", k.gvk.Kind, where, err)
		default:
			for i := range list.Items {
				o := &list.Items[i]
				l.objs[liveKey(k.gvk.GroupKind(), o.GetNamespace(), o.GetName())] = o
			}
		}
	}
	return l
}

// before returns u as the cluster held it (nil when it did not, or not labelled as this
// environment's), or why that is unknown.
func (l live) before(u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if err := l.errs[listKey{u.GroupVersionKind(), u.GetNamespace()}]; err != nil {
		return nil, err
	}
	return l.objs[liveKey(u.GroupVersionKind().GroupKind(), u.GetNamespace(), u.GetName())], nil
}

// actionOf tells what an apply did to an object from the object before it (nil: absent, or not
// yet labelled as this environment's) and after it.
//
// The server writes nothing for an apply that changes nothing, so the resourceVersion stays. A
// write by someone else between the list and the apply moves it too, so the error is always
// towards "configured", never a change reported as "unchanged". A dry-run writes nothing
// either way, so there the content is compared.
func actionOf(before, after *unstructured.Unstructured, created, dryRun bool) Action {
	switch {
	case created:
		return Created
	case before == nil, before.GetResourceVersion() != after.GetResourceVersion():
		return Configured
	case dryRun && !equality.Semantic.DeepEqual(withoutType(before), withoutType(after)):
		return Configured
	}
	return Unchanged
}

// withoutType is u's content without apiVersion and kind, which a list's items may lack.
func withoutType(u *unstructured.Unstructured) map[string]any {
	out := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "apiVersion" && k != "kind" {
			out[k] = v
		}
	}
	return out
}
