package gates

import "github.com/stagegate-dev/stagegate/config"

// httpGate judges the answers to synthetic requests sent to the source environment's URLs.
type httpGate struct {
	c config.HTTPGate
}

func newHTTP(c config.HTTPGate) Gate { return httpGate{c: c} }

func (httpGate) needsRuntime() {}
func (httpGate) observes()     {}
func (httpGate) keepsSummary() {}
func (httpGate) Name() string  { return "http" }

func (g httpGate) Evaluate(in Input) Result {
	return Result{Outcome: Pending, Summary: "not implemented yet"}
}
