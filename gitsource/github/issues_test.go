package github_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/github"
	"github.com/stagegate-dev/stagegate/gitsource/githubtest"
)

const driftLabel = "stagegate/drift"

// An issue's life as drift reporting uses it: opened, found by its label among pull requests
// and other issues, edited, closed with a comment.
func TestIssuesAgainstTheEmulator(t *testing.T) {
	s, f := emulator(t)
	ctx := t.Context()

	// A pull request with the same label, and a person's issue with another: neither is listed.
	pr, err := f.OpenRequest(ctx, gitsource.NewRequest{Head: promoteProd, Base: "env/prod", Title: "Promote abc to prod", Labels: []string{driftLabel}})
	if err != nil {
		t.Fatal(err)
	}
	s.AddIssue("alice", "Flaky test", "", "bug")

	opened, err := f.OpenIssue(ctx, "Drift in prod", "2 objects differ", []string{driftLabel, "env/prod"})
	if err != nil {
		t.Fatal(err)
	}
	if opened.Number != 3 || opened.State != gitsource.RequestOpen || opened.Author != githubtest.DefaultLogin ||
		opened.Title != "Drift in prod" || opened.Body != "2 objects differ" || opened.URL == "" || opened.Updated.IsZero() ||
		!slices.Equal(opened.Labels, []string{driftLabel, "env/prod"}) {
		t.Errorf("opened %+v; want #3 (after #1, the pull request, and #2), open, by %s, labelled", opened, githubtest.DefaultLogin)
	}
	if pr.Number != 1 {
		t.Errorf("the pull request is #%d, want #1", pr.Number)
	}

	open, err := f.Issues(ctx, driftLabel, gitsource.RequestOpen)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]gitsource.Issue{opened}, open); diff != "" {
		t.Errorf("Issues(drift, open) (-want +got):\n%s", diff)
	}

	// Nothing changed: listing again costs a conditional request, answered 304.
	s.ResetLog()
	if again, err := f.Issues(ctx, driftLabel, gitsource.RequestOpen); err != nil || len(again) != 1 {
		t.Errorf("listing again = %+v, %v", again, err)
	}
	for _, r := range s.Requests() {
		if !r.Conditional || r.Status != http.StatusNotModified {
			t.Errorf("an idle list sent %s (conditional %t), want a 304", r, r.Conditional)
		}
	}

	if err := f.EditIssue(ctx, opened.Number, "Drift in prod (3 objects)", "3 objects differ"); err != nil {
		t.Fatal(err)
	}
	open, err = f.Issues(ctx, driftLabel, gitsource.RequestOpen)
	if err != nil || len(open) != 1 || open[0].Title != "Drift in prod (3 objects)" || open[0].Body != "3 objects differ" {
		t.Errorf("after the edit: %+v, %v", open, err)
	}

	if err := f.CloseIssue(ctx, opened.Number, "In sync again."); err != nil {
		t.Fatal(err)
	}
	want := githubtest.Issue{Number: 3, Title: "Drift in prod (3 objects)", Body: "3 objects differ", State: "closed", StateReason: "completed",
		Author: githubtest.DefaultLogin, Labels: []string{driftLabel, "env/prod"}, Comments: []string{"In sync again."}}
	if diff := cmp.Diff(want, s.Issue(opened.Number)); diff != "" {
		t.Errorf("closed issue (-want +got):\n%s", diff)
	}
	if err := f.CloseIssue(ctx, opened.Number, ""); err != nil {
		t.Errorf("closing a closed issue: %v", err)
	}
	if open, err := f.Issues(ctx, driftLabel, gitsource.RequestOpen); err != nil || len(open) != 0 {
		t.Errorf("open after closing: %+v, %v; want none", open, err)
	}
	closed, err := f.Issues(ctx, driftLabel, gitsource.RequestClosed)
	if err != nil || len(closed) != 1 || closed[0].Number != opened.Number || closed[0].State != gitsource.RequestClosed {
		t.Errorf("closed: %+v, %v", closed, err)
	}

	second, err := f.OpenIssue(ctx, "Drift in prod", "again", []string{driftLabel})
	if err != nil {
		t.Fatal(err)
	}
	var numbers []int
	all, err := f.Issues(ctx, "", gitsource.RequestAll)
	for _, i := range all {
		numbers = append(numbers, i.Number)
	}
	if err != nil || !slices.Equal(numbers, []int{second.Number, 3, 2}) {
		t.Errorf("every issue = %v, %v; want #%d, #3, #2, newest first, without the pull request", numbers, err, second.Number)
	}

	var apiErr *github.APIError
	if err := f.EditIssue(ctx, 99, "t", "b"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("editing a missing issue: err = %v, want a 404 *APIError", err)
	}
	if _, err := f.OpenIssue(ctx, "", "no title", nil); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity {
		t.Errorf("opening without a title: err = %v, want a 422 *APIError", err)
	}
}

// Every page is read; pull requests on a page are dropped, not counted against it.
func TestIssuesReadsEveryPage(t *testing.T) {
	s, f := emulator(t)
	if _, err := f.OpenRequest(t.Context(), gitsource.NewRequest{Head: promoteProd, Base: "env/prod", Title: "Promote", Labels: []string{driftLabel}}); err != nil {
		t.Fatal(err)
	}
	for n := range 120 {
		s.AddIssue("alice", fmt.Sprintf("issue %d", n), "", driftLabel)
	}
	s.ResetLog()
	got, err := f.Issues(t.Context(), driftLabel, gitsource.RequestOpen)
	if err != nil || len(got) != 120 || got[0].Title != "issue 119" || got[119].Title != "issue 0" {
		t.Fatalf("%d issues, %v; want 120, newest first", len(got), err)
	}
	if n := len(s.Requests()); n != 2 {
		t.Errorf("%d requests for 121 issues and pull requests, want 2 pages: %v", n, s.Requests())
	}
}
