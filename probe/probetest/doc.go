// Package probetest runs the real parts package probe talks to, for tests: a Prometheus server
// on loopback (StartPrometheus) scraping an exporter whose values the test sets while it runs
// (NewExporter). Tests that need Prometheus skip without /usr/bin/prometheus (or
// $PROMETHEUS_BIN), unless STAGEGATE_REQUIRE_PROMETHEUS=1 makes its absence a failure.
package probetest
