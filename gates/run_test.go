package gates

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

// fixedGate returns the findings it was given, for framework tests.
type fixedGate struct {
	name     string
	outcome  Outcome
	summary  string
	findings []Finding
	checks   []Check
}

func (g fixedGate) Name() string { return g.name }
func (g fixedGate) Evaluate(Input) Result {
	return Result{Outcome: g.outcome, Summary: g.summary, Findings: append([]Finding(nil), g.findings...)}
}

type listingGate struct{ fixedGate }

func (g listingGate) Checks() []Check { return g.checks }

const waivedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    stagegate.dev/waive: "demo/a: accepted risk (SEC-1); demo/b;demo/typo: meant demo/c"
`

func TestEvaluateAppliesWaiversAndOverrides(t *testing.T) {
	objs := gatestest.Objects(t, waivedDeployment)
	ref := Ref(objs[0])
	finding := func(check string, sev Severity) Finding {
		return Finding{Check: check, Severity: sev, Object: ref, Message: check}
	}
	g := listingGate{fixedGate{name: "demo", outcome: Fail,
		findings: []Finding{finding("demo/a", Error), finding("demo/b", Error), finding("demo/c", Warning), finding("demo/d", Error)},
		checks:   []Check{{ID: "demo/a"}, {ID: "demo/b"}, {ID: "demo/c"}, {ID: "demo/d"}}}}

	for _, tc := range []struct {
		name      string
		overrides map[string]Severity
		want      Outcome
		wantState map[string]string // check → "waived: reason" or severity
	}{
		{"a waiver with a reason waives, one without fails the gate, a misspelt one is reported", nil, Fail, map[string]string{
			"demo/a": "waived: accepted risk (SEC-1)", "demo/b": "error", "demo/c": "warning", "demo/d": "error",
			CheckWaiverReason: "error", CheckWaiverUnknown: "warning",
		}},
		{"turning off and downgrading the unwaived errors passes the gate", map[string]Severity{
			"demo/b": config.SeverityWarning, "demo/d": config.SeverityOff, CheckWaiverReason: config.SeverityWarning,
		}, Pass, map[string]string{
			"demo/a": "waived: accepted risk (SEC-1)", "demo/b": "warning", "demo/c": "warning",
			CheckWaiverReason: "warning", CheckWaiverUnknown: "warning",
		}},
		{"raising a warning to an error fails the gate", map[string]Severity{
			"demo/b": config.SeverityOff, "demo/d": config.SeverityOff, CheckWaiverReason: config.SeverityOff, "demo/c": config.SeverityError,
		}, Fail, map[string]string{
			"demo/a": "waived: accepted risk (SEC-1)", "demo/c": "error", CheckWaiverUnknown: "warning",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(g)
			for k, v := range tc.overrides {
				s.overrides[k] = v
			}
			res := s.Evaluate(Input{Objects: objs})
			if len(res) != 1 || res[0].Outcome != tc.want {
				t.Fatalf("outcome %v, want %s", res, tc.want)
			}
			got := map[string]string{}
			for _, f := range res[0].Findings {
				if f.Waived != "" {
					got[f.Check] = "waived: " + f.Waived
				} else {
					got[f.Check] = string(f.Severity)
				}
			}
			if diff := cmp.Diff(tc.wantState, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateKeepsAGatesOwnFailAndPending(t *testing.T) {
	retry := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(
		fixedGate{name: "lineage", outcome: Fail, summary: "env/prod has 2 commits missing from env/staging"},
		fixedGate{name: "soak", outcome: Pending, summary: "soaking until 12:00"},
	)
	res := s.Evaluate(Input{})
	if res[0].Outcome != Fail || res[0].Summary != "env/prod has 2 commits missing from env/staging" {
		t.Errorf("a gate failing without findings: %+v", res[0])
	}
	if res[1].Outcome != Pending || res[1].Summary != "soaking until 12:00" {
		t.Errorf("a pending gate: %+v", res[1])
	}
	res[1].RetryAfter = retry
	if v, at := Verdict(res); v != Fail || !at.IsZero() {
		t.Errorf("Verdict = %s, %v; want fail with no retry time", v, at)
	}
	if v, at := Verdict(res[1:]); v != Pending || !at.Equal(retry) {
		t.Errorf("Verdict = %s, %v; want pending until %v", v, at, retry)
	}
	if v, _ := Verdict(nil); v != Pass {
		t.Errorf("Verdict of no gates = %s, want pass", v)
	}
}

func TestEvaluateOrdersFindingsDeterministically(t *testing.T) {
	a := ObjectRef{Kind: "Service", Name: "a", File: "a.yaml"}
	b := ObjectRef{Kind: "Deployment", Name: "b", File: "b.yaml"}
	g := fixedGate{name: "demo", outcome: Fail, findings: []Finding{
		{Check: "demo/y", Severity: Error, Object: b, Path: "spec"},
		{Check: "demo/x", Severity: Error, Object: a, Path: "spec.z"},
		{Check: "demo/x", Severity: Error, Object: b, Path: "metadata"},
		{Check: "demo/w", Severity: Error, Object: a, Path: "spec.z"},
	}}
	var got []string
	for _, f := range New(g).Evaluate(Input{})[0].Findings {
		got = append(got, f.Object.Name+" "+f.Path+" "+f.Check)
	}
	want := []string{"a spec.z demo/w", "a spec.z demo/x", "b metadata demo/x", "b spec demo/y"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestParseWaivers(t *testing.T) {
	got := ParseWaivers(" security/privileged: needs the host's devices \n\nresources/cpu-limit:latency;  apis/removed  ; : x")
	want := []Waiver{
		{"security/privileged", "needs the host's devices"},
		{"resources/cpu-limit", "latency"},
		{"apis/removed", ""},
		{"", "x"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseWaivers (-want +got):\n%s", diff)
	}
}

func TestForReportsConfigProblemsWithPaths(t *testing.T) {
	p := config.Pipeline{File: "stagegate.yaml", Spec: config.Spec{Environments: []config.Environment{
		{Name: "dev"},
		{Name: "prod", Gates: config.Gates{
			Security: &config.SecurityGate{GateCommon: config.GateCommon{Severity: map[string]Severity{"security/no-such-check": "off"}}},
			Policy: &config.PolicyGate{Rules: []config.PolicyRule{
				{Name: "ok", Expression: "object.kind != ''"},
				{Name: "syntax", Expression: "object.spec.replicas >="},
				{Name: "type", Expression: "'a string'"},
				{Name: "message", Expression: "true", MessageExpression: "42"},
			}},
		}},
	}}}
	_, err := ForPipeline(p)
	if err == nil {
		t.Fatal("ForPipeline accepted broken rules")
	}
	for _, want := range []string{
		"stagegate.yaml: ",
		"spec.environments[1].gates.security.severity.security/no-such-check: no such check",
		"spec.environments[1].gates.policy.rules[1].expression: ERROR",
		"spec.environments[1].gates.policy.rules[2].expression: must evaluate to a bool",
		"spec.environments[1].gates.policy.rules[3].messageExpression: must evaluate to a string",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "rules[0]") {
		t.Errorf("error blames the valid rule:\n%v", err)
	}
	if _, err := For(p.Spec.Environments[1]); err == nil || !strings.Contains(err.Error(), "environment prod: gates.policy.rules[1].expression") {
		t.Errorf("For: %v; want paths relative to the environment", err)
	}
	sets, err := ForPipeline(config.Pipeline{Spec: config.Spec{Environments: p.Spec.Environments[:1]}})
	if err != nil || len(sets["dev"].Gates()) != 0 {
		t.Errorf("an environment without gates: %v, %v; want an empty set", sets, err)
	}
}
