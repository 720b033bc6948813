package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// Secret is a credential. It prints and logs as REDACTED, so it cannot leak through %v, an
// error or a log line by accident.
type Secret string

func (Secret) String() string               { return "REDACTED" }
func (Secret) GoString() string             { return "REDACTED" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("REDACTED") }
func (s Secret) reveal() string             { return string(s) }
func (Secret) MarshalText() ([]byte, error) { return []byte("REDACTED"), nil }

// Auth is how the forge authenticates: exactly one of a token (given, or read from an
// environment variable or a file) or a GitHub App installation.
type Auth struct {
	Token     Secret
	TokenEnv  string // name of the environment variable holding the token
	TokenFile string // file holding the token; surrounding whitespace is trimmed
	App       *App
}

// App is a GitHub App installation. Its installation tokens are made from a JWT signed with the
// private key and renewed before they expire, by ghinstallation.
type App struct {
	AppID          int64
	InstallationID int64
	PrivateKeyFile string
}

// LogValue shows where credentials come from, never what they are.
func (a Auth) LogValue() slog.Value {
	return slog.StringValue(a.source())
}

// source says where the credential comes from, for errors that ask the user to check it.
func (a Auth) source() string {
	switch {
	case a.App != nil:
		return fmt.Sprintf("the GitHub App %d, installation %d, key %s (spec.forge.app)", a.App.AppID, a.App.InstallationID, a.App.PrivateKeyFile)
	case a.TokenEnv != "":
		return "the token in $" + a.TokenEnv
	case a.TokenFile != "":
		return "the token in " + a.TokenFile
	case a.Token != "":
		return "the token given"
	}
	return "credentials (none are configured: set spec.forge.tokenEnv, tokenFile or app)"
}

// transport wraps next with the credential, which goes only to the API's origin (apiBase's
// scheme and host): a request that follows a redirect elsewhere is sent without it. apiBase is
// also where an App exchanges its JWT for installation tokens. app is the installation token's
// source with App auth, else nil.
func (a Auth) transport(next http.RoundTripper, apiBase *url.URL) (rt http.RoundTripper, app *ghinstallation.Transport, err error) {
	set := 0
	for _, ok := range []bool{a.Token != "", a.TokenEnv != "", a.TokenFile != "", a.App != nil} {
		if ok {
			set++
		}
	}
	switch {
	case set == 0:
		return nil, nil, errors.New("github: no credentials: set spec.forge.tokenEnv, tokenFile or app (or spec.repo.tokenEnv or tokenFile)")
	case set > 1:
		return nil, nil, errors.New("github: more than one credential: set only one of a token, tokenEnv, tokenFile and app")
	}
	api := originOf(apiBase)
	if a.App != nil {
		it, err := ghinstallation.NewKeyFromFile(next, a.App.AppID, a.App.InstallationID, a.App.PrivateKeyFile)
		if err != nil {
			// ghinstallation's errors name the file and what failed to parse; never the key.
			return nil, nil, fmt.Errorf("github: app private key (spec.forge.app.privateKeyFile): %w", err)
		}
		it.BaseURL = strings.TrimSuffix(apiBase.String(), "/")
		// ghinstallation sets the installation token on every request it is given, whatever its
		// host; the guard gives it only the API's.
		return &sameOrigin{api: api, authed: it, plain: next}, it, nil
	}
	token := a.Token
	switch {
	case a.TokenEnv != "":
		v, ok := os.LookupEnv(a.TokenEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, nil, fmt.Errorf("github: the environment variable %s holding the token is empty or not set: set it, or fix tokenEnv", a.TokenEnv)
		}
		token = Secret(strings.TrimSpace(v))
	case a.TokenFile != "":
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return nil, nil, fmt.Errorf("github: reading the token file (tokenFile): %w", err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return nil, nil, fmt.Errorf("github: the token file %s is empty: put the token in it, or fix tokenFile", a.TokenFile)
		}
		token = Secret(strings.TrimSpace(string(b)))
	}
	return &tokenTransport{next: next, token: token, api: api}, nil, nil
}

// origin is the scheme and host (with port, if any) that a credential is scoped to.
type origin struct{ scheme, host string }

func originOf(u *url.URL) origin {
	return origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host)}
}

// tokenTransport sends a token with every request to the API's origin, and with no other: a
// redirect to another host, or to the same host over another scheme or port, goes without it.
type tokenTransport struct {
	next  http.RoundTripper
	token Secret
	api   origin
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if originOf(req.URL) != t.api {
		return t.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token.reveal())
	return t.next.RoundTrip(r)
}

// sameOrigin sends requests to the API's origin through authed, which adds the credential, and
// all others through plain, which does not.
type sameOrigin struct {
	api           origin
	authed, plain http.RoundTripper
}

func (s *sameOrigin) RoundTrip(req *http.Request) (*http.Response, error) {
	if originOf(req.URL) != s.api {
		return s.plain.RoundTrip(req)
	}
	return s.authed.RoundTrip(req)
}
