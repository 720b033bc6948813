package gates

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

// Set is the gates an environment runs, compiled once from its config: options parsed, CEL rules
// compiled, severity overrides checked. It is safe for concurrent use.
type Set struct {
	gates []Gate
	// overrides maps a check ID to the severity the environment wants for it (SeverityOff drops
	// the check's findings).
	overrides map[string]Severity
	// checks lists every check of every gate that lists them, by ID.
	checks map[string]Check
}

// For compiles the gates env chooses. Errors name the config path of the problem, relative to
// the environment ("gates.policy.rules[0].expression: ..."); ForPipeline gives full paths.
func For(env config.Environment) (*Set, error) {
	s, errs := compile(env.Gates, env.Promote, "gates")
	if len(errs) > 0 {
		name := env.Name
		if name == "" {
			name = "(unnamed)"
		}
		return nil, fmt.Errorf("environment %s: %w", name, errors.Join(errs...))
	}
	return s, nil
}

// ForPipeline compiles the gates of every environment of p, keyed by environment name. Errors
// carry the path of the problem in the config file ("stagegate.yaml:
// spec.environments[2].gates.policy.rules[0].expression: ..."), every problem at once. Call it
// right after config.Load, so a bad rule stops the agent at start, not at the first promotion.
func ForPipeline(p config.Pipeline) (map[string]*Set, error) {
	sets, errs := compilePipeline(p)
	if len(errs) > 0 {
		err := errors.Join(errs...)
		if p.File != "" {
			err = fmt.Errorf("%s: %w", p.File, err)
		}
		return nil, err
	}
	return sets, nil
}

// Validate compiles every environment's gates of p and returns the problems with their config
// paths ("spec.environments[2].gates.policy.rules[0].expression: ..."). Pass it to config.Load so
// a bad rule is reported with its line, with every other problem of the file, when the config loads.
func Validate(p config.Pipeline) []error {
	_, errs := compilePipeline(p)
	return errs
}

func compilePipeline(p config.Pipeline) (map[string]*Set, []error) {
	sets := make(map[string]*Set, len(p.Spec.Environments))
	var errs []error
	for i, env := range p.Spec.Environments {
		s, e := compile(env.Gates, env.Promote, fmt.Sprintf("spec.environments[%d].gates", i))
		errs = append(errs, e...)
		sets[env.Name] = s
		if env.Rollback != nil {
			_, e := compileRollback(*env.Rollback, fmt.Sprintf("spec.environments[%d].rollback.gates", i))
			errs = append(errs, e...)
		}
	}
	return sets, errs
}

// ForRollback compiles the gates of rollbacks into env (rollback.gates, and approvals when
// rollback.approvals asks for them). An environment without a rollback block has none.
func ForRollback(env config.Environment) (*Set, error) {
	if env.Rollback == nil {
		return New(), nil
	}
	s, errs := compileRollback(*env.Rollback, "rollback.gates")
	if len(errs) > 0 {
		return nil, fmt.Errorf("environment %s: %w", env.Name, errors.Join(errs...))
	}
	return s, nil
}

// compileRollback compiles a rollback's gates. Lineage is left out unless asked for: a rollback
// undoes the environment's own history on purpose.
func compileRollback(rb config.Rollback, path string) (*Set, []error) {
	g := rb.Gates
	if g.Lineage == nil {
		g.Lineage = &config.LineageGate{Disabled: true}
	}
	return compile(g, &config.Promote{Auto: rb.Auto, Approvals: rb.Approvals}, path)
}

// RollbackEnv is env as its rollbacks are gated: the rollback's gates and approvals in the place
// of the promotion's, for the gates (approvals) and trailers that read them from the environment.
func RollbackEnv(env config.Environment) config.Environment {
	rb := config.Rollback{}
	if env.Rollback != nil {
		rb = *env.Rollback
	}
	method := config.DefaultMergeMethod
	if env.Promote != nil && env.Promote.MergeMethod == config.MergeSquash {
		method = config.MergeSquash
	}
	env.Gates = rb.Gates
	env.Promote = &config.Promote{Auto: rb.Auto, Approvals: rb.Approvals, MergeMethod: method}
	return env
}

// New makes a Set of the given gates with no severity overrides; tests and tools that build
// their own gates use it.
func New(gates ...Gate) *Set {
	s := &Set{gates: gates, overrides: map[string]Severity{}, checks: map[string]Check{}}
	for _, c := range waiverChecks {
		s.checks[c.ID] = c
	}
	for _, g := range gates {
		if c, ok := g.(Checker); ok {
			for _, ch := range c.Checks() {
				s.checks[ch.ID] = ch
			}
		}
	}
	return s
}

// compile builds the gates of one environment; path is the config path of its gates block.
// promote is the environment's promotion policy, nil for the first environment: the approvals
// gate reads its count, and every environment promoted into runs the lineage gate by default.
func compile(g config.Gates, promote *config.Promote, path string) (*Set, []error) {
	var (
		gates   []Gate
		errs    []error
		commons = map[string]config.GateCommon{}
	)
	if g.Schema != nil {
		gates = append(gates, newSchema(*g.Schema))
		commons["schema"] = g.Schema.GateCommon
	}
	if g.APIs != nil {
		gates = append(gates, newAPIs(*g.APIs))
		commons["apis"] = g.APIs.GateCommon
	}
	if g.Security != nil {
		gates = append(gates, newSecurity(*g.Security))
		commons["security"] = g.Security.GateCommon
	}
	if g.Resources != nil {
		r, e := newResources(*g.Resources, path+".resources")
		errs = append(errs, e...)
		gates = append(gates, r)
		commons["resources"] = g.Resources.GateCommon
	}
	if g.Policy != nil {
		p, e := newPolicy(*g.Policy, path+".policy")
		errs = append(errs, e...)
		gates = append(gates, p)
		commons["policy"] = g.Policy.GateCommon
	}
	if g.Approvals != nil || (promote != nil && promote.Approvals > 0) {
		a := config.ApprovalsGate{}
		if g.Approvals != nil {
			a = *g.Approvals
		}
		gates = append(gates, newApprovals(a, promoteApprovals(promote)))
		commons["approvals"] = a.GateCommon
	}
	if g.Checks != nil {
		gates = append(gates, newChecks(*g.Checks))
		commons["checks"] = g.Checks.GateCommon
	}
	if g.Window != nil {
		w, e := newWindow(*g.Window, path+".window")
		errs = append(errs, e...)
		gates = append(gates, w)
		commons["window"] = g.Window.GateCommon
	}
	if g.Soak != nil {
		gates = append(gates, newSoak(*g.Soak))
		commons["soak"] = g.Soak.GateCommon
	}
	if l := g.Lineage; (l != nil || promote != nil) && (l == nil || !l.Disabled) {
		c := config.LineageGate{}
		if l != nil {
			c = *l
		}
		gates = append(gates, newLineage(c))
		commons["lineage"] = c.GateCommon
	}
	if g.Signature != nil {
		gates = append(gates, newSignature(*g.Signature))
		commons["signature"] = g.Signature.GateCommon
	}
	if g.DryRun != nil {
		gates = append(gates, newDryRun(*g.DryRun))
		commons["dry-run"] = g.DryRun.GateCommon
	}
	if g.Drift != nil {
		gates = append(gates, newDrift(*g.Drift))
		commons["drift"] = g.Drift.GateCommon
	}
	if g.Metrics != nil {
		gates = append(gates, newMetrics(*g.Metrics))
		commons["metrics"] = g.Metrics.GateCommon
	}
	if g.HTTP != nil {
		gates = append(gates, newHTTP(*g.HTTP))
		commons["http"] = g.HTTP.GateCommon
	}
	if g.Health != nil {
		gates = append(gates, newHealth(*g.Health))
		commons["health"] = g.Health.GateCommon
	}
	for _, e := range g.External {
		gates = append(gates, newExternal(e))
		commons[e.Name] = e.GateCommon
	}
	s := New(gates...)
	for _, gt := range gates {
		name := gt.Name()
		for id, sev := range commons[name].Severity {
			_, listsChecks := gt.(Checker)
			if _, known := s.checks[id]; listsChecks && !known && !strings.HasPrefix(id, "waiver/") {
				errs = append(errs, fmt.Errorf("%s.%s.severity.%s: no such check; %s", path, configKey(name), id, knownChecks(s, name)))
				continue
			}
			s.overrides[id] = sev
		}
	}
	return s, errs
}

// configKey is the key under gates: of the gate named name: its name, except where a name is
// not a YAML identifier in the config's camelCase (dry-run is dryRun).
func configKey(name string) string {
	if name == "dry-run" {
		return "dryRun"
	}
	return name
}

func knownChecks(s *Set, gate string) string {
	var ids []string
	for id := range s.checks {
		if strings.HasPrefix(id, gate+"/") {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return "the " + gate + " gate's checks are " + strings.Join(ids, ", ")
}

// factSummary is implemented by gates whose summary states facts that stay true whatever
// overrides and waivers do to their findings ("3 objects drifted from env/prod: 2 drifted, 1
// extra"): Evaluate keeps it instead of counting findings, and adds the counts when the
// verdict changed.
type factSummary interface{ keepsSummary() }

// forgeGate is implemented by gates that judge a promotion request (reviews, statuses, deploy
// times, the target's history) rather than rendered objects: without the facts the agent
// gathers for a request they can only wait or pass vacuously.
type forgeGate interface{ needsForge() }

// WithoutForge returns the set without the gates that need facts only the agent gathers, and
// their names: those that judge a promotion request (approvals, checks, soak, lineage, signature) and those
// that ask the target cluster (dry-run, drift). `stagegate gate` runs it: it judges a
// rendering, with no request to judge and no cluster to ask.
func (s *Set) WithoutForge() (*Set, []string) {
	out := *s
	out.gates = nil
	var skipped []string
	for _, g := range s.gates {
		_, forge := g.(forgeGate)
		_, cluster := g.(clusterGate)
		_, runtime := g.(runtimeGate)
		if forge || cluster || runtime {
			skipped = append(skipped, g.Name())
			continue
		}
		out.gates = append(out.gates, g)
	}
	return &out, skipped
}

// Gates lists the names of the gates in the set, in the order they run.
func (s *Set) Gates() []string {
	names := make([]string, len(s.gates))
	for i, g := range s.gates {
		names[i] = g.Name()
	}
	return names
}

// Checks lists the checks of every gate in the set that lists them, by ID, at the severity the
// environment gives them (checks turned off are left out).
func (s *Set) Checks() []Check {
	out := make([]Check, 0, len(s.checks))
	for _, c := range s.checks {
		if sev, ok := s.overrides[c.ID]; ok {
			if sev == config.SeverityOff {
				continue
			}
			c.Severity = sev
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Check) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Evaluate runs every gate of the set on in, then applies the environment's severity overrides
// and the objects' waivers. Results come in the order the gates run; findings in each are sorted
// by file, object, field path and check, so the same input always gives the same report.
func (s *Set) Evaluate(in Input) []Result {
	waivers := collectWaivers(in.Objects)
	results := make([]Result, 0, len(s.gates))
	for _, g := range s.gates {
		r := g.Evaluate(in)
		r.Gate = g.Name()
		own, said := r.Summary, r.Outcome
		hadErrors := countUnwaivedErrors(r.Findings) > 0
		r.Findings = s.override(r.Findings)
		r.Findings = append(r.Findings, s.override(waivers.apply(g.Name(), s.checks, r.Findings))...)
		sortFindings(r.Findings)
		r.Outcome = outcome(r.Outcome, hadErrors, countUnwaivedErrors(r.Findings) > 0)
		if r.Outcome != Fail || hadErrors || r.Summary == "" {
			// A gate that failed without findings explains itself in its summary; keep it.
			r.Summary = summarize(r)
		}
		if _, ok := g.(factSummary); ok && own != "" {
			r.Summary = own
			if r.Outcome != said {
				// Overrides or waivers changed the verdict: say how, after the facts.
				r.Summary += "; " + summarize(Result{Outcome: r.Outcome, Findings: r.Findings})
			}
		}
		results = append(results, r)
	}
	return results
}

// override applies the severity overrides, dropping findings of checks turned off.
func (s *Set) override(fs []Finding) []Finding {
	if len(s.overrides) == 0 {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		if sev, ok := s.overrides[f.Check]; ok {
			if sev == config.SeverityOff {
				continue
			}
			f.Severity = sev
		}
		out = append(out, f)
	}
	return out
}

// outcome is the gate's verdict once overrides and waivers are applied. A gate's Fail that came
// from its error findings follows the findings (all waived or downgraded: pass); a Fail with no
// error findings is the gate's own judgement and stands. Pending stays pending unless an error
// finding fails the gate anyway.
func outcome(gateSaid Outcome, hadErrors, hasErrors bool) Outcome {
	switch {
	case hasErrors:
		return Fail
	case gateSaid == Fail && !hadErrors:
		return Fail
	case gateSaid == Pending:
		return Pending
	default:
		return Pass
	}
}

func countUnwaivedErrors(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity == Error && f.Waived == "" {
			n++
		}
	}
	return n
}

// summarize writes the one-line reason a commit status shows: counts, and the first error.
func summarize(r Result) string {
	var errs, warns, infos, waived int
	var first *Finding
	for i, f := range r.Findings {
		switch {
		case f.Waived != "":
			waived++
		case f.Severity == Error:
			errs++
			if first == nil {
				first = &r.Findings[i]
			}
		case f.Severity == Warning:
			warns++
		default:
			infos++
		}
	}
	var parts []string
	if errs > 0 {
		s := plural(errs, "error")
		if first != nil {
			s += fmt.Sprintf(" (%s on %s", first.Check, first.Object)
			if errs > 1 {
				s += fmt.Sprintf(" and %d more", errs-1)
			}
			s += ")"
		}
		parts = append(parts, s)
	}
	if warns > 0 {
		parts = append(parts, plural(warns, "warning"))
	}
	if infos > 0 {
		parts = append(parts, plural(infos, "note"))
	}
	if waived > 0 {
		parts = append(parts, fmt.Sprintf("%d waived", waived))
	}
	switch {
	case r.Summary != "" && !aboutObjects(r.Findings):
		// A gate that judges the promotion rather than objects (approvals, lineage, window)
		// says more in its own words than counts of findings on "the rendering" would.
		return r.Summary
	case r.Outcome == Pending && len(parts) == 0:
		if r.Summary != "" {
			return r.Summary
		}
		return "waiting"
	case len(parts) == 0:
		return "no findings"
	}
	return strings.Join(parts, ", ")
}

// aboutObjects says whether any finding names an object.
func aboutObjects(fs []Finding) bool {
	for _, f := range fs {
		if f.Object != (ObjectRef{}) {
			return true
		}
	}
	return false
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// String reads like "apps/v1 Deployment shop/web".
func (r ObjectRef) String() string {
	if r.Kind == "" && r.Name == "" {
		return "the rendering"
	}
	s := r.Kind + " "
	if r.Namespace != "" {
		s += r.Namespace + "/"
	}
	return s + r.Name
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Object.File, b.Object.File),
			cmp.Compare(a.Object.Namespace, b.Object.Namespace),
			cmp.Compare(a.Object.Kind, b.Object.Kind),
			cmp.Compare(a.Object.Name, b.Object.Name),
			cmp.Compare(a.Object.APIVersion, b.Object.APIVersion),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Check, b.Check),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Verdict combines results: Fail if any gate failed, else Pending if any is pending, else Pass.
// retryAt is the earliest RetryAfter of the pending gates (zero when none is pending).
func Verdict(results []Result) (verdict Outcome, retryAt time.Time) {
	verdict = Pass
	for _, r := range results {
		switch r.Outcome {
		case Fail:
			verdict = Fail
		case Pending:
			if verdict != Fail {
				verdict = Pending
			}
			if !r.RetryAfter.IsZero() && (retryAt.IsZero() || r.RetryAfter.Before(retryAt)) {
				retryAt = r.RetryAfter
			}
		}
	}
	if verdict != Pending {
		retryAt = time.Time{}
	}
	return verdict, retryAt
}
