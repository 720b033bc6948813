package controller_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// BenchmarkPushToRequest measures the time from a push to env/dev until staging's promotion
// request shows that commit with every status posted, as a user waits for it: through the
// agent, woken by a signed webhook, and by polling every 5 s. Goal (issue 4): p50 under 2 s
// with a webhook. It also reports the GitHub requests of an idle cycle (goal: no writes, at most
// one conditional read per environment).
func BenchmarkPushToRequest(b *testing.B) {
	for _, mode := range []struct {
		name     string
		interval time.Duration
		webhook  bool
		samples  int
	}{
		{"webhook", time.Hour, true, 10},
		{"poll-5s", 5 * time.Second, false, 4},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				lat := pushToRequest(b, mode.interval, mode.webhook, mode.samples)
				slices.Sort(lat)
				b.ReportMetric(lat[len(lat)/2].Seconds(), "p50-s")
				b.ReportMetric(lat[len(lat)-1].Seconds(), "max-s")
			}
		})
	}
}

func pushToRequest(b *testing.B, interval time.Duration, webhook bool, samples int) []time.Duration {
	w := newWorld(b)
	w.p.Spec.Interval = config.Duration{Duration: interval}
	w.p.Spec.Environments[1].Promote = &config.Promote{Approvals: 1} // the request stays open
	w.ctrl = w.controller()
	agent := &controller.Agent{Pipelines: []config.Pipeline{w.p}, Log: quiet,
		Cycle: func(ctx context.Context, _ config.Pipeline) error { return w.ctrl.Cycle(ctx) }}
	hook := httptest.NewServer(&controller.Webhook{Secret: hookSecret, Log: quiet, Trigger: agent.Trigger,
		Repos: map[string][]string{"acme/shop": {"shop"}}})
	defer hook.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { agent.Run(ctx); close(done) }()

	var lat []time.Duration
	for i := range samples {
		if !webhook {
			time.Sleep(rand.N(interval)) // a push lands at any point of the polling interval
		}
		sha := gitsourcetest.Commit(b, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", fmt.Sprintf("c%d", i), 1)}, fmt.Sprintf("colour %d", i))
		start := time.Now()
		if webhook {
			body := []byte(`{"ref":"refs/heads/env/dev","after":"` + sha + `","repository":{"full_name":"acme/shop"}}`)
			req, _ := http.NewRequest("POST", hook.URL, bytes.NewReader(body))
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-Hub-Signature-256", sign(hookSecret, body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusAccepted {
				b.Fatalf("webhook: %v %v", err, resp)
			}
			resp.Body.Close()
		}
		for !w.requestShows(sha) {
			if time.Since(start) > 2*interval+30*time.Second {
				b.Fatalf("no request for %s after %v", sha[:7], time.Since(start))
			}
			time.Sleep(5 * time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}

	// Idle cycles: nothing changed since the last one. While the request waits for an approval
	// its reviews are read again (conditionally: a 304 costs no rate limit); once settled, only
	// the request list is.
	cancel()
	<-done
	waiting := idleRequests(w)
	w.gh.AddReview(1, "alice", "APPROVED")
	w.cycle()
	settled := idleRequests(w)
	b.ReportMetric(float64(waiting.reads), "idle-waiting-reads")
	b.ReportMetric(float64(waiting.full), "idle-waiting-unconditional")
	b.ReportMetric(float64(settled.reads), "idle-settled-reads")
	b.ReportMetric(float64(waiting.writes+settled.writes), "idle-writes")
	return lat
}

// requestShows reports whether staging's request promotes sha with the overall status posted.
func (w *world) requestShows(sha string) bool {
	if w.gh.PRs() == 0 {
		return false
	}
	pr := w.gh.PR(1)
	if !strings.HasPrefix(pr.Title, "Promote "+sha[:7]) {
		return false
	}
	return w.statuses(pr.HeadSHA)["stagegate"] != ""
}

type idle struct{ reads, full, writes int }

// idleRequests runs two cycles and counts the GitHub requests of the second.
func idleRequests(w *world) idle {
	w.cycle()
	w.gh.ResetLog()
	w.cycle()
	var n idle
	for _, r := range w.gh.Requests() {
		switch {
		case r.Method != "GET":
			n.writes++
		case r.Status != http.StatusNotModified:
			n.full++
			n.reads++
		default:
			n.reads++
		}
	}
	return n
}
