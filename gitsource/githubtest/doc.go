// Package githubtest is a GitHub REST API emulator for tests, the way net/http/httptest is a
// server: New starts it on 127.0.0.1 for one repository, backed by a real bare Git repository
// that gitsourcetest serves over smart HTTP. What stagegate pushes there the emulator sees at
// once (it re-reads refs on every request), and merges really move branches (git merge-tree,
// commit-tree and update-ref on the bare repository).
//
//	s := githubtest.New(t, githubtest.Options{Branches: map[string]map[string]string{
//		"env/dev": {"app.yaml": "..."}, "env/prod": {"app.yaml": "..."}}})
//	client := github.NewClient(nil).WithAuthToken(githubtest.DefaultToken)
//	client.BaseURL, _ = url.Parse(s.URL())        // or WithEnterpriseURLs(s.URL(), s.URL())
//	git clone with s.GitURL(), user githubtest.GitUser, password s.GitPassword()
//
// Served, under / and under /api/v3/ (GitHub Enterprise Server's prefix):
//
//   - pulls: create (422 on a duplicate open head and base, head == base, no commits between,
//     a missing branch), get, update (title, body, state, base), list (state, head as
//     owner:branch, base, sort, direction, pagination with Link), check merged, merge
//     (merge, squash or rebase; the sha guard answers 409 "Head branch was modified…";
//     conflicts, drafts and closed pull requests 405).
//   - reviews: list and dismiss; AddReview and DismissReview submit them from the test.
//   - commit statuses: create, combined status (latest per context, GitHub's state rules), list.
//   - check runs: list for a ref (filter, check_name, status); AddCheckRun adds them.
//   - issue comments and labels on pull requests.
//   - git/ref/{heads|tags}/… and branches/{branch}, read from the bare repository.
//   - team members (SetTeam), and GET /rate_limit.
//
// Around every endpoint, as GitHub does: Authorization "token X" or "Bearer X" with a token of
// Options.Users (401 otherwise); X-RateLimit-* headers from a per-login budget (403 "API rate
// limit exceeded" when spent; SetRateRemaining); a weak ETag on every 200 GET, and 304 without
// a body, not counted against the budget, for a matching If-None-Match; SecondaryLimit (403 or
// 429 with Retry-After) and FailNext (5xx) on demand; a log of every request (Requests,
// ResetLog) so tests can count calls per cycle.
//
// The responses are checked against GitHub's published OpenAPI description (a subset kept in
// testdata/openapi-subset.json) by this package's tests, so the emulator cannot drift into
// what we hope GitHub does.
//
// Not modelled: forks, branch protection and required checks, auto-merge, review requests,
// mergeability computed in the background (it is known at once here), GitHub Apps and
// installation tokens, webhooks, GraphQL.
package githubtest
