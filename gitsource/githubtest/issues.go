package githubtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const issuesDocs = "https://docs.github.com/rest/issues/issues"

// issue is an issue, or what a pull request has of one: on GitHub every pull request is an
// issue, one sequence numbers both, and comments and labels belong to the issue.
type issue struct {
	number           int
	id               int64
	title, body      string
	state            string // open or closed
	stateReason      string // completed, not_planned or reopened; "" before any change
	author           string
	created, updated time.Time
	closed           time.Time
	closedBy         string
	labels           []string
	comments         []*comment
	pull             *pull // the pull request this issue is; nil for a plain issue
}

// Issue is a snapshot of an issue or a pull request's issue, for assertions.
type Issue struct {
	Number      int
	Title, Body string
	State       string // "open" or "closed"
	StateReason string // "completed", "not_planned", "reopened" or ""
	Author      string
	Labels      []string
	Comments    []string // bodies, oldest first
	PullRequest bool
}

// Issue returns a snapshot of issue number (a pull request's too); it fails the test when there
// is none.
func (s *Server) Issue(number int) Issue {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.issue(number)
	if i == nil {
		s.t.Fatalf("githubtest: no issue #%d", number)
		return Issue{}
	}
	if i.pull != nil {
		s.refresh(i.pull)
	}
	out := Issue{Number: i.number, Title: i.title, Body: i.body, State: i.state, StateReason: i.stateReason,
		Author: i.author, Labels: slices.Clone(i.labels), PullRequest: i.pull != nil}
	for _, c := range i.comments {
		out.Comments = append(out.Comments, c.body)
	}
	return out
}

// AddIssue opens an issue as login, as a person would on GitHub, and returns its number.
// Labels the repository lacks are created.
func (s *Server) AddIssue(login, title, body string, labels ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newIssue(login, title, body, labels).number
}

func (s *Server) newIssue(login, title, body string, labels []string) *issue {
	t := now()
	i := &issue{number: len(s.issues) + 1, id: s.newID(), title: title, body: body, state: "open", author: login, created: t, updated: t}
	s.addLabels(i, labels)
	s.issues = append(s.issues, i)
	return i
}

func (s *Server) issue(number int) *issue {
	if number < 1 || number > len(s.issues) {
		return nil
	}
	return s.issues[number-1]
}

// findIssue reads {number} and writes 404 when there is no such issue; a pull request's issue
// is refreshed first.
func (s *Server) findIssue(w http.ResponseWriter, r *http.Request) *issue {
	n, ok := pathInt(w, r, "number")
	if !ok {
		return nil
	}
	i := s.issue(n)
	if i == nil {
		writeError(w, http.StatusNotFound, "Not Found", issuesDocs+"#get-an-issue")
		return nil
	}
	if i.pull != nil {
		s.refresh(i.pull)
	}
	return i
}

// setState opens or closes an issue. Closing records when, by whom, and why (reason, default
// completed); reopening says so.
func (s *Server) setState(i *issue, state, reason string) {
	if state == i.state {
		return
	}
	i.state = state
	if state == "closed" {
		if reason == "" {
			reason = "completed"
		}
		i.closed, i.closedBy, i.stateReason = now(), s.login, reason
		return
	}
	i.closed, i.closedBy, i.stateReason = time.Time{}, "", "reopened"
}

// labelNames reads labels as GitHub takes them: names, or objects with a name.
func labelNames(list []any) []string {
	var names []string
	for _, item := range list {
		switch v := item.(type) {
		case string:
			names = append(names, v)
		case map[string]any:
			if n, ok := v["name"].(string); ok {
				names = append(names, n)
			}
		}
	}
	return names
}

// addLabels adds names to an issue once each, creating the labels the repository lacks, as
// GitHub does.
func (s *Server) addLabels(i *issue, names []string) {
	for _, n := range names {
		if _, ok := s.labels[n]; !ok {
			s.labels[n] = &label{id: s.newID(), name: n, color: "ededed"}
		}
		if !slices.Contains(i.labels, n) {
			i.labels = append(i.labels, n)
		}
	}
}

// hasLabel: GitHub compares label names without case.
func (i *issue) hasLabel(name string) bool {
	return slices.ContainsFunc(i.labels, func(l string) bool { return strings.EqualFold(l, name) })
}

// createIssue serves POST /repos/{owner}/{repo}/issues: title, body, labels.
func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title  any     `json:"title"` // a string, or a number GitHub takes as one
		Body   *string `json:"body"`
		Labels []any   `json:"labels"`
	}
	if !decode(w, r, &in) {
		return
	}
	docs := issuesDocs + "#create-an-issue"
	title, ok := titleString(in.Title)
	if !ok {
		writeValidation(w, docs, fieldError{Resource: "Issue", Field: "title", Code: "missing_field"})
		return
	}
	if tooLong(in.Body) {
		writeValidation(w, docs, bodyTooLong)
		return
	}
	body := ""
	if in.Body != nil {
		body = *in.Body
	}
	i := s.newIssue(s.login, title, body, labelNames(in.Labels))
	w.Header().Set("Location", s.api()+s.repoPath()+"/issues/"+strconv.Itoa(i.number))
	writeJSON(w, http.StatusCreated, s.issueJSON(i, true))
}

// titleString reads an issue title: a non-empty string, or a number.
func titleString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, strings.TrimSpace(t) != ""
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}

// getIssue serves GET /repos/{owner}/{repo}/issues/{issue_number}; a pull request's number
// gives its issue, with pull_request.
func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	if i := s.findIssue(w, r); i != nil {
		writeJSON(w, http.StatusOK, s.issueJSON(i, true))
	}
}

// updateIssue serves PATCH /repos/{owner}/{repo}/issues/{issue_number}: title, body, state,
// state_reason and labels (which replace the issue's). A pull request's issue may be edited
// too; reopening it is refused where the pull request's own update refuses.
func (s *Server) updateIssue(w http.ResponseWriter, r *http.Request) {
	i := s.findIssue(w, r)
	if i == nil {
		return
	}
	var in struct {
		Title       any     `json:"title"`
		Body        *string `json:"body"`
		State       *string `json:"state"`
		StateReason *string `json:"state_reason"`
		Labels      *[]any  `json:"labels"`
	}
	if !decode(w, r, &in) {
		return
	}
	docs := issuesDocs + "#update-an-issue"
	var title string
	if in.Title != nil {
		var ok bool
		if title, ok = titleString(in.Title); !ok {
			writeValidation(w, docs, fieldError{Resource: "Issue", Field: "title", Code: "missing_field"})
			return
		}
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		writeValidation(w, docs, fieldError{Resource: "Issue", Field: "state", Code: "invalid"})
		return
	}
	reason := ""
	if in.StateReason != nil {
		reason = *in.StateReason
		if !slices.Contains([]string{"completed", "not_planned", "reopened", "duplicate"}, reason) {
			writeValidation(w, docs, fieldError{Resource: "Issue", Field: "state_reason", Code: "invalid"})
			return
		}
	}
	if tooLong(in.Body) {
		writeValidation(w, docs, bodyTooLong)
		return
	}
	if in.State != nil && *in.State == "open" && i.state == "closed" && i.pull != nil {
		if msg := s.reopenRefused(i.pull); msg != "" {
			writeValidation(w, docs, fieldError{Resource: "Issue", Code: "custom", Message: msg})
			return
		}
	}
	if in.Title != nil {
		i.title = title
	}
	if in.Body != nil {
		i.body = *in.Body
	}
	if in.Labels != nil {
		i.labels = nil
		s.addLabels(i, labelNames(*in.Labels))
	}
	if in.State != nil {
		s.setState(i, *in.State, reason)
	}
	i.updated = now()
	writeJSON(w, http.StatusOK, s.issueJSON(i, true))
}

// listIssues serves GET /repos/{owner}/{repo}/issues with state, labels (all of them),
// creator, sort, direction and pagination. Pull requests are issues, so they are listed too,
// with a pull_request key, as GitHub does.
func (s *Server) listIssues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	docs := issuesDocs + "#list-repository-issues"
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		writeValidation(w, docs, fieldError{Resource: "Issue", Field: "state", Code: "invalid"})
		return
	}
	sortBy := q.Get("sort")
	if sortBy == "" {
		sortBy = "created"
	}
	if !slices.Contains([]string{"created", "updated", "comments"}, sortBy) {
		writeValidation(w, docs, fieldError{Resource: "Issue", Field: "sort", Code: "invalid"})
		return
	}
	var labels []string
	if l := q.Get("labels"); l != "" {
		for _, name := range strings.Split(l, ",") {
			labels = append(labels, strings.TrimSpace(name))
		}
	}
	var out []*issue
	for _, i := range s.issues {
		if i.pull != nil {
			s.refresh(i.pull)
		}
		if state != "all" && i.state != state {
			continue
		}
		if c := q.Get("creator"); c != "" && !strings.EqualFold(c, i.author) {
			continue
		}
		if !slices.ContainsFunc(labels, func(l string) bool { return !i.hasLabel(l) }) {
			out = append(out, i)
		}
	}
	desc := q.Get("direction") != "asc"
	key := func(i *issue) int64 {
		switch sortBy {
		case "updated":
			return i.updated.UnixNano()
		case "comments":
			return int64(len(i.comments))
		}
		return i.created.UnixNano()
	}
	slices.SortStableFunc(out, func(a, b *issue) int {
		c := 0
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			c = -1
		case ka > kb:
			c = 1
		}
		if c == 0 {
			c = a.number - b.number
		}
		if desc {
			c = -c
		}
		return c
	})
	items := []any{}
	for _, i := range paginate(w, r, s.prefix, out) {
		items = append(items, s.issueJSON(i, false))
	}
	writeJSON(w, http.StatusOK, items)
}

// issueHTML is the page of an issue, or of the pull request it is.
func (s *Server) issueHTML(i *issue) string {
	if i.pull != nil {
		return s.html() + "/pull/" + strconv.Itoa(i.number)
	}
	return s.html() + "/issues/" + strconv.Itoa(i.number)
}

// issueJSON is GitHub's issue object; full adds closed_by, which lists leave out.
func (s *Server) issueJSON(i *issue, full bool) map[string]any {
	api := s.api() + s.repoPath()
	self := api + "/issues/" + strconv.Itoa(i.number)
	labels := []any{}
	for _, name := range i.labels {
		labels = append(labels, s.labelJSON(s.labels[name]))
	}
	var body, reason any
	if i.body != "" {
		body = i.body
	}
	if i.stateReason != "" {
		reason = i.stateReason
	}
	m := map[string]any{
		"id": i.id, "node_id": nodeID("Issue", strconv.Itoa(i.number)),
		"url": self, "repository_url": api, "labels_url": self + "/labels{/name}",
		"comments_url": self + "/comments", "events_url": self + "/events", "timeline_url": self + "/timeline",
		"html_url": s.issueHTML(i), "number": i.number, "state": i.state, "state_reason": reason,
		"title": i.title, "body": body, "user": s.userJSON(i.author), "labels": labels,
		"assignee": nil, "assignees": []any{}, "milestone": nil, "locked": false, "active_lock_reason": nil,
		"comments": len(i.comments), "closed_at": timestamp(i.closed),
		"created_at": timestamp(i.created), "updated_at": timestamp(i.updated),
		"author_association": "MEMBER",
	}
	if p := i.pull; p != nil {
		html := s.issueHTML(i)
		m["pull_request"] = map[string]any{
			"url": api + "/pulls/" + strconv.Itoa(i.number), "html_url": html,
			"diff_url": html + ".diff", "patch_url": html + ".patch", "merged_at": timestamp(p.mergedAt),
		}
		m["draft"] = p.draft
	}
	if full {
		var closedBy any
		if i.closedBy != "" {
			closedBy = s.userJSON(i.closedBy)
		}
		m["closed_by"] = closedBy
	}
	return m
}

type comment struct {
	id      int64
	user    string
	body    string
	created time.Time
}

type label struct {
	id    int64
	name  string
	color string
}

// listComments serves GET …/issues/{issue_number}/comments, oldest first.
func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	p := s.findIssue(w, r)
	if p == nil {
		return
	}
	items := []any{}
	for _, c := range paginate(w, r, s.prefix, p.comments) {
		items = append(items, s.commentJSON(p, c))
	}
	writeJSON(w, http.StatusOK, items)
}

// createComment serves POST …/issues/{issue_number}/comments.
func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	p := s.findIssue(w, r)
	if p == nil {
		return
	}
	var in struct {
		Body *string `json:"body"`
	}
	if !decode(w, r, &in) {
		return
	}
	docs := "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
	if in.Body == nil || *in.Body == "" {
		writeValidation(w, docs, fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	if tooLong(in.Body) {
		writeValidation(w, docs, fieldError{Resource: "IssueComment", Field: "body", Code: "custom", Message: "Body is too long (maximum is 65536 characters)"})
		return
	}
	c := &comment{id: s.newID(), user: s.login, body: *in.Body, created: now()}
	p.comments = append(p.comments, c)
	p.updated = c.created
	w.Header().Set("Location", s.api()+s.repoPath()+"/issues/comments/"+strconv.FormatInt(c.id, 10))
	writeJSON(w, http.StatusCreated, s.commentJSON(p, c))
}

func (s *Server) commentJSON(p *issue, c *comment) map[string]any {
	id := strconv.FormatInt(c.id, 10)
	return map[string]any{
		"id": c.id, "node_id": nodeID("IssueComment", id),
		"url":      s.api() + s.repoPath() + "/issues/comments/" + id,
		"html_url": s.issueHTML(p) + "#issuecomment-" + id,
		"body":     c.body, "user": s.userJSON(c.user),
		"created_at": timestamp(c.created), "updated_at": timestamp(c.created),
		"issue_url":          s.api() + s.repoPath() + "/issues/" + strconv.Itoa(p.number),
		"author_association": "MEMBER",
	}
}

// listLabels serves GET …/issues/{issue_number}/labels.
func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	p := s.findIssue(w, r)
	if p == nil {
		return
	}
	s.writeLabels(w, r, p)
}

// postLabels serves POST …/issues/{issue_number}/labels with {"labels": [...]} or a bare
// array; labels the repository does not have yet are created, as GitHub does.
func (s *Server) postLabels(w http.ResponseWriter, r *http.Request) {
	p := s.findIssue(w, r)
	if p == nil {
		return
	}
	var raw any
	if !decode(w, r, &raw) {
		return
	}
	var list []any
	switch v := raw.(type) {
	case []any:
		list = v
	case map[string]any:
		list, _ = v["labels"].([]any)
	}
	names := labelNames(list)
	if len(names) == 0 {
		writeValidation(w, "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue",
			fieldError{Resource: "Label", Field: "labels", Code: "missing_field"})
		return
	}
	s.addLabels(p, names)
	p.updated = now()
	s.writeLabels(w, r, p)
}

func (s *Server) writeLabels(w http.ResponseWriter, r *http.Request, p *issue) {
	items := []any{}
	for _, n := range paginate(w, r, s.prefix, p.labels) {
		items = append(items, s.labelJSON(s.labels[n]))
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Server) labelJSON(l *label) map[string]any {
	return map[string]any{
		"id": l.id, "node_id": nodeID("Label", l.name),
		"url":  s.api() + s.repoPath() + "/labels/" + l.name,
		"name": l.name, "description": nil, "color": l.color, "default": false,
	}
}
