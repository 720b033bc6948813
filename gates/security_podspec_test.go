package gates

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stagegate-dev/stagegate/render"
	"sigs.k8s.io/yaml"
)

// secObject decodes one YAML manifest the way render does.
func secObject(t testing.TB, manifest string) render.Object {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &m); err != nil {
		t.Fatalf("bad fixture: %v\n%s", err, manifest)
	}
	return render.Object{Content: m, Source: "test.yaml"}
}

func TestPodSpecFindsEachWorkloadKind(t *testing.T) {
	pod := `{containers: [{name: a}]}`
	for _, tc := range []struct {
		manifest string
		wantPath string
	}{
		{`{kind: Pod, spec: ` + pod + `}`, "spec"},
		{`{kind: PodTemplate, template: {spec: ` + pod + `}}`, "template.spec"},
		{`{kind: Deployment, spec: {template: {spec: ` + pod + `}}}`, "spec.template.spec"},
		{`{kind: StatefulSet, spec: {template: {spec: ` + pod + `}}}`, "spec.template.spec"},
		{`{kind: DaemonSet, spec: {template: {spec: ` + pod + `}}}`, "spec.template.spec"},
		{`{kind: ReplicaSet, spec: {template: {spec: ` + pod + `}}}`, "spec.template.spec"},
		{`{kind: ReplicationController, spec: {template: {spec: ` + pod + `}}}`, "spec.template.spec"},
		{`{kind: Job, spec: {template: {spec: ` + pod + `}}}`, "spec.template.spec"},
		{`{kind: CronJob, spec: {jobTemplate: {spec: {template: {spec: ` + pod + `}}}}}`, "spec.jobTemplate.spec.template.spec"},
	} {
		o := secObject(t, tc.manifest)
		spec, path, ok := PodSpec(o)
		if !ok || path != tc.wantPath {
			t.Errorf("%s: PodSpec = %q, %v; want %q, true", o.Kind(), path, ok, tc.wantPath)
			continue
		}
		if cs := Containers(spec, path); len(cs) != 1 || cs[0].Name != "a" {
			t.Errorf("%s: containers = %+v, want one named a", o.Kind(), cs)
		}
	}
}

func TestPodSpecRejectsOtherKindsAndMissingSpecs(t *testing.T) {
	for _, manifest := range []string{
		`{kind: Service, spec: {template: {spec: {containers: []}}}}`,
		`{kind: Deployment, spec: {replicas: 1}}`,
		`{kind: CronJob, spec: {jobTemplate: {spec: {}}}}`,
		`{kind: Pod}`,
	} {
		if _, path, ok := PodSpec(secObject(t, manifest)); ok {
			t.Errorf("%s: PodSpec found %q, want none", manifest, path)
		}
	}
}

func TestContainersListsInitRegularAndEphemeralWithPaths(t *testing.T) {
	o := secObject(t, `
kind: Deployment
spec:
  template:
    metadata: {annotations: {a: b}}
    spec:
      containers: [{name: web}, {name: sidecar}]
      initContainers: [{name: migrate}, not-a-map]
      ephemeralContainers: [{name: debug}]
`)
	spec, path, _ := PodSpec(o)
	var got []Container
	for _, c := range Containers(spec, path) {
		c.Map = nil
		got = append(got, c)
	}
	want := []Container{
		{Path: "spec.template.spec.initContainers[0]", Name: "migrate", Init: true},
		{Path: "spec.template.spec.containers[0]", Name: "web"},
		{Path: "spec.template.spec.containers[1]", Name: "sidecar"},
		{Path: "spec.template.spec.ephemeralContainers[0]", Name: "debug", Ephemeral: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Containers (-want +got):\n%s", diff)
	}
	if m := PodMeta(o); m == nil || m["annotations"] == nil {
		t.Errorf("PodMeta = %v, want the template's metadata", m)
	}
}
