package gates

import "github.com/stagegate-dev/stagegate/config"

// externalGate is the verdict of a service elsewhere on the promotion commit.
type externalGate struct {
	c config.ExternalGate
}

func newExternal(c config.ExternalGate) Gate { return externalGate{c: c} }

func (externalGate) needsRuntime()  {}
func (externalGate) keepsSummary()  {}
func (g externalGate) Name() string { return g.c.Name }

func (g externalGate) Evaluate(in Input) Result {
	return Result{Outcome: Pending, Summary: "not implemented yet"}
}
