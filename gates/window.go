package gates

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/stagegate-dev/stagegate/config"
)

// BreakGlassLabel on a promotion request lets it through a closed window. The override is
// recorded: the window gate passes with a window/break-glass finding naming the label and the
// request, which every report and the gate's commit status show.
const BreakGlassLabel = "stagegate/break-glass"

// CheckBreakGlass records that the break-glass label let a promotion through a closed window.
const CheckBreakGlass = "window/break-glass"

var windowChecks = []Check{
	{ID: CheckBreakGlass, Severity: Info, Title: "Break-glass label overrode a closed window",
		Why: "Someone chose to promote during a freeze or outside the allowed hours; the record names the request and the window it overrode.",
		Fix: "Nothing to fix; remove the label once the emergency is over so later promotions wait for the window again."},
}

// window is one allow or deny window, compiled: its schedule works on wall-clock time in its
// zone (see wallClock), so DST changes need no special cases.
type window struct {
	spec     string
	schedule *cron.SpecSchedule
	duration time.Duration
	loc      *time.Location
}

// windowGate is open inside at least one allow window (when any is configured) and outside every
// deny window.
type windowGate struct {
	allow, deny []window
}

func newWindow(c config.WindowGate, path string) (Gate, []error) {
	var g windowGate
	var errs []error
	for _, l := range []struct {
		name string
		in   []config.Window
		out  *[]window
	}{{"allow", c.Allow, &g.allow}, {"deny", c.Deny, &g.deny}} {
		for i, w := range l.in {
			p := fmt.Sprintf("%s.%s[%d]", path, l.name, i)
			sched, err := config.ParseWindowSchedule(w.Schedule)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.schedule: %v", p, err))
				continue
			}
			loc, err := w.Location()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.timeZone: unknown time zone %q", p, w.TimeZone))
				continue
			}
			if w.Duration.Duration <= 0 {
				errs = append(errs, fmt.Errorf("%s.duration: want more than 0", p))
				continue
			}
			// Steps run on wall-clock times written as UTC, whatever the process's local zone.
			s := *sched
			s.Location = time.UTC
			*l.out = append(*l.out, window{spec: w.Schedule, schedule: &s, duration: w.Duration.Duration, loc: loc})
		}
	}
	return g, errs
}

func (windowGate) Name() string    { return "window" }
func (windowGate) Checks() []Check { return windowChecks }

// Evaluate needs no promotion facts except for the break-glass label: without them it judges the
// time alone.
func (g windowGate) Evaluate(in Input) Result {
	now := in.Now
	blocked := g.blockedBy(now)
	if blocked == "" {
		// RetryAfter says when the gate stops passing, so an agent that has settled the
		// promotion re-gates it then instead of staying green into a freeze.
		return Result{Outcome: Pass, Summary: g.openSummary(now), RetryAfter: g.nextClose(now)}
	}
	if f := in.Forge; f != nil && f.Request != nil && slices.Contains(f.Request.Labels, BreakGlassLabel) {
		// No current time in the text: the summary and the finding stay the same from cycle to
		// cycle while nothing changes, so the agent rewrites no status and no PR body.
		what := fmt.Sprintf("label %s on request #%d overrides: %s", BreakGlassLabel, f.Request.Number, blocked)
		return Result{Outcome: Pass, Summary: "break-glass: " + what, Findings: []Finding{{
			Check: CheckBreakGlass, Severity: Info,
			Message: what,
			Fix:     "remove the label once the emergency is over",
		}}}
	}
	r := Result{Outcome: Pending, Summary: blocked}
	if open := g.nextOpen(now); !open.IsZero() {
		r.RetryAfter = open
		r.Summary += fmt.Sprintf("; opens %s", open.UTC().Format(time.RFC3339))
	} else {
		r.Summary += "; no window opens again"
	}
	return r
}

// blockedBy says why t is outside the windows ("" when it is inside).
func (g windowGate) blockedBy(t time.Time) string {
	for _, w := range g.deny {
		if end, ok := w.activeUntil(t); ok {
			until := "with no end in sight"
			if !end.IsZero() {
				until = "until " + end.In(w.loc).Format("2006-01-02 15:04 MST")
			}
			return fmt.Sprintf("deny window %q (%s, %s) %s", w.spec, roundDuration(w.duration), w.loc, until)
		}
	}
	if len(g.allow) == 0 {
		return ""
	}
	for _, w := range g.allow {
		if _, ok := w.activeUntil(t); ok {
			return ""
		}
	}
	specs := make([]string, len(g.allow))
	for i, w := range g.allow {
		specs[i] = fmt.Sprintf("%q (%s, %s)", w.spec, roundDuration(w.duration), w.loc)
	}
	return "outside every allow window: " + strings.Join(specs, ", ")
}

func (g windowGate) openSummary(t time.Time) string {
	for _, w := range g.allow {
		if end, ok := w.activeUntil(t); ok {
			return fmt.Sprintf("inside allow window %q until %s", w.spec, end.In(w.loc).Format("2006-01-02 15:04 MST"))
		}
	}
	if len(g.deny) > 0 {
		return "outside every deny window"
	}
	return "no windows configured"
}

// nextOpen is the first time at or after t that is inside an allow window (if any) and outside
// every deny window; zero when none is found. Back-to-back freezes are stepped through, a bounded
// number of times.
func (g windowGate) nextOpen(t time.Time) time.Time {
	for range 256 {
		moved := false
		for _, w := range g.deny {
			if end, ok := w.activeUntil(t); ok {
				if end.IsZero() {
					return time.Time{} // a window too dense to step: always closed
				}
				t, moved = end, true
			}
		}
		if moved {
			continue
		}
		if len(g.allow) == 0 {
			return t
		}
		var next time.Time
		for _, w := range g.allow {
			if _, ok := w.activeUntil(t); ok {
				return t
			}
			if s := w.nextStart(t); !s.IsZero() && (next.IsZero() || s.Before(next)) {
				next = s
			}
		}
		if next.IsZero() {
			return time.Time{}
		}
		t = next
	}
	return time.Time{}
}

// nextClose is, for a time t the gate passes at, the first instant after t at which it stops
// passing; zero when it does not stop within 256 steps or maxSteps schedule steps in all. The
// gate's answer can only change where a deny window starts, where the allow windows t is in end,
// or where a window's zone changes its clock (falling back can put the wall clock before an allow
// window's start again, or inside a deny window again): the earliest of those is a step, taken
// until one is closed.
func (g windowGate) nextClose(t time.Time) time.Time {
	budget := maxSteps
	// active is activeUntil on the shared budget; spent says the budget ran out.
	active := func(w window, at time.Time) (end time.Time, ok, spent bool) {
		end, ok, n := w.active(at, budget)
		budget -= n
		return end, ok, budget <= 0
	}
	for range 256 {
		var next time.Time
		earliest := func(c time.Time) {
			if c.After(t) && (next.IsZero() || c.Before(next)) {
				next = c
			}
		}
		for _, w := range g.deny {
			earliest(w.nextStart(t))
			earliest(zoneChange(t, w.loc))
		}
		for _, w := range g.allow {
			end, ok, spent := active(w, t)
			if spent {
				return time.Time{}
			}
			if ok {
				earliest(end) // zero (too dense to step: always open) is no candidate
			}
			earliest(zoneChange(t, w.loc))
		}
		if next.IsZero() {
			return time.Time{}
		}
		// Closed at next: inside a deny window, or (with allow windows) inside none of them.
		closed, inAllow := false, false
		for _, w := range g.deny {
			_, ok, spent := active(w, next)
			if spent {
				return time.Time{}
			}
			closed = closed || ok
		}
		for _, w := range g.allow {
			if closed || inAllow {
				break
			}
			_, ok, spent := active(w, next)
			if spent {
				return time.Time{}
			}
			inAllow = ok
		}
		if closed || (len(g.allow) > 0 && !inAllow) {
			return next
		}
		t = next
	}
	return time.Time{}
}

// zoneChange is the next instant after t at which loc's clock changes offset; zero for none.
func zoneChange(t time.Time, loc *time.Location) time.Time {
	_, end := t.In(loc).ZoneBounds()
	return end
}

// maxSteps bounds the schedule steps one evaluation takes ("* * * * *" with a 64h duration is
// 3,840 steps); a window that needs more is treated as always open, which is what such a
// schedule means.
const maxSteps = 100_000

// activeUntil says whether t is inside the window and, if so, when the window (and any window
// of the same schedule that opened while it was open) closes. It steps the schedule from
// wall(t) - duration: t is inside when some start s has s <= wall(t) < s + duration.
func (w window) activeUntil(t time.Time) (time.Time, bool) {
	end, ok, _ := w.active(t, maxSteps)
	return end, ok
}

// active is activeUntil taking at most limit schedule steps (more: too dense, so active with no
// end); steps is how many it took.
func (w window) active(t time.Time, limit int) (end time.Time, ok bool, steps int) {
	wall := wallClock(t, w.loc)
	var last time.Time
	s := w.schedule.Next(wall.Add(-w.duration))
	for ; !s.IsZero() && !s.After(wall); steps++ {
		if steps >= limit {
			return time.Time{}, true, steps
		}
		last = s
		s = w.schedule.Next(s)
	}
	if last.IsZero() {
		return time.Time{}, false, steps
	}
	return instant(last.Add(w.duration), w.loc, t), true, steps
}

// nextStart is the first instant after t at which the window opens.
func (w window) nextStart(t time.Time) time.Time {
	s := w.schedule.Next(wallClock(t, w.loc))
	if s.IsZero() {
		return time.Time{}
	}
	return instant(s, w.loc, t)
}

// wallClock is t's wall-clock reading in loc, written as a UTC time. Windows are spans of wall
// clock: stepping a cron schedule over such times never meets a DST change, and a duration added
// to one is wall-clock time ("Friday 16:00 plus 64h" is Monday 08:00, even when a DST change in
// between makes that 63 or 65 real hours).
func wallClock(t time.Time, loc *time.Location) time.Time {
	y, mo, d := t.In(loc).Date()
	h, mi, s := t.In(loc).Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// instant is the first instant not before notBefore whose wall clock in loc reads wall or later.
// A wall time skipped by a spring-forward change (02:30 in Berlin on the last Sunday of March)
// maps to the instant the clock jumps (03:00 CEST); a wall time that occurs twice when clocks go
// back maps to its first occurrence not before notBefore.
func instant(wall time.Time, loc *time.Location, notBefore time.Time) time.Time {
	c := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
	if got := wallClock(c, loc); !got.Equal(wall) {
		// In a gap, which time.Date resolves to either side of it depending on the zone: the
		// jump is where c's zone period starts (c after the gap) or ends (c before it).
		start, end := c.ZoneBounds()
		if got.After(wall) && !start.IsZero() {
			c = start
		} else if got.Before(wall) && !end.IsZero() {
			c = end
		}
	}
	if c.Before(notBefore) {
		// The earlier of two occurrences is past; take the later one, if there is one.
		_, off := notBefore.In(loc).Zone()
		later := wall.Add(-time.Duration(off) * time.Second)
		if wallClock(later, loc).Equal(wall) && !later.Before(notBefore) {
			return later.In(loc)
		}
		return notBefore
	}
	return c
}
