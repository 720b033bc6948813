package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// Vars are what a metrics query's template may use.
type Vars struct {
	Pipeline string
	// Env is the source environment's name: the one observed.
	Env string
	// Target is the environment promoted into.
	Target string
	// Namespace the source environment's objects live in.
	Namespace string
	// SHA is the source commit being promoted.
	SHA string
	// Window is the gate's window as a PromQL duration ("10m"); see PromDuration.
	Window string
}

// ShortSHA is the first 7 characters of SHA.
func (v Vars) ShortSHA() string {
	if len(v.SHA) > 7 {
		return v.SHA[:7]
	}
	return v.SHA
}

// PromDuration writes d as a PromQL duration ("10m", "1h30m", "90s" is "1m30s"), to the
// millisecond.
func PromDuration(d time.Duration) string {
	d = d.Round(time.Millisecond)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}

// maxAnswer bounds the body read from the query API: a query that selects far more series than
// a gate can judge is a mistake, not something to load into memory.
const maxAnswer = 32 << 20

// parallelQueries bounds how many of one gate's queries are in flight at once.
const parallelQueries = 4

// Metrics runs the gate's queries about vars' environment, evaluated at at over window: an
// instant query at at, or a range query from at-window to at. Every query gets an answer or an
// Err; Metrics itself never fails. The bearer token never appears in an Err.
func Metrics(ctx context.Context, g config.MetricsGate, vars Vars, window time.Duration, at time.Time, opts Options) *gates.MetricsFacts {
	facts := &gates.MetricsFacts{At: at, Window: window}
	api, err := newPromAPI(g.Prometheus, opts)
	if err != nil {
		facts.Err = err
		return facts
	}
	defer api.client.CloseIdleConnections()
	facts.Queries = make([]gates.QueryAnswer, len(g.Queries))
	sem := make(chan struct{}, parallelQueries)
	var wg sync.WaitGroup
	for i, q := range g.Queries {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			facts.Queries[i] = api.run(ctx, q, vars, window, at)
		})
	}
	wg.Wait()
	return facts
}

// promAPI is one gate's Prometheus: its URL, client and credentials.
type promAPI struct {
	cfg    config.Prometheus
	base   *url.URL
	where  string // "prometheus at http://host:9090", for messages
	client *http.Client
	opts   Options
}

func newPromAPI(p config.Prometheus, opts Options) (*promAPI, *gates.ProbeError) {
	u, err := url.Parse(p.URL)
	if err != nil || u.Host == "" {
		// Validation refuses this; never repeat the URL, it may hold credentials.
		return nil, &gates.ProbeError{Kind: gates.ProbeRefused, Message: "prometheus.url is not a URL; fix gates.metrics.prometheus.url"}
	}
	u.User = nil
	// Messages name the server without the query string, which may hold a credential.
	shown := *u
	shown.RawQuery, shown.Fragment = "", ""
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if p.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(opts.resolve(p.CAFile))
		if err != nil {
			return nil, &gates.ProbeError{Kind: gates.ProbeRefused,
				Message: fmt.Sprintf("cannot read prometheus.caFile: %v; fix gates.metrics.prometheus.caFile", err)}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &gates.ProbeError{Kind: gates.ProbeRefused,
				Message: fmt.Sprintf("prometheus.caFile %s holds no PEM certificate; fix gates.metrics.prometheus.caFile", p.CAFile)}
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &promAPI{
		cfg: p, base: u, opts: opts,
		where:  "prometheus at " + shown.String(),
		client: &http.Client{Transport: transport},
	}, nil
}

// run executes q's template and sends it; every failure becomes the answer's Err.
func (a *promAPI) run(ctx context.Context, q config.MetricQuery, vars Vars, window time.Duration, at time.Time) gates.QueryAnswer {
	ans := gates.QueryAnswer{Name: q.Name}
	fix := fmt.Sprintf("fix gates.metrics.queries[%s].query", q.Name)
	t, err := q.Template()
	if err == nil {
		var b strings.Builder
		if err = t.Execute(&b, vars); err == nil {
			ans.Query = b.String()
		}
	}
	if err != nil {
		ans.Err = &gates.ProbeError{Kind: gates.ProbeRefused, Message: fmt.Sprintf("query %s does not execute: %v; %s", q.Name, err, fix)}
		return ans
	}
	timeout := a.cfg.TimeoutOrDefault()
	// partial_response=false asks Thanos for a whole answer or an error; Prometheus ignores it.
	form := url.Values{"query": {ans.Query}, "timeout": {seconds(timeout)}, "partial_response": {"false"}}
	path := "/api/v1/query"
	if q.Range {
		path = "/api/v1/query_range"
		form.Set("start", unixTime(at.Add(-window)))
		form.Set("end", unixTime(at))
		form.Set("step", seconds(q.StepOr(window)))
	} else {
		form.Set("time", unixTime(at))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ans.Series, ans.Err = a.post(ctx, path, form, q.Name, timeout)
	return ans
}

// post sends one query and reads its answer.
func (a *promAPI) post(ctx context.Context, path string, form url.Values, name string, timeout time.Duration) ([]gates.MetricSeries, *gates.ProbeError) {
	fail := func(kind gates.ProbeErrorKind, format string, args ...any) ([]gates.MetricSeries, *gates.ProbeError) {
		return nil, &gates.ProbeError{Kind: kind, Message: fmt.Sprintf(format, args...)}
	}
	u := *a.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return fail(gates.ProbeRefused, "%s: cannot build the request for query %s: %v; fix gates.metrics.prometheus.url", a.where, name, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "stagegate")
	for k, v := range a.cfg.Headers {
		req.Header.Set(k, v)
	}
	token, perr := a.token()
	if perr != nil {
		return nil, perr
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}

	resp, err := a.client.Do(req)
	if err != nil {
		return nil, a.transportError(ctx, err, name, timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, a.transportError(ctx, err, name, timeout)
	}
	if len(body) > maxAnswer {
		return fail(gates.ProbeBadAnswer, "%s answered query %s with more than %d MiB; select fewer series (aggregate with sum or max), or %s",
			a.where, name, maxAnswer>>20, "fix gates.metrics.queries["+name+"].query")
	}

	var r apiAnswer
	jsonErr := json.Unmarshal(body, &r)
	what := r.ErrorType
	if r.Error != "" {
		what += ": " + r.Error
	}
	if jsonErr != nil || what == "" {
		what = fmt.Sprintf("HTTP %d %s", resp.StatusCode, snippet(body))
	}
	switch {
	case r.ErrorType == "timeout" || (r.ErrorType == "canceled" && ctx.Err() != nil):
		return fail(gates.ProbeTimeout, "%s timed out on query %s (%s); the timeout is %s: make the query cheaper or raise gates.metrics.prometheus.timeout",
			a.where, name, what, timeout)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fail(gates.ProbeRefused, "%s refused query %s: %s; check the token in gates.metrics.prometheus.bearerTokenFile or bearerTokenEnv and its permissions",
			a.where, name, what)
	case resp.StatusCode == http.StatusNotFound:
		return fail(gates.ProbeRefused, "%s has no %s (HTTP 404); fix gates.metrics.prometheus.url: it is the API's root, without /api/v1",
			a.where, path)
	case r.ErrorType == "bad_data" || r.ErrorType == "execution" || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity:
		return fail(gates.ProbeRefused, "%s refused query %s: %s; fix gates.metrics.queries[%s].query", a.where, name, what, name)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fail(gates.ProbeUnreachable, "%s did not answer query %s: %s; trying again later", a.where, name, what)
	case resp.StatusCode/100 != 2:
		return fail(gates.ProbeBadAnswer, "%s answered query %s with %s; is gates.metrics.prometheus.url a Prometheus query API?", a.where, name, what)
	case jsonErr != nil:
		return fail(gates.ProbeBadAnswer, "%s answered query %s with something other than the Prometheus API's JSON (%s); is gates.metrics.prometheus.url a Prometheus query API?",
			a.where, name, snippet(body))
	case r.Status != "success":
		return fail(gates.ProbeBadAnswer, "%s answered query %s with status %q (%s)", a.where, name, r.Status, what)
	case len(r.Warnings) > 0:
		return fail(gates.ProbeUnreachable, "%s answered query %s only in part (%s); trying again later", a.where, name, snippet([]byte(strings.Join(r.Warnings, "; "))))
	}
	series, err := r.Data.series()
	if err != nil {
		return fail(gates.ProbeBadAnswer, "%s answered query %s with a result stagegate cannot read: %v", a.where, name, err)
	}
	return series, nil
}

// token reads the bearer token, from the file on every query so a rotated token is picked up.
func (a *promAPI) token() (string, *gates.ProbeError) {
	switch {
	case a.cfg.BearerTokenFile != "":
		b, err := os.ReadFile(a.opts.resolve(a.cfg.BearerTokenFile))
		if err != nil {
			// The error names the file, never its content.
			return "", &gates.ProbeError{Kind: gates.ProbeRefused,
				Message: fmt.Sprintf("cannot read the bearer token: %v; fix gates.metrics.prometheus.bearerTokenFile or the file", err)}
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", &gates.ProbeError{Kind: gates.ProbeRefused,
			Message: fmt.Sprintf("the bearer token file %s is empty; write the token into it", a.cfg.BearerTokenFile)}
	case a.cfg.BearerTokenEnv != "":
		if t := strings.TrimSpace(a.opts.getenv(a.cfg.BearerTokenEnv)); t != "" {
			return t, nil
		}
		return "", &gates.ProbeError{Kind: gates.ProbeRefused,
			Message: fmt.Sprintf("the environment variable %s (gates.metrics.prometheus.bearerTokenEnv) is empty or not set; set it to the token", a.cfg.BearerTokenEnv)}
	}
	return "", nil
}

// transportError sorts an error from sending a query or reading its answer.
func (a *promAPI) transportError(ctx context.Context, err error, name string, timeout time.Duration) *gates.ProbeError {
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return &gates.ProbeError{Kind: gates.ProbeTimeout,
			Message: fmt.Sprintf("%s did not answer query %s within %s; trying again later (raise gates.metrics.prometheus.timeout if it is slow)", a.where, name, timeout)}
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return &gates.ProbeError{Kind: gates.ProbeUnreachable, Message: fmt.Sprintf("query %s to %s was cancelled", name, a.where)}
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr):
		return &gates.ProbeError{Kind: gates.ProbeRefused,
			Message: fmt.Sprintf("%s: its TLS certificate is not trusted (%v); set gates.metrics.prometheus.caFile to the CA that signed it", a.where, rootCause(err))}
	}
	return &gates.ProbeError{Kind: gates.ProbeUnreachable,
		Message: fmt.Sprintf("%s did not answer query %s: %v; trying again later", a.where, name, rootCause(err))}
}

// rootCause drops *url.Error's "Post \"http://…\":" prefix: the message names the server already.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// snippet is the start of a body that is not the API's JSON, for a message.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return fmt.Sprintf("%q", s)
}

func unixTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// apiAnswer is the Prometheus HTTP API's envelope
// (https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview).
type apiAnswer struct {
	Status    string  `json:"status"`
	Data      apiData `json:"data"`
	ErrorType string  `json:"errorType"`
	Error     string  `json:"error"`
	// Warnings come with a partial answer (Thanos or Mimir with a store or querier away):
	// data from part of the sources, which the gate must not judge as the whole.
	Warnings []string `json:"warnings"`
}

type apiData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// series reads a vector, matrix or scalar result; a string result has no number to judge.
func (d apiData) series() ([]gates.MetricSeries, error) {
	switch d.ResultType {
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(d.Result, &v); err != nil {
			return nil, fmt.Errorf("vector: %v", err)
		}
		out := make([]gates.MetricSeries, 0, len(v))
		for _, s := range v {
			x, err := sampleValue(s.Value)
			if err != nil {
				return nil, fmt.Errorf("vector: %v", err)
			}
			out = append(out, gates.MetricSeries{Labels: s.Metric, Values: []float64{x}})
		}
		return out, nil
	case "matrix":
		var m []struct {
			Metric map[string]string `json:"metric"`
			Values [][]any           `json:"values"`
		}
		if err := json.Unmarshal(d.Result, &m); err != nil {
			return nil, fmt.Errorf("matrix: %v", err)
		}
		out := make([]gates.MetricSeries, 0, len(m))
		for _, s := range m {
			ms := gates.MetricSeries{Labels: s.Metric, Values: make([]float64, 0, len(s.Values))}
			for _, p := range s.Values {
				x, err := sampleValue(p)
				if err != nil {
					return nil, fmt.Errorf("matrix: %v", err)
				}
				ms.Values = append(ms.Values, x)
			}
			out = append(out, ms)
		}
		return out, nil
	case "scalar":
		var p []any
		if err := json.Unmarshal(d.Result, &p); err != nil {
			return nil, fmt.Errorf("scalar: %v", err)
		}
		x, err := sampleValue(p)
		if err != nil {
			return nil, fmt.Errorf("scalar: %v", err)
		}
		return []gates.MetricSeries{{Values: []float64{x}}}, nil
	case "string":
		return nil, fmt.Errorf("a string, not a number; the query must return numbers")
	}
	return nil, fmt.Errorf("unknown result type %q", d.ResultType)
}

// sampleValue reads [<unix time>, "<value>"]; values are strings, "NaN" and "+Inf" included.
func sampleValue(p []any) (float64, error) {
	if len(p) != 2 {
		return 0, fmt.Errorf("want a [time, value] pair, got %d elements (a native histogram?)", len(p))
	}
	s, ok := p[1].(string)
	if !ok {
		return 0, fmt.Errorf("want the value as a string, got %T", p[1])
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return x, nil
}
