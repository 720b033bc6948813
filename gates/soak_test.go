package gates

import (
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
)

func TestSoak(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	halfHour := config.SoakGate{Duration: config.Duration{Duration: 30 * time.Minute}}
	for _, tc := range []struct {
		name    string
		gate    config.SoakGate
		forge   *ForgeFacts
		want    Outcome
		summary string
		retry   time.Time
	}{
		{"without promotion facts the deploy time is unknown, so it waits", halfHour, nil, Pending,
			"the source's deploy time is not available here; the agent gathers it for a promotion", time.Time{}},
		{"a source with a cluster that has not deployed the commit waits, with no time to come back",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceHasCluster: true, SourceArrived: forgeNow.Add(-time.Hour)}, Pending,
			"0123456 is not deployed from env/dev yet", time.Time{}},
		{"deployed 10 minutes ago it soaks 20 more, counted from the deploy, not from the push",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceHasCluster: true, SourceArrived: forgeNow.Add(-2 * time.Hour), SourceDeployed: forgeNow.Add(-10 * time.Minute)}, Pending,
			"soaking until 2026-11-23T12:20:00Z: 0123456 deployed since 2026-11-23T11:50:00Z, at least 30m required", forgeNow.Add(20 * time.Minute)},
		{"deployed exactly the duration ago passes",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: forgeNow.Add(-30 * time.Minute)}, Pass,
			"0123456 deployed since 2026-11-23T11:30:00Z, at least 30m required", time.Time{}},
		{"a source without a cluster counts from when the commit reached its branch",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceArrived: forgeNow.Add(-90 * time.Minute)}, Pass,
			"0123456 on env/dev since 2026-11-23T10:30:00Z, at least 30m required", time.Time{}},
		{"a source without a cluster and an unknown arrival waits",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha}, Pending,
			"when 0123456 reached env/dev is not known yet", time.Time{}},
		{"a zero duration only needs the deploy",
			config.SoakGate{}, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: forgeNow}, Pass,
			"0123456 deployed since 2026-11-23T12:00:00Z, at least 0s required", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluateOne(t, newSoak(tc.gate), Input{Now: forgeNow, Forge: tc.forge})
			if r.Outcome != tc.want || r.Summary != tc.summary || !r.RetryAfter.Equal(tc.retry) {
				t.Errorf("got %s %q retry %v\nwant %s %q retry %v", r.Outcome, r.Summary, r.RetryAfter, tc.want, tc.summary, tc.retry)
			}
			if len(r.Findings) != 0 {
				t.Errorf("findings %+v, want none", r.Findings)
			}
		})
	}
}

// TestSoakSummaryIsStable: the summary names fixed times only, so later cycles that find nothing
// changed produce the same text and the agent rewrites no status and no PR body.
func TestSoakSummaryIsStable(t *testing.T) {
	g := newSoak(config.SoakGate{Duration: config.Duration{Duration: 30 * time.Minute}})
	for _, forge := range []*ForgeFacts{
		{SourceBranch: "env/dev", SourceSHA: "0123456789abcdef", SourceHasCluster: true, SourceDeployed: forgeNow.Add(-2 * time.Hour)},
		{SourceBranch: "env/dev", SourceSHA: "0123456789abcdef", SourceArrived: forgeNow.Add(-16596 * time.Hour)},
	} {
		for _, pair := range [][2]time.Time{
			{forgeNow, forgeNow.Add(3*time.Hour + 19*time.Second)},                                                  // passing
			{forgeNow.Add(-2*time.Hour + time.Minute), forgeNow.Add(-2*time.Hour + 17*time.Minute + 3*time.Second)}, // pending (deployed)
		} {
			a := evaluateOne(t, g, Input{Now: pair[0], Forge: forge})
			b := evaluateOne(t, g, Input{Now: pair[1], Forge: forge})
			if a.Outcome != b.Outcome || a.Summary != b.Summary || !a.RetryAfter.Equal(b.RetryAfter) {
				t.Errorf("at %v and %v: %s %q / %s %q; want the same", pair[0], pair[1], a.Outcome, a.Summary, b.Outcome, b.Summary)
			}
		}
	}
}
