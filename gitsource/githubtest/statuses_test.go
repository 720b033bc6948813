package githubtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCombinedStatus(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string // context=state, in order
		want     string
		count    int
	}{
		{"no statuses is pending", nil, "pending", 0},
		{"all success", []string{"a=success", "b=success"}, "success", 2},
		{"any pending", []string{"a=success", "b=pending"}, "pending", 2},
		{"failure wins over pending", []string{"a=pending", "b=failure"}, "failure", 2},
		{"error counts as failure", []string{"a=success", "b=error"}, "failure", 2},
		{"the latest per context counts", []string{"a=failure", "a=success", "b=pending", "b=success"}, "success", 2},
		{"a newer failure replaces a success", []string{"a=success", "a=failure"}, "failure", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c, head := newPromotion(t)
			for _, st := range tt.statuses {
				ctx, state, _ := strings.Cut(st, "=")
				c.must(201, "POST", "repos/acme/deploy/statuses/"+head, map[string]any{"state": state, "context": ctx, "description": "d"})
			}
			got := c.must(200, "GET", "repos/acme/deploy/commits/"+head+"/status", nil).obj(t)
			if got["state"] != tt.want || got["total_count"] != float64(tt.count) || got["sha"] != head {
				t.Errorf("state %v total_count %v sha %v, want %s %d %s", got["state"], got["total_count"], got["sha"], tt.want, tt.count, head)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	_, c, head := newPromotion(t)
	c.must(201, "POST", "repos/acme/deploy/statuses/"+head, map[string]any{"state": "pending", "context": "stagegate/security"})
	created := c.must(201, "POST", "repos/acme/deploy/statuses/"+head, map[string]any{
		"state": "success", "context": "stagegate/security", "description": "0 findings", "target_url": "https://sg.example/r/1"}).obj(t)
	if created["creator"].(map[string]any)["login"] != DefaultLogin || created["target_url"] != "https://sg.example/r/1" {
		t.Errorf("created status %v", created)
	}
	c.must(201, "POST", "repos/acme/deploy/statuses/"+head, map[string]any{"state": "success"})

	// By branch name as well as sha; newest first.
	var got []string
	for _, st := range c.must(200, "GET", "repos/acme/deploy/commits/promote/statuses", nil).list(t) {
		got = append(got, st["context"].(string)+"="+st["state"].(string))
	}
	if diff := cmp.Diff([]string{"default=success", "stagegate/security=success", "stagegate/security=pending"}, got); diff != "" {
		t.Errorf("statuses newest first (-want +got):\n%s", diff)
	}
	combined := c.must(200, "GET", "repos/acme/deploy/commits/promote/status", nil).obj(t)
	if n := len(combined["statuses"].([]any)); n != 2 {
		t.Errorf("combined holds %d statuses, want the latest of 2 contexts", n)
	}

	// GitHub answers 422 for these, though its description lists only 201 for the operation.
	u := c.unchecked()
	for name, body := range map[string]map[string]any{
		"an unknown state":       {"state": "green"},
		"a description over 140": {"state": "success", "description": strings.Repeat("x", 141)},
	} {
		if r := u.do("POST", "repos/acme/deploy/statuses/"+head, body); r.status != 422 {
			t.Errorf("%s: status %d, want 422", name, r.status)
		}
	}
	if r := u.do("POST", "repos/acme/deploy/statuses/"+strings.Repeat("0", 40), map[string]any{"state": "success"}); r.status != 422 || !strings.Contains(string(r.body), "No commit found for SHA") {
		t.Errorf("unknown sha: %d %s", r.status, r.body)
	}
	c.must(404, "GET", "repos/acme/deploy/commits/nope/status", nil)
}
