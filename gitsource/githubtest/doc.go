// Package githubtest is a GitHub REST API emulator for tests, the way net/http/httptest is a
// server: New starts it on 127.0.0.1 for one repository, backed by a real bare Git repository
// that gitsourcetest serves over smart HTTP. What a test or stagegate pushes there the emulator
// sees at once (it re-reads refs on every request), and merges really move branches (git
// merge-tree, commit-tree and update-ref guarded by the base's old value, on the bare
// repository). Its boundary: it models GitHub for what stagegate uses, not stagegate's Forge
// interface, and it is checked against GitHub's published OpenAPI description.
//
//	s := githubtest.New(t, githubtest.Options{Branches: map[string]map[string]string{
//		"env/dev": {"app.yaml": "..."}, "env/prod": {"app.yaml": "..."}}})
//	gh := github.NewClient(nil).WithAuthToken(githubtest.DefaultToken)
//	gh.BaseURL, _ = url.Parse(s.URL())           // or gh.WithEnterpriseURLs(s.URL(), s.URL())
//	// Git: s.GitURL() with basic auth githubtest.GitUser / s.GitPassword().
//	// Fixtures: gitsourcetest.Commit(t, s.Repo(), "env/dev", files, "message").
//
// # Served (under / and under /api/v3/, GitHub Enterprise Server's prefix)
//
//   - Pull requests: create (422 "Validation Failed" on an open duplicate for the same head and
//     base, head == base, no commits between, a missing branch, a body over 65,536
//     characters), get (with mergeable computed at once), update (title, body, state, base;
//     reopening is refused beside an open duplicate or once merged), list (state, head as
//     owner:branch, base, sort, direction, page and per_page with a Link header), check merged
//     (204/404), merge (merge, squash or rebase; commit_title and commit_message; the sha guard
//     answers 409 "Head branch was modified. Review and try the merge again."; conflicts,
//     drafts and closed pull requests 405; a base moved during the merge 409). An open pull
//     request follows its branches: a push moves head.sha; a head pushed into the base marks it
//     merged; a deleted head branch closes it.
//   - Reviews: list (oldest first, commit_id = the head when submitted) and dismiss (PUT
//     …/dismissals; a message is required; only APPROVED and CHANGES_REQUESTED can be).
//   - Commit statuses: create (422 for an unknown sha or state, a description over 140),
//     combined status (latest per context; failure if any error or failure, pending if none or
//     any pending, else success), list (newest first). Refs may be shas, branches
//     (env/prod, escaped or not) or heads/<branch>.
//   - Check runs: list for a ref (filter latest|all, check_name, status).
//   - Issues: create (title, body, labels; 422 without a title or with a body over 65,536
//     characters), get, update (title, body, state, state_reason, labels, which replace the
//     issue's; closing records closed_at, closed_by and state_reason completed by default), list
//     (state, labels, all of which an issue must have, compared without case; creator, sort,
//     direction, page and per_page). Issues and pull requests share one sequence of numbers,
//     as on GitHub: every pull request is an issue, listed among the issues with a pull_request
//     key, and /issues/{n} reads and edits it. /pulls/{n} of a plain issue is 404.
//   - Issue comments (create, list) and labels (add, list) on issues and pull requests; labels
//     are created in the repository on first use.
//   - Commits: get one (GET …/commits/{ref}; 422 "No commit found for SHA" for a ref that
//     names none), with author and committer as the accounts their emails belong to (SetLogin;
//     noreply addresses name their login, noreply@github.com is web-flow), else null.
//   - git/ref/heads/… and git/ref/tags/…, branches/{branch}: read from the bare repository.
//   - Team members (GET /orgs/{org}/teams/{slug}/members) and GET /rate_limit.
//
// # Around every endpoint, as GitHub does
//
//   - Authorization "token X" or "Bearer X" with a token of Options.Users; otherwise 401. The
//     token's login authors what the request creates.
//   - X-RateLimit-Limit, -Remaining, -Used, -Reset and -Resource from a budget per login
//     (Options.RateLimit per Options.RateWindow); when spent, 403 "API rate limit exceeded…"
//     with Remaining 0, which go-github turns into *github.RateLimitError. GET /rate_limit is
//     free.
//   - A weak ETag on every 200 GET, keyed by body and login; If-None-Match that matches gives a
//     304 with no body, not counted against the budget.
//   - X-GitHub-Request-Id and Vary headers; GitHub's error bodies (message, documentation_url,
//     status; errors for 422s).
//
// # Test-side controls
//
//	s.AddReview(number, login, githubtest.Approved)  // also ChangesRequested, Commented; returns the id
//	s.DismissReview(number, id)
//	s.AddCheckRun(shaOrBranch, name, status, conclusion)
//	s.SetTeam(org, slug, members...)
//	s.SetLogin(email, login)  // commits by email show login as their author or committer
//	s.FailNext(n, 502, "PUT /repos/acme/deploy/pulls/1/merge")    // 5xx before anything happens
//	s.FailNextAfter(n, 504, "POST /repos/acme/deploy/pulls")      // 5xx after it happened
//	s.SecondaryLimit(n, time.Minute, 429)  // 403 or 429 with Retry-After and the secondary-limit body
//	s.SetRateRemaining(login, 0) ; s.RateRemaining(login)         // "" is the default login
//	s.Requests() ; s.ResetLog()  // method, path, query, status, conditional, login of each request
//	s.AddIssue(login, title, body, labels...)  // an issue a person opened; returns its number
//	s.PR(number) ; s.PRs() ; s.Issue(number)   // snapshots for assertions
//
// AddReview refuses, as GitHub does, an approval or change request by the pull request's
// author (the test fails with Errorf and no review is added).
//
// # Checked against GitHub's description
//
// testdata/openapi-subset.json holds the served operations of GitHub's REST description
// (@octokit/openapi 23.0.2, MIT; see testdata/README.md). The package's tests send every
// request through a client that checks the route and method exist, the status is one the
// operation documents (or one GitHub answers anywhere: 304, 401, 403, 404, 429, 5xx, whose
// bodies must be basic-error), query parameters and accepted request bodies match, and
// response bodies conform to the documented schemas. TestOpenAPIConformance asserts every
// operation and each modelled status was exercised.
//
// Where GitHub does something its description does not list, the emulator follows GitHub and
// the test says so: a bare JSON array of label names is accepted, and creating a status on an
// unknown sha is 422.
//
// # Not modelled
//
// Forks, branch protection and required checks (mergeable_state is clean, dirty or draft),
// auto-merge, review requests, mergeability computed in the background, review comments,
// GitHub Apps and installation tokens, webhooks, GraphQL, and repositories other than the one
// served (404).
package githubtest
