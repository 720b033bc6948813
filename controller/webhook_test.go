package controller_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/controller"
)

const hookSecret = "It's a Secret to Everybody"

func sign(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyGitHubsDocumentedExample(t *testing.T) {
	// The example from GitHub's "Validating webhook deliveries" documentation.
	err := controller.Verify([]byte(hookSecret), []byte("Hello, World!"), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	if err != nil {
		t.Fatalf("GitHub's documented example does not verify: %v", err)
	}
}

func TestWebhook(t *testing.T) {
	push, _ := os.ReadFile("testdata/webhooks/push.json")
	pull, _ := os.ReadFile("testdata/webhooks/pull_request.json")
	tests := []struct {
		name       string
		method     string
		event      string
		body       []byte
		signature  string
		secret     controller.Secret
		wantStatus int
		wantCycles []string
	}{
		{"a signed push to a watched repository starts a cycle", "POST", "push", push, sign(hookSecret, push), hookSecret, 202, []string{"shop: push env/dev"}},
		{"a signed pull_request starts a cycle", "POST", "pull_request", pull, sign(hookSecret, pull), hookSecret, 202, []string{"shop: pull_request env/staging"}},
		{"a bad signature is refused", "POST", "push", push, sign("another hookSecret", push), hookSecret, 401, nil},
		{"an unsigned delivery is refused", "POST", "push", push, "", hookSecret, 401, nil},
		{"with no hookSecret configured every delivery is refused", "POST", "push", push, sign("", push), "", 401, nil},
		{"a tampered body is refused", "POST", "push", append(bytes.Clone(push), ' '), sign(hookSecret, push), hookSecret, 401, nil},
		{"ping is accepted and starts nothing", "POST", "ping", []byte(`{"zen":"x","hook_id":1}`), sign(hookSecret, []byte(`{"zen":"x","hook_id":1}`)), hookSecret, 204, nil},
		{"a review starts a cycle", "POST", "pull_request_review", pull, sign(hookSecret, pull), hookSecret, 202, []string{"shop: pull_request_review env/staging"}},
		{"an event stagegate does not use is a 400", "POST", "issues", []byte(`{}`), sign(hookSecret, []byte(`{}`)), hookSecret, 400, nil},
		{"a repository no pipeline uses starts nothing", "POST", "push", []byte(`{"ref":"refs/heads/main","repository":{"full_name":"acme/other"}}`), sign(hookSecret, []byte(`{"ref":"refs/heads/main","repository":{"full_name":"acme/other"}}`)), hookSecret, 204, nil},
		{"GET is not allowed", "GET", "push", nil, "", hookSecret, 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cycles []string
			h := &controller.Webhook{
				Secret:  tt.secret,
				Repos:   map[string][]string{"acme/shop-deploy": {"shop"}},
				Trigger: func(p, reason string) { cycles = append(cycles, p+": "+reason) },
				Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			}
			req := httptest.NewRequest(tt.method, "/hooks/github", bytes.NewReader(tt.body))
			req.Header.Set("X-GitHub-Event", tt.event)
			if tt.signature != "" {
				req.Header.Set("X-Hub-Signature-256", tt.signature)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if diff := cmp.Diff(tt.wantCycles, cycles); diff != "" {
				t.Errorf("cycles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepoName(t *testing.T) {
	for url, want := range map[string]string{
		"https://github.com/Acme/shop-deploy.git":   "acme/shop-deploy",
		"https://github.com/acme/shop-deploy":       "acme/shop-deploy",
		"git@github.com:acme/shop-deploy.git":       "acme/shop-deploy",
		"ssh://git@github.com/acme/shop-deploy.git": "acme/shop-deploy",
		"https://ghe.example.com/team/app/":         "team/app",
		"file:///tmp/shop.git":                      "tmp/shop",
		"https://github.com/":                       "",
		"/abs/path":                                 "abs/path",
	} {
		if got := controller.RepoName(url); got != want {
			t.Errorf("RepoName(%q) = %q, want %q", url, got, want)
		}
	}
}

func FuzzParseEvent(f *testing.F) {
	push, _ := os.ReadFile("testdata/webhooks/push.json")
	pull, _ := os.ReadFile("testdata/webhooks/pull_request.json")
	f.Add("push", push)
	f.Add("pull_request", pull)
	f.Add("ping", []byte(`{"zen":"z"}`))
	f.Add("push", []byte(`{"repository":{"full_name":null}}`))
	f.Fuzz(func(t *testing.T, kind string, body []byte) {
		ev, err := controller.ParseEvent(kind, body)
		if err == nil && ev.Kind != "ping" && ev.Repo == "" {
			t.Fatalf("accepted a %s event with no repository: %q", kind, body)
		}
	})
}

// The handler is an http.Handler so the agent can mount it.
var _ http.Handler = (*controller.Webhook)(nil)
