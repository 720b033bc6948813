package githubtest

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// gitCLI runs git in dir with no user or system config.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestPushOverHTTPIsSeen pushes with the git CLI over smart HTTP, as stagegate does, and
// reads the result through the API: branch, ref and an open pull request's head.
func TestPushOverHTTPIsSeen(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")

	u, err := url.Parse(s.GitURL())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(GitUser, s.GitPassword())
	dir := filepath.Join(t.TempDir(), "work")
	gitCLI(t, "", "clone", "--quiet", "--branch", "promote", u.String(), dir)
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte("replicas: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, dir, "commit", "--quiet", "-am", "pushed over HTTP")
	pushed := gitCLI(t, dir, "rev-parse", "HEAD")
	gitCLI(t, dir, "push", "--quiet", "origin", "promote", "promote:stagegate/promote/prod")

	if got := c.must(200, "GET", "repos/acme/deploy/branches/promote", nil).obj(t)["commit"].(map[string]any)["sha"]; got != pushed {
		t.Errorf("branch at %v, want the pushed %s", got, pushed)
	}
	ref := c.must(200, "GET", "repos/acme/deploy/git/ref/heads/stagegate/promote/prod", nil).obj(t)
	if ref["ref"] != "refs/heads/stagegate/promote/prod" || ref["object"].(map[string]any)["sha"] != pushed {
		t.Errorf("ref %v", ref)
	}
	if got := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).obj(t)["head"].(map[string]any)["sha"]; got != pushed {
		t.Errorf("pull request head %v, want the pushed %s", got, pushed)
	}

	// A wrong password is refused by the Git server.
	u.User = url.UserPassword(GitUser, "wrong")
	cmd := exec.Command("git", "ls-remote", u.String())
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("ls-remote with a wrong password succeeded:\n%s", out)
	}
}

func TestRefsAndBranches(t *testing.T) {
	s, c, head := newPromotion(t)
	gitsourcetest.Git(t, s.Repo(), "tag", "-a", "-m", "v1", "v1", head)

	branch := c.must(200, "GET", "repos/acme/deploy/branches/promote", nil).obj(t)
	commit := branch["commit"].(map[string]any)
	if branch["name"] != "promote" || commit["sha"] != head || commit["commit"].(map[string]any)["message"] != "scale app" || branch["protected"] != false {
		t.Errorf("branch %v", branch)
	}
	if n := len(commit["parents"].([]any)); n != 1 {
		t.Errorf("%d parents", n)
	}
	tag := c.must(200, "GET", "repos/acme/deploy/git/ref/tags/v1", nil).obj(t)["object"].(map[string]any)
	if tag["type"] != "tag" {
		t.Errorf("annotated tag's object type %v", tag["type"])
	}
	for _, p := range []string{
		"repos/acme/deploy/git/ref/heads/nope",
		"repos/acme/deploy/git/ref/refs/heads/promote", // GitHub wants heads/…, not refs/heads/…
		"repos/acme/deploy/branches/nope",
		"repos/acme/other/branches/promote",
		"repos/someone/deploy/git/ref/heads/promote",
	} {
		c.must(404, "GET", p, nil)
	}
}

func TestTeams(t *testing.T) {
	s, c, _ := newPromotion(t)
	s.SetTeam("acme", "approvers", "alice", "bob")
	var got []string
	for _, u := range c.must(200, "GET", "orgs/acme/teams/approvers/members", nil).list(t) {
		got = append(got, u["login"].(string))
	}
	if strings.Join(got, ",") != "alice,bob" {
		t.Errorf("members %v", got)
	}
	c.must(404, "GET", "orgs/acme/teams/nobody/members", nil)
}

func TestGetCommitShowsTheAccountsOfItsIdentities(t *testing.T) {
	s, c, head := newPromotion(t)
	login := func(v any) any {
		if v == nil {
			return nil
		}
		return v.(map[string]any)["login"]
	}

	// No account has the test identity's email yet: GitHub shows null.
	got := c.must(200, "GET", "repos/acme/deploy/commits/"+head, nil).obj(t)
	if got["sha"] != head || got["commit"].(map[string]any)["author"].(map[string]any)["email"] != gitsourcetest.AuthorEmail ||
		got["author"] != nil || got["committer"] != nil {
		t.Errorf("unmapped commit: sha %v, author %v, committer %v", got["sha"], got["author"], got["committer"])
	}

	s.SetLogin(strings.ToUpper(gitsourcetest.AuthorEmail), "tester")
	for _, ref := range []string{head, head[:12], "promote", "heads/promote"} {
		got := c.must(200, "GET", "repos/acme/deploy/commits/"+ref, nil).obj(t)
		if got["sha"] != head || login(got["author"]) != "tester" || login(got["committer"]) != "tester" {
			t.Errorf("commits/%s: sha %v, author %v, committer %v; want %s by tester", ref, got["sha"], login(got["author"]), login(got["committer"]), head)
		}
	}
	s.SetLogin(gitsourcetest.AuthorEmail, "")
	if got := c.must(200, "GET", "repos/acme/deploy/commits/"+head, nil).obj(t); got["author"] != nil {
		t.Errorf("author %v after the link was removed, want null", got["author"])
	}

	// GitHub's merge commits are authored with the merger's noreply address and committed by
	// web-flow.
	openPR(t, c, "promote", "env/prod")
	merge := c.must(200, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{"sha": head}).obj(t)["sha"].(string)
	got = c.must(200, "GET", "repos/acme/deploy/commits/"+merge, nil).obj(t)
	if login(got["author"]) != DefaultLogin || login(got["committer"]) != "web-flow" {
		t.Errorf("merge commit: author %v, committer %v; want %s, web-flow", login(got["author"]), login(got["committer"]), DefaultLogin)
	}

	for _, ref := range []string{strings.Repeat("0", 40), "nope"} {
		if msg := c.must(422, "GET", "repos/acme/deploy/commits/"+ref, nil).obj(t)["message"]; msg != "No commit found for SHA: "+ref {
			t.Errorf("commits/%s: message %q", ref, msg)
		}
	}
	c.must(404, "GET", "repos/acme/other/commits/"+head, nil)
}
