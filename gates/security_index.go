package gates

import "github.com/stagegate-dev/stagegate/render"

// securityIndex holds what checks of one object need to know about the others: whether a
// pod's ServiceAccount exists and turns off token automounting, which roles grant everything,
// which pods a Service or PodDisruptionBudget selects, and which custom kinds are namespaced.
type securityIndex struct {
	// serviceAccounts maps "namespace/name" to the ServiceAccount's automountServiceAccountToken
	// (true when unset).
	serviceAccounts map[string]bool
	// adminRoles holds "Kind namespace/name" of Roles and ClusterRoles (namespace empty) whose
	// rules grant every verb on every resource in every group.
	adminRoles map[string]bool
	// pods lists the pod templates of the rendering; podsByLabel indexes them by
	// "namespace/key=value" of each label, so that selectors are matched against candidates
	// only (a rendering of thousands of Services and workloads stays linear).
	pods        []secPodTemplate
	podsByLabel map[string][]int
	// crdScopes maps a custom kind to whether it is namespaced, from CRDs in the rendering.
	crdScopes map[string]bool
}

// secPodTemplate is what selectors are matched against.
type secPodTemplate struct {
	namespace string
	labels    map[string]any
	replicas  int64
}

func newSecurityIndex(objs render.Objects) *securityIndex {
	idx := &securityIndex{}
	for _, o := range objs {
		c := o.Content
		kind, _ := c["kind"].(string)
		switch kind {
		case "ServiceAccount":
			if idx.serviceAccounts == nil {
				idx.serviceAccounts = map[string]bool{}
			}
			am, set := secBool(c, "automountServiceAccountToken")
			idx.serviceAccounts[o.Namespace()+"/"+o.Name()] = am || !set
		case "Role", "ClusterRole":
			if secGrantsEverything(c) {
				if idx.adminRoles == nil {
					idx.adminRoles = map[string]bool{}
				}
				ns := o.Namespace()
				if kind == "ClusterRole" {
					ns = ""
				}
				idx.adminRoles[kind+" "+ns+"/"+o.Name()] = true
			}
		case "CustomResourceDefinition":
			spec := secMap(c, "spec")
			k := secStr(secMap(spec, "names"), "kind")
			if k != "" {
				if idx.crdScopes == nil {
					idx.crdScopes = map[string]bool{}
				}
				idx.crdScopes[k] = secStr(spec, "scope") != "Cluster"
			}
		default:
			if _, _, ok := PodSpec(o); ok {
				replicas := int64(1)
				if r, set := secInt(secMap(c, "spec"), "replicas"); set {
					replicas = r
				}
				labels := secMap(PodMeta(o), "labels")
				ns := o.Namespace()
				if idx.podsByLabel == nil {
					idx.podsByLabel = map[string][]int{}
				}
				for k, v := range labels {
					s, _ := v.(string)
					key := secLabelKey(ns, k, s)
					idx.podsByLabel[key] = append(idx.podsByLabel[key], len(idx.pods))
				}
				idx.pods = append(idx.pods, secPodTemplate{namespace: ns, labels: labels, replicas: replicas})
			}
		}
	}
	return idx
}

func secLabelKey(ns, k, v string) string { return ns + "/" + k + "=" + v }

// podsMatching calls match on the pod templates in namespace ns that carry the label k=v, and
// reports whether any returned true.
func (idx *securityIndex) podsMatching(ns, k, v string, match func(p secPodTemplate) bool) bool {
	for _, i := range idx.podsByLabel[secLabelKey(ns, k, v)] {
		if match(idx.pods[i]) {
			return true
		}
	}
	return false
}

// secGrantsEverything reports whether a role has a rule with * verbs on * resources in * groups.
func secGrantsEverything(role map[string]any) bool {
	for _, r := range secList(role, "rules") {
		rule, _ := r.(map[string]any)
		if secHas(rule, "verbs", "*") && secHas(rule, "resources", "*") && secHas(rule, "apiGroups", "*") {
			return true
		}
	}
	return false
}

// secLabelsMatch reports whether every key of a Service-style selector has the same value in labels.
// An empty selector matches nothing here: a Service without one selects no pods.
func secLabelsMatch(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// secSelectorMatches evaluates a metav1.LabelSelector (matchLabels and matchExpressions) against
// labels. An empty selector matches everything, as in the API.
func secSelectorMatches(sel, labels map[string]any) bool {
	for k, v := range secMap(sel, "matchLabels") {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	for _, x := range secList(sel, "matchExpressions") {
		expr, _ := x.(map[string]any)
		key := secStr(expr, "key")
		lv, has := labels[key].(string)
		values := secStrings(expr, "values")
		switch secStr(expr, "operator") {
		case "In":
			if !has || !secContains(values, lv) {
				return false
			}
		case "NotIn":
			if has && secContains(values, lv) {
				return false
			}
		case "Exists":
			if !has {
				return false
			}
		case "DoesNotExist":
			if has {
				return false
			}
		}
	}
	return true
}

// secNamespacedKinds are the built-in kinds that live in a namespace. Kinds neither here nor in
// clusterKinds nor defined by a CRD in the rendering are not judged by default-namespace.
var secNamespacedKinds = map[string]bool{
	"Pod": true, "PodTemplate": true, "ReplicationController": true, "Service": true,
	"Endpoints": true, "EndpointSlice": true, "ConfigMap": true, "Secret": true,
	"ServiceAccount": true, "PersistentVolumeClaim": true, "LimitRange": true,
	"ResourceQuota": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true,
	"ReplicaSet": true, "ControllerRevision": true, "Job": true, "CronJob": true,
	"HorizontalPodAutoscaler": true, "Ingress": true, "NetworkPolicy": true,
	"PodDisruptionBudget": true, "Role": true, "RoleBinding": true, "Lease": true,
	"CSIStorageCapacity": true, "ResourceClaim": true, "ResourceClaimTemplate": true,
}

// namespacedKind reports whether kind is namespaced, and whether that is known.
func (idx *securityIndex) namespacedKind(kind string) (namespaced, known bool) {
	if secNamespacedKinds[kind] {
		return true, true
	}
	namespaced, known = idx.crdScopes[kind]
	return namespaced, known
}
