package controller

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/drift"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/github"
)

// Metrics are the agent's Prometheus metrics, registered on Registry (served at /metrics) and
// listed in docs/metrics.md. A nil *Metrics records nothing, so a controller without metrics
// (the CLI verbs, most tests) needs no checks at its call sites.
type Metrics struct {
	Registry *prometheus.Registry
	// DriftObjects counts an environment's objects by drift status after its last scan.
	DriftObjects *prometheus.GaugeVec
	// CycleDuration is how long a pipeline's cycle took, errors included.
	CycleDuration *prometheus.HistogramVec
	// StepDuration is how long one step of a target environment's cycle took.
	StepDuration *prometheus.HistogramVec
	// RenderDuration is how long rendering a promotion's two sides (the target now, and from
	// the source's tree) took; GateDuration how long evaluating its gates took.
	RenderDuration *prometheus.HistogramVec
	GateDuration   *prometheus.HistogramVec
	// GateOutcomes counts gate evaluations by gate and outcome.
	GateOutcomes *prometheus.CounterVec
	// Promotions counts what happened to promotion requests (promotionEvent).
	Promotions *prometheus.CounterVec
	// LeadTime is the time from the oldest commit a promotion delivers to its merge.
	LeadTime *prometheus.HistogramVec
	// Deployments counts applies of an environment's branch head to its cluster, by result.
	Deployments *prometheus.CounterVec
	// DeployFailing is 1 while an environment's last apply failed, 0 once one succeeds: time to
	// restore is how long it stays 1 (docs/metrics.md has the query).
	DeployFailing *prometheus.GaugeVec
	// ApplyObjects counts the objects of those applies by what the apply did to each.
	ApplyObjects *prometheus.CounterVec
	// Rollbacks counts rollback requests the agent merged.
	Rollbacks *prometheus.CounterVec

	sources *sources
}

// promotionEvent is what happened to a promotion request.
type promotionEvent string

const (
	promotionOpened     promotionEvent = "opened"     // the agent opened it
	promotionUpdated    promotionEvent = "updated"    // its title or body changed, same source
	promotionSuperseded promotionEvent = "superseded" // it now promotes a newer source commit
	promotionMerged     promotionEvent = "merged"     // the agent merged it
	promotionClosed     promotionEvent = "closed"     // the agent closed it: nothing left to promote
)

// Buckets of the duration histograms, in seconds. A cycle of an unchanged pipeline costs a probe
// (milliseconds); one that renders, gates and merges takes seconds; lead time runs from minutes
// to weeks.
var (
	durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	leadTimeBuckets = []float64{60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400}
)

// NewMetrics registers the agent's metrics on a new registry, with the Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		DriftObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stagegate_drift_objects",
			Help: "Objects of an environment by drift status (in_sync, drifted, missing, extra, failed) after its last drift scan.",
		}, []string{"pipeline", "env", "status"}),
		CycleDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stagegate_cycle_duration_seconds", Buckets: durationBuckets,
			Help: "Duration of a pipeline's promotion cycle (fetch, deploy, every environment's steps, rollbacks), failed ones included.",
		}, []string{"pipeline"}),
		StepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stagegate_step_duration_seconds", Buckets: durationBuckets,
			Help: "Duration of one step of a target environment's cycle (plan renders both sides, gate evaluates the gates).",
		}, []string{"pipeline", "step"}),
		RenderDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stagegate_render_duration_seconds", Buckets: durationBuckets,
			Help: "Duration of rendering a promotion's target now and from the source's tree (kustomize in process, both sides).",
		}, []string{"pipeline", "env"}),
		GateDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stagegate_gate_duration_seconds", Buckets: durationBuckets,
			Help: "Duration of evaluating a promotion's gates on gathered facts (no I/O).",
		}, []string{"pipeline", "env"}),
		GateOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagegate_gate_outcomes_total",
			Help: "Gate evaluations of promotions and rollbacks by gate and outcome (pass, pending, fail).",
		}, []string{"pipeline", "env", "gate", "outcome"}),
		Promotions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagegate_promotions_total",
			Help: "Promotion requests by event: opened, updated, superseded (moved to a newer source commit), merged (by the agent), closed (nothing left to promote).",
		}, []string{"pipeline", "env", "event"}),
		LeadTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "stagegate_lead_time_seconds", Buckets: leadTimeBuckets,
			Help: "Time from the commit time of the oldest commit a promotion delivers to the agent merging it into the environment.",
		}, []string{"pipeline", "env"}),
		Deployments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagegate_deployments_total",
			Help: "Applies of an environment's branch head to its cluster, by result (success, failure).",
		}, []string{"pipeline", "env", "result"}),
		DeployFailing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stagegate_deploy_failing",
			Help: "1 while the last apply of an environment's branch head to its cluster failed, 0 after one succeeded.",
		}, []string{"pipeline", "env"}),
		ApplyObjects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagegate_apply_objects_total",
			Help: "Objects of the applies to environments' clusters by what the apply did (created, configured, unchanged, deleted, recreated, kept, skipped, failed).",
		}, []string{"pipeline", "env", "action"}),
		Rollbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagegate_rollbacks_total",
			Help: "Rollback requests the agent merged into an environment.",
		}, []string{"pipeline", "env"}),
		sources: &sources{byPipeline: map[string]source{}},
	}
	m.Registry.MustRegister(m.DriftObjects, m.CycleDuration, m.StepDuration, m.RenderDuration, m.GateDuration, m.GateOutcomes, m.Promotions, m.LeadTime,
		m.Deployments, m.DeployFailing, m.ApplyObjects, m.Rollbacks, m.sources,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) setDrift(pipeline, env string, s drift.Summary) {
	if m == nil {
		return
	}
	for status, n := range map[string]int{"in_sync": s.InSync, "drifted": s.Drifted, "missing": s.Missing, "extra": s.Extra, "failed": s.Failed} {
		m.DriftObjects.WithLabelValues(pipeline, env, status).Set(float64(n))
	}
}

func (m *Metrics) cycle(pipeline string, d time.Duration) {
	if m == nil {
		return
	}
	m.CycleDuration.WithLabelValues(pipeline).Observe(d.Seconds())
}

func (m *Metrics) rendered(pipeline, env string, d time.Duration) {
	if m == nil {
		return
	}
	m.RenderDuration.WithLabelValues(pipeline, env).Observe(d.Seconds())
}

func (m *Metrics) evaluated(pipeline, env string, d time.Duration) {
	if m == nil {
		return
	}
	m.GateDuration.WithLabelValues(pipeline, env).Observe(d.Seconds())
}

func (m *Metrics) step(pipeline, step string, d time.Duration) {
	if m == nil {
		return
	}
	m.StepDuration.WithLabelValues(pipeline, step).Observe(d.Seconds())
}

func (m *Metrics) gated(pipeline, env string, r gates.Report) {
	if m == nil {
		return
	}
	for _, res := range r.Results {
		m.GateOutcomes.WithLabelValues(pipeline, env, res.Gate, string(res.Outcome)).Inc()
	}
}

func (m *Metrics) promotion(pipeline, env string, e promotionEvent) {
	if m == nil {
		return
	}
	m.Promotions.WithLabelValues(pipeline, env, string(e)).Inc()
}

func (m *Metrics) leadTime(pipeline, env string, d time.Duration) {
	if m == nil {
		return
	}
	m.LeadTime.WithLabelValues(pipeline, env).Observe(max(d, 0).Seconds())
}

func (m *Metrics) deployed(pipeline, env string, res deploy.Result, err error) {
	if m == nil {
		return
	}
	result, failing := "success", 0.0
	if err != nil {
		result, failing = "failure", 1
	}
	m.Deployments.WithLabelValues(pipeline, env, result).Inc()
	m.DeployFailing.WithLabelValues(pipeline, env).Set(failing)
	for _, o := range res.Objects {
		m.ApplyObjects.WithLabelValues(pipeline, env, string(o.Action)).Inc()
	}
}

func (m *Metrics) rolledBack(pipeline, env string) {
	if m == nil {
		return
	}
	m.Rollbacks.WithLabelValues(pipeline, env).Inc()
}

// watch has the metrics read pipeline's mirror and forge at every scrape (see sources).
func (m *Metrics) watch(pipeline string, mirror *gitsource.Mirror, forge Forge) {
	if m == nil {
		return
	}
	m.sources.mu.Lock()
	defer m.sources.mu.Unlock()
	m.sources.byPipeline[pipeline] = source{mirror: mirror, forge: forge}
}

// sources collects, at scrape time, what the mirrors and the forge clients count themselves:
// copying their counters into ours after every call would be a second count to keep right.
type sources struct {
	mu         sync.Mutex
	byPipeline map[string]source
}

type source struct {
	mirror *gitsource.Mirror
	forge  Forge
}

// githubClient is what the GitHub forge reports about its own traffic.
type githubClient interface {
	Stats() github.Stats
	RateLimit() (remaining, limit int, reset time.Time)
}

var (
	gitFetchesDesc = prometheus.NewDesc("stagegate_git_fetches_total",
		"Fetches the pipeline's Git mirror ran (a probe that finds nothing new fetches nothing).", []string{"pipeline"}, nil)
	gitFetchedBytesDesc = prometheus.NewDesc("stagegate_git_fetched_bytes_total",
		"Bytes of packs the pipeline's Git mirror received in its fetches (compressed, as transferred).", []string{"pipeline"}, nil)
	gitProbesDesc = prometheus.NewDesc("stagegate_git_probes_total",
		"Listings of the remote's refs by the pipeline's Git mirror (the per-cycle probe, and reads of pause refs and push leases).", []string{"pipeline"}, nil)
	forgeRequestsDesc = prometheus.NewDesc("stagegate_forge_requests_total",
		"HTTP requests sent to GitHub by method, retries included.", []string{"pipeline", "method"}, nil)
	forgeNotModifiedDesc = prometheus.NewDesc("stagegate_forge_not_modified_total",
		"GitHub GETs answered 304 Not Modified from the ETag cache (free of rate limit).", []string{"pipeline"}, nil)
	forgeRetriesDesc = prometheus.NewDesc("stagegate_forge_retries_total",
		"GitHub requests sent again after a rate limit, a 5xx or no answer.", []string{"pipeline"}, nil)
	forgeRemainingDesc = prometheus.NewDesc("stagegate_forge_rate_limit_remaining",
		"GitHub's primary rate limit left, as the last response told it (absent before the first response).", []string{"pipeline"}, nil)
	forgeLimitDesc = prometheus.NewDesc("stagegate_forge_rate_limit",
		"GitHub's primary rate limit per hour, as the last response told it (absent before the first response).", []string{"pipeline"}, nil)
)

func (s *sources) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{gitFetchesDesc, gitFetchedBytesDesc, gitProbesDesc, forgeRequestsDesc, forgeNotModifiedDesc, forgeRetriesDesc, forgeRemainingDesc, forgeLimitDesc} {
		ch <- d
	}
}

func (s *sources) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for pipeline, src := range s.byPipeline {
		if src.mirror != nil {
			ch <- prometheus.MustNewConstMetric(gitFetchesDesc, prometheus.CounterValue, float64(src.mirror.Fetches()), pipeline)
			ch <- prometheus.MustNewConstMetric(gitFetchedBytesDesc, prometheus.CounterValue, float64(src.mirror.FetchedBytes()), pipeline)
			ch <- prometheus.MustNewConstMetric(gitProbesDesc, prometheus.CounterValue, float64(src.mirror.Probes()), pipeline)
		}
		gh, ok := src.forge.(githubClient)
		if !ok {
			continue // the local forge sends no requests
		}
		st := gh.Stats()
		for method, n := range st.Requests {
			ch <- prometheus.MustNewConstMetric(forgeRequestsDesc, prometheus.CounterValue, float64(n), pipeline, method)
		}
		ch <- prometheus.MustNewConstMetric(forgeNotModifiedDesc, prometheus.CounterValue, float64(st.NotModified), pipeline)
		ch <- prometheus.MustNewConstMetric(forgeRetriesDesc, prometheus.CounterValue, float64(st.Retries), pipeline)
		if remaining, limit, _ := gh.RateLimit(); limit > 0 {
			ch <- prometheus.MustNewConstMetric(forgeRemainingDesc, prometheus.GaugeValue, float64(remaining), pipeline)
			ch <- prometheus.MustNewConstMetric(forgeLimitDesc, prometheus.GaugeValue, float64(limit), pipeline)
		}
	}
}
