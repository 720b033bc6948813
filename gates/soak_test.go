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
			"soaking until 2026-11-23T12:20:00Z: 0123456 deployed for 10m of 30m", forgeNow.Add(20 * time.Minute)},
		{"deployed exactly the duration ago passes",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: forgeNow.Add(-30 * time.Minute)}, Pass,
			"0123456 deployed for 30m (since 2026-11-23T11:30:00Z; 30m required)", time.Time{}},
		{"a source without a cluster counts from when the commit reached its branch",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceArrived: forgeNow.Add(-90 * time.Minute)}, Pass,
			"0123456 on env/dev for 1h30m (since 2026-11-23T10:30:00Z; 30m required)", time.Time{}},
		{"a source without a cluster and an unknown arrival waits",
			halfHour, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha}, Pending,
			"when 0123456 reached env/dev is not known yet", time.Time{}},
		{"a zero duration only needs the deploy",
			config.SoakGate{}, &ForgeFacts{SourceBranch: "env/dev", SourceSHA: sha, SourceHasCluster: true, SourceDeployed: forgeNow}, Pass,
			"0123456 deployed for 0s (since 2026-11-23T12:00:00Z; 0s required)", time.Time{}},
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
