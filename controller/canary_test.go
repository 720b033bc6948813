package controller_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
	"github.com/stagegate-dev/stagegate/probe/probetest"
)

// TestCanaryPromotion runs the pipeline docs/promotion.md describes, dev → staging →
// prod-canary → prod, with the metrics gate on prod watching prod-canary through a real
// Prometheus that scrapes an exporter whose error ratio the test sets. The same prod promotion
// waits (window not over, then no data), fails (error ratio high) and merges (low), with the
// observed value in its trailers.
func TestCanaryPromotion(t *testing.T) {
	exp := probetest.NewExporter(t)
	prom := probetest.StartPrometheus(t, exp.Target())

	w := newWorld(t)
	gitsourcetest.Branch(t, w.repo, "env/prod-canary", "env/dev")
	dev, staging, prod := w.p.Spec.Environments[0], w.p.Spec.Environments[1], w.p.Spec.Environments[2]
	canary := config.Environment{Name: "prod-canary", Branch: "env/prod-canary", Path: "overlays/prod",
		Promote: &config.Promote{Auto: true}, Gates: config.Gates{Schema: &config.SchemaGate{}}}
	prod.Promote = &config.Promote{Auto: true}
	const window = 3 * time.Second
	prod.Gates.Metrics = &config.MetricsGate{
		Prometheus: config.Prometheus{URL: prom.URL(), Timeout: config.Duration{Duration: 5 * time.Second}},
		Window:     config.Duration{Duration: window},
		Interval:   config.Duration{Duration: time.Millisecond},
		Queries: []config.MetricQuery{{
			Name:      "error_rate",
			Query:     `max(app_error_ratio{env="{{.Env}}",version="{{.ShortSHA}}"})`,
			Condition: "< 0.01",
		}},
	}
	w.p.Spec.Environments = []config.Environment{dev, staging, canary, prod}
	w.ctrl = w.controller()

	gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle() // staging merged
	w.cycle() // prod-canary merged
	if n := w.requestsInto("env/prod-canary"); n != 1 || !w.lastInto("env/prod-canary").Merged {
		t.Fatalf("after two cycles: %d requests into prod-canary, want one, merged", n)
	}
	head := w.git("rev-parse", "env/prod-canary")

	// The canary runs the change from now on: the prod request opens and waits for the window.
	start := time.Now()
	w.cycle()
	pr := w.lastInto("env/prod")
	if pr.Number == 0 || pr.Merged {
		t.Fatalf("prod request: %+v; want one open", pr)
	}
	sha := pr.HeadSHA
	if got := w.statuses(sha)["stagegate/metrics"]; got != "pending" {
		t.Fatalf("metrics status before the window is over = %q, want pending", got)
	}
	if body := w.gh.PR(pr.Number).Body; !strings.Contains(body, "waiting until") {
		t.Errorf("the request body does not say how long the metrics gate waits:\n%s", body)
	}

	// The window is over but the canary's version has no series yet: still pending, not pass.
	time.Sleep(time.Until(start.Add(window + time.Second)))
	w.cycle()
	if got := w.statuses(sha)["stagegate/metrics"]; got != "pending" || w.gh.PR(pr.Number).Merged {
		t.Fatalf("metrics status with no data = %q (merged %v), want pending and not merged", got, w.gh.PR(pr.Number).Merged)
	}

	// The canary serves errors: the gate fails with the observed value and the threshold.
	labels := map[string]string{"env": "prod-canary", "version": head[:7]}
	exp.Set("app_error_ratio", labels, 0.2)
	probetest.WaitForValue(t, prom, `max(app_error_ratio{env="prod-canary"})`, func(v float64) bool { return v == 0.2 })
	w.cycle()
	if got := w.statuses(sha)["stagegate/metrics"]; got != "failure" || w.gh.PR(pr.Number).Merged {
		t.Fatalf("metrics status at 20%% errors = %q (merged %v), want failure and not merged", got, w.gh.PR(pr.Number).Merged)
	}
	if body := w.gh.PR(pr.Number).Body; !strings.Contains(body, "error_rate") || !strings.Contains(body, "0.2") || !strings.Contains(body, "&lt; 0.01") {
		t.Errorf("the request body does not show the observed error rate and its threshold:\n%s", body)
	}

	// The canary recovers: the same promotion passes and merges, the value in its trailers.
	exp.Set("app_error_ratio", labels, 0.001)
	probetest.WaitForValue(t, prom, `max(app_error_ratio{env="prod-canary"})`, func(v float64) bool { return v == 0.001 })
	w.cycle()
	if !w.gh.PR(pr.Number).Merged {
		t.Fatalf("prod request not merged once the canary's error rate is 0.1%%; statuses %v", w.statuses(sha))
	}
	if testing.Verbose() {
		t.Logf("prod request body:\n%s\nmerge:\n%s", w.gh.PR(pr.Number).Body, w.git("log", "-1", "--format=%B", "env/prod"))
	}
	tr := w.trailers("env/prod")
	if got := tr["Stagegate-Observed"]; len(got) != 1 || got[0] != "metrics error_rate=0.001 < 0.01" {
		t.Errorf("Stagegate-Observed trailers = %q, want [metrics error_rate=0.001 < 0.01]", got)
	}
	if got := tr["Stagegate-Gate"]; !slices.Contains(got, "metrics=pass") {
		t.Errorf("Stagegate-Gate trailers = %q, want metrics=pass among them", got)
	}

	// The audit of prod reads the observed value back from the merge.
	l, err := controller.Audit(context.Background(), w.p, "prod", controller.AuditOptions{}, controller.Options{
		CacheDir: t.TempDir(), Getenv: func(string) string { return w.gh.GitPassword() }})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) == 0 || !slices.Equal(l.Entries[0].Observed, []string{"metrics error_rate=0.001 < 0.01"}) {
		t.Errorf("audit of prod: newest entry %+v, want the observed error rate", l.Entries)
	}
}
