package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRollback(t *testing.T) {
	valid := pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: staging, branch: env/staging, path: overlays/staging}
    - name: prod
      branch: env/prod
      path: overlays/prod
      rollback:
        auto: true
        approvals: 1
        gates: {schema: {}}
`)
	p, err := Parse(yamlDoc(valid), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Rollback{Auto: true, Approvals: 1, Gates: Gates{Schema: &SchemaGate{}}}
	if d := cmp.Diff(want, p[0].Spec.Environments[1].Rollback); d != "" {
		t.Errorf("rollback (-want +got):\n%s", d)
	}
	if p[0].Spec.Environments[0].Rollback != nil {
		t.Error("an environment without a rollback block got one")
	}

	invalid := pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: staging
      branch: env/staging
      path: overlays/staging
      rollback: {}
    - name: prod
      branch: env/prod
      path: overlays/prod
      rollback:
        approvals: -1
        gates: {dryRun: {}}
`)
	_, err = Parse(yamlDoc(invalid), "stagegate.yaml")
	wantLines := []string{
		`stagegate.yaml:10: spec.environments[0].rollback: not allowed on the first environment, which receives changes by ordinary pull requests; roll it back with one`,
		`stagegate.yaml:15: spec.environments[1].rollback.approvals: must be 0 or more`,
		`stagegate.yaml:16: spec.environments[1].rollback.gates.dryRun: needs a cluster to ask; add cluster (kubeconfig, context) to environment prod or remove rollback.gates.dryRun`,
	}
	if d := cmp.Diff(wantLines, problemLines(t, err)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}
