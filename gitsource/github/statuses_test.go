package github

import (
	"testing"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/gitsource"
)

func TestCheckRunStates(t *testing.T) {
	for _, tc := range []struct {
		status, conclusion string
		want               gitsource.StatusState
	}{
		{"queued", "", gitsource.StatusPending},
		{"in_progress", "", gitsource.StatusPending},
		{"waiting", "", gitsource.StatusPending},
		{"completed", "success", gitsource.StatusSuccess},
		{"completed", "neutral", gitsource.StatusSuccess},
		{"completed", "skipped", gitsource.StatusSuccess},
		{"completed", "failure", gitsource.StatusFailure},
		{"completed", "timed_out", gitsource.StatusFailure},
		{"completed", "action_required", gitsource.StatusFailure},
		{"completed", "cancelled", gitsource.StatusFailure},
		{"completed", "stale", gitsource.StatusFailure},
		{"completed", "startup_failure", gitsource.StatusFailure},
	} {
		got := checkRun(&gh.CheckRun{Name: gh.String("ci/build"), Status: &tc.status, Conclusion: &tc.conclusion})
		if got.State != tc.want || got.Kind != gitsource.CheckRun || got.Context != "ci/build" {
			t.Errorf("%s/%s → %+v, want state %s", tc.status, tc.conclusion, got, tc.want)
		}
	}
}
