package config

// applyDefaults fills every field the user may leave out, in one place, so that the rest of
// stagegate never has to know a default. It runs after decoding and before validation: a value
// that defaulting cannot make valid (a negative interval) is left for validate to report.
//
// Defaults that depend on the environment stagegate runs in (the kubeconfig, known_hosts, the
// HTTP username "x-access-token" when a token is set) are applied by the packages that read them
// (deploy, gitsource), not here: the config keeps what the user wrote.
func applyDefaults(p *Pipeline) {
	if p.Spec.Interval.Duration == 0 {
		p.Spec.Interval.Duration = DefaultInterval
	}
	if p.Spec.Forge.Type == "" {
		p.Spec.Forge.Type = DefaultForge
	}
	for i := range p.Spec.Environments {
		env := &p.Spec.Environments[i]
		// Every environment after the first is promoted into, so it always has a policy; filling
		// it in here spares every reader a nil check. The first one keeps what the user wrote, so
		// that validate can refuse a promote block there.
		if i > 0 && env.Promote == nil {
			env.Promote = &Promote{}
		}
		if env.Promote != nil && env.Promote.MergeMethod == "" {
			env.Promote.MergeMethod = DefaultMergeMethod
		}
		if env.Drift != nil && env.Drift.Mode == "" {
			env.Drift.Mode = DefaultDriftMode
		}
		if env.Cluster != nil && env.Cluster.InventoryNamespace == "" {
			env.Cluster.InventoryNamespace = DefaultInventoryNamespace
		}
	}
}
