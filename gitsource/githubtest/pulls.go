package githubtest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const pullsDocs = "https://docs.github.com/rest/pulls/pulls"

// pull is a pull request: an issue (number, title, body, state, author, labels, comments) with
// branches. Its head and base shas are read from the bare repository while it is open, so
// pushes show at once; they freeze when it closes.
type pull struct {
	issue
	head, base         string // branch names
	headSHA, baseSHA   string
	draft              bool
	mergedAt           time.Time
	merged             bool
	mergeSHA, mergedBy string
	reviews            []*review
}

// PR is a snapshot of a pull request, for assertions.
type PR struct {
	Number      int
	Title, Body string
	Head, Base  string
	HeadSHA     string
	State       string // "open" or "closed"
	Merged      bool
	MergeSHA    string
	Author      string
	MergedBy    string
	Labels      []string
	Comments    []string // bodies, oldest first
	Reviews     []Review
}

// Review is a snapshot of a review.
type Review struct {
	ID       int64
	User     string
	State    string
	CommitID string
}

// PR returns a snapshot of pull request number; it fails the test when there is none.
func (s *Server) PR(number int) PR {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pull(number)
	if p == nil {
		s.t.Fatalf("githubtest: no pull request #%d", number)
		return PR{}
	}
	s.refresh(p)
	out := PR{
		Number: p.number, Title: p.title, Body: p.body, Head: p.head, Base: p.base, HeadSHA: p.headSHA,
		State: p.state, Merged: p.merged, MergeSHA: p.mergeSHA, Author: p.author, MergedBy: p.mergedBy,
		Labels: slices.Clone(p.labels),
	}
	for _, c := range p.comments {
		out.Comments = append(out.Comments, c.body)
	}
	for _, r := range p.reviews {
		out.Reviews = append(out.Reviews, Review{ID: r.id, User: r.user, State: r.state, CommitID: r.commitID})
	}
	return out
}

// PRs is the number of pull requests ever opened.
func (s *Server) PRs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pulls)
}

// pull is pull request number, or nil when there is none (a plain issue has the number, or
// nothing does).
func (s *Server) pull(number int) *pull {
	if i := s.issue(number); i != nil {
		return i.pull
	}
	return nil
}

// refresh re-reads an open pull request's branches from the bare repository, and does what
// GitHub does when they change outside the API: a deleted head branch closes the pull request;
// a head that reached the base by a push marks it merged (merged_by is unknown here).
func (s *Server) refresh(p *pull) {
	if p.state != "open" {
		return
	}
	head, base := s.branchHead(p.head), s.branchHead(p.base)
	if base != "" {
		p.baseSHA = base
	}
	switch {
	case head == "":
		p.state, p.closed, p.updated = "closed", now(), now()
	case head != p.headSHA:
		p.headSHA, p.updated = head, now()
	}
	if p.state == "open" && base != "" {
		if s.pair(base, p.headSHA).merged {
			t := now()
			p.state, p.merged, p.mergeSHA = "closed", true, p.headSHA
			p.mergedAt, p.closed, p.updated = t, t, t
		}
	}
}

// findPull reads {number} and writes 404 when there is no such pull request.
func (s *Server) findPull(w http.ResponseWriter, r *http.Request) *pull {
	n, ok := pathInt(w, r, "number")
	if !ok {
		return nil
	}
	p := s.pull(n)
	if p == nil {
		writeError(w, http.StatusNotFound, "Not Found", pullsDocs+"#get-a-pull-request")
		return nil
	}
	s.refresh(p)
	return p
}

// openDuplicate returns the open pull request other than p from head into base, if any.
func (s *Server) openDuplicate(head, base string, except *pull) *pull {
	for _, q := range s.pulls {
		if q != except && q.state == "open" && q.head == head && q.base == base {
			return q
		}
	}
	return nil
}

// bodyTooLong is GitHub's answer to a body over MaxBodyLength characters.
var bodyTooLong = fieldError{Resource: "Issue", Field: "body", Code: "custom", Message: "body is too long (maximum is 65536 characters)"}

// createPull serves POST /repos/{owner}/{repo}/pulls.
func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title *string `json:"title"`
		Head  string  `json:"head"`
		Base  string  `json:"base"`
		Body  *string `json:"body"`
		Draft bool    `json:"draft"`
	}
	if !decode(w, r, &in) {
		return
	}
	docs := pullsDocs + "#create-a-pull-request"
	var missing []fieldError
	for field, v := range map[string]string{"head": in.Head, "base": in.Base} {
		if v == "" {
			missing = append(missing, fieldError{Resource: "PullRequest", Field: field, Code: "missing_field"})
		}
	}
	if in.Title == nil {
		missing = append(missing, fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	}
	if len(missing) > 0 {
		slices.SortFunc(missing, func(a, b fieldError) int { return strings.Compare(a.Field, b.Field) })
		writeValidation(w, docs, missing...)
		return
	}
	if tooLong(in.Body) {
		writeValidation(w, docs, bodyTooLong)
		return
	}
	head := in.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if !strings.EqualFold(owner, s.opts.Owner) {
			// Forks are not modelled: another owner's branch does not exist here.
			writeValidation(w, docs, fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
			return
		}
		head = branch
	}
	headSHA, baseSHA := s.branchHead(head), s.branchHead(in.Base)
	switch {
	case headSHA == "":
		writeValidation(w, docs, fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
		return
	case baseSHA == "":
		writeValidation(w, docs, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
		return
	case s.openDuplicate(head, in.Base, nil) != nil:
		writeValidation(w, docs, fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Owner, head)})
		return
	case head == in.Base || s.pair(baseSHA, headSHA).ahead == 0:
		writeValidation(w, docs, fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", in.Base, head)})
		return
	}
	t := now()
	p := &pull{
		issue: issue{number: len(s.issues) + 1, id: s.newID(), title: *in.Title, state: "open", author: s.login, created: t, updated: t},
		head:  head, base: in.Base, headSHA: headSHA, baseSHA: baseSHA, draft: in.Draft,
	}
	p.pull = p
	if in.Body != nil {
		p.body = *in.Body
	}
	s.issues = append(s.issues, &p.issue)
	s.pulls = append(s.pulls, p)
	w.Header().Set("Location", s.api()+s.repoPath()+"/pulls/"+strconv.Itoa(p.number))
	writeJSON(w, http.StatusCreated, s.pullJSON(p, true))
}

// getPull serves GET /repos/{owner}/{repo}/pulls/{pull_number}.
func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	if p := s.findPull(w, r); p != nil {
		writeJSON(w, http.StatusOK, s.pullJSON(p, true))
	}
}

// updatePull serves PATCH /repos/{owner}/{repo}/pulls/{pull_number}: title, body, state, base.
func (s *Server) updatePull(w http.ResponseWriter, r *http.Request) {
	p := s.findPull(w, r)
	if p == nil {
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if !decode(w, r, &in) {
		return
	}
	docs := pullsDocs + "#update-a-pull-request"
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		writeValidation(w, docs, fieldError{Resource: "PullRequest", Field: "state", Code: "invalid"})
		return
	}
	if tooLong(in.Body) {
		writeValidation(w, docs, bodyTooLong)
		return
	}
	if in.Base != nil && s.branchHead(*in.Base) == "" {
		writeValidation(w, docs, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
		return
	}
	if in.State != nil && *in.State == "open" && p.state == "closed" {
		if msg := s.reopenRefused(p); msg != "" {
			writeValidation(w, docs, fieldError{Resource: "PullRequest", Code: "custom", Message: msg})
			return
		}
	}
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	if in.Base != nil {
		p.base = *in.Base
	}
	if in.State != nil {
		s.setState(&p.issue, *in.State, "")
	}
	p.updated = now()
	s.refresh(p)
	writeJSON(w, http.StatusOK, s.pullJSON(p, true))
}

// reopenRefused is GitHub's reason not to reopen a closed pull request, or "".
func (s *Server) reopenRefused(p *pull) string {
	switch {
	case p.merged:
		return "state cannot be changed. The pull request has been merged."
	case s.branchHead(p.head) == "":
		return "state cannot be changed. The " + p.head + " branch has been deleted."
	case s.openDuplicate(p.head, p.base, p) != nil:
		return fmt.Sprintf("A pull request already exists for %s:%s.", s.opts.Owner, p.head)
	}
	return ""
}

// listPulls serves GET /repos/{owner}/{repo}/pulls with state, head ("owner:branch"), base,
// sort, direction and pagination.
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		writeValidation(w, pullsDocs+"#list-pull-requests", fieldError{Resource: "Search", Field: "state", Code: "invalid"})
		return
	}
	headOwner, headBranch, headFilter := "", "", q.Get("head") != ""
	if headFilter {
		var ok bool
		headOwner, headBranch, ok = strings.Cut(q.Get("head"), ":")
		if !ok {
			// GitHub wants user:ref; a bare branch name filters on a user of that name.
			headOwner, headBranch = q.Get("head"), ""
		}
	}
	var out []*pull
	for _, p := range s.pulls {
		s.refresh(p)
		if state != "all" && p.state != state {
			continue
		}
		if headFilter && (!strings.EqualFold(headOwner, s.opts.Owner) || (headBranch != "" && p.head != headBranch)) {
			continue
		}
		if base := q.Get("base"); base != "" && p.base != base {
			continue
		}
		out = append(out, p)
	}
	sortBy := q.Get("sort")
	if sortBy == "" {
		sortBy = "created"
	}
	dir := q.Get("direction")
	if dir == "" {
		dir = "asc"
		if sortBy == "created" {
			dir = "desc"
		}
	}
	key := func(p *pull) time.Time {
		if sortBy == "updated" {
			return p.updated
		}
		return p.created
	}
	slices.SortStableFunc(out, func(a, b *pull) int {
		c := key(a).Compare(key(b))
		if c == 0 {
			c = a.number - b.number
		}
		if dir == "desc" {
			c = -c
		}
		return c
	})
	items := []any{}
	for _, p := range paginate(w, r, s.prefix, out) {
		items = append(items, s.pullJSON(p, false))
	}
	writeJSON(w, http.StatusOK, items)
}

// checkMerged serves GET …/pulls/{pull_number}/merge: 204 when merged, else 404.
func (s *Server) checkMerged(w http.ResponseWriter, r *http.Request) {
	p := s.findPull(w, r)
	if p == nil {
		return
	}
	if !p.merged {
		// GitHub's description documents this 404 without a body.
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mergePull serves PUT …/pulls/{pull_number}/merge with merge_method merge, squash or rebase,
// the sha guard, commit_title and commit_message. The base branch moves with update-ref
// guarded by its old value, so a concurrent push to the base is never lost.
func (s *Server) mergePull(w http.ResponseWriter, r *http.Request) {
	p := s.findPull(w, r)
	if p == nil {
		return
	}
	in := struct {
		CommitTitle   *string `json:"commit_title"`
		CommitMessage *string `json:"commit_message"`
		SHA           string  `json:"sha"`
		MergeMethod   string  `json:"merge_method"`
	}{MergeMethod: "merge"}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	docs := pullsDocs + "#merge-a-pull-request"
	if !slices.Contains([]string{"merge", "squash", "rebase"}, in.MergeMethod) {
		writeValidation(w, docs, fieldError{Resource: "PullRequest", Field: "merge_method", Code: "invalid"})
		return
	}
	if p.state != "open" || p.draft {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable", docs)
		return
	}
	head, base := s.branchHead(p.head), s.branchHead(p.base)
	if head == "" || base == "" {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable", docs)
		return
	}
	if in.SHA != "" && in.SHA != head {
		writeError(w, http.StatusConflict, "Head branch was modified. Review and try the merge again.", docs)
		return
	}
	title, message := fmt.Sprintf("Merge pull request #%d from %s/%s", p.number, s.opts.Owner, p.head), p.title
	if in.MergeMethod == "squash" {
		title, message = fmt.Sprintf("%s (#%d)", p.title, p.number), s.squashMessage(base, head)
	}
	if in.CommitTitle != nil {
		title = *in.CommitTitle
	}
	if in.CommitMessage != nil {
		message = *in.CommitMessage
	}
	full := title
	if message != "" {
		full += "\n\n" + message
	}

	var sha string
	var err error
	switch in.MergeMethod {
	case "merge":
		sha, err = s.mergeCommit(base, head, full, userSignature(s.login), base, head)
	case "squash":
		sha, err = s.mergeCommit(base, head, full, userSignature(p.author), base)
	case "rebase":
		sha, err = s.rebase(base, head)
	}
	if errors.Is(err, errConflict) {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable", docs)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), docs)
		return
	}
	s.refCache = nil // the branch moves now
	if _, err := s.git(nil, "update-ref", "refs/heads/"+p.base, sha, base); err != nil {
		writeError(w, http.StatusConflict, "Base branch was modified. Review and try the merge again.", docs)
		return
	}
	t := now()
	p.state, p.merged, p.mergeSHA, p.mergedBy = "closed", true, sha, s.login
	p.headSHA, p.baseSHA = head, base
	p.mergedAt, p.closed, p.updated = t, t, t
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

// mergeCommit writes one commit on base holding the merged tree of base and head.
func (s *Server) mergeCommit(base, head, message string, author signature, parents ...string) (string, error) {
	tree, err := s.mergeTree(base, head)
	if err != nil {
		return "", err
	}
	return s.commitTree(tree, message, author, parents...)
}

// squashMessage is GitHub's default squash message: each commit's subject as a bullet.
func (s *Server) squashMessage(base, head string) string {
	out, err := s.git(nil, "log", "--reverse", "--format=* %s", head, "^"+base)
	if err != nil {
		return ""
	}
	return out
}

// rebase replays each commit of head that base lacks onto base, keeping authors and
// messages, and returns the last one. git 2.39's merge-tree has no --merge-base, so each
// step merges the commit with a stand-in for the current tip whose parent is the commit's
// parent: their merge base is that parent, which makes it a cherry-pick.
func (s *Server) rebase(base, head string) (string, error) {
	out, err := s.git(nil, "rev-list", "--reverse", "--topo-order", head, "^"+base)
	if err != nil {
		return "", err
	}
	tip := base
	for _, sha := range strings.Fields(out) {
		c, err := s.commit(sha)
		if err != nil {
			return "", err
		}
		if len(c.parents) != 1 {
			// GitHub cannot rebase merge commits either.
			return "", errConflict
		}
		tipTree, err := s.git(nil, "rev-parse", tip+"^{tree}")
		if err != nil {
			return "", err
		}
		standIn, err := s.commitTree(tipTree, "stand-in", c.author, c.parents[0])
		if err != nil {
			return "", err
		}
		tree, err := s.mergeTree(standIn, sha)
		if err != nil {
			return "", err
		}
		if tip, err = s.commitTree(tree, c.message, c.author, tip); err != nil {
			return "", err
		}
	}
	return tip, nil
}

// pullJSON is GitHub's pull-request object; full adds what only GET, create and update
// return (pull-request), list items being pull-request-simple.
func (s *Server) pullJSON(p *pull, full bool) map[string]any {
	api := s.api() + s.repoPath()
	self := api + "/pulls/" + strconv.Itoa(p.number)
	issue := api + "/issues/" + strconv.Itoa(p.number)
	html := s.html() + "/pull/" + strconv.Itoa(p.number)
	link := func(href string) map[string]any { return map[string]any{"href": href} }
	ref := func(branch, sha string) map[string]any {
		return map[string]any{
			"label": s.opts.Owner + ":" + branch, "ref": branch, "sha": sha,
			"user": s.userJSON(s.opts.Owner), "repo": s.repoJSON(false),
		}
	}
	labels := []any{}
	for _, name := range p.labels {
		labels = append(labels, s.labelJSON(s.labels[name]))
	}
	var body any
	if p.body != "" {
		body = p.body
	}
	var mergeSHA any
	if p.mergeSHA != "" {
		mergeSHA = p.mergeSHA
	}
	m := map[string]any{
		"url": self, "id": p.id, "node_id": nodeID("PullRequest", strconv.Itoa(p.number)),
		"html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch", "issue_url": issue,
		"commits_url": self + "/commits", "review_comments_url": self + "/comments",
		"review_comment_url": api + "/pulls/comments{/number}", "comments_url": issue + "/comments",
		"statuses_url": api + "/statuses/" + p.headSHA,
		"number":       p.number, "state": p.state, "locked": false, "title": p.title,
		"user": s.userJSON(p.author), "body": body, "labels": labels, "milestone": nil,
		"active_lock_reason": nil,
		"created_at":         timestamp(p.created), "updated_at": timestamp(p.updated),
		"closed_at": timestamp(p.closed), "merged_at": timestamp(p.mergedAt),
		"merge_commit_sha": mergeSHA, "assignee": nil, "assignees": []any{},
		"requested_reviewers": []any{}, "requested_teams": []any{},
		"head": ref(p.head, p.headSHA), "base": ref(p.base, p.baseSHA),
		"_links": map[string]any{
			"self": link(self), "html": link(html), "issue": link(issue), "comments": link(issue + "/comments"),
			"review_comments": link(self + "/comments"), "review_comment": link(api + "/pulls/comments{/number}"),
			"commits": link(self + "/commits"), "statuses": link(api + "/statuses/" + p.headSHA),
		},
		"author_association": "MEMBER", "auto_merge": nil, "draft": p.draft,
	}
	if !full {
		return m
	}
	var mergedBy any
	if p.mergedBy != "" {
		mergedBy = s.userJSON(p.mergedBy)
	}
	// GitHub computes mergeability in the background and answers null until it knows; here it
	// is known at once while open, and null once closed.
	var mergeable any
	mergeableState := "unknown"
	facts := s.pair(p.baseSHA, p.headSHA)
	if p.state == "open" {
		mergeable = facts.mergeable
		mergeableState = "clean"
		if !facts.mergeable {
			mergeableState = "dirty"
		}
		if p.draft {
			mergeableState = "draft"
		}
	}
	m["merged"] = p.merged
	m["mergeable"] = mergeable
	m["rebaseable"] = mergeable
	m["mergeable_state"] = mergeableState
	m["merged_by"] = mergedBy
	m["comments"] = len(p.comments)
	m["review_comments"] = 0
	m["maintainer_can_modify"] = false
	m["commits"] = facts.ahead
	m["additions"], m["deletions"], m["changed_files"] = facts.additions, facts.deletions, facts.changed
	return m
}

// diffStat counts what head changes since its merge base with base.
func (s *Server) diffStat(base, head string) (additions, deletions, files int) {
	out, err := s.git(nil, "diff", "--numstat", base+"..."+head)
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		a, _ := strconv.Atoi(f[0]) // "-" for binary files counts 0
		d, _ := strconv.Atoi(f[1])
		additions, deletions, files = additions+a, deletions+d, files+1
	}
	return additions, deletions, files
}
