package githubtest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestComments(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	c.must(201, "POST", "repos/acme/deploy/issues/1/comments", map[string]any{"body": "first"})
	c.must(201, "POST", "repos/acme/deploy/issues/1/comments", map[string]any{"body": "second"})
	var got []string
	for _, cm := range c.must(200, "GET", "repos/acme/deploy/issues/1/comments", nil).list(t) {
		got = append(got, cm["user"].(map[string]any)["login"].(string)+": "+cm["body"].(string))
	}
	if diff := cmp.Diff([]string{DefaultLogin + ": first", DefaultLogin + ": second"}, got); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"first", "second"}, s.PR(1).Comments); diff != "" {
		t.Errorf("snapshot comments (-want +got):\n%s", diff)
	}
	if got := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).obj(t)["comments"]; got != 2.0 {
		t.Errorf("pull request counts %v comments", got)
	}
	c.must(422, "POST", "repos/acme/deploy/issues/1/comments", map[string]any{})
	c.must(404, "GET", "repos/acme/deploy/issues/2/comments", nil)
}

func TestLabels(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	names := func(r response) []string {
		var out []string
		for _, l := range r.list(t) {
			out = append(out, l["name"].(string))
		}
		return out
	}
	got := names(c.must(200, "POST", "repos/acme/deploy/issues/1/labels", map[string]any{"labels": []string{"stagegate", "env/prod"}}))
	if diff := cmp.Diff([]string{"stagegate", "env/prod"}, got); diff != "" {
		t.Errorf("after adding (-want +got):\n%s", diff)
	}
	// Adding again keeps one of each; the answer is every label of the issue.
	got = names(c.must(200, "POST", "repos/acme/deploy/issues/1/labels", map[string]any{"labels": []any{"stagegate", map[string]any{"name": "stagegate/break-glass"}}}))
	want := []string{"stagegate", "env/prod", "stagegate/break-glass"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after adding again (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, names(c.must(200, "GET", "repos/acme/deploy/issues/1/labels", nil))); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, s.PR(1).Labels); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	pr := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).obj(t)
	if n := len(pr["labels"].([]any)); n != 3 {
		t.Errorf("pull request shows %d labels", n)
	}
	c.must(422, "POST", "repos/acme/deploy/issues/1/labels", map[string]any{"labels": []string{}})
}
