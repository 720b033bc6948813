package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestCommitAuthorAsksGitHubOncePerCommit(t *testing.T) {
	asked := map[string]int{}
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		sha := strings.TrimPrefix(r.URL.Path, "/repos/acme/shop/commits/")
		asked[sha]++
		if r.Header.Get("If-None-Match") != "" {
			t.Errorf("commit %s asked conditionally: its answer was kept in the ETag cache", sha)
		}
		w.Header().Set("ETag", `W/"`+sha+`"`)
		w.Header().Set("Content-Type", "application/json")
		switch sha {
		case "aaa":
			json.NewEncoder(w).Encode(map[string]any{"sha": sha, "author": map[string]any{"login": "alice"}})
		case "bbb": // an email no account has: GitHub shows null
			json.NewEncoder(w).Encode(map[string]any{"sha": sha, "author": nil})
		default:
			w.WriteHeader(http.StatusUnprocessableEntity)
			json.NewEncoder(w).Encode(map[string]any{"message": "No commit found for SHA: " + sha})
		}
	}, Options{})

	for range 2 {
		if login, err := f.CommitAuthor(t.Context(), "aaa"); err != nil || login != "alice" {
			t.Errorf("CommitAuthor(aaa) = %q, %v; want alice", login, err)
		}
		if login, err := f.CommitAuthor(t.Context(), "bbb"); err != nil || login != "" {
			t.Errorf("CommitAuthor(bbb) = %q, %v; want \"\", no error", login, err)
		}
		var apiErr *APIError
		if _, err := f.CommitAuthor(t.Context(), "ccc"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity {
			t.Errorf("CommitAuthor(ccc) error = %v, want a 422 *APIError", err)
		}
	}
	// Known commits are asked once; a failure is not remembered.
	if asked["aaa"] != 1 || asked["bbb"] != 1 || asked["ccc"] != 2 {
		t.Errorf("GitHub was asked %v; want aaa and bbb once, ccc twice", asked)
	}
	if n := f.tr.cache.lru.Len(); n != 0 {
		t.Errorf("the ETag cache holds %d commits, want none", n)
	}
}

func TestCommitAuthorCacheIsBounded(t *testing.T) {
	var a authors
	for i := range authorCacheSize + 10 {
		a.put(fmt.Sprintf("%040x", i), "someone")
	}
	if n := len(a.login); n != authorCacheSize {
		t.Errorf("%d entries, want the bound %d", n, authorCacheSize)
	}
}
