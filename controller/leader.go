package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Election defaults: client-go's, which core Kubernetes controllers use.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	// DefaultLeaseName is the Lease of an agent that runs every pipeline (no --shard).
	DefaultLeaseName = "stagegate"
)

// ErrLostLease is what Election.Run returns when another replica holds the lease now: the agent
// has stopped, and the process should exit so its pod restarts as a standby.
var ErrLostLease = errors.New("lost the leader lease")

// Election lets one of several replicas run the agent: the holder of a coordination.k8s.io
// Lease. The others wait as standbys and take over within LeaseDuration (plus a RetryPeriod)
// of the leader's last renewal, so a leader that dies is replaced in about 15 s by default.
type Election struct {
	Config    *rest.Config // the cluster holding the Lease
	Namespace string       // required
	Name      string       // the Lease's name; default DefaultLeaseName
	// Identity names this replica in the Lease's holderIdentity; default "<hostname>_<pid>"
	// (a pod's hostname is its name).
	Identity      string
	LeaseDuration time.Duration // default DefaultLeaseDuration
	RenewDeadline time.Duration // default DefaultRenewDeadline; must be shorter than LeaseDuration
	RetryPeriod   time.Duration // default DefaultRetryPeriod
	// NoRelease keeps the lease when Run returns, as a crash would: a standby waits for it to
	// expire. Tests use it to simulate a dead leader; by default a clean exit releases the lease
	// so a standby starts at once (a rolling update costs one RetryPeriod, not a LeaseDuration).
	NoRelease bool
	Log       *slog.Logger

	leading atomic.Bool
	leader  atomic.Pointer[string]
}

// Leading says whether this replica holds the lease now.
func (e *Election) Leading() bool { return e.leading.Load() }

// Leader returns the identity of the replica last seen holding the lease ("" before any).
func (e *Election) Leader() string {
	if p := e.leader.Load(); p != nil {
		return *p
	}
	return ""
}

// Run waits for the lease, then calls lead with a context that ends when ctx does or when the
// lease is lost, and keeps renewing the lease until lead returns (so cycles finishing within the
// agent's Grace after SIGTERM still hold it). It returns nil when ctx ended, ErrLostLease when
// the lease was lost, or an error when the election could not start.
func (e *Election) Run(ctx context.Context, lead func(ctx context.Context)) error {
	if err := e.defaults(); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(e.clientConfig())
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
	}

	// The elector runs on a context of its own: SIGTERM first stops the agent, and only when
	// its cycles are done is the lease released.
	ectx, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()
	stop := context.AfterFunc(ctx, func() {
		if !e.leading.Load() {
			stopElecting() // a standby has nothing to finish
		}
	})
	defer stop()
	var led atomic.Bool
	ledDone := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            e.Name,
		LeaseDuration:   e.LeaseDuration,
		RenewDeadline:   e.RenewDeadline,
		RetryPeriod:     e.RetryPeriod,
		ReleaseOnCancel: !e.NoRelease,
		Callbacks: leaderelection.LeaderCallbacks{
			// The elector starts this in a goroutine and renews until lctx ends; ctx ends on
			// shutdown. Either stops the agent.
			OnStartedLeading: func(lctx context.Context) {
				led.Store(true)
				defer close(ledDone)
				defer stopElecting() // lead is done: stop renewing (and release unless NoRelease)
				if ctx.Err() != nil || lctx.Err() != nil {
					return // won the lease as it ended
				}
				lctx, cancel := context.WithCancel(lctx)
				defer cancel()
				stop := context.AfterFunc(ctx, cancel)
				defer stop()
				e.leading.Store(true)
				defer e.leading.Store(false)
				e.Log.Info("leading: running the agent", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
				lead(lctx)
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				e.leader.Store(&id)
				if id != e.Identity {
					e.Log.Info("standby: another replica leads", "lease", e.Namespace+"/"+e.Name, "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	e.Log.Info("standby: waiting for the leader lease", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
	le.Run(ectx) // returns when renewing stops: lead may still be finishing its cycles
	if led.Load() {
		<-ledDone
		if ctx.Err() == nil {
			e.Log.Error("lost the leader lease: the agent stopped", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
			return fmt.Errorf("%w %s/%s: exiting so this replica restarts as a standby", ErrLostLease, e.Namespace, e.Name)
		}
	}
	return nil
}

func (e *Election) defaults() error {
	if e.LeaseDuration <= 0 {
		e.LeaseDuration = DefaultLeaseDuration
	}
	if e.RenewDeadline <= 0 {
		e.RenewDeadline = DefaultRenewDeadline
	}
	if e.RetryPeriod <= 0 {
		e.RetryPeriod = DefaultRetryPeriod
	}
	if e.Name == "" {
		e.Name = DefaultLeaseName
	}
	if e.Identity == "" {
		host, _ := os.Hostname()
		e.Identity = fmt.Sprintf("%s_%d", host, os.Getpid())
	}
	if e.Log == nil {
		e.Log = slog.Default()
	}
	var errs []error
	if e.Config == nil {
		errs = append(errs, errors.New("leader election: no cluster config"))
	}
	if e.Namespace == "" {
		errs = append(errs, errors.New("leader election: no namespace for the Lease (--leader-elect-namespace)"))
	}
	if e.RenewDeadline >= e.LeaseDuration {
		errs = append(errs, fmt.Errorf("leader election: renew deadline %v must be shorter than the lease duration %v", e.RenewDeadline, e.LeaseDuration))
	}
	return errors.Join(errs...)
}

// clientConfig bounds one request to half the renew deadline (at least 1 s), as client-go
// advises, so one hung request cannot cost the lease.
func (e *Election) clientConfig() *rest.Config {
	rc := rest.CopyConfig(e.Config)
	rc.Timeout = max(e.RenewDeadline/2, time.Second)
	rest.AddUserAgent(rc, "stagegate-leader-election")
	return rc
}

// PodNamespace is the namespace of the pod this process runs in, from its service account
// token's mount; "default" outside a pod.
func PodNamespace() string {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if ns := strings.TrimSpace(string(b)); err == nil && ns != "" {
		return ns
	}
	return "default"
}
