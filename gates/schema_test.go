package gates

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"

	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 8080}]
        resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: "1", memory: 256Mi}}
        readinessProbe: {httpGet: {path: /, port: http}}
`

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, blue]}
`

// TestSchemaChecks has, for each check, an object that passes and one that fails it.
func TestSchemaChecks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		manifests string
		want      []string // "check path" of each finding
	}{
		{"a valid Deployment passes", deployment, nil},
		{"a misspelt field is unknown", strings.Replace(deployment, "image: nginx", "imagee: nginx", 1),
			[]string{"schema/unknown-field spec.template.spec.containers[0].imagee"}},
		{"a quoted integer has the wrong type", strings.Replace(deployment, "replicas: 2", `replicas: "2"`, 1),
			[]string{"schema/wrong-type spec.replicas"}},
		{"an integer out of range has the wrong type", strings.Replace(deployment, "replicas: 2", `replicas: 9999999999`, 1),
			[]string{"schema/wrong-type spec.replicas"}},
		{"a bad quantity has the wrong type", strings.Replace(deployment, "cpu: 100m", "cpu: lots", 1),
			[]string{"schema/wrong-type spec.template.spec.containers[0].resources.requests.cpu"}},
		{"a mapping where a list belongs has the wrong type", strings.Replace(deployment, "ports: [{containerPort: 8080}]", "ports: {containerPort: 8080}", 1),
			[]string{"schema/wrong-type spec.template.spec.containers[0].ports"}},
		{"an object without a name", strings.Replace(deployment, "name: web, namespace", "namespace", 1),
			[]string{"schema/missing-name metadata.name"}},
		{"an object without a kind", "apiVersion: v1\nmetadata: {name: x}\n", []string{"schema/missing-type "}},
		{"an unknown kind is a warning", "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: x}\n", []string{"schema/unknown-kind "}},
		{"a custom resource that fits its CRD passes", crd + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {size: 3, color: red}\n", nil},
		{"a custom resource that breaks its CRD", crd + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop, labelz: {}}\nspec: {size: 0, color: green, shape: round}\n",
			[]string{"schema/invalid-value spec.color", "schema/invalid-value spec.size", "schema/unknown-field metadata.labelz", "schema/unknown-field spec.shape"}},
		{"a custom resource missing a required field", crd + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {color: red}\n",
			[]string{"schema/invalid-value spec.size"}},
		{"a custom resource with a wrong type", crd + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: big}\n",
			[]string{"schema/wrong-type spec.size"}},
		{"a CRD with a non-structural schema", strings.Replace(crd, "color: {type: string, enum: [red, blue]}", "color: {enum: [red, blue]}", 1),
			[]string{"schema/invalid-crd spec.versions[0].schema.openAPIV3Schema"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := schemaGate{}.Evaluate(Input{Objects: gatestest.Objects(t, tc.manifests)})
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.Check+" "+f.Path)
			}
			sortStrings(got)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s\n(%+v)", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), res.Findings)
			}
		})
	}
}

// TestSchemaAgreesWithStrictDecoding holds the shape walk to the verdict of the strict JSON
// decoder the API server uses: for each manifest, both accept it or both refuse it.
func TestSchemaAgreesWithStrictDecoding(t *testing.T) {
	for _, m := range []string{
		deployment,
		strings.Replace(deployment, "image: nginx", "imagee: nginx", 1),
		strings.Replace(deployment, "replicas: 2", `replicas: "2"`, 1),
		strings.Replace(deployment, "replicas: 2", `replicas: 2.5`, 1),
		strings.Replace(deployment, "replicas: 2", `replicas: 2147483648`, 1),
		strings.Replace(deployment, "replicas: 2", `replicas: null`, 1),
		strings.Replace(deployment, "cpu: 100m", "cpu: 0.5", 1),
		strings.Replace(deployment, "cpu: 100m", "cpu: 1e3", 1),
		strings.Replace(deployment, "cpu: 100m", "cpu: 1x", 1),
		strings.Replace(deployment, "port: http", "port: 8080", 1),
		strings.Replace(deployment, "port: http", "port: 80.5", 1),
		strings.Replace(deployment, "port: http", "port: true", 1),
		strings.Replace(deployment, "labels: {app: web}}\nspec", "labels: {app: 1}}\nspec", 1),
		strings.Replace(deployment, "metadata: {name: web,", "metadata: {creationTimestamp: '2024-01-02T03:04:05Z', name: web,", 1),
		strings.Replace(deployment, "metadata: {name: web,", "metadata: {creationTimestamp: yesterday, name: web,", 1),
		strings.Replace(deployment, "metadata: {name: web,", "metadata: {creationTimestamp: null, name: web,", 1),
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: aGVsbG8=}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: 'not base64!'}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: 1}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\nbinaryData: {b: aGVsbG8=}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, targetPort: web}], type: ClusterIP}\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: '* * * * *', jobTemplate: {spec: {template: {spec: {containers: [{name: a, image: b}], restartPolicy: Never}}}}}\n",
		"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n}\nspec: {podSelector: {}, policyTypes: [Ingress], ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]}\n",
		crd,
		strings.Replace(crd, "served: true", "served: yes please", 1),
		strings.Replace(crd, "minimum: 1", "minimum: 1, foo: bar", 1),
	} {
		objs := gatestest.Objects(t, m)
		for _, o := range objs {
			gv, _ := schema.ParseGroupVersion(o.APIVersion())
			typ, ok := builtinTypes()[gv.WithKind(o.Kind())]
			if !ok {
				t.Fatalf("no type for %s", o.APIVersion())
			}
			var problems []decodeProblem
			shapeOf(typ).check(o.Content, nil, &problems)
			b, _ := json.Marshal(o.Content)
			strict, err := kjson.UnmarshalStrict(b, reflect.New(typ).Interface())
			decoderRefuses := err != nil || len(strict) > 0
			if (len(problems) > 0) != decoderRefuses {
				t.Errorf("walk found %v; strict decoder says %v %v\n%s", problems, err, strict, m)
			}
		}
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}
