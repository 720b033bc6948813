package gates

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/render"
)

// Policy rules are CEL expressions over `object`, evaluated in the environment Kubernetes uses for
// ValidatingAdmissionPolicy and CRD validation rules: the same libraries (strings, lists, regex,
// quantity, URLs, IPs, CIDRs, semver, ...), the same language settings and the same per-call
// cost limit. A rule that works here works in a ValidatingAdmissionPolicy and the other way round.

// PolicyCostLimit caps what one rule may cost on one object, in CEL cost units: the per-call
// limit of the Kubernetes API server (about 0.1s of work). A rule that goes over it, such as a
// comprehension over a huge list, stops with an error finding instead of hanging the agent.
const PolicyCostLimit = 1_000_000

// policyEnv is the CEL environment of rules: the Kubernetes base environment for expressions
// stored in configuration, with `object` declared.
var policyEnv = sync.OnceValues(func() (*cel.Env, error) {
	envSet, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).Extend(
		environment.VersionedOptions{
			IntroducedVersion: version.MajorMinor(1, 0),
			EnvOptions:        []cel.EnvOption{cel.Variable("object", cel.DynType)},
		})
	if err != nil {
		return nil, err
	}
	return envSet.Env(environment.StoredExpressions)
})

// policyGate runs an environment's CEL rules.
type policyGate struct {
	rules []*policyRule
}

type policyRule struct {
	cfg      config.PolicyRule
	check    Check
	program  cel.Program
	message  cel.Program // nil without messageExpression
	matchAll bool
}

// newPolicy compiles every rule; errors name the rule's config path under path.
func newPolicy(c config.PolicyGate, path string) (Gate, []error) {
	env, err := policyEnv()
	if err != nil {
		// The environment is built from constants: failing here is a bug in stagegate.
		return &policyGate{}, []error{fmt.Errorf("%s: cannot build the CEL environment: %w", path, err)}
	}
	g := &policyGate{}
	var errs []error
	for i, r := range c.Rules {
		p := fmt.Sprintf("%s.rules[%d]", path, i)
		rule := &policyRule{cfg: r, check: Check{
			ID: "policy/" + r.Name, Severity: Error, Title: r.Message, Fix: r.Fix,
			Why: "A rule of this environment's policy: " + r.Expression,
		}}
		if r.Severity != "" {
			rule.check.Severity = r.Severity
		}
		if rule.check.Title == "" {
			rule.check.Title = "Policy rule " + r.Name
		}
		m := r.Match
		rule.matchAll = len(m.Groups) == 0 && len(m.Kinds) == 0 && len(m.Namespaces) == 0 && len(m.Labels) == 0
		prog, err := compileCEL(env, r.Expression, cel.BoolType, "a bool (true when the object passes)")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.expression: %w", p, err))
		}
		rule.program = prog
		if r.MessageExpression != "" {
			msg, err := compileCEL(env, r.MessageExpression, cel.StringType, "a string")
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.messageExpression: %w", p, err))
			}
			rule.message = msg
		}
		g.rules = append(g.rules, rule)
	}
	return g, errs
}

// compileCEL parses and type-checks expr, which must yield want (or dyn, which CEL cannot check
// before it runs), and plans it with the cost limit.
func compileCEL(env *cel.Env, expr string, want *cel.Type, wantText string) (cel.Program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%s", strings.TrimSpace(iss.Err().Error()))
	}
	if out := ast.OutputType(); !out.IsExactType(want) && !out.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("must evaluate to %s, but evaluates to %s", wantText, out)
	}
	return env.Program(ast, cel.CostLimit(PolicyCostLimit), cel.EvalOptions(cel.OptOptimize, cel.OptTrackCost))
}

func (*policyGate) Name() string { return "policy" }

func (g *policyGate) Checks() []Check {
	out := make([]Check, len(g.rules))
	for i, r := range g.rules {
		out[i] = r.check
	}
	return out
}

func (g *policyGate) Evaluate(in Input) Result {
	var findings []Finding
	for _, o := range in.Objects {
		for _, r := range g.rules {
			if r.program == nil || !r.matches(o) {
				continue
			}
			if f, failed := r.evaluate(o); failed {
				findings = append(findings, f)
			}
		}
	}
	return resultOf(findings)
}

// evaluate runs the rule on one object. A rule that cannot be evaluated (a missing field without
// has(), the cost limit) fails closed, as a ValidatingAdmissionPolicy with failurePolicy Fail does.
func (r *policyRule) evaluate(o render.Object) (Finding, bool) {
	f := Finding{Check: r.check.ID, Severity: r.check.Severity, Object: Ref(o), Fix: r.cfg.Fix}
	vars := map[string]any{"object": o.Content}
	out, _, err := r.program.Eval(vars)
	switch {
	case err != nil:
		f.Message = fmt.Sprintf("rule could not be evaluated: %v", err)
		if f.Fix == "" {
			f.Fix = "guard optional fields with has(object.x) or object.?x.orValue(default)"
		}
		return f, true
	case out.Value() == true:
		return f, false
	case out.Value() != false:
		f.Message = fmt.Sprintf("rule returned %v, not a bool", out.Value())
		return f, true
	}
	f.Message = r.cfg.Message
	if f.Message == "" {
		f.Message = "failed rule: " + r.cfg.Expression
	}
	if r.message != nil {
		if m, _, err := r.message.Eval(vars); err == nil {
			if s, ok := m.Value().(string); ok && s != "" {
				f.Message = s
			}
		}
	}
	return f, true
}

// matches reports whether the rule's match selects o: every non-empty field must match.
func (r *policyRule) matches(o render.Object) bool {
	if r.matchAll {
		return true
	}
	m := r.cfg.Match
	in := func(list []string, v string) bool {
		return len(list) == 0 || slices.Contains(list, "*") || slices.Contains(list, v)
	}
	if !in(m.Groups, o.Group()) || !in(m.Kinds, o.Kind()) {
		return false
	}
	if len(m.Namespaces) > 0 && (o.Namespace() == "" || !in(m.Namespaces, o.Namespace())) {
		return false
	}
	if len(m.Labels) > 0 {
		labels := o.Labels()
		for k, v := range m.Labels {
			if got, ok := labels[k]; !ok || (v != "*" && got != v) {
				return false
			}
		}
	}
	return true
}
