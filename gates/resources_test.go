package gates

import (
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

// workload is a Deployment with one init container and one container, both fully resourced.
const workload = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      initContainers:
      - {name: migrate, image: m, resources: {requests: {cpu: "2", memory: 1Gi}, limits: {cpu: "2", memory: 1Gi}}}
      containers:
      - {name: web, image: w, resources: {requests: {cpu: 500m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}}
`

func TestResourcesChecks(t *testing.T) {
	hpa := "\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: shop}\nspec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 1, maxReplicas: 10}\n"
	for _, tc := range []struct {
		name     string
		opts     config.ResourcesGate
		manifest string
		want     []string // "check path"
	}{
		{"a fully resourced workload passes", config.ResourcesGate{}, workload, nil},
		{"a container without requests", config.ResourcesGate{}, strings.Replace(workload, "requests: {cpu: 500m, memory: 256Mi}, ", "", 1), []string{
			"resources/cpu-request spec.template.spec.containers[0].resources.requests.cpu",
			"resources/memory-request spec.template.spec.containers[0].resources.requests.memory"}},
		{"an init container without limits", config.ResourcesGate{}, strings.Replace(workload, `, limits: {cpu: "2", memory: 1Gi}`, "", 1), []string{
			"resources/cpu-limit spec.template.spec.initContainers[0].resources.limits.cpu",
			"resources/memory-limit spec.template.spec.initContainers[0].resources.limits.memory"}},
		{"within budget: 3 × max(2, 0.5) CPU = 6", config.ResourcesGate{Budget: &config.Budget{CPU: "6", Memory: "3Gi", Replicas: 3}}, workload, nil},
		{"over every budget", config.ResourcesGate{Budget: &config.Budget{CPU: "5900m", Memory: "2Gi", Replicas: 2}}, workload, []string{
			"resources/cpu-budget ", "resources/memory-budget ", "resources/replicas-budget "}},
		{"an HPA's maxReplicas counts against the budget", config.ResourcesGate{Budget: &config.Budget{Replicas: 9}}, workload + hpa, []string{"resources/replicas-budget "}},
		{"enough replicas", config.ResourcesGate{MinReplicas: 3}, workload, nil},
		{"too few replicas", config.ResourcesGate{MinReplicas: 4}, workload, []string{"resources/min-replicas spec.replicas"}},
		{"an HPA's minReplicas decides", config.ResourcesGate{MinReplicas: 2}, workload + hpa, []string{"resources/min-replicas spec.replicas"}},
		{"unset replicas count as one", config.ResourcesGate{MinReplicas: 2}, strings.Replace(workload, "  replicas: 3\n", "", 1), []string{"resources/min-replicas spec.replicas"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, errs := newResources(tc.opts, "gates.resources")
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			res := g.Evaluate(Input{Objects: gatestest.Objects(t, tc.manifest)})
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Check+" "+f.Path)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if (len(tc.want) > 0) != (res.Outcome == Fail) {
				t.Errorf("outcome %s with %d findings", res.Outcome, len(res.Findings))
			}
		})
	}
}

func TestResourcesBudgetNamesTheLargestWorkload(t *testing.T) {
	small := strings.NewReplacer("name: web,", "name: small,", "replicas: 3", "replicas: 1").Replace(workload)
	g, _ := newResources(config.ResourcesGate{Budget: &config.Budget{CPU: "1"}}, "gates.resources")
	res := g.Evaluate(Input{Objects: gatestest.Objects(t, small+"---\n"+workload)})
	if len(res.Findings) != 1 || res.Findings[0].Object.Name != "web" || !strings.Contains(res.Findings[0].Message, "is 8, over the budget of 1") {
		t.Errorf("findings %+v; want one on web, the largest, with the total 8 (3×2 + 1×2)", res.Findings)
	}
}
