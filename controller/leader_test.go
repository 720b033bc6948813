package controller_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// Short election timings, so a takeover test takes seconds: the proportions of client-go's
// defaults (15 s, 10 s, 2 s).
const (
	testLease   = 2 * time.Second
	testRenew   = 1500 * time.Millisecond
	testRetry   = 200 * time.Millisecond
	testTimeout = 30 * time.Second
)

func election(rc *rest.Config, ns, id string) *controller.Election {
	return &controller.Election{Config: rc, Namespace: ns, Identity: id,
		LeaseDuration: testLease, RenewDeadline: testRenew, RetryPeriod: testRetry, NoRelease: true, Log: quiet}
}

// diesAfterOpening is a forge on which the agent's process dies just after opening a request:
// it opens it, says so, and hangs until the cycle is cut.
type diesAfterOpening struct {
	controller.Forge
	opened chan struct{}
}

func (f *diesAfterOpening) OpenRequest(ctx context.Context, r gitsource.NewRequest) (gitsource.Request, error) {
	req, err := f.Forge.OpenRequest(ctx, r)
	if err != nil {
		return req, err
	}
	close(f.opened)
	<-ctx.Done()
	return gitsource.Request{}, ctx.Err()
}

// waitUntil polls cond until it holds or testTimeout passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", testTimeout, what)
		}
	}
}

func TestAStandbyTakesOverFromADeadLeaderWithoutADuplicateRequest(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	w := newWorld(t)
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")

	// Two replicas of one agent, each with its own controller, mirror and forge client.
	opened := make(chan struct{})
	ctrlA, ctrlB := w.controller(), w.controller()
	ctrlA.Forge = &diesAfterOpening{Forge: ctrlA.Forge, opened: opened}
	var cyclesA, cyclesB atomic.Int32
	agent := func(ctrl *controller.Controller, cycles *atomic.Int32) *controller.Agent {
		return &controller.Agent{Pipelines: []config.Pipeline{w.p}, Grace: 10 * time.Millisecond, Log: quiet,
			Cycle: func(ctx context.Context, p config.Pipeline) error { cycles.Add(1); return ctrl.Cycle(ctx) }}
	}
	a, b := election(rc, ns, "replica-a"), election(rc, ns, "replica-b")

	ctxA, killA := context.WithCancel(t.Context())
	defer killA()
	doneA := make(chan error, 1)
	go func() { doneA <- a.Run(ctxA, func(ctx context.Context) { agent(ctrlA, &cyclesA).Run(ctx) }) }()
	select {
	case <-opened: // a leads, and its first cycle has opened staging's request
	case <-time.After(testTimeout):
		t.Fatal("replica a never opened a request")
	}

	ctxB, stopB := context.WithCancel(t.Context())
	defer stopB()
	doneB := make(chan error, 1)
	go func() { doneB <- b.Run(ctxB, func(ctx context.Context) { agent(ctrlB, &cyclesB).Run(ctx) }) }()
	waitUntil(t, "replica b never saw replica a lead", func() bool { return b.Leader() == "replica-a" })
	time.Sleep(testLease + testRetry) // longer than a lease: a keeps renewing, b must not take over
	if b.Leading() || cyclesB.Load() != 0 {
		t.Fatalf("while replica a leads, replica b leads=%v and ran %d cycles; want a standby that runs none", b.Leading(), cyclesB.Load())
	}

	// a dies mid-cycle, request opened but not gated nor merged, and its lease not released.
	killA()
	if err := <-doneA; err != nil {
		t.Fatalf("replica a: %v", err)
	}
	killed := time.Now()
	if n := w.gh.PRs(); n != 1 || w.gh.PR(1).Merged {
		t.Fatalf("when replica a died: %d requests (merged %v); want one, open", n, n > 0 && w.gh.PR(1).Merged)
	}
	waitUntil(t, "replica b never took over", b.Leading)
	took := time.Since(killed)
	t.Logf("replica b took over %v after replica a died (lease %v, retry %v)", took.Round(time.Millisecond), testLease, testRetry)
	if took > testLease+2*time.Second {
		t.Errorf("replica b took over after %v; want within the lease duration %v (plus a retry or two)", took, testLease)
	}

	// b finishes a's promotion: the same request, gated and merged; no second one.
	waitUntil(t, "replica b never merged staging's request", func() bool { return w.gh.PRs() > 0 && w.gh.PR(1).Merged })
	if n := w.requests("env/staging"); n != 1 || w.gh.PRs() != 1 {
		t.Errorf("%d requests into env/staging (%d in all); want exactly the one replica a opened", n, w.gh.PRs())
	}
	if cyclesA.Load() != 1 {
		t.Errorf("replica a ran %d cycles; want 1 (it died in its first)", cyclesA.Load())
	}
	stopB()
	if err := <-doneB; err != nil {
		t.Errorf("replica b: %v", err)
	}
}

func TestALeaderThatLosesItsLeaseStopsTheAgent(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	e := election(rc, ns, "replica-a")
	stopped := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- e.Run(t.Context(), func(ctx context.Context) { <-ctx.Done(); close(stopped) })
	}()
	waitUntil(t, "never led", e.Leading)

	// Another replica takes the lease (as one would after a's renewals failed for a lease).
	cs := kubernetes.NewForConfigOrDie(rc)
	leases := cs.CoordinationV1().Leases(ns)
	for {
		l, err := leases.Get(context.Background(), controller.DefaultLeaseName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		other := "replica-b"
		l.Spec.HolderIdentity = &other
		l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now().Add(time.Hour)}
		if _, err = leases.Update(context.Background(), l, metav1.UpdateOptions{}); err == nil {
			break
		}
	}
	select {
	case <-stopped:
	case <-time.After(testTimeout):
		t.Fatal("the agent went on after its lease was taken")
	}
	if err := <-done; !errors.Is(err, controller.ErrLostLease) {
		t.Errorf("Run = %v; want ErrLostLease, so the process exits and restarts as a standby", err)
	}
}

func TestShardsCoverEveryPipelineOnce(t *testing.T) {
	var ps []config.Pipeline
	for i := range 200 {
		ps = append(ps, config.Pipeline{Metadata: config.Metadata{Name: fmt.Sprintf("app-%d", i)}})
	}
	for _, n := range []int{1, 2, 3, 7} {
		owner := map[string]int{}
		for i := range n {
			s, err := controller.ParseShard(fmt.Sprintf("%d/%d", i, n))
			if err != nil {
				t.Fatal(err)
			}
			got := s.Select(ps)
			if n > 1 && (len(got) == 0 || len(got) == len(ps)) {
				t.Errorf("shard %v holds %d of %d pipelines; want a share", s, len(got), len(ps))
			}
			for _, p := range got {
				if prev, ok := owner[p.Metadata.Name]; ok {
					t.Errorf("pipeline %s is in shards %d and %d of %d", p.Metadata.Name, prev, i, n)
				}
				owner[p.Metadata.Name] = i
			}
		}
		if len(owner) != len(ps) {
			t.Errorf("%d shards hold %d of %d pipelines; want every one", n, len(owner), len(ps))
		}
	}
	// The hash is FNV-1a of the name: stable across versions and machines, so pinned here.
	if s := (controller.Shard{Index: 0x811c9dc5 % 3, Count: 3}); !s.Owns("") {
		t.Errorf("the empty name is not in shard %v: the hash is no longer FNV-1a", s)
	}
	for _, bad := range []string{"", "1", "3/3", "-1/3", "a/b", "0/0"} {
		if _, err := controller.ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) = nil error", bad)
		}
	}
	if got := (controller.Shard{Index: 1, Count: 3}).LeaseName(""); got != "stagegate-shard-1-of-3" {
		t.Errorf("LeaseName = %q", got)
	}
}

func TestASecondAgentOnTheMachineRefusesTheSamePipelines(t *testing.T) {
	dir := t.TempDir()
	first, err := controller.LockPipelines(dir, pipelines("shop", "blog"))
	if err != nil {
		t.Fatal(err)
	}
	// A second agent, in this process here, is refused too (flocks belong to open files).
	if _, err := controller.LockPipelines(dir, pipelines("blog")); err == nil {
		t.Fatal("a second agent locked a pipeline the first holds")
	}
	first.Unlock()
	// Held by another process, the lock names its pid.
	child := holdLock(t, dir, "blog")

	_, err = controller.LockPipelines(dir, pipelines("shop", "blog"))
	var locked *controller.LockedError
	if !errors.As(err, &locked) || locked.Pipeline != "blog" || locked.PID != child {
		t.Fatalf("second agent: %v; want a LockedError naming pipeline blog and pid %d", err, child)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(child)) {
		t.Errorf("the message does not name the holder: %v", err)
	}
	// Disjoint pipelines run side by side; the failed attempt left shop unlocked.
	l, err := controller.LockPipelines(dir, pipelines("shop"))
	if err != nil {
		t.Fatalf("an agent of another pipeline: %v", err)
	}
	l.Unlock()
}

// holdLock has a child process (this test binary) hold pipeline's agent lock in dir until the
// test ends, and returns its pid.
func holdLock(t *testing.T, dir, pipeline string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldLockHelper$")
	cmd.Env = append(os.Environ(), "STAGEGATE_HOLD_LOCK="+dir+"|"+pipeline)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked" {
		t.Fatalf("helper: %q %v", buf, err)
	}
	return cmd.Process.Pid
}

func TestHoldLockHelper(t *testing.T) {
	v := os.Getenv("STAGEGATE_HOLD_LOCK")
	if v == "" {
		t.Skip("a helper process for TestASecondAgentOnTheMachineRefusesTheSamePipelines")
	}
	dir, name, _ := strings.Cut(v, "|")
	if _, err := controller.LockPipelines(dir, pipelines(name)); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Print("locked")
	os.Stdout.Sync()
	time.Sleep(time.Hour)
}
