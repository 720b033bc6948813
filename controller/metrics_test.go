package controller_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestMetricsFollowAPromotionFromDevToProd(t *testing.T) {
	w := newWorld(t)
	m := controller.NewMetrics()
	w.ctrl.Metrics = m
	// The controller's clock, which merges are timed by, reads an hour after each commit.
	anHourAfter := func(sha string) time.Time {
		at, err := time.Parse(time.RFC3339, w.git("log", "-1", "--format=%cI", sha))
		if err != nil {
			t.Fatal(err)
		}
		return at.Add(time.Hour)
	}
	green := gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.now = anHourAfter(green)

	w.cycle() // staging: opened and merged
	w.cycle() // prod: opened, waits for two approvals
	red := gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "red", 1)}, "web: red")
	w.now = anHourAfter(red)
	w.cycle() // staging: a second request, opened and merged
	w.cycle() // prod: its request moves on to staging's new head

	promotions := func(env, event string) float64 {
		return testutil.ToFloat64(m.Promotions.WithLabelValues("shop", env, event))
	}
	for _, c := range []struct {
		env, event string
		want       float64
	}{
		{"staging", "opened", 2}, {"staging", "merged", 2}, {"staging", "superseded", 0},
		{"prod", "opened", 1}, {"prod", "merged", 0}, {"prod", "superseded", 1},
	} {
		if got := promotions(c.env, c.event); got != c.want {
			t.Errorf("stagegate_promotions_total{env=%q,event=%q} = %v, want %v", c.env, c.event, got, c.want)
		}
	}
	if got := testutil.ToFloat64(m.GateOutcomes.WithLabelValues("shop", "staging", "schema", "pass")); got != 2 {
		t.Errorf("staging's schema gate passed %v times, want 2 (one per promotion)", got)
	}
	if got := testutil.ToFloat64(m.GateOutcomes.WithLabelValues("shop", "prod", "approvals", "pending")); got < 1 {
		t.Errorf("prod's approvals gate pending %v times, want at least 1", got)
	}

	lead := histogram(t, m.Registry, "stagegate_lead_time_seconds", map[string]string{"env": "staging"})
	if lead.GetSampleCount() != 2 || lead.GetSampleSum() != 2*3600 {
		t.Errorf("staging's lead time: %d samples summing %vs; want 2 of an hour each", lead.GetSampleCount(), lead.GetSampleSum())
	}
	if n := testutil.CollectAndCount(m.LeadTime); n != 1 {
		t.Errorf("lead time has %d series, want only staging's: prod merged nothing", n)
	}
	if got := histogram(t, m.Registry, "stagegate_cycle_duration_seconds", nil).GetSampleCount(); got != 4 {
		t.Errorf("%d cycles timed, want 4", got)
	}
	if got := histogram(t, m.Registry, "stagegate_step_duration_seconds", map[string]string{"step": "merge"}).GetSampleCount(); got < 3 {
		t.Errorf("the merge step timed %d times, want at least 3", got)
	}

	if n := testutil.CollectAndCount(m.Registry, "stagegate_forge_rate_limit_remaining"); n != 1 {
		t.Errorf("%d rate limit series, want 1 for the pipeline", n)
	}
	for _, name := range []string{"stagegate_git_fetches_total", "stagegate_git_fetched_bytes_total", "stagegate_git_probes_total", "stagegate_forge_requests_total"} {
		if v := sum(t, m.Registry, name); v <= 0 {
			t.Errorf("%s = %v after four cycles, want more than 0", name, v)
		}
	}
}

func TestANilMetricsRecordsNothing(t *testing.T) {
	w := newWorld(t)
	gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle() // w.ctrl.Metrics is nil: no panic
}

// Every metric the agent registers is documented in docs/metrics.md, by name in backquotes.
func TestEveryMetricIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc)
	go func() { controller.NewMetrics().Registry.Describe(ch); close(ch) }()
	name := regexp.MustCompile(`fqName: "([^"]+)"`)
	n := 0
	for d := range ch {
		sub := name.FindStringSubmatch(d.String())
		if sub == nil {
			t.Fatalf("no name in %s", d)
		}
		if !strings.HasPrefix(sub[1], "stagegate_") {
			continue // the Go and process collectors, documented as go_* and process_*
		}
		n++
		if !strings.Contains(string(doc), "`"+sub[1]+"`") {
			t.Errorf("docs/metrics.md does not document %s", sub[1])
		}
	}
	if n == 0 {
		t.Fatal("no stagegate_ metric registered")
	}
}

// histogram is the one series of the histogram family name whose labels include labels.
func histogram(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	var found []*dto.Metric
	for _, m := range family(t, g, name) {
		if hasLabels(m, labels) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d series of %s with %v, want 1", len(found), name, labels)
	}
	return found[0].GetHistogram()
}

// sum adds up the counter family name's series.
func sum(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	var v float64
	for _, m := range family(t, g, name) {
		v += m.GetCounter().GetValue()
	}
	return v
}

func family(t *testing.T, g prometheus.Gatherer, name string) []*dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	t.Fatalf("no metric %s gathered", name)
	return nil
}

func hasLabels(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(labels)
}
