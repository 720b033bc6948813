package config

// SecurityGate checks workloads, RBAC and secrets for dangerous settings.
type SecurityGate struct {
	GateCommon `json:",inline"`
}
