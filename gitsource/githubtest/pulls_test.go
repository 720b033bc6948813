package githubtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// newPromotion starts an emulator with env/dev and env/prod, and a branch promote one commit
// ahead of env/prod; it returns the server, a checked client and promote's head.
func newPromotion(t *testing.T) (*Server, *apiClient, string) {
	t.Helper()
	s := New(t, Options{Branches: map[string]map[string]string{
		"env/dev":  {"app.yaml": "replicas: 1\n", "other.yaml": "a\n"},
		"env/prod": {"app.yaml": "replicas: 1\n", "other.yaml": "a\n"},
	}})
	gitsourcetest.Branch(t, s.Repo(), "promote", "env/prod")
	head := gitsourcetest.Commit(t, s.Repo(), "promote", map[string]string{"app.yaml": "replicas: 2\n"}, "scale app")
	return s, newClient(t, s), head
}

func openPR(t *testing.T, c *apiClient, head, base string) map[string]any {
	t.Helper()
	return c.must(201, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "Promote " + head, "head": head, "base": base, "body": "why"}).obj(t)
}

func TestCreatePull(t *testing.T) {
	s, c, head := newPromotion(t)
	gitsourcetest.Branch(t, s.Repo(), "behind", "env/prod")

	pr := openPR(t, c, "acme:promote", "env/prod")
	got := map[string]any{
		"number": pr["number"], "state": pr["state"], "title": pr["title"], "body": pr["body"],
		"head": pr["head"].(map[string]any)["sha"], "ref": pr["head"].(map[string]any)["ref"],
		"user": pr["user"].(map[string]any)["login"], "merged": pr["merged"], "mergeable": pr["mergeable"],
		"commits": pr["commits"], "changed_files": pr["changed_files"],
	}
	want := map[string]any{
		"number": 1.0, "state": "open", "title": "Promote acme:promote", "body": "why",
		"head": head, "ref": "promote", "user": DefaultLogin, "merged": false, "mergeable": true,
		"commits": 1.0, "changed_files": 1.0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created pull request (-want +got):\n%s", diff)
	}

	refused := []struct {
		name, head, base, message string
	}{
		{"an open pull request for the same head and base", "promote", "env/prod", "A pull request already exists for acme:promote."},
		{"head equal to base", "env/prod", "env/prod", "No commits between env/prod and env/prod"},
		{"no commits between", "behind", "env/prod", "No commits between env/prod and behind"},
		{"a head branch that does not exist", "nope", "env/prod", ""},
		{"a base branch that does not exist", "promote", "nope", ""},
		{"another owner's head", "someone:promote", "env/prod", ""},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := c.must(422, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "x", "head": tt.head, "base": tt.base})
			body := r.obj(t)
			if body["message"] != "Validation Failed" {
				t.Errorf("message %q, want Validation Failed", body["message"])
			}
			if tt.message != "" && !strings.Contains(string(r.body), tt.message) {
				t.Errorf("body does not say %q:\n%s", tt.message, r.body)
			}
		})
	}
	if n := s.PRs(); n != 1 {
		t.Errorf("%d pull requests opened, want 1", n)
	}
}

func TestPullFollowsPushes(t *testing.T) {
	s, c, head := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	moved := gitsourcetest.Commit(t, s.Repo(), "promote", map[string]string{"app.yaml": "replicas: 3\n"}, "scale more")
	if moved == head {
		t.Fatal("commit did not move the branch")
	}
	pr := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).obj(t)
	if got := pr["head"].(map[string]any)["sha"]; got != moved {
		t.Errorf("head.sha %v, want the pushed %s", got, moved)
	}
	if got := pr["commits"]; got != 2.0 {
		t.Errorf("commits %v, want 2", got)
	}
	if s.PR(1).HeadSHA != moved {
		t.Errorf("snapshot head %s, want %s", s.PR(1).HeadSHA, moved)
	}
}

func TestUpdatePull(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")

	pr := c.must(200, "PATCH", "repos/acme/deploy/pulls/1", map[string]any{"title": "new title", "body": "new body"}).obj(t)
	if pr["title"] != "new title" || pr["body"] != "new body" {
		t.Errorf("title %q body %q after update", pr["title"], pr["body"])
	}
	pr = c.must(200, "PATCH", "repos/acme/deploy/pulls/1", map[string]any{"state": "closed"}).obj(t)
	if pr["state"] != "closed" || pr["closed_at"] == nil || pr["merged"] != false {
		t.Errorf("closed: state %v closed_at %v merged %v", pr["state"], pr["closed_at"], pr["merged"])
	}
	// A closed pull request no longer blocks a new one, and then cannot be reopened beside it.
	openPR(t, c, "promote", "env/prod")
	r := c.must(422, "PATCH", "repos/acme/deploy/pulls/1", map[string]any{"state": "open"})
	if !strings.Contains(string(r.body), "A pull request already exists for acme:promote.") {
		t.Errorf("reopen beside an open one: %s", r.body)
	}
	c.must(200, "PATCH", "repos/acme/deploy/pulls/2", map[string]any{"state": "closed"})
	c.must(200, "PATCH", "repos/acme/deploy/pulls/1", map[string]any{"state": "open"})
	if got := s.PR(1).State; got != "open" {
		t.Errorf("reopened state %q", got)
	}
	c.must(404, "PATCH", "repos/acme/deploy/pulls/9", map[string]any{"title": "x"})
}

func TestListPulls(t *testing.T) {
	s, c, _ := newPromotion(t)
	for _, b := range []string{"a", "b", "c"} {
		gitsourcetest.Branch(t, s.Repo(), b, "env/prod")
		gitsourcetest.Commit(t, s.Repo(), b, map[string]string{b: b}, b)
	}
	openPR(t, c, "a", "env/prod")       // 1
	openPR(t, c, "b", "env/prod")       // 2
	openPR(t, c, "c", "env/dev")        // 3
	openPR(t, c, "promote", "env/prod") // 4
	c.must(200, "PATCH", "repos/acme/deploy/pulls/2", map[string]any{"state": "closed"})

	numbers := func(r response) []int {
		var out []int
		for _, p := range r.list(t) {
			out = append(out, int(p["number"].(float64)))
		}
		return out
	}
	tests := []struct {
		query string
		want  []int
	}{
		{"", []int{4, 3, 1}},
		{"?state=closed", []int{2}},
		{"?state=all", []int{4, 3, 2, 1}},
		{"?state=all&direction=asc", []int{1, 2, 3, 4}},
		{"?head=acme:a", []int{1}},
		{"?head=acme:b", nil},
		{"?head=acme:b&state=all", []int{2}},
		{"?head=other:a", nil},
		{"?base=env/dev", []int{3}},
		{"?head=acme:promote&base=env/prod", []int{4}},
		{"?state=all&sort=updated", []int{1, 3, 4, 2}},
		{"?state=all&per_page=3&page=2", []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := numbers(c.must(200, "GET", "repos/acme/deploy/pulls"+tt.query, nil))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("numbers (-want +got):\n%s", diff)
			}
		})
	}

	r := c.must(200, "GET", "repos/acme/deploy/pulls?state=all&per_page=1", nil)
	link := r.header.Get("Link")
	for _, want := range []string{`/repos/acme/deploy/pulls?page=2&per_page=1&state=all>; rel="next"`, `page=4&per_page=1&state=all>; rel="last"`} {
		if !strings.Contains(link, want) {
			t.Errorf("Link %q lacks %q", link, want)
		}
	}
	api := *c
	api.base = s.URL() + "api/v3/"
	if link := api.must(200, "GET", "repos/acme/deploy/pulls?state=all&per_page=1&page=2", nil).header.Get("Link"); !strings.Contains(link, "/api/v3/repos/acme/deploy/pulls?") || !strings.Contains(link, `rel="prev"`) {
		t.Errorf("Link under /api/v3: %q", link)
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		method string
		// wantParents of the commit on the base; wantSubject its first line.
		wantParents int
		wantSubject string
		wantCommits int // commits added to the base
	}{
		{"merge", 2, "Merge pull request #1 from acme/promote", 3},
		{"squash", 1, "Promote promote (#1)", 1},
		{"rebase", 1, "second", 2},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			s, c, _ := newPromotion(t)
			head := gitsourcetest.Commit(t, s.Repo(), "promote", map[string]string{"new.yaml": "x\n"}, "second")
			// The base moved on too, without conflict: a real three-way merge is needed.
			baseBefore := gitsourcetest.Commit(t, s.Repo(), "env/prod", map[string]string{"other.yaml": "b\n"}, "hotfix")
			openPR(t, c, "promote", "env/prod")

			res := c.must(200, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{"sha": head, "merge_method": tt.method}).obj(t)
			sha, _ := res["sha"].(string)
			if res["merged"] != true || !shaPattern.MatchString(sha) {
				t.Fatalf("merge result %v", res)
			}
			repo := s.Repo()
			if got := gitsourcetest.Head(t, repo, "env/prod"); got != sha {
				t.Errorf("env/prod at %s, want the merge result %s", got, sha)
			}
			first := sha // the first commit the merge put on the base
			if tt.method == "rebase" {
				first = gitsourcetest.Head(t, repo, sha+"~1")
			}
			parents := strings.Fields(gitsourcetest.Git(t, repo, "log", "-1", "--format=%P", first))
			if len(parents) != tt.wantParents || parents[0] != baseBefore {
				t.Errorf("parents %v, want %d with %s first", parents, tt.wantParents, baseBefore)
			}
			if got := strings.TrimSpace(gitsourcetest.Git(t, repo, "log", "-1", "--format=%s", sha)); got != tt.wantSubject {
				t.Errorf("subject %q, want %q", got, tt.wantSubject)
			}
			if got := strings.TrimSpace(gitsourcetest.Git(t, repo, "rev-list", "--count", sha, "^"+baseBefore)); got != fmt.Sprint(tt.wantCommits) {
				t.Errorf("%s commits added to env/prod, want %d", got, tt.wantCommits)
			}
			files := map[string]string{}
			for _, f := range []string{"app.yaml", "other.yaml", "new.yaml"} {
				files[f] = gitsourcetest.Git(t, repo, "show", sha+":"+f)
			}
			if diff := cmp.Diff(map[string]string{"app.yaml": "replicas: 2\n", "other.yaml": "b\n", "new.yaml": "x\n"}, files); diff != "" {
				t.Errorf("merged tree (-want +got):\n%s", diff)
			}
			if tt.method == "rebase" {
				author := gitsourcetest.Git(t, repo, "log", "-1", "--format=%an <%ae> / %cn", sha)
				if want := gitsourcetest.AuthorName + " <" + gitsourcetest.AuthorEmail + "> / GitHub\n"; author != want {
					t.Errorf("rebased commit signed %q, want %q", author, want)
				}
			}

			pr := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).obj(t)
			if pr["merged"] != true || pr["state"] != "closed" || pr["merge_commit_sha"] != sha || pr["merged_at"] == nil ||
				pr["merged_by"].(map[string]any)["login"] != DefaultLogin || pr["head"].(map[string]any)["sha"] != head {
				t.Errorf("after merge: merged %v state %v merge_commit_sha %v merged_at %v head %v",
					pr["merged"], pr["state"], pr["merge_commit_sha"], pr["merged_at"], pr["head"].(map[string]any)["sha"])
			}
			c.must(204, "GET", "repos/acme/deploy/pulls/1/merge", nil)
			if r := c.must(405, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{}); !strings.Contains(string(r.body), "Pull Request is not mergeable") {
				t.Errorf("second merge: %s", r.body)
			}
		})
	}
}

func TestMergeCommitTitleAndMessage(t *testing.T) {
	s, c, head := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	res := c.must(200, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{
		"sha": head, "merge_method": "squash", "commit_title": "Promote abc to prod", "commit_message": "Stagegate-Source: env/dev@abc",
	}).obj(t)
	msg := gitsourcetest.Git(t, s.Repo(), "log", "-1", "--format=%B", res["sha"].(string))
	if want := "Promote abc to prod\n\nStagegate-Source: env/dev@abc\n\n"; msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
}

func TestMergeRefused(t *testing.T) {
	t.Run("409 when the head moved since the sha was gated", func(t *testing.T) {
		s, c, gated := newPromotion(t)
		openPR(t, c, "promote", "env/prod")
		before := gitsourcetest.Head(t, s.Repo(), "env/prod")
		gitsourcetest.Commit(t, s.Repo(), "promote", map[string]string{"app.yaml": "replicas: 9\n"}, "ungated")
		r := c.must(409, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{"sha": gated})
		if got := r.obj(t)["message"]; got != "Head branch was modified. Review and try the merge again." {
			t.Errorf("message %q", got)
		}
		if got := gitsourcetest.Head(t, s.Repo(), "env/prod"); got != before {
			t.Errorf("env/prod moved to %s on a refused merge", got)
		}
		if s.PR(1).Merged {
			t.Error("pull request marked merged")
		}
	})
	t.Run("405 on conflicts, for every method", func(t *testing.T) {
		s, c, _ := newPromotion(t)
		gitsourcetest.Commit(t, s.Repo(), "env/prod", map[string]string{"app.yaml": "replicas: 5\n"}, "conflicting hotfix")
		pr := openPR(t, c, "promote", "env/prod")
		if pr["mergeable"] != false || pr["mergeable_state"] != "dirty" {
			t.Errorf("mergeable %v state %v, want false dirty", pr["mergeable"], pr["mergeable_state"])
		}
		for _, m := range []string{"merge", "squash", "rebase"} {
			c.must(405, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{"merge_method": m})
		}
	})
	t.Run("405 when closed", func(t *testing.T) {
		_, c, _ := newPromotion(t)
		openPR(t, c, "promote", "env/prod")
		c.must(200, "PATCH", "repos/acme/deploy/pulls/1", map[string]any{"state": "closed"})
		c.must(405, "PUT", "repos/acme/deploy/pulls/1/merge", nil)
	})
	t.Run("422 on an unknown method", func(t *testing.T) {
		_, c, _ := newPromotion(t)
		openPR(t, c, "promote", "env/prod")
		c.must(422, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{"merge_method": "octopus"})
	})
	t.Run("404 for a missing pull request", func(t *testing.T) {
		_, c, _ := newPromotion(t)
		c.must(404, "PUT", "repos/acme/deploy/pulls/7/merge", map[string]any{})
	})
}

func TestPullChangedOutsideTheAPI(t *testing.T) {
	t.Run("a head pushed into the base marks it merged", func(t *testing.T) {
		s, c, head := newPromotion(t)
		openPR(t, c, "promote", "env/prod")
		gitsourcetest.Branch(t, s.Repo(), "env/prod", "promote")
		pr := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).obj(t)
		if pr["state"] != "closed" || pr["merged"] != true || pr["merge_commit_sha"] != head {
			t.Errorf("state %v merged %v merge_commit_sha %v", pr["state"], pr["merged"], pr["merge_commit_sha"])
		}
	})
	t.Run("a deleted head branch closes it", func(t *testing.T) {
		s, c, head := newPromotion(t)
		openPR(t, c, "promote", "env/prod")
		gitsourcetest.Git(t, s.Repo(), "update-ref", "-d", "refs/heads/promote")
		pr := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).obj(t)
		if pr["state"] != "closed" || pr["merged"] != false || pr["head"].(map[string]any)["sha"] != head {
			t.Errorf("state %v merged %v head %v", pr["state"], pr["merged"], pr["head"])
		}
		c.must(422, "PATCH", "repos/acme/deploy/pulls/1", map[string]any{"state": "open"})
	})
}

func TestBodyLimit(t *testing.T) {
	s, c, _ := newPromotion(t)
	most := strings.Repeat("é", MaxBodyLength) // characters, not bytes
	over := most + "x"
	c.must(422, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "t", "head": "promote", "base": "env/prod", "body": over})
	c.must(201, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "t", "head": "promote", "base": "env/prod", "body": most})
	r := c.must(422, "PATCH", "repos/acme/deploy/pulls/1", map[string]any{"body": over})
	if !strings.Contains(string(r.body), "body is too long (maximum is 65536 characters)") {
		t.Errorf("422 body: %s", r.body)
	}
	c.must(422, "POST", "repos/acme/deploy/issues/1/comments", map[string]any{"body": over})
	c.must(201, "POST", "repos/acme/deploy/issues/1/comments", map[string]any{"body": most})
	if got := s.PR(1).Body; got != most {
		t.Errorf("body of %d characters kept, want %d", len([]rune(got)), MaxBodyLength)
	}
}

// Two agents racing to open the same promotion get one pull request between them.
func TestCreatePullRace(t *testing.T) {
	s, c, _ := newPromotion(t)
	c = c.unchecked() // apiClient's checks report with t.Errorf; keep goroutines simple
	statuses := make(chan int, 8)
	for range 8 {
		go func() {
			statuses <- c.do("POST", "repos/acme/deploy/pulls", map[string]any{"title": "t", "head": "promote", "base": "env/prod"}).status
		}()
	}
	count := map[int]int{}
	for range 8 {
		count[<-statuses]++
	}
	if count[201] != 1 || count[422] != 7 || s.PRs() != 1 {
		t.Errorf("statuses %v and %d pull requests, want one 201, seven 422 and one pull request", count, s.PRs())
	}
}
