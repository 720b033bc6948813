package github

import (
	"context"
	"sync"

	gh "github.com/google/go-github/v60/github"
)

// authorCacheSize bounds the commit authors a Forge remembers: enough for every commit of a
// few promotions (each lists at most controller.MaxPlanCommits), small enough not to matter.
const authorCacheSize = 4096

// authors remembers the account of each commit's author. Commits never change, so an answer
// holds for the life of the process and a steady cycle asks GitHub nothing.
type authors struct {
	mu    sync.Mutex
	login map[string]string // sha → login, "" when GitHub links no account
}

func (a *authors) get(sha string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	login, ok := a.login[sha]
	return login, ok
}

func (a *authors) put(sha, login string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.login == nil {
		a.login = map[string]string{}
	}
	if _, ok := a.login[sha]; !ok && len(a.login) >= authorCacheSize {
		for old := range a.login { // any one: forgetting costs a request, never correctness
			delete(a.login, old)
			break
		}
	}
	a.login[sha] = login
}

// CommitAuthor returns the login of the account GitHub links to the author of commit sha, or ""
// when it links none (the author's email belongs to no account, or not a verified one).
//
// Answers are remembered per sha. One caveat follows: a commit whose email a person links to
// their account later keeps "" until the process restarts.
func (f *Forge) CommitAuthor(ctx context.Context, sha string) (string, error) {
	if login, ok := f.authors.get(sha); ok {
		return login, nil
	}
	// One file per page: GitHub pages a commit's files, and the author is on every page.
	// The answer is not kept in the ETag cache either: it would only crowd out the polls.
	c, _, err := f.client.Repositories.GetCommit(uncached(ctx), f.owner, f.repo, sha, &gh.ListOptions{PerPage: 1})
	if err != nil {
		return "", f.classify(op("get commit %s", sha), err)
	}
	login := c.GetAuthor().GetLogin()
	f.authors.put(sha, login)
	return login, nil
}
