package githubtest

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Pull requests are the only issues here: issue numbers are pull request numbers.

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
	p := s.findPull(w, r)
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
	p := s.findPull(w, r)
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

func (s *Server) commentJSON(p *pull, c *comment) map[string]any {
	id := strconv.FormatInt(c.id, 10)
	return map[string]any{
		"id": c.id, "node_id": nodeID("IssueComment", id),
		"url":      s.api() + s.repoPath() + "/issues/comments/" + id,
		"html_url": s.html() + "/pull/" + strconv.Itoa(p.number) + "#issuecomment-" + id,
		"body":     c.body, "user": s.userJSON(c.user),
		"created_at": timestamp(c.created), "updated_at": timestamp(c.created),
		"issue_url":          s.api() + s.repoPath() + "/issues/" + strconv.Itoa(p.number),
		"author_association": "MEMBER",
	}
}

// listLabels serves GET …/issues/{issue_number}/labels.
func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	p := s.findPull(w, r)
	if p == nil {
		return
	}
	s.writeLabels(w, r, p)
}

// addLabels serves POST …/issues/{issue_number}/labels with {"labels": [...]} or a bare
// array; labels the repository does not have yet are created, as GitHub does.
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	p := s.findPull(w, r)
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
	if len(names) == 0 {
		writeValidation(w, "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue",
			fieldError{Resource: "Label", Field: "labels", Code: "missing_field"})
		return
	}
	for _, n := range names {
		if _, ok := s.labels[n]; !ok {
			s.labels[n] = &label{id: s.newID(), name: n, color: "ededed"}
		}
		if !slices.Contains(p.labels, n) {
			p.labels = append(p.labels, n)
		}
	}
	p.updated = now()
	s.writeLabels(w, r, p)
}

func (s *Server) writeLabels(w http.ResponseWriter, r *http.Request, p *pull) {
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
