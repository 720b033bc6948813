// Package github is the GitHub forge: promotion requests as pull requests on github.com or GitHub
// Enterprise Server, through go-github v60.
//
// It implements the controller's Forge interface and nothing more. Everything about talking to
// GitHub politely lives in one http.RoundTripper (transport.go), so every call gets it: a timeout
// per attempt, the X-RateLimit-* budget read from every response, waits for primary and
// secondary rate limits, bounded retries of 5xx answers for calls that are safe to repeat, and
// conditional GETs with ETags so that idle polling costs no rate limit. The methods (requests.go,
// reviews.go, statuses.go, merge.go, commits.go, issues.go) map go-github's values and errors
// onto gitsource's.
//
// Auth is a token (from an environment variable or a file) or a GitHub App installation, whose
// tokens come from github.com/bradleyfalzon/ghinstallation. Secrets never appear in errors or logs.
package github
