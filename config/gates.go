package config

// Gates chooses the gates that run on an environment and sets their options. A gate runs when
// its key is present (`security: {}` runs it with defaults). Every gate takes `severity`, which
// overrides the severity of its checks by check ID; "off" turns a check off.
type Gates struct {
	Schema    *SchemaGate    `json:"schema,omitempty"`
	APIs      *APIsGate      `json:"apis,omitempty"`
	Security  *SecurityGate  `json:"security,omitempty"`
	Resources *ResourcesGate `json:"resources,omitempty"`
	Policy    *PolicyGate    `json:"policy,omitempty"`
}

// Severity of a finding, or "off" in an override.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
	SeverityOff     Severity = "off"
)

// GateCommon holds the options every gate takes.
type GateCommon struct {
	// Severity overrides by check ID (security/privileged: warning). "off" disables the check.
	Severity map[string]Severity `json:"severity,omitempty"`
}

// SchemaGate checks that objects decode strictly into their types.
type SchemaGate struct {
	GateCommon `json:",inline"`
}

// APIsGate checks API versions against the target Kubernetes version.
type APIsGate struct {
	GateCommon `json:",inline"`
	// KubernetesVersion of the target cluster ("1.33"). Required.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
}

// ResourcesGate checks requests, limits and budgets.
type ResourcesGate struct {
	GateCommon `json:",inline"`
}

// PolicyGate runs user CEL rules.
type PolicyGate struct {
	GateCommon `json:",inline"`
}

// validate checks gate options; the gates package owns their meaning.
func (g Gates) validate(path string) []error { return nil }
