package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDriftIgnore(t *testing.T) {
	valid := pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: prod
      branch: env/prod
      path: overlays/prod
      cluster: {context: prod}
      drift:
        schedule: "@hourly"
        ignore:
          - {group: apps, kind: Deployment, name: "web-*", jsonPointers: [/spec/replicas]}
          - {managers: [kube-controller-manager]}
`)
	p, err := Parse(yamlDoc(valid), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []DriftIgnore{
		{Group: "apps", Kind: "Deployment", Name: "web-*", JSONPointers: []string{"/spec/replicas"}},
		{Managers: []string{"kube-controller-manager"}},
	}
	if d := cmp.Diff(want, p[0].Spec.Environments[0].Drift.Ignore); d != "" {
		t.Errorf("ignore (-want +got):\n%s", d)
	}

	invalid := pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: prod
      branch: env/prod
      path: overlays/prod
      cluster: {context: prod}
      drift:
        schedule: "@hourly"
        ignore:
          - {kind: Deployment}
          - {name: "web-[", jsonPointers: [spec/replicas, "/spec/[x"], managers: [""]}
`)
	_, err = Parse(yamlDoc(invalid), "stagegate.yaml")
	wantLines := []string{
		`stagegate.yaml:14: spec.environments[0].drift.ignore[0]: ignores nothing; add jsonPointers (like /spec/replicas) or managers (like kube-controller-manager)`,
		`stagegate.yaml:15: spec.environments[0].drift.ignore[1].name: bad glob "web-[" (syntax error in pattern); use * and ? and [a-z] as in shell patterns`,
		`stagegate.yaml:15: spec.environments[0].drift.ignore[1].jsonPointers[0]: "spec/replicas" is not a JSON pointer; start it with / as in /spec/replicas`,
		`stagegate.yaml:15: spec.environments[0].drift.ignore[1].jsonPointers[1]: bad glob in "/spec/[x" (syntax error in pattern)`,
		`stagegate.yaml:15: spec.environments[0].drift.ignore[1].managers[0]: "" is not a field manager name or glob; use a name from metadata.managedFields, like kube-controller-manager`,
	}
	if d := cmp.Diff(wantLines, problemLines(t, err)); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}
