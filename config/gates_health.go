package config

// HealthGate requires the source environment's workloads, as stagegate applied them from the
// source commit, to be healthy in its cluster (kstatus Current: not in progress, not failed).
// It reads the source environment's inventory, so the source environment needs a cluster. It
// has no options beyond severity.
type HealthGate struct {
	GateCommon `json:",inline"`
}
