package gates

import (
	"strconv"

	"github.com/stagegate-dev/stagegate/render"
)

// Pod specs sit at a different depth in each workload kind. PodSpec and Containers find them by
// walking the decoded maps directly: gates run on every object of every promotion, and decoding
// into k8s.io/api types per object would cost more than all the checks together.

// podSpecPaths maps each workload kind to the path of its pod spec, as map keys and as the
// field path findings report.
var podSpecPaths = map[string]struct {
	keys []string
	path string
}{
	"Pod":                   {[]string{"spec"}, "spec"},
	"PodTemplate":           {[]string{"template", "spec"}, "template.spec"},
	"Deployment":            {[]string{"spec", "template", "spec"}, "spec.template.spec"},
	"StatefulSet":           {[]string{"spec", "template", "spec"}, "spec.template.spec"},
	"DaemonSet":             {[]string{"spec", "template", "spec"}, "spec.template.spec"},
	"ReplicaSet":            {[]string{"spec", "template", "spec"}, "spec.template.spec"},
	"ReplicationController": {[]string{"spec", "template", "spec"}, "spec.template.spec"},
	"Job":                   {[]string{"spec", "template", "spec"}, "spec.template.spec"},
	"CronJob":               {[]string{"spec", "jobTemplate", "spec", "template", "spec"}, "spec.jobTemplate.spec.template.spec"},
}

// PodSpec returns the pod spec of a workload object (Pod, PodTemplate, Deployment, StatefulSet,
// DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) and its field path
// ("spec.template.spec"). ok is false for other kinds and for workloads without a pod spec.
// The API group is not checked: kinds with these names in other groups are rare, and the old
// extensions/v1beta1 and apps/v1beta2 workloads have the same shape.
func PodSpec(o render.Object) (spec map[string]any, path string, ok bool) {
	kind, _ := o.Content["kind"].(string)
	p, found := podSpecPaths[kind]
	if !found {
		return nil, "", false
	}
	m := o.Content
	for _, k := range p.keys {
		m, _ = m[k].(map[string]any)
		if m == nil {
			return nil, "", false
		}
	}
	return m, p.path, true
}

// PodMeta returns the metadata of the pod a workload creates (the template's metadata, or the
// Pod's own), where pod-level annotations such as AppArmor and seccomp live. Nil when absent.
func PodMeta(o render.Object) map[string]any {
	kind, _ := o.Content["kind"].(string)
	p, found := podSpecPaths[kind]
	if !found {
		return nil
	}
	m := o.Content
	for _, k := range p.keys[:len(p.keys)-1] {
		m, _ = m[k].(map[string]any)
		if m == nil {
			return nil
		}
	}
	meta, _ := m["metadata"].(map[string]any)
	return meta
}

// containerFields are the pod spec fields holding containers, in the order Containers lists them.
var containerFields = [...]string{"initContainers", "containers", "ephemeralContainers"}

// Container is one container of a pod spec.
type Container struct {
	// Map is the container as decoded ({"name": "web", "image": "..."}).
	Map map[string]any
	// Path is its field path ("spec.template.spec.containers[0]").
	Path string
	// Name is the container's name ("" when unset).
	Name string
	// Init is true for init containers, including restartable ("sidecar") init containers.
	Init bool
	// Ephemeral is true for ephemeral (debug) containers.
	Ephemeral bool
}

// Containers lists the containers of a pod spec: init containers, then regular containers, then
// ephemeral containers, each in spec order. path is the pod spec's field path as PodSpec returns
// it. Entries that are not maps are skipped.
func Containers(spec map[string]any, path string) []Container {
	var lists [len(containerFields)][]any
	n := 0
	for i, f := range containerFields {
		lists[i], _ = spec[f].([]any)
		n += len(lists[i])
	}
	if n == 0 {
		return nil
	}
	out := make([]Container, 0, n)
	for li, f := range containerFields {
		prefix := path + "." + f + "["
		for i, v := range lists[li] {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			name, _ := m["name"].(string)
			out = append(out, Container{
				Map: m, Path: prefix + strconv.Itoa(i) + "]", Name: name,
				Init: li == 0, Ephemeral: li == 2,
			})
		}
	}
	return out
}
