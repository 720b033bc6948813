package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Gates chooses the gates that run on an environment and sets their options. A gate runs when
// its key is present (`security: {}` runs it with defaults); an environment with no gates key
// runs none. Every gate takes `severity`, which overrides the severity of its checks by check
// ID; "off" turns a check off. docs/gates.md describes every gate, option and check.
type Gates struct {
	Schema    *SchemaGate    `json:"schema,omitempty"`
	APIs      *APIsGate      `json:"apis,omitempty"`
	Security  *SecurityGate  `json:"security,omitempty"`
	Resources *ResourcesGate `json:"resources,omitempty"`
	Policy    *PolicyGate    `json:"policy,omitempty"`
	// The gates that judge the promotion itself, with facts from Git and the forge
	// (gates_forge.go). Lineage runs on every environment promoted into unless disabled;
	// approvals also runs when promote.approvals is above 0.
	Approvals *ApprovalsGate `json:"approvals,omitempty"`
	Checks    *ChecksGate    `json:"checks,omitempty"`
	Window    *WindowGate    `json:"window,omitempty"`
	Soak      *SoakGate      `json:"soak,omitempty"`
	Lineage   *LineageGate   `json:"lineage,omitempty"`
	Signature *SignatureGate `json:"signature,omitempty"`
	// The gates that ask the target environment's cluster (gates_cluster.go); an environment
	// that runs them needs cluster.
	Drift  *DriftGate  `json:"drift,omitempty"`
	DryRun *DryRunGate `json:"dryRun,omitempty"`
	// The gates that judge how the source environment runs the change (gates_runtime.go).
	Metrics  *MetricsGate   `json:"metrics,omitempty"`
	HTTP     *HTTPGate      `json:"http,omitempty"`
	Health   *HealthGate    `json:"health,omitempty"`
	External []ExternalGate `json:"external,omitempty"`
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
	// Default: every check at the severity docs/gates.md lists.
	Severity map[string]Severity `json:"severity,omitempty"`
}

// SchemaGate checks that objects decode strictly into their types. It has no options beyond
// severity: `schema/unknown-kind: error` refuses kinds with no known schema (default warning).
type SchemaGate struct {
	GateCommon `json:",inline"`
}

// APIsGate checks API versions against the target Kubernetes version.
type APIsGate struct {
	GateCommon `json:",inline"`
	// KubernetesVersion of the target cluster ("1.33"). Default: the version the caller gathered
	// (`stagegate gate --kubernetes-version`), else the newest version stagegate knows, so that
	// every removal it knows of is reported.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// FailOnDeprecated makes deprecated-but-served API versions errors. Default false: warnings.
	FailOnDeprecated bool `json:"failOnDeprecated,omitempty"`
}

// ResourcesGate checks requests, limits and budgets.
type ResourcesGate struct {
	GateCommon `json:",inline"`
	// Budget caps the rendering's totals. Default: no budget.
	Budget *Budget `json:"budget,omitempty"`
	// MinReplicas every Deployment, StatefulSet, ReplicaSet and ReplicationController must run
	// (an HPA's minReplicas counts when one targets the workload). Default 0: no minimum.
	MinReplicas int `json:"minReplicas,omitempty"`
}

// Budget caps what an environment's rendering may ask for, summed over every workload
// (per-pod requests times replicas). Empty fields are not checked.
type Budget struct {
	// CPU is the most CPU the rendering may request, as a Kubernetes quantity ("8", "7500m").
	CPU string `json:"cpu,omitempty"`
	// Memory is the most memory the rendering may request, as a quantity ("16Gi").
	Memory string `json:"memory,omitempty"`
	// Replicas is the most pods the rendering's workloads may run. Default 0: not checked.
	Replicas int `json:"replicas,omitempty"`
}

// PolicyGate runs user CEL rules.
type PolicyGate struct {
	GateCommon `json:",inline"`
	// Rules to run, each on every object it matches. Required: at least one.
	Rules []PolicyRule `json:"rules"`
}

// PolicyRule is one CEL rule, in the style of a ValidatingAdmissionPolicy validation.
type PolicyRule struct {
	// Name identifies the rule: its findings carry check ID policy/<name>. Required, a DNS label,
	// unique in the environment.
	Name string `json:"name"`
	// Match selects the objects the rule runs on. Default: every object.
	Match PolicyMatch `json:"match,omitempty"`
	// Expression is a CEL expression over `object` that is true when the object passes. Required.
	Expression string `json:"expression"`
	// Message shown when the rule fails. Default: "failed rule: <expression>".
	Message string `json:"message,omitempty"`
	// MessageExpression is a CEL expression over `object` giving the message; it wins over
	// Message when it evaluates to a non-empty string.
	MessageExpression string `json:"messageExpression,omitempty"`
	// Severity of the rule's findings: error (default), warning or info.
	Severity Severity `json:"severity,omitempty"`
	// Fix tells the reader of a finding what to do. Default: none.
	Fix string `json:"fix,omitempty"`
}

// PolicyMatch selects objects. Every non-empty field must match; within a field, any entry
// matches. "*" matches anything.
type PolicyMatch struct {
	// Groups are API groups ("apps"; "" is the core group).
	Groups []string `json:"groups,omitempty"`
	// Kinds ("Deployment").
	Kinds []string `json:"kinds,omitempty"`
	// Namespaces of namespaced objects; a rule with namespaces never matches cluster-scoped objects.
	Namespaces []string `json:"namespaces,omitempty"`
	// Labels the object must carry with these values.
	Labels map[string]string `json:"labels,omitempty"`
}

var (
	dnsLabel      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	kubeVersionRE = regexp.MustCompile(`^v?1\.[0-9]{1,3}(\.[0-9]+)?$`)
)

// validate checks gate options: every value's shape. The gates package owns their meaning and
// reports what only it can check (CEL compile errors, unknown check IDs) when it compiles the
// gates, with the same paths.
func (g Gates) validate(path string) []error {
	var errs []error
	add := func(p, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(format, args...)))
	}
	// severityAt checks the overrides of the gate named gate, whose config key is key.
	severityAt := func(key, gate string, c GateCommon) {
		p := path + "." + key + ".severity"
		for _, id := range sortedCheckIDs(c.Severity) {
			// waiver/ checks are the framework's own, reported in whichever gate a waiver names.
			if !strings.HasPrefix(id, gate+"/") && !strings.HasPrefix(id, "waiver/") {
				add(p+"."+id, "check IDs in %s.severity start with %q (or \"waiver/\")", gate, gate+"/")
			}
			switch c.Severity[id] {
			case SeverityError, SeverityWarning, SeverityInfo, SeverityOff:
			default:
				add(p+"."+id, "want error, warning, info or off, got %q", c.Severity[id])
			}
		}
	}
	severity := func(gate string, c GateCommon) { severityAt(gate, gate, c) }
	if g.Schema != nil {
		severity("schema", g.Schema.GateCommon)
	}
	if g.APIs != nil {
		severity("apis", g.APIs.GateCommon)
		if v := g.APIs.KubernetesVersion; v != "" && !kubeVersionRE.MatchString(v) {
			add(path+".apis.kubernetesVersion", "want a version like \"1.33\", got %q", v)
		}
	}
	if g.Security != nil {
		severity("security", g.Security.GateCommon)
		errs = append(errs, g.Security.Validate(path+".security")...)
	}
	if r := g.Resources; r != nil {
		severity("resources", r.GateCommon)
		if r.MinReplicas < 0 {
			add(path+".resources.minReplicas", "want 0 or more, got %d", r.MinReplicas)
		}
		if b := r.Budget; b != nil {
			for field, q := range map[string]string{"cpu": b.CPU, "memory": b.Memory} {
				if q == "" {
					continue
				}
				if _, err := resource.ParseQuantity(q); err != nil {
					add(path+".resources.budget."+field, "want a Kubernetes quantity like \"8\", \"500m\" or \"16Gi\", got %q", q)
				}
			}
			if b.Replicas < 0 {
				add(path+".resources.budget.replicas", "want 0 or more, got %d", b.Replicas)
			}
		}
	}
	if pg := g.Policy; pg != nil {
		severity("policy", pg.GateCommon)
		if len(pg.Rules) == 0 {
			add(path+".policy.rules", "want at least one rule")
		}
		seen := map[string]int{}
		for i, r := range pg.Rules {
			p := fmt.Sprintf("%s.policy.rules[%d]", path, i)
			switch {
			case r.Name == "":
				add(p+".name", "required")
			case !dnsLabel.MatchString(r.Name) || len(r.Name) > 63:
				add(p+".name", "want a DNS label (lowercase letters, digits, '-'), got %q", r.Name)
			default:
				if j, dup := seen[r.Name]; dup {
					add(p+".name", "%q is also the name of rules[%d]", r.Name, j)
				}
				seen[r.Name] = i
			}
			if strings.TrimSpace(r.Expression) == "" {
				add(p+".expression", "required")
			}
			switch r.Severity {
			case "", SeverityError, SeverityWarning, SeverityInfo:
			default:
				add(p+".severity", "want error, warning or info, got %q", r.Severity)
			}
		}
	}
	errs = append(errs, g.validateForge(path, severity)...)
	g.validateCluster(severityAt)
	errs = append(errs, g.validateRuntime(path, severityAt)...)
	return errs
}

func sortedCheckIDs(m map[string]Severity) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
