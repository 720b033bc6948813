package config

// MetricsGate runs PromQL queries against a Prometheus-compatible HTTP API about the source
// environment and compares each answer with a threshold: the promotion waits until the source
// has run the change for the window, then passes when every query is within its threshold.
type MetricsGate struct {
	GateCommon `json:",inline"`
	// Prometheus is where the queries go. Required.
	Prometheus Prometheus `json:"prometheus"`
	// Window is how long the source must have run the change before the queries count, and
	// the range a range query covers ({{.Window}} in a query). Default: the environment's soak
	// duration when it has a soak gate, else 5m.
	Window Duration `json:"window,omitzero"`
	// Namespace is {{.Namespace}} in the queries. Default: the one namespace the source
	// environment's rendered objects live in (an error when there are several).
	Namespace string `json:"namespace,omitempty"`
	// Interval is how often the agent queries again while a promotion waits. Default 1m.
	Interval Duration `json:"interval,omitzero"`
	// Queries to run, each with its threshold. Required: at least one.
	Queries []MetricQuery `json:"queries"`
}

// Prometheus is a Prometheus-compatible query API (Prometheus, Thanos, Mimir, VictoriaMetrics).
type Prometheus struct {
	// URL of the API's root ("http://prometheus.monitoring:9090"); /api/v1/query is appended.
	URL string `json:"url"`
	// BearerTokenFile names a file holding a bearer token; read on every query, so a rotated
	// token is picked up. Default: none.
	BearerTokenFile string `json:"bearerTokenFile,omitempty"`
	// BearerTokenEnv names an environment variable holding a bearer token. Default: none.
	BearerTokenEnv string `json:"bearerTokenEnv,omitempty"`
	// CAFile is a PEM file of certificate authorities to trust for https:// URLs, in addition
	// to the system's. Default: the system's.
	CAFile string `json:"caFile,omitempty"`
	// Headers sent with every query (X-Scope-OrgID for a multi-tenant Mimir or Cortex).
	Headers map[string]string `json:"headers,omitempty"`
	// Timeout of one query. Default 30s.
	Timeout Duration `json:"timeout,omitzero"`
}

// MetricQuery is one PromQL query and the threshold its answer must meet.
type MetricQuery struct {
	// Name of the value ("error_rate"), as the PR and the trailers show it. Required; a
	// lowercase identifier.
	Name string `json:"name"`
	// Query is PromQL, a Go template over {{.Env}}, {{.Namespace}}, {{.SHA}}, {{.ShortSHA}},
	// {{.Pipeline}}, {{.Target}} and {{.Window}}. Required.
	Query string `json:"query"`
	// Range: evaluate the query at every Step over the window rather than once at its end;
	// every sample must meet the threshold. Default false (an instant query).
	Range bool `json:"range,omitempty"`
	// Step of a range query. Default: the window divided by 30, at least 1s.
	Step Duration `json:"step,omitzero"`
	// Condition every value must meet: a comparison and a threshold ("< 0.01", ">= 0.99").
	// Required.
	Condition string `json:"condition"`
}

// validate checks the metrics gate's options; path is its config path.
func (g MetricsGate) validate(path string) []error {
	return nil
}
