package gates

import (
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

func TestPolicyRules(t *testing.T) {
	objs := gatestest.Objects(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {team: checkout}}
spec: {replicas: 1, template: {spec: {containers: [{name: web, image: "web:1.2", resources: {limits: {memory: 2Gi}}}]}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
data: {a: b}
`)
	for _, tc := range []struct {
		name string
		rule config.PolicyRule
		want []string // "object: message"
	}{
		{"a passing rule", config.PolicyRule{Expression: "object.kind != ''"}, nil},
		{"a failing rule with a message", config.PolicyRule{Match: config.PolicyMatch{Kinds: []string{"Deployment"}},
			Expression: "object.spec.replicas >= 2", Message: "run at least 2 replicas"},
			[]string{"Deployment shop/web: run at least 2 replicas"}},
		{"a message expression", config.PolicyRule{Match: config.PolicyMatch{Groups: []string{"apps"}},
			Expression: "object.spec.replicas >= 2", MessageExpression: "'replicas is ' + string(object.spec.replicas)"},
			[]string{"Deployment shop/web: replicas is 1"}},
		{"match by namespace skips cluster-scoped objects", config.PolicyRule{Match: config.PolicyMatch{Namespaces: []string{"*"}},
			Expression: "object.metadata.namespace == 'shop'"},
			[]string{"ConfigMap other/settings: failed rule: object.metadata.namespace == 'shop'"}},
		{"match by label", config.PolicyRule{Match: config.PolicyMatch{Labels: map[string]string{"team": "checkout"}},
			Expression: "false", Message: "no"}, []string{"Deployment shop/web: no"}},
		{"the Kubernetes CEL libraries: quantity", config.PolicyRule{Match: config.PolicyMatch{Kinds: []string{"Deployment"}},
			Expression: "object.spec.template.spec.containers.all(c, quantity(c.resources.limits.memory).isLessThan(quantity('1Gi')))", Message: "memory limit over 1Gi"},
			[]string{"Deployment shop/web: memory limit over 1Gi"}},
		{"a missing field fails closed", config.PolicyRule{Match: config.PolicyMatch{Kinds: []string{"ConfigMap"}},
			Expression: "object.spec.replicas > 0"},
			[]string{"ConfigMap other/settings: rule could not be evaluated: no such key: spec"}},
		{"the cost limit stops a runaway rule", config.PolicyRule{Match: config.PolicyMatch{Kinds: []string{"Namespace"}},
			Expression: "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a+b+c+d+e+f > 0))))))"},
			[]string{"Namespace shop: rule could not be evaluated: operation cancelled: actual cost limit exceeded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Name = "rule"
			g, errs := newPolicy(config.PolicyGate{Rules: []config.PolicyRule{tc.rule}}, "gates.policy")
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			res := g.Evaluate(Input{Objects: objs})
			var got []string
			for _, f := range res.Findings {
				if f.Check != "policy/rule" || f.Severity != Error {
					t.Errorf("finding %+v: want check policy/rule, severity error", f)
				}
				got = append(got, f.Object.String()+": "+f.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
