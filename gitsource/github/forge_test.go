package github_test

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/github"
	"github.com/stagegate-dev/stagegate/gitsource/githubtest"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

var _ controller.Forge = (*github.Forge)(nil)

const (
	promoteProd    = "stagegate/promote/prod"
	promoteStaging = "stagegate/promote/staging"
)

// emulator serves a repository with env/staging and env/prod, and a promotion branch for each
// with one commit on top of its environment, as the controller would push it.
func emulator(t *testing.T) (*githubtest.Server, *github.Forge) {
	t.Helper()
	s := githubtest.New(t, githubtest.Options{Branches: map[string]map[string]string{
		"env/staging": {"app.yaml": "replicas: 1\n"},
		"env/prod":    {"app.yaml": "replicas: 1\n"},
	}})
	for _, env := range []string{"staging", "prod"} {
		gitsourcetest.Branch(t, s.Repo(), "stagegate/promote/"+env, "env/"+env)
		gitsourcetest.Commit(t, s.Repo(), "stagegate/promote/"+env, map[string]string{"app.yaml": "replicas: 2\n"}, "Promote abc to "+env)
	}
	f, err := github.New(t.Context(), github.Options{
		Repo:    "https://github.com/" + s.Owner() + "/" + s.Name() + ".git",
		BaseURL: s.URL(),
		Auth:    github.Auth{Token: githubtest.DefaultToken},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// Every Forge method, end to end, in the order a promotion uses them.
func TestForgeAgainstTheEmulator(t *testing.T) {
	s, f := emulator(t)
	ctx := t.Context()
	head1 := gitsourcetest.Head(t, s.Repo(), promoteProd)

	pr, err := f.OpenRequest(ctx, gitsource.NewRequest{Head: promoteProd, Base: "env/prod",
		Title: "Promote abc to prod", Body: "summary", Labels: []string{"stagegate"}})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Number == 0 || pr.HeadSHA != head1 || pr.State != gitsource.RequestOpen || pr.Author != githubtest.DefaultLogin ||
		!slices.Equal(pr.Labels, []string{"stagegate"}) || pr.URL == "" {
		t.Errorf("opened %+v", pr)
	}

	_, err = f.OpenRequest(ctx, gitsource.NewRequest{Head: promoteProd, Base: "env/prod", Title: "again"})
	var exists *gitsource.RequestExistsError
	if !errors.As(err, &exists) {
		t.Errorf("second open: err = %v, want *RequestExistsError", err)
	}

	open, err := f.Requests(ctx, promoteProd, "env/prod", gitsource.RequestOpen)
	if err != nil || len(open) != 1 || open[0].Number != pr.Number {
		t.Errorf("Requests(open) = %+v, %v; want #%d alone", open, err, pr.Number)
	}
	if other, err := f.Requests(ctx, promoteProd, "env/staging", gitsource.RequestOpen); err != nil || len(other) != 0 {
		t.Errorf("Requests into another base = %+v, %v; want none", other, err)
	}

	if err := f.EditRequest(ctx, pr.Number, "Promote def to prod", "new body"); err != nil {
		t.Fatal(err)
	}
	if err := f.AddLabels(ctx, pr.Number, "stagegate/break-glass"); err != nil {
		t.Fatal(err)
	}
	got, err := f.Request(ctx, pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Promote def to prod" || got.Body != "new body" || !slices.Contains(got.Labels, "stagegate/break-glass") {
		t.Errorf("after edit and label: %+v", got)
	}

	for _, st := range []gitsource.Status{
		{Context: "stagegate/security", State: gitsource.StatusPending, Description: "running"},
		{Context: "stagegate/security", State: gitsource.StatusSuccess, Description: "no findings", TargetURL: "https://stagegate.example.com/r/1"},
		{Context: "stagegate", State: gitsource.StatusFailure, Description: "1 gate failed"},
	} {
		if err := f.SetStatus(ctx, head1, st); err != nil {
			t.Fatal(err)
		}
	}
	s.AddCheckRun(head1, "ci/build", "completed", "success")
	s.AddCheckRun(head1, "ci/scan", "in_progress", "")
	s.AddCheckRun(head1, "ci/lint", "completed", "timed_out")
	statuses, err := f.Statuses(ctx, head1)
	if err != nil {
		t.Fatal(err)
	}
	type brief struct {
		Context     string
		State       gitsource.StatusState
		Kind        gitsource.StatusKind
		Description string
	}
	var gotStatuses []brief
	for _, st := range statuses {
		gotStatuses = append(gotStatuses, brief{st.Context, st.State, st.Kind, st.Description})
		if st.Updated.IsZero() {
			t.Errorf("%s has no time", st.Context)
		}
	}
	wantStatuses := []brief{
		{"ci/build", gitsource.StatusSuccess, gitsource.CheckRun, "success"},
		{"ci/lint", gitsource.StatusFailure, gitsource.CheckRun, "timed_out"},
		{"ci/scan", gitsource.StatusPending, gitsource.CheckRun, ""},
		{"stagegate", gitsource.StatusFailure, gitsource.CommitStatus, "1 gate failed"},
		{"stagegate/security", gitsource.StatusSuccess, gitsource.CommitStatus, "no findings"},
	}
	if diff := cmp.Diff(wantStatuses, gotStatuses); diff != "" {
		t.Errorf("Statuses (-want +got):\n%s", diff)
	}

	s.AddReview(pr.Number, "alice", githubtest.Approved)
	s.AddReview(pr.Number, "bob", githubtest.ChangesRequested)
	reviews, err := f.Reviews(ctx, pr.Number)
	if err != nil {
		t.Fatal(err)
	}
	var gotReviews []string
	for _, r := range reviews {
		if r.CommitSHA != head1 || r.ID == 0 || r.Submitted.IsZero() {
			t.Errorf("review %+v: want commit %s, an id and a time", r, head1)
		}
		gotReviews = append(gotReviews, r.User+" "+string(r.State))
	}
	if diff := cmp.Diff([]string{"alice APPROVED", "bob CHANGES_REQUESTED"}, gotReviews); diff != "" {
		t.Errorf("Reviews, oldest first (-want +got):\n%s", diff)
	}

	s.SetTeam("acme", "platform", "alice", "carol")
	members, err := f.TeamMembers(ctx, "acme/platform")
	if err != nil || !slices.Equal(members, []string{"alice", "carol"}) {
		t.Errorf("TeamMembers = %v, %v", members, err)
	}

	// The branch moves after gating: the merge guarded by the gated sha is refused.
	head2 := gitsourcetest.Commit(t, s.Repo(), promoteProd, map[string]string{"app.yaml": "replicas: 3\n"}, "Promote def to prod")
	_, err = f.Merge(ctx, pr.Number, gitsource.MergeOptions{SHA: head1, Method: "merge"})
	var moved *gitsource.HeadMovedError
	if !errors.As(err, &moved) || moved.SHA != head1 {
		t.Fatalf("merge guarded by the old head: err = %v, want *HeadMovedError", err)
	}
	if s.PR(pr.Number).Merged {
		t.Fatal("merged although the head moved")
	}
	mergeSHA, err := f.Merge(ctx, pr.Number, gitsource.MergeOptions{SHA: head2, Method: "merge",
		Title: "Promote def to prod (#1)", Message: "Stagegate-Source: env/staging@def"})
	if err != nil {
		t.Fatal(err)
	}
	if prod := gitsourcetest.Head(t, s.Repo(), "env/prod"); prod != mergeSHA {
		t.Errorf("env/prod is at %s, Merge returned %s", prod, mergeSHA)
	}
	merged, err := f.Request(ctx, pr.Number)
	if err != nil || !merged.Merged || merged.MergeSHA != mergeSHA || merged.State != gitsource.RequestClosed || merged.MergedBy != githubtest.DefaultLogin {
		t.Errorf("after merge: %+v, %v", merged, err)
	}
	_, err = f.Merge(ctx, pr.Number, gitsource.MergeOptions{SHA: head2, Method: "merge"})
	var refused *gitsource.NotMergeableError
	if !errors.As(err, &refused) || refused.Reason == "" {
		t.Errorf("merging twice: err = %v, want *NotMergeableError with GitHub's reason", err)
	}

	// Nothing left to promote into staging: closed with a comment saying why.
	pr2, err := f.OpenRequest(ctx, gitsource.NewRequest{Head: promoteStaging, Base: "env/staging", Title: "Promote abc to staging"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CloseRequest(ctx, pr2.Number, "Nothing to promote: env/staging already renders the same objects."); err != nil {
		t.Fatal(err)
	}
	if p := s.PR(pr2.Number); p.State != "closed" || p.Merged || !slices.Equal(p.Comments, []string{"Nothing to promote: env/staging already renders the same objects."}) {
		t.Errorf("closed request: %+v", p)
	}
	if err := f.Comment(ctx, pr2.Number, "reopen with stagegate plan"); err != nil {
		t.Fatal(err)
	}
	closed, err := f.Requests(ctx, promoteStaging, "env/staging", gitsource.RequestClosed)
	if err != nil || len(closed) != 1 || closed[0].Number != pr2.Number {
		t.Errorf("Requests(closed) = %+v, %v", closed, err)
	}
	all, err := f.Requests(ctx, "stagegate/promote/prod", "env/prod", gitsource.RequestAll)
	if err != nil || len(all) != 1 || !all[0].Merged {
		t.Errorf("Requests(all) = %+v, %v", all, err)
	}
}

// Polling a request that did not change costs one conditional GET answered 304, which GitHub
// does not count against the rate limit.
func TestIdlePollingIsConditional(t *testing.T) {
	s, f := emulator(t)
	ctx := t.Context()
	pr, err := f.OpenRequest(ctx, gitsource.NewRequest{Head: promoteProd, Base: "env/prod", Title: "Promote abc to prod"})
	if err != nil {
		t.Fatal(err)
	}
	poll := func() {
		if _, err := f.Requests(ctx, promoteProd, "env/prod", gitsource.RequestOpen); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Reviews(ctx, pr.Number); err != nil {
			t.Fatal(err)
		}
	}
	poll()
	before := s.RateRemaining("")
	s.ResetLog()
	poll()
	for _, r := range s.Requests() {
		if !r.Conditional || r.Status != http.StatusNotModified {
			t.Errorf("idle poll sent %s (conditional %t), want a 304", r, r.Conditional)
		}
	}
	if len(s.Requests()) != 2 || s.RateRemaining("") != before {
		t.Errorf("idle poll: %d requests, rate limit %d → %d; want 2 free ones", len(s.Requests()), before, s.RateRemaining(""))
	}
	if remaining, limit, _ := f.RateLimit(); limit != githubtest.DefaultRateLimit || remaining != before {
		t.Errorf("RateLimit() = %d of %d, want %d of %d", remaining, limit, before, githubtest.DefaultRateLimit)
	}
	// A change on GitHub is seen at once: the ETag no longer matches.
	s.AddReview(pr.Number, "alice", githubtest.Approved)
	if reviews, err := f.Reviews(ctx, pr.Number); err != nil || len(reviews) != 1 {
		t.Errorf("after a review: %+v, %v", reviews, err)
	}
}

// GitHub failing the create and the merge with 502s, and a secondary limit: nothing is done
// twice and nothing is lost. (Real waits of about a second each: the emulator is a real server.)
func TestFaultsAgainstTheEmulator(t *testing.T) {
	s, f := emulator(t)
	ctx := t.Context()

	s.FailNext(1, http.StatusBadGateway, "POST /repos/acme/deploy/pulls")
	pr, err := f.OpenRequest(ctx, gitsource.NewRequest{Head: promoteProd, Base: "env/prod", Title: "Promote abc to prod"})
	if err != nil {
		t.Fatal(err)
	}
	if s.PRs() != 1 {
		t.Errorf("%d pull requests opened, want 1", s.PRs())
	}

	s.SecondaryLimit(1, time.Second, http.StatusTooManyRequests)
	start := time.Now()
	if _, err := f.Request(ctx, pr.Number); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("retried after %s, before Retry-After", waited)
	}

	head := gitsourcetest.Head(t, s.Repo(), promoteProd)
	s.FailNext(1, http.StatusBadGateway, "/merge")
	sha, err := f.Merge(ctx, pr.Number, gitsource.MergeOptions{SHA: head, Method: "squash"})
	if err != nil {
		t.Fatal(err)
	}
	if prod := gitsourcetest.Head(t, s.Repo(), "env/prod"); prod != sha {
		t.Errorf("env/prod at %s, Merge returned %s", prod, sha)
	}

	s.SetRateRemaining("", 0)
	_, err = f.Request(ctx, pr.Number)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || rl.Secondary || time.Until(rl.Reset) < 30*time.Minute {
		t.Errorf("with the budget spent: err = %v, want a primary *RateLimitError about an hour away", err)
	}
}

// The three merge methods, on GitHub Enterprise Server's /api/v3/ prefix.
func TestMergeMethodsOnEnterpriseServer(t *testing.T) {
	s := githubtest.New(t, githubtest.Options{Branches: map[string]map[string]string{"env/prod": {"app.yaml": "replicas: 1\n"}}})
	f, err := github.New(t.Context(), github.Options{Repo: "https://ghe.example.com/acme/deploy.git", BaseURL: s.URL() + "api/v3/",
		Auth: github.Auth{Token: githubtest.DefaultToken}})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		method  gitsource.MergeMethod
		parents int
		subject string
	}{
		{"merge", 2, "Promote to prod (merge)"},
		{"squash", 1, "Promote to prod (squash)"},
		{"rebase", 1, "replicas 4"}, // rebase keeps the promotion commit's message
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			gitsourcetest.Branch(t, s.Repo(), promoteProd, "env/prod")
			head := gitsourcetest.Commit(t, s.Repo(), promoteProd, map[string]string{"app.yaml": "replicas: " + strconv.Itoa(i+2) + "\n"}, "replicas "+strconv.Itoa(i+2))
			pr, err := f.OpenRequest(t.Context(), gitsource.NewRequest{Head: promoteProd, Base: "env/prod", Title: "Promote"})
			if err != nil {
				t.Fatal(err)
			}
			sha, err := f.Merge(t.Context(), pr.Number, gitsource.MergeOptions{SHA: head, Method: tc.method,
				Title: "Promote to prod (" + string(tc.method) + ")", Message: "Stagegate-Source: env/staging@abc"})
			if err != nil {
				t.Fatal(err)
			}
			parents := strings.Fields(gitsourcetest.Git(t, s.Repo(), "show", "-s", "--format=%P", sha))
			subject := strings.TrimSpace(gitsourcetest.Git(t, s.Repo(), "show", "-s", "--format=%s", sha))
			if len(parents) != tc.parents || subject != tc.subject || gitsourcetest.Head(t, s.Repo(), "env/prod") != sha {
				t.Errorf("%s made %s with parents %v and subject %q; want %d parents, %q, on env/prod",
					tc.method, sha, parents, subject, tc.parents, tc.subject)
			}
		})
	}
}

// GitHub makes the pull request, or the merge, and then answers 502: stagegate sees what was
// done instead of doing it twice.
func TestFailuresAfterTheWriteTookEffect(t *testing.T) {
	s, f := emulator(t)
	ctx := t.Context()

	s.FailNextAfter(1, http.StatusBadGateway, "POST /repos/acme/deploy/pulls")
	pr, err := f.OpenRequest(ctx, gitsource.NewRequest{Head: promoteProd, Base: "env/prod", Title: "Promote abc to prod", Labels: []string{"stagegate"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.PRs() != 1 || pr.Number != 1 || !slices.Equal(s.PR(1).Labels, []string{"stagegate"}) {
		t.Errorf("%d pull requests, got #%d labelled %v; want #1 alone, labelled", s.PRs(), pr.Number, s.PR(1).Labels)
	}

	head := gitsourcetest.Head(t, s.Repo(), promoteProd)
	s.FailNextAfter(1, http.StatusBadGateway, "/merge")
	sha, err := f.Merge(ctx, pr.Number, gitsource.MergeOptions{SHA: head, Method: "merge"})
	if err != nil {
		t.Fatal(err)
	}
	if prod := gitsourcetest.Head(t, s.Repo(), "env/prod"); prod != sha || s.PR(pr.Number).MergeSHA != sha {
		t.Errorf("Merge returned %s; env/prod at %s, the pull request merged as %s", sha, prod, s.PR(pr.Number).MergeSHA)
	}
	merges := 0
	for _, r := range s.Requests() {
		if r.Method == "PUT" {
			merges++
		}
	}
	if merges != 1 {
		t.Errorf("%d merge calls, want 1", merges)
	}
}

// The author of a commit is the account GitHub links to its email; a commit is asked about
// once.
func TestCommitAuthorAgainstTheEmulator(t *testing.T) {
	s, f := emulator(t)
	ctx := t.Context()
	head := gitsourcetest.Head(t, s.Repo(), promoteProd)
	base := gitsourcetest.Head(t, s.Repo(), "env/prod")

	if login, err := f.CommitAuthor(ctx, base); err != nil || login != "" {
		t.Errorf("CommitAuthor of a commit whose email no account has = %q, %v; want \"\", no error", login, err)
	}
	s.SetLogin(gitsourcetest.AuthorEmail, "tester")
	s.ResetLog()
	for range 2 {
		if login, err := f.CommitAuthor(ctx, head); err != nil || login != "tester" {
			t.Errorf("CommitAuthor = %q, %v; want tester", login, err)
		}
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("two CommitAuthor calls for one commit made %d requests, want 1: %v", n, s.Requests())
	}
	var apiErr *github.APIError
	if _, err := f.CommitAuthor(ctx, strings.Repeat("0", 40)); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity {
		t.Errorf("CommitAuthor of an unknown commit: err = %v, want a 422 *APIError", err)
	}
}
