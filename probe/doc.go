// Package probe observes the running source environment for the runtime gates: it runs PromQL
// queries against a Prometheus-compatible HTTP API (Metrics), sends bounded synthetic HTTP
// requests to configured URLs (HTTP), and asks external gate services for their verdict on a
// promotion (External).
//
// It does the I/O and returns what it saw as the gates package's facts; it judges nothing
// (thresholds, budgets and verdicts are the gates'), keeps no state between calls, and never
// sends a request anywhere but the configured URLs. The controller decides when to call it.
package probe
