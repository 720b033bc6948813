package gates

import (
	"strconv"
	"strings"
)

// Pod and container checks. A container's securityContext overrides its pod's for the fields
// both have (runAsUser, runAsGroup, runAsNonRoot, seccompProfile, appArmorProfile,
// windowsOptions), as the kubelet applies them.

func (e *secEval) workload(kind string, spec map[string]any, path string) {
	psc := secMap(spec, "securityContext")
	pscPath := path + ".securityContext"

	for _, ns := range [...]struct{ field, id string }{
		{"hostNetwork", checkHostNetwork}, {"hostPID", checkHostPID}, {"hostIPC", checkHostIPC},
	} {
		if v, _ := secBool(spec, ns.field); v {
			e.add(ns.id, path+"."+ns.field, "pod sets "+ns.field+": true")
		}
	}
	e.sysctls(psc, pscPath)
	e.podIdentity(spec, path)

	containers := Containers(spec, path)
	e.volumes(spec, path, containers)
	for _, c := range containers {
		e.container(kind, c, psc, pscPath)
	}
	e.replicas(kind, spec, path)
	if kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" {
		e.selector()
	}
}

// secWho names a container in messages: `container "web"`, `init container "migrate"`.
func secWho(c Container) string {
	switch {
	case c.Init:
		return "init container " + strconv.Quote(c.Name)
	case c.Ephemeral:
		return "ephemeral container " + strconv.Quote(c.Name)
	}
	return "container " + strconv.Quote(c.Name)
}

func (e *secEval) container(kind string, c Container, psc map[string]any, pscPath string) {
	sc := secMap(c.Map, "securityContext")
	scPath := c.Path + ".securityContext"
	name := secWho(c)

	privileged, _ := secBool(sc, "privileged")
	if privileged {
		e.add(checkPrivileged, scPath+".privileged", name+" runs privileged")
	}
	if ape, set := secBool(sc, "allowPrivilegeEscalation"); !set || ape {
		msg := name + " does not set allowPrivilegeEscalation: false"
		if set {
			msg = name + " sets allowPrivilegeEscalation: true"
		}
		e.add(checkPrivilegeEscalation, scPath+".allowPrivilegeEscalation", msg)
	}
	e.runAsRoot(name, sc, scPath, psc, pscPath)
	if ro, _ := secBool(sc, "readOnlyRootFilesystem"); !ro {
		e.add(checkReadOnlyRootFilesystem, scPath+".readOnlyRootFilesystem", name+" does not set readOnlyRootFilesystem: true")
	}
	e.capabilities(name, sc, scPath)
	if secStr(sc, "procMount") == "Unmasked" {
		e.add(checkProcMount, scPath+".procMount", name+" sets procMount: Unmasked")
	}
	e.confinement(name, sc, scPath, psc, pscPath)
	e.ports(name, c)
	e.image(name, c)
	e.env(name, c)
	if !c.Init && !c.Ephemeral && kind != "Job" && kind != "CronJob" {
		if _, ok := c.Map["livenessProbe"].(map[string]any); !ok {
			e.add(checkLivenessProbe, c.Path+".livenessProbe", name+" has no liveness probe")
		}
		if _, ok := c.Map["readinessProbe"].(map[string]any); !ok {
			e.add(checkReadinessProbe, c.Path+".readinessProbe", name+" has no readiness probe")
		}
	}
	e.probePorts(name, c)
}

// runAsRoot judges the effective user and group: explicit 0 fails wherever it is set; otherwise
// the container must be held to non-root by runAsNonRoot: true or a non-zero runAsUser.
func (e *secEval) runAsRoot(name string, sc map[string]any, scPath string, psc map[string]any, pscPath string) {
	user, userSet, userPath := secEffectiveInt(sc, scPath, psc, pscPath, "runAsUser")
	if userSet && user == 0 {
		e.add(checkRunAsRoot, userPath, name+" runs as user 0 (root)")
		return
	}
	if group, set, groupPath := secEffectiveInt(sc, scPath, psc, pscPath, "runAsGroup"); set && group == 0 {
		e.add(checkRunAsRoot, groupPath, name+" runs with group 0 (root)")
	}
	nonRoot, set := secBool(sc, "runAsNonRoot")
	if !set {
		nonRoot, set = secBool(psc, "runAsNonRoot")
	}
	if nonRoot || (userSet && user > 0) {
		return
	}
	msg := name + " may run as root: neither runAsNonRoot: true nor a non-zero runAsUser is set"
	if set {
		msg = name + " sets runAsNonRoot: false and no non-zero runAsUser"
	}
	e.add(checkRunAsRoot, scPath+".runAsNonRoot", msg)
}

// secEffectiveInt returns a securityContext number from the container, else from the pod, with the
// path it came from.
func secEffectiveInt(sc map[string]any, scPath string, psc map[string]any, pscPath, field string) (int64, bool, string) {
	if v, ok := secInt(sc, field); ok {
		return v, true, scPath + "." + field
	}
	if v, ok := secInt(psc, field); ok {
		return v, true, pscPath + "." + field
	}
	return 0, false, ""
}

// dangerousCapabilities each give a container a way to take over the node or its network.
var dangerousCapabilities = map[string]bool{
	"ALL": true, "SYS_ADMIN": true, "NET_ADMIN": true, "NET_RAW": true, "SYS_PTRACE": true,
	"SYS_MODULE": true, "SYS_RAWIO": true, "SYS_BOOT": true, "SYS_TIME": true, "BPF": true,
	"PERFMON": true, "DAC_READ_SEARCH": true, "MAC_ADMIN": true, "MAC_OVERRIDE": true,
	"SYSLOG": true,
}

// secCapabilityName normalises "cap_sys_admin" to "SYS_ADMIN".
func secCapabilityName(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	return strings.TrimPrefix(s, "CAP_")
}

func (e *secEval) capabilities(name string, sc map[string]any, scPath string) {
	caps := secMap(sc, "capabilities")
	capsPath := scPath + ".capabilities"
	for i, v := range secList(caps, "add") {
		s, _ := v.(string)
		if dangerousCapabilities[secCapabilityName(s)] {
			e.add(checkDangerousCapabilities, secIndex(capsPath+".add", i), name+" adds capability "+s)
		}
	}
	for _, v := range secList(caps, "drop") {
		if s, _ := v.(string); secCapabilityName(s) == "ALL" {
			return
		}
	}
	e.add(checkCapabilitiesNotDropped, capsPath+".drop", name+" does not drop ALL capabilities")
}

// confinement fails seccomp and AppArmor profiles of type Unconfined, at either level.
func (e *secEval) confinement(name string, sc map[string]any, scPath string, psc map[string]any, pscPath string) {
	for _, field := range [...]string{"seccompProfile", "appArmorProfile"} {
		if secStr(secMap(sc, field), "type") == "Unconfined" {
			e.add(checkUnconfinedProfile, scPath+"."+field+".type", name+" sets "+field+" type Unconfined")
		} else if _, set := sc[field]; !set && secStr(secMap(psc, field), "type") == "Unconfined" {
			e.add(checkUnconfinedProfile, pscPath+"."+field+".type", name+" inherits the pod's "+field+" type Unconfined")
		}
	}
	hp, set := secBool(secMap(sc, "windowsOptions"), "hostProcess")
	path := scPath
	if !set {
		hp, _ = secBool(secMap(psc, "windowsOptions"), "hostProcess")
		path = pscPath
	}
	if hp {
		e.add(checkHostProcess, path+".windowsOptions.hostProcess", name+" runs as a Windows host process")
	}
}

// safeSysctls are the sysctls Kubernetes treats as safe: namespaced, and unable to affect other
// pods on the node (Pod Security Standards, baseline).
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true,
	"net.ipv4.ip_unprivileged_port_start": true, "net.ipv4.tcp_syncookies": true,
	"net.ipv4.ping_group_range": true, "net.ipv4.ip_local_reserved_ports": true,
	"net.ipv4.tcp_keepalive_time": true, "net.ipv4.tcp_fin_timeout": true,
	"net.ipv4.tcp_keepalive_intvl": true, "net.ipv4.tcp_keepalive_probes": true,
}

func (e *secEval) sysctls(psc map[string]any, pscPath string) {
	for i, v := range secList(psc, "sysctls") {
		sysctl, _ := v.(map[string]any)
		n := secStr(sysctl, "name")
		if n != "" && !safeSysctls[strings.ReplaceAll(n, "/", ".")] {
			e.add(checkUnsafeSysctls, secIndex(pscPath+".sysctls", i)+".name", "pod sets unsafe sysctl "+n)
		}
	}
}

// podIdentity judges the pod's ServiceAccount and its API token.
func (e *secEval) podIdentity(spec map[string]any, path string) {
	saName := secStr(spec, "serviceAccountName")
	if old := secStr(spec, "serviceAccount"); old != "" && old != saName {
		e.add(checkDeprecatedSAField, path+".serviceAccount", "pod sets the deprecated serviceAccount: "+old+" (serviceAccountName is "+strconv.Quote(saName)+")")
		if saName == "" {
			saName = old
		}
	}
	if saName == "" {
		saName = "default"
	}
	ns := e.obj.Namespace()
	saAutomount, saFound := e.idx.serviceAccounts[ns+"/"+saName]
	if saName != "default" && !saFound {
		e.add(checkMissingServiceAccount, path+".serviceAccountName", "pod uses ServiceAccount "+strconv.Quote(saName)+", which is not in the rendering")
	}
	am, set := secBool(spec, "automountServiceAccountToken")
	switch {
	case set && am:
		e.add(checkAutomountToken, path+".automountServiceAccountToken", "pod sets automountServiceAccountToken: true")
	case !set && (!saFound || saAutomount):
		e.add(checkAutomountToken, path+".automountServiceAccountToken",
			"pod mounts an API token: automountServiceAccountToken is not false on the pod nor on ServiceAccount "+strconv.Quote(saName))
	}
}

// sensitiveHostPaths give control of the node when mounted (kube-linter's sensitive-host-mounts
// list plus kubelet, etcd and credential directories).
var sensitiveHostPaths = map[string]bool{
	"/": true, "/boot": true, "/dev": true, "/etc": true, "/lib": true, "/proc": true,
	"/sys": true, "/usr": true, "/bin": true, "/sbin": true, "/root": true, "/var": true,
	"/var/run": true, "/run": true, "/var/lib": true, "/home": true,
}

var sensitiveHostPrefixes = []string{
	"/proc/", "/sys/", "/boot/", "/dev/", "/etc/kubernetes", "/var/lib/kubelet", "/var/lib/etcd",
	"/var/lib/docker", "/var/lib/containerd", "/root/", "/etc/ssh", "/etc/shadow", "/etc/sudoers",
}

// runtimeSockets end the paths of container runtime sockets.
var runtimeSockets = []string{"docker.sock", "containerd.sock", "crio.sock", "cri-dockerd.sock", "podman.sock"}

// sensitiveHostPath says why a host path is sensitive, or "" when it is not.
func sensitiveHostPath(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	for _, s := range runtimeSockets {
		if strings.HasSuffix(p, s) {
			return "the container runtime socket"
		}
	}
	if sensitiveHostPaths[p] {
		return "a system directory"
	}
	for _, pre := range sensitiveHostPrefixes {
		if strings.HasPrefix(p, pre) {
			return "a system directory"
		}
	}
	return ""
}

func (e *secEval) volumes(spec map[string]any, path string, containers []Container) {
	for i, v := range secList(spec, "volumes") {
		vol, _ := v.(map[string]any)
		hp := secMap(vol, "hostPath")
		if hp == nil {
			continue
		}
		volName := secStr(vol, "name")
		hostPath := secStr(hp, "path")
		var users []string
		for _, c := range containers {
			for _, m := range secList(c.Map, "volumeMounts") {
				if mount, _ := m.(map[string]any); secStr(mount, "name") == volName {
					users = append(users, c.Name)
				}
			}
		}
		msg := "volume " + strconv.Quote(volName) + " mounts host path " + hostPath
		if len(users) > 0 {
			msg += " into " + strings.Join(users, ", ")
		}
		p := secIndex(path+".volumes", i) + ".hostPath.path"
		if why := sensitiveHostPath(hostPath); why != "" {
			e.add(checkSensitiveHostPath, p, msg+" ("+why+")")
		} else {
			e.add(checkHostPath, p, msg)
		}
	}
}

func (e *secEval) ports(name string, c Container) {
	for i, v := range secList(c.Map, "ports") {
		port, _ := v.(map[string]any)
		p := func() string { return secIndex(c.Path+".ports", i) }
		if hp, _ := secInt(port, "hostPort"); hp > 0 {
			e.add(checkHostPort, p()+".hostPort", name+" binds host port "+strconv.FormatInt(hp, 10))
		}
		if cp, _ := secInt(port, "containerPort"); cp == 22 {
			if proto := secStr(port, "protocol"); proto == "" || proto == "TCP" {
				e.add(checkSSHPort, p()+".containerPort", name+" exposes port 22 (SSH)")
			}
		}
		if n, ok := port["name"].(string); ok && !secValidPortName(n) {
			e.add(checkInvalidPortName, p()+".name", name+" has port name "+strconv.Quote(n)+", which is not a valid IANA service name")
		}
	}
}

// secValidPortName reports whether s is an IANA_SVC_NAME: at most 15 characters of a-z, 0-9 and
// '-', with at least one letter, no hyphen at either end and no two hyphens in a row.
func secValidPortName(s string) bool {
	if s == "" || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= 'a' && b <= 'z':
			letter = true
		case b >= '0' && b <= '9', b == '-':
		default:
			return false
		}
	}
	return letter
}

// probePorts fails probes that name a port the container does not declare. Numeric ports are
// not judged: containerPort is informational and a probe may target an undeclared port.
func (e *secEval) probePorts(name string, c Container) {
	for _, probe := range [...]string{"livenessProbe", "readinessProbe", "startupProbe"} {
		pr := secMap(c.Map, probe)
		if pr == nil {
			continue
		}
		for _, handler := range [...]string{"httpGet", "tcpSocket"} {
			port, ok := secMap(pr, handler)["port"].(string)
			if !ok || secDeclaresPort(c.Map, port) {
				continue
			}
			e.add(checkProbePort, c.Path+"."+probe+"."+handler+".port", name+"'s "+probe+" uses port "+strconv.Quote(port)+", which the container does not declare")
		}
	}
}

func secDeclaresPort(container map[string]any, name string) bool {
	if _, err := strconv.Atoi(name); err == nil {
		return true // a number written as a string; the API server rejects it, schema reports it
	}
	for _, v := range secList(container, "ports") {
		if p, _ := v.(map[string]any); secStr(p, "name") == name {
			return true
		}
	}
	return false
}

func (e *secEval) image(name string, c Container) {
	image, ok := c.Map["image"].(string)
	if !ok || image == "" {
		return
	}
	ref := secParseImage(image)
	p := c.Path + ".image"
	switch {
	case ref.digest != "":
	case ref.tag == "":
		e.add(checkLatestTag, p, name+" uses image "+image+" without a tag (which means latest)")
	case ref.tag == "latest":
		e.add(checkLatestTag, p, name+" uses image "+image+" with tag latest")
	}
	if e.gate.opts.RequireDigests && ref.digest == "" {
		e.add(checkImageDigest, p, name+" uses image "+image+", which is not pinned by digest")
	}
	if len(e.gate.trusted) > 0 {
		if full := ref.normalized(); !e.gate.trustedImage(full) {
			e.add(checkUntrustedRegistry, p, name+" uses image "+image+" from "+full[:strings.IndexByte(full, '/')]+", which is not a trusted registry")
		}
	}
}

// secImageRef is an image reference split into its parts.
type secImageRef struct{ name, tag, digest string }

// normalized is the name with its registry host: "nginx" is "docker.io/library/nginx".
func (r secImageRef) normalized() string {
	first, _, found := strings.Cut(r.name, "/")
	switch {
	case !found:
		return "docker.io/library/" + r.name
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		return "docker.io/" + r.name
	}
	return r.name
}

func secParseImage(s string) secImageRef {
	var r secImageRef
	if i := strings.IndexByte(s, '@'); i >= 0 {
		r.digest, s = s[i+1:], s[:i]
	}
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		r.tag, s = s[i+1:], s[:i]
	}
	r.name = s
	return r
}

func (s *Security) trustedImage(name string) bool {
	for _, t := range s.trusted {
		if name == t || (strings.HasPrefix(name, t) && name[len(t)] == '/') {
			return true
		}
	}
	return false
}

func (e *secEval) env(name string, c Container) {
	env := secList(c.Map, "env")
	if len(env) == 0 {
		return
	}
	var seen map[string]int
	if len(env) > 1 {
		seen = make(map[string]int, len(env))
	}
	for i, v := range env {
		ev, _ := v.(map[string]any)
		n := secStr(ev, "name")
		p := func() string { return secIndex(c.Path+".env", i) }
		if seen != nil {
			if j, dup := seen[n]; dup {
				e.add(checkDuplicateEnv, p()+".name", name+" sets "+n+" again (first at env["+strconv.Itoa(j)+"])")
			}
			seen[n] = i
		}
		value, ok := ev["value"].(string)
		if !ok {
			continue
		}
		if why := secSecretLike(n, value); why != "" {
			e.add(checkEnvSecret, p()+".value", name+" sets "+n+" to "+why)
		}
	}
}

// replicas judges how a replicated workload spreads.
func (e *secEval) replicas(kind string, spec map[string]any, path string) {
	if kind != "Deployment" && kind != "StatefulSet" && kind != "ReplicaSet" {
		return
	}
	replicas, set := secInt(secMap(e.obj.Content, "spec"), "replicas")
	if !set || replicas < 2 {
		return
	}
	if secMap(secMap(spec, "affinity"), "podAntiAffinity") != nil || len(secList(spec, "topologySpreadConstraints")) > 0 {
		return
	}
	e.add(checkAntiAffinity, path+".topologySpreadConstraints",
		"workload runs "+strconv.FormatInt(replicas, 10)+" replicas with neither topologySpreadConstraints nor podAntiAffinity")
}

// selector checks that an apps/v1 workload's selector selects its own pod template.
func (e *secEval) selector() {
	spec := secMap(e.obj.Content, "spec")
	sel := secMap(spec, "selector")
	if sel == nil {
		return // required by apps/v1; the schema gate reports its absence
	}
	labels := secMap(secMap(secMap(spec, "template"), "metadata"), "labels")
	if !secSelectorMatches(sel, labels) {
		e.add(checkSelectorMismatch, "spec.selector", "spec.selector does not match the labels of spec.template")
	}
}
