package probe

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"
)

// Options are what every probe needs from the agent.
type Options struct {
	// Resolve turns a path from the config (bearerTokenFile, caFile, secretFile) into a file
	// path; relative paths are relative to the config file (config.Pipeline.Resolve). Default:
	// the path as is.
	Resolve func(string) string
	// Getenv reads bearerTokenEnv and secretEnv. Default os.Getenv.
	Getenv func(string) string
	// Now is the clock that stamps what the probes send and saw (HTTPFacts.At, an external
	// gate's sentAt) and that a retryAfter counts from. Default time.Now. Latencies are measured
	// with the monotonic clock whatever Now is.
	Now func() time.Time
}

func (o Options) resolve(path string) string {
	if o.Resolve == nil {
		return path
	}
	return o.Resolve(path)
}

func (o Options) getenv(name string) string {
	if o.Getenv == nil {
		return os.Getenv(name)
	}
	return o.Getenv(name)
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// maxBody is how much of an answer's body a probe reads.
const maxBody = 1 << 20

// clientFor is an HTTP client for the configured URLs only: it trusts the system's
// certificate authorities and those in caFile (a config path, resolved), and never follows a
// redirect, so a request goes nowhere but the configured URL and a 3xx is the answer.
func (o Options) clientFor(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(o.resolve(caFile))
		if err != nil {
			return nil, fmt.Errorf("read caFile: %w; point caFile at a PEM file of certificate authorities", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("caFile %s holds no PEM certificate; point caFile at a PEM file of certificate authorities", caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// shown is a URL as messages show it: without credentials, query string or fragment, any of
// which may hold a secret (a token in ?key=).
func shown(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the configured url"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
