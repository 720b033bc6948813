package githubtest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestReviews(t *testing.T) {
	s, c, first := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	alice := s.AddReview(1, "alice", Approved)
	bob := s.AddReview(1, "bob", ChangesRequested)
	second := gitsourcetest.Commit(t, s.Repo(), "promote", map[string]string{"app.yaml": "replicas: 4\n"}, "move on")
	carol := s.AddReview(1, "carol", Commented)
	dave := s.AddReview(1, "dave", Approved)

	c.must(200, "PUT", fmt.Sprintf("repos/acme/deploy/pulls/1/reviews/%d/dismissals", bob), map[string]any{"message": "outdated", "event": "DISMISS"})
	s.DismissReview(1, dave)

	type row struct{ User, State, Commit string }
	var got []row
	for _, r := range c.must(200, "GET", "repos/acme/deploy/pulls/1/reviews", nil).list(t) {
		got = append(got, row{r["user"].(map[string]any)["login"].(string), r["state"].(string), r["commit_id"].(string)})
	}
	want := []row{
		{"alice", Approved, first},
		{"bob", Dismissed, first},
		{"carol", Commented, second},
		{"dave", Dismissed, second},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reviews, oldest first, on the head when submitted (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name   string
		id     int64
		body   map[string]any
		status int
	}{
		{"a dismissal needs a message", alice, map[string]any{"event": "DISMISS"}, 422},
		{"a comment cannot be dismissed", carol, map[string]any{"message": "x"}, 422},
		{"a dismissed review cannot be dismissed again", bob, map[string]any{"message": "x"}, 422},
		{"an unknown review", 999, map[string]any{"message": "x"}, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.must(tt.status, "PUT", fmt.Sprintf("repos/acme/deploy/pulls/1/reviews/%d/dismissals", tt.id), tt.body)
		})
	}
	if got := s.PR(1).Reviews[0].State; got != Approved {
		t.Errorf("alice's review is %s after refused dismissals", got)
	}
}

// recordingTB notes Errorf instead of failing, to test what fails a test.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestAddReviewRefusesSelfApproval(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	rec := &recordingTB{TB: t}
	s.t = rec
	defer func() { s.t = t }()
	for _, state := range []string{Approved, ChangesRequested} {
		if id := s.AddReview(1, DefaultLogin, state); id != 0 {
			t.Errorf("the author's %s review was recorded", state)
		}
	}
	if id := s.AddReview(1, DefaultLogin, Commented); id == 0 {
		t.Error("the author's comment was refused")
	}
	if len(rec.errors) != 2 {
		t.Errorf("errors %q, want two", rec.errors)
	}
}
