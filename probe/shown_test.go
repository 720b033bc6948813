package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

func TestShownURLsHoldNoSecrets(t *testing.T) {
	for raw, want := range map[string]string{
		"https://hooks.example.com/scan?token=s3cret#frag": "https://hooks.example.com/scan",
		"https://user:pass@hooks.example.com/scan":         "https://hooks.example.com/scan",
		"http://shop.example.com/":                         "http://shop.example.com/",
	} {
		if got := shown(raw); got != want {
			t.Errorf("shown(%q) = %q, want %q", raw, got, want)
		}
	}
}

// A token in the query string of an external or http URL never reaches a message, which the
// agent puts into commit statuses and PR bodies.
func TestProbeMessagesHoldNoQueryString(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }))
	defer slow.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example.com/x?token=s3cret", http.StatusFound)
	}))
	defer redirect.Close()
	opts := Options{Getenv: func(string) string { return "key" }}
	for _, base := range []string{down.URL, slow.URL, redirect.URL} {
		u := base + "/hook?token=s3cret"
		ext := External(context.Background(), config.ExternalGate{Name: "scan", URL: u, SecretEnv: "K", Timeout: config.Duration{Duration: 100 * time.Millisecond}},
			Promotion{PromotionCommit: "0123456789012345678901234567890123456789"}, opts)
		if ext.Err == nil || strings.Contains(ext.Err.Message, "s3cret") {
			t.Errorf("external %s: err %v; want an error without the token", base, ext.Err)
		}
		h := HTTP(context.Background(), config.HTTPGate{Requests: 1, Timeout: config.Duration{Duration: 100 * time.Millisecond},
			Targets: []config.HTTPTarget{{Name: "home", URL: u}}}, opts)
		for _, s := range h.Targets[0].Samples {
			if s.Err != nil && strings.Contains(s.Err.Message, "s3cret") {
				t.Errorf("http %s: %s", base, s.Err.Message)
			}
		}
	}
}
