package githubtest

import (
	"net/http"
	"testing"
)

// BenchmarkGetPull measures what a test pays per GET of a pull request (each reads refs and
// computes mergeability with git), and per conditional GET answered 304.
func BenchmarkGetPull(b *testing.B) {
	s := New(b, Options{Branches: map[string]map[string]string{"main": {"a": "1"}, "topic": {"a": "2"}}})
	c := newClient(b, s)
	c.checked = false // measure the emulator, not the validator
	c.must(201, "POST", "repos/acme/deploy/pulls", map[string]any{"title": "t", "head": "topic", "base": "main"})
	etag := c.must(200, "GET", "repos/acme/deploy/pulls/1", nil).header.Get("ETag")
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			c.must(http.StatusOK, "GET", "repos/acme/deploy/pulls/1", nil)
		}
	})
	b.Run("304", func(b *testing.B) {
		for b.Loop() {
			c.must(http.StatusNotModified, "GET", "repos/acme/deploy/pulls/1", nil, "If-None-Match", etag)
		}
	})
	b.Run("list", func(b *testing.B) {
		for b.Loop() {
			c.must(http.StatusOK, "GET", "repos/acme/deploy/pulls?head=acme:topic", nil)
		}
	})
}
