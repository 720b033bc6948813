package deploy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stagegate-dev/stagegate/render"
)

// Labels and annotations stagegate reads and writes on applied objects.
const (
	// LabelPipeline and LabelEnv mark every object an environment applied.
	LabelPipeline = "stagegate.dev/pipeline"
	LabelEnv      = "stagegate.dev/env"
	// AnnotationPrune set to "disabled" keeps an object when it is no longer rendered.
	AnnotationPrune = "stagegate.dev/prune"
	// AnnotationRecreate set to "enabled" lets stagegate delete and recreate an object whose
	// change touches an immutable field; without it such a change fails.
	AnnotationRecreate = "stagegate.dev/recreate"
)

// ApplyOptions configure one Apply.
type ApplyOptions struct {
	// Pipeline and Env name the environment; they label every object and name the inventory.
	// Required.
	Pipeline string
	Env      string
	// InventoryNamespace holds the inventory ConfigMap (stagegate-inventory-<pipeline>-<env>).
	// Required; it must exist or be among the applied objects.
	InventoryNamespace string
	// Revision names what is applied (the commit sha); the inventory records it once the apply
	// succeeded, for Revision to read. Default "": nothing recorded.
	Revision string
	// Prune deletes objects the previous apply recorded and this one no longer renders.
	// Default false.
	Prune bool
	// DryRun sends every write as a server-side dry-run: the result says what would change,
	// and nothing changes, not even the inventory. Default false.
	DryRun bool
	// Workers is how many objects of one stage are applied at once (each is one request, so
	// the client's QPS is the real bound). Default 16.
	Workers int
	// WaitTimeout bounds the wait for CRDs and namespaces to be ready before the objects that
	// need them, and for an object to go before it is recreated. Default 1m.
	WaitTimeout time.Duration

	// Wait, after a successful apply, waits for the applied objects to become ready (kstatus:
	// Deployments rolled out, Jobs complete, ...) and reports those that did not, with a
	// *NotReadyError. Default false. Ignored with DryRun.
	Wait bool
	// ReadyTimeout bounds that wait. Default 5m.
	ReadyTimeout time.Duration

	// newKinds are the kinds this apply's CRDs define; in a dry-run the cluster cannot know them
	// yet, so their objects are reported as created.
	newKinds map[schema.GroupKind]bool
}

// Defaults for ApplyOptions.
const (
	DefaultWorkers      = 16
	DefaultWaitTimeout  = time.Minute
	DefaultReadyTimeout = 5 * time.Minute
)

func (o ApplyOptions) withDefaults() ApplyOptions {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	return o
}

// Validate reports every missing or wrong option at once.
func (o ApplyOptions) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"pipeline", o.Pipeline}, {"env", o.Env}, {"inventoryNamespace", o.InventoryNamespace},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("apply options: %s is required", f.name))
		}
	}
	return errors.Join(errs...)
}

// Action is what Apply did to one object.
type Action string

// Actions, one per object in a Result.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Deleted    Action = "deleted"
	// Recreated: deleted and created again, for a change to an immutable field of an object
	// annotated stagegate.dev/recreate: enabled.
	Recreated Action = "recreated"
	// Kept: no longer rendered, but annotated stagegate.dev/prune: disabled (or not labelled as
	// this environment's), so not deleted.
	Kept Action = "kept"
	// Skipped: not attempted because an earlier stage failed.
	Skipped Action = "skipped"
	Failed  Action = "failed"
)

// ObjectResult is the outcome for one object.
type ObjectResult struct {
	ID     render.ID
	Action Action
	// Err says why, when Action is Failed or Skipped. It never holds Secret values.
	Err error
	// NotReady says why the object is not ready (kstatus status and message), when
	// ApplyOptions.Wait found it so; empty otherwise.
	NotReady string
}

// Result lists the outcome per object: applied objects in apply order, then pruned ones.
type Result struct {
	Objects []ObjectResult
}

// Count is how many objects got action a.
func (r Result) Count(a Action) int {
	n := 0
	for _, o := range r.Objects {
		if o.Action == a {
			n++
		}
	}
	return n
}

// Changed reports whether the apply created, configured, recreated or deleted anything.
func (r Result) Changed() bool {
	return r.Count(Created)+r.Count(Configured)+r.Count(Recreated)+r.Count(Deleted) > 0
}

// Apply server-side-applies objs to cluster in stages: CRDs and namespaces (then waits for them
// to be ready), cluster-wide RBAC, then everything else. It records what it applied in the
// environment's inventory and, with Prune, deletes what the previous inventory holds and objs no
// longer do. A failure of some objects is reported per object and as the returned error; later
// stages are skipped and nothing is pruned. When the API server goes away, that error is an
// *UnreachableError: apply again.
func Apply(ctx context.Context, cluster *Cluster, objs render.Objects, opts ApplyOptions) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	opts = opts.withDefaults()
	m := cluster.manager(opts.DryRun, opts.Workers)

	prev, err := readInventory(ctx, cluster, opts)
	if err != nil {
		if unreachable(err) {
			err = &UnreachableError{Server: cluster.String(), NotApplied: len(objs), Err: err}
		}
		return Result{}, err
	}

	var stages [3][]*unstructured.Unstructured
	for _, o := range objs {
		u := toUnstructured(o)
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelPipeline], labels[LabelEnv] = opts.Pipeline, opts.Env
		u.SetLabels(labels)
		s := stageOf(u)
		stages[s] = append(stages[s], u)
	}
	if opts.DryRun {
		opts.newKinds = crdKinds(stages[0])
	}

	res, applied, now, err := applyStages(ctx, cluster, m, stages, prev.sent, opts)
	if err != nil {
		// Keep everything the previous inventory held, so a later apply can still prune it, and
		// add only what this one applied: an object not applied is not claimed.
		var invErr error
		if !opts.DryRun {
			partial := opts
			partial.Revision = "" // a part of it is not that revision
			invErr = writeInventory(ctx, cluster, partial, merge(entriesOf(applied), prev.entries), now, prev)
		}
		return res, errors.Join(err, invErr)
	}

	current := entriesOf(applied)
	var remaining []Entry
	if opts.Prune {
		pruned, keep := prune(ctx, m, opts, subtract(prev.entries, current))
		res.Objects = append(res.Objects, pruned...)
		remaining = merge(current, keep)
	} else {
		remaining = merge(current, prev.entries)
	}
	if !opts.DryRun {
		if err := writeInventory(ctx, cluster, opts, remaining, now, prev); err != nil {
			return res, err
		}
	}
	if err := failures(cluster, res); err != nil || !opts.Wait || opts.DryRun {
		return res, err // prune failures
	}
	return res, markNotReady(ctx, cluster, &res, applied, opts.ReadyTimeout)
}

// applyStages applies the stages in order, waiting after the first (CRDs established,
// namespaces active). Once an object fails, later stages are skipped. applied lists the
// objects that went through, in apply order, and now what was sent for them; last is what the
// previous apply sent. err joins the failures.
func applyStages(ctx context.Context, cluster *Cluster, m *ssa.ResourceManager, stages [3][]*unstructured.Unstructured, last map[string]sent, opts ApplyOptions) (res Result, applied []*unstructured.Unstructured, now map[string]sent, err error) {
	now = map[string]sent{}
	log := slog.With("pipeline", opts.Pipeline, "env", opts.Env)
	failed := false
	var waitErr error
	for i, stage := range stages {
		if failed {
			for _, u := range stage {
				res.Objects = append(res.Objects, ObjectResult{ID: idOf(u), Action: Skipped,
					Err: errors.New("not applied: an earlier stage failed")})
			}
			continue
		}
		out, sents := applyStage(ctx, cluster, stage, last, opts)
		for j, r := range out {
			if r.Action == Failed {
				failed = true // reported in the result and the returned error, not logged here
				continue
			}
			applied = append(applied, stage[j])
			if sents[j] != (sent{}) {
				now[keyOf(stage[j])] = sents[j]
			}
			log.Debug("applied", "object", r.ID.String(), "action", string(r.Action))
		}
		res.Objects = append(res.Objects, out...)
		if i == 0 && !failed && !opts.DryRun && len(stage) > 0 {
			if err := waitReady(ctx, m, stage, opts.WaitTimeout); err != nil {
				failed = true
				waitErr = fmt.Errorf("wait for CRDs and namespaces to be ready: %w", err)
			}
		}
	}
	return res, applied, now, errors.Join(waitErr, failures(cluster, res))
}

// markNotReady waits for the applied objects and records in res those that did not become
// ready, returning them as a *NotReadyError.
func markNotReady(ctx context.Context, cluster *Cluster, res *Result, applied []*unstructured.Unstructured, timeout time.Duration) error {
	notReady, err := waitRollout(ctx, cluster, applied, timeout)
	if err != nil {
		return err
	}
	if len(notReady) == 0 {
		return nil
	}
	nr := &NotReadyError{}
	for i, o := range res.Objects {
		if why, ok := notReady[o.ID]; ok {
			res.Objects[i].NotReady = why
			nr.Objects = append(nr.Objects, res.Objects[i])
		}
	}
	return nr
}

// failures joins the per-object errors, or is nil when there are none. The API server going
// away fails many objects for one reason: that is one *UnreachableError, not one per object.
func failures(cluster *Cluster, res Result) error {
	var errs []error
	var down *UnreachableError
	for _, o := range res.Objects {
		switch {
		case o.Action == Failed && unreachable(o.Err):
			if down == nil {
				down = &UnreachableError{Server: cluster.String(), Err: o.Err}
			}
		case o.Action == Failed:
			errs = append(errs, o.Err)
		}
	}
	if down != nil {
		for _, o := range res.Objects {
			switch o.Action {
			case Created, Configured, Unchanged, Recreated:
				down.Applied++
			case Failed, Skipped:
				down.NotApplied++
			}
		}
	}
	switch {
	case down != nil && len(errs) == 0:
		return down
	case down != nil:
		return errors.Join(down, fmt.Errorf("%d of %d objects failed otherwise: %w", len(errs), len(res.Objects), errors.Join(errs...)))
	case len(errs) > 0:
		return fmt.Errorf("%d of %d objects failed: %w", len(errs), len(res.Objects), errors.Join(errs...))
	}
	return nil
}

// applyStage applies the objects of one stage, Workers at a time, after listing what the cluster
// holds of them, and returns what was sent for each. Once the API server is unreachable, the
// objects not yet sent are skipped rather than each waiting for its own connection error.
func applyStage(ctx context.Context, cluster *Cluster, stage []*unstructured.Unstructured, last map[string]sent, opts ApplyOptions) ([]ObjectResult, []sent) {
	out, sents := make([]ObjectResult, len(stage)), make([]sent, len(stage))
	if len(stage) == 0 {
		return out, sents
	}
	l := listLive(ctx, cluster, stage, opts)
	sem := make(chan struct{}, opts.Workers)
	var down atomic.Bool
	var wg sync.WaitGroup
	for i, u := range stage {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if down.Load() {
				out[i] = ObjectResult{ID: idOf(u), Action: Skipped, Err: errors.New("not applied: the API server was unreachable")}
				return
			}
			out[i], sents[i] = applyOne(ctx, cluster, l, last, u, opts)
			if out[i].Action == Failed && unreachable(out[i].Err) {
				down.Store(true)
			}
		})
	}
	wg.Wait()
	return out, sents
}

// applyOne applies u with one request, recreating it when an immutable field changed and u
// allows it, and returns what it sent. It sends nothing when the previous apply (last) sent the
// same and nobody has written the object since.
//
// Recreation is decided here rather than by ssa's ForceSelector, which treats every Invalid
// error as an immutable-field one: an annotated object with a merely invalid change would be
// deleted and then fail to come back.
func applyOne(ctx context.Context, cluster *Cluster, l live, last map[string]sent, u *unstructured.Unstructured, opts ApplyOptions) (ObjectResult, sent) {
	r := ObjectResult{ID: idOf(u)}
	before, err := l.before(u)
	if err != nil {
		r.Action, r.Err = Failed, objectError(u, err)
		return r, sent{}
	}
	body, err := u.MarshalJSON()
	if err != nil {
		r.Action, r.Err = Failed, objectError(u, fmt.Errorf("encode: %w", err))
		return r, sent{}
	}
	digest := digestOf(body, cluster.fieldManager)
	if before != nil && last[keyOf(u)] == (sent{digest, before.GetResourceVersion()}) {
		// Nobody has written the object since the last apply sent this very content: sending it
		// again would change nothing.
		r.Action = Unchanged
		return r, last[keyOf(u)]
	}
	after, created, err := cluster.serverApply(ctx, u, body, opts.DryRun)
	if err == nil {
		r.Action = actionOf(before, after, created, opts.DryRun)
		return r, sent{digest, after.GetResourceVersion()}
	}
	if opts.DryRun && meta.IsNoMatchError(err) && opts.newKinds[u.GroupVersionKind().GroupKind()] {
		r.Action = Created
		return r, sent{}
	}
	if len(immutableFields(err)) == 0 || u.GetAnnotations()[AnnotationRecreate] != "enabled" {
		r.Action, r.Err = Failed, objectError(u, err)
		return r, sent{}
	}
	if opts.DryRun {
		r.Action = Recreated // a dry-run delete leaves the object, so the create cannot be tried
		return r, sent{}
	}
	after, err = recreate(ctx, cluster, u, body, opts.WaitTimeout)
	if err != nil {
		r.Action, r.Err = Failed, objectError(u, err)
		return r, sent{}
	}
	r.Action = Recreated
	return r, sent{digest, after.GetResourceVersion()}
}

// recreate deletes the live u, waits (bounded) until it is gone, and applies u again.
func recreate(ctx context.Context, cluster *Cluster, u *unstructured.Unstructured, body []byte, timeout time.Duration) (*unstructured.Unstructured, error) {
	live := u.DeepCopy()
	if err := cluster.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("delete to recreate: %w", err)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		err := cluster.client.Get(ctx, client.ObjectKeyFromObject(u), live)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return nil, fmt.Errorf("wait for deletion before recreating (finalizers?): %w", err)
	}
	after, _, err := cluster.serverApply(ctx, u, body, false)
	if err != nil {
		return nil, fmt.Errorf("create after deletion: %w", err)
	}
	return after, nil
}

// waitReady waits for the first stage (CRDs established, namespaces active), so the custom
// resources and namespaced objects after it find them.
func waitReady(ctx context.Context, m *ssa.ResourceManager, stage []*unstructured.Unstructured, timeout time.Duration) error {
	set := make(object.ObjMetadataSet, 0, len(stage))
	for _, u := range stage {
		set = append(set, object.UnstructuredToObjMetadata(u))
	}
	return m.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: 500 * time.Millisecond, Timeout: timeout})
}

// crdKinds lists the kinds the CRDs among objs define.
func crdKinds(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	kinds := map[schema.GroupKind]bool{}
	for _, u := range objs {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		kinds[schema.GroupKind{Group: group, Kind: kind}] = true
	}
	return kinds
}

// stageOf puts CRDs and namespaces first, cluster-wide RBAC second, everything else last.
func stageOf(u *unstructured.Unstructured) int {
	gk := u.GroupVersionKind().GroupKind()
	switch {
	case gk.Group == "apiextensions.k8s.io" && gk.Kind == "CustomResourceDefinition",
		gk.Group == "" && gk.Kind == "Namespace":
		return 0
	case gk.Group == "rbac.authorization.k8s.io" && (gk.Kind == "ClusterRole" || gk.Kind == "ClusterRoleBinding"):
		return 1
	}
	return 2
}

// toUnstructured copies a rendered object, so labelling it leaves the rendering untouched.
func toUnstructured(o render.Object) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: runtime.DeepCopyJSON(normalize(o.Content).(map[string]any))}
}

// normalize turns YAML-decoded numbers (int, float64 with no fraction) into the int64 and float64
// that unstructured and DeepCopyJSON accept.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case uint64:
		return int64(v)
	case float32:
		return float64(v)
	}
	return v
}

func idOf(u *unstructured.Unstructured) render.ID {
	gvk := u.GroupVersionKind()
	return render.ID{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

// ImmutableFieldError is a change stagegate refused because it touches a field the API server
// does not let change.
type ImmutableFieldError struct {
	Object render.ID
	Fields []string
}

func (e *ImmutableFieldError) Error() string {
	return fmt.Sprintf("%s: field %s is immutable; revert the change, or annotate the object %s: enabled to let stagegate delete and recreate it",
		e.Object, strings.Join(e.Fields, ", "), AnnotationRecreate)
}

// UnreachableError is an apply (or, with Op, a read such as Health) cut short because the API
// server stopped answering (connection refused or reset, timeouts, 503, 429). It is transient: back off and apply again; the apply
// is idempotent, so the next one converges. Nothing was pruned, and the inventory lists only
// objects that were applied.
type UnreachableError struct {
	Server string
	// Op is what the API server's silence cut short when it was not an apply ("while reading
	// the health of environment dev"); "" for an apply, whose counts follow.
	Op string
	// Applied and NotApplied count the objects confirmed applied and those failed or skipped;
	// the result says which are which. A failed object's request may have reached the server
	// before the connection broke.
	Applied, NotApplied int
	Err                 error
}

func (e *UnreachableError) Error() string {
	if e.Op != "" {
		return fmt.Sprintf("API server %s unreachable %s: %v; this is transient: ask again later", e.Server, e.Op, e.Err)
	}
	return fmt.Sprintf("API server %s unreachable during the apply (%d objects applied, %d not): %v; this is transient: retry the apply, which converges",
		e.Server, e.Applied, e.NotApplied, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// unreachable reports whether err says the API server could not be reached or could not answer
// for now, rather than that it refused the object.
func unreachable(err error) bool {
	var ne net.Error
	return utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, syscall.EPIPE) || utilnet.IsHTTP2ConnectionLost(err) ||
		strings.Contains(err.Error(), "http2: client connection force closed") || // when a dial fails
		(errors.As(err, &ne) && ne.Timeout()) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err)
}

// objectError names the object and says what went wrong, without the values of a Secret.
func objectError(u *unstructured.Unstructured, err error) error {
	id := idOf(u)
	if fields := immutableFields(err); len(fields) > 0 {
		return &ImmutableFieldError{Object: id, Fields: fields}
	}
	if meta.IsNoMatchError(err) {
		return fmt.Errorf("%s: the cluster does not serve %s; add its CRD to the environment or fix apiVersion", id, u.GetAPIVersion())
	}
	if id.Group == "" && id.Kind == "Secret" {
		// The API server may echo submitted values back in validation messages.
		return fmt.Errorf("%s: %s", id, redact(err.Error(), u))
	}
	return fmt.Errorf("%s: %w", id, err)
}

// immutableFields lists the fields an Invalid error calls immutable.
func immutableFields(err error) []string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
		return nil
	}
	var fields []string
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			if strings.Contains(c.Message, "immutable") && c.Field != "" {
				fields = append(fields, c.Field)
			}
		}
	}
	return fields
}

// redact replaces every data and stringData value of Secret u in msg.
func redact(msg string, u *unstructured.Unstructured) string {
	for _, key := range []string{"data", "stringData"} {
		m, _, _ := unstructured.NestedStringMap(u.Object, key)
		for _, v := range m {
			vals := []string{v}
			if key == "data" {
				if dec, err := base64.StdEncoding.DecodeString(v); err == nil {
					vals = append(vals, string(dec))
				}
			}
			for _, v := range vals {
				if len(v) >= 3 {
					msg = strings.ReplaceAll(msg, v, "REDACTED")
				}
			}
		}
	}
	return msg
}
