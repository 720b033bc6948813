package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Every error type below has Transient, as in gitsource: true means back off and retry, false
// means stop and tell the user.

// RateLimitError is a GitHub rate limit that stagegate will not wait out in this call: the
// primary limit (the hourly budget) is spent until Reset, or a secondary limit (too many
// requests at once) kept refusing. Transient: retry after Reset.
type RateLimitError struct {
	Method, Path string
	// Secondary is true for a secondary (abuse) limit, false for the primary budget.
	Secondary bool
	// Reset is when GitHub will take requests again (for a secondary limit: when Retry-After
	// or the backoff ends).
	Reset time.Time
}

func (e *RateLimitError) Error() string {
	kind := "rate limit spent"
	if e.Secondary {
		kind = "secondary rate limit hit"
	}
	return fmt.Sprintf("%s on %s %s until %s: stagegate retries then; webhooks and a longer spec.interval spend less",
		kind, e.Method, e.Path, e.Reset.UTC().Format(time.RFC3339))
}
func (e *RateLimitError) Transient() bool { return true }

// UnavailableError is GitHub failing to answer: a 5xx after the retries, or a network error or
// timeout. Transient. After a write that is not safe to repeat (a comment), GitHub may have done
// it anyway; OpenRequest and Merge check before they try again, so they never return this for
// something that went through.
type UnavailableError struct {
	Op     string // what stagegate was doing: "open request", "merge #12"
	Status int    // the HTTP status, 0 when there was no answer
	Err    error
}

func (e *UnavailableError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("github: %s: GitHub answered %d %s: %v", e.Op, e.Status, http.StatusText(e.Status), e.Err)
	}
	return fmt.Sprintf("github: %s: no answer from GitHub: %v", e.Op, e.Err)
}
func (e *UnavailableError) Unwrap() error   { return e.Err }
func (e *UnavailableError) Transient() bool { return true }

// APIError is an answer GitHub gave that retrying will not change (404, 422, a 403 that is not
// a rate limit). Terminal.
type APIError struct {
	Op      string
	Status  int
	Message string // GitHub's message, with the details of a 422
	Err     error
}

func (e *APIError) Error() string {
	hint := ""
	switch e.Status {
	case http.StatusNotFound:
		hint = ": check spec.repo.url and that the credentials can see the repository"
	case http.StatusForbidden:
		hint = ": check the token's or the GitHub App's permissions (pull requests, issues, statuses, checks, contents, members: read and write)"
	}
	return fmt.Sprintf("github: %s: %d %s%s", e.Op, e.Status, e.Message, hint)
}
func (e *APIError) Unwrap() error   { return e.Err }
func (e *APIError) Transient() bool { return false }

// classify turns what go-github returned into stagegate's error types, wrapped with op. It
// leaves the request-specific ones (409 and 405 on merge, 422 on create) to the callers, which
// check status first.
func classify(op string, err error, auth string) error {
	if err == nil {
		return nil
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return fmt.Errorf("github: %s: %w", op, rl) // without the url.Error around it: the path is in rl
	}
	// The caller's context ended: say so plainly, it is not GitHub's fault. (A timed-out attempt
	// is errAttemptTimeout, which does not wrap context.DeadlineExceeded.)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("github: %s: %w", op, err)
	}
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return &UnavailableError{Op: op, Err: err}
	}
	status := er.Response.StatusCode
	switch {
	case status == http.StatusUnauthorized:
		host := ""
		if er.Response.Request != nil {
			host = er.Response.Request.URL.Host
		}
		return &gitsource.AuthError{URL: host, Check: "check " + auth, Err: errors.New(er.Message)}
	case status >= 500:
		return &UnavailableError{Op: op, Status: status, Err: errors.New(message(er))}
	}
	return &APIError{Op: op, Status: status, Message: message(er), Err: err}
}

// status is the HTTP status behind a go-github error, 0 when there is none.
func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// message is GitHub's message with the details of a validation failure, which is where GitHub
// says what was wrong ("A pull request already exists for acme:stagegate/promote/prod.").
func message(er *gh.ErrorResponse) string {
	parts := []string{er.Message}
	for _, e := range er.Errors {
		if e.Message != "" {
			parts = append(parts, e.Message)
		} else if e.Code != "" {
			parts = append(parts, fmt.Sprintf("%s.%s %s", e.Resource, e.Field, e.Code))
		}
	}
	return strings.Join(parts, ": ")
}
