package github

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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

// transport wraps next with the credential. apiBase is the API root, where an App exchanges its
// JWT for installation tokens.
func (a Auth) transport(next http.RoundTripper, apiBase string) (http.RoundTripper, error) {
	set := 0
	for _, ok := range []bool{a.Token != "", a.TokenEnv != "", a.TokenFile != "", a.App != nil} {
		if ok {
			set++
		}
	}
	switch {
	case set == 0:
		return nil, errors.New("github: no credentials: set spec.forge.tokenEnv, tokenFile or app (or spec.repo.tokenEnv or tokenFile)")
	case set > 1:
		return nil, errors.New("github: more than one credential: set only one of a token, tokenEnv, tokenFile and app")
	}
	if a.App != nil {
		it, err := ghinstallation.NewKeyFromFile(next, a.App.AppID, a.App.InstallationID, a.App.PrivateKeyFile)
		if err != nil {
			// ghinstallation's errors name the file and what failed to parse; never the key.
			return nil, fmt.Errorf("github: app private key (spec.forge.app.privateKeyFile): %w", err)
		}
		it.BaseURL = strings.TrimSuffix(apiBase, "/")
		return it, nil
	}
	token := a.Token
	switch {
	case a.TokenEnv != "":
		v, ok := os.LookupEnv(a.TokenEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("github: the environment variable %s holding the token is empty or not set: set it, or fix tokenEnv", a.TokenEnv)
		}
		token = Secret(strings.TrimSpace(v))
	case a.TokenFile != "":
		b, err := os.ReadFile(a.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("github: reading the token file (tokenFile): %w", err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return nil, fmt.Errorf("github: the token file %s is empty: put the token in it, or fix tokenFile", a.TokenFile)
		}
		token = Secret(strings.TrimSpace(string(b)))
	}
	return &tokenTransport{next: next, token: token}, nil
}

// tokenTransport sends a token with every request.
type tokenTransport struct {
	next  http.RoundTripper
	token Secret
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token.reveal())
	return t.next.RoundTrip(r)
}
