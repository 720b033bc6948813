package gates

import (
	"fmt"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
	"github.com/stagegate-dev/stagegate/render"
)

// benchApp is one application as teams ship it: ten objects, a mix of workloads, networking,
// configuration and RBAC, each with the fields real manifests carry.
const benchApp = `apiVersion: v1
kind: ServiceAccount
metadata: {name: app%[1]d, namespace: ns%[2]d, labels: {app: app%[1]d}}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app%[1]d-config, namespace: ns%[2]d, labels: {app: app%[1]d}}
data: {LOG_LEVEL: info, FEATURE_FLAGS: "checkout,search", UPSTREAM_URL: "http://upstream.ns%[2]d.svc:8080"}
---
apiVersion: v1
kind: Service
metadata: {name: app%[1]d, namespace: ns%[2]d, labels: {app: app%[1]d}}
spec:
  selector: {app: app%[1]d}
  ports: [{name: http, port: 80, targetPort: http, protocol: TCP}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app%[1]d
  namespace: ns%[2]d
  labels: {app: app%[1]d, app.kubernetes.io/part-of: shop}
  annotations: {stagegate.dev/waive: "security/anti-affinity: spread by the scheduler profile"}
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector: {matchLabels: {app: app%[1]d}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%%, maxUnavailable: 0}}
  template:
    metadata: {labels: {app: app%[1]d}, annotations: {prometheus.io/scrape: "true"}}
    spec:
      serviceAccountName: app%[1]d
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: app%[1]d}}}
      initContainers:
      - name: migrate
        image: registry.example.com/app%[1]d-migrate@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
        args: [migrate, --wait]
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {cpu: 200m, memory: 128Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
      containers:
      - name: app
        image: registry.example.com/app%[1]d@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
        args: [serve, --port=8080]
        ports: [{name: http, containerPort: 8080, protocol: TCP}]
        env:
        - {name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: app%[1]d-config, key: LOG_LEVEL}}}
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: app%[1]d-db, key: password}}}
        resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}
        readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 5}
        livenessProbe: {httpGet: {path: /live, port: http}, initialDelaySeconds: 10}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes: [{name: tmp, emptyDir: {sizeLimit: 64Mi}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: app%[1]d, namespace: ns%[2]d}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app%[1]d}
  minReplicas: 3
  maxReplicas: 6
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: app%[1]d, namespace: ns%[2]d}
spec: {minAvailable: 2, selector: {matchLabels: {app: app%[1]d}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app%[1]d, namespace: ns%[2]d}
spec:
  ingressClassName: nginx
  tls: [{hosts: [app%[1]d.example.com], secretName: app%[1]d-tls}]
  rules:
  - host: app%[1]d.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: app%[1]d, port: {name: http}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: app%[1]d, namespace: ns%[2]d}
spec:
  podSelector: {matchLabels: {app: app%[1]d}}
  policyTypes: [Ingress]
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}}], ports: [{port: 8080, protocol: TCP}]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app%[1]d, namespace: ns%[2]d}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: app%[1]d, namespace: ns%[2]d}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app%[1]d}
subjects: [{kind: ServiceAccount, name: app%[1]d, namespace: ns%[2]d}]
`

// benchObjects generates n objects (a multiple of ten): n/10 applications over n/100 namespaces.
func benchObjects(b testing.TB, n int) render.Objects {
	var objs render.Objects
	for i := range n / 10 {
		app, err := gatestest.Parse(fmt.Sprintf("apps/app%d.yaml", i), fmt.Appendf(nil, benchApp, i, i/10))
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, app...)
	}
	objs.Sort()
	return objs
}

// staticGates are the gates every promotion runs before anything that needs the forge or a
// cluster: schema, apis, security (when built) and resources with a budget.
func staticGates(b testing.TB) *Set {
	set, err := For(config.Environment{Name: "bench", Gates: config.Gates{
		Schema:    &config.SchemaGate{},
		APIs:      &config.APIsGate{KubernetesVersion: "1.33"},
		Security:  &config.SecurityGate{},
		Resources: &config.ResourcesGate{MinReplicas: 2, Budget: &config.Budget{CPU: "10000", Memory: "10Ti"}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// BenchmarkStaticGates evaluates the static gates on 1,500 and 15,000 objects. objects/s is per
// core: Evaluate runs the gates one after another on one goroutine.
func BenchmarkStaticGates(b *testing.B) {
	for _, n := range []int{1500, 15000} {
		objs := benchObjects(b, n)
		set := staticGates(b)
		in := Input{Env: config.Environment{Name: "bench"}, Objects: objs, KubernetesVersion: "1.33"}
		if v, _ := Verdict(set.Evaluate(in)); v != Pass {
			var report []Result
			for _, r := range set.Evaluate(in) {
				if r.Outcome != Pass {
					report = append(report, r)
				}
			}
			b.Fatalf("the benchmark's objects should pass; %d objects: %+v", n, report[0].Findings[:min(3, len(report[0].Findings))])
		}
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				set.Evaluate(in)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// BenchmarkGate measures each static gate alone on 1,500 and 15,000 objects.
func BenchmarkGate(b *testing.B) {
	for _, n := range []int{1500, 15000} {
		objs := benchObjects(b, n)
		in := Input{Objects: objs, KubernetesVersion: "1.33"}
		for _, g := range staticGates(b).gates {
			b.Run(fmt.Sprintf("%s/objects=%d", g.Name(), n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					g.Evaluate(in)
				}
				b.ReportMetric(float64(len(objs))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
			})
		}
	}
}
