package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func TestRollbackTrailers(t *testing.T) {
	plan := RollbackPlan{Env: "prod", Target: Branch{"env/prod", "head"}, To: gitsource.Commit{SHA: "to"}, ProposedDigest: "sha256:d"}
	env := config.Environment{Name: "prod", Branch: "env/prod", Rollback: &config.Rollback{Approvals: 1}}
	c := &Controller{Pipeline: config.Pipeline{Metadata: config.Metadata{Name: "shop"}}}
	p := c.rollbackPromotion(env, plan, "rb", &gitsource.Pause{By: "carol"})
	p.request = &gitsource.Request{Number: 7}
	p.facts.Request = p.request
	p.facts.Reviews = []gitsource.Review{{User: "alice", State: "APPROVED", CommitSHA: "rb"}, {User: "carol", State: "APPROVED", CommitSHA: "rb"}}
	p.report = gates.Report{Results: []gates.Result{{Gate: "approvals", Outcome: gates.Pass}}}

	for _, tc := range []struct {
		name string
		got  []gitsource.Trailer
		want []gitsource.Trailer
	}{
		{"the rollback commit says what it rolls back and to what", rollbackCommitTrailers(plan), []gitsource.Trailer{
			{Key: "Stagegate-Rollback-To", Value: "to"}, {Key: "Stagegate-Rolls-Back", Value: "head"}, {Key: "Stagegate-Rendered", Value: "sha256:d"},
		}},
		{"its merge adds the verdicts, the approvers (not who asked) and the request", c.rollbackTrailers(p, plan), []gitsource.Trailer{
			{Key: "Stagegate-Source", Value: "env/prod@to"}, {Key: "Stagegate-Rollback-To", Value: "to"}, {Key: "Stagegate-Rolls-Back", Value: "head"},
			{Key: "Stagegate-Rendered", Value: "sha256:d"}, {Key: "Stagegate-Gate", Value: "approvals=pass"},
			{Key: "Stagegate-Approved-By", Value: "alice"}, {Key: "Stagegate-Request", Value: "#7"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("trailers (-want +got):\n%s", diff)
			}
		})
	}
}
