package config

import (
	"fmt"
	"slices"
	"time"
)

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

// DefaultExternalTimeout is the default timeout of an external gate's request.
const DefaultExternalTimeout = 30 * time.Second

// TimeoutOr is the timeout of one request: Timeout, or 30s when unset.
func (g ExternalGate) TimeoutOr() time.Duration {
	if g.Timeout.Duration <= 0 {
		return DefaultExternalTimeout
	}
	return g.Timeout.Duration
}

// builtinGates are the names of stagegate's own gates and statuses, which an external gate may
// not take: its status stagegate/<name> and its checks <name>/<id> would be confused with
// theirs (stagegate/deploy and stagegate/arrived on a commit tell the soak gate when it ran).
var builtinGates = []string{"schema", "apis", "security", "resources", "policy", "approvals", "checks", "window",
	"soak", "lineage", "signature", "dry-run", "drift", "metrics", "http", "health", "external",
	"deploy", "arrived", "pause", "rollback", "waiver"}

// validateExternal checks the external gates' options; path is the external list's path and
// severityAt checks a gate's overrides at a config key (external[i]) under the gates block.
func validateExternal(gs []ExternalGate, path string, severityAt func(key, gate string, c GateCommon)) []error {
	var errs []error
	add := func(p, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(format, args...)))
	}
	seen := map[string]int{}
	for i, g := range gs {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case g.Name == "":
			add(p+".name", "required; a DNS label like \"image-scan\": the gate's status is stagegate/<name>")
		case !dnsLabel.MatchString(g.Name) || len(g.Name) > 63:
			add(p+".name", "want a DNS label (lowercase letters, digits, '-'), got %q", g.Name)
		case slices.Contains(builtinGates, g.Name):
			add(p+".name", "%q is the name of a built-in gate; choose another, like \"%s-check\"", g.Name, g.Name)
		default:
			if j, dup := seen[g.Name]; dup {
				add(p+".name", "%q is also the name of external[%d]; give each external gate its own name", g.Name, j)
			}
			seen[g.Name] = i
			// The overrides of an external gate name its checks <name>/<id>.
			severityAt(fmt.Sprintf("external[%d]", i), g.Name, g.GateCommon)
		}
		if msg := checkProbeURL(g.URL); msg != "" {
			add(p+".url", "%s", msg)
		}
		switch {
		case g.SecretEnv == "" && g.SecretFile == "":
			add(p, "set secretEnv or secretFile: the HMAC-SHA256 key the requests are signed with")
		case g.SecretEnv != "" && g.SecretFile != "":
			add(p+".secretFile", "set together with secretEnv; keep one of them")
		case g.SecretEnv != "" && !envNamePattern.MatchString(g.SecretEnv):
			add(p+".secretEnv", "not an environment variable name; write the name of the variable that holds the key (SCANNER_SECRET), not its value")
		}
		if g.Timeout.Duration < 0 {
			add(p+".timeout", "%s is negative; leave it out for the default %s", fmtDuration(g.Timeout.Duration), fmtDuration(DefaultExternalTimeout))
		}
	}
	return errs
}
