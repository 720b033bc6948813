package githubtest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// bucket is one login's primary rate limit: limit requests per window, refilled at reset.
type bucket struct {
	limit int
	used  int
	reset time.Time
	win   time.Duration
}

// bucket returns login's budget ("" is the unauthenticated one: 60 an hour, as on GitHub),
// refilled when its window has passed.
func (s *Server) bucket(login string) *bucket {
	b, ok := s.buckets[login]
	if !ok {
		limit := s.opts.RateLimit
		if login == "" {
			limit = 60
		}
		b = &bucket{limit: limit, win: s.opts.RateWindow, reset: now().Add(s.opts.RateWindow)}
		s.buckets[login] = b
	}
	if !now().Before(b.reset) {
		b.used, b.reset = 0, now().Add(b.win)
	}
	return b
}

func (b *bucket) remaining() int { return max(0, b.limit-b.used) }

func (b *bucket) setHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(b.remaining()))
	h.Set("X-RateLimit-Used", strconv.Itoa(b.used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(b.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func (b *bucket) json() map[string]any {
	return map[string]any{"limit": b.limit, "remaining": b.remaining(), "used": b.used, "reset": b.reset.Unix(), "resource": "core"}
}

// rateLimit serves GET /rate_limit. GitHub does not count it against the limit.
func (s *Server) rateLimit(w http.ResponseWriter, r *http.Request) {
	core := s.bucket(s.login).json()
	search := map[string]any{"limit": 30, "remaining": 30, "used": 0, "reset": now().Add(time.Minute).Unix(), "resource": "search"}
	graphql := map[string]any{"limit": 5000, "remaining": 5000, "used": 0, "reset": now().Add(time.Hour).Unix(), "resource": "graphql"}
	writeJSON(w, http.StatusOK, map[string]any{
		"resources": map[string]any{"core": core, "search": search, "graphql": graphql},
		"rate":      core,
	})
}

// SetRateRemaining sets how many requests login (DefaultLogin when "") has left in the
// current window; 0 makes the next counted request a 403 "API rate limit exceeded".
func (s *Server) SetRateRemaining(login string, remaining int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login == "" {
		login = s.defaultLogin()
	}
	b := s.bucket(login)
	b.used = max(0, b.limit-remaining)
}

// RateRemaining is what login (DefaultLogin when "") has left in the current window.
func (s *Server) RateRemaining(login string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if login == "" {
		login = s.defaultLogin()
	}
	return s.bucket(login).remaining()
}

// defaultLogin is the login of the first token in sorted order (the Git password's).
func (s *Server) defaultLogin() string { return s.opts.Users[s.gitPass] }

// secondaryLimit answers the next remaining requests with status and Retry-After.
type secondaryLimit struct {
	remaining  int
	retryAfter time.Duration
	status     int
}

// SecondaryLimit makes the next n requests hit a secondary rate limit: status (403 or 429)
// with a Retry-After header of retryAfter (whole seconds) and GitHub's secondary-limit body.
func (s *Server) SecondaryLimit(n int, retryAfter time.Duration, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secondary = secondaryLimit{remaining: n, retryAfter: retryAfter, status: status}
}

// fault fails the next n requests that match, before or after they take effect.
type fault struct {
	n      int
	status int
	match  string
	after  bool
}

// FailNext makes the next n requests whose "METHOD /path" contains match ("" for any; for
// example "PUT /repos/acme/deploy/pulls/1/merge" or "GET ") fail with status (a 5xx) before
// they do anything. Failed requests are logged and not counted against the rate limit.
// Calls queue up; the first matching one is used.
func (s *Server) FailNext(n int, status int, match string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{n: n, status: status, match: match})
}

// FailNextAfter is FailNext for a failure after the request took effect: the pull request is
// created or merged, the status posted, but the client gets status, as when GitHub times out
// on its side after a write. Retries must then cope with what already happened.
func (s *Server) FailNextAfter(n int, status int, match string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{n: n, status: status, match: match, after: true})
}

// takeFault returns the status of the first matching fault of the given kind and uses it
// up, or 0.
func (s *Server) takeFault(line string, after bool) int {
	for i := range s.faults {
		f := &s.faults[i]
		if f.n > 0 && f.after == after && strings.Contains(line, f.match) {
			f.n--
			return f.status
		}
	}
	return 0
}
