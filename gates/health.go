package gates

import "github.com/stagegate-dev/stagegate/config"

// healthGate requires the source environment's workloads, applied from the source commit, to be
// healthy in its cluster.
type healthGate struct{}

func newHealth(config.HealthGate) Gate { return healthGate{} }

func (healthGate) needsRuntime() {}
func (healthGate) Name() string  { return "health" }

func (g healthGate) Evaluate(in Input) Result {
	return Result{Outcome: Pending, Summary: "not implemented yet"}
}
