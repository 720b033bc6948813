package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// handlerTransport serves requests from a handler in memory, so tests run inside a synctest
// bubble (a real listener's goroutines would never let fake time advance).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	done := make(chan *http.Response, 1)
	go func() {
		rec := httptest.NewRecorder()
		t.h.ServeHTTP(rec, r)
		done <- rec.Result()
	}()
	select {
	case resp := <-done:
		resp.Request = r
		return resp, nil
	case <-r.Context().Done():
		<-done // handlers here return when the request's context ends
		return nil, r.Context().Err()
	}
}

func newForge(t *testing.T, h http.HandlerFunc, opts Options) *Forge {
	t.Helper()
	opts.Repo = "acme/shop"
	if opts.Auth == (Auth{}) {
		opts.Auth.Token = "t0ken"
	}
	opts.Transport = handlerTransport{h}
	f, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pr writes a minimal pull request as GitHub does.
func writePR(w http.ResponseWriter, number int, head string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"number": number, "state": "open", "title": "Promote abc to prod",
		"html_url": fmt.Sprintf("https://github.com/acme/shop/pull/%d", number),
		"head":     map[string]any{"ref": head, "sha": "1111111111111111111111111111111111111111"},
		"base":     map[string]any{"ref": "env/prod"},
		"user":     map[string]any{"login": "stagegate-bot"},
	})
}

func rateHeaders(w http.ResponseWriter, remaining int, reset time.Time) {
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	w.Header().Set("X-RateLimit-Used", strconv.Itoa(5000-remaining))
	w.Header().Set("X-RateLimit-Resource", "core")
}

func TestRateLimitIsReadFromEveryResponse(t *testing.T) {
	reset := time.Now().Add(40 * time.Minute).Truncate(time.Second)
	calls := 0
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		rateHeaders(w, 5000-calls, reset)
		writePR(w, 7, "stagegate/promote/prod")
	}, Options{})
	if _, err := f.Request(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	if err := f.EditRequest(t.Context(), 7, "t", "b"); err != nil {
		t.Fatal(err)
	}
	remaining, limit, gotReset := f.RateLimit()
	if remaining != 4998 || limit != 5000 || !gotReset.Equal(reset) {
		t.Errorf("RateLimit() = %d, %d, %s; want 4998, 5000, %s", remaining, limit, gotReset, reset)
	}
	if diff := cmp.Diff(map[string]int{"GET": 1, "PATCH": 1}, f.Stats().Requests); diff != "" {
		t.Errorf("requests by method (-want +got):\n%s", diff)
	}
}

func TestPrimaryLimitNearResetIsWaitedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := time.Now().Add(30 * time.Second)
		calls := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			if calls == 1 {
				rateHeaders(w, 0, reset)
				http.Error(w, `{"message":"API rate limit exceeded for user ID 1."}`, http.StatusForbidden)
				return
			}
			rateHeaders(w, 4999, reset.Add(time.Hour))
			writePR(w, 7, "stagegate/promote/prod")
		}, Options{})
		start := time.Now()
		if _, err := f.Request(t.Context(), 7); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < 30*time.Second || waited > 32*time.Second {
			t.Errorf("waited %s for a reset 30s away", waited)
		}
		if calls != 2 {
			t.Errorf("%d calls, want 2", calls)
		}
	})
}

func TestPrimaryLimitFarFromResetIsATypedError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reset := time.Now().Add(time.Hour).Truncate(time.Second)
		calls := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			rateHeaders(w, 0, reset)
			http.Error(w, `{"message":"API rate limit exceeded for user ID 1."}`, http.StatusForbidden)
		}, Options{})
		_, err := f.Request(t.Context(), 7)
		var rl *RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %v, want a *RateLimitError", err)
		}
		if rl.Secondary || !rl.Transient() || rl.Reset.Before(reset) {
			t.Errorf("RateLimitError = %+v; want primary, transient, reset at %s", rl, reset)
		}
		// The next call is refused without spending a request GitHub would refuse too.
		if _, err := f.Requests(t.Context(), "stagegate/promote/prod", "env/prod", gitsource.RequestOpen); !errors.As(err, &rl) {
			t.Errorf("second call: err = %v, want a *RateLimitError", err)
		}
		if calls != 1 {
			t.Errorf("%d calls reached GitHub, want 1", calls)
		}
	})
}

func TestSecondaryLimitWaitsRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
					calls++
					if calls <= 2 {
						w.Header().Set("Retry-After", "7")
						http.Error(w, `{"message":"You have exceeded a secondary rate limit."}`, status)
						return
					}
					writePR(w, 7, "stagegate/promote/prod")
				}, Options{})
				start := time.Now()
				if _, err := f.Request(t.Context(), 7); err != nil {
					t.Fatal(err)
				}
				if waited := time.Since(start); waited != 14*time.Second {
					t.Errorf("waited %s, want 2 × Retry-After 7s", waited)
				}
				if s := f.Stats(); s.Retries != 2 || s.Requests["GET"] != 3 {
					t.Errorf("stats %+v; want 2 retries of 3 GETs", s)
				}
			})
		})
	}
}

func TestSecondaryLimitWithoutRetryAfterBacksOffAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			if calls == 1 {
				http.Error(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`, http.StatusForbidden)
				return
			}
			writePR(w, 7, "stagegate/promote/prod")
		}, Options{})
		start := time.Now()
		if _, err := f.Request(t.Context(), 7); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < time.Minute || waited > time.Minute+15*time.Second {
			t.Errorf("waited %s, want one minute plus at most a quarter of jitter", waited)
		}
	})
}

func TestSecondaryLimitThatLastsIsATypedError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Retry-After", "5")
			http.Error(w, `{"message":"You have exceeded a secondary rate limit."}`, http.StatusTooManyRequests)
		}, Options{Retries: 2})
		err := f.SetStatus(t.Context(), "abc", gitsource.Status{Context: "stagegate", State: gitsource.StatusPending})
		var rl *RateLimitError
		if !errors.As(err, &rl) || !rl.Secondary {
			t.Fatalf("err = %v, want a secondary *RateLimitError", err)
		}
		if calls != 3 {
			t.Errorf("%d calls, want 1 + 2 retries", calls)
		}
	})
}

func TestPlainForbiddenIsNotARateLimit(t *testing.T) {
	calls := 0
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, `{"message":"Resource not accessible by integration"}`, http.StatusForbidden)
	}, Options{})
	_, err := f.Request(t.Context(), 7)
	var api *APIError
	if !errors.As(err, &api) || api.Status != http.StatusForbidden || api.Transient() {
		t.Fatalf("err = %#v, want a terminal *APIError 403", err)
	}
	if calls != 1 {
		t.Errorf("%d calls, want 1: a permission error is not retried", calls)
	}
}

func TestServerErrorsAreRetriedForReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			if calls <= 2 {
				http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
				return
			}
			writePR(w, 7, "stagegate/promote/prod")
		}, Options{})
		start := time.Now()
		if _, err := f.Request(t.Context(), 7); err != nil {
			t.Fatal(err)
		}
		// Backoff 1s then 2s, each with up to a quarter of jitter.
		if waited := time.Since(start); waited < 3*time.Second || waited > 3750*time.Millisecond {
			t.Errorf("waited %s, want 1s + 2s of backoff with jitter", waited)
		}
	})
}

func TestServerErrorsAreRetriedBoundedly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			http.Error(w, `{"message":"Server Error"}`, http.StatusServiceUnavailable)
		}, Options{Retries: 3})
		_, err := f.Request(t.Context(), 7)
		var un *UnavailableError
		if !errors.As(err, &un) || un.Status != http.StatusServiceUnavailable || !un.Transient() {
			t.Fatalf("err = %v, want a transient *UnavailableError 503", err)
		}
		if calls != 4 {
			t.Errorf("%d calls, want 4", calls)
		}
	})
}

func TestCommentIsNotRepeatedAfterAServerError(t *testing.T) {
	calls := 0
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, `{"message":"Server Error"}`, http.StatusInternalServerError)
	}, Options{})
	err := f.Comment(t.Context(), 7, "hello")
	var un *UnavailableError
	if !errors.As(err, &un) {
		t.Fatalf("err = %v, want *UnavailableError", err)
	}
	if calls != 1 {
		t.Errorf("%d POSTs, want 1: a comment GitHub may have made is not made again", calls)
	}
}

// A create that failed with 502 after GitHub made the pull request: OpenRequest finds it by
// listing rather than opening a second one.
func TestOpenRequestAfterAServerErrorMakesNoDuplicate(t *testing.T) {
	var mu sync.Mutex
	created := 0
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == "POST" && r.URL.Path == "/repos/acme/shop/pulls":
			created++
			http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
		case r.Method == "GET" && r.URL.Path == "/repos/acme/shop/pulls":
			if got := r.URL.Query().Get("head"); got != "acme:stagegate/promote/prod" {
				t.Errorf("listed head %q, want owner:branch", got)
			}
			w.Write([]byte("["))
			writePR(w, 12, "stagegate/promote/prod")
			w.Write([]byte("]"))
		case r.Method == "GET" && r.URL.Path == "/repos/acme/shop/pulls/12":
			writePR(w, 12, "stagegate/promote/prod")
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	}, Options{})
	got, err := f.OpenRequest(t.Context(), gitsource.NewRequest{Head: "stagegate/promote/prod", Base: "env/prod", Title: "Promote abc to prod"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != 12 || created != 1 {
		t.Errorf("got #%d after %d creates; want #12 after 1", got.Number, created)
	}
}

func TestOpenRequestDuplicateIsRequestExistsError(t *testing.T) {
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:stagegate/promote/prod."}]}`))
	}, Options{})
	_, err := f.OpenRequest(t.Context(), gitsource.NewRequest{Head: "stagegate/promote/prod", Base: "env/prod"})
	var exists *gitsource.RequestExistsError
	if !errors.As(err, &exists) || exists.Head != "stagegate/promote/prod" || exists.Base != "env/prod" {
		t.Fatalf("err = %v, want *RequestExistsError", err)
	}
}

func TestMergeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"the head moved is HeadMovedError", 409, `{"message":"Head branch was modified. Review and try the merge again."}`,
			&gitsource.HeadMovedError{Number: 3, SHA: "abc"}},
		{"refused is NotMergeableError with GitHub's reason", 405, `{"message":"Required status check \"stagegate\" is expected."}`,
			&gitsource.NotMergeableError{Number: 3, Reason: `Required status check "stagegate" is expected.`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}, Options{})
			_, err := f.Merge(t.Context(), 3, gitsource.MergeOptions{SHA: "abc", Method: "squash"})
			if diff := cmp.Diff(tc.want, err); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// GitHub fails the merge with a 502 after merging: Merge reads the pull request and reports the
// merge rather than trying again.
func TestMergeAfterAServerErrorChecksBeforeRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		merges := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case "PUT":
				merges++
				http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
			case "GET":
				json.NewEncoder(w).Encode(map[string]any{"number": 3, "state": "closed", "merged": true,
					"merge_commit_sha": "mmm", "head": map[string]any{"ref": "x", "sha": "abc"}})
			}
		}, Options{})
		sha, err := f.Merge(t.Context(), 3, gitsource.MergeOptions{SHA: "abc", Method: "merge"})
		if err != nil || sha != "mmm" || merges != 1 {
			t.Errorf("Merge = %q, %v after %d PUTs; want mmm, nil after 1", sha, err, merges)
		}
	})
}

func TestETagMakesIdlePollingFree(t *testing.T) {
	calls, notModified := 0, 0
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("ETag", `W/"v1"`)
		if r.Header.Get("If-None-Match") == `W/"v1"` {
			notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		writePR(w, 7, "stagegate/promote/prod")
	}, Options{})
	first, err := f.Request(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.Request(t.Context(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("the 304 did not serve the cached answer (-first +second):\n%s", diff)
	}
	if calls != 2 || notModified != 1 || f.Stats().NotModified != 1 {
		t.Errorf("%d calls, %d 304s (stats %+v); want 2 calls, the second a 304", calls, notModified, f.Stats())
	}
}

func TestETagCacheIsBounded(t *testing.T) {
	conditional := map[string]bool{}
	f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
		conditional[r.URL.Path] = r.Header.Get("If-None-Match") != ""
		w.Header().Set("ETag", `"`+r.URL.Path+`"`)
		writePR(w, 1, "x")
	}, Options{CacheSize: 2})
	for _, n := range []int{1, 2, 3, 1} {
		if _, err := f.Request(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	if conditional["/repos/acme/shop/pulls/1"] {
		t.Error("#1 was asked conditionally after two newer entries filled a cache of two")
	}
}

func TestEveryAttemptIsBoundedByTheTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			calls++
			<-r.Context().Done() // GitHub never answers
		}, Options{Timeout: 5 * time.Second, Retries: 1})
		start := time.Now()
		_, err := f.Request(t.Context(), 7)
		var un *UnavailableError
		if !errors.As(err, &un) || !errors.Is(err, errAttemptTimeout) {
			t.Fatalf("err = %v, want an *UnavailableError for the timeout", err)
		}
		// Two attempts of 5s and a backoff of 1s to 1.25s between them.
		if waited := time.Since(start); waited < 11*time.Second || waited > 11250*time.Millisecond {
			t.Errorf("took %s", waited)
		}
		if calls != 2 {
			t.Errorf("%d attempts, want 2", calls)
		}
	})
}

func TestCallerContextStopsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newForge(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, `{"message":"You have exceeded a secondary rate limit."}`, http.StatusForbidden)
		}, Options{})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := f.Request(ctx, 7)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the caller's deadline", err)
		}
	})
}
