package deploy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/stagegate-dev/stagegate/config"
)

// Options configure the connection to a cluster. The zero value is ready to use.
type Options struct {
	// QPS is the client's steady request rate to the API server, shared by every request the
	// Cluster sends. Default 50. A negative QPS turns client-side rate limiting off, as
	// client-go does; the API server's priority and fairness still applies. (kubectl is
	// effectively unlimited: it builds a client, with its own 5 QPS / 10 burst bucket, for every
	// object it applies and sends one request per object; see docs/clusters.md.)
	QPS float32
	// Burst is how many requests may go above QPS for a moment. Default 100.
	Burst int
	// FieldManager owns the fields stagegate applies. Default "stagegate".
	FieldManager string
}

// Defaults for Options, in one place.
const (
	DefaultQPS          float32 = 50
	DefaultBurst                = 100
	DefaultFieldManager         = "stagegate"
)

func (o Options) withDefaults() Options {
	if o.QPS == 0 {
		o.QPS = DefaultQPS
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	return o
}

// Cluster is a connection to one environment's API server: a client, a REST mapper that
// learns new kinds when CRDs appear, and the field manager stagegate applies with.
type Cluster struct {
	client client.Client
	// rest sends server-side applies itself: unlike client, it shows the HTTP status, which says
	// whether the apply created the object.
	rest         rest.Interface
	mapper       meta.RESTMapper
	fieldManager string
	host         string
}

// Connect reaches the cluster c names: its kubeconfig and context, or by default $KUBECONFIG,
// then ~/.kube/config, then the in-cluster service account.
func Connect(ctx context.Context, c config.Cluster, opts Options) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules() // $KUBECONFIG, then ~/.kube/config
	if c.Kubeconfig != "" {
		path, err := expandHome(c.Kubeconfig)
		if err != nil {
			return nil, err
		}
		rules.ExplicitPath = path
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	// Without a kubeconfig file, the deferred loader falls back to the in-cluster config.
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig (kubeconfig %q, context %q): %w", c.Kubeconfig, c.Context, err)
	}
	return New(rc, opts)
}

// expandHome resolves a leading "~/", as configs written by hand use it (kubeconfig: ~/.kube/config).
func expandHome(path string) (string, error) {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("kubeconfig %q: %w", path, err)
	}
	return filepath.Join(home, rest), nil
}

// New connects with a ready REST config (tests use the one deploytest.Start returns).
func New(rc *rest.Config, opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = opts.QPS, opts.Burst
	if opts.QPS > 0 {
		// One bucket for every client built from rc; without it each kind's client has its own.
		rc.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(opts.QPS, opts.Burst)
	}
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("http client for %s: %w", rc.Host, err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(rc, hc)
	if err != nil {
		return nil, fmt.Errorf("rest mapper for %s: %w", rc.Host, err)
	}
	cl, err := client.New(rc, client.Options{HTTPClient: hc, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", rc.Host, err)
	}
	raw, err := rest.UnversionedRESTClientForConfigAndClient(dynamic.ConfigFor(rc), hc)
	if err != nil {
		return nil, fmt.Errorf("rest client for %s: %w", rc.Host, err)
	}
	return &Cluster{client: cl, rest: raw, mapper: mapper, fieldManager: opts.FieldManager, host: rc.Host}, nil
}

// Client is the controller-runtime client, for callers that read live objects (drift).
func (c *Cluster) Client() client.Client { return c.client }

// Mapper is the REST mapper; it refreshes itself when it meets a kind it does not know.
func (c *Cluster) Mapper() meta.RESTMapper { return c.mapper }

// FieldManager is the name stagegate's applies own fields under.
func (c *Cluster) FieldManager() string { return c.fieldManager }

// String is the API server's address, for logs and errors.
func (c *Cluster) String() string { return c.host }

// manager is the ssa resource manager for this cluster. dryRun makes every write a
// server-side dry-run, so the same code path reports what would change.
func (c *Cluster) manager(dryRun bool, workers int) *ssa.ResourceManager {
	cl := c.client
	if dryRun {
		cl = client.NewDryRunClient(cl)
	}
	poller := polling.NewStatusPoller(cl, c.mapper, polling.Options{})
	m := ssa.NewResourceManager(cl, poller, ssa.Owner{Field: c.fieldManager, Group: "stagegate.dev"})
	m.SetConcurrency(workers)
	return m
}

// serverApply sends u, encoded as body, as one server-side apply (force, field manager
// c.fieldManager) and returns whether the request created the object (HTTP 201) and the object
// as the server holds it afterwards: its metadata only, unless dryRun, where the server only
// says what it would hold, in full.
func (c *Cluster) serverApply(ctx context.Context, u *unstructured.Unstructured, body []byte, dryRun bool) (after *unstructured.Unstructured, created bool, err error) {
	gvk := u.GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false, err
	}
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	if namespaced && u.GetNamespace() == "" {
		return nil, false, fmt.Errorf("%s is namespaced: set metadata.namespace", gvk.Kind)
	}
	path := "/apis/" + mapping.Resource.Group + "/" + mapping.Resource.Version
	if mapping.Resource.Group == "" {
		path = "/api/" + mapping.Resource.Version
	}
	if namespaced {
		path += "/namespaces/" + u.GetNamespace()
	}
	req := c.rest.Patch(types.ApplyPatchType).AbsPath(path, mapping.Resource.Resource, u.GetName()).
		Param("fieldManager", c.fieldManager).Param("force", "true").Body(body)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	} else {
		// The metadata is all Apply reads: the API server encodes less, the client decodes less.
		// An API server that cannot answer so (some aggregated ones) answers in full.
		req = req.SetHeader("Accept", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json")
	}
	res := req.Do(ctx)
	if err := res.Error(); err != nil { // Error, unlike Raw, decodes the API server's Status
		return nil, false, err
	}
	var code int
	raw, _ := res.StatusCode(&code).Raw()
	after = &unstructured.Unstructured{}
	if err := after.UnmarshalJSON(raw); err != nil {
		return nil, false, fmt.Errorf("decode the API server's answer: %w", err)
	}
	return after, code == http.StatusCreated, nil
}
