package gates

import (
	"testing"

	"k8s.io/client-go/kubernetes/scheme"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

func TestAPIsChecks(t *testing.T) {
	for _, tc := range []struct {
		name, manifest, version string
		failOnDeprecated        bool
		want                    string // "" or "check severity"
	}{
		{"apps/v1 is fine", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n", "1.33", false, ""},
		{"a removed version fails", "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: a}\n", "1.25", false, "apis/removed error"},
		{"the same version before its removal is deprecated", "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: a}\n", "1.24", false, "apis/deprecated warning"},
		{"deprecations can fail", "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: a}\n", "1.24", true, "apis/deprecated error"},
		{"before its deprecation it passes", "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: a}\n", "1.20", false, ""},
		{"1.32 removed flowcontrol v1beta3", "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata: {name: a}\n", "v1.32.1", false, "apis/removed error"},
		{"no version given assumes the newest", "apiVersion: networking.k8s.io/v1beta1\nkind: ServiceCIDR\nmetadata: {name: a}\n", "", false, "apis/removed error"},
		{"Endpoints is deprecated from 1.33", "apiVersion: v1\nkind: Endpoints\nmetadata: {name: a}\n", "1.33", false, "apis/deprecated warning"},
		{"PodSecurityPolicy is gone", "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: a}\n", "1.30", false, "apis/removed error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newAPIs(config.APIsGate{KubernetesVersion: tc.version, FailOnDeprecated: tc.failOnDeprecated})
			res := g.Evaluate(Input{Objects: gatestest.Objects(t, tc.manifest)})
			got := ""
			if len(res.Findings) > 0 {
				got = res.Findings[0].Check + " " + string(res.Findings[0].Severity)
				if res.Findings[0].Fix == "" {
					t.Error("finding names no fix")
				}
			}
			if got != tc.want || len(res.Findings) > 1 {
				t.Errorf("findings %+v, want %q", res.Findings, tc.want)
			}
		})
	}
}

// TestAPIsTableAgreesWithLifecycleMarkers checks the table against the prerelease-lifecycle
// markers compiled into k8s.io/api, for every kind both know.
func TestAPIsTableAgreesWithLifecycleMarkers(t *testing.T) {
	type lifecycle interface {
		APILifecycleRemoved() (int, int)
		APILifecycleDeprecated() (int, int)
	}
	checked := 0
	for gvk := range scheme.Scheme.AllKnownTypes() {
		entry, ok := apiLifecycle[apiKey{gvk.GroupVersion().String(), gvk.Kind}]
		if !ok {
			continue
		}
		obj, _ := scheme.Scheme.New(gvk)
		lc, ok := obj.(lifecycle)
		if !ok {
			continue
		}
		if _, minor := lc.APILifecycleRemoved(); minor != entry.removed {
			t.Errorf("%s: table says removed in 1.%d, k8s.io/api says 1.%d", gvk, entry.removed, minor)
		}
		checked++
	}
	if checked < 40 {
		t.Errorf("only %d table entries checked against k8s.io/api; the lookup is broken", checked)
	}
}
