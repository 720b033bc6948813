package gates

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/drift"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
	"github.com/stagegate-dev/stagegate/gitsource"
)

const clusterManifests = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: shop
  annotations:
    stagegate.dev/waive: "dry-run/immutable: the migration Job is recreated by hand (OPS-42)"
spec: {template: {spec: {restartPolicy: Never}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
`

var (
	prodEnv  = config.Environment{Name: "prod", Branch: "env/prod"}
	webRef   = ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", File: "test.yaml"}
	jobRef   = ObjectRef{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate", File: "test.yaml"}
	cmRef    = ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings", File: "test.yaml"}
	oldSvc   = ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: "shop", Name: "old"}
	ackForge = &ForgeFacts{Request: &gitsource.Request{Number: 12, Labels: []string{"release", AcknowledgeDriftLabel}}}
)

func driftReport(objs ...drift.ObjectReport) *drift.Report { return &drift.Report{Objects: objs} }

var (
	webDrifted = drift.ObjectReport{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Status: drift.Drifted,
		Paths: []string{"/spec/replicas", "/spec/template/spec/containers/name=web/image", "/metadata/annotations/team~1owner"}}
	cmMissing  = drift.ObjectReport{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings", Status: drift.Missing}
	svcExtra   = drift.ObjectReport{APIVersion: "v1", Kind: "Service", Namespace: "shop", Name: "old", Status: drift.Extra}
	jobInSync  = drift.ObjectReport{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate", Status: drift.InSync}
	jobFailed  = drift.ObjectReport{APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate", Status: drift.Failed, Reason: "dry-run: the server could not find the requested resource"}
	webInSync  = drift.ObjectReport{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Status: drift.InSync}
	cmInSync   = drift.ObjectReport{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings", Status: drift.InSync}
	driftedFix = "see the diff with stagegate drift --env prod; put the change into Git, or add the label stagegate/acknowledge-drift to let the promotion overwrite it"
)

func TestDrift(t *testing.T) {
	objs := gatestest.Objects(t, clusterManifests)
	drifted := Finding{Check: "drift/drifted", Severity: Error, Object: webRef, Path: "spec.replicas",
		Message: `changed in the cluster, differs from env/prod: spec.replicas, spec.template.spec.containers[name=web].image, metadata.annotations["team/owner"]`,
		Fix:     driftedFix}
	missing := Finding{Check: "drift/missing", Severity: Error, Object: cmRef,
		Message: "rendered on env/prod but missing from the cluster",
		Fix:     "remove it from Git if it should stay gone, or add the label stagegate/acknowledge-drift to let the promotion create it again"}
	extra := Finding{Check: "drift/extra", Severity: Error, Object: oldSvc,
		Message: "in the cluster, applied by stagegate before, but no longer rendered on env/prod",
		Fix:     "delete it from the cluster or render it again, or add the label stagegate/acknowledge-drift to let the promotion go ahead"}
	failed := Finding{Check: "drift/failed", Severity: Warning, Object: jobRef,
		Message: "could not be compared with the cluster: dry-run: the server could not find the requested resource",
		Fix:     "fix the cause (stagegate drift --env prod shows it too), or add the label stagegate/acknowledge-drift to go ahead without knowing"}
	warn := func(f Finding) Finding { f.Severity = Warning; return f }

	for _, tc := range []struct {
		name    string
		cluster *ClusterFacts
		forge   *ForgeFacts
		want    Result
	}{
		{"without cluster facts the gate waits for the agent's scan", nil, nil,
			Result{Gate: "drift", Outcome: Pending, Summary: "the cluster of environment prod has not been scanned for drift yet; the agent scans it for a promotion"}},
		{"a cluster that answered but was not scanned waits too", &ClusterFacts{DryRun: &DryRunFacts{}}, nil,
			Result{Gate: "drift", Outcome: Pending, Summary: "the cluster of environment prod has not been scanned for drift yet; the agent scans it for a promotion"}},
		{"an unreachable cluster waits a minute, saying why",
			&ClusterFacts{Unreachable: "dial tcp 10.0.0.1:6443: i/o timeout"}, nil,
			Result{Gate: "drift", Outcome: Pending, RetryAfter: forgeNow.Add(time.Minute),
				Summary: "cannot reach the cluster of environment prod: dial tcp 10.0.0.1:6443: i/o timeout"}},
		{"a cluster in sync passes, counting its objects",
			&ClusterFacts{Drift: driftReport(webInSync, jobInSync, cmInSync)}, ackForge,
			Result{Gate: "drift", Outcome: Pass, Summary: "env/prod is in sync with its cluster (3 objects)"}},
		{"drifted, missing and extra objects fail the gate, one finding each",
			&ClusterFacts{Drift: driftReport(webDrifted, jobInSync, cmMissing, svcExtra)}, &ForgeFacts{Request: &gitsource.Request{Number: 12}},
			Result{Gate: "drift", Outcome: Fail, Summary: "3 objects drifted from env/prod: 1 drifted, 1 missing, 1 extra",
				Findings: []Finding{extra, missing, drifted}}},
		{"objects the scan could not compare are warnings next to the drift",
			&ClusterFacts{Drift: driftReport(webDrifted, jobFailed)}, nil,
			Result{Gate: "drift", Outcome: Fail, Summary: "1 object drifted from env/prod: 1 drifted; 1 object could not be compared with the cluster",
				Findings: []Finding{drifted, failed}}},
		{"with only objects it could not compare, the gate waits for a full scan",
			&ClusterFacts{Drift: driftReport(webInSync, jobFailed)}, nil,
			Result{Gate: "drift", Outcome: Pending, RetryAfter: forgeNow.Add(time.Minute),
				Summary:  "1 object could not be compared with the cluster; first: Job shop/migrate: dry-run: the server could not find the requested resource",
				Findings: []Finding{failed}}},
		{"the acknowledge-drift label passes the gate, keeping the drift as warnings and recording the request",
			&ClusterFacts{Drift: driftReport(webDrifted, cmMissing, svcExtra, jobFailed)}, ackForge,
			Result{Gate: "drift", Outcome: Pass,
				Summary: "drift acknowledged by label stagegate/acknowledge-drift on request #12: 3 objects drifted from env/prod: 1 drifted, 1 missing, 1 extra; 1 object could not be compared with the cluster",
				Findings: []Finding{
					{Check: CheckDriftAcknowledged, Severity: Info,
						Message: "label stagegate/acknowledge-drift on request #12 acknowledges the drift: 3 objects drifted from env/prod: 1 drifted, 1 missing, 1 extra; 1 object could not be compared with the cluster",
						Fix:     "nothing to fix; the promotion's apply brings the cluster back to Git. Remove the label if the drift should block after all"},
					warn(extra), warn(missing), warn(drifted), failed,
				}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := evaluateOne(t, newDrift(config.DriftGate{}), Input{Env: prodEnv, Objects: objs, Now: forgeNow, Cluster: tc.cluster, Forge: tc.forge})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	objs := gatestest.Objects(t, clusterManifests)
	rejections := &DryRunFacts{Rejections: []Rejection{
		// The agent may leave File empty: the gate finds the rendered object.
		{Object: ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}, Reason: RejectionAdmission,
			Message: `admission webhook "validate.kyverno.svc" denied the request: images must come from registry.acme.io`},
		{Object: cmRef, Reason: RejectionSchema, Field: "data.port",
			Message: "ConfigMap.v1 \"settings\" is invalid: data.port: Invalid value: 8080: must be a string"},
		{Object: jobRef, Reason: RejectionImmutable, Field: "spec.template",
			Message: `Job.batch "migrate" is invalid: spec.template: Invalid value: ...: field is immutable`},
		{Object: webRef, Reason: RejectionOther, Message: `namespaces "shop" not found`},
	}}
	admission := Finding{Check: "dry-run/admission", Severity: Error, Object: webRef,
		Message: `admission denied it: admission webhook "validate.kyverno.svc" denied the request: images must come from registry.acme.io`,
		Fix:     "change the object to satisfy the webhook or policy the message names, or ask the cluster's owners for an exception"}
	schema := Finding{Check: "dry-run/schema", Severity: Error, Object: cmRef, Path: "data.port",
		Message: `the cluster's schema rejects it: ConfigMap.v1 "settings" is invalid: data.port: Invalid value: 8080: must be a string`,
		Fix:     "correct the field for the API version and CRD the target cluster serves"}
	immutable := Finding{Check: "dry-run/immutable", Severity: Error, Object: jobRef, Path: "spec.template",
		Message: `changes spec.template, which cannot change once the object exists: Job.batch "migrate" is invalid: spec.template: Invalid value: ...: field is immutable`,
		Fix:     "change it back to the cluster's value, or annotate the object stagegate.dev/recreate: enabled to let stagegate delete and recreate it (it is briefly gone)",
		Waived:  "the migration Job is recreated by hand (OPS-42)"}
	other := Finding{Check: "dry-run/rejected", Severity: Error, Object: webRef,
		Message: `the cluster rejects it: namespaces "shop" not found`,
		Fix:     "read the API server's message and fix the object or what it depends on"}

	for _, tc := range []struct {
		name     string
		severity map[string]config.Severity
		cluster  *ClusterFacts
		want     Result
	}{
		{"without cluster facts the gate waits for the agent's dry-run", nil, nil,
			Result{Gate: "dry-run", Outcome: Pending, Summary: "the server-side dry-run on the cluster of environment prod has not run yet; the agent runs it for a promotion"}},
		{"a drift scan alone is no dry-run", nil, &ClusterFacts{Drift: driftReport()},
			Result{Gate: "dry-run", Outcome: Pending, Summary: "the server-side dry-run on the cluster of environment prod has not run yet; the agent runs it for a promotion"}},
		{"an unreachable cluster waits a minute, saying why", nil,
			&ClusterFacts{Unreachable: "Unauthorized", DryRun: &DryRunFacts{}},
			Result{Gate: "dry-run", Outcome: Pending, RetryAfter: forgeNow.Add(time.Minute), Summary: "cannot reach the cluster of environment prod: Unauthorized"}},
		{"a cluster that accepts every object passes", nil, &ClusterFacts{DryRun: &DryRunFacts{}},
			Result{Gate: "dry-run", Outcome: Pass, Summary: "the cluster accepts all 3 objects (server-side dry-run)"}},
		{"every rejection is a finding on the rendered object, sorted by its reason; the waived one does not count", nil,
			&ClusterFacts{DryRun: rejections},
			Result{Gate: "dry-run", Outcome: Fail, Summary: "3 errors (dry-run/schema on ConfigMap shop/settings and 2 more), 1 waived",
				Findings: []Finding{schema, admission, other, immutable}}},
		{"severity overrides soften or drop checks", map[string]config.Severity{"dry-run/admission": config.SeverityWarning, "dry-run/schema": config.SeverityOff, "dry-run/rejected": config.SeverityInfo},
			&ClusterFacts{DryRun: rejections},
			Result{Gate: "dry-run", Outcome: Pass, Summary: "1 warning, 1 note, 1 waived",
				Findings: []Finding{func() Finding { f := admission; f.Severity = Warning; return f }(), func() Finding { f := other; f.Severity = Info; return f }(), immutable}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := prodEnv
			env.Cluster = &config.Cluster{}
			env.Gates = config.Gates{DryRun: &config.DryRunGate{GateCommon: config.GateCommon{Severity: tc.severity}}}
			s, err := For(env)
			if err != nil {
				t.Fatal(err)
			}
			res := s.Evaluate(Input{Env: env, Objects: objs, Now: forgeNow, Cluster: tc.cluster})
			if len(res) != 1 {
				t.Fatalf("got %d results, want the dry-run gate's alone", len(res))
			}
			if diff := cmp.Diff(tc.want, res[0]); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// A severity override or a waiver that changes the drift gate's verdict keeps the drift in the
// summary and says what changed it.
func TestDriftSummaryAfterOverrides(t *testing.T) {
	objs := gatestest.Objects(t, strings.Replace(clusterManifests, "metadata: {name: web, namespace: shop}",
		"metadata: {name: web, namespace: shop, annotations: {stagegate.dev/waive: \"drift/drifted: replicas are scaled by hand during the sale (OPS-7)\"}}", 1))
	for _, tc := range []struct {
		name     string
		severity map[string]config.Severity
		report   *drift.Report
		outcome  Outcome
		summary  string
	}{
		{"a waived drifted object passes", nil, driftReport(webDrifted, cmInSync), Pass,
			"1 object drifted from env/prod: 1 drifted; 1 waived"},
		{"missing objects as warnings pass", map[string]config.Severity{"drift/missing": config.SeverityWarning}, driftReport(webInSync, cmMissing), Pass,
			"1 object drifted from env/prod: 1 missing; 1 warning"},
		{"an override that keeps an error fails with the gate's own summary", map[string]config.Severity{"drift/missing": config.SeverityWarning}, driftReport(cmMissing, svcExtra), Fail,
			"2 objects drifted from env/prod: 1 missing, 1 extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := prodEnv
			env.Cluster = &config.Cluster{}
			env.Gates = config.Gates{Drift: &config.DriftGate{GateCommon: config.GateCommon{Severity: tc.severity}}}
			s, err := For(env)
			if err != nil {
				t.Fatal(err)
			}
			r := s.Evaluate(Input{Env: env, Objects: objs, Now: forgeNow, Cluster: &ClusterFacts{Drift: tc.report}})[0]
			if r.Outcome != tc.outcome || r.Summary != tc.summary {
				t.Errorf("got %s %q, want %s %q", r.Outcome, r.Summary, tc.outcome, tc.summary)
			}
		})
	}
}

func TestClusterGatesCompile(t *testing.T) {
	p := config.Pipeline{Spec: config.Spec{Environments: []config.Environment{{Name: "prod", Cluster: &config.Cluster{}, Gates: config.Gates{
		Drift:  &config.DriftGate{GateCommon: config.GateCommon{Severity: map[string]config.Severity{"drift/drifted": config.SeverityWarning, "drift/nope": config.SeverityOff}}},
		DryRun: &config.DryRunGate{GateCommon: config.GateCommon{Severity: map[string]config.Severity{"dry-run/typo": config.SeverityOff}}},
	}}}}}
	var got []string
	for _, err := range Validate(p) {
		got = append(got, err.Error())
	}
	want := []string{
		"spec.environments[0].gates.dryRun.severity.dry-run/typo: no such check; the dry-run gate's checks are dry-run/admission, dry-run/immutable, dry-run/rejected, dry-run/schema",
		"spec.environments[0].gates.drift.severity.drift/nope: no such check; the drift gate's checks are drift/acknowledged, drift/drifted, drift/extra, drift/failed, drift/missing",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// `stagegate gate` has no cluster to ask: it skips the cluster gates along with the forge gates
// and names them.
func TestWithoutForgeSkipsClusterGates(t *testing.T) {
	s, err := For(config.Environment{Name: "prod", Cluster: &config.Cluster{}, Gates: config.Gates{
		Schema: &config.SchemaGate{}, Soak: &config.SoakGate{}, DryRun: &config.DryRunGate{}, Drift: &config.DriftGate{},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"schema", "soak", "dry-run", "drift"}, s.Gates()); diff != "" {
		t.Errorf("gates in order (-want +got):\n%s", diff)
	}
	rest, skipped := s.WithoutForge()
	if diff := cmp.Diff([]string{"schema"}, rest.Gates()); diff != "" {
		t.Errorf("gates run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"soak", "dry-run", "drift"}, skipped); diff != "" {
		t.Errorf("gates skipped (-want +got):\n%s", diff)
	}
}

func TestPointerPath(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"/spec/replicas": "spec.replicas",
		"/spec/template/spec/containers/name=web/image": "spec.template.spec.containers[name=web].image",
		"/spec/ports/0/port":                            "spec.ports[0].port",
		"/metadata/labels/app.kubernetes.io~1name":      `metadata.labels["app.kubernetes.io/name"]`,
		"/data/a~0b": `data["a~b"]`,
	} {
		if got := pointerPath(in); got != want {
			t.Errorf("pointerPath(%q) = %q, want %q", in, got, want)
		}
	}
}
