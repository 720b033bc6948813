package gates

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/render"
	"sigs.k8s.io/yaml"
)

// hardenedDeployment passes every security check; cases change one thing in it.
const hardenedDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: web
        image: ghcr.io/acme/web:1.2.3
        ports: [{name: http, containerPort: 8080}]
        env: [{name: LOG_LEVEL, value: info}]
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        livenessProbe: {httpGet: {path: /healthz, port: http}}
        readinessProbe: {httpGet: {path: /ready, port: http}}
`

const (
	pod = "spec.template.spec."
	ctr = "spec.template.spec.containers[0]."
	psc = "spec.template.spec.securityContext."
	csc = "spec.template.spec.containers[0].securityContext."
)

// secCase is one object (or set of objects) and what one check must say about it.
type secCase struct {
	// name says what the case shows, as a sentence.
	name  string
	check string
	// yaml holds the objects, "---" separated. Empty: hardenedDeployment.
	yaml string
	// set changes fields of the first object: field path → YAML value; "null" deletes the field.
	set  map[string]string
	opts config.SecurityGate
	// path is where the finding must point; empty means the check must find nothing.
	path string
	// msg must be part of the finding's message.
	msg string
}

var secCases = []secCase{
	{name: "a privileged container fails", check: checkPrivileged,
		set: map[string]string{csc + "privileged": "true"}, path: csc + "privileged", msg: `container "web" runs privileged`},
	{name: "privileged: false passes", check: checkPrivileged, set: map[string]string{csc + "privileged": "false"}},
	{name: "a privileged init container of a CronJob fails, named as an init container", check: checkPrivileged,
		yaml: `{apiVersion: batch/v1, kind: CronJob, metadata: {name: c, namespace: shop}, spec: {schedule: "@daily", jobTemplate: {spec: {template: {spec: {initContainers: [{name: migrate, image: m:1, securityContext: {privileged: true}}], containers: [{name: c, image: c:1}]}}}}}}`,
		path: "spec.jobTemplate.spec.template.spec.initContainers[0].securityContext.privileged", msg: `init container "migrate" runs privileged`},

	{name: "allowPrivilegeEscalation unset fails", check: checkPrivilegeEscalation,
		set: map[string]string{csc + "allowPrivilegeEscalation": "null"}, path: csc + "allowPrivilegeEscalation", msg: "does not set allowPrivilegeEscalation: false"},
	{name: "allowPrivilegeEscalation: true fails", check: checkPrivilegeEscalation,
		set: map[string]string{csc + "allowPrivilegeEscalation": "true"}, path: csc + "allowPrivilegeEscalation", msg: "sets allowPrivilegeEscalation: true"},
	{name: "allowPrivilegeEscalation: false passes", check: checkPrivilegeEscalation},

	{name: "no runAsNonRoot and no runAsUser anywhere fails", check: checkRunAsRoot,
		set:  map[string]string{psc + "runAsNonRoot": "null", psc + "runAsUser": "null"},
		path: csc + "runAsNonRoot", msg: `container "web" may run as root`},
	{name: "runAsUser 0 on the container overrides a non-root pod and fails", check: checkRunAsRoot,
		set: map[string]string{csc + "runAsUser": "0"}, path: csc + "runAsUser", msg: "runs as user 0"},
	{name: "runAsGroup 0 on the pod fails", check: checkRunAsRoot,
		set: map[string]string{psc + "runAsGroup": "0"}, path: psc + "runAsGroup", msg: "group 0"},
	{name: "runAsNonRoot: false with no user fails", check: checkRunAsRoot,
		set:  map[string]string{psc + "runAsNonRoot": "false", psc + "runAsUser": "null"},
		path: csc + "runAsNonRoot", msg: "sets runAsNonRoot: false"},
	{name: "runAsNonRoot on the pod passes", check: checkRunAsRoot},
	{name: "a non-zero runAsUser on the container alone passes", check: checkRunAsRoot,
		set: map[string]string{psc + "runAsNonRoot": "null", psc + "runAsUser": "null", csc + "runAsUser": "1000"}},

	{name: "a writable root filesystem fails", check: checkReadOnlyRootFilesystem,
		set: map[string]string{csc + "readOnlyRootFilesystem": "null"}, path: csc + "readOnlyRootFilesystem", msg: "readOnlyRootFilesystem: true"},
	{name: "a read-only root filesystem passes", check: checkReadOnlyRootFilesystem},

	{name: "adding SYS_ADMIN (any case, CAP_ prefix) fails", check: checkDangerousCapabilities,
		set: map[string]string{csc + "capabilities.add": "[NET_BIND_SERVICE, cap_sys_admin]"}, path: csc + "capabilities.add[1]", msg: "adds capability cap_sys_admin"},
	{name: "adding NET_RAW fails", check: checkDangerousCapabilities,
		set: map[string]string{csc + "capabilities.add": "[NET_RAW]"}, path: csc + "capabilities.add[0]", msg: "NET_RAW"},
	{name: "adding NET_BIND_SERVICE passes", check: checkDangerousCapabilities,
		set: map[string]string{csc + "capabilities.add": "[NET_BIND_SERVICE]"}},

	{name: "dropping only NET_RAW fails", check: checkCapabilitiesNotDropped,
		set: map[string]string{csc + "capabilities.drop": "[NET_RAW]"}, path: csc + "capabilities.drop", msg: "does not drop ALL"},
	{name: "dropping all (lower case) passes", check: checkCapabilitiesNotDropped,
		set: map[string]string{csc + "capabilities.drop": "[all]"}},

	{name: "hostNetwork fails", check: checkHostNetwork, set: map[string]string{pod + "hostNetwork": "true"}, path: pod + "hostNetwork", msg: "hostNetwork: true"},
	{name: "hostNetwork: false passes", check: checkHostNetwork, set: map[string]string{pod + "hostNetwork": "false"}},
	{name: "hostPID fails", check: checkHostPID, set: map[string]string{pod + "hostPID": "true"}, path: pod + "hostPID", msg: "hostPID: true"},
	{name: "no hostPID passes", check: checkHostPID},
	{name: "hostIPC fails", check: checkHostIPC, set: map[string]string{pod + "hostIPC": "true"}, path: pod + "hostIPC", msg: "hostIPC: true"},
	{name: "no hostIPC passes", check: checkHostIPC},

	{name: "an ordinary hostPath volume fails, naming the containers that mount it", check: checkHostPath,
		set: map[string]string{
			pod + "volumes":      "[{name: tmp, emptyDir: {}}, {name: cache, hostPath: {path: /data/cache}}]",
			ctr + "volumeMounts": "[{name: cache, mountPath: /cache}]",
		},
		path: pod + "volumes[1].hostPath.path", msg: `volume "cache" mounts host path /data/cache into web`},
	{name: "an emptyDir volume passes", check: checkHostPath, set: map[string]string{pod + "volumes": "[{name: tmp, emptyDir: {}}]"}},
	{name: "a sensitive hostPath is not also reported as an ordinary one", check: checkHostPath,
		set: map[string]string{pod + "volumes": "[{name: etc, hostPath: {path: /etc}}]"}},

	{name: "the Docker socket fails", check: checkSensitiveHostPath,
		set: map[string]string{pod + "volumes": "[{name: docker, hostPath: {path: /var/run/docker.sock}}]"}, path: pod + "volumes[0].hostPath.path", msg: "container runtime socket"},
	{name: "/etc/ (trailing slash) fails", check: checkSensitiveHostPath,
		set: map[string]string{pod + "volumes": "[{name: etc, hostPath: {path: /etc/}}]"}, path: pod + "volumes[0].hostPath.path", msg: "system directory"},
	{name: "/proc/sys fails", check: checkSensitiveHostPath,
		set: map[string]string{pod + "volumes": "[{name: p, hostPath: {path: /proc/sys}}]"}, path: pod + "volumes[0].hostPath.path", msg: "system directory"},
	{name: "an application directory on the host is not sensitive", check: checkSensitiveHostPath,
		set: map[string]string{pod + "volumes": "[{name: cache, hostPath: {path: /data/cache}}]"}},

	{name: "a hostPort fails", check: checkHostPort,
		set: map[string]string{ctr + "ports": "[{name: http, containerPort: 8080, hostPort: 80}]"}, path: ctr + "ports[0].hostPort", msg: "binds host port 80"},
	{name: "a containerPort alone passes", check: checkHostPort},

	{name: "a Windows host process on the pod fails", check: checkHostProcess,
		set: map[string]string{psc + "windowsOptions": "{hostProcess: true}"}, path: psc + "windowsOptions.hostProcess", msg: "Windows host process"},
	{name: "hostProcess: false on the container overrides the pod and passes", check: checkHostProcess,
		set: map[string]string{psc + "windowsOptions": "{hostProcess: true}", csc + "windowsOptions": "{hostProcess: false}"}},

	{name: "procMount: Unmasked fails", check: checkProcMount,
		set: map[string]string{csc + "procMount": "Unmasked"}, path: csc + "procMount", msg: "Unmasked"},
	{name: "procMount: Default passes", check: checkProcMount, set: map[string]string{csc + "procMount": "Default"}},

	{name: "an unsafe sysctl fails", check: checkUnsafeSysctls,
		set:  map[string]string{psc + "sysctls": "[{name: net.ipv4.ip_local_port_range, value: '1024 65535'}, {name: kernel.msgmax, value: '65536'}]"},
		path: psc + "sysctls[1].name", msg: "kernel.msgmax"},
	{name: "a safe sysctl passes", check: checkUnsafeSysctls,
		set: map[string]string{psc + "sysctls": "[{name: net.ipv4.ip_local_port_range, value: '1024 65535'}]"}},

	{name: "an Unconfined seccomp profile on the pod fails for each container", check: checkUnconfinedProfile,
		set: map[string]string{psc + "seccompProfile": "{type: Unconfined}"}, path: psc + "seccompProfile.type", msg: "inherits the pod's seccompProfile"},
	{name: "an Unconfined AppArmor profile on the container fails", check: checkUnconfinedProfile,
		set: map[string]string{csc + "appArmorProfile": "{type: Unconfined}"}, path: csc + "appArmorProfile.type", msg: "appArmorProfile type Unconfined"},
	{name: "a RuntimeDefault container profile overrides an Unconfined pod and passes", check: checkUnconfinedProfile,
		set: map[string]string{psc + "seccompProfile": "{type: Unconfined}", csc + "seccompProfile": "{type: RuntimeDefault}"}},

	{name: "an untagged image fails", check: checkLatestTag, set: map[string]string{ctr + "image": "nginx"}, path: ctr + "image", msg: "without a tag"},
	{name: "an untagged image from a registry with a port fails", check: checkLatestTag,
		set: map[string]string{ctr + "image": "localhost:5000/web"}, path: ctr + "image", msg: "without a tag"},
	{name: "the latest tag fails", check: checkLatestTag, set: map[string]string{ctr + "image": "ghcr.io/acme/web:latest"}, path: ctr + "image", msg: "tag latest"},
	{name: "a version tag from a registry with a port passes", check: checkLatestTag, set: map[string]string{ctr + "image": "localhost:5000/web:1.0"}},
	{name: "a digest without a tag passes", check: checkLatestTag,
		set: map[string]string{ctr + "image": "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},

	{name: "a tag without digest fails where digests are required", check: checkImageDigest, opts: config.SecurityGate{RequireDigests: true},
		path: ctr + "image", msg: "not pinned by digest"},
	{name: "a digest passes where digests are required", check: checkImageDigest, opts: config.SecurityGate{RequireDigests: true},
		set: map[string]string{ctr + "image": "ghcr.io/acme/web:1.2.3@sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
	{name: "a tag passes where digests are not required", check: checkImageDigest},

	{name: "a lookalike registry path fails", check: checkUntrustedRegistry, opts: config.SecurityGate{TrustedRegistries: []string{"ghcr.io/acme"}},
		set: map[string]string{ctr + "image": "ghcr.io/acmeevil/web:1"}, path: ctr + "image", msg: "from ghcr.io"},
	{name: "a Docker Hub image fails when only ghcr.io/acme is trusted", check: checkUntrustedRegistry, opts: config.SecurityGate{TrustedRegistries: []string{"ghcr.io/acme/"}},
		set: map[string]string{ctr + "image": "nginx:1.27"}, path: ctr + "image", msg: "from docker.io"},
	{name: "an image under a trusted path passes", check: checkUntrustedRegistry, opts: config.SecurityGate{TrustedRegistries: []string{"ghcr.io/acme"}}},
	{name: "a short Docker Hub name passes when docker.io is trusted", check: checkUntrustedRegistry, opts: config.SecurityGate{TrustedRegistries: []string{"docker.io"}},
		set: map[string]string{ctr + "image": "nginx:1.27"}},

	{name: "a password in an env value fails, by name", check: checkEnvSecret,
		set: map[string]string{ctr + "env": "[{name: LOG_LEVEL, value: info}, {name: DB_PASSWORD, value: hunter2xyz}]"}, path: ctr + "env[1].value", msg: "sets DB_PASSWORD to a plain-text value"},
	{name: "a GitHub token in an innocently named variable fails, by value", check: checkEnvSecret,
		set: map[string]string{ctr + "env": "[{name: GH, value: ghp_0123456789abcdefABCDEF0123456789abcd}]"}, path: ctr + "env[0].value", msg: "a GitHub token"},
	{name: "a URL with a password fails", check: checkEnvSecret,
		set: map[string]string{ctr + "env": "[{name: DATABASE_URL, value: 'postgres://app:s3cr3tpw@db:5432/app'}]"}, path: ctr + "env[0].value", msg: "a URL with a password"},
	{name: "a random-looking value fails, by entropy", check: checkEnvSecret,
		set: map[string]string{ctr + "env": "[{name: UPSTREAM, value: q8ZbT3vKx9LmW2pRf7HdN4sYc6JgE1uA}]"}, path: ctr + "env[0].value", msg: "high entropy"},
	{name: "secret-sounding names holding paths, numbers, references and URLs pass", check: checkEnvSecret,
		set: map[string]string{ctr + "env": `[{name: DB_PASSWORD_FILE, value: /run/secrets/db}, {name: TOKEN_TTL, value: "3600"},
			{name: API_KEY, value: $(API_KEY_FROM_SECRET)}, {name: TOKEN_URL, value: 'https://auth.example.com/token'},
			{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}, {name: SECRET_NAME, value: db-credentials}]`}},
	{name: "ordinary values pass", check: checkEnvSecret,
		set: map[string]string{ctr + "env": `[{name: GIT_SHA, value: 3f786850e387550fdab836ed7e6dc881de23001b}, {name: TENANT, value: 123e4567-e89b-12d3-a456-426614174000},
			{name: KAFKA, value: 'kafka-0.kafka-headless.shop.svc.cluster.local:9092'}, {name: POOL, value: HikariPool1MaximumPoolSize20},
			{name: CLUSTER, value: US-East-1-Prod-Cluster-A7}, {name: JAVA_OPTS, value: '-Xmx512m -XX:+UseG1GC'}]`}},

	{name: "an env variable set twice fails at the second", check: checkDuplicateEnv,
		set: map[string]string{ctr + "env": "[{name: LOG_LEVEL, value: info}, {name: A, value: b}, {name: LOG_LEVEL, value: debug}]"}, path: ctr + "env[2].name", msg: "sets LOG_LEVEL again (first at env[0])"},
	{name: "distinct env variables pass", check: checkDuplicateEnv,
		set: map[string]string{ctr + "env": "[{name: LOG_LEVEL, value: info}, {name: A, value: b}]"}},

	{name: "a password key in a ConfigMap fails", check: checkConfigMapSecret,
		yaml: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}, data: {LOG_LEVEL: info, DB_PASSWORD: hunter2xyz}}`,
		path: "data.DB_PASSWORD", msg: "key DB_PASSWORD holds a plain-text value"},
	{name: "a password line in a properties file fails, with its line", check: checkConfigMapSecret,
		yaml: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}, data: {application.properties: "server.port=8080\nspring.datasource.password=hunter2xyz\n"}}`,
		path: `data["application.properties"]`, msg: "line 2 (spring.datasource.password)"},
	{name: "a private key in a ConfigMap fails", check: checkConfigMapSecret,
		yaml: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}, data: {tls.key: "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"}}`,
		path: `data["tls.key"]`, msg: "a private key"},
	{name: "ordinary configuration passes", check: checkConfigMapSecret,
		yaml: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: shop}, data: {LOG_LEVEL: debug,
			application.properties: "# password rules\npassword.policy.min-length=12\ntoken.url=https://auth.example.com/token\nspring.datasource.password=${DB_PASSWORD}\n",
			ca.crt: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"}}`},

	{name: "a Secret with data fails, listing its keys", check: checkSecretInClear,
		yaml: `{apiVersion: v1, kind: Secret, metadata: {name: db, namespace: shop}, data: {username: YXBw, password: aHVudGVyMg==}}`,
		path: "data", msg: "2 value(s) in clear text in data (password, username)"},
	{name: "a Secret with stringData fails", check: checkSecretInClear,
		yaml: `{apiVersion: v1, kind: Secret, metadata: {name: db, namespace: shop}, stringData: {password: hunter2}}`, path: "stringData", msg: "1 value(s)"},
	{name: "a SOPS-encrypted Secret passes", check: checkSecretInClear,
		yaml: `{apiVersion: v1, kind: Secret, metadata: {name: db, namespace: shop}, data: {password: "ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]"}, sops: {version: 3.8.1}}`},
	{name: "a Secret with no data passes", check: checkSecretInClear,
		yaml: `{apiVersion: v1, kind: Secret, metadata: {name: sa-token, namespace: shop, annotations: {kubernetes.io/service-account.name: web}}, type: kubernetes.io/service-account-token}`},

	{name: "a pod that does not turn off token automounting fails, naming its ServiceAccount", check: checkAutomountToken,
		set: map[string]string{pod + "automountServiceAccountToken": "null"}, path: pod + "automountServiceAccountToken", msg: `ServiceAccount "default"`},
	{name: "automountServiceAccountToken: true fails", check: checkAutomountToken,
		set: map[string]string{pod + "automountServiceAccountToken": "true"}, path: pod + "automountServiceAccountToken", msg: "sets automountServiceAccountToken: true"},
	{name: "a ServiceAccount in the rendering that turns automounting off passes", check: checkAutomountToken,
		yaml: hardenedDeployment + "---\n{apiVersion: v1, kind: ServiceAccount, metadata: {name: web, namespace: shop}, automountServiceAccountToken: false}",
		set:  map[string]string{pod + "automountServiceAccountToken": "null", pod + "serviceAccountName": "web"}},

	{name: "a wildcard verb in a Role fails", check: checkRBACWildcard,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: r, namespace: shop}, rules: [{apiGroups: [""], resources: [pods], verbs: ["*"]}]}`,
		path: "rules[0].verbs", msg: "every verb"},
	{name: "a wildcard resource in a ClusterRole fails", check: checkRBACWildcard,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}, rules: [{apiGroups: [""], resources: [pods], verbs: [get]}, {apiGroups: [apps], resources: ["*"], verbs: [get]}]}`,
		path: "rules[1].resources", msg: "rule 1 grants every resource"},
	{name: "explicit rules pass", check: checkRBACWildcard,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: r, namespace: shop}, rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]}`},

	{name: "a Role allowing pods/exec fails", check: checkPodExecAttach,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: r, namespace: shop}, rules: [{apiGroups: [""], resources: [pods, pods/exec], verbs: [get, create]}]}`,
		path: "rules[0].resources", msg: "allows pods/exec"},
	{name: "a RoleBinding to the built-in edit ClusterRole fails", check: checkPodExecAttach,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: b, namespace: shop}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}, subjects: [{kind: Group, name: devs}]}`,
		path: "roleRef.name", msg: "built-in ClusterRole edit"},
	{name: "listing pods/exec without get or create passes", check: checkPodExecAttach,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: r, namespace: shop}, rules: [{apiGroups: [""], resources: [pods, pods/exec], verbs: [list]}]}`},

	{name: "a ClusterRoleBinding to cluster-admin fails, naming its subjects", check: checkClusterAdminBinding,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: b}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}, subjects: [{kind: ServiceAccount, name: deployer, namespace: ops}]}`,
		path: "roleRef.name", msg: "grants cluster-admin to ServiceAccount ops/deployer"},
	{name: "a binding to a rendered ClusterRole that grants everything fails", check: checkClusterAdminBinding,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: b, namespace: shop}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: god}, subjects: [{kind: User, name: eve}]}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: god}, rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]}`,
		path: "roleRef.name", msg: "ClusterRole god, which allows every verb on every resource"},
	{name: "a binding to view passes", check: checkClusterAdminBinding,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRoleBinding, metadata: {name: b}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}, subjects: [{kind: Group, name: devs}]}`},

	{name: "a NodePort Service fails by default", check: checkServiceType,
		yaml: `{apiVersion: v1, kind: Service, metadata: {name: s, namespace: shop}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}}`,
		path: "spec.type", msg: "type NodePort"},
	{name: "a LoadBalancer Service fails where only ClusterIP is allowed", check: checkServiceType, opts: config.SecurityGate{AllowedServiceTypes: []string{}},
		yaml: `{apiVersion: v1, kind: Service, metadata: {name: s, namespace: shop}, spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}}`,
		path: "spec.type", msg: "type LoadBalancer"},
	{name: "a LoadBalancer Service passes by default", check: checkServiceType,
		yaml: `{apiVersion: v1, kind: Service, metadata: {name: s, namespace: shop}, spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}}`},
	{name: "a NodePort Service passes where allowed", check: checkServiceType, opts: config.SecurityGate{AllowedServiceTypes: []string{"NodePort"}},
		yaml: `{apiVersion: v1, kind: Service, metadata: {name: s, namespace: shop}, spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}}`},

	{name: "a container without a liveness probe fails", check: checkLivenessProbe,
		set: map[string]string{ctr + "livenessProbe": "null"}, path: ctr + "livenessProbe", msg: `container "web" has no liveness probe`},
	{name: "init containers and Jobs need no liveness probe", check: checkLivenessProbe,
		yaml: `{apiVersion: batch/v1, kind: Job, metadata: {name: j, namespace: shop}, spec: {template: {spec: {initContainers: [{name: i, image: i:1}], containers: [{name: c, image: c:1}]}}}}`},
	{name: "a container without a readiness probe fails", check: checkReadinessProbe,
		set: map[string]string{ctr + "readinessProbe": "null"}, path: ctr + "readinessProbe", msg: `container "web" has no readiness probe`},
	{name: "an init container needs no readiness probe", check: checkReadinessProbe,
		set: map[string]string{pod + "initContainers": "[{name: migrate, image: m:1}]"}},

	{name: "a probe naming an undeclared port fails", check: checkProbePort,
		set: map[string]string{ctr + "livenessProbe": "{httpGet: {path: /, port: metrics}}"}, path: ctr + "livenessProbe.httpGet.port", msg: `uses port "metrics"`},
	{name: "a probe on a numeric port passes", check: checkProbePort,
		set: map[string]string{ctr + "readinessProbe": "{tcpSocket: {port: 9090}}"}},

	{name: "a ConfigMap without a namespace fails", check: checkDefaultNamespace,
		yaml: `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: b}}`, path: "metadata.namespace", msg: "has no namespace"},
	{name: "a Deployment in the default namespace fails", check: checkDefaultNamespace,
		set: map[string]string{"metadata.namespace": "default"}, path: "metadata.namespace", msg: "is in the default namespace"},
	{name: "a namespaced custom resource without a namespace fails when its CRD is rendered", check: checkDefaultNamespace,
		yaml: `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}
---
{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.example.com}, spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}}`,
		path: "metadata.namespace", msg: "Widget has no namespace"},
	{name: "cluster-scoped objects and custom kinds of unknown scope pass", check: checkDefaultNamespace,
		yaml: `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: r}}
---
{apiVersion: cert-manager.io/v1, kind: ClusterIssuer, metadata: {name: letsencrypt}}`},

	{name: "port 22 fails", check: checkSSHPort,
		set: map[string]string{ctr + "ports": "[{name: ssh, containerPort: 22}]"}, path: ctr + "ports[0].containerPort", msg: "port 22"},
	{name: "port 22 over UDP passes", check: checkSSHPort,
		set: map[string]string{ctr + "ports": "[{name: x, containerPort: 22, protocol: UDP}]"}},

	{name: "serviceAccount differing from serviceAccountName fails", check: checkDeprecatedSAField,
		set: map[string]string{pod + "serviceAccount": "old", pod + "serviceAccountName": "new"}, path: pod + "serviceAccount", msg: `deprecated serviceAccount: old (serviceAccountName is "new")`},
	{name: "serviceAccount equal to serviceAccountName passes", check: checkDeprecatedSAField,
		set: map[string]string{pod + "serviceAccount": "web", pod + "serviceAccountName": "web"}},

	{name: "a ServiceAccount missing from the rendering fails", check: checkMissingServiceAccount,
		set: map[string]string{pod + "serviceAccountName": "web"}, path: pod + "serviceAccountName", msg: `ServiceAccount "web", which is not in the rendering`},
	{name: "a ServiceAccount in the same namespace passes", check: checkMissingServiceAccount,
		yaml: hardenedDeployment + "---\n{apiVersion: v1, kind: ServiceAccount, metadata: {name: web, namespace: shop}}",
		set:  map[string]string{pod + "serviceAccountName": "web"}},

	{name: "a selector that does not match the template fails", check: checkSelectorMismatch,
		set: map[string]string{"spec.selector": "{matchLabels: {app: api}}"}, path: "spec.selector", msg: "does not match"},
	{name: "a matchExpressions selector that matches passes", check: checkSelectorMismatch,
		set: map[string]string{"spec.selector": "{matchExpressions: [{key: app, operator: In, values: [web, api]}, {key: tier, operator: DoesNotExist}]}"}},

	{name: "a Service selecting no rendered pods fails", check: checkDanglingService,
		yaml: hardenedDeployment + "---\n{apiVersion: v1, kind: Service, metadata: {name: api, namespace: shop}, spec: {selector: {app: api}, ports: [{port: 80}]}}",
		path: "spec.selector", msg: "app=api matches no pod template"},
	{name: "a Service selecting pods of another namespace fails", check: checkDanglingService,
		yaml: hardenedDeployment + "---\n{apiVersion: v1, kind: Service, metadata: {name: web, namespace: other}, spec: {selector: {app: web}, ports: [{port: 80}]}}",
		path: "spec.selector", msg: `namespace "other"`},
	{name: "a Service selecting the Deployment's pods passes", check: checkDanglingService,
		yaml: hardenedDeployment + "---\n{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}}"},

	{name: "three replicas without spreading fail", check: checkAntiAffinity,
		set: map[string]string{"spec.replicas": "3"}, path: pod + "topologySpreadConstraints", msg: "3 replicas"},
	{name: "three replicas with a topology spread constraint pass", check: checkAntiAffinity,
		set: map[string]string{"spec.replicas": "3", pod + "topologySpreadConstraints": "[{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: web}}}]"}},

	{name: "maxUnavailable: 0 fails", check: checkPDBBlocksEviction,
		yaml: `{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: p, namespace: shop}, spec: {maxUnavailable: 0, selector: {matchLabels: {app: web}}}}`,
		path: "spec.maxUnavailable", msg: "maxUnavailable is 0"},
	{name: "minAvailable: 100% fails", check: checkPDBBlocksEviction,
		yaml: `{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: p, namespace: shop}, spec: {minAvailable: "100%", selector: {matchLabels: {app: web}}}}`,
		path: "spec.minAvailable", msg: "100%"},
	{name: "minAvailable equal to the selected workload's replicas fails", check: checkPDBBlocksEviction,
		yaml: "{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: p, namespace: shop}, spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}}\n---\n" + hardenedDeployment,
		path: "spec.minAvailable", msg: "runs 1 replica(s)"},
	{name: "maxUnavailable: 1 passes", check: checkPDBBlocksEviction,
		yaml: `{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: p, namespace: shop}, spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}}`},

	{name: "a PodDisruptionBudget without unhealthyPodEvictionPolicy is noted", check: checkPDBUnhealthyPodEviction,
		yaml: `{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: p, namespace: shop}, spec: {maxUnavailable: 1}}`,
		path: "spec.unhealthyPodEvictionPolicy", msg: "does not set unhealthyPodEvictionPolicy"},
	{name: "a PodDisruptionBudget with unhealthyPodEvictionPolicy passes", check: checkPDBUnhealthyPodEviction,
		yaml: `{apiVersion: policy/v1, kind: PodDisruptionBudget, metadata: {name: p, namespace: shop}, spec: {maxUnavailable: 1, unhealthyPodEvictionPolicy: AlwaysAllow}}`},

	{name: "an upper-case container port name fails", check: checkInvalidPortName,
		set: map[string]string{ctr + "ports": "[{name: HTTP_Port, containerPort: 8080}]"}, path: ctr + "ports[0].name", msg: `"HTTP_Port"`},
	{name: "a Service targetPort name with an underscore fails", check: checkInvalidPortName,
		yaml: `{apiVersion: v1, kind: Service, metadata: {name: s, namespace: shop}, spec: {selector: {app: web}, ports: [{port: 80, targetPort: web_http}]}}`,
		path: "spec.ports[0].targetPort", msg: `"web_http"`},
	{name: "valid port names and numeric targetPorts pass", check: checkInvalidPortName,
		yaml: hardenedDeployment + "---\n{apiVersion: v1, kind: Service, metadata: {name: s, namespace: shop}, spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}, {port: 81, targetPort: 8081}]}}"},
}

func TestSecurityChecks(t *testing.T) {
	for _, tc := range secCases {
		t.Run(tc.name, func(t *testing.T) {
			objs := secObjects(t, tc.yaml, tc.set)
			res := newSecurity(tc.opts).Evaluate(Input{Objects: objs})
			var got []Finding
			for _, f := range res.Findings {
				if f.Check == tc.check {
					got = append(got, f)
				}
			}
			if tc.path == "" {
				for _, f := range got {
					t.Errorf("want no %s finding, got %s: %s", tc.check, f.Path, f.Message)
				}
				return
			}
			for _, f := range got {
				if f.Path == tc.path && strings.Contains(f.Message, tc.msg) {
					if f.Severity != securityCheckByID[tc.check].Severity || f.Fix == "" || f.Object.Kind == "" {
						t.Errorf("finding %+v: want default severity, a fix and the object", f)
					}
					return
				}
			}
			t.Errorf("want a %s finding at %s containing %q; got %d:", tc.check, tc.path, tc.msg, len(got))
			for _, f := range got {
				t.Errorf("  %s: %s", f.Path, f.Message)
			}
		})
	}
}

// TestSecurityEveryCheckHasPassingAndFailingCases keeps secCases complete: a check without
// both cases could break silently.
func TestSecurityEveryCheckHasPassingAndFailingCases(t *testing.T) {
	pass, fail := map[string]bool{}, map[string]bool{}
	for _, tc := range secCases {
		if securityCheckByID[tc.check] == nil {
			t.Errorf("case %q names unknown check %q", tc.name, tc.check)
		}
		if tc.path == "" {
			pass[tc.check] = true
		} else {
			fail[tc.check] = true
		}
	}
	for _, c := range securityChecks {
		if !pass[c.ID] || !fail[c.ID] {
			t.Errorf("%s: want a passing and a failing case (have passing %v, failing %v)", c.ID, pass[c.ID], fail[c.ID])
		}
	}
}

func TestSecurityHardenedDeploymentHasNoFindings(t *testing.T) {
	res := newSecurity(config.SecurityGate{RequireDigests: false}).Evaluate(Input{Objects: secObjects(t, "", nil)})
	for _, f := range res.Findings {
		t.Errorf("%s at %s: %s", f.Check, f.Path, f.Message)
	}
	if res.Outcome != Pass || res.Gate != "security" {
		t.Errorf("result = %s %s, want security pass", res.Gate, res.Outcome)
	}
}

func TestSecurityFailsOnErrorsOnly(t *testing.T) {
	warnOnly := secObjects(t, "", map[string]string{csc + "readOnlyRootFilesystem": "null"})
	if res := newSecurity(config.SecurityGate{}).Evaluate(Input{Objects: warnOnly}); res.Outcome != Pass || !strings.Contains(res.Summary, "1 warnings") {
		t.Errorf("a warning only: got %s (%s), want pass with 1 warning", res.Outcome, res.Summary)
	}
	privileged := secObjects(t, "", map[string]string{csc + "privileged": "true"})
	if res := newSecurity(config.SecurityGate{}).Evaluate(Input{Objects: privileged}); res.Outcome != Fail {
		t.Errorf("a privileged container: got %s (%s), want fail", res.Outcome, res.Summary)
	}
}

func TestSecurityChecksAreListedWithDocs(t *testing.T) {
	idRE := regexp.MustCompile(`^security/[a-z0-9]+(-[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, c := range newSecurity(config.SecurityGate{}).Checks() {
		if !idRE.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("check ID %q: want unique security/<kebab-case>", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Why == "" || c.Fix == "" {
			t.Errorf("%s: want a title, why and fix", c.ID)
		}
		switch c.Severity {
		case Error, Warning, Info:
		default:
			t.Errorf("%s: severity %q", c.ID, c.Severity)
		}
	}
}

func TestSecretDetection(t *testing.T) {
	secrets := map[string]string{
		"hunter2xyz":                           "DB_PASSWORD",
		"s3cr3t-value":                         "client-secret",
		"postgres://app:pw123456@db/app":       "DATABASE_URL",
		"AKIAIOSFODNN7EXAMPLEX":                "X",
		"xoxb-1234567890-abcdefghijABCDEFGHIJ": "X",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U": "X",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n":                                                  "X",
		"q8ZbT3vKx9LmW2pRf7HdN4sYc6JgE1uA":                                                             "X",
		"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdI":                                                     "X",
		"pa55word-here": "dbPassword",
	}
	for value, name := range secrets {
		if why := secSecretLike(name, value); why == "" {
			t.Errorf("%s=%q: not flagged, want flagged", name, value)
		} else if strings.Contains(why, value) {
			t.Errorf("%s: reason %q repeats the value", name, why)
		}
	}
	ordinary := map[string]string{
		"info": "LOG_LEVEL", "3f786850e387550fdab836ed7e6dc881de23001b": "GIT_SHA",
		"123e4567-e89b-12d3-a456-426614174000": "TENANT_ID", "MyApplicationConfiguration2024": "APP",
		"OrgApacheKafkaCommonSerializationStringSerializer": "SERIALIZER", "ProductionEuropeWest1Cluster": "CLUSTER",
		"HikariPool1MaximumPoolSize20": "POOL", "AKS-Prod-WestEurope-01": "CLUSTER", "ItemsV2ControllerHandler1": "HANDLER",
		"ProjectsMyProject123TopicsEvents": "TOPIC", "Europe_Berlin_Timezone_2024": "TZ", "RSA-SHA256-PKCS1v15-Sig": "ALG",
		"https://user@example.com/path": "URL", "postgres://app:$(DB_PASSWORD)@db/app": "DATABASE_URL",
		"/var/run/secrets/token": "TOKEN_PATH", "db-credentials": "SECRET_NAME", "true": "SECRET_ENABLED",
		"3600": "TOKEN", "": "PASSWORD", "${VAULT_TOKEN}": "VAULT_TOKEN", "<changeme>": "PASSWORD",
		"GITHUB_TOKEN": "tokenEnv", "/etc/stagegate/token": "tokenFile",
		"ghcr.io/acme/web:1.2.3@sha256:0000000000000000000000000000000000000000000000000000000000000000": "IMAGE",
	}
	for value, name := range ordinary {
		if why := secSecretLike(name, value); why != "" {
			t.Errorf("%s=%q: flagged as %s, want not flagged", name, value, why)
		}
	}
}

// secObjects decodes a YAML stream (hardenedDeployment when empty) and applies set to the first
// object.
func secObjects(t testing.TB, stream string, set map[string]string) render.Objects {
	t.Helper()
	if stream == "" {
		stream = hardenedDeployment
	}
	var objs render.Objects
	for _, doc := range strings.Split(stream, "\n---\n") {
		objs = append(objs, secObject(t, doc))
	}
	for path, value := range set {
		var v any
		if err := yaml.Unmarshal([]byte(value), &v); err != nil {
			t.Fatalf("bad value for %s: %v", path, err)
		}
		secSet(t, objs[0].Content, path, v)
	}
	return objs
}

var segmentRE = regexp.MustCompile(`^([^\[]+)(?:\[(\d+)\])?$`)

// secSet sets (or, for nil, deletes) the field at a path like "spec.containers[0].image".
func secSet(t testing.TB, m map[string]any, path string, v any) {
	t.Helper()
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		parts := segmentRE.FindStringSubmatch(seg)
		if parts == nil {
			t.Fatalf("bad path %s", path)
		}
		key, last := parts[1], i == len(segs)-1
		if parts[2] == "" {
			if last {
				if v == nil {
					delete(m, key)
				} else {
					m[key] = v
				}
				return
			}
			next, ok := m[key].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[key] = next
			}
			m = next
			continue
		}
		n, _ := strconv.Atoi(parts[2])
		list, _ := m[key].([]any)
		if n >= len(list) || last {
			t.Fatalf("path %s: %s has %d items; set the whole list instead", path, key, len(list))
		}
		m = list[n].(map[string]any)
	}
}

func BenchmarkSecurity(b *testing.B) {
	for _, n := range []int{1500, 15000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			objs := secBenchObjects(b, n)
			g := newSecurity(config.SecurityGate{RequireDigests: true})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				g.Evaluate(Input{Objects: objs})
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// secBenchObjects makes a rendering shaped like a real one: per application a Deployment, a
// Service, a ConfigMap, a ServiceAccount and a Secret-free set of RBAC objects.
func secBenchObjects(b *testing.B, n int) render.Objects {
	templates := []string{
		hardenedDeployment,
		`{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}}`,
		`{apiVersion: v1, kind: ConfigMap, metadata: {name: web, namespace: shop}, data: {LOG_LEVEL: info, application.properties: "server.port=8080\nspring.datasource.url=jdbc:postgresql://db:5432/app\nspring.datasource.password=${DB_PASSWORD}\n"}}`,
		`{apiVersion: v1, kind: ServiceAccount, metadata: {name: web, namespace: shop}, automountServiceAccountToken: false}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: web, namespace: shop}, rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}]}`,
	}
	var objs render.Objects
	for i := 0; len(objs) < n; i++ {
		for _, tpl := range templates {
			if len(objs) == n {
				break
			}
			o := secObject(b, strings.ReplaceAll(tpl, "shop", "ns"+strconv.Itoa(i%100)))
			objs = append(objs, o)
		}
	}
	return objs
}

// FuzzSecurity feeds arbitrary YAML to the gate: whatever a repository holds, it must not panic.
func FuzzSecurity(f *testing.F) {
	for _, tc := range secCases {
		if tc.yaml != "" {
			f.Add(tc.yaml)
		}
	}
	f.Add(hardenedDeployment)
	f.Add(`{kind: Deployment, spec: {template: {spec: {containers: [1, {securityContext: [x]}], volumes: [{hostPath: 3}], securityContext: {sysctls: [1]}}}}}`)
	f.Add(`{kind: Pod, spec: {containers: [{image: "@", env: [{name: 1, value: 2}], ports: [{name: 3}], livenessProbe: {httpGet: {port: ""}}}]}}`)
	g := newSecurity(config.SecurityGate{RequireDigests: true, TrustedRegistries: []string{"ghcr.io"}})
	f.Fuzz(func(t *testing.T, stream string) {
		var objs render.Objects
		for _, doc := range strings.Split(stream, "\n---\n") {
			var m map[string]any
			if yaml.Unmarshal([]byte(doc), &m) != nil || m == nil {
				continue
			}
			objs = append(objs, render.Object{Content: m})
		}
		g.Evaluate(Input{Objects: objs})
	})
}
