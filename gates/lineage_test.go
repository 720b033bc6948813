package gates

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// forgeNow is the fixed evaluation time of the forge gates' tests: Monday 23 November 2026,
// 12:00 UTC.
var forgeNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// evaluateOne runs one gate through a Set, as the agent does, so summaries and outcomes are the
// ones a user sees after overrides.
func evaluateOne(t *testing.T, g Gate, in Input) Result {
	t.Helper()
	res := New(g).Evaluate(in)
	if len(res) != 1 {
		t.Fatalf("got %d results, want 1", len(res))
	}
	return res[0]
}

func TestLineage(t *testing.T) {
	hotfix := gitsource.Commit{SHA: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", Author: "Alice", AuthorEmail: "alice@example.com", Subject: "hotfix: raise web memory"}
	second := gitsource.Commit{SHA: "ffeeddccbbaa99887766554433221100ffeeddcc", Author: "Bob", Subject: "prod: rotate TLS secret"}
	facts := func(missing ...gitsource.Commit) *ForgeFacts {
		f := &ForgeFacts{SourceBranch: "env/staging", TargetBranch: "env/prod"}
		f.MissingFromSource = missing
		if len(missing) > 0 {
			f.MissingPaths = []string{"overlays/prod/web.yaml", "overlays/prod/tls.yaml"}
		}
		return f
	}
	for _, tc := range []struct {
		name        string
		forge       *ForgeFacts
		want        Outcome
		summary     string
		findings    int
		messageHave []string
	}{
		{"without promotion facts there is nothing to revert", nil, Pass, "not a promotion: nothing on the target to revert", 0, nil},
		{"a target with nothing of its own passes", facts(), Pass, "env/staging has every change of env/prod", 0, nil},
		{"one hotfix on the target fails and names the commit, its author and the files", facts(hotfix), Fail,
			"env/prod has 1 commit missing from env/staging, changing overlays/prod/web.yaml, overlays/prod/tls.yaml; back-port them first", 1,
			[]string{"a1b2c3d", `"hotfix: raise web memory"`, "Alice <alice@example.com>", "overlays/prod/web.yaml"}},
		{"two hotfixes give a finding each", facts(hotfix, second), Fail,
			"env/prod has 2 commits missing from env/staging, changing overlays/prod/web.yaml, overlays/prod/tls.yaml; back-port them first", 2,
			[]string{"ffeeddc", "by Bob"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluateOne(t, newLineage(config.LineageGate{}), Input{Now: forgeNow, Forge: tc.forge})
			if r.Outcome != tc.want || r.Summary != tc.summary {
				t.Errorf("got %s %q, want %s %q", r.Outcome, r.Summary, tc.want, tc.summary)
			}
			if len(r.Findings) != tc.findings {
				t.Fatalf("got %d findings, want %d: %+v", len(r.Findings), tc.findings, r.Findings)
			}
			all := ""
			for _, f := range r.Findings {
				if f.Check != CheckMissingCommit || f.Severity != Error || !strings.Contains(f.Fix, "git cherry-pick -x") {
					t.Errorf("finding %+v: want an error %s with a cherry-pick fix", f, CheckMissingCommit)
				}
				all += f.Message + "\n"
			}
			for _, s := range tc.messageHave {
				if !strings.Contains(all, s) {
					t.Errorf("findings lack %q:\n%s", s, all)
				}
			}
		})
	}
}

func TestLineageIsOnForEveryPromotedEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     config.Environment
		wantRun []string
	}{
		{"the first environment is never promoted into, so it runs no lineage gate",
			config.Environment{Name: "dev"}, nil},
		{"an environment promoted into runs lineage without asking",
			config.Environment{Name: "staging", Promote: &config.Promote{}}, []string{"lineage"}},
		{"disabled: true turns it off",
			config.Environment{Name: "staging", Promote: &config.Promote{}, Gates: config.Gates{Lineage: &config.LineageGate{Disabled: true}}}, nil},
		{"promote.approvals alone runs the approvals gate",
			config.Environment{Name: "prod", Promote: &config.Promote{Approvals: 2}}, []string{"approvals", "lineage"}},
		{"every forge gate runs in a fixed order after the object gates",
			config.Environment{Name: "prod", Promote: &config.Promote{}, Gates: config.Gates{
				Schema: &config.SchemaGate{}, Lineage: &config.LineageGate{}, Soak: &config.SoakGate{},
				Window: &config.WindowGate{}, Checks: &config.ChecksGate{Required: []string{"ci"}}, Approvals: &config.ApprovalsGate{},
			}}, []string{"schema", "approvals", "checks", "window", "soak", "lineage"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := For(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantRun, s.Gates(), cmpEmptyIsNil); diff != "" {
				t.Errorf("gates (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmptyIsNil = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())
