package gates

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/render"
)

// Resource check IDs.
const (
	CheckCPURequest     = "resources/cpu-request"
	CheckMemoryRequest  = "resources/memory-request"
	CheckCPULimit       = "resources/cpu-limit"
	CheckMemoryLimit    = "resources/memory-limit"
	CheckCPUBudget      = "resources/cpu-budget"
	CheckMemoryBudget   = "resources/memory-budget"
	CheckReplicasBudget = "resources/replicas-budget"
	CheckMinReplicas    = "resources/min-replicas"
)

var resourcesChecks = []Check{
	{ID: CheckCPURequest, Severity: Error, Title: "Container has no CPU request",
		Why: "The scheduler places the pod as if it needed no CPU, so nodes get overcommitted and the pod is first to be starved.",
		Fix: "Set resources.requests.cpu to what the container uses under normal load."},
	{ID: CheckMemoryRequest, Severity: Error, Title: "Container has no memory request",
		Why: "The scheduler places the pod as if it needed no memory; under memory pressure it is among the first evicted.",
		Fix: "Set resources.requests.memory to the container's working set."},
	{ID: CheckCPULimit, Severity: Error, Title: "Container has no CPU limit",
		Why: "One busy container can take every core of its node from its neighbours.",
		Fix: "Set resources.limits.cpu, or turn the check off (severity: {resources/cpu-limit: off}) if you deliberately run without CPU limits."},
	{ID: CheckMemoryLimit, Severity: Error, Title: "Container has no memory limit",
		Why: "A leaking container grows until the node runs out of memory and the kernel kills whatever it picks.",
		Fix: "Set resources.limits.memory."},
	{ID: CheckCPUBudget, Severity: Error, Title: "Total CPU requests exceed the environment's budget",
		Why: "The environment would ask its cluster for more CPU than was planned for it.",
		Fix: "Lower requests or replicas, or raise resources.budget.cpu in the environment's config."},
	{ID: CheckMemoryBudget, Severity: Error, Title: "Total memory requests exceed the environment's budget",
		Why: "The environment would ask its cluster for more memory than was planned for it.",
		Fix: "Lower requests or replicas, or raise resources.budget.memory in the environment's config."},
	{ID: CheckReplicasBudget, Severity: Error, Title: "Total pods exceed the environment's budget",
		Why: "The environment would run more pods than was planned for it.",
		Fix: "Lower replicas (or HPA maxReplicas), or raise resources.budget.replicas."},
	{ID: CheckMinReplicas, Severity: Error, Title: "Workload runs fewer replicas than the environment requires",
		Why: "A single replica goes down with its node, on every rollout and every node drain.",
		Fix: "Set spec.replicas (or the HPA's minReplicas) to at least the environment's minReplicas."},
}

// resourcesGate checks container resources and the rendering's totals.
type resourcesGate struct {
	cpuBudget, memoryBudget *resource.Quantity
	replicasBudget          int64
	minReplicas             int64
}

func newResources(c config.ResourcesGate, path string) (Gate, []error) {
	g := &resourcesGate{minReplicas: int64(c.MinReplicas)}
	var errs []error
	if b := c.Budget; b != nil {
		g.replicasBudget = int64(b.Replicas)
		for _, f := range []struct {
			name, value string
			into        **resource.Quantity
		}{{"cpu", b.CPU, &g.cpuBudget}, {"memory", b.Memory, &g.memoryBudget}} {
			if f.value == "" {
				continue
			}
			q, err := resource.ParseQuantity(f.value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.budget.%s: want a quantity like \"8\" or \"16Gi\", got %q", path, f.name, f.value))
				continue
			}
			*f.into = &q
		}
	}
	return g, errs
}

func (*resourcesGate) Name() string    { return "resources" }
func (*resourcesGate) Checks() []Check { return resourcesChecks }

// usage is what one workload asks for in total.
type usage struct {
	ref               ObjectRef
	replicas          int64
	podCPU, podMemory int64 // per pod: millicores and bytes
}

func (g *resourcesGate) Evaluate(in Input) Result {
	var findings []Finding
	hpas := hpaTargets(in.Objects)
	needTotals := g.cpuBudget != nil || g.memoryBudget != nil || g.replicasBudget > 0
	var usages []usage
	for _, o := range in.Objects {
		spec, path, ok := PodSpec(o)
		if !ok {
			continue
		}
		ref := Ref(o)
		for _, c := range Containers(spec, path) {
			if c.Ephemeral {
				continue // ephemeral containers cannot have resources
			}
			findings = append(findings, containerFindings(ref, c)...)
		}
		replicas, fromHPA := workloadReplicas(o, hpas)
		if g.minReplicas > 0 && scalable[o.Kind()] && replicas.min < g.minReplicas {
			where := "spec.replicas"
			if fromHPA {
				where = "the HorizontalPodAutoscaler's minReplicas"
			}
			findings = append(findings, Finding{Check: CheckMinReplicas, Severity: Error, Object: ref, Path: "spec.replicas",
				Message: fmt.Sprintf("runs %d replica(s) (%s); this environment requires at least %d", replicas.min, where, g.minReplicas),
				Fix:     fmt.Sprintf("set %s to %d or more", where, g.minReplicas)})
		}
		if needTotals {
			cpu, mem := podRequests(spec)
			usages = append(usages, usage{ref: ref, replicas: replicas.max, podCPU: cpu, podMemory: mem})
		}
	}
	if needTotals {
		findings = append(findings, g.budgetFindings(usages)...)
	}
	return resultOf(findings)
}

// containerFindings reports the requests and limits a container leaves out.
func containerFindings(ref ObjectRef, c Container) []Finding {
	res, _ := c.Map["resources"].(map[string]any)
	requests, _ := res["requests"].(map[string]any)
	limits, _ := res["limits"].(map[string]any)
	name := c.Name
	if c.Init {
		name = "init container " + name
	} else {
		name = "container " + name
	}
	var out []Finding
	for _, want := range [...]struct {
		check, section, key string
		m                   map[string]any
	}{
		{CheckCPURequest, "requests", "cpu", requests},
		{CheckMemoryRequest, "requests", "memory", requests},
		{CheckCPULimit, "limits", "cpu", limits},
		{CheckMemoryLimit, "limits", "memory", limits},
	} {
		if _, set := want.m[want.key]; set {
			continue
		}
		out = append(out, Finding{Check: want.check, Severity: Error, Object: ref,
			Path:    c.Path + ".resources." + want.section + "." + want.key,
			Message: fmt.Sprintf("%s sets no %s %s", name, want.key, want.section[:len(want.section)-1]),
			Fix:     fmt.Sprintf("set resources.%s.%s", want.section, want.key)})
	}
	return out
}

// scalable kinds are the ones minReplicas applies to: DaemonSets run one per node, Jobs run to
// completion and bare Pods are one by definition.
var scalable = map[string]bool{"Deployment": true, "StatefulSet": true, "ReplicaSet": true, "ReplicationController": true}

// replicaRange is how many pods a workload runs: min for the minReplicas check, max for budgets.
type replicaRange struct{ min, max int64 }

// workloadReplicas is the pods a workload runs. An HPA in the rendering that targets it decides
// (its minReplicas, default 1, and maxReplicas); otherwise spec.replicas (default 1), a Job's
// parallelism, and one for a DaemonSet, whose real count depends on the cluster's nodes.
func workloadReplicas(o render.Object, hpas map[hpaKey]replicaRange) (replicaRange, bool) {
	if r, ok := hpas[hpaKey{o.Namespace(), o.Kind(), o.Name()}]; ok && scalable[o.Kind()] {
		return r, true
	}
	spec, _ := o.Content["spec"].(map[string]any)
	var n int64 = 1
	switch o.Kind() {
	case "PodTemplate":
		n = 0
	case "Job":
		n = intOr(spec["parallelism"], 1)
	case "CronJob":
		jt, _ := spec["jobTemplate"].(map[string]any)
		js, _ := jt["spec"].(map[string]any)
		n = intOr(js["parallelism"], 1)
	case "Deployment", "StatefulSet", "ReplicaSet", "ReplicationController":
		n = intOr(spec["replicas"], 1)
	}
	return replicaRange{n, n}, false
}

type hpaKey struct{ namespace, kind, name string }

// hpaTargets maps the workloads HPAs in the rendering scale to the HPA's replica range.
func hpaTargets(objs render.Objects) map[hpaKey]replicaRange {
	var out map[hpaKey]replicaRange
	for _, o := range objs {
		if o.Kind() != "HorizontalPodAutoscaler" {
			continue
		}
		spec, _ := o.Content["spec"].(map[string]any)
		target, _ := spec["scaleTargetRef"].(map[string]any)
		kind, _ := target["kind"].(string)
		name, _ := target["name"].(string)
		if out == nil {
			out = map[hpaKey]replicaRange{}
		}
		lo := intOr(spec["minReplicas"], 1)
		out[hpaKey{o.Namespace(), kind, name}] = replicaRange{lo, intOr(spec["maxReplicas"], lo)}
	}
	return out
}

func intOr(v any, def int64) int64 {
	if n, ok := integer(v); ok {
		return n
	}
	return def
}

// podRequests is what the scheduler reserves for one pod: the larger of the app containers plus
// sidecars (restartable init containers) and the largest ordinary init container, which runs
// alone before them. Pod overhead is not counted. A missing request counts as its limit, as the
// API server defaults it.
func podRequests(spec map[string]any) (cpuMilli, memBytes int64) {
	var appCPU, appMem, initCPU, initMem int64
	for _, field := range [...]string{"containers", "initContainers"} {
		list, _ := spec[field].([]any)
		for _, item := range list {
			c, _ := item.(map[string]any)
			cpu, mem := containerRequests(c)
			policy, _ := c["restartPolicy"].(string)
			if field == "containers" || policy == "Always" {
				appCPU += cpu
				appMem += mem
				continue
			}
			initCPU = max(initCPU, cpu)
			initMem = max(initMem, mem)
		}
	}
	return max(appCPU, initCPU), max(appMem, initMem)
}

func containerRequests(c map[string]any) (cpuMilli, memBytes int64) {
	res, _ := c["resources"].(map[string]any)
	requests, _ := res["requests"].(map[string]any)
	limits, _ := res["limits"].(map[string]any)
	get := func(key string) *resource.Quantity {
		v, ok := requests[key]
		if !ok {
			v = limits[key]
		}
		return quantity(v)
	}
	if q := get("cpu"); q != nil {
		cpuMilli = q.MilliValue()
	}
	if q := get("memory"); q != nil {
		memBytes = q.Value()
	}
	return cpuMilli, memBytes
}

// quantity reads a quantity from a decoded value; nil when absent or malformed (the schema gate
// reports malformed ones).
func quantity(v any) *resource.Quantity {
	switch x := v.(type) {
	case string:
		q, err := resource.ParseQuantity(x)
		if err != nil {
			return nil
		}
		return &q
	case int64:
		return resource.NewQuantity(x, resource.DecimalSI)
	case float64:
		return resource.NewMilliQuantity(int64(x*1000), resource.DecimalSI)
	}
	return nil
}

// budgetFindings compares the totals with the budget. A finding about the whole rendering is
// attached to its largest contributor, so reports can point at a file and a reviewer sees where
// to cut first.
func (g *resourcesGate) budgetFindings(usages []usage) []Finding {
	var out []Finding
	check := func(id, what string, budget int64, format func(int64) string, amount func(u usage) int64, budgetField string) {
		var total, most int64
		var largest usage
		for _, u := range usages {
			a := amount(u)
			total += a
			if a > most {
				most, largest = a, u
			}
		}
		if total <= budget {
			return
		}
		out = append(out, Finding{Check: id, Severity: Error, Object: largest.ref,
			Message: fmt.Sprintf("the rendering's total %s is %s, over the budget of %s; largest: %s with %s (%d replica(s))",
				what, format(total), format(budget), largest.ref, format(most), largest.replicas),
			Fix: fmt.Sprintf("lower requests or replicas, or raise resources.budget.%s", budgetField)})
	}
	if g.cpuBudget != nil {
		check(CheckCPUBudget, "CPU request", g.cpuBudget.MilliValue(), formatMilliCPU, func(u usage) int64 { return u.replicas * u.podCPU }, "cpu")
	}
	if g.memoryBudget != nil {
		check(CheckMemoryBudget, "memory request", g.memoryBudget.Value(), formatBytes, func(u usage) int64 { return u.replicas * u.podMemory }, "memory")
	}
	if g.replicasBudget > 0 {
		check(CheckReplicasBudget, "number of pods", g.replicasBudget, func(n int64) string { return fmt.Sprint(n) }, func(u usage) int64 { return u.replicas }, "replicas")
	}
	return out
}

func formatMilliCPU(m int64) string { return resource.NewMilliQuantity(m, resource.DecimalSI).String() }
func formatBytes(b int64) string    { return resource.NewQuantity(b, resource.BinarySI).String() }
