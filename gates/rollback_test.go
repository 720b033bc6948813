package gates

import (
	"slices"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
)

func TestRollbackGates(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  config.Environment
		want []string
	}{
		{"no rollback block: no gates", config.Environment{Name: "prod", Promote: &config.Promote{Approvals: 2}, Gates: config.Gates{Schema: &config.SchemaGate{}}}, nil},
		{"the rollback's gates, not the promotion's, and no lineage", config.Environment{Name: "prod", Promote: &config.Promote{Approvals: 2},
			Rollback: &config.Rollback{Gates: config.Gates{Schema: &config.SchemaGate{}}}}, []string{"schema"}},
		{"rollback approvals run the approvals gate", config.Environment{Name: "prod", Rollback: &config.Rollback{Approvals: 1}}, []string{"approvals"}},
		{"lineage when asked for", config.Environment{Name: "prod", Rollback: &config.Rollback{Gates: config.Gates{Lineage: &config.LineageGate{}}}}, []string{"lineage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ForRollback(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Gates(); !slices.Equal(got, tc.want) {
				t.Errorf("gates = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRollbackEnvTakesTheRollbacksPolicy(t *testing.T) {
	env := RollbackEnv(config.Environment{Name: "prod", Promote: &config.Promote{Auto: true, Approvals: 2, MergeMethod: config.MergeRebase},
		Gates: config.Gates{Schema: &config.SchemaGate{}}, Rollback: &config.Rollback{Approvals: 1}})
	if env.Promote.Auto || env.Promote.Approvals != 1 || env.Promote.MergeMethod != config.MergeMerge || env.Gates.Schema != nil {
		t.Errorf("RollbackEnv = %+v %+v; want the rollback's policy, merged with a merge commit (a rebase would drop the trailers)", env.Promote, env.Gates)
	}
}

func TestValidateReportsRollbackGatesWithTheirPath(t *testing.T) {
	p := config.Pipeline{Spec: config.Spec{Environments: []config.Environment{{Name: "dev"}, {Name: "prod", Promote: &config.Promote{},
		Rollback: &config.Rollback{Gates: config.Gates{Policy: &config.PolicyGate{Rules: []config.PolicyRule{{Name: "x", Expression: "object.("}}}}}}}}}
	errs := Validate(p)
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "spec.environments[1].rollback.gates.policy") {
		t.Errorf("Validate = %v; want the rollback's bad rule with its path", errs)
	}
}
