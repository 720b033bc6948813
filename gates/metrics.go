package gates

import "github.com/stagegate-dev/stagegate/config"

// metricsGate judges the source environment's metrics: each query's answer against its
// threshold, once the source has run the change for the window.
type metricsGate struct {
	c config.MetricsGate
}

func newMetrics(c config.MetricsGate) Gate { return metricsGate{c: c} }

func (metricsGate) needsRuntime() {}
func (metricsGate) observes()     {}
func (metricsGate) keepsSummary() {}
func (metricsGate) Name() string  { return "metrics" }

func (g metricsGate) Evaluate(in Input) Result {
	return Result{Outcome: Pending, Summary: "not implemented yet"}
}
