package githubtest

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAuthentication(t *testing.T) {
	s := New(t, Options{Users: map[string]string{"tok-a": "alice", "tok-b": "bob"}})
	c := newClient(t, s)
	c.as("").must(401, "GET", "rate_limit", nil)
	c.as("nope").must(401, "GET", "rate_limit", nil)
	for _, h := range []string{"token tok-a", "Bearer tok-a", "bearer tok-a"} {
		r := c.as("").do("GET", "repos/acme/deploy/branches/main", nil, "Authorization", h)
		if r.status != 200 {
			t.Errorf("Authorization %q: status %d", h, r.status)
		}
	}
	// Each login has its own budget; the log says who asked.
	c.as("tok-b").must(200, "GET", "repos/acme/deploy/branches/main", nil)
	if a, b := s.RateRemaining("alice"), s.RateRemaining("bob"); a != DefaultRateLimit-3 || b != DefaultRateLimit-1 {
		t.Errorf("remaining alice %d bob %d", a, b)
	}
	log := s.Requests()
	if last := log[len(log)-1]; last.Login != "bob" || last.Status != 200 {
		t.Errorf("last logged %+v", last)
	}
	if s.GitPassword() != "tok-a" {
		t.Errorf("Git password %q, want the first token", s.GitPassword())
	}
}

func TestRateLimitHeaders(t *testing.T) {
	s := New(t, Options{RateLimit: 3})
	c := newClient(t, s)
	var remaining []string
	for range 3 {
		r := c.must(200, "GET", "repos/acme/deploy/branches/main", nil)
		remaining = append(remaining, r.header.Get("X-RateLimit-Remaining"))
		if r.header.Get("X-RateLimit-Limit") != "3" || r.header.Get("X-RateLimit-Resource") != "core" {
			t.Errorf("headers %v", r.header)
		}
		reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || time.Until(time.Unix(reset, 0)) <= 0 {
			t.Errorf("X-RateLimit-Reset %q", r.header.Get("X-RateLimit-Reset"))
		}
	}
	if got := remaining; got[0] != "2" || got[1] != "1" || got[2] != "0" {
		t.Errorf("remaining %v, want 2 1 0", got)
	}
	// GET /rate_limit is free, and says the same.
	rl := c.must(200, "GET", "rate_limit", nil).obj(t)
	if core := rl["resources"].(map[string]any)["core"].(map[string]any); core["remaining"] != 0.0 || core["used"] != 3.0 {
		t.Errorf("rate_limit core %v", core)
	}
	r := c.must(403, "GET", "repos/acme/deploy/branches/main", nil)
	if r.header.Get("X-RateLimit-Remaining") != "0" || r.obj(t)["message"] == nil {
		t.Errorf("exhausted: %v %s", r.header, r.body)
	}
	s.SetRateRemaining("", 10)
	c.must(200, "GET", "repos/acme/deploy/branches/main", nil)
}

func TestConditionalRequests(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	first := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil)
	etag := first.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	before := s.RateRemaining("")
	// Across a second boundary, nothing changed: the same ETag, so a 304.
	time.Sleep(1100 * time.Millisecond)
	r := c.must(304, "GET", "repos/acme/deploy/pulls/1", nil, "If-None-Match", etag)
	if len(r.body) != 0 || r.header.Get("X-RateLimit-Remaining") == "" {
		t.Errorf("304 body %q, headers %v", r.body, r.header)
	}
	if after := s.RateRemaining(""); after != before {
		t.Errorf("a 304 cost %d requests", before-after)
	}
	// Strong and weak forms match alike.
	c.must(304, "GET", "repos/acme/deploy/pulls/1", nil, "If-None-Match", etag[2:])

	c.must(201, "POST", "repos/acme/deploy/issues/1/comments", map[string]any{"body": "changes the pull request"})
	if r := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil, "If-None-Match", etag); r.header.Get("ETag") == etag {
		t.Error("ETag unchanged after a change")
	}
	log := s.Requests()
	var conditional int
	for _, l := range log {
		if l.Conditional {
			conditional++
		}
	}
	if conditional != 3 {
		t.Errorf("%d conditional requests logged, want 3:\n%v", conditional, log)
	}
	s.ResetLog()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests after ResetLog", n)
	}
}

func TestSecondaryLimit(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			s := New(t, Options{})
			c := newClient(t, s)
			s.SecondaryLimit(2, 90*time.Second, status)
			for range 2 {
				r := c.must(status, "GET", "repos/acme/deploy/branches/main", nil)
				if r.header.Get("Retry-After") != "90" {
					t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
				}
				if doc, _ := r.obj(t)["documentation_url"].(string); len(doc) < 21 || doc[len(doc)-21:] != "secondary-rate-limits" {
					t.Errorf("documentation_url %q does not end in secondary-rate-limits (go-github looks for it)", doc)
				}
			}
			c.must(200, "GET", "repos/acme/deploy/branches/main", nil)
			if got := s.RateRemaining(""); got != DefaultRateLimit-1 {
				t.Errorf("remaining %d: secondary-limited requests were counted", got)
			}
		})
	}
}

func TestFailNext(t *testing.T) {
	s, c, _ := newPromotion(t)
	openPR(t, c, "promote", "env/prod")
	s.ResetLog()
	s.FailNext(2, http.StatusBadGateway, "PUT /repos/acme/deploy/pulls/")
	s.FailNext(1, http.StatusServiceUnavailable, "")
	before := s.RateRemaining("")

	c.must(503, "GET", "repos/acme/deploy/pulls/1", nil) // only the second fault matches a GET
	c.must(502, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{})
	c.must(502, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{})
	c.must(200, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{})
	c.must(200, "GET", "repos/acme/deploy/pulls/1", nil)

	var got []string
	for _, l := range s.Requests() {
		got = append(got, l.String())
	}
	want := []string{
		"GET /repos/acme/deploy/pulls/1 → 503",
		"PUT /repos/acme/deploy/pulls/1/merge → 502",
		"PUT /repos/acme/deploy/pulls/1/merge → 502",
		"PUT /repos/acme/deploy/pulls/1/merge → 200",
		"GET /repos/acme/deploy/pulls/1 → 200",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if used := before - s.RateRemaining(""); used != 2 {
		t.Errorf("%d requests counted, want 2 (faults are not)", used)
	}
}

func TestFailNextAfter(t *testing.T) {
	s, c, head := newPromotion(t)
	s.FailNextAfter(1, http.StatusGatewayTimeout, "POST /repos/acme/deploy/pulls")
	s.FailNextAfter(1, http.StatusBadGateway, "/merge")
	c.must(504, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "t", "head": "promote", "base": "env/prod"})
	// The pull request exists all the same: a retry is a duplicate.
	c.must(422, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "t", "head": "promote", "base": "env/prod"})
	c.must(502, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{"sha": head})
	if p := s.PR(1); !p.Merged {
		t.Error("the merge behind the 502 did not happen")
	}
	c.must(405, "PUT", "repos/acme/deploy/pulls/1/merge", map[string]any{"sha": head})
}
