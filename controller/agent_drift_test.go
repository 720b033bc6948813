package controller_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
)

// Drift scans run on each environment's schedule, and never at the same time as a cycle of
// the same pipeline.
func TestAgentScansDriftOnScheduleAndNeverDuringACycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := pipelines("shop")
		ps[0].Spec.Interval.Duration = 7 * time.Minute
		ps[0].Spec.Environments = []config.Environment{
			{Name: "dev"},
			{Name: "prod", Drift: &config.Drift{Schedule: "@every 10m"}},
		}
		var (
			mu       sync.Mutex
			running  int
			overlaps int
			scans    []string
		)
		busy := func(d time.Duration) {
			mu.Lock()
			running++
			if running > 1 {
				overlaps++
			}
			mu.Unlock()
			time.Sleep(d)
			mu.Lock()
			running--
			mu.Unlock()
		}
		a := &controller.Agent{Pipelines: ps, Log: quiet,
			Cycle: func(context.Context, config.Pipeline) error { busy(3 * time.Minute); return nil },
			Drift: func(_ context.Context, p config.Pipeline, env string) error {
				busy(time.Minute)
				mu.Lock()
				scans = append(scans, p.Metadata.Name+"/"+env)
				mu.Unlock()
				return nil
			},
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()
		time.Sleep(35 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(scans) != 3 || scans[0] != "shop/prod" {
			t.Errorf("scans in 35 minutes of @every 10m: %v, want 3 of shop/prod", scans)
		}
		if overlaps > 0 {
			t.Errorf("a drift scan ran during a cycle of its pipeline %d times", overlaps)
		}
	})
}

// An environment without drift configured is never scanned.
func TestAgentDoesNotScanWithoutASchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := pipelines("shop")
		ps[0].Spec.Environments = []config.Environment{{Name: "dev"}, {Name: "prod"}}
		scanned := false
		a := &controller.Agent{Pipelines: ps, Log: quiet, Cycle: func(context.Context, config.Pipeline) error { return nil },
			Drift: func(context.Context, config.Pipeline, string) error { scanned = true; return nil }}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { a.Run(ctx); close(done) }()
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		cancel()
		<-done
		if scanned {
			t.Error("scanned an environment with no drift schedule")
		}
	})
}
