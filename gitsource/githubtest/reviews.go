package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const reviewsDocs = "https://docs.github.com/rest/pulls/reviews"

// Review states, as GitHub names them.
const (
	Approved         = "APPROVED"
	ChangesRequested = "CHANGES_REQUESTED"
	Commented        = "COMMENTED"
	Dismissed        = "DISMISSED"
)

type review struct {
	id        int64
	user      string
	state     string
	body      string
	commitID  string // the pull request's head when submitted
	submitted time.Time
}

// AddReview submits a review of pull request number as login, on its current head (read from
// the repository now), and returns the review's id. As on GitHub, the pull request's author
// cannot approve or request changes, and a closed pull request cannot be reviewed: the test fails
// (Errorf) and AddReview returns 0.
func (s *Server) AddReview(number int, login, state string) int64 {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pull(number)
	var refused string
	switch {
	case p == nil:
		refused = fmt.Sprintf("no pull request #%d", number)
	case state != Approved && state != ChangesRequested && state != Commented:
		refused = fmt.Sprintf("state %q is not APPROVED, CHANGES_REQUESTED or COMMENTED", state)
	case p.state != "open":
		refused = fmt.Sprintf("pull request #%d is closed", number)
	case login == p.author && state != Commented:
		refused = "GitHub refuses: Can not approve or request changes on your own pull request (" + login + ")"
	}
	if refused != "" {
		s.t.Errorf("githubtest: AddReview: %s", refused)
		return 0
	}
	s.refresh(p)
	s.userID(login)
	r := &review{id: s.newID(), user: login, state: state, commitID: p.headSHA, submitted: now()}
	p.reviews = append(p.reviews, r)
	return r.id
}

// DismissReview dismisses a review, as PUT …/reviews/{id}/dismissals does.
func (s *Server) DismissReview(number int, id int64) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pull(number)
	if p == nil {
		s.t.Fatalf("githubtest: DismissReview: no pull request #%d", number)
		return
	}
	for _, r := range p.reviews {
		if r.id == id {
			r.state = Dismissed
			return
		}
	}
	s.t.Fatalf("githubtest: DismissReview: no review %d on #%d", id, number)
}

// listReviews serves GET …/pulls/{pull_number}/reviews, oldest first.
func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	p := s.findPull(w, r)
	if p == nil {
		return
	}
	items := []any{}
	for _, rv := range paginate(w, r, s.prefix, p.reviews) {
		items = append(items, s.reviewJSON(p, rv))
	}
	writeJSON(w, http.StatusOK, items)
}

// dismissReview serves PUT …/pulls/{pull_number}/reviews/{review_id}/dismissals.
func (s *Server) dismissReview(w http.ResponseWriter, r *http.Request) {
	p := s.findPull(w, r)
	if p == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var rv *review
	for _, x := range p.reviews {
		if err == nil && x.id == id {
			rv = x
		}
	}
	docs := reviewsDocs + "#dismiss-a-review-for-a-pull-request"
	if rv == nil {
		writeError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	var in struct {
		Message string `json:"message"`
		Event   string `json:"event"`
	}
	if !decode(w, r, &in) {
		return
	}
	// This operation's 422 is GitHub's simple validation error: errors are strings.
	if in.Message == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message": "Validation Failed", "errors": []string{"Message can't be blank"},
			"documentation_url": docs, "status": "422",
		})
		return
	}
	if rv.state != Approved && rv.state != ChangesRequested {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message":           "Unprocessable Entity",
			"errors":            []string{"Can not dismiss a " + strings.ToLower(strings.ReplaceAll(rv.state, "_", " ")) + " pull request review"},
			"documentation_url": docs, "status": "422",
		})
		return
	}
	rv.state = Dismissed
	writeJSON(w, http.StatusOK, s.reviewJSON(p, rv))
}

func (s *Server) reviewJSON(p *pull, rv *review) map[string]any {
	html := s.html() + "/pull/" + strconv.Itoa(p.number) + "#pullrequestreview-" + strconv.FormatInt(rv.id, 10)
	self := s.api() + s.repoPath() + "/pulls/" + strconv.Itoa(p.number)
	return map[string]any{
		"id": rv.id, "node_id": nodeID("PullRequestReview", strconv.FormatInt(rv.id, 10)),
		"user": s.userJSON(rv.user), "body": rv.body, "state": rv.state,
		"html_url": html, "pull_request_url": self,
		"_links": map[string]any{
			"html":         map[string]any{"href": html},
			"pull_request": map[string]any{"href": self},
		},
		"submitted_at": timestamp(rv.submitted), "commit_id": rv.commitID,
		"author_association": "MEMBER",
	}
}
