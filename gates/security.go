package gates

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/render"
)

// Security is the security gate: privileged or escalating containers, host namespaces and
// paths, dangerous capabilities, root users, mutable or unpinned images, plain-text secrets,
// wildcard RBAC and the rest of kube-linter's default checks and Polaris's danger-level checks
// that can be judged from manifests alone. docs/security-checks.md documents every check.
//
// The gate reports every finding at its default severity; severity overrides and waivers are
// applied by the gate runner afterwards, the same way for every gate.
type Security struct {
	opts         config.SecurityGate
	serviceTypes map[string]bool
	trusted      []string
}

// newSecurity returns the security gate with the environment's options.
func newSecurity(opts config.SecurityGate) *Security {
	s := &Security{opts: opts, serviceTypes: map[string]bool{"ClusterIP": true, "": true}}
	for _, t := range opts.ServiceTypes() {
		s.serviceTypes[t] = true
	}
	for _, r := range opts.TrustedRegistries {
		s.trusted = append(s.trusted, strings.TrimSuffix(r, "/"))
	}
	return s
}

// Name is "security".
func (*Security) Name() string { return "security" }

// Check IDs of the security gate. docs/security-checks.md documents each one.
const (
	checkPrivileged              = "security/privileged"
	checkPrivilegeEscalation     = "security/privilege-escalation"
	checkRunAsRoot               = "security/run-as-root"
	checkReadOnlyRootFilesystem  = "security/read-only-root-filesystem"
	checkDangerousCapabilities   = "security/dangerous-capabilities"
	checkCapabilitiesNotDropped  = "security/capabilities-not-dropped"
	checkHostNetwork             = "security/host-network"
	checkHostPID                 = "security/host-pid"
	checkHostIPC                 = "security/host-ipc"
	checkHostPath                = "security/host-path"
	checkSensitiveHostPath       = "security/sensitive-host-path"
	checkHostPort                = "security/host-port"
	checkHostProcess             = "security/host-process"
	checkProcMount               = "security/proc-mount"
	checkUnsafeSysctls           = "security/unsafe-sysctls"
	checkUnconfinedProfile       = "security/unconfined-profile"
	checkLatestTag               = "security/latest-tag"
	checkImageDigest             = "security/image-digest"
	checkUntrustedRegistry       = "security/untrusted-registry"
	checkEnvSecret               = "security/env-secret"
	checkConfigMapSecret         = "security/configmap-secret"
	checkSecretInClear           = "security/secret-in-clear"
	checkAutomountToken          = "security/automount-service-account-token"
	checkRBACWildcard            = "security/rbac-wildcard"
	checkPodExecAttach           = "security/pod-exec-attach"
	checkClusterAdminBinding     = "security/cluster-admin-binding"
	checkServiceType             = "security/service-type"
	checkLivenessProbe           = "security/liveness-probe"
	checkReadinessProbe          = "security/readiness-probe"
	checkProbePort               = "security/probe-port"
	checkDefaultNamespace        = "security/default-namespace"
	checkSSHPort                 = "security/ssh-port"
	checkDuplicateEnv            = "security/duplicate-env"
	checkDeprecatedSAField       = "security/deprecated-service-account-field"
	checkMissingServiceAccount   = "security/missing-service-account"
	checkSelectorMismatch        = "security/selector-mismatch"
	checkDanglingService         = "security/dangling-service"
	checkAntiAffinity            = "security/anti-affinity"
	checkPDBBlocksEviction       = "security/pdb-blocks-eviction"
	checkPDBUnhealthyPodEviction = "security/pdb-unhealthy-pod-eviction-policy"
	checkInvalidPortName         = "security/invalid-port-name"
)

// securityChecks is the catalogue, in the order docs/security-checks.md lists them.
var securityChecks = []Check{
	{ID: checkPrivileged, Severity: Error, Title: "Container runs privileged",
		Why: "A privileged container has every capability and every host device; escaping to the node is trivial.",
		Fix: "Remove securityContext.privileged (or set it to false) and add only the capabilities the container needs."},
	{ID: checkPrivilegeEscalation, Severity: Error, Title: "Container allows privilege escalation",
		Why: "Without allowPrivilegeEscalation: false a process can gain privileges its parent lacks, through setuid binaries or file capabilities.",
		Fix: "Set securityContext.allowPrivilegeEscalation: false on the container."},
	{ID: checkRunAsRoot, Severity: Error, Title: "Container may run as root",
		Why: "Root in a container is root on the node after any container escape, and owns every file the container can reach.",
		Fix: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser (on the pod or the container), keep runAsGroup non-zero, and build the image with a non-root USER."},
	{ID: checkReadOnlyRootFilesystem, Severity: Warning, Title: "Root filesystem is writable",
		Why: "A writable root filesystem lets an intruder replace binaries and persist tools inside the container.",
		Fix: "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process must write (/tmp, caches)."},
	{ID: checkDangerousCapabilities, Severity: Error, Title: "Container adds a dangerous capability",
		Why: "SYS_ADMIN, NET_ADMIN, NET_RAW, SYS_PTRACE, SYS_MODULE, ALL and the like each give a way to take over the node or sniff and spoof its traffic.",
		Fix: "Remove the capability from securityContext.capabilities.add; grant a narrower one if the process really needs it."},
	{ID: checkCapabilitiesNotDropped, Severity: Warning, Title: "Container keeps default capabilities",
		Why: "Container runtimes grant a default set of capabilities, NET_RAW among them (ARP and DNS spoofing on the pod network); few processes need any.",
		Fix: "Set securityContext.capabilities.drop: [ALL] and add back only what the container needs (NET_BIND_SERVICE, say)."},
	{ID: checkHostNetwork, Severity: Error, Title: "Pod uses the host network",
		Why: "A pod in the node's network namespace sees all node traffic, binds node ports and reaches services listening on localhost.",
		Fix: "Remove hostNetwork: true; expose the pod through a Service instead."},
	{ID: checkHostPID, Severity: Error, Title: "Pod uses the host PID namespace",
		Why: "A pod in the node's process namespace sees every process on the node, with their environments, and can signal or trace them.",
		Fix: "Remove hostPID: true."},
	{ID: checkHostIPC, Severity: Error, Title: "Pod uses the host IPC namespace",
		Why: "A pod in the node's IPC namespace can read and write shared memory of every process on the node.",
		Fix: "Remove hostIPC: true."},
	{ID: checkHostPath, Severity: Warning, Title: "Pod mounts a host path",
		Why: "hostPath volumes tie the pod to one node's filesystem and expose it to the container; a writable one lets the pod plant files on the node.",
		Fix: "Use a PersistentVolumeClaim, an emptyDir or a projected volume instead of hostPath; if the host path is needed, mount it readOnly and waive the finding."},
	{ID: checkSensitiveHostPath, Severity: Error, Title: "Pod mounts a sensitive host path",
		Why: "Mounting /, /etc, /proc, /sys, kubelet or etcd directories or a container runtime socket (docker.sock, containerd.sock) gives control of the node.",
		Fix: "Remove the hostPath volume and its volumeMounts."},
	{ID: checkHostPort, Severity: Warning, Title: "Container binds a host port",
		Why: "A hostPort opens the port on the node's address, outside Services and NetworkPolicies, and limits scheduling to one such pod per node.",
		Fix: "Remove hostPort and expose the container through a Service."},
	{ID: checkHostProcess, Severity: Error, Title: "Windows pod runs as a host process",
		Why: "A HostProcess container runs directly on the Windows node with full access to it.",
		Fix: "Remove securityContext.windowsOptions.hostProcess."},
	{ID: checkProcMount, Severity: Warning, Title: "Container has an unmasked /proc",
		Why: "procMount: Unmasked removes the runtime's masking of sensitive /proc paths.",
		Fix: "Remove securityContext.procMount or set it to Default."},
	{ID: checkUnsafeSysctls, Severity: Error, Title: "Pod sets an unsafe sysctl",
		Why: "Sysctls outside Kubernetes' safe set are not isolated per pod and can change or destabilise the whole node; the kubelet refuses them unless allowed.",
		Fix: "Remove the sysctl, or allow it on the nodes deliberately (kubelet --allowed-unsafe-sysctls) and waive the finding."},
	{ID: checkUnconfinedProfile, Severity: Error, Title: "Seccomp or AppArmor is turned off",
		Why: "An Unconfined seccomp or AppArmor profile removes the kernel-level filters that stop many container escapes.",
		Fix: "Set seccompProfile.type (and appArmorProfile.type) to RuntimeDefault or Localhost, or remove the Unconfined setting."},
	{ID: checkLatestTag, Severity: Error, Title: "Image is tagged latest or untagged",
		Why: "A latest or missing tag means what runs changes without a commit, differs between nodes, and cannot be rolled back by Git.",
		Fix: "Pin the image to a version tag or, better, a digest (registry/app@sha256:…)."},
	{ID: checkImageDigest, Severity: Error, Title: "Image is not pinned by digest",
		Why: "Tags can be moved; only a digest guarantees that what was gated is what runs. Checked only where requireDigests is set.",
		Fix: "Pin the image by digest: registry/app:1.2.3@sha256:… (kustomize's images field can set digests)."},
	{ID: checkUntrustedRegistry, Severity: Error, Title: "Image comes from an untrusted registry",
		Why: "Images from registries the platform does not control bypass its scanning and signing. Checked only where trustedRegistries is set.",
		Fix: "Mirror the image into a trusted registry and reference it there, or add the registry to trustedRegistries."},
	{ID: checkEnvSecret, Severity: Error, Title: "Credential in an environment variable",
		Why: "A credential in a manifest is readable by everyone with access to the repository and its history, forever.",
		Fix: "Move the value into a Secret managed outside Git (sealed-secrets, external-secrets, SOPS) and reference it with valueFrom.secretKeyRef, then rotate it."},
	{ID: checkConfigMapSecret, Severity: Error, Title: "Credential in a ConfigMap",
		Why: "A credential in a ConfigMap is in the repository's history and readable by anyone who can read ConfigMaps in the namespace.",
		Fix: "Move the value into a Secret managed outside Git (sealed-secrets, external-secrets, SOPS), then rotate it."},
	{ID: checkSecretInClear, Severity: Error, Title: "Secret committed in clear text",
		Why: "A Secret's data is base64, an encoding, not encryption: anyone who can read the repository can read the values.",
		Fix: "Commit a SealedSecret (sealed-secrets), an ExternalSecret (external-secrets) or a SOPS-encrypted Secret instead, and rotate the values that were committed."},
	{ID: checkAutomountToken, Severity: Warning, Title: "Pod mounts a service account token",
		Why: "Most pods never call the Kubernetes API; a mounted token is a credential an intruder can use against it.",
		Fix: "Set automountServiceAccountToken: false on the pod or its ServiceAccount, unless the pod talks to the Kubernetes API."},
	{ID: checkRBACWildcard, Severity: Error, Title: "RBAC rule uses a wildcard",
		Why: "A * in verbs or resources grants whatever the API adds later, CRDs included, and is rarely what the subject needs.",
		Fix: "List the verbs and resources the subject needs."},
	{ID: checkPodExecAttach, Severity: Error, Title: "RBAC allows pods/exec or pods/attach",
		Why: "Exec or attach is a shell in every pod the role covers, with those pods' service account tokens and secrets.",
		Fix: "Remove pods/exec and pods/attach from the rules, or bind a role without them (the built-in admin and edit ClusterRoles include them)."},
	{ID: checkClusterAdminBinding, Severity: Error, Title: "Binding grants cluster-admin",
		Why: "cluster-admin, or any role with * verbs on * resources in * groups, is full control of the cluster.",
		Fix: "Bind a role that grants only what the subjects need."},
	{ID: checkServiceType, Severity: Error, Title: "Service type is not allowed",
		Why: "NodePort opens the port on every node's address; LoadBalancer exposes the Service outside the cluster. Each environment says which types it allows (default: all but NodePort).",
		Fix: "Use type ClusterIP behind an Ingress or Gateway, or allow the type in the environment's security.allowedServiceTypes."},
	{ID: checkLivenessProbe, Severity: Warning, Title: "Container has no liveness probe",
		Why: "Without a liveness probe a hung process is never restarted.",
		Fix: "Add a livenessProbe that fails only when the process cannot recover."},
	{ID: checkReadinessProbe, Severity: Warning, Title: "Container has no readiness probe",
		Why: "Without a readiness probe a container receives traffic before it can serve, and during rollouts.",
		Fix: "Add a readinessProbe that succeeds when the container can serve requests."},
	{ID: checkProbePort, Severity: Error, Title: "Probe names an undeclared port",
		Why: "A probe that names a port the container does not declare can never succeed: the pod never becomes ready or is restarted forever.",
		Fix: "Use the name of one of the container's ports, or the port number."},
	{ID: checkDefaultNamespace, Severity: Warning, Title: "Object is in the default namespace",
		Why: "The default namespace is shared by everything that forgets to set one; objects there escape per-namespace RBAC, quotas and policies.",
		Fix: "Set metadata.namespace, or the kustomization's namespace field, to the application's namespace."},
	{ID: checkSSHPort, Severity: Warning, Title: "Container exposes SSH",
		Why: "Port 22 in a container usually means an SSH server: another way in, outside Kubernetes RBAC and audit.",
		Fix: "Do not run SSH in containers; use kubectl exec under RBAC for debugging."},
	{ID: checkDuplicateEnv, Severity: Warning, Title: "Environment variable set twice",
		Why: "When a variable is set twice only the last value counts, which is rarely what the author of the first meant.",
		Fix: "Remove the duplicate entry."},
	{ID: checkDeprecatedSAField, Severity: Warning, Title: "Pod uses the deprecated serviceAccount field",
		Why: "serviceAccount is a deprecated alias; when it differs from serviceAccountName it is unclear which identity the pod gets.",
		Fix: "Use serviceAccountName only."},
	{ID: checkMissingServiceAccount, Severity: Warning, Title: "ServiceAccount is not in the rendering",
		Why: "A pod whose ServiceAccount does not exist is never created.",
		Fix: "Add the ServiceAccount to the environment's manifests, or fix the name; waive if another tool creates it."},
	{ID: checkSelectorMismatch, Severity: Error, Title: "Workload selector does not match its pods",
		Why: "The API server refuses a workload whose selector does not match its pod template's labels.",
		Fix: "Make spec.selector match spec.template.metadata.labels."},
	{ID: checkDanglingService, Severity: Warning, Title: "Service selects no pods",
		Why: "A Service whose selector matches no pod template of the rendering has no endpoints.",
		Fix: "Fix the Service's selector to match a workload's pod labels, or remove the Service."},
	{ID: checkAntiAffinity, Severity: Warning, Title: "Replicas are not spread across nodes",
		Why: "Replicas that may all land on one node all fail together when that node does.",
		Fix: "Add a topologySpreadConstraint (or podAntiAffinity) on kubernetes.io/hostname for the workload's pods."},
	{ID: checkPDBBlocksEviction, Severity: Warning, Title: "PodDisruptionBudget allows no disruption",
		Why: "A budget that allows no voluntary disruption blocks node drains and cluster upgrades.",
		Fix: "Allow at least one disruption: maxUnavailable of 1 or more, or minAvailable below the replica count."},
	{ID: checkPDBUnhealthyPodEviction, Severity: Info, Title: "PodDisruptionBudget has no unhealthyPodEvictionPolicy",
		Why: "With the default policy, pods that never become ready still count against the budget and can block drains.",
		Fix: "Set spec.unhealthyPodEvictionPolicy: AlwaysAllow."},
	{ID: checkInvalidPortName, Severity: Error, Title: "Port name is not a valid service name",
		Why: "Port names must be IANA service names (1-15 lowercase letters, digits and single hyphens, with a letter); the API server refuses others.",
		Fix: "Rename the port, and every targetPort and probe that refers to it."},
}

// securityCheckByID indexes securityChecks.
var securityCheckByID = func() map[string]*Check {
	m := make(map[string]*Check, len(securityChecks))
	for i := range securityChecks {
		m[securityChecks[i].ID] = &securityChecks[i]
	}
	return m
}()

// Checks lists the gate's checks with their default severities, for reports (SARIF rules) and
// docs.
func (*Security) Checks() []Check {
	return append([]Check(nil), securityChecks...)
}

// Evaluate runs every check over the rendered objects. It first indexes what checks need from
// other objects (ServiceAccounts, roles, pod labels, CRD scopes), then judges each object.
func (s *Security) Evaluate(in Input) Result {
	idx := newSecurityIndex(in.Objects)
	var findings []Finding
	for i := range in.Objects {
		e := secEval{gate: s, idx: idx, obj: in.Objects[i], out: &findings}
		e.object()
	}
	return securityResult(findings, len(in.Objects))
}

func securityResult(findings []Finding, objects int) Result {
	r := Result{Gate: "security", Outcome: Pass, Findings: findings}
	var errs, warns, infos int
	for _, f := range findings {
		switch f.Severity {
		case Error:
			errs++
		case Warning:
			warns++
		default:
			infos++
		}
	}
	if errs > 0 {
		r.Outcome = Fail
	}
	if len(findings) == 0 {
		r.Summary = fmt.Sprintf("no findings in %d objects", objects)
	} else {
		r.Summary = fmt.Sprintf("%d errors, %d warnings, %d notes in %d objects", errs, warns, infos, objects)
	}
	return r
}

// secEval judges one object.
type secEval struct {
	gate *Security
	idx  *securityIndex
	obj  render.Object
	ref  *ObjectRef
	out  *[]Finding
}

// add records a finding of check id at path.
func (e *secEval) add(id, path, msg string) {
	c := securityCheckByID[id]
	if c == nil {
		panic("gates: unknown security check " + id)
	}
	if e.ref == nil {
		r := Ref(e.obj)
		e.ref = &r
	}
	*e.out = append(*e.out, Finding{Check: id, Severity: c.Severity, Object: *e.ref, Path: path, Message: msg, Fix: c.Fix})
}

func (e *secEval) object() {
	c := e.obj.Content
	kind, _ := c["kind"].(string)
	e.namespace(kind)
	switch kind {
	case "Secret":
		e.secret()
	case "ConfigMap":
		e.configMap()
	case "Role", "ClusterRole":
		e.role()
	case "RoleBinding", "ClusterRoleBinding":
		e.binding(kind)
	case "Service":
		e.service()
	case "PodDisruptionBudget":
		e.pdb()
	}
	if spec, path, ok := PodSpec(e.obj); ok {
		e.workload(kind, spec, path)
	}
}

// Helpers over decoded YAML. Content holds map[string]any, []any, string, bool, int64 and
// float64 (and int when built by hand); anything else counts as absent.

func secMap(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func secList(m map[string]any, key string) []any {
	v, _ := m[key].([]any)
	return v
}

func secStr(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}

// secBool returns the boolean at key and whether it is set.
func secBool(m map[string]any, key string) (value, set bool) {
	v, ok := m[key].(bool)
	return v, ok
}

// secInt returns the whole number at key and whether it is set.
func secInt(m map[string]any, key string) (int64, bool) {
	switch v := m[key].(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), v == float64(int64(v))
	}
	return 0, false
}

// secStrings returns the strings of a list, skipping anything else.
func secStrings(m map[string]any, key string) []string {
	l := secList(m, key)
	if len(l) == 0 {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// secHas reports whether the list at key holds the string s.
func secHas(m map[string]any, key, s string) bool {
	for _, v := range secList(m, key) {
		if v == s {
			return true
		}
	}
	return false
}

func secContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// secIndex is path[i].
func secIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
