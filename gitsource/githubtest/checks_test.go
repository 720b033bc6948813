package githubtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckRuns(t *testing.T) {
	s, c, head := newPromotion(t)
	s.AddCheckRun(head, "build", "completed", "failure")
	s.AddCheckRun("promote", "build", "completed", "success") // a re-run, by branch name
	s.AddCheckRun(head, "scan", "in_progress", "")

	runs := func(query string) []string {
		t.Helper()
		res := c.must(200, "GET", "repos/acme/deploy/commits/"+head+"/check-runs"+query, nil).obj(t)
		var out []string
		for _, r := range res["check_runs"].([]any) {
			m := r.(map[string]any)
			out = append(out, m["name"].(string)+":"+m["status"].(string)+":"+fmtAny(m["conclusion"]))
		}
		if int(res["total_count"].(float64)) != len(out) {
			t.Errorf("total_count %v for %d runs", res["total_count"], len(out))
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"scan:in_progress:null", "build:completed:success"}},
		{"?filter=all", []string{"scan:in_progress:null", "build:completed:success", "build:completed:failure"}},
		{"?check_name=build", []string{"build:completed:success"}},
		{"?status=in_progress", []string{"scan:in_progress:null"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, runs(tt.query)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.query, diff)
		}
	}
	res := c.must(200, "GET", "repos/acme/deploy/commits/env%2Fprod/check-runs", nil).obj(t)
	if res["total_count"] != 0.0 {
		t.Errorf("env/prod has %v check runs, want 0", res["total_count"])
	}
}

func fmtAny(v any) string {
	if v == nil {
		return "null"
	}
	return v.(string)
}
