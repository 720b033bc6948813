package github

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

// A token would cross the network in clear text to an http:// API anywhere but loopback.
func TestCleartextBaseURLIsRefused(t *testing.T) {
	for _, base := range []string{"http://ghe.example.com/api/v3/", "HTTP://ghe.example.com/api/v3", "http://10.0.0.1:8080/api/v3/", "http://localhost.example.com/"} {
		_, err := New(t.Context(), Options{Repo: "acme/shop", BaseURL: base, Auth: Auth{Token: "s3cret"}})
		if !errors.Is(err, config.ErrCleartextToken) || !strings.Contains(err.Error(), "https://") {
			t.Errorf("New(%q) = %v, want config.ErrCleartextToken saying to use https://", base, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error %q holds the token", err)
		}
	}
	for _, base := range []string{"http://localhost/api/v3/", "http://LOCALHOST:8080/", "http://127.0.0.1:1234/", "http://127.9.9.9/", "http://[::1]:1234/", "https://ghe.example.com/api/v3/", ""} {
		if _, err := New(t.Context(), Options{Repo: "acme/shop", BaseURL: base, Auth: Auth{Token: "s3cret"}}); err != nil {
			t.Errorf("New(%q) = %v, want it accepted", base, err)
		}
	}
}

// elsewhere is a second server, the target of a redirect: it serves the pull request to anyone
// and records the Authorization headers it was sent.
func elsewhere(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		writePR(w, 7, "stagegate/promote/prod")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func TestTokenIsNotSentAcrossARedirect(t *testing.T) {
	other, seen := elsewhere(t)
	var apiSaw string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiSaw = r.Header.Get("Authorization")
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()

	f, err := New(t.Context(), Options{Repo: "acme/shop", BaseURL: srv.URL, Auth: Auth{Token: "s3cret-token"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Request(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	if apiSaw != "Bearer s3cret-token" {
		t.Errorf("the API was sent Authorization %q, want the token", apiSaw)
	}
	got := seen()
	if len(got) == 0 {
		t.Fatal("the redirect was not followed")
	}
	for _, h := range got {
		if h != "" {
			t.Errorf("the redirect's target was sent Authorization %q, want none", h)
		}
	}
}

func TestAppTokenIsNotSentAcrossARedirect(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	other, seen := elsewhere(t)
	var mu sync.Mutex
	var apiSaw string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/api/v3/app/installations/4242/access_tokens" {
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"token": "ghs_installation", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
			return
		}
		mu.Lock()
		apiSaw = r.Header.Get("Authorization")
		mu.Unlock()
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	f, err := New(t.Context(), Options{Repo: "acme/shop", BaseURL: srv.URL + "/api/v3/",
		Auth: Auth{App: &App{AppID: 17, InstallationID: 4242, PrivateKeyFile: keyFile}}})
	if err != nil {
		t.Fatal(err)
	}
	if !f.UsesApp() {
		t.Fatal("UsesApp is false for App auth")
	}
	if _, err := f.Request(t.Context(), 7); err != nil {
		t.Fatal(err)
	}
	if apiSaw != "token ghs_installation" {
		t.Errorf("the API was sent Authorization %q, want the installation token", apiSaw)
	}
	got := seen()
	if len(got) == 0 {
		t.Fatal("the redirect was not followed")
	}
	for _, h := range got {
		if h != "" {
			t.Errorf("the redirect's target was sent Authorization %q, want none", h)
		}
	}
}

// The origin is scheme and host with port: the same host on another port or scheme is another
// origin, and gets no token.
func TestTokenTransportScopesTheTokenToTheOrigin(t *testing.T) {
	var got []string
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r.Header.Get("Authorization"))
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	base, _ := http.NewRequest("GET", "https://ghe.example.com/api/v3/", nil)
	tr := &tokenTransport{next: next, token: "tok", api: originOf(base.URL)}
	for url, want := range map[string]string{
		"https://ghe.example.com/api/v3/repos/a/b": "Bearer tok",
		"https://GHE.example.com/x":                "Bearer tok",
		"http://ghe.example.com/api/v3/repos/a/b":  "",
		"https://ghe.example.com:8443/api/v3/":     "",
		"https://objects.example.com/blob":         "",
	} {
		got = nil
		req, _ := http.NewRequest("GET", url, nil)
		if _, err := tr.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: Authorization %q, want %q", url, got, want)
		}
		if req.Header.Get("Authorization") != "" {
			t.Errorf("%s: the caller's request was changed", url)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
