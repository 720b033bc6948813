package gates

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
)

func TestHealth(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	const older = "89abcdef0123456789abcdef0123456789abcdef"
	forge := &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, TargetBranch: "env/staging"}
	staging := config.Environment{Name: "staging", Branch: "env/staging"}
	web := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	worker := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "worker"}
	cm := ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings"}
	cert := ObjectRef{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Namespace: "shop", Name: "tls"}
	current := func(r ObjectRef) ObjectHealth {
		return ObjectHealth{Object: r, Status: HealthCurrent, Message: "Resource is current"}
	}
	facts := func(rev string, objs ...ObjectHealth) *RuntimeFacts {
		return &RuntimeFacts{Health: &HealthFacts{Source: "dev", Revision: rev, Objects: objs}}
	}
	webFailed := ObjectHealth{Object: web, Status: HealthFailed, Message: "Progress deadline exceeded"}
	cmMissing := ObjectHealth{Object: cm, Status: HealthNotFound, Message: "not found in the cluster"}
	webRolling := ObjectHealth{Object: web, Status: HealthInProgress, Message: "Ready: 1/3"}
	workerGoing := ObjectHealth{Object: worker, Status: HealthTerminating, Message: "Resource scheduled for deletion"}
	certUnknown := ObjectHealth{Object: cert, Status: HealthUnknown, Message: `cannot read it: certificates.cert-manager.io "tls" is forbidden`}

	failed := Finding{Check: "health/failed", Severity: Error, Object: web,
		Message: "failed in the cluster of environment dev at 0123456: Progress deadline exceeded",
		Fix:     "see why with kubectl describe deployment web -n shop in the cluster of environment dev; fix or revert the change on env/dev"}
	missing := Finding{Check: "health/missing", Severity: Error, Object: cm,
		Message: "the inventory of environment dev lists it as applied at 0123456, but its cluster lacks it: not found in the cluster",
		Fix:     "find out what deleted it; stagegate apply --env dev creates it again, or remove it from env/dev if it should stay gone"}
	rolling := Finding{Check: "health/in-progress", Severity: Warning, Object: web,
		Message: "InProgress in the cluster of environment dev: Ready: 1/3",
		Fix:     "nothing to do while it progresses: the gate looks again in 30s; if it never settles, see why with kubectl describe deployment web -n shop"}
	going := Finding{Check: "health/in-progress", Severity: Warning, Object: worker,
		Message: "Terminating in the cluster of environment dev: Resource scheduled for deletion",
		Fix:     "nothing to do while it progresses: the gate looks again in 30s; if it never settles, see why with kubectl describe deployment worker -n shop"}
	unknown := Finding{Check: "health/unknown", Severity: Warning, Object: cert,
		Message: `health unknown in the cluster of environment dev: cannot read it: certificates.cert-manager.io "tls" is forbidden`,
		Fix:     "give the agent get on Certificate in the cluster of environment dev (it applies them, so it should have it), or fix what the message names"}

	for _, tc := range []struct {
		name    string
		runtime *RuntimeFacts
		forge   *ForgeFacts
		want    Result
	}{
		{"without runtime facts the gate waits for the agent", nil, forge,
			Result{Gate: "health", Outcome: Pending, Summary: "the health of env/dev is not known here; the agent reads it from its cluster for a promotion"}},
		{"runtime facts without health wait too, naming the source even without forge facts", &RuntimeFacts{}, nil,
			Result{Gate: "health", Outcome: Pending, Summary: "the health of the source environment is not known here; the agent reads it from its cluster for a promotion"}},
		{"an unreachable source cluster waits a minute, saying why",
			&RuntimeFacts{Health: &HealthFacts{Source: "dev", Unreachable: "dial tcp 10.0.0.1:6443: i/o timeout"}}, forge,
			Result{Gate: "health", Outcome: Pending, RetryAfter: forgeNow.Add(time.Minute),
				Summary: "cannot reach the cluster of environment dev: dial tcp 10.0.0.1:6443: i/o timeout"}},
		{"health without the source commit cannot be judged", facts(sha, current(web)), nil,
			Result{Gate: "health", Outcome: Pending, Summary: "the commit promoted from environment dev is not known here; the agent gathers it for a promotion"}},
		{"a source cluster with no complete apply waits a minute", facts("", current(web)), forge,
			Result{Gate: "health", Outcome: Pending, RetryAfter: forgeNow.Add(time.Minute),
				Summary: "nothing applied to the cluster of environment dev completely yet; waiting for 0123456"}},
		{"a source cluster running another commit waits a minute, however healthy", facts(older, current(web)), forge,
			Result{Gate: "health", Outcome: Pending, RetryAfter: forgeNow.Add(time.Minute),
				Summary: "the cluster of environment dev runs 89abcde, not 0123456 yet"}},
		{"a source cluster running another commit waits even when it is failing", facts(older, webFailed), forge,
			Result{Gate: "health", Outcome: Pending, RetryAfter: forgeNow.Add(time.Minute),
				Summary: "the cluster of environment dev runs 89abcde, not 0123456 yet"}},
		{"every object current passes, counting them", facts(sha, current(web), current(cm), current(cert)), forge,
			Result{Gate: "health", Outcome: Pass, Summary: "3 objects of environment dev healthy at 0123456"}},
		{"an empty inventory at the source commit passes", facts(sha), forge,
			Result{Gate: "health", Outcome: Pass, Summary: "0 objects of environment dev healthy at 0123456"}},
		{"failed and missing objects fail the gate, one finding each",
			facts(sha, webFailed, cmMissing, current(cert)), forge,
			Result{Gate: "health", Outcome: Fail,
				Summary:  "2 of 3 objects of environment dev at 0123456 not healthy (1 failed, 1 missing); first: Deployment shop/web Failed: Progress deadline exceeded",
				Findings: []Finding{missing, failed}}},
		{"objects rolling out or going away make it wait 30 seconds, naming the first",
			facts(sha, current(cm), webRolling, workerGoing), forge,
			Result{Gate: "health", Outcome: Pending, RetryAfter: forgeNow.Add(30 * time.Second),
				Summary:  "2 of 3 objects of environment dev at 0123456 not healthy (1 in progress, 1 terminating); first: Deployment shop/web InProgress: Ready: 1/3",
				Findings: []Finding{rolling, going}}},
		{"an object whose health is unknown makes it wait rather than guess",
			facts(sha, current(web), certUnknown), forge,
			Result{Gate: "health", Outcome: Pending, RetryAfter: forgeNow.Add(30 * time.Second),
				Summary:  `1 of 2 objects of environment dev at 0123456 not healthy (1 unknown); first: Certificate shop/tls Unknown: cannot read it: certificates.cert-manager.io "tls" is forbidden`,
				Findings: []Finding{unknown}}},
		{"a failed object fails the gate while others still roll out, naming the failure first",
			facts(sha, workerGoing, webFailed), forge,
			Result{Gate: "health", Outcome: Fail, RetryAfter: forgeNow.Add(30 * time.Second),
				Summary:  "2 of 2 objects of environment dev at 0123456 not healthy (1 failed, 1 terminating); first: Deployment shop/web Failed: Progress deadline exceeded; 1 error (health/failed on Deployment shop/web), 1 warning",
				Findings: []Finding{failed, going}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := evaluateOne(t, newHealth(config.HealthGate{}), Input{Env: staging, Now: forgeNow, Runtime: tc.runtime, Forge: tc.forge})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// Without the source environment's name, the gate names its branch.
func TestHealthNamesTheSourceBranchWithoutTheEnvironment(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	web := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	in := Input{Env: config.Environment{Name: "staging"}, Now: forgeNow,
		Forge:   &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha},
		Runtime: &RuntimeFacts{Health: &HealthFacts{Revision: sha, Objects: []ObjectHealth{{Object: web, Status: HealthNotFound, Message: "not found in the cluster"}}}}}
	got := evaluateOne(t, newHealth(config.HealthGate{}), in)
	want := Result{Gate: "health", Outcome: Fail,
		Summary: "1 of 1 object of env/dev at 0123456 not healthy (1 missing); first: Deployment shop/web NotFound: not found in the cluster",
		Findings: []Finding{{Check: "health/missing", Severity: Error, Object: web,
			Message: "the inventory of env/dev lists it as applied at 0123456, but its cluster lacks it: not found in the cluster",
			Fix:     "find out what deleted it; stagegate apply --env <source> creates it again, or remove it from env/dev if it should stay gone"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

// Severity overrides decide what a failed object means; objects still rolling out keep the gate
// waiting whatever the overrides did to the failures.
func TestHealthSeverityOverrides(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	web := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	worker := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "worker"}
	webFailed := ObjectHealth{Object: web, Status: HealthFailed, Message: "Progress deadline exceeded"}
	workerRolling := ObjectHealth{Object: worker, Status: HealthInProgress, Message: "Ready: 1/3"}
	for _, tc := range []struct {
		name     string
		severity map[string]config.Severity
		objs     []ObjectHealth
		want     Outcome
	}{
		{"failed as a warning passes when nothing else is wrong", map[string]config.Severity{"health/failed": config.SeverityWarning},
			[]ObjectHealth{webFailed}, Pass},
		{"failed as a warning still waits for objects rolling out", map[string]config.Severity{"health/failed": config.SeverityWarning},
			[]ObjectHealth{webFailed, workerRolling}, Pending},
		{"in-progress as an error fails on a rollout", map[string]config.Severity{"health/in-progress": config.SeverityError},
			[]ObjectHealth{workerRolling}, Fail},
		{"in-progress turned off still waits: the gate does not judge what has not settled", map[string]config.Severity{"health/in-progress": config.SeverityOff},
			[]ObjectHealth{workerRolling}, Pending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := config.Environment{Name: "staging", Gates: config.Gates{Health: &config.HealthGate{GateCommon: config.GateCommon{Severity: tc.severity}}}}
			s, err := For(env)
			if err != nil {
				t.Fatal(err)
			}
			res := s.Evaluate(Input{Env: env, Now: forgeNow, Forge: &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha},
				Runtime: &RuntimeFacts{Health: &HealthFacts{Source: "dev", Revision: sha, Objects: tc.objs}}})
			if len(res) != 1 || res[0].Outcome != tc.want {
				t.Errorf("got %+v, want %s", res, tc.want)
			}
		})
	}
}

// An unknown check under severity is a mistake the config reports, naming the health checks.
func TestHealthSeverityOfAnUnknownCheck(t *testing.T) {
	_, err := For(config.Environment{Name: "staging", Gates: config.Gates{Health: &config.HealthGate{GateCommon: config.GateCommon{
		Severity: map[string]config.Severity{"health/degraded": config.SeverityWarning}}}}})
	if err == nil || !strings.Contains(err.Error(), "health/failed, health/in-progress, health/missing, health/unknown") {
		t.Errorf("error %v, want one listing the health checks", err)
	}
}

// The gate runs only where the agent observes the source: `stagegate gate` skips it.
func TestHealthIsARuntimeGate(t *testing.T) {
	s := New(newHealth(config.HealthGate{}))
	if !s.Runtime("health") || s.Observes("health") {
		t.Errorf("health: runtime %v, observes %v; want a runtime gate that reports no observed values", s.Runtime("health"), s.Observes("health"))
	}
	if _, skipped := s.WithoutForge(); len(skipped) != 1 || skipped[0] != "health" {
		t.Errorf("WithoutForge skipped %v, want [health]", skipped)
	}
}
