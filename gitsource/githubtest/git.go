package githubtest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Committer of the commits GitHub writes when it merges.
const (
	committerName  = "GitHub"
	committerEmail = "noreply@github.com"
)

// git runs git on the bare repository with extra environment, and returns its trimmed output.
func (s *Server) git(env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_DIR="+s.repo, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// resolve returns the commit a ref, branch or sha names, or "".
func (s *Server) resolve(rev string) string {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return ""
	}
	sha, err := s.git(nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return ""
	}
	return sha
}

// branchHead returns a branch's commit, or "" when the branch does not exist. It reads the
// bare repository, so pushes over smart HTTP are seen at once (see refs).
func (s *Server) branchHead(branch string) string {
	if branch == "" {
		return ""
	}
	return s.refs().heads[branch]
}

// refState is what one read of the repository's branches gives.
type refState struct {
	heads  map[string]string // branch → sha
	pushed time.Time         // newest committer date of any branch: the last push, near enough
}

// refs reads every branch with one git call. While a request is served the result is kept
// for the rest of it (and dropped when the emulator moves a branch); test-side calls read
// afresh.
func (s *Server) refs() *refState {
	if s.refCache != nil {
		return s.refCache
	}
	rs := &refState{heads: map[string]string{}}
	out, _ := s.git(nil, "for-each-ref", "--format=%(objectname) %(committerdate:iso-strict) %(refname)", "refs/heads")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		rs.heads[strings.TrimPrefix(f[2], "refs/heads/")] = f[0]
		if t, err := time.Parse(time.RFC3339, f[1]); err == nil && t.After(rs.pushed) {
			rs.pushed = t
		}
	}
	if s.serving {
		s.refCache = rs
	}
	return rs
}

// pairFacts are what the API shows of a head against a base; commits never change, so they
// are computed once per pair.
type pairFacts struct {
	ahead                         int  // commits on head that base lacks
	mergeable                     bool // merges without conflicts
	merged                        bool // head is an ancestor of base
	additions, deletions, changed int
}

func (s *Server) pair(base, head string) pairFacts {
	key := base + ".." + head
	if f, ok := s.pairs[key]; ok {
		return f
	}
	var f pairFacts
	f.ahead = s.ahead(base, head)
	_, err := s.mergeTree(base, head)
	f.mergeable = err == nil
	_, err = s.git(nil, "merge-base", "--is-ancestor", head, base)
	f.merged = err == nil
	f.additions, f.deletions, f.changed = s.diffStat(base, head)
	s.pairs[key] = f
	return f
}

// ahead counts the commits on head that base lacks.
func (s *Server) ahead(base, head string) int {
	out, err := s.git(nil, "rev-list", "--count", head, "^"+base)
	if err != nil {
		return 0
	}
	var n int
	fmt.Sscan(out, &n)
	return n
}

// errConflict: the three-way merge has conflicts.
var errConflict = errors.New("merge conflict")

// mergeTree merges two commits (git merge-tree --write-tree, no work tree) and returns the tree.
func (s *Server) mergeTree(ours, theirs string) (string, error) {
	out, err := s.git(nil, "merge-tree", "--write-tree", "--no-messages", ours, theirs)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return "", errConflict
	}
	if err != nil {
		return "", err
	}
	tree, _, _ := strings.Cut(out, "\n")
	return tree, nil
}

// signature is a commit's author or committer.
type signature struct {
	name, email string
	date        time.Time
}

func (s *Server) commitTree(tree, message string, author signature, parents ...string) (string, error) {
	env := []string{
		"GIT_AUTHOR_NAME=" + author.name, "GIT_AUTHOR_EMAIL=" + author.email,
		"GIT_AUTHOR_DATE=" + author.date.Format(time.RFC3339),
		"GIT_COMMITTER_NAME=" + committerName, "GIT_COMMITTER_EMAIL=" + committerEmail,
		"GIT_COMMITTER_DATE=" + now().Format(time.RFC3339),
	}
	args := []string{"commit-tree", tree, "-m", message}
	for _, p := range parents {
		args = append(args, "-p", p)
	}
	return s.git(env, args...)
}

// userSignature is how GitHub signs a commit for a login.
func userSignature(login string) signature {
	return signature{name: login, email: login + "@users.noreply.github.com", date: now()}
}

// commitInfo is what the API shows of a commit.
type commitInfo struct {
	sha, tree         string
	parents           []string
	author, committer signature
	message           string
}

func (s *Server) commit(sha string) (commitInfo, error) {
	out, err := s.git(nil, "show", "-s", "--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha)
	if err != nil {
		return commitInfo{}, err
	}
	f := strings.SplitN(out, "\x00", 10)
	if len(f) != 10 {
		return commitInfo{}, fmt.Errorf("git show %s: unexpected output", sha)
	}
	ad, _ := time.Parse(time.RFC3339, f[5])
	cd, _ := time.Parse(time.RFC3339, f[8])
	return commitInfo{
		sha: f[0], tree: f[1], parents: strings.Fields(f[2]),
		author:    signature{f[3], f[4], ad},
		committer: signature{f[6], f[7], cd},
		message:   f[9],
	}, nil
}

// getRef serves GET /repos/{owner}/{repo}/git/ref/{ref} ("heads/main", "tags/v1").
func (s *Server) getRef(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	if !strings.HasPrefix(ref, "heads/") && !strings.HasPrefix(ref, "tags/") {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference")
		return
	}
	sha, err := s.git(nil, "rev-parse", "--verify", "--quiet", "refs/"+ref)
	if err != nil || sha == "" {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference")
		return
	}
	kind, _ := s.git(nil, "cat-file", "-t", sha)
	objURL := s.api() + s.repoPath() + "/git/commits/" + sha
	if kind == "tag" {
		objURL = s.api() + s.repoPath() + "/git/tags/" + sha
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ref":     "refs/" + ref,
		"node_id": nodeID("Ref", "refs/"+ref),
		"url":     s.api() + s.repoPath() + "/git/refs/" + ref,
		"object":  map[string]any{"type": kind, "sha": sha, "url": objURL},
	})
}

// getBranch serves GET /repos/{owner}/{repo}/branches/{branch}.
func (s *Server) getBranch(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("branch")
	sha := s.branchHead(name)
	if sha == "" {
		writeError(w, http.StatusNotFound, "Branch not found", "https://docs.github.com/rest/branches/branches#get-a-branch")
		return
	}
	c, err := s.commit(sha)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	self := s.api() + s.repoPath() + "/branches/" + name
	writeJSON(w, http.StatusOK, map[string]any{
		"name":   name,
		"commit": s.commitJSON(c),
		"_links": map[string]any{"self": self, "html": s.html() + "/tree/" + name},
		// Branch protection is not modelled: every branch is unprotected.
		"protected": false,
		"protection": map[string]any{
			"enabled":                false,
			"required_status_checks": map[string]any{"enforcement_level": "off", "contexts": []string{}, "checks": []any{}},
		},
		"protection_url": self + "/protection",
	})
}

// commitJSON is GitHub's commit object (as in GET /commits/{sha} and branches).
func (s *Server) commitJSON(c commitInfo) map[string]any {
	parents := []any{}
	for _, p := range c.parents {
		parents = append(parents, map[string]any{"sha": p, "url": s.api() + s.repoPath() + "/commits/" + p, "html_url": s.html() + "/commit/" + p})
	}
	gitUser := func(sig signature) map[string]any {
		return map[string]any{"name": sig.name, "email": sig.email, "date": timestamp(sig.date)}
	}
	url := s.api() + s.repoPath() + "/commits/" + c.sha
	return map[string]any{
		"sha":          c.sha,
		"node_id":      nodeID("Commit", c.sha),
		"url":          url,
		"html_url":     s.html() + "/commit/" + c.sha,
		"comments_url": url + "/comments",
		"commit": map[string]any{
			"url":           s.api() + s.repoPath() + "/git/commits/" + c.sha,
			"author":        gitUser(c.author),
			"committer":     gitUser(c.committer),
			"message":       strings.TrimRight(c.message, "\n"),
			"comment_count": 0,
			"tree":          map[string]any{"sha": c.tree, "url": s.api() + s.repoPath() + "/git/trees/" + c.tree},
			"verification":  map[string]any{"verified": false, "reason": "unsigned", "payload": nil, "signature": nil, "verified_at": nil},
		},
		// GitHub links a Git identity to the account whose verified email it is (SetLogin here),
		// and shows null when none is.
		"author":    s.accountJSON(c.author.email),
		"committer": s.accountJSON(c.committer.email),
		"parents":   parents,
	}
}

// SetLogin links a commit email to a GitHub account, as a user's verified email is linked on
// GitHub: commits whose author or committer has that email show the login. Emails compare
// case-insensitively. An empty login removes the link.
func (s *Server) SetLogin(email, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login == "" {
		delete(s.logins, strings.ToLower(email))
		return
	}
	s.logins[strings.ToLower(email)] = login
}

// loginFor is the account a commit email belongs to, or "". Besides the emails SetLogin
// links, GitHub's noreply addresses (login@ and 12345+login@users.noreply.github.com) name
// their account, and noreply@github.com, which signs GitHub's own merges, is web-flow.
func (s *Server) loginFor(email string) string {
	email = strings.ToLower(email)
	if login, ok := s.logins[email]; ok {
		return login
	}
	if email == committerEmail {
		return "web-flow"
	}
	if local, ok := strings.CutSuffix(email, "@users.noreply.github.com"); ok && local != "" {
		if _, login, ok := strings.Cut(local, "+"); ok {
			return login
		}
		return local
	}
	return ""
}

// accountJSON is the simple-user a commit email maps to, or null.
func (s *Server) accountJSON(email string) any {
	login := s.loginFor(email)
	if login == "" {
		return nil
	}
	return s.userJSON(login)
}

// getCommit serves GET /repos/{owner}/{repo}/commits/{ref}: one commit, with the accounts
// of its author and committer. A ref that names no commit is 422, as on GitHub. The files
// and stats GitHub adds are not modelled.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request, ref string) {
	sha := s.resolve(ref)
	if sha == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message":           "No commit found for SHA: " + ref,
			"documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
			"status":            "422",
		})
		return
	}
	c, err := s.commit(sha)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, s.commitJSON(c))
}
