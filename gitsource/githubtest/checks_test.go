package githubtest

import (
	"strings"
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
	// A ref may be a sha, a branch (escaped or not) or heads/<branch>.
	for _, ref := range []string{"promote", "heads/promote", "env%2Fprod", "env/prod"} {
		res := c.must(200, "GET", "repos/acme/deploy/commits/"+ref+"/check-runs", nil).obj(t)
		want := 2.0
		if strings.Contains(ref, "prod") {
			want = 0
		}
		if res["total_count"] != want {
			t.Errorf("%s has %v check runs, want %v", ref, res["total_count"], want)
		}
	}
	c.must(404, "GET", "repos/acme/deploy/commits/nope/check-runs", nil)
}

func fmtAny(v any) string {
	if v == nil {
		return "null"
	}
	return v.(string)
}
