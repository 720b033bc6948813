package config

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	// Time zones are read from the binary's own copy of the IANA database, so a window is
	// validated and evaluated the same way on every machine, with or without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// The options of the gates that judge a promotion rather than its objects: approvals, checks,
// window, soak, lineage and signature. They read facts the agent gathers from Git and the forge (reviews,
// commit statuses, deploy times, the target branch's history); docs/gates.md describes them.

// ApprovalsGate requires approving reviews of the promotion request.
type ApprovalsGate struct {
	GateCommon `json:",inline"`
	// Count is the number of approving reviews required. Default: the environment's
	// promote.approvals. When both are set the larger applies, so neither can lower the other.
	// The gate runs without an approvals key whenever promote.approvals is above 0.
	Count *int `json:"count,omitempty"`
	// Users whose approvals count, by login. Default: with teams also empty, anyone whose
	// review the forge accepts (on GitHub, anyone with write access).
	Users []string `json:"users,omitempty"`
	// Teams whose members' approvals count, as "org/team-slug". Default: none (see users).
	Teams []string `json:"teams,omitempty"`
}

// ChecksGate requires commit statuses and check runs on the source commit to be green.
type ChecksGate struct {
	GateCommon `json:",inline"`
	// Required contexts: a status's context or a check run's name ("ci/build"), or a glob in
	// path.Match syntax ("scan/*") that at least one context must match and every matching
	// context must satisfy. Required: at least one.
	Required []string `json:"required"`
	// Timeout is how long after the source commit reached its branch a required context may
	// still be missing; after that it fails. Default 0: a missing context waits for ever.
	Timeout Duration `json:"timeout,omitzero"`
}

// WindowGate lets promotions merge only at certain times.
type WindowGate struct {
	GateCommon `json:",inline"`
	// Allow windows: when any is set, the time must be inside at least one. Default: always allowed.
	Allow []Window `json:"allow,omitempty"`
	// Deny windows (freezes): the time must be outside every one. Default: none.
	Deny []Window `json:"deny,omitempty"`
}

// Window is a span of local wall-clock time that opens on a cron schedule.
type Window struct {
	// Schedule is when the window opens: five cron fields (minute hour day-of-month month
	// day-of-week) or a descriptor such as @daily, read in TimeZone. Required. @every and
	// CRON_TZ= are refused: a window opens at a time of day, in TimeZone.
	Schedule string `json:"schedule"`
	// Duration is how long the window stays open, in wall-clock time of TimeZone: a 64h freeze
	// from Friday 16:00 ends Monday 08:00 local, across a DST change too. Required, above 0.
	Duration Duration `json:"duration"`
	// TimeZone is an IANA zone name ("Europe/Berlin"). Default UTC.
	TimeZone string `json:"timeZone,omitempty"`
}

// Location returns the window's time zone (UTC when unset); validation has checked the name.
func (w Window) Location() (*time.Location, error) {
	switch w.TimeZone {
	case "":
		return time.UTC, nil
	case "Local":
		// The machine's zone would make the same file mean different times on different hosts.
		return nil, fmt.Errorf("Local is the machine's zone; name the zone")
	}
	return time.LoadLocation(w.TimeZone)
}

// ParseWindowSchedule parses a window's schedule, with the rules validation applies: five cron
// fields or a descriptor, no @every and no CRON_TZ= (the window's timeZone says where).
func ParseWindowSchedule(s string) (*cron.SpecSchedule, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "CRON_TZ=") || strings.HasPrefix(t, "TZ=") {
		return nil, fmt.Errorf("write the zone in timeZone, not in the schedule")
	}
	if strings.HasPrefix(t, "@every") {
		return nil, fmt.Errorf("@every is an interval, not a time of day; use five fields like \"0 16 * * FRI\" or @daily")
	}
	sch, err := ParseSchedule(t)
	if err != nil {
		return nil, err
	}
	spec, ok := sch.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("not a time-of-day schedule")
	}
	return spec, nil
}

// SoakGate requires the source environment to have run the promoted commit for a while.
type SoakGate struct {
	GateCommon `json:",inline"`
	// Duration the source environment must have run the exact source commit: since its
	// stagegate/deploy success status when it has a cluster, otherwise since the commit reached
	// its branch. Default 0: the commit only has to be deployed (or on the branch).
	Duration Duration `json:"duration,omitzero"`
}

// LineageGate refuses a promotion that would revert changes made on the target branch alone
// (hotfixes). It runs on every environment that is promoted into, unless disabled.
type LineageGate struct {
	GateCommon `json:",inline"`
	// Disabled turns the gate off. Default false.
	Disabled bool `json:"disabled,omitempty"`
}

// SignatureGate requires the commits being promoted to be signed by known keys. Paths are
// relative to the config file's directory; the files are read and checked when the config loads.
type SignatureGate struct {
	GateCommon `json:",inline"`
	// Keyring is an OpenPGP keyring file: public keys, armored (gpg --export --armor) or binary.
	// Default: none. At least one of keyring and allowedSigners is required.
	Keyring string `json:"keyring,omitempty"`
	// AllowedSigners is an SSH allowed signers file, as git's gpg.ssh.allowedSignersFile takes it
	// ("principals [namespaces=\"git\"] key-type base64-key" lines). Default: none.
	AllowedSigners string `json:"allowedSigners,omitempty"`
}

// validateForge checks the options of the forge gates; path is the gates block's path.
func (g Gates) validateForge(path string, severity func(gate string, c GateCommon)) []error {
	var errs []error
	add := func(p, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(format, args...)))
	}
	if a := g.Approvals; a != nil {
		severity("approvals", a.GateCommon)
		if a.Count != nil && *a.Count < 0 {
			add(path+".approvals.count", "want 0 or more, got %d", *a.Count)
		}
		for i, u := range a.Users {
			if strings.TrimSpace(u) == "" || strings.ContainsAny(u, " /@") {
				add(fmt.Sprintf("%s.approvals.users[%d]", path, i), "want a login like \"alice\", got %q", u)
			}
		}
		for i, t := range a.Teams {
			org, slug, ok := strings.Cut(t, "/")
			if !ok || org == "" || slug == "" || strings.ContainsAny(slug, "/ ") {
				add(fmt.Sprintf("%s.approvals.teams[%d]", path, i), "want \"org/team-slug\", like \"acme/platform\", got %q", t)
			}
		}
	}
	if c := g.Checks; c != nil {
		severity("checks", c.GateCommon)
		if len(c.Required) == 0 {
			add(path+".checks.required", "want at least one context, like [ci/build, \"scan/*\"]")
		}
		for i, r := range c.Required {
			if strings.TrimSpace(r) == "" {
				add(fmt.Sprintf("%s.checks.required[%d]", path, i), "empty context name")
			} else if err := checkGlob(r); err != nil {
				add(fmt.Sprintf("%s.checks.required[%d]", path, i), "not a valid glob (%v); escape [ and * with \\", err)
			}
		}
		if c.Timeout.Duration < 0 {
			add(path+".checks.timeout", "want 0 (wait for ever) or more, got %s", c.Timeout.Duration)
		}
	}
	if w := g.Window; w != nil {
		severity("window", w.GateCommon)
		for _, l := range []struct {
			name string
			ws   []Window
		}{{"allow", w.Allow}, {"deny", w.Deny}} {
			for i, win := range l.ws {
				p := fmt.Sprintf("%s.window.%s[%d]", path, l.name, i)
				if win.Schedule == "" {
					add(p+".schedule", `required; when the window opens, like "0 16 * * FRI" or "@daily"`)
				} else if _, err := ParseWindowSchedule(win.Schedule); err != nil {
					add(p+".schedule", `not a window schedule (%v); use five fields (minute hour day-of-month month day-of-week) like "0 16 * * FRI", or a descriptor like "@daily"`, err)
				}
				if win.Duration.Duration <= 0 {
					add(p+".duration", "required; how long the window stays open, above 0, like \"2h\" or \"64h\"")
				}
				if _, err := win.Location(); err != nil {
					add(p+".timeZone", "unknown time zone %q; use an IANA name like \"Europe/Berlin\" or \"America/New_York\"", win.TimeZone)
				}
			}
		}
	}
	if s := g.Soak; s != nil {
		severity("soak", s.GateCommon)
		if s.Duration.Duration < 0 {
			add(path+".soak.duration", "want 0 or more, like \"30m\", got %s", s.Duration.Duration)
		}
	}
	if l := g.Lineage; l != nil {
		severity("lineage", l.GateCommon)
	}
	if sg := g.Signature; sg != nil {
		severity("signature", sg.GateCommon)
		if strings.TrimSpace(sg.Keyring) == "" && strings.TrimSpace(sg.AllowedSigners) == "" {
			add(path+".signature", "needs keyring (an OpenPGP keyring file), allowedSigners (an SSH allowed signers file) or both")
		}
	}
	return errs
}

// checkGlob reports a syntax error in a checks gate glob, which path.Match only reports when
// matching.
func checkGlob(pattern string) error {
	_, err := path.Match(pattern, "")
	return err
}
