package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

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

// Agent runs every pipeline's cycle on its interval, and at once when triggered (a webhook),
// with at most Concurrency cycles at a time and never two of the same pipeline at once.
type Agent struct {
	Pipelines   []config.Pipeline
	Cycle       CycleFunc
	Concurrency int           // default DefaultConcurrency
	Grace       time.Duration // default DefaultGrace
	Timeout     time.Duration // one cycle's deadline; default DefaultCycleTimeout
	Log         *slog.Logger

	once     sync.Once
	triggers map[string]chan string
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
		for _, p := range a.Pipelines {
			a.triggers[p.Metadata.Name] = make(chan string, 1)
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
	}
	wg.Wait()
	return nil
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

// cycle runs one cycle in a slot. Its context outlives ctx by Grace, so shutdown lets a step
// finish; the error is logged here, where it stops travelling.
func (a *Agent) cycle(ctx context.Context, p config.Pipeline, reason string) error {
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

	log := a.Log.With("pipeline", p.Metadata.Name)
	start := time.Now()
	err := a.Cycle(cctx, p)
	if err != nil {
		log.Error("cycle failed", "reason", reason, "took", time.Since(start).Round(time.Millisecond), "err", err)
		return err
	}
	log.Debug("cycle done", "reason", reason, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
