package controller_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func rollbackProposal(n, lines int) controller.RollbackProposal {
	pr := proposal(n, lines)
	return controller.RollbackProposal{
		Plan: controller.RollbackPlan{
			Pipeline: "shop", Env: "staging", Target: pr.Promotion.Target,
			To:      gitsource.Commit{SHA: srcSHA, Subject: "Promote 1234567 to staging (#4)"},
			Undone:  []gitsource.Commit{{SHA: tgtSHA, Author: "stagegate", Subject: "Promote 7654321 to staging (#5)"}},
			Changes: pr.Promotion.Changes, CurrentDigest: "sha256:bad", ProposedDigest: "sha256:good",
		},
		SHA:           "5555555555555555555555555555555555555555",
		Pause:         &gitsource.Pause{By: "carol", At: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC), Reason: "rollback of staging to 1a2b3c4"},
		ResumeCommand: "stagegate resume --config stagegate.yaml --pipeline shop --env staging",
		Trailers:      []gitsource.Trailer{{Key: "Stagegate-Rollback-To", Value: srcSHA}, {Key: "Stagegate-Request", Value: "#6"}},
	}
}

func TestRollbackBody(t *testing.T) {
	r := rollbackProposal(2, 3)
	body := controller.RollbackBody(r)
	for _, want := range []string{
		"> ⏸️ **Paused:** automatic promotion into staging is paused since 2026-11-23 14:00 UTC by carol: rollback of staging to 1a2b3c4. `stagegate resume --config stagegate.yaml --pipeline shop --env staging` resumes it.\n\n## Roll back staging to `1a2b3c4`",
		"undoing 1 commit: 2 objects change. The agent runs the rollback gates on its next cycle.",
		"### Commits rolled back\n\n- `9f8e7d6` stagegate — Promote 7654321 to staging (#5)",
		"### Rendered diff (current → rolled back)",
		"| rolls back to | `" + srcSHA + "` |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if !strings.HasSuffix(body, "\nStagegate-Rollback-To: "+srcSHA+"\nStagegate-Request: #6\n") {
		t.Errorf("body does not end with the trailers:\n%s", body)
	}

	r.Gates = gates.Report{Verdict: gates.Pass, Results: []gates.Result{{Gate: "schema", Outcome: gates.Pass, Summary: "ok"}}}
	r.Pause = nil
	body = controller.RollbackBody(r)
	if strings.Contains(body, "Paused") || !strings.Contains(body, "Rollback gates: ✅ pass.") || !strings.Contains(body, "| schema |") {
		t.Errorf("body after resume with the gates run:\n%s", body)
	}
}

func TestRollbackBodyStaysWithinGitHubsLimit(t *testing.T) {
	for _, tc := range []struct {
		name         string
		objects, len int
	}{
		{"large diffs", 40, 400},
		{"more objects than the table fits", 3000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := controller.RollbackBody(rollbackProposal(tc.objects, tc.len))
			if len(body) > controller.MaxBodyLength {
				t.Errorf("body is %d bytes, over %d", len(body), controller.MaxBodyLength)
			}
			if !strings.HasSuffix(body, "Stagegate-Request: #6\n") {
				t.Errorf("the trailers were cut off: …%s", body[len(body)-200:])
			}
		})
	}
}
