package config

// The options of the runtime gates: metrics, http, health and external. They judge how the
// source environment behaves while it runs the change being promoted (its metrics, answers to
// synthetic requests, its workloads' health, the verdict of a service elsewhere), so they sit
// on the environment promoted into and look at the one before it. docs/gates.md describes them.
//
// Each gate's options and their checks live in a file of their own: gates_metrics.go,
// gates_http.go, gates_health.go, gates_external.go.

// validateRuntime checks the options of the runtime gates; path is the gates block's path.
// severityAt checks the overrides of the gate named gate at the config key key: an external
// gate's overrides sit under external[i] but name its checks <name>/<id>.
func (g Gates) validateRuntime(path string, severityAt func(key, gate string, c GateCommon)) []error {
	severity := func(gate string, c GateCommon) { severityAt(gate, gate, c) }
	var errs []error
	if m := g.Metrics; m != nil {
		severity("metrics", m.GateCommon)
		errs = append(errs, m.validate(path+".metrics")...)
	}
	if h := g.HTTP; h != nil {
		severity("http", h.GateCommon)
		errs = append(errs, h.validate(path+".http")...)
	}
	if h := g.Health; h != nil {
		severity("health", h.GateCommon)
	}
	errs = append(errs, validateExternal(g.External, path+".external", severityAt)...)
	return errs
}

// runtimeGates names the gates of g that look at the source environment, by config key.
func (g Gates) runtimeGates() []string {
	var keys []string
	if g.Metrics != nil {
		keys = append(keys, "metrics")
	}
	if g.HTTP != nil {
		keys = append(keys, "http")
	}
	if g.Health != nil {
		keys = append(keys, "health")
	}
	if len(g.External) > 0 {
		keys = append(keys, "external")
	}
	return keys
}
