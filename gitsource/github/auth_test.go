package github

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// api serves GET /repos/acme/shop/pulls/7 to requests carrying want as Authorization, and
// records what it saw.
func api(t *testing.T, want string) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		writePR(w, 7, "stagegate/promote/prod")
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestTokenAuth(t *testing.T) {
	srv, _ := api(t, "Bearer s3cret-token")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("  s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STAGEGATE_TEST_TOKEN", "s3cret-token")
	for name, auth := range map[string]Auth{
		"given":                {Token: "s3cret-token"},
		"from an env var":      {TokenEnv: "STAGEGATE_TEST_TOKEN"},
		"from a file, trimmed": {TokenFile: file},
	} {
		t.Run(name, func(t *testing.T) {
			f, err := New(t.Context(), Options{Repo: "https://github.com/acme/shop.git", BaseURL: srv.URL, Auth: auth})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Request(t.Context(), 7); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBadTokenIsAnAuthErrorWithoutTheToken(t *testing.T) {
	srv, _ := api(t, "Bearer right")
	var logs bytes.Buffer
	t.Setenv("STAGEGATE_TEST_TOKEN", "wrong-s3cret")
	auth := Auth{TokenEnv: "STAGEGATE_TEST_TOKEN"}
	f, err := New(t.Context(), Options{Repo: "acme/shop", BaseURL: srv.URL, Auth: auth,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Request(t.Context(), 7)
	var ae *gitsource.AuthError
	if !errors.As(err, &ae) || ae.Transient() {
		t.Fatalf("err = %v, want a terminal *gitsource.AuthError", err)
	}
	if !strings.Contains(err.Error(), "$STAGEGATE_TEST_TOKEN") {
		t.Errorf("error %q does not say which credential to check", err)
	}
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("forge", "auth", auth, "token", Secret("wrong-s3cret"))
	for what, s := range map[string]string{
		"error": err.Error(), "log": logs.String(),
		"%v": fmt.Sprintf("%v %+v %#v", auth, Auth{Token: "wrong-s3cret"}, Secret("wrong-s3cret")),
	} {
		if strings.Contains(s, "wrong-s3cret") {
			t.Errorf("the token leaks into the %s: %s", what, s)
		}
	}
	if !strings.Contains(logs.String(), "REDACTED") {
		t.Errorf("log %s does not say REDACTED for the secret", logs.String())
	}
}

func TestMissingCredentialsAreRefusedAtNew(t *testing.T) {
	t.Setenv("STAGEGATE_TEST_EMPTY", "")
	for name, auth := range map[string]Auth{
		"none":          {},
		"two":           {TokenEnv: "A", TokenFile: "B"},
		"empty env var": {TokenEnv: "STAGEGATE_TEST_EMPTY"},
		"missing file":  {TokenFile: filepath.Join(t.TempDir(), "nope")},
		"bad key file":  {App: &App{AppID: 1, InstallationID: 2, PrivateKeyFile: filepath.Join(t.TempDir(), "nope.pem")}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(t.Context(), Options{Repo: "acme/shop", Auth: auth}); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

// The App signs a JWT (RS256, iss = app ID) with its key, exchanges it for an installation
// token at the API root given as BaseURL, and calls the API with that token.
func TestGitHubAppAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	exchanges := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v3/app/installations/4242/access_tokens":
			bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			claims := &jwt.RegisteredClaims{}
			_, err := jwt.ParseWithClaims(bearer, claims, func(tok *jwt.Token) (any, error) {
				if tok.Method != jwt.SigningMethodRS256 {
					return nil, fmt.Errorf("signed with %v", tok.Header["alg"])
				}
				return &key.PublicKey, nil
			})
			if !ok || err != nil || claims.Issuer != "17" || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 11*time.Minute {
				t.Errorf("JWT %q: %v, claims %+v; want RS256 by the app's key, iss 17, at most ~10m", bearer, err, claims)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			mu.Lock()
			exchanges++
			mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"token": "ghs_installation", "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		case r.URL.Path == "/api/v3/repos/acme/shop/pulls/7":
			if got := r.Header.Get("Authorization"); got != "token ghs_installation" {
				t.Errorf("API call authorized with %q, want the installation token", got)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			writePR(w, 7, "stagegate/promote/prod")
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()

	f, err := New(t.Context(), Options{Repo: "https://ghe.example.com/acme/shop.git", BaseURL: srv.URL + "/api/v3/",
		Auth: Auth{App: &App{AppID: 17, InstallationID: 4242, PrivateKeyFile: keyFile}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := f.Request(t.Context(), 7); err != nil {
			t.Fatal(err)
		}
	}
	if !f.UsesApp() {
		t.Error("UsesApp is false for App auth")
	}
	if tok, err := f.GitToken(t.Context()); err != nil || tok != "ghs_installation" {
		t.Errorf("GitToken = %q, %v; want the installation token for Git", tok, err)
	}
	if exchanges != 1 {
		t.Errorf("%d token exchanges for 3 calls and a Git token, want 1: the installation token is reused until it expires", exchanges)
	}
}

func TestParseRepo(t *testing.T) {
	for _, tc := range []struct{ in, owner, name string }{
		{"https://github.com/acme/shop-deploy.git", "acme", "shop-deploy"},
		{"https://github.com/acme/shop-deploy", "acme", "shop-deploy"},
		{"https://ghe.example.com/acme/shop-deploy.git/", "acme", "shop-deploy"},
		{"https://ghe.example.com/git/acme/shop-deploy.git", "acme", "shop-deploy"},
		{"git@github.com:acme/shop-deploy.git", "acme", "shop-deploy"},
		{"ssh://git@ghe.example.com:2222/acme/shop-deploy.git", "acme", "shop-deploy"},
		{"acme/shop-deploy", "acme", "shop-deploy"},
	} {
		owner, name, err := ParseRepo(tc.in)
		if err != nil || owner != tc.owner || name != tc.name {
			t.Errorf("ParseRepo(%q) = %q, %q, %v; want %q, %q", tc.in, owner, name, err, tc.owner, tc.name)
		}
	}
	for _, bad := range []string{"", "shop", "https://github.com/", "https://github.com/acme", "https://github.com/../..", "acme/sh op"} {
		if _, _, err := ParseRepo(bad); err == nil {
			t.Errorf("ParseRepo(%q) accepted it", bad)
		}
	}
}

func FuzzParseRepo(f *testing.F) {
	for _, s := range []string{"https://github.com/acme/shop.git", "git@github.com:acme/shop.git", "ssh://git@h:22/a/b",
		"acme/shop", "https://h/x/y/z.git/", ":", "a:/b", "https://%zz/a/b", "//a/b", "a/.git"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		owner, name, err := ParseRepo(raw)
		if err != nil {
			return
		}
		if !segment(owner) || !segment(name) || strings.Contains(owner, "/") || strings.Contains(name, "/") {
			t.Errorf("ParseRepo(%q) = %q, %q", raw, owner, name)
		}
	})
}
