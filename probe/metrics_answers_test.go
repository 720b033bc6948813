package probe_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/probe"
	"github.com/stagegate-dev/stagegate/probe/probetest"
)

// TestMetricsAnswers covers what a real Prometheus does not readily do on demand (stall, time
// out, throttle, answer with a scalar or garbage) with canned answers of the API's shape.
func TestMetricsAnswers(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		kind    gates.ProbeErrorKind // "" for an answer
		message string               // fragment of the error's message
		values  []float64
		want    gates.Outcome // the gate's verdict on the facts
	}{
		{name: "a scalar answer", status: 200, body: `{"status":"success","data":{"resultType":"scalar","result":[1763899200,"0.004"]}}`,
			values: []float64{0.004}, want: gates.Pass},
		{name: "+Inf is a number, and over the threshold", status: 200,
			body:   `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1763899200,"+Inf"]}]}}`,
			values: []float64{math.Inf(1)}, want: gates.Fail},
		{name: "NaN alone is no data: the gate waits", status: 200,
			body:   `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763899200,"NaN"]}]}}`,
			values: []float64{math.NaN()}, want: gates.Pending},
		{name: "a partial answer (a store away) is not judged: the gate waits", status: 200,
			body: `{"status":"success","warnings":["No StoreAPIs matched for this query"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1763899200,"0.001"]}]}}`,
			kind: gates.ProbeUnreachable, message: "only in part", want: gates.Pending},
		{name: "an empty vector is no data: the gate waits", status: 200,
			body: `{"status":"success","data":{"resultType":"vector","result":[]}}`, want: gates.Pending},
		{name: "a query Prometheus timed out on", status: 503,
			body: `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`,
			kind: gates.ProbeTimeout, message: "timed out on query error_rate (timeout: query timed out in expression evaluation); the timeout is 2s", want: gates.Pending},
		{name: "a server error", status: 500, body: `{"status":"error","errorType":"internal","error":"boom"}`,
			kind: gates.ProbeUnreachable, message: "did not answer query error_rate: internal: boom; trying again later", want: gates.Pending},
		{name: "throttled", status: 429, body: `too many requests`,
			kind: gates.ProbeUnreachable, message: `did not answer query error_rate: HTTP 429 "too many requests"`, want: gates.Pending},
		{name: "an execution error is the query's", status: 422, body: `{"status":"error","errorType":"execution","error":"found duplicate series for the match group"}`,
			kind: gates.ProbeRefused, message: "refused query error_rate: execution: found duplicate series for the match group; fix gates.metrics.queries[error_rate].query", want: gates.Fail},
		{name: "forbidden", status: 403, body: `forbidden`,
			kind: gates.ProbeRefused, message: "check the token in gates.metrics.prometheus.bearerTokenFile or bearerTokenEnv", want: gates.Fail},
		{name: "a URL that is not the API's root", status: 404, body: `404 page not found`,
			kind: gates.ProbeRefused, message: "has no /api/v1/query (HTTP 404); fix gates.metrics.prometheus.url", want: gates.Fail},
		{name: "an HTML page", status: 200, body: `<html>login</html>`,
			kind: gates.ProbeBadAnswer, message: `something other than the Prometheus API's JSON ("<html>login</html>")`, want: gates.Pending},
		{name: "a string result", status: 200, body: `{"status":"success","data":{"resultType":"string","result":[1763899200,"x"]}}`,
			kind: gates.ProbeBadAnswer, message: "a string, not a number", want: gates.Pending},
		{name: "a value that is not a number", status: 200,
			body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1763899200,"lots"]}]}}`,
			kind: gates.ProbeBadAnswer, message: `value "lots" is not a number`, want: gates.Pending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/api/v1/query" || r.FormValue("time") != "1795435200.000" ||
					r.FormValue("timeout") != "2" || r.FormValue("query") != `err{version="0123456"}` {
					t.Errorf("request %s %s %v; want POST /api/v1/query with the query, time and timeout", r.Method, r.URL.Path, r.Form)
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			g := config.MetricsGate{Prometheus: config.Prometheus{URL: srv.URL, Timeout: config.Duration{Duration: 2 * time.Second}},
				Queries: []config.MetricQuery{{Name: "error_rate", Query: `err{version="{{.ShortSHA}}"}`, Condition: "< 0.01"}}}
			facts := probe.Metrics(context.Background(), g, vars, 5*time.Minute, at, probe.Options{})
			a := facts.Queries[0]
			switch {
			case tc.kind == "" && a.Err != nil:
				t.Errorf("err %+v; want an answer", a.Err)
			case tc.kind != "" && (a.Err == nil || a.Err.Kind != tc.kind || !strings.Contains(a.Err.Message, tc.message)):
				t.Errorf("err %+v; want %s with %q", a.Err, tc.kind, tc.message)
			}
			if tc.kind == "" {
				var got []float64
				for _, s := range a.Series {
					got = append(got, s.Values...)
				}
				if len(got) != len(tc.values) || (len(got) > 0 && got[0] != tc.values[0] && !(math.IsNaN(got[0]) && math.IsNaN(tc.values[0]))) {
					t.Errorf("values %v; want %v", got, tc.values)
				}
			}
			if r := judge(t, g, facts); r.Outcome != tc.want {
				t.Errorf("gate %s %q; want %s", r.Outcome, r.Summary, tc.want)
			}
		})
	}
}

func TestMetricsRangeQueryRequest(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mimir/prometheus/api/v1/query_range" || r.FormValue("start") != "1795434600.000" || r.FormValue("end") != "1795435200.000" ||
			r.FormValue("step") != "20" || r.FormValue("query") != "rate(x[10m])" || r.Header.Get("X-Scope-OrgID") != "shop" {
			t.Errorf("request %s %v %v; want a range query over the window with a step of window/30", r.URL.Path, r.Form, r.Header)
		}
		w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1763898600,"0.001"],[1763898620,"NaN"],[1763898640,"0.02"]]}]}}`))
	}))
	defer srv.Close()
	g := config.MetricsGate{Prometheus: config.Prometheus{URL: srv.URL + "/mimir/prometheus", Headers: map[string]string{"X-Scope-OrgID": "shop"}},
		Queries: []config.MetricQuery{{Name: "error_rate", Query: "rate(x[{{.Window}}])", Condition: "< 0.01", Range: true}}}
	v := vars
	v.Window = probe.PromDuration(10 * time.Minute)
	facts := probe.Metrics(context.Background(), g, v, 10*time.Minute, at, probe.Options{})
	a := facts.Queries[0]
	if a.Err != nil || len(a.Series) != 1 || len(a.Series[0].Values) != 3 || a.Series[0].Values[2] != 0.02 || !math.IsNaN(a.Series[0].Values[1]) {
		t.Fatalf("answer %+v, err %v", a.Series, a.Err)
	}
	if r := judge(t, g, facts); r.Outcome != gates.Fail || !strings.Contains(r.Summary, "error_rate 0.02 not < 0.01") {
		t.Errorf("gate %s %q; want fail on the worst sample", r.Outcome, r.Summary)
	}
}

func TestMetricsUnreachable(t *testing.T) {
	at := time.Now()
	stall := stallingServer(t)
	for _, tc := range []struct {
		name    string
		url     string
		timeout time.Duration
		kind    gates.ProbeErrorKind
		message string
	}{
		{"prometheus down (nothing listens on the port)", "http://" + probetest.ClosedAddr(t), time.Second, gates.ProbeUnreachable,
			"did not answer query error_rate: dial tcp"},
		{"a server that does not answer within the timeout", stall.URL, 300 * time.Millisecond, gates.ProbeTimeout,
			"did not answer query error_rate within 300ms; trying again later"},
		{"a name that does not resolve", "http://prometheus.invalid:9090", time.Second, gates.ProbeUnreachable,
			"did not answer query error_rate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := config.MetricsGate{Prometheus: config.Prometheus{URL: tc.url, Timeout: config.Duration{Duration: tc.timeout}},
				Queries: []config.MetricQuery{{Name: "error_rate", Query: "x", Condition: "< 0.01"}, {Name: "p95", Query: "y", Condition: "< 0.3"}}}
			start := time.Now()
			facts := probe.Metrics(context.Background(), g, vars, time.Minute, at, probe.Options{})
			if took := time.Since(start); took > tc.timeout+2*time.Second {
				t.Errorf("took %s; want the queries bounded by the timeout %s", took, tc.timeout)
			}
			if e := facts.Queries[0].Err; e == nil || e.Kind != tc.kind || !strings.Contains(e.Message, tc.message) {
				t.Errorf("err %+v; want %s with %q", e, tc.kind, tc.message)
			}
			r := judge(t, g, facts)
			if r.Outcome != gates.Pending || r.RetryAfter.IsZero() {
				t.Errorf("gate %s %q retry %v; want pending with a retry time", r.Outcome, r.Summary, r.RetryAfter)
			}
		})
	}
}

func TestMetricsHonoursContext(t *testing.T) {
	stall := stallingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	g := config.MetricsGate{Prometheus: config.Prometheus{URL: stall.URL}, Queries: []config.MetricQuery{{Name: "up", Query: "up", Condition: "== 1"}}}
	start := time.Now()
	facts := probe.Metrics(ctx, g, vars, time.Minute, time.Now(), probe.Options{})
	if time.Since(start) > 5*time.Second || facts.Queries[0].Err == nil {
		t.Errorf("cancelled after 200ms: took %s, err %+v; want it to stop with an error", time.Since(start), facts.Queries[0].Err)
	}
}

func TestMetricsTemplateThatDoesNotExecute(t *testing.T) {
	g := config.MetricsGate{Prometheus: config.Prometheus{URL: "http://" + probetest.ClosedAddr(t)},
		Queries: []config.MetricQuery{{Name: "typo", Query: `up{version="{{.Sha}}"}`, Condition: "== 1"}}}
	facts := probe.Metrics(context.Background(), g, vars, time.Minute, time.Now(), probe.Options{})
	if e := facts.Queries[0].Err; e == nil || e.Kind != gates.ProbeRefused || !strings.HasSuffix(e.Message, "fix gates.metrics.queries[typo].query") {
		t.Errorf("err %+v; want refused, naming the query to fix", e)
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Minute: "10m", 90 * time.Second: "1m30s", 2*time.Hour + 30*time.Minute: "2h30m",
		1500 * time.Millisecond: "1s500ms", 0: "0s",
	} {
		if got := probe.PromDuration(d); got != want {
			t.Errorf("PromDuration(%s) = %q; want %q", d, got, want)
		}
	}
}

// stallingServer never answers: its handler waits until the client goes away or the test ends.
func stallingServer(t *testing.T) *httptest.Server {
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a closed connection only once the body is read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	t.Cleanup(func() {
		close(quit)
		srv.Close()
	})
	return srv
}
