package gates

import (
	"sort"
	"strconv"
	"strings"
)

// Checks of objects other than workloads: RBAC, Services, PodDisruptionBudgets, namespaces.

func (e *secEval) role() {
	for i, r := range secList(e.obj.Content, "rules") {
		rule, _ := r.(map[string]any)
		p := "rules[" + strconv.Itoa(i) + "]"
		anyVerb := secHas(rule, "verbs", "*")
		if anyVerb {
			e.add(checkRBACWildcard, p+".verbs", "rule "+strconv.Itoa(i)+" grants every verb (*)")
		}
		if secHas(rule, "resources", "*") {
			e.add(checkRBACWildcard, p+".resources", "rule "+strconv.Itoa(i)+" grants every resource (*)")
		}
		if !(secHas(rule, "apiGroups", "") || secHas(rule, "apiGroups", "*")) {
			continue
		}
		if !(anyVerb || secHas(rule, "verbs", "create") || secHas(rule, "verbs", "get")) {
			continue
		}
		for _, res := range [...]string{"pods/exec", "pods/attach"} {
			if secHas(rule, "resources", res) {
				e.add(checkPodExecAttach, p+".resources", "rule "+strconv.Itoa(i)+" allows "+res)
			}
		}
	}
}

// builtinExecRoles are the default ClusterRoles that allow pods/exec.
var builtinExecRoles = map[string]bool{"admin": true, "edit": true}

func (e *secEval) binding(kind string) {
	ref := secMap(e.obj.Content, "roleRef")
	refKind, refName := secStr(ref, "kind"), secStr(ref, "name")
	ns := e.obj.Namespace()
	if refKind == "ClusterRole" {
		ns = ""
	}
	switch {
	case refKind == "ClusterRole" && refName == "cluster-admin":
		e.add(checkClusterAdminBinding, "roleRef.name", kind+" grants cluster-admin to "+secSubjects(e.obj.Content))
	case e.idx.adminRoles[refKind+" "+ns+"/"+refName]:
		e.add(checkClusterAdminBinding, "roleRef.name", kind+" grants "+refKind+" "+refName+", which allows every verb on every resource, to "+secSubjects(e.obj.Content))
	case refKind == "ClusterRole" && builtinExecRoles[refName]:
		e.add(checkPodExecAttach, "roleRef.name", kind+" grants the built-in ClusterRole "+refName+", which allows pods/exec, to "+secSubjects(e.obj.Content))
	}
}

// secSubjects lists a binding's subjects for messages: "ServiceAccount shop/web, Group ops".
func secSubjects(binding map[string]any) string {
	var out []string
	for _, s := range secList(binding, "subjects") {
		sub, _ := s.(map[string]any)
		n := secStr(sub, "name")
		if ns := secStr(sub, "namespace"); ns != "" {
			n = ns + "/" + n
		}
		out = append(out, secStr(sub, "kind")+" "+n)
	}
	if len(out) == 0 {
		return "no subjects"
	}
	return strings.Join(out, ", ")
}

func (e *secEval) service() {
	spec := secMap(e.obj.Content, "spec")
	t := secStr(spec, "type")
	if !e.gate.serviceTypes[t] {
		e.add(checkServiceType, "spec.type", "Service has type "+t+", which this environment does not allow")
	}
	for i, v := range secList(spec, "ports") {
		port, _ := v.(map[string]any)
		if tp, ok := port["targetPort"].(string); ok && !secValidPortName(tp) {
			if _, err := strconv.Atoi(tp); err != nil {
				e.add(checkInvalidPortName, secIndex("spec.ports", i)+".targetPort", "Service targets port "+strconv.Quote(tp)+", which is not a valid IANA service name")
			}
		}
	}
	sel := secMap(spec, "selector")
	if len(sel) == 0 || t == "ExternalName" {
		return
	}
	ns := e.obj.Namespace()
	// Every pod the selector matches carries its first pair; look only at those.
	k, v := secFirstPair(sel)
	if e.idx.podsMatching(ns, k, v, func(p secPodTemplate) bool { return secLabelsMatch(sel, p.labels) }) {
		return
	}
	e.add(checkDanglingService, "spec.selector", "Service selector "+secSelectorString(sel)+" matches no pod template in namespace "+strconv.Quote(ns))
}

func secSelectorString(sel map[string]any) string {
	parts := make([]string, 0, len(sel))
	for k, v := range sel {
		s, _ := v.(string)
		parts = append(parts, k+"="+s)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (e *secEval) pdb() {
	spec := secMap(e.obj.Content, "spec")
	if _, set := spec["unhealthyPodEvictionPolicy"]; !set {
		e.add(checkPDBUnhealthyPodEviction, "spec.unhealthyPodEvictionPolicy", "PodDisruptionBudget does not set unhealthyPodEvictionPolicy")
	}
	switch v := spec["maxUnavailable"].(type) {
	case string:
		if strings.TrimSuffix(v, "%") == "0" {
			e.add(checkPDBBlocksEviction, "spec.maxUnavailable", "maxUnavailable is "+v+": no pod may ever be evicted")
		}
	case int64, int, float64:
		if n, _ := secInt(spec, "maxUnavailable"); n == 0 {
			e.add(checkPDBBlocksEviction, "spec.maxUnavailable", "maxUnavailable is 0: no pod may ever be evicted")
		}
	}
	switch v := spec["minAvailable"].(type) {
	case string:
		if v == "100%" {
			e.add(checkPDBBlocksEviction, "spec.minAvailable", "minAvailable is 100%: no pod may ever be evicted")
		}
	case int64, int, float64:
		min, _ := secInt(spec, "minAvailable")
		sel := secMap(spec, "selector")
		lk, lv := secFirstPair(secMap(sel, "matchLabels"))
		if lk == "" {
			return // a selector of expressions only: not matched here
		}
		var blocked int64
		e.idx.podsMatching(e.obj.Namespace(), lk, lv, func(p secPodTemplate) bool {
			if secSelectorMatches(sel, p.labels) && min >= p.replicas {
				blocked = p.replicas
				return true
			}
			return false
		})
		if blocked > 0 {
			e.add(checkPDBBlocksEviction, "spec.minAvailable",
				"minAvailable is "+strconv.FormatInt(min, 10)+" but the workload it selects runs "+strconv.FormatInt(blocked, 10)+" replica(s): no pod may ever be evicted")
		}
	}
}

// secFirstPair returns the smallest key of a label map and its value ("" when empty), so that
// the choice does not depend on map order.
func secFirstPair(m map[string]any) (string, string) {
	first := ""
	for k := range m {
		if first == "" || k < first {
			first = k
		}
	}
	v, _ := m[first].(string)
	return first, v
}

// namespace fails namespaced objects left in the default namespace.
func (e *secEval) namespace(kind string) {
	namespaced, known := e.idx.namespacedKind(kind)
	if !known || !namespaced {
		return
	}
	switch ns := e.obj.Namespace(); ns {
	case "":
		e.add(checkDefaultNamespace, "metadata.namespace", kind+" has no namespace, so it lands in the default namespace (or whichever the applier's context names)")
	case "default":
		e.add(checkDefaultNamespace, "metadata.namespace", kind+" is in the default namespace")
	}
}
