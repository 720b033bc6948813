package githubtest

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
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

// Issues and pull requests share one sequence of numbers; the list of issues holds pull
// requests too, marked with pull_request, as GitHub's does.
func TestIssuesShareNumbersWithPullRequests(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	issue := c.must(201, "POST", "repos/acme/deploy/issues", map[string]any{"title": "Drift in prod", "body": "web drifted", "labels": []string{"stagegate/drift"}}).obj(t)
	if issue["number"] != 2.0 || issue["user"].(map[string]any)["login"] != DefaultLogin || issue["pull_request"] != nil ||
		issue["html_url"] != s.html()+"/issues/2" {
		t.Errorf("created %v by %v, pull_request %v, html %v; want #2 by %s, a plain issue", issue["number"], issue["user"], issue["pull_request"], issue["html_url"], DefaultLogin)
	}
	gitsourcetest.Branch(t, s.Repo(), "other", "env/dev")
	gitsourcetest.Commit(t, s.Repo(), "other", map[string]string{"other.yaml": "b\n"}, "other")
	if pr := openPR(t, c, "other", "env/prod"); pr["number"] != 3.0 {
		t.Errorf("the pull request after issue #2 is #%v, want #3", pr["number"])
	}
	c.must(404, "GET", "repos/acme/deploy/pulls/2", nil) // an issue is not a pull request

	type item struct {
		Number int
		PR     bool
	}
	list := func(query string) []item {
		t.Helper()
		var out []item
		for _, i := range c.must(200, "GET", "repos/acme/deploy/issues"+query, nil).list(t) {
			out = append(out, item{int(i["number"].(float64)), i["pull_request"] != nil})
		}
		return out
	}
	if diff := cmp.Diff([]item{{3, true}, {2, false}, {1, true}}, list("")); diff != "" {
		t.Errorf("open issues, newest first (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]item{{2, false}}, list("?labels=STAGEGATE/DRIFT")); diff != "" {
		t.Errorf("labelled stagegate/drift (-want +got):\n%s", diff)
	}
	c.must(200, "POST", "repos/acme/deploy/issues/1/labels", map[string]any{"labels": []string{"stagegate/drift", "env/prod"}})
	if diff := cmp.Diff([]item{{1, true}}, list("?labels=stagegate/drift,env/prod")); diff != "" {
		t.Errorf("labelled with both (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]item{{1, true}, {2, false}, {3, true}}, list("?direction=asc")); diff != "" {
		t.Errorf("oldest first (-want +got):\n%s", diff)
	}
	if got := list("?state=closed"); len(got) != 0 {
		t.Errorf("closed issues %v, want none", got)
	}

	// Closing says why and who; the closed issue leaves the open list.
	closed := c.must(200, "PATCH", "repos/acme/deploy/issues/2", map[string]any{"state": "closed"}).obj(t)
	if closed["state"] != "closed" || closed["state_reason"] != "completed" || closed["closed_at"] == nil ||
		closed["closed_by"].(map[string]any)["login"] != DefaultLogin {
		t.Errorf("closed: state %v, reason %v, at %v, by %v", closed["state"], closed["state_reason"], closed["closed_at"], closed["closed_by"])
	}
	if diff := cmp.Diff([]item{{2, false}}, list("?state=closed&labels=stagegate/drift")); diff != "" {
		t.Errorf("closed, labelled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]item{{1, true}}, list("?labels=stagegate/drift")); diff != "" {
		t.Errorf("open, labelled (-want +got):\n%s", diff)
	}
	reopened := c.must(200, "PATCH", "repos/acme/deploy/issues/2", map[string]any{"state": "open", "title": "Drift in prod again"}).obj(t)
	if reopened["state"] != "open" || reopened["state_reason"] != "reopened" || reopened["closed_at"] != nil || reopened["title"] != "Drift in prod again" {
		t.Errorf("reopened: state %v, reason %v, closed_at %v, title %v", reopened["state"], reopened["state_reason"], reopened["closed_at"], reopened["title"])
	}

	// Labels in an update replace the issue's.
	c.must(200, "PATCH", "repos/acme/deploy/issues/2", map[string]any{"labels": []string{"stagegate/drift", "env/prod"}})
	c.must(200, "PATCH", "repos/acme/deploy/issues/2", map[string]any{"labels": []string{"env/prod"}})
	if got := s.Issue(2).Labels; !slices.Equal(got, []string{"env/prod"}) {
		t.Errorf("labels after replacing %v, want [env/prod]", got)
	}
}

func TestIssueCommentsAndPullRequestIssues(t *testing.T) {
	s, c, _ := newPromotion(t)
	n := s.AddIssue("alice", "Prod looks odd", "", "stagegate/drift")
	comment := c.must(201, "POST", "repos/acme/deploy/issues/1/comments", map[string]any{"body": "looking"}).obj(t)
	if comment["html_url"] != s.html()+"/issues/1#issuecomment-"+strconv.FormatInt(int64(comment["id"].(float64)), 10) {
		t.Errorf("comment on an issue links %v", comment["html_url"])
	}
	want := Issue{Number: n, Title: "Prod looks odd", State: "open", Author: "alice", Labels: []string{"stagegate/drift"}, Comments: []string{"looking"}}
	if diff := cmp.Diff(want, s.Issue(n)); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}

	// A pull request's issue: read and edited through the issues API, seen by the pulls API.
	openPR(t, c, "promote", "env/prod")
	got := c.must(200, "GET", "repos/acme/deploy/issues/2", nil).obj(t)
	if pr, _ := got["pull_request"].(map[string]any); pr == nil || pr["url"] != s.api()+"/repos/acme/deploy/pulls/2" || pr["merged_at"] != nil {
		t.Errorf("the pull request's issue has pull_request %v", got["pull_request"])
	}
	c.must(200, "PATCH", "repos/acme/deploy/issues/2", map[string]any{"body": "edited as an issue", "state": "closed"})
	if pr := s.PR(2); pr.Body != "edited as an issue" || pr.State != "closed" {
		t.Errorf("the pull request after its issue was edited: body %q, state %s", pr.Body, pr.State)
	}
	if !s.Issue(2).PullRequest {
		t.Error("snapshot of #2 does not say it is a pull request")
	}

	c.must(422, "POST", "repos/acme/deploy/issues", map[string]any{"title": "  "})
	c.must(422, "POST", "repos/acme/deploy/issues", map[string]any{"title": "x", "body": strings.Repeat("a", MaxBodyLength+1)})
	c.must(422, "PATCH", "repos/acme/deploy/issues/1", map[string]any{"state_reason": "bored"})
	c.must(404, "GET", "repos/acme/deploy/issues/9", nil)
	c.must(404, "GET", "repos/acme/other/issues", nil)
}
