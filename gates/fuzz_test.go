package gates

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

// FuzzEvaluate feeds arbitrary YAML through every static gate, a policy rule and every report
// format: manifests are untrusted input, and no manifest may panic the agent or stall it.
// The seed corpus is testdata/fuzz/FuzzEvaluate plus the report fixture.
func FuzzEvaluate(f *testing.F) {
	fixture, err := os.ReadFile("testdata/report/input.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add([]byte(deployment))
	f.Add([]byte(crd + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: x}\n"))
	set, err := For(config.Environment{Name: "fuzz", Gates: config.Gates{
		Schema:    &config.SchemaGate{},
		APIs:      &config.APIsGate{},
		Security:  &config.SecurityGate{},
		Resources: &config.ResourcesGate{MinReplicas: 2, Budget: &config.Budget{CPU: "1", Memory: "1Gi", Replicas: 3}},
		Policy: &config.PolicyGate{Rules: []config.PolicyRule{{
			Name: "replicas", Expression: "!has(object.spec) || !has(object.spec.replicas) || object.spec.replicas >= 2",
			MessageExpression: "object.kind + ' ' + object.metadata.name",
		}}},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := gatestest.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		start := time.Now()
		in := Input{Env: config.Environment{Name: "fuzz"}, Objects: objs}
		results := set.Evaluate(in)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("evaluating %d bytes took %v", len(data), d)
		}
		r := NewReport(in, set, results)
		for _, format := range Formats {
			if err := r.Write(io.Discard, format, true); err != nil {
				t.Errorf("%s report: %v", format, err)
			}
		}
	})
}
