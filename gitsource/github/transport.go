package github

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the transport's bounds; Options overrides them.
const (
	DefaultTimeout = 30 * time.Second
	// DefaultMaxWait is the longest a call waits for a rate limit to lift before it returns a
	// RateLimitError instead. GitHub asks for at least a minute after a secondary limit that
	// gives no Retry-After, so less than that would never wait one out.
	DefaultMaxWait = 2 * time.Minute
	DefaultRetries = 3
	// DefaultCacheSize bounds the ETag cache: an agent polls a handful of URLs per environment.
	DefaultCacheSize = 512
)

// writeRetryBackoff is the first backoff before a write that failed is tried again, once
// OpenRequest or Merge has checked that GitHub did not do it after all.
const writeRetryBackoff = time.Second

// errAttemptTimeout is one attempt that got no answer within Options.Timeout. It does not wrap
// context.DeadlineExceeded, so it is never mistaken for the caller's context ending.
var errAttemptTimeout = errors.New("no answer within the timeout")

// transport is the one place that deals with GitHub's limits, so every call gets the same
// treatment. It sits between go-github and the auth transport:
//
//	go-github → transport (timeouts, rate limits, retries, ETags) → auth → network
//
// It reads X-RateLimit-* from every response and then removes them, with Retry-After: go-github
// would otherwise refuse calls on its own while the budget is spent, without waiting, and
// stagegate wants one policy (wait when the reset is near, else a typed error).
type transport struct {
	next    http.RoundTripper
	timeout time.Duration
	maxWait time.Duration
	retries int
	log     *slog.Logger
	cache   *etagCache

	mu    sync.Mutex
	rate  Rate
	stats Stats
}

// Rate is GitHub's primary rate limit as the last response told it.
type Rate struct {
	Remaining, Limit int
	Reset            time.Time
}

// Stats counts what the transport sent, for metrics and for tests that check what a cycle costs.
type Stats struct {
	// Requests sent to GitHub by HTTP method, retries included.
	Requests map[string]int
	// NotModified counts GETs answered 304 from the ETag cache (free of rate limit).
	NotModified int
	// Retries counts requests sent again after a rate limit, a 5xx or no answer.
	Retries int
	// Waited is the total time spent waiting for rate limits and backoffs.
	Waited time.Duration
}

type repeatableKey struct{}

type uncachedKey struct{}

// uncached marks a GET whose answer the ETag cache should not keep: one asked once (a commit,
// which never changes and which the caller remembers), that would only push out the answers
// of the polls the cache is for.
func uncached(ctx context.Context) context.Context {
	return context.WithValue(ctx, uncachedKey{}, true)
}

func isUncached(req *http.Request) bool {
	v, _ := req.Context().Value(uncachedKey{}).(bool)
	return v
}

// repeatable marks a call as safe to send again after a 5xx or no answer: GitHub doing it twice
// leaves the same result (setting a status, adding labels, editing a title). GET, HEAD, PUT and
// DELETE are repeatable by HTTP's rules except where a caller says otherwise; POST and PATCH are
// not unless marked. Merge is a PUT but not repeatable blindly; merge.go checks before it
// retries.
func repeatable(ctx context.Context, yes bool) context.Context {
	return context.WithValue(ctx, repeatableKey{}, yes)
}

func isRepeatable(req *http.Request) bool {
	if v, ok := req.Context().Value(repeatableKey{}).(bool); ok {
		return v
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	again := isRepeatable(req)
	for attempt := 0; ; attempt++ {
		if err := t.awaitBudget(req); err != nil {
			return nil, err
		}
		resp, err := t.send(req, body)
		var wait time.Duration
		var reason string
		switch {
		case err != nil:
			if ctx.Err() != nil || !again || attempt >= t.retries {
				return nil, err
			}
			wait, reason = backoff(attempt, time.Second), err.Error()
		case isRateLimited(resp):
			// GitHub refused without doing anything, so any method may be sent again.
			rl, d := t.limited(req, resp, attempt)
			if d > t.maxWait || attempt >= t.retries {
				return nil, rl
			}
			wait, reason = d, "rate limited"
			if rl.Secondary {
				reason = "secondary rate limit"
			}
		case resp.StatusCode >= 500 && again && attempt < t.retries:
			wait, reason = backoff(attempt, time.Second), resp.Status
		default:
			stripRateHeaders(resp.Header)
			return resp, nil
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, "github: retrying", slog.String("method", req.Method),
			slog.String("path", req.URL.Path), slog.String("reason", reason), slog.Duration("wait", wait),
			slog.Int("attempt", attempt+1))
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.stats.Retries++
		t.mu.Unlock()
	}
}

// awaitBudget waits before sending when the last response said the primary budget is spent and
// the reset is within maxWait; further away, it refuses with a RateLimitError without sending.
func (t *transport) awaitBudget(req *http.Request) error {
	t.mu.Lock()
	r := t.rate
	t.mu.Unlock()
	if r.Limit == 0 || r.Remaining > 0 {
		return nil
	}
	d := time.Until(r.Reset)
	if d <= 0 {
		return nil
	}
	if d > t.maxWait {
		return &RateLimitError{Method: req.Method, Path: req.URL.Path, Reset: r.Reset}
	}
	t.log.LogAttrs(req.Context(), slog.LevelWarn, "github: rate limit spent, waiting for the reset",
		slog.String("method", req.Method), slog.String("path", req.URL.Path), slog.Duration("wait", d))
	return t.sleep(req.Context(), d)
}

// send makes one attempt within the timeout and reads the whole answer, so the timeout covers
// the body too (GitHub's answers are small JSON documents).
func (t *transport) send(req *http.Request, body []byte) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	defer cancel()
	r := req.Clone(ctx)
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	cached := t.cache.conditional(r)

	t.mu.Lock()
	if t.stats.Requests == nil {
		t.stats.Requests = map[string]int{}
	}
	t.stats.Requests[req.Method]++
	t.mu.Unlock()

	resp, err := t.next.RoundTrip(r)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if err == nil {
			t.record(resp.Header)
			if resp.StatusCode == http.StatusNotModified && cached != nil {
				t.mu.Lock()
				t.stats.NotModified++
				t.mu.Unlock()
				return cached.response(req), nil
			}
			t.cache.store(r, resp, b)
			resp.Request = req
			return resp, nil
		}
	}
	if ctx.Err() != nil && req.Context().Err() == nil {
		return nil, fmt.Errorf("%s %s: %w (%s)", req.Method, req.URL.Path, errAttemptTimeout, t.timeout)
	}
	return nil, err
}

// record keeps the primary rate limit from a response's headers, when it has them.
func (t *transport) record(h http.Header) {
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	reset, err3 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return
	}
	t.mu.Lock()
	t.rate = Rate{Remaining: remaining, Limit: limit, Reset: time.Unix(reset, 0)}
	t.mu.Unlock()
}

// isRateLimited: GitHub signals both limits with 403 or 429, and a 403 is also a plain
// permission error; the headers and the message tell them apart.
func isRateLimited(resp *http.Response) bool {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	return resp.StatusCode == http.StatusTooManyRequests ||
		resp.Header.Get("Retry-After") != "" ||
		resp.Header.Get("X-RateLimit-Remaining") == "0" ||
		mentionsLimit(resp)
}

func mentionsLimit(resp *http.Response) bool {
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	lower := bytes.ToLower(b)
	// "abuse detection" is what GitHub Enterprise Server before 3.x still says.
	return bytes.Contains(lower, []byte("rate limit")) || bytes.Contains(lower, []byte("abuse detection"))
}

// limited reads a rate-limited response the way GitHub documents it: Retry-After first; a spent
// primary budget waits for X-RateLimit-Reset; otherwise a secondary limit waits at least a
// minute, doubling with each attempt.
func (t *transport) limited(req *http.Request, resp *http.Response, attempt int) (*RateLimitError, time.Duration) {
	rl := &RateLimitError{Method: req.Method, Path: req.URL.Path, Secondary: true}
	var d time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		t.mu.Lock()
		reset := t.rate.Reset
		t.mu.Unlock()
		rl.Secondary = false
		// A second of slack: X-RateLimit-Reset has whole seconds and clocks differ.
		d = time.Until(reset) + time.Second
	} else {
		d = backoff(attempt, time.Minute)
	}
	d = max(d, 0)
	rl.Reset = time.Now().Add(d)
	return rl, d
}

// backoff is base·2^attempt plus up to a quarter of that in jitter, so that agents that failed
// together do not retry together.
func backoff(attempt int, base time.Duration) time.Duration {
	d := base << attempt
	return d + rand.N(d/4+1)
}

func (t *transport) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t.mu.Lock()
	t.stats.Waited += d
	t.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func stripRateHeaders(h http.Header) {
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-ratelimit-") {
			delete(h, k)
		}
	}
	h.Del("Retry-After")
}

func (t *transport) snapshot() (Rate, Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Requests = make(map[string]int, len(t.stats.Requests))
	for k, v := range t.stats.Requests {
		s.Requests[k] = v
	}
	return t.rate, s
}

// etagCache keeps answers to GETs that carried an ETag, so that asking again sends If-None-Match
// and a 304 (which GitHub does not count against the rate limit) serves the copy. The least
// recently used entries go once it holds size entries.
type etagCache struct {
	size int
	mu   sync.Mutex
	lru  *list.List // of *cached, most recent first
	byID map[string]*list.Element
}

type cached struct {
	key    string
	etag   string
	status int
	header http.Header
	body   []byte
}

func newETagCache(size int) *etagCache {
	return &etagCache{size: size, lru: list.New(), byID: map[string]*list.Element{}}
}

// key separates answers that differ for the same URL: the media type asked for changes the body.
func cacheKey(r *http.Request) string {
	return r.URL.String() + "\x00" + r.Header.Get("Accept")
}

// conditional adds If-None-Match to a GET it has an answer for, and returns that answer.
func (c *etagCache) conditional(r *http.Request) *cached {
	if r.Method != http.MethodGet || r.Header.Get("If-None-Match") != "" || isUncached(r) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[cacheKey(r)]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	entry := e.Value.(*cached)
	r.Header.Set("If-None-Match", entry.etag)
	return entry
}

func (c *etagCache) store(r *http.Request, resp *http.Response, body []byte) {
	etag := resp.Header.Get("ETag")
	if r.Method != http.MethodGet || resp.StatusCode != http.StatusOK || etag == "" || isUncached(r) {
		return
	}
	h := resp.Header.Clone()
	stripRateHeaders(h)
	entry := &cached{key: cacheKey(r), etag: etag, status: resp.StatusCode, header: h, body: body}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[entry.key]; ok {
		e.Value = entry
		c.lru.MoveToFront(e)
		return
	}
	c.byID[entry.key] = c.lru.PushFront(entry)
	for c.lru.Len() > c.size {
		last := c.lru.Back()
		delete(c.byID, last.Value.(*cached).key)
		c.lru.Remove(last)
	}
}

func (c *cached) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", c.status, http.StatusText(c.status)),
		StatusCode:    c.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        c.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       req,
	}
}
