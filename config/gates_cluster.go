package config

// The options of the gates that ask the target environment's cluster: drift and dry-run. They
// read facts the agent gathers from the cluster (a drift scan, a server-side dry-run), so an
// environment that runs them needs a cluster; docs/gates.md describes them.

// DriftGate refuses a promotion into an environment whose cluster has drifted from its branch,
// unless the promotion request acknowledges the drift (label stagegate/acknowledge-drift). The
// environment's drift.ignore rules decide what is not drift. It has no options beyond severity.
type DriftGate struct {
	GateCommon `json:",inline"`
}

// DryRunGate sends the promotion's rendered objects to the target cluster as a server-side
// dry-run apply and refuses the promotion when the cluster rejects any of them (admission,
// schema, immutable fields). It has no options beyond severity.
type DryRunGate struct {
	GateCommon `json:",inline"`
}

// validateCluster checks the options of the cluster gates with severityAt(config key, gate
// name, options). That the environment has a cluster is checked with the environment
// (validate.go), which knows whether it has one.
func (g Gates) validateCluster(severityAt func(key, gate string, c GateCommon)) {
	if g.Drift != nil {
		severityAt("drift", "drift", g.Drift.GateCommon)
	}
	if g.DryRun != nil {
		severityAt("dryRun", "dry-run", g.DryRun.GateCommon)
	}
}

// clusterGates names the gates of g that need a cluster, by their config keys.
func (g Gates) clusterGates() []string {
	var keys []string
	if g.Drift != nil {
		keys = append(keys, "drift")
	}
	if g.DryRun != nil {
		keys = append(keys, "dryRun")
	}
	return keys
}
