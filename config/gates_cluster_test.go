package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseClusterGates(t *testing.T) {
	ps, err := Parse(yamlDoc(validBase+`      cluster: {context: prod}
      gates:
        drift: {}
        dryRun: {severity: {dry-run/admission: warning}}
`), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Gates{
		Drift:  &DriftGate{},
		DryRun: &DryRunGate{GateCommon{Severity: map[string]Severity{"dry-run/admission": SeverityWarning}}},
	}
	if diff := cmp.Diff(want, ps[0].Spec.Environments[1].Gates); diff != "" {
		t.Errorf("gates (-want +got):\n%s", diff)
	}
}

func TestParseReportsClusterGateProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "an environment without a cluster cannot run the cluster gates",
			yaml: validBase + `      gates:
        drift: {}
        dryRun: {}
`,
			want: []string{
				`stagegate.yaml:15: spec.environments[1].gates.drift: needs a cluster to ask; add cluster (kubeconfig, context) to environment prod or remove gates.drift`,
				`stagegate.yaml:16: spec.environments[1].gates.dryRun: needs a cluster to ask; add cluster (kubeconfig, context) to environment prod or remove gates.dryRun`,
			},
		},
		{
			name: "overrides name the gate's own checks, at the config key's path",
			yaml: validBase + `      cluster: {}
      gates:
        drift: {severity: {dry-run/schema: off}}
        dryRun: {severity: {dry-run/immutable: fatal}}
`,
			want: []string{
				`stagegate.yaml:16: spec.environments[1].gates.drift.severity.dry-run/schema: check IDs in drift.severity start with "drift/" (or "waiver/")`,
				`stagegate.yaml:17: spec.environments[1].gates.dryRun.severity.dry-run/immutable: want error, warning, info or off, got "fatal"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(yamlDoc(tt.yaml), "stagegate.yaml")
			if diff := cmp.Diff(tt.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
