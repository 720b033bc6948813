package gates

import (
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func TestChecks(t *testing.T) {
	const sha = "abcdef0123456789abcdef0123456789abcdef01"
	st := func(context string, state gitsource.StatusState) gitsource.Status {
		return gitsource.Status{Context: context, State: state, Kind: gitsource.CommitStatus}
	}
	failed := gitsource.Status{Context: "ci/build", State: gitsource.StatusFailure, Kind: gitsource.CheckRun,
		Description: "3 tests failed", TargetURL: "https://ci.example.com/runs/42"}
	facts := func(statuses ...gitsource.Status) *ForgeFacts {
		return &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceArrived: forgeNow.Add(-time.Hour), SourceChecks: statuses}
	}
	required := []string{"ci/build", "scan/*"}
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		forge    *ForgeFacts
		want     Outcome
		summary  string
		retry    time.Time
		findings []string // check: message fragments
	}{
		{"without promotion facts the statuses are unknown, so it waits", 0, nil, Pending,
			"the source commit's checks are not available here; the agent reads them from the forge", time.Time{}, nil},
		{"every required context green passes, a glob counting each context it matches", 0,
			facts(st("ci/build", gitsource.StatusSuccess), st("scan/trivy", gitsource.StatusSuccess), st("scan/grype", gitsource.StatusSuccess), st("lint", gitsource.StatusFailure)), Pass,
			"3 checks green on abcdef0: ci/build, scan/grype, scan/trivy", time.Time{}, nil},
		{"a queued or running check waits for the webhook or the next poll, with no retry time", 0,
			facts(st("ci/build", gitsource.StatusPending), st("scan/trivy", gitsource.StatusSuccess)), Pending,
			"waiting for ci/build (pending) on abcdef0", time.Time{}, nil},
		{"a glob with one running match waits even when another match is green", 0,
			facts(st("ci/build", gitsource.StatusSuccess), st("scan/trivy", gitsource.StatusSuccess), st("scan/grype", gitsource.StatusPending)), Pending,
			"waiting for scan/grype (pending) on abcdef0", time.Time{}, nil},
		{"a failed check fails with its context, description and link", 0,
			facts(failed, st("scan/trivy", gitsource.StatusPending)), Fail,
			"1 required check not green on abcdef0: ci/build (failure)", time.Time{},
			[]string{CheckStatusFailed + ": ci/build is failure on abcdef0: 3 tests failed (https://ci.example.com/runs/42)"}},
		{"an errored status fails like a failed one", 0,
			facts(st("ci/build", gitsource.StatusSuccess), st("scan/trivy", gitsource.StatusError)), Fail,
			"1 required check not green on abcdef0: scan/trivy (error)", time.Time{},
			[]string{CheckStatusFailed + ": scan/trivy is error on abcdef0"}},
		{"a missing context waits for ever when there is no timeout", 0,
			facts(st("ci/build", gitsource.StatusSuccess)), Pending,
			"waiting for scan/* (not reported) on abcdef0", time.Time{}, nil},
		{"a missing context waits until the timeout after the commit arrived, and says when to look again", 2 * time.Hour,
			facts(st("ci/build", gitsource.StatusSuccess)), Pending,
			"waiting for scan/* (not reported) on abcdef0", forgeNow.Add(time.Hour), nil},
		{"a context still missing at the timeout fails", time.Hour,
			facts(st("ci/build", gitsource.StatusSuccess)), Fail,
			"1 required check not green on abcdef0: scan/* (not reported)", time.Time{},
			[]string{CheckStatusMissing + ": scan/* has not reported on abcdef0, 1h after it reached env/dev"}},
		{"a context matched by two entries is judged once", 0,
			&ForgeFacts{SourceSHA: sha, SourceChecks: []gitsource.Status{failed}}, Fail,
			"1 required check not green on abcdef0: ci/build (failure)", time.Time{},
			[]string{CheckStatusFailed + ": ci/build is failure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := required
			if strings.Contains(tc.name, "two entries") {
				req = []string{"ci/build", "ci/*"}
			}
			g := newChecks(config.ChecksGate{Required: req, Timeout: config.Duration{Duration: tc.timeout}})
			r := evaluateOne(t, g, Input{Now: forgeNow, Forge: tc.forge})
			if r.Outcome != tc.want || r.Summary != tc.summary || !r.RetryAfter.Equal(tc.retry) {
				t.Errorf("got %s %q retry %v\nwant %s %q retry %v", r.Outcome, r.Summary, r.RetryAfter, tc.want, tc.summary, tc.retry)
			}
			if len(r.Findings) != len(tc.findings) {
				t.Fatalf("got findings %+v, want %q", r.Findings, tc.findings)
			}
			for i, want := range tc.findings {
				if got := r.Findings[i].Check + ": " + r.Findings[i].Message; !strings.HasPrefix(got, want) {
					t.Errorf("finding %d: %q, want it to start %q", i, got, want)
				}
			}
		})
	}
}

func TestChecksFailureCanBeDowngraded(t *testing.T) {
	// A team that only wants to see scan results sets checks/failed to warning; the gate then
	// passes, and its summary still says what failed.
	s, err := For(config.Environment{Name: "prod", Gates: config.Gates{Checks: &config.ChecksGate{
		GateCommon: config.GateCommon{Severity: map[string]Severity{CheckStatusFailed: config.SeverityWarning}},
		Required:   []string{"scan/*"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Evaluate(Input{Now: forgeNow, Forge: &ForgeFacts{SourceSHA: "abc", SourceChecks: []gitsource.Status{{Context: "scan/trivy", State: gitsource.StatusFailure}}}})
	if r[0].Outcome != Pass || r[0].Summary != "1 required check not green on abc: scan/trivy (failure)" || r[0].Findings[0].Severity != Warning {
		t.Errorf("got %+v; want a pass with the failure as a warning", r[0])
	}
}
