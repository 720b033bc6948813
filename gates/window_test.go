package gates

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func win(schedule string, d time.Duration, zone string) config.Window {
	return config.Window{Schedule: schedule, Duration: config.Duration{Duration: d}, TimeZone: zone}
}

func TestWindow(t *testing.T) {
	berlinFreeze := config.WindowGate{Deny: []config.Window{win("0 16 * * FRI", 64*time.Hour, "Europe/Berlin")}}
	newYorkFreeze := config.WindowGate{Deny: []config.Window{win("0 16 * * FRI", 64*time.Hour, "America/New_York")}}
	berlinNight := config.WindowGate{Allow: []config.Window{win("30 2 * * *", 2*time.Hour, "Europe/Berlin")}}
	newYorkNight := config.WindowGate{Allow: []config.Window{win("30 2 * * *", 2*time.Hour, "America/New_York")}}
	newYorkFallBack := config.WindowGate{Allow: []config.Window{win("30 1 * * *", time.Hour, "America/New_York")}}
	officeHours := config.WindowGate{
		Allow: []config.Window{win("0 9 * * MON-FRI", 8*time.Hour, "Europe/Berlin")},
		Deny:  []config.Window{win("0 16 * * FRI", 64*time.Hour, "Europe/Berlin")},
	}
	for _, tc := range []struct {
		name    string
		gate    config.WindowGate
		now     string
		want    Outcome
		retry   string // RFC 3339, "" for none
		summary string // a fragment
	}{
		{"no windows: always open", config.WindowGate{}, "2026-11-23T12:00:00Z", Pass, "", "no windows configured"},

		// Europe/Berlin: clocks go back on Sunday 25 October 2026 and forward on Sunday 29 March 2026.
		{"Berlin: a minute before the Friday freeze is open", berlinFreeze, "2026-10-23T13:59:00Z", Pass, "2026-10-23T14:00:00Z", "outside every deny window"},
		{"Berlin: the freeze starts Friday 16:00 CEST and, across the autumn change, ends Monday 08:00 CET (65 real hours)",
			berlinFreeze, "2026-10-23T14:00:00Z", Pending, "2026-10-26T07:00:00Z", `deny window "0 16 * * FRI" (64h, Europe/Berlin) until 2026-10-26 08:00 CET`},
		{"Berlin: Sunday during the freeze waits for Monday 08:00 CET", berlinFreeze, "2026-10-25T12:00:00Z", Pending, "2026-10-26T07:00:00Z", ""},
		{"Berlin: Monday 07:59 CET is still frozen", berlinFreeze, "2026-10-26T06:59:00Z", Pending, "2026-10-26T07:00:00Z", ""},
		{"Berlin: Monday 08:00 CET is open until Friday 16:00 CET", berlinFreeze, "2026-10-26T07:00:00Z", Pass, "2026-10-30T15:00:00Z", ""},
		{"Berlin: across the spring change the freeze ends Monday 08:00 CEST (63 real hours)",
			berlinFreeze, "2026-03-27T15:00:00Z", Pending, "2026-03-30T06:00:00Z", ""},
		{"Berlin: Monday 08:00 CEST after the spring change is open until Friday 16:00 CEST", berlinFreeze, "2026-03-30T06:00:00Z", Pass, "2026-04-03T14:00:00Z", ""},
		{"Berlin: a 02:30 window on the spring-forward night opens when the clock jumps, at 03:00 CEST",
			berlinNight, "2026-03-29T00:59:00Z", Pending, "2026-03-29T01:00:00Z", "outside every allow window"},
		{"Berlin: 03:00 CEST on the spring-forward night is inside the 02:30 window, which closes at 04:30 CEST", berlinNight, "2026-03-29T01:00:00Z", Pass, "2026-03-29T02:30:00Z", "until 2026-03-29 04:30 CEST"},
		{"Berlin: the window closes at 04:30 CEST, its wall-clock end, and opens again the next night",
			berlinNight, "2026-03-29T02:30:00Z", Pending, "2026-03-30T00:30:00Z", ""},
		{"Berlin: an ordinary night opens at 02:30 CET", berlinNight, "2026-03-28T01:29:00Z", Pending, "2026-03-28T01:30:00Z", ""},

		// America/New_York: clocks go forward on Sunday 8 March 2026 and back on Sunday 1 November 2026.
		{"New York: the Friday freeze across the autumn change ends Monday 08:00 EST",
			newYorkFreeze, "2026-10-30T20:00:00Z", Pending, "2026-11-02T13:00:00Z", "until 2026-11-02 08:00 EST"},
		{"New York: Monday 08:00 EST is open until Friday 16:00 EST", newYorkFreeze, "2026-11-02T13:00:00Z", Pass, "2026-11-06T21:00:00Z", ""},
		{"New York: the Friday freeze across the spring change ends Monday 08:00 EDT",
			newYorkFreeze, "2026-03-06T21:00:00Z", Pending, "2026-03-09T12:00:00Z", ""},
		{"New York: a 02:30 window on the spring-forward night opens when the clock jumps, at 03:00 EDT",
			newYorkNight, "2026-03-08T06:59:00Z", Pending, "2026-03-08T07:00:00Z", ""},
		{"New York: 03:30 EDT on the spring-forward night is inside until 04:30 EDT", newYorkNight, "2026-03-08T07:30:00Z", Pass, "2026-03-08T08:30:00Z", "until 2026-03-08 04:30 EDT"},
		{"New York: 01:30 EDT on the fall-back night is inside the 01:30 window until the clock falls back to 01:00 EST",
			newYorkFallBack, "2026-11-01T05:30:00Z", Pass, "2026-11-01T06:00:00Z", ""},
		{"New York: when the clock falls back to 01:00 EST the wall clock is before 01:30 again, so it waits for 01:30 EST",
			newYorkFallBack, "2026-11-01T06:10:00Z", Pending, "2026-11-01T06:30:00Z", ""},
		{"New York: 01:30 EST is inside again, until 02:30 EST", newYorkFallBack, "2026-11-01T06:30:00Z", Pass, "2026-11-01T07:30:00Z", "until 2026-11-01 02:30 EST"},

		{"allow and deny together: Friday evening waits through the freeze to Monday's office hours",
			officeHours, "2026-11-20T16:00:00Z", Pending, "2026-11-23T08:00:00Z", "deny window"},
		{"allow and deny together: Monday 10:00 is open until the office closes at 17:00", officeHours, "2026-11-23T09:00:00Z", Pass, "2026-11-23T16:00:00Z", "inside allow window"},
		{"allow and deny together: Friday 10:00 is open until the freeze starts at 16:00, before the office closes", officeHours, "2026-11-20T09:00:00Z", Pass, "2026-11-20T15:00:00Z", "inside allow window"},
		{"allow and deny together: Tuesday 18:00 waits for Wednesday 09:00", officeHours, "2026-11-24T17:00:00Z", Pending, "2026-11-25T08:00:00Z", "outside every allow window"},
		// A passing gate's retry time is when it closes, so an agent that settled the promotion re-gates it then.
		{"passing: the approval at Friday 15:00 is re-gated at the 16:00 freeze", berlinFreeze, "2026-11-20T14:00:00Z", Pass, "2026-11-20T15:00:00Z", ""},
		{"passing: Friday 10:00 CEST waits for Monday 09:00 CET across the autumn change, not 72 real hours",
			config.WindowGate{Deny: []config.Window{win("0 9 * * MON", time.Hour, "Europe/Berlin")}}, "2026-10-23T08:00:00Z", Pass, "2026-10-26T08:00:00Z", ""},
		{"passing: back-to-back allow windows close when the last one ends",
			config.WindowGate{Allow: []config.Window{win("0 9 * * *", 4*time.Hour, "UTC"), win("0 13 * * *", 4*time.Hour, "UTC")}}, "2026-11-23T10:00:00Z", Pass, "2026-11-23T17:00:00Z", ""},
		{"passing: when the clock falls back into a deny window, the gate closes at the change",
			config.WindowGate{Deny: []config.Window{win("0 1 * * *", 45*time.Minute, "America/New_York")}}, "2026-11-01T05:50:00Z", Pass, "2026-11-01T06:00:00Z", ""},
		{"passing: an allow window that never ends leaves no retry time",
			config.WindowGate{Allow: []config.Window{win("* * * * *", 70*24*time.Hour, "UTC")}}, "2026-11-23T12:00:00Z", Pass, "", ""},
		{"a time zone left out is UTC", config.WindowGate{Deny: []config.Window{win("0 12 * * *", time.Hour, "")}},
			"2026-11-23T12:30:00Z", Pending, "2026-11-23T13:00:00Z", "UTC"},
		{"an allow window that never opens says so", config.WindowGate{Allow: []config.Window{win("0 0 30 2 *", time.Hour, "UTC")}},
			"2026-11-23T12:00:00Z", Pending, "", "no window opens again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, errs := newWindow(tc.gate, "gates.window")
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			r := evaluateOne(t, g, Input{Now: utc(tc.now)})
			var retry time.Time
			if tc.retry != "" {
				retry = utc(tc.retry)
			}
			if r.Outcome != tc.want || !r.RetryAfter.Equal(retry) || !strings.Contains(r.Summary, tc.summary) {
				t.Errorf("at %s: got %s retry %v %q\nwant %s retry %v, summary with %q", tc.now, r.Outcome, r.RetryAfter.UTC(), r.Summary, tc.want, retry, tc.summary)
			}
		})
	}
}

func TestWindowBreakGlass(t *testing.T) {
	g, errs := newWindow(config.WindowGate{Deny: []config.Window{win("0 16 * * FRI", 64*time.Hour, "Europe/Berlin")}}, "gates.window")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	frozen := utc("2026-11-21T10:00:00Z") // Saturday
	labelled := &ForgeFacts{Request: &gitsource.Request{Number: 12, Labels: []string{"promotion", BreakGlassLabel}}}

	r := evaluateOne(t, g, Input{Now: frozen, Forge: labelled})
	if r.Outcome != Pass || !strings.HasPrefix(r.Summary, "break-glass: label stagegate/break-glass on request #12 overrides: deny window") {
		t.Errorf("with the label: %s %q; want a pass that says break-glass was used", r.Outcome, r.Summary)
	}
	wantNote := `label stagegate/break-glass on request #12 overrides: deny window "0 16 * * FRI" (64h, Europe/Berlin) until 2026-11-23 08:00 CET`
	if len(r.Findings) != 1 || r.Findings[0].Check != CheckBreakGlass || r.Findings[0].Severity != Info || r.Findings[0].Message != wantNote {
		t.Errorf("findings %+v; want one window/break-glass note %q", r.Findings, wantNote)
	}
	if !r.RetryAfter.IsZero() {
		t.Errorf("break-glass pass retry %v; want none", r.RetryAfter)
	}
	// Nothing in the text is the current time: later in the same freeze the summary and the
	// finding are the same, so the agent rewrites no status and no PR body.
	later := evaluateOne(t, g, Input{Now: utc("2026-11-22T17:43:21Z"), Forge: labelled})
	if later.Summary != r.Summary || !slices.Equal(later.Findings, r.Findings) {
		t.Errorf("break-glass text changed with the time:\n%q %+v\n%q %+v", r.Summary, r.Findings, later.Summary, later.Findings)
	}

	unlabelled := &ForgeFacts{Request: &gitsource.Request{Number: 12, Labels: []string{"promotion"}}}
	if r := evaluateOne(t, g, Input{Now: frozen, Forge: unlabelled}); r.Outcome != Pending || len(r.Findings) != 0 {
		t.Errorf("without the label: %s %+v; want pending", r.Outcome, r.Findings)
	}
	open := utc("2026-11-23T10:00:00Z")
	if r := evaluateOne(t, g, Input{Now: open, Forge: labelled}); r.Outcome != Pass || len(r.Findings) != 0 {
		t.Errorf("label on an open window: %s %+v; want a plain pass, nothing overridden", r.Outcome, r.Findings)
	}
}

func TestWindowDoesNotDependOnTheLocalZone(t *testing.T) {
	// robfig/cron reads schedules in time.Local unless told otherwise; the gate must not.
	saved := time.Local
	t.Cleanup(func() { time.Local = saved })
	var got []time.Time
	for _, zone := range []string{"UTC", "Asia/Kolkata", "America/Los_Angeles"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		time.Local = loc
		g, _ := newWindow(config.WindowGate{Deny: []config.Window{win("0 16 * * FRI", 64*time.Hour, "Europe/Berlin")}}, "gates.window")
		got = append(got, evaluateOne(t, g, Input{Now: utc("2026-10-23T14:00:00Z")}).RetryAfter)
	}
	for _, r := range got[1:] {
		if !r.Equal(got[0]) {
			t.Errorf("retry times differ with the local zone: %v", got)
		}
	}
}

func TestWindowTooDenseToStepIsClosed(t *testing.T) {
	// Every minute for 70 days is more steps than one evaluation takes: the deny window is
	// treated as always open, so the gate stays closed rather than guessing.
	g, errs := newWindow(config.WindowGate{Deny: []config.Window{win("* * * * *", 70*24*time.Hour, "UTC")}}, "gates.window")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	r := evaluateOne(t, g, Input{Now: forgeNow})
	if r.Outcome != Pending || !r.RetryAfter.IsZero() || !strings.Contains(r.Summary, "with no end in sight") {
		t.Errorf("got %s retry %v %q", r.Outcome, r.RetryAfter, r.Summary)
	}
}

// FuzzWindow checks what the agent relies on: a pending window gate's retry time is in the
// future, and the gate is open then; a passing one's is in the future, and the gate is closed
// then and open until then. Schedules, zones and times are the fuzzer's.
func FuzzWindow(f *testing.F) {
	f.Add("0 16 * * FRI", int64(64), "Europe/Berlin", "", int64(0), "", int64(1792764000)) // 2026-10-23 16:00 CEST
	f.Add("30 2 * * *", int64(2), "Europe/Berlin", "", int64(0), "", int64(1774745940))    // spring-forward night
	f.Add("30 1 * * *", int64(1), "America/New_York", "", int64(0), "", int64(1793511000))
	f.Add("0 9 * * MON-FRI", int64(8), "Europe/Berlin", "0 16 * * FRI", int64(64), "Europe/Berlin", int64(1795190400))
	f.Add("@daily", int64(1), "Australia/Lord_Howe", "30 2 * * SUN", int64(30), "America/Sao_Paulo", int64(1700000000))
	f.Fuzz(func(t *testing.T, allow string, allowHours int64, allowZone, deny string, denyHours int64, denyZone string, now int64) {
		var c config.WindowGate
		if allow != "" {
			c.Allow = []config.Window{win(allow, time.Duration(allowHours%1000)*time.Hour, allowZone)}
		}
		if deny != "" {
			c.Deny = []config.Window{win(deny, time.Duration(denyHours%1000)*time.Hour, denyZone)}
		}
		g, errs := newWindow(c, "gates.window")
		if len(errs) > 0 {
			return // config validation refuses these
		}
		at := time.Unix(now%(1<<33), 0).UTC()
		r := g.Evaluate(Input{Now: at})
		if r.Outcome == Pass && !r.RetryAfter.IsZero() {
			// A passing gate's retry time is when it closes: open until just before, closed then.
			if !r.RetryAfter.After(at) {
				t.Fatalf("at %v: pass until %v, which is not in the future (%s)", at, r.RetryAfter, r.Summary)
			}
			if before := r.RetryAfter.Add(-time.Nanosecond); before.After(at) {
				if again := g.Evaluate(Input{Now: before}); again.Outcome != Pass {
					t.Fatalf("at %v: pass until %v, but at %v the gate is %s: %s", at, r.RetryAfter, before, again.Outcome, again.Summary)
				}
			}
			if again := g.Evaluate(Input{Now: r.RetryAfter}); again.Outcome == Pass {
				t.Fatalf("at %v: pass until %v, but then the gate still passes: %s", at, r.RetryAfter, again.Summary)
			}
			return
		}
		if r.Outcome != Pending || r.RetryAfter.IsZero() {
			return
		}
		if !r.RetryAfter.After(at) {
			t.Fatalf("at %v: retry %v is not in the future (%s)", at, r.RetryAfter, r.Summary)
		}
		if again := g.Evaluate(Input{Now: r.RetryAfter}); again.Outcome != Pass {
			t.Fatalf("at %v: retry at %v, but then the gate is %s: %s", at, r.RetryAfter, again.Outcome, again.Summary)
		}
	})
}
