package githubtest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

// These tests drive the emulator with go-github v60, the client stagegate's GitHub forge is
// built on: both base URL forms, the calls the forge makes, and the typed errors go-github
// derives from the emulator's answers.

func newGoGitHub(t *testing.T, s *Server, enterprise bool) *github.Client {
	t.Helper()
	c := github.NewClient(nil).WithAuthToken(DefaultToken)
	if enterprise {
		var err error
		if c, err = c.WithEnterpriseURLs(s.URL(), s.URL()); err != nil {
			t.Fatal(err)
		}
		return c
	}
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func TestGoGitHub(t *testing.T) {
	for _, enterprise := range []bool{false, true} {
		name := map[bool]string{false: "BaseURL", true: "WithEnterpriseURLs"}[enterprise]
		t.Run(name, func(t *testing.T) {
			s, _, head := newPromotion(t)
			gh := newGoGitHub(t, s, enterprise)
			ctx := context.Background()
			s.ResetLog()

			pr, _, err := gh.PullRequests.Create(ctx, "acme", "deploy", &github.NewPullRequest{
				Title: github.String("Promote"), Head: github.String("promote"), Base: github.String("env/prod"), Body: github.String("b")})
			if err != nil {
				t.Fatal(err)
			}
			if enterprise && s.Requests()[0].Path != "/repos/acme/deploy/pulls" {
				t.Errorf("logged path %q", s.Requests()[0].Path)
			}
			_, _, err = gh.PullRequests.Create(ctx, "acme", "deploy", &github.NewPullRequest{
				Title: github.String("again"), Head: github.String("promote"), Base: github.String("env/prod")})
			var er *github.ErrorResponse
			if !errors.As(err, &er) || er.Response.StatusCode != 422 || len(er.Errors) != 1 || er.Errors[0].Message != "A pull request already exists for acme:promote." {
				t.Errorf("duplicate: %v", err)
			}

			list, _, err := gh.PullRequests.List(ctx, "acme", "deploy", &github.PullRequestListOptions{Head: "acme:promote", Base: "env/prod", State: "open"})
			if err != nil || len(list) != 1 || list[0].GetNumber() != pr.GetNumber() || list[0].GetHead().GetSHA() != head {
				t.Errorf("list: %v %v", list, err)
			}
			if _, _, err := gh.PullRequests.Edit(ctx, "acme", "deploy", 1, &github.PullRequest{Body: github.String("new body")}); err != nil {
				t.Error(err)
			}
			if _, _, err := gh.Issues.AddLabelsToIssue(ctx, "acme", "deploy", 1, []string{"stagegate"}); err != nil {
				t.Error(err)
			}
			if _, _, err := gh.Issues.CreateComment(ctx, "acme", "deploy", 1, &github.IssueComment{Body: github.String("hi")}); err != nil {
				t.Error(err)
			}
			if _, _, err := gh.Repositories.CreateStatus(ctx, "acme", "deploy", head, &github.RepoStatus{
				State: github.String("success"), Context: github.String("stagegate"), Description: github.String("all gates pass")}); err != nil {
				t.Error(err)
			}
			combined, _, err := gh.Repositories.GetCombinedStatus(ctx, "acme", "deploy", head, nil)
			if err != nil || combined.GetState() != "success" || combined.GetTotalCount() != 1 {
				t.Errorf("combined: %v %v", combined, err)
			}
			s.AddCheckRun(head, "ci", "completed", "success")
			runs, _, err := gh.Checks.ListCheckRunsForRef(ctx, "acme", "deploy", head, nil)
			if err != nil || runs.GetTotal() != 1 || runs.CheckRuns[0].GetConclusion() != "success" {
				t.Errorf("check runs: %v %v", runs, err)
			}
			s.AddReview(1, "alice", Approved)
			reviews, _, err := gh.PullRequests.ListReviews(ctx, "acme", "deploy", 1, nil)
			if err != nil || len(reviews) != 1 || reviews[0].GetState() != Approved || reviews[0].GetCommitID() != head || reviews[0].GetUser().GetLogin() != "alice" {
				t.Errorf("reviews: %v %v", reviews, err)
			}
			s.SetTeam("acme", "approvers", "alice")
			members, _, err := gh.Teams.ListTeamMembersBySlug(ctx, "acme", "approvers", nil)
			if err != nil || len(members) != 1 || members[0].GetLogin() != "alice" {
				t.Errorf("team: %v %v", members, err)
			}
			ref, _, err := gh.Git.GetRef(ctx, "acme", "deploy", "heads/promote")
			if err != nil || ref.GetObject().GetSHA() != head {
				t.Errorf("ref: %v %v", ref, err)
			}
			branch, _, err := gh.Repositories.GetBranch(ctx, "acme", "deploy", "env/prod", 0)
			if err != nil || branch.GetCommit().GetSHA() == "" {
				t.Errorf("branch: %v %v", branch, err)
			}

			_, _, err = gh.PullRequests.Merge(ctx, "acme", "deploy", 1, "", &github.PullRequestOptions{SHA: "0000000000000000000000000000000000000000", MergeMethod: "squash"})
			if !errors.As(err, &er) || er.Response.StatusCode != http.StatusConflict {
				t.Errorf("guarded merge of a moved head: %v", err)
			}
			res, _, err := gh.PullRequests.Merge(ctx, "acme", "deploy", 1, "trailers", &github.PullRequestOptions{SHA: head, MergeMethod: "squash", CommitTitle: "Promote"})
			if err != nil || !res.GetMerged() {
				t.Fatalf("merge: %v %v", res, err)
			}
			if merged, _, err := gh.PullRequests.IsMerged(ctx, "acme", "deploy", 1); err != nil || !merged {
				t.Errorf("IsMerged: %v %v", merged, err)
			}
			got, _, err := gh.PullRequests.Get(ctx, "acme", "deploy", 1)
			if err != nil || !got.GetMerged() || got.GetMergeCommitSHA() != res.GetSHA() || got.GetState() != "closed" {
				t.Errorf("after merge: %v %v", got, err)
			}
		})
	}
}

func TestGoGitHubRateLimitErrors(t *testing.T) {
	s := New(t, Options{})
	ctx := context.Background()

	s.SecondaryLimit(1, 42*time.Second, http.StatusForbidden)
	// (GetBranch follows redirects by hand and hides typed errors; GetRef does not.)
	_, _, err := newGoGitHub(t, s, false).Git.GetRef(ctx, "acme", "deploy", "heads/main")
	var abuse *github.AbuseRateLimitError
	if !errors.As(err, &abuse) || abuse.GetRetryAfter() != 42*time.Second {
		t.Errorf("secondary limit: %T %v", err, err)
	}

	s.SetRateRemaining("", 0)
	_, _, err = newGoGitHub(t, s, false).Git.GetRef(ctx, "acme", "deploy", "heads/main")
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Rate.Remaining != 0 || rl.Rate.Limit != DefaultRateLimit {
		t.Errorf("primary limit: %T %v", err, err)
	}

	s.SetRateRemaining("", 10)
	limits, _, err := newGoGitHub(t, s, false).RateLimits(ctx)
	if err != nil || limits.GetCore().Remaining != 10 {
		t.Errorf("RateLimits: %v %v", limits, err)
	}
}
