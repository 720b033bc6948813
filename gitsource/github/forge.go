package github

import (
	"context"
	"errors"
	"fmt"
	"github.com/bradleyfalzon/ghinstallation/v2"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/config"
)

// Options configure a Forge. Zero values take the defaults in transport.go.
type Options struct {
	// Repo is the repository: its URL as the pipeline clones it
	// (https://github.com/acme/shop-deploy.git, git@ghe.example.com:acme/shop-deploy.git) or
	// owner/name.
	Repo string
	// BaseURL is the API root of a GitHub Enterprise Server (https://ghe.example.com/api/v3/),
	// used as written. Empty: https://api.github.com/.
	BaseURL string
	Auth    Auth
	// Timeout bounds one attempt of one call, the answer's body included. Waits for rate limits
	// and retries come on top, bounded by MaxWait and Retries; the caller's ctx bounds it all.
	// Default 30s.
	Timeout time.Duration
	// MaxWait is the longest a call waits for a rate limit to lift before it returns a
	// *RateLimitError. Default 2m.
	MaxWait time.Duration
	// Retries is how many times a call is sent again after a rate limit, a 5xx or no answer.
	// Default 3.
	Retries int
	// CacheSize bounds the ETag cache (entries). Default 512.
	CacheSize int
	// Transport replaces http.DefaultTransport under the forge's own, for tests.
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// Forge is a GitHub repository's pull requests, reviews, statuses and check runs, issues and
// commit authors, as the controller's Forge interface wants them.
type Forge struct {
	client      *gh.Client
	owner, repo string
	tr          *transport
	auth        string // where the credential comes from, for errors
	log         *slog.Logger
	app         *ghinstallation.Transport // set with App auth: the installation token's source
	authors     authors                   // CommitAuthor's answers
}

// New returns the forge for one repository. It does no I/O: the credentials are read, and an
// App's key parsed, but GitHub is first asked at the first call.
func New(ctx context.Context, opts Options) (*Forge, error) {
	_ = ctx // New does no I/O today; ctx is here so that it may, without changing callers.
	owner, name, err := ParseRepo(opts.Repo)
	if err != nil {
		return nil, err
	}
	base := opts.BaseURL
	if base == "" {
		base = "https://api.github.com/"
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	baseURL, err := url.Parse(base)
	if err != nil || baseURL.Host == "" || (baseURL.Scheme != "https" && baseURL.Scheme != "http") {
		return nil, fmt.Errorf("github: base URL %q is not an http(s) URL: write the API root, like https://ghe.example.com/api/v3/", opts.BaseURL)
	}
	if baseURL.Scheme == "http" && (config.RepoURL{Transport: config.TransportHTTP, Host: baseURL.Hostname()}).Cleartext() {
		// The host only: the URL is the user's to fix, and the rest of it is no help.
		return nil, fmt.Errorf("github: base URL http://%s: %w", baseURL.Host, config.ErrCleartextToken)
	}
	next := opts.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	authed, app, err := opts.Auth.transport(next, baseURL)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &transport{
		next:    authed,
		timeout: or(opts.Timeout, DefaultTimeout),
		maxWait: or(opts.MaxWait, DefaultMaxWait),
		retries: or(opts.Retries, DefaultRetries),
		log:     log,
		cache:   newETagCache(or(opts.CacheSize, DefaultCacheSize)),
	}
	client := gh.NewClient(&http.Client{Transport: t})
	client.BaseURL = baseURL
	client.UploadURL = baseURL
	client.UserAgent = "stagegate"
	return &Forge{client: client, owner: owner, repo: name, tr: t, auth: opts.Auth.source(), log: log, app: app}, nil
}

// GitToken returns the App installation's current token, for Git over HTTPS
// (gitsource.Options.Token): the same identity reads the repository and opens its requests, and
// no second, long-lived token is needed. With token auth there is none: Git uses the
// repository's own token (spec.repo.tokenEnv or tokenFile).
func (f *Forge) GitToken(ctx context.Context) (string, error) {
	if f.app == nil {
		return "", errors.New("github: the forge authenticates with a token, not an app: give Git spec.repo.tokenEnv or tokenFile")
	}
	return f.app.Token(ctx)
}

// UsesApp says whether the forge authenticates as a GitHub App, whose token GitToken gives.
func (f *Forge) UsesApp() bool { return f.app != nil }

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// RateLimit is GitHub's primary rate limit as the last response told it; limit is 0 before
// the first response.
func (f *Forge) RateLimit() (remaining, limit int, reset time.Time) {
	r, _ := f.tr.snapshot()
	return r.Remaining, r.Limit, r.Reset
}

// Stats counts the requests sent so far, by method, and the 304s and retries among them.
func (f *Forge) Stats() Stats {
	_, s := f.tr.snapshot()
	return s
}

// Repo is the repository's owner/name.
func (f *Forge) Repo() string { return f.owner + "/" + f.repo }

// ParseRepo finds owner and name in a repository URL (https://, ssh://, git@host:path) or an
// owner/name pair.
func ParseRepo(raw string) (owner, name string, err error) {
	p := strings.TrimSpace(raw)
	switch {
	case strings.Contains(p, "://"):
		u, err := url.Parse(p)
		if err != nil {
			return "", "", fmt.Errorf("github: repository URL: %w", err)
		}
		p = u.Path
	case strings.Contains(p, ":") && strings.Index(p, ":") < strings.IndexByte(p+"/", '/'):
		p = p[strings.Index(p, ":")+1:] // git@host:owner/name
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	parts := strings.Split(p, "/")
	if len(parts) < 2 || !segment(parts[len(parts)-2]) || !segment(parts[len(parts)-1]) {
		return "", "", fmt.Errorf("github: cannot find owner/name in the repository %q: use a URL like https://github.com/acme/shop-deploy.git", raw)
	}
	// A GHES URL may have a path prefix; owner and name are always the last two segments.
	return parts[len(parts)-2], parts[len(parts)-1], nil
}

// segment: GitHub owners and repository names are never empty, "." or "..", and hold no
// characters that would change an API path.
func segment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "?#%\\ ")
}

// op names a call in errors: "open request", "merge #12".
func op(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func (f *Forge) classify(what string, err error) error { return classify(what, err, f.auth) }
