package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/stagegate-dev/stagegate/config"
)

// Agent defaults.
const (
	DefaultConcurrency = 4
	// DefaultCycleTimeout bounds one cycle, so a stalled fetch or push cannot hold a pipeline
	// (and a concurrency slot) until a restart.
	DefaultCycleTimeout = 10 * time.Minute
	// DefaultGrace is how long a cycle under way may go on after shutdown begins, so a step
	// finishes (a push, a merge) instead of being cut in the middle.
	DefaultGrace = 30 * time.Second
	// minBackoff is the first wait after a failed cycle; it doubles up to the pipeline's interval.
	minBackoff = 5 * time.Second
)

// CycleFunc runs one cycle of one pipeline.
type CycleFunc func(ctx context.Context, p config.Pipeline) error

// DriftFunc scans one environment of a pipeline for drift.
type DriftFunc func(ctx context.Context, p config.Pipeline, env string) error

// Agent runs every pipeline's cycle on its interval, and at once when triggered (a webhook),
// with at most Concurrency cycles at a time and never two of the same pipeline at once.
type Agent struct {
	Pipelines []config.Pipeline
	Cycle     CycleFunc
	// Drift runs on each environment's drift.schedule (nil: no scheduled scans). A scan and a
	// cycle of the same pipeline never run at once: a correction must not apply an older head
	// over the one a cycle is applying.
	Drift       DriftFunc
	Concurrency int           // default DefaultConcurrency
	Grace       time.Duration // default DefaultGrace
	Timeout     time.Duration // one cycle's deadline; default DefaultCycleTimeout
	Log         *slog.Logger

	once     sync.Once
	triggers map[string]chan string
	busy     map[string]chan struct{} // per pipeline, held by its cycle or a drift scan
	slots    chan struct{}
}

func (a *Agent) init() {
	a.once.Do(func() {
		if a.Concurrency <= 0 {
			a.Concurrency = DefaultConcurrency
		}
		if a.Grace <= 0 {
			a.Grace = DefaultGrace
		}
		if a.Timeout <= 0 {
			a.Timeout = DefaultCycleTimeout
		}
		if a.Log == nil {
			a.Log = slog.Default()
		}
		a.slots = make(chan struct{}, a.Concurrency)
		a.triggers = make(map[string]chan string, len(a.Pipelines))
		a.busy = make(map[string]chan struct{}, len(a.Pipelines))
		for _, p := range a.Pipelines {
			a.triggers[p.Metadata.Name] = make(chan string, 1)
			a.busy[p.Metadata.Name] = make(chan struct{}, 1)
		}
	})
}

// Trigger asks for a cycle of pipeline as soon as possible. It never blocks: triggers that
// arrive while one is already waiting are folded into it.
func (a *Agent) Trigger(pipeline, reason string) {
	a.init()
	ch, ok := a.triggers[pipeline]
	if !ok {
		return
	}
	select {
	case ch <- reason:
	default:
	}
}

// Run cycles every pipeline until ctx is done: once at start, then every interval, and at
// once on a trigger. A failed cycle is retried sooner (5 s, doubling up to the interval). When
// ctx is done, cycles under way get Grace to finish; Run returns when they have.
func (a *Agent) Run(ctx context.Context) error {
	a.init()
	var wg sync.WaitGroup
	for _, p := range a.Pipelines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.loop(ctx, p)
		}()
		for _, e := range p.Spec.Environments {
			if e.Drift == nil || a.Drift == nil {
				continue
			}
			sched, err := config.ParseSchedule(e.Drift.Schedule)
			if err != nil { // config.Load refuses it; a Pipeline built in code may not have been loaded
				a.Log.Error("no drift scans: bad drift.schedule", "pipeline", p.Metadata.Name, "env", e.Name, "err", err)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.driftLoop(ctx, p, e.Name, sched)
			}()
		}
	}
	wg.Wait()
	return nil
}

// driftLoop scans env at each time its schedule names, until ctx is done. A scan that is due
// while the pipeline is busy waits for it; scans that fall due meanwhile are folded into one.
func (a *Agent) driftLoop(ctx context.Context, p config.Pipeline, env string, sched cron.Schedule) {
	for {
		timer := time.NewTimer(time.Until(sched.Next(time.Now())))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		_ = a.slot(ctx, p, "drift scan", []any{"env", env}, func(ctx context.Context) error { return a.Drift(ctx, p, env) })
	}
}

// Once runs one cycle of every pipeline (bounded by Concurrency) and returns their errors joined.
func (a *Agent) Once(ctx context.Context) error {
	a.init()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range a.Pipelines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.cycle(ctx, p, "once"); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (a *Agent) loop(ctx context.Context, p config.Pipeline) {
	interval := p.Spec.Interval.Duration
	if interval <= 0 {
		interval = config.DefaultInterval
	}
	backoff := time.Duration(0)
	reason := "start"
	for {
		if err := a.cycle(ctx, p, reason); err != nil {
			backoff = min(max(2*backoff, minBackoff), interval)
		} else {
			backoff = 0
		}
		wait := interval
		if backoff > 0 {
			wait = backoff
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case reason = <-a.triggers[p.Metadata.Name]:
			timer.Stop()
		case <-timer.C:
			reason = "interval"
		}
	}
}

// cycle runs one cycle of p in a slot.
func (a *Agent) cycle(ctx context.Context, p config.Pipeline, reason string) error {
	return a.slot(ctx, p, "cycle", []any{"reason", reason}, func(ctx context.Context) error { return a.Cycle(ctx, p) })
}

// slot runs fn (kind is "cycle" or "drift scan", attrs say more in its log lines) in a
// concurrency slot, once p is not busy. Its context outlives ctx by Grace, so shutdown lets a
// step finish; the error is logged here, where it stops travelling.
func (a *Agent) slot(ctx context.Context, p config.Pipeline, kind string, attrs []any, fn func(context.Context) error) error {
	busy := a.busy[p.Metadata.Name]
	select {
	case busy <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-busy }()
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.slots }()

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(a.Grace, cancel)
		context.AfterFunc(cctx, func() { t.Stop() })
	})
	defer stop()

	log := a.Log.With("pipeline", p.Metadata.Name).With(attrs...)
	start := time.Now()
	err := fn(cctx)
	if err != nil {
		log.Error(kind+" failed", "took", time.Since(start).Round(time.Millisecond), "err", err)
		return err
	}
	log.Debug(kind+" done", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
