package probetest

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Exporter serves /metrics in the Prometheus text format with gauges the test sets while it
// runs: the error rate and latency a promotion is judged on.
type Exporter struct {
	srv *httptest.Server
	mu  sync.Mutex
	// gauges by metric name, then by label set written as {a="b"}.
	gauges map[string]map[string]float64
}

// NewExporter starts an exporter on loopback; it stops when the test ends.
func NewExporter(t testing.TB) *Exporter {
	t.Helper()
	e := &Exporter{gauges: map[string]map[string]float64{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// Target is the exporter's host:port, for StartPrometheus.
func (e *Exporter) Target() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// Set sets the gauge name{labels} to v.
func (e *Exporter) Set(name string, labels map[string]string, v float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gauges[name] == nil {
		e.gauges[name] = map[string]float64{}
	}
	e.gauges[name][labelSet(labels)] = v
}

// Delete removes the gauge name{labels}: Prometheus marks the series stale at the next scrape.
func (e *Exporter) Delete(name string, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.gauges[name], labelSet(labels))
}

func (e *Exporter) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	names := make([]string, 0, len(e.gauges))
	for n := range e.gauges {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "# TYPE %s gauge\n", n)
		sets := make([]string, 0, len(e.gauges[n]))
		for ls := range e.gauges[n] {
			sets = append(sets, ls)
		}
		slices.Sort(sets)
		for _, ls := range sets {
			fmt.Fprintf(w, "%s%s %s\n", n, ls, formatValue(e.gauges[n][ls]))
		}
	}
}

func labelSet(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(labels[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
