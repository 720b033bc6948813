package config

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// HTTPGate sends a bounded number of synthetic requests to configured URLs of the source
// environment and checks their status, body and latency.
type HTTPGate struct {
	GateCommon `json:",inline"`
	// Targets to send requests to. Required: at least one. Requests go to these URLs only;
	// redirects are not followed.
	Targets []HTTPTarget `json:"targets"`
	// Requests sent to each target per evaluation. Default 10, at most 100.
	Requests int `json:"requests,omitempty"`
	// Timeout of one request. Default 10s.
	Timeout Duration `json:"timeout,omitzero"`
	// Delay is how long the source must have run the commit (since its stagegate/deploy
	// success, or since the commit reached its branch without a cluster) before the requests
	// are sent: right after a deploy the old pods may still answer. Default 1m.
	Delay Duration `json:"delay,omitzero"`
	// Interval is how often the agent sends them again while a promotion waits. Default 5m.
	Interval Duration `json:"interval,omitzero"`
	// CAFile is a PEM file of certificate authorities to trust for https:// URLs, in addition
	// to the system's. Default: the system's.
	CAFile string `json:"caFile,omitempty"`
}

// HTTPTarget is one URL and what its answers must be.
type HTTPTarget struct {
	// Name of the target in reports. Required; a DNS label, unique in the gate.
	Name string `json:"name"`
	// URL to request (http:// or https://). Required.
	URL string `json:"url"`
	// Method: GET, HEAD or POST. Default GET.
	Method string `json:"method,omitempty"`
	// Headers sent with each request. Default none.
	Headers map[string]string `json:"headers,omitempty"`
	// Body sent with a POST. Default none.
	Body string `json:"body,omitempty"`
	// Status codes an answer may have. Default [200].
	Status []int `json:"status,omitempty"`
	// BodyMatch is an RE2 regular expression every answer's body must match. Default: none.
	BodyMatch string `json:"bodyMatch,omitempty"`
	// P95 is the latency budget: the 95th percentile of the requests' times must not exceed it.
	// Default: none.
	P95 Duration `json:"p95,omitzero"`
}

// Defaults of the http gate.
const (
	DefaultHTTPRequests = 10
	MaxHTTPRequests     = 100
	DefaultHTTPTimeout  = 10 * time.Second
	DefaultHTTPInterval = 5 * time.Minute
	DefaultHTTPDelay    = time.Minute
	// MaxHTTPRound bounds one round of requests (targets × requests × timeout): the agent
	// sends them inside a promotion's cycle.
	MaxHTTPRound = 5 * time.Minute
)

// RequestsOr is the number of requests sent to each target: Requests, or 10 when unset.
func (g HTTPGate) RequestsOr() int {
	if g.Requests <= 0 {
		return DefaultHTTPRequests
	}
	return g.Requests
}

// TimeoutOr is the timeout of one request: Timeout, or 10s when unset.
func (g HTTPGate) TimeoutOr() time.Duration {
	if g.Timeout.Duration <= 0 {
		return DefaultHTTPTimeout
	}
	return g.Timeout.Duration
}

// IntervalOr is how often the requests are sent again: Interval, or 5m when unset.
func (g HTTPGate) IntervalOr() time.Duration {
	if g.Interval.Duration <= 0 {
		return DefaultHTTPInterval
	}
	return g.Interval.Duration
}

// DelayOr is how long the source must have run the commit before requests are sent: Delay,
// or 1m when unset.
func (g HTTPGate) DelayOr() time.Duration {
	if g.Delay.Duration <= 0 {
		return DefaultHTTPDelay
	}
	return g.Delay.Duration
}

// MethodOr is the target's method: Method, or GET when unset.
func (t HTTPTarget) MethodOr() string {
	if t.Method == "" {
		return http.MethodGet
	}
	return t.Method
}

// StatusOr is the status codes the target's answers may have: Status, or [200] when unset.
func (t HTTPTarget) StatusOr() []int {
	if len(t.Status) == 0 {
		return []int{http.StatusOK}
	}
	return t.Status
}

// validate checks the http gate's options; path is its config path.
func (g HTTPGate) validate(path string) []error {
	var errs []error
	add := func(p, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(format, args...)))
	}
	if len(g.Targets) == 0 {
		add(path+".targets", "want at least one target, like [{name: home, url: \"https://staging.example.com/healthz\"}]")
	}
	seen := map[string]int{}
	for i, t := range g.Targets {
		p := fmt.Sprintf("%s.targets[%d]", path, i)
		switch {
		case t.Name == "":
			add(p+".name", "required; a DNS label naming the target in reports, like \"checkout\"")
		case !dnsLabel.MatchString(t.Name) || len(t.Name) > 63:
			add(p+".name", "want a DNS label (lowercase letters, digits, '-'), got %q", t.Name)
		default:
			if j, dup := seen[t.Name]; dup {
				add(p+".name", "%q is also the name of targets[%d]; give each target its own name", t.Name, j)
			}
			seen[t.Name] = i
		}
		if msg := checkProbeURL(t.URL); msg != "" {
			add(p+".url", "%s", msg)
		}
		switch t.Method {
		case "", http.MethodGet, http.MethodHead:
			if t.Body != "" {
				add(p+".body", "only a POST sends a body; set method: POST or remove body")
			}
		case http.MethodPost:
		default:
			add(p+".method", "want GET, HEAD or POST, got %q", t.Method)
		}
		for name := range t.Headers {
			if !headerName.MatchString(name) {
				add(p+".headers", "%q is not a header name; use letters, digits and '-', like X-Canary", name)
			}
		}
		for j, code := range t.Status {
			if code < 100 || code > 599 {
				add(fmt.Sprintf("%s.status[%d]", p, j), "want an HTTP status code from 100 to 599, got %d", code)
			}
		}
		if t.BodyMatch != "" && t.Method == http.MethodHead {
			add(p+".bodyMatch", "a HEAD answer has no body to match; use method: GET or remove bodyMatch")
		} else if t.BodyMatch != "" {
			if _, err := regexp.Compile(t.BodyMatch); err != nil {
				add(p+".bodyMatch", "not an RE2 regular expression (%v); see https://github.com/google/re2/wiki/Syntax", err)
			}
		}
		if t.P95.Duration < 0 {
			add(p+".p95", "want a latency budget above 0, like \"300ms\", got %s", fmtDuration(t.P95.Duration))
		}
	}
	if g.Requests < 0 || g.Requests > MaxHTTPRequests {
		add(path+".requests", "want 1 to %d requests per target, got %d; leave it out for the default %d", MaxHTTPRequests, g.Requests, DefaultHTTPRequests)
	}
	if g.Timeout.Duration < 0 {
		add(path+".timeout", "%s is negative; leave it out for the default %s", fmtDuration(g.Timeout.Duration), fmtDuration(DefaultHTTPTimeout))
	}
	if g.Interval.Duration < 0 {
		add(path+".interval", "%s is negative; leave it out for the default %s", fmtDuration(g.Interval.Duration), fmtDuration(DefaultHTTPInterval))
	}
	if g.Delay.Duration < 0 {
		add(path+".delay", "%s is negative; leave it out for the default %s", fmtDuration(g.Delay.Duration), fmtDuration(DefaultHTTPDelay))
	}
	if round := time.Duration(len(g.Targets)*g.RequestsOr()) * g.TimeoutOr(); round > MaxHTTPRound && g.Requests >= 0 && g.Requests <= MaxHTTPRequests {
		add(path, "a round of requests may take up to %s (%d targets × %d requests × %s timeout), more than %s: the agent sends them inside a promotion's cycle; lower requests or timeout",
			fmtDuration(round), len(g.Targets), g.RequestsOr(), fmtDuration(g.TimeoutOr()), fmtDuration(MaxHTTPRound))
	}
	return errs
}

// headerName is an HTTP field name: an RFC 9110 token.
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// checkProbeURL checks a URL the agent sends requests to and says what is wrong ("" when
// nothing is). Credentials in it are refused: they would be logged and shown in reports.
func checkProbeURL(s string) string {
	if s == "" {
		return "required; an absolute http:// or https:// URL"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a URL; write an absolute http:// or https:// URL"
	case u.Scheme == "":
		return "not an absolute URL; write one like https://staging.example.com/healthz"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("want an http:// or https:// URL, got scheme %q", u.Scheme)
	case u.Host == "":
		return "the URL has no host; write an absolute URL like https://staging.example.com/healthz"
	case u.User != nil:
		return "credentials in the URL are not allowed; send them in headers or keep them out of the config"
	}
	return ""
}
