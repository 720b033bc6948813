package probe

import (
	"context"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// Vars are what a metrics query's template may use.
type Vars struct {
	Pipeline string
	// Env is the source environment's name: the one observed.
	Env string
	// Target is the environment promoted into.
	Target string
	// Namespace the source environment's objects live in.
	Namespace string
	// SHA is the source commit being promoted.
	SHA string
	// Window is the gate's window as a PromQL duration ("10m").
	Window string
}

// ShortSHA is the first 7 characters of SHA.
func (v Vars) ShortSHA() string {
	if len(v.SHA) > 7 {
		return v.SHA[:7]
	}
	return v.SHA
}

// Metrics runs the gate's queries about vars' environment, evaluated at at over window.
func Metrics(ctx context.Context, g config.MetricsGate, vars Vars, window time.Duration, at time.Time, opts Options) *gates.MetricsFacts {
	return &gates.MetricsFacts{At: at, Window: window}
}
