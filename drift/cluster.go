package drift

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stagegate-dev/stagegate/deploy"
)

// Live is the Cluster of one environment, reached through deploy. Its dry-runs send each object
// exactly as deploy.Apply would (labelled with the pipeline and environment, under deploy's
// field manager, forcing conflicts), so an object deploy applied and nobody changed compares
// in sync.
type Live struct {
	Cluster *deploy.Cluster
	// Pipeline, Env and InventoryNamespace are the ones given to deploy.Apply.
	Pipeline, Env      string
	InventoryNamespace string
}

// DryRunApply server-side-applies obj as a dry run and returns what the server would store.
func (l Live) DryRunApply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	u := obj.DeepCopy()
	// deploy.Apply labels what it applies; a dry-run without the labels would show them as
	// removed on every object.
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[deploy.LabelPipeline], labels[deploy.LabelEnv] = l.Pipeline, l.Env
	u.SetLabels(labels)
	err := l.Cluster.Client().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.DryRunAll, client.ForceOwnership, client.FieldOwner(l.Cluster.FieldManager()))
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Get reads the live object; nil when it does not exist.
func (l Live) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err := l.Cluster.Client().Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Inventory lists the objects deploy recorded in the environment's inventory ConfigMap; none
// before the first apply.
func (l Live) Inventory(ctx context.Context, pipeline, env string) ([]Ref, error) {
	entries, err := deploy.Inventory(ctx, l.Cluster, deploy.ApplyOptions{Pipeline: pipeline, Env: env, InventoryNamespace: l.InventoryNamespace})
	if err != nil {
		return nil, err
	}
	refs := make([]Ref, 0, len(entries))
	for _, e := range entries {
		gv, err := schema.ParseGroupVersion(e.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("inventory of %s/%s: %w", pipeline, env, err)
		}
		refs = append(refs, Ref{GVK: gv.WithKind(e.Kind), Namespace: e.Namespace, Name: e.Name})
	}
	return refs, nil
}

// List returns the objects of one kind in namespace ("" for all, or cluster-scoped kinds) that
// deploy labelled as the environment's.
func (l Live) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string) ([]*unstructured.Unstructured, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	err := l.Cluster.Client().List(ctx, list, client.InNamespace(namespace),
		client.MatchingLabels{deploy.LabelPipeline: l.Pipeline, deploy.LabelEnv: l.Env})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
