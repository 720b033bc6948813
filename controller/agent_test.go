package controller_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
)

func pipelines(names ...string) []config.Pipeline {
	var ps []config.Pipeline
	for _, n := range names {
		ps = append(ps, config.Pipeline{Metadata: config.Metadata{Name: n}, Spec: config.Spec{Interval: config.Duration{Duration: time.Minute}}})
	}
	return ps
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// counter counts cycles per pipeline and can fail them.
type counter struct {
	mu   sync.Mutex
	n    map[string]int
	fail bool
}

func (c *counter) cycle(_ context.Context, p config.Pipeline) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[p.Metadata.Name]++
	if c.fail {
		return errors.New("boom")
	}
	return nil
}

func (c *counter) get(p string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[p]
}

func TestAgentCyclesAtStartAndEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c counter
		a := &controller.Agent{Pipelines: pipelines("shop"), Cycle: c.cycle, Log: quiet}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()

		synctest.Wait()
		if got := c.get("shop"); got != 1 {
			t.Fatalf("after start: %d cycles, want 1", got)
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if got := c.get("shop"); got != 1 {
			t.Fatalf("before the interval: %d cycles, want 1", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := c.get("shop"); got != 2 {
			t.Fatalf("after one interval: %d cycles, want 2", got)
		}

		// A trigger starts a cycle at once; the rest of a burst folds into one more cycle (a
		// push during a cycle may have come too late for it, so it is not dropped).
		for range 5 {
			a.Trigger("shop", "push")
		}
		a.Trigger("nope", "push") // an unknown pipeline is ignored
		synctest.Wait()
		if got := c.get("shop"); got != 4 {
			t.Fatalf("after a burst of 5 triggers: %d cycles, want 4 (2 + one at once + one folded)", got)
		}
		cancel()
		<-done
	})
}

func TestAgentBacksOffAfterFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := counter{fail: true}
		a := &controller.Agent{Pipelines: pipelines("shop"), Cycle: c.cycle, Log: quiet}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()
		// Failures retry after 5 s, 10 s, 20 s, 40 s, then every interval (1 m).
		for i, at := range []time.Duration{0, 5, 10, 20, 40, 60, 60} {
			time.Sleep(at * time.Second)
			synctest.Wait()
			if got := c.get("shop"); got != i+1 {
				t.Fatalf("after wait %d (%ds): %d cycles, want %d", i, at, got, i+1)
			}
		}
		cancel()
		<-done
	})
}

func TestAgentBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var active, most atomic.Int32
		release := make(chan struct{})
		a := &controller.Agent{Pipelines: pipelines("a", "b", "c"), Concurrency: 2, Log: quiet,
			Cycle: func(ctx context.Context, p config.Pipeline) error {
				n := active.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				<-release
				active.Add(-1)
				return nil
			}}
		done := make(chan error)
		go func() { done <- a.Once(t.Context()) }()
		synctest.Wait()
		if got := active.Load(); got != 2 {
			t.Errorf("%d cycles running, want 2 (the bound)", got)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if most.Load() != 2 {
			t.Errorf("at most %d at once, want 2", most.Load())
		}
	})
}

func TestAgentShutdownLetsACycleFinishWithinGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var finished, cut atomic.Bool
		a := &controller.Agent{Pipelines: pipelines("quick", "stuck"), Grace: 30 * time.Second, Log: quiet,
			Cycle: func(ctx context.Context, p config.Pipeline) error {
				if p.Metadata.Name == "quick" {
					select {
					case <-time.After(10 * time.Second): // a push that takes 10 s
						finished.Store(true)
					case <-ctx.Done():
					}
					return nil
				}
				<-ctx.Done() // a step that never ends by itself
				cut.Store(true)
				return ctx.Err()
			}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()
		synctest.Wait()
		start := time.Now()
		cancel() // SIGTERM
		<-done
		if !finished.Load() {
			t.Error("a cycle that needed 10 s of a 30 s grace was cut")
		}
		if !cut.Load() || time.Since(start) != 30*time.Second {
			t.Errorf("the stuck cycle ended after %v (cut %v), want exactly the 30 s grace", time.Since(start), cut.Load())
		}
	})
}

func TestAgentOnceJoinsErrors(t *testing.T) {
	c := counter{fail: true}
	a := &controller.Agent{Pipelines: pipelines("a", "b"), Cycle: c.cycle, Log: quiet}
	err := a.Once(context.Background())
	if err == nil || !strings.Contains(err.Error(), "pipeline a: boom") || !strings.Contains(err.Error(), "pipeline b: boom") {
		t.Errorf("Once = %v; want both pipelines' errors", err)
	}
}

func TestAgentCycleHasADeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &controller.Agent{Pipelines: pipelines("stalled"), Timeout: 2 * time.Minute, Log: quiet,
			Cycle: func(ctx context.Context, p config.Pipeline) error { <-ctx.Done(); return ctx.Err() }}
		start := time.Now()
		err := a.Once(t.Context())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Minute {
			t.Errorf("a stalled cycle ended after %v with %v; want the 2m deadline", time.Since(start), err)
		}
	})
}
