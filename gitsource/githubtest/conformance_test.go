package githubtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// TestOpenAPIConformance drives every served operation through its success and its documented
// errors, each exchange checked against GitHub's description by apiClient, then asserts that
// every operation in the subset was exercised and every documented status the emulator
// claims to model was seen.
func TestOpenAPIConformance(t *testing.T) {
	s := New(t, Options{Branches: map[string]map[string]string{
		"env/dev":  {"app.yaml": "replicas: 1\n"},
		"env/prod": {"app.yaml": "replicas: 1\n"},
	}})
	repo := s.Repo()
	gitsourcetest.Branch(t, repo, "promote", "env/prod")
	head := gitsourcetest.Commit(t, repo, "promote", map[string]string{"app.yaml": "replicas: 2\n"}, "promote dev")
	gitsourcetest.Branch(t, repo, "conflict", "env/prod")
	gitsourcetest.Commit(t, repo, "conflict", map[string]string{"app.yaml": "replicas: 3\n"}, "conflicting")
	s.SetTeam("acme", "approvers", "alice", "bob")

	c := newClient(t, s)
	for _, base := range []string{s.URL(), s.URL() + "api/v3/"} {
		c := *c // shares c.covered
		c.base = base
		c.must(200, "GET", "rate_limit", nil)
		c.must(200, "GET", "repos/acme/deploy/git/ref/heads/env/prod", nil)
		c.must(404, "GET", "repos/acme/deploy/git/ref/heads/nope", nil)
		c.must(200, "GET", "repos/acme/deploy/branches/env/dev", nil)
		c.must(404, "GET", "repos/acme/deploy/branches/nope", nil)
		c.must(200, "GET", "orgs/acme/teams/approvers/members", nil)
	}

	newPR := map[string]any{"title": "Promote", "head": "promote", "base": "env/prod", "body": "body"}
	c.must(422, "POST", "repos/acme/deploy/pulls", map[string]any{"head": "promote", "base": "env/prod"})
	c.must(422, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "x", "head": "env/prod", "base": "env/prod"})
	pr := c.must(201, "POST", "repos/acme/deploy/pulls", newPR).obj(t)
	c.must(422, "POST", "repos/acme/deploy/pulls", newPR)
	n := fmt.Sprint(pr["number"])
	prPath := "repos/acme/deploy/pulls/" + n
	etag := c.must(200, "GET", prPath, nil).header.Get("ETag")
	c.must(304, "GET", prPath, nil, "If-None-Match", etag)
	c.must(404, "GET", "repos/acme/deploy/pulls/999", nil)
	c.must(200, "PATCH", prPath, map[string]any{"title": "Promote 2", "body": "new"})
	c.must(422, "PATCH", prPath, map[string]any{"state": "merged"})
	c.must(200, "GET", "repos/acme/deploy/pulls?state=all&head=acme:promote&base=env/prod&sort=created&direction=desc&per_page=10&page=1", nil)
	list := c.must(200, "GET", "repos/acme/deploy/pulls?head=acme:promote", nil)
	c.must(304, "GET", "repos/acme/deploy/pulls?head=acme:promote", nil, "If-None-Match", list.header.Get("ETag"))
	c.must(422, "GET", "repos/acme/deploy/pulls?state=nope", nil)

	c.must(200, "GET", "repos/acme/deploy/issues/"+n+"/comments", nil)
	c.must(201, "POST", "repos/acme/deploy/issues/"+n+"/comments", map[string]any{"body": "hello"})
	c.must(422, "POST", "repos/acme/deploy/issues/"+n+"/comments", map[string]any{"body": ""})
	c.must(404, "POST", "repos/acme/deploy/issues/999/comments", map[string]any{"body": "x"})
	c.must(200, "POST", "repos/acme/deploy/issues/"+n+"/labels", map[string]any{"labels": []string{"stagegate"}})
	// GitHub takes a bare array too, though its description documents only {"labels": [...]}.
	c.unchecked().must(200, "POST", "repos/acme/deploy/issues/"+n+"/labels", []byte(`["promotion"]`))
	c.must(422, "POST", "repos/acme/deploy/issues/"+n+"/labels", map[string]any{"labels": []string{}})
	c.must(200, "GET", "repos/acme/deploy/issues/"+n+"/labels", nil)

	issue := c.must(201, "POST", "repos/acme/deploy/issues", map[string]any{"title": "Drift in prod", "body": "2 objects", "labels": []string{"stagegate/drift"}}).obj(t)
	c.must(422, "POST", "repos/acme/deploy/issues", map[string]any{"body": "no title"})
	issuePath := fmt.Sprintf("repos/acme/deploy/issues/%v", issue["number"])
	etag = c.must(200, "GET", issuePath, nil).header.Get("ETag")
	c.must(304, "GET", issuePath, nil, "If-None-Match", etag)
	c.must(200, "GET", "repos/acme/deploy/issues/"+n, nil) // the pull request's issue
	c.must(404, "GET", "repos/acme/deploy/issues/999", nil)
	c.must(200, "PATCH", issuePath, map[string]any{"title": "Drift in prod (3 objects)", "body": "3 objects"})
	c.must(422, "PATCH", issuePath, map[string]any{"state": "merged"})
	c.must(404, "PATCH", "repos/acme/deploy/issues/999", map[string]any{"body": "x"})
	c.must(200, "GET", "repos/acme/deploy/issues?labels=stagegate/drift&state=all&sort=updated&direction=asc&creator=stagegate-bot&per_page=10&page=1", nil)
	issues := c.must(200, "GET", "repos/acme/deploy/issues", nil)
	c.must(304, "GET", "repos/acme/deploy/issues", nil, "If-None-Match", issues.header.Get("ETag"))
	c.must(422, "GET", "repos/acme/deploy/issues?state=nope", nil)
	c.must(201, "POST", issuePath+"/comments", map[string]any{"body": "resolved"})
	c.must(200, "PATCH", issuePath, map[string]any{"state": "closed", "state_reason": "completed"})

	approve := s.AddReview(1, "alice", Approved)
	comment := s.AddReview(1, "bob", Commented)
	c.must(200, "GET", prPath+"/reviews", nil)
	c.must(422, "PUT", fmt.Sprintf("%s/reviews/%d/dismissals", prPath, approve), map[string]any{"event": "DISMISS"})
	c.must(422, "PUT", fmt.Sprintf("%s/reviews/%d/dismissals", prPath, comment), map[string]any{"message": "stale"})
	c.must(200, "PUT", fmt.Sprintf("%s/reviews/%d/dismissals", prPath, approve), map[string]any{"message": "stale", "event": "DISMISS"})
	c.must(404, "PUT", prPath+"/reviews/999/dismissals", map[string]any{"message": "stale"})

	c.must(201, "POST", "repos/acme/deploy/statuses/"+head, map[string]any{"state": "success", "context": "stagegate/security", "description": "no findings", "target_url": "https://ci.example/1"})
	c.must(201, "POST", "repos/acme/deploy/statuses/"+head, map[string]any{"state": "pending"})
	s.SetLogin(gitsourcetest.AuthorEmail, "tester")
	c.must(200, "GET", "repos/acme/deploy/commits/"+head, nil)
	c.must(200, "GET", "repos/acme/deploy/commits/env/dev", nil)
	c.must(422, "GET", "repos/acme/deploy/commits/"+strings.Repeat("0", 40), nil)
	c.must(200, "GET", "repos/acme/deploy/commits/"+head+"/status", nil)
	c.must(404, "GET", "repos/acme/deploy/commits/"+strings.Repeat("0", 40)+"/status", nil)
	c.must(200, "GET", "repos/acme/deploy/commits/"+head+"/statuses?per_page=1", nil)
	s.AddCheckRun(head, "build", "completed", "success")
	s.AddCheckRun(head, "scan", "in_progress", "")
	c.must(200, "GET", "repos/acme/deploy/commits/"+head+"/check-runs?filter=all", nil)
	c.must(200, "GET", "repos/acme/deploy/commits/env%2Fprod/check-runs?check_name=build&status=completed", nil)

	c.must(404, "GET", prPath+"/merge", nil)
	c.must(422, "PUT", prPath+"/merge", map[string]any{"merge_method": "fast-forward"})
	c.must(409, "PUT", prPath+"/merge", map[string]any{"sha": strings.Repeat("1", 40)})
	c.must(200, "PUT", prPath+"/merge", map[string]any{"sha": head, "merge_method": "merge"})
	c.must(204, "GET", prPath+"/merge", nil)
	c.must(405, "PUT", prPath+"/merge", map[string]any{})
	c.must(422, "PATCH", prPath, map[string]any{"state": "open"})

	conflict := c.must(201, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "c", "head": "conflict", "base": "env/prod"}).obj(t)
	c.must(200, "GET", fmt.Sprintf("repos/acme/deploy/pulls/%v", conflict["number"]), nil)
	c.must(405, "PUT", fmt.Sprintf("repos/acme/deploy/pulls/%v/merge", conflict["number"]), map[string]any{"merge_method": "squash"})
	c.must(200, "PATCH", fmt.Sprintf("repos/acme/deploy/pulls/%v", conflict["number"]), map[string]any{"state": "closed"})

	// What GitHub answers on any route.
	c.as("").must(401, "GET", "rate_limit", nil)
	c.as("wrong").must(401, "GET", prPath, nil)
	s.SecondaryLimit(1, time.Minute, http.StatusForbidden)
	c.must(403, "GET", prPath, nil)
	s.SecondaryLimit(1, time.Minute, http.StatusTooManyRequests)
	c.must(429, "GET", prPath, nil)
	s.FailNext(1, http.StatusBadGateway, "")
	c.must(502, "GET", prPath, nil)
	s.SetRateRemaining("", 0)
	c.must(403, "GET", prPath, nil)

	checkCoverage(t, c, []string{
		"get /repos/{owner}/{repo}/pulls 200", "get /repos/{owner}/{repo}/pulls 304", "get /repos/{owner}/{repo}/pulls 422",
		"post /repos/{owner}/{repo}/pulls 201", "post /repos/{owner}/{repo}/pulls 422",
		"get /repos/{owner}/{repo}/pulls/{pull_number} 200", "get /repos/{owner}/{repo}/pulls/{pull_number} 304",
		"get /repos/{owner}/{repo}/pulls/{pull_number} 404",
		"patch /repos/{owner}/{repo}/pulls/{pull_number} 200", "patch /repos/{owner}/{repo}/pulls/{pull_number} 422",
		"get /repos/{owner}/{repo}/pulls/{pull_number}/merge 204", "get /repos/{owner}/{repo}/pulls/{pull_number}/merge 404",
		"put /repos/{owner}/{repo}/pulls/{pull_number}/merge 200", "put /repos/{owner}/{repo}/pulls/{pull_number}/merge 405",
		"put /repos/{owner}/{repo}/pulls/{pull_number}/merge 409", "put /repos/{owner}/{repo}/pulls/{pull_number}/merge 422",
		"get /repos/{owner}/{repo}/pulls/{pull_number}/reviews 200",
		"put /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals 200",
		"put /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals 404",
		"put /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals 422",
		"post /repos/{owner}/{repo}/statuses/{sha} 201",
		"get /repos/{owner}/{repo}/commits/{ref} 200", "get /repos/{owner}/{repo}/commits/{ref} 422",
		"get /repos/{owner}/{repo}/commits/{ref}/status 200", "get /repos/{owner}/{repo}/commits/{ref}/status 404",
		"get /repos/{owner}/{repo}/commits/{ref}/statuses 200",
		"get /repos/{owner}/{repo}/commits/{ref}/check-runs 200",
		"get /repos/{owner}/{repo}/issues 200", "get /repos/{owner}/{repo}/issues 304", "get /repos/{owner}/{repo}/issues 422",
		"post /repos/{owner}/{repo}/issues 201", "post /repos/{owner}/{repo}/issues 422",
		"get /repos/{owner}/{repo}/issues/{issue_number} 200", "get /repos/{owner}/{repo}/issues/{issue_number} 304",
		"get /repos/{owner}/{repo}/issues/{issue_number} 404",
		"patch /repos/{owner}/{repo}/issues/{issue_number} 200", "patch /repos/{owner}/{repo}/issues/{issue_number} 404",
		"patch /repos/{owner}/{repo}/issues/{issue_number} 422",
		"get /repos/{owner}/{repo}/issues/{issue_number}/comments 200",
		"post /repos/{owner}/{repo}/issues/{issue_number}/comments 201",
		"post /repos/{owner}/{repo}/issues/{issue_number}/comments 404",
		"post /repos/{owner}/{repo}/issues/{issue_number}/comments 422",
		"get /repos/{owner}/{repo}/issues/{issue_number}/labels 200",
		"post /repos/{owner}/{repo}/issues/{issue_number}/labels 200",
		"post /repos/{owner}/{repo}/issues/{issue_number}/labels 422",
		"get /repos/{owner}/{repo}/git/ref/{ref} 200", "get /repos/{owner}/{repo}/git/ref/{ref} 404",
		"get /repos/{owner}/{repo}/branches/{branch} 200", "get /repos/{owner}/{repo}/branches/{branch} 404",
		"get /orgs/{org}/teams/{team_slug}/members 200",
		"get /rate_limit 200", "get /rate_limit 401",
	})
}

// checkCoverage fails unless the client exercised every operation in the subset and every
// "method template status" in want.
func checkCoverage(t *testing.T, c *apiClient, want []string) {
	t.Helper()
	ops := map[string]bool{}
	for k := range c.covered {
		f := strings.Fields(k)
		ops[f[0]+" "+f[1]] = true
	}
	for p, methods := range served {
		for _, m := range methods {
			if !ops[m+" "+p] {
				t.Errorf("operation %s %s never exercised", m, p)
			}
		}
	}
	for _, w := range want {
		if !c.covered[w] {
			t.Errorf("never seen: %s", w)
		}
	}
	var seen []string
	for k := range c.covered {
		seen = append(seen, k)
	}
	slices.Sort(seen)
	t.Logf("exercised:\n%s", strings.Join(seen, "\n"))
}
