package config

// HTTPGate sends a bounded number of synthetic requests to configured URLs of the source
// environment and checks their status, body and latency.
type HTTPGate struct {
	GateCommon `json:",inline"`
	// Targets to send requests to. Required: at least one. Requests go to these URLs only;
	// redirects are not followed.
	Targets []HTTPTarget `json:"targets"`
	// Requests sent to each target per evaluation. Default 10, at most 100.
	Requests int `json:"requests,omitempty"`
	// Timeout of one request. Default 10s.
	Timeout Duration `json:"timeout,omitzero"`
	// Interval is how often the agent sends them again while a promotion waits. Default 5m.
	Interval Duration `json:"interval,omitzero"`
	// CAFile is a PEM file of certificate authorities to trust for https:// URLs, in addition
	// to the system's. Default: the system's.
	CAFile string `json:"caFile,omitempty"`
}

// HTTPTarget is one URL and what its answers must be.
type HTTPTarget struct {
	// Name of the target in reports. Required; a DNS label, unique in the gate.
	Name string `json:"name"`
	// URL to request (http:// or https://). Required.
	URL string `json:"url"`
	// Method: GET, HEAD or POST. Default GET.
	Method string `json:"method,omitempty"`
	// Headers sent with each request. Default none.
	Headers map[string]string `json:"headers,omitempty"`
	// Body sent with a POST. Default none.
	Body string `json:"body,omitempty"`
	// Status codes an answer may have. Default [200].
	Status []int `json:"status,omitempty"`
	// BodyMatch is an RE2 regular expression every answer's body must match. Default: none.
	BodyMatch string `json:"bodyMatch,omitempty"`
	// P95 is the latency budget: the 95th percentile of the requests' times must not exceed it.
	// Default: none.
	P95 Duration `json:"p95,omitzero"`
}

// validate checks the http gate's options; path is its config path.
func (g HTTPGate) validate(path string) []error {
	return nil
}
