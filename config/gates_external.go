package config

// ExternalGate asks a service elsewhere (an image scanner, a load test, a Job-based check) for
// a verdict: stagegate POSTs the promotion's context as JSON signed with HMAC-SHA256 and reads
// the verdict from the answer, or from a commit status stagegate/<name> the service posts on
// the promotion commit later. docs/gates.md holds the contract.
type ExternalGate struct {
	GateCommon `json:",inline"`
	// Name of the gate: its status is stagegate/<name> and its checks <name>/<id>. Required; a
	// DNS label, unique, and not the name of a built-in gate.
	Name string `json:"name"`
	// URL the promotion context is POSTed to (http:// or https://). Required.
	URL string `json:"url"`
	// SecretEnv names an environment variable holding the HMAC-SHA256 key. One of secretEnv and
	// secretFile is required.
	SecretEnv string `json:"secretEnv,omitempty"`
	// SecretFile names a file holding the HMAC-SHA256 key; surrounding whitespace is trimmed.
	SecretFile string `json:"secretFile,omitempty"`
	// CAFile is a PEM file of certificate authorities to trust for an https:// URL, in addition
	// to the system's. Default: the system's.
	CAFile string `json:"caFile,omitempty"`
	// Timeout of one request. Default 30s.
	Timeout Duration `json:"timeout,omitzero"`
}

// validateExternal checks the external gates' options; path is the external list's path.
func validateExternal(gs []ExternalGate, path string, severity func(gate string, c GateCommon)) []error {
	return nil
}
