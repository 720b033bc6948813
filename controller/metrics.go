package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/stagegate-dev/stagegate/drift"
)

// Metrics are the agent's Prometheus metrics, registered on Registry (served at /metrics).
// A nil *Metrics records nothing.
type Metrics struct {
	Registry *prometheus.Registry
	// DriftObjects counts an environment's objects by drift status after its last scan.
	DriftObjects *prometheus.GaugeVec
}

// NewMetrics registers the agent's metrics on a new registry, with the Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		DriftObjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stagegate_drift_objects",
			Help: "Objects of an environment by drift status (in_sync, drifted, missing, extra, failed) after its last drift scan.",
		}, []string{"pipeline", "env", "status"}),
	}
	m.Registry.MustRegister(m.DriftObjects, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
