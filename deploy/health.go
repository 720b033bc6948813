package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// HealthReport is the kstatus of every object an environment's inventory lists. Its fields
// are those of gates.HealthFacts (deploy does not import gates): Env is the facts' Source, and
// an *UnreachableError from Health their Unreachable.
type HealthReport struct {
	// Env whose inventory was read (ApplyOptions.Env).
	Env string
	// Revision the inventory records as last applied completely ("" when none).
	Revision string
	// Objects in inventory order.
	Objects []ObjectHealth
}

// ObjectHealth is one inventory object's kstatus.
type ObjectHealth struct {
	Entry   Entry
	Status  HealthStatus
	Message string
}

// HealthStatus is an object's kstatus status, or NotFound. The values are those of
// gates.HealthStatus.
type HealthStatus string

// Health statuses.
const (
	// HealthCurrent: the object is what its spec asks (a Deployment rolled out and available).
	HealthCurrent HealthStatus = "Current"
	// HealthInProgress: the object is getting there (a rollout under way).
	HealthInProgress HealthStatus = "InProgress"
	// HealthFailed: the object will not get there without a change (a rollout past its
	// progress deadline, a Job that failed).
	HealthFailed HealthStatus = "Failed"
	// HealthTerminating: the object is being deleted.
	HealthTerminating HealthStatus = "Terminating"
	// HealthNotFound: the inventory lists the object and the cluster lacks it (or no longer
	// serves its kind).
	HealthNotFound HealthStatus = "NotFound"
	// HealthUnknown: the status could not be worked out or the object not read (the message
	// says why).
	HealthUnknown HealthStatus = "Unknown"
)

// healthWorkers is how many objects Health reads at once. Each is one GET; the client's QPS is
// the real bound, this only keeps a large inventory from queueing hundreds of goroutines.
const healthWorkers = 8

// Health computes the kstatus of every object in the environment's inventory: what the last
// apply left, as it runs now. Only opts.Pipeline, Env and InventoryNamespace are read. Before
// the first apply the report is empty, without error. An API server that does not answer gives
// an *UnreachableError: ask again later. An object that cannot be read for another reason (RBAC)
// is Unknown, with the reason as its message.
func Health(ctx context.Context, cluster *Cluster, opts ApplyOptions) (HealthReport, error) {
	if err := opts.Validate(); err != nil {
		return HealthReport{}, err
	}
	rep := HealthReport{Env: opts.Env}
	inv, err := readInventory(ctx, cluster, opts)
	if err != nil {
		return rep, healthError(cluster, opts, err)
	}
	rep.Revision = inv.revision
	if len(inv.entries) == 0 {
		return rep, nil
	}
	rep.Objects = make([]ObjectHealth, len(inv.entries))
	errs := make([]error, len(inv.entries))

	next := make(chan int)
	var wg sync.WaitGroup
	for range min(healthWorkers, len(inv.entries)) {
		wg.Go(func() {
			for i := range next {
				rep.Objects[i], errs[i] = objectHealth(ctx, cluster, inv.entries[i])
			}
		})
	}
	for i := range inv.entries {
		next <- i
	}
	close(next)
	wg.Wait()
	// The objects' errors all say the same (the server went away, or ctx ended): one is enough.
	for _, err := range errs {
		if err != nil {
			return HealthReport{Env: opts.Env}, healthError(cluster, opts, err)
		}
	}
	return rep, nil
}

// objectHealth reads one inventory object and computes its status. Only an API server that did
// not answer (or ctx ending) is an error: it makes every other answer meaningless.
func objectHealth(ctx context.Context, cluster *Cluster, e Entry) (ObjectHealth, error) {
	h := ObjectHealth{Entry: e}
	u := e.unstructured()
	err := cluster.client.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, u)
	switch {
	case err == nil:
	case ctx.Err() != nil, unreachable(err):
		return h, err
	case apierrors.IsNotFound(err):
		h.Status, h.Message = HealthNotFound, "not found in the cluster"
		return h, nil
	case meta.IsNoMatchError(err):
		// Its CRD is gone, and with it every object of the kind.
		h.Status, h.Message = HealthNotFound, fmt.Sprintf("the cluster no longer serves %s %s", e.APIVersion, e.Kind)
		return h, nil
	default:
		h.Status, h.Message = HealthUnknown, "cannot read it: "+err.Error()
		return h, nil
	}
	res, err := status.Compute(u)
	if err != nil {
		h.Status, h.Message = HealthUnknown, "cannot compute its status: "+err.Error()
		return h, nil
	}
	h.Status, h.Message = HealthStatus(res.Status), res.Message
	return h, nil
}

// healthError makes an API server that did not answer an *UnreachableError; one that did not
// answer before ctx's deadline is one too, but a cancelled ctx is the caller stopping.
func healthError(cluster *Cluster, opts ApplyOptions, err error) error {
	if !errors.Is(err, context.Canceled) && unreachable(err) {
		return &UnreachableError{Server: cluster.String(), Op: "while reading the health of environment " + opts.Env, Err: err}
	}
	return fmt.Errorf("health of environment %s: %w", opts.Env, err)
}
