package controller

import (
	"context"
	"fmt"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// StatusPause is the commit status on an environment branch's head while automatic promotion
// into the environment is paused (pending, with who, when and why), and after it resumed
// (success).
const StatusPause = "stagegate/pause"

// pauses reads the pipeline's pauses from the repository, by environment name.
func (c *Controller) pauses(ctx context.Context) (map[string]*gitsource.Pause, error) {
	prefix := c.Pipeline.Metadata.Name + "/"
	found, err := c.Mirror.Paused(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*gitsource.Pause, len(found))
	for name, p := range found {
		out[name[len(prefix):]] = &p
	}
	return out, nil
}

// held ends the cycle of a paused environment that has no promotion request open: while it is
// paused, no new one is opened. An open one is still brought up to date, marked paused, and not
// merged (see propose, report, merge).
func (c *Controller) held(_ context.Context, p *promotion) error {
	if p.pause == nil {
		return nil
	}
	if p.request == nil {
		c.log().Info("not opening a promotion request: automatic promotion is paused", "env", p.to.Name, "by", p.pause.By, "reason", p.pause.Reason)
		p.done = true
		return nil
	}
	p.held, p.heldState = "paused: "+pauseLine(p.to.Name, p.pause), gitsource.StatusPending
	return nil
}

// pauseLine is what the pause says in one line: "automatic promotion into staging is paused
// since 2026-11-23 14:00 UTC by alice: rollback of staging to 1a2b3c4".
func pauseLine(env string, p *gitsource.Pause) string {
	s := "automatic promotion into " + env + " is paused"
	if !p.At.IsZero() {
		s += " since " + p.At.UTC().Format("2006-01-02 15:04 MST")
	}
	if p.By != "" {
		s += " by " + p.By
	}
	if p.Reason != "" {
		s += ": " + p.Reason
	}
	return s
}

// pauseBanner is the line at the top of the bodies of requests into a paused environment.
func pauseBanner(env string, p *gitsource.Pause, resume string) string {
	return fmt.Sprintf("> ⏸️ **Paused:** %s. `%s` resumes it.\n\n", mdText(pauseLine(env, p)), resume)
}

func (c *Controller) resumeCommand(env string) string {
	cfg := c.ConfigFile
	if cfg == "" {
		cfg = "stagegate.yaml"
	}
	return fmt.Sprintf("stagegate resume --config %s --pipeline %s --env %s", cfg, c.Pipeline.Metadata.Name, env)
}

// pauseStatus shows the pause on the environment branch's head: a pending stagegate/pause
// status saying who paused, when and why. Only paused environments are read, so the common
// cycle costs no request.
func (c *Controller) pauseStatus(ctx context.Context, env, head string, p *gitsource.Pause) error {
	want := gitsource.Status{Kind: gitsource.CommitStatus, Context: StatusPause, State: gitsource.StatusPending,
		Description: oneLine(pauseLine(env, p)), TargetURL: c.envURL(env)}
	return c.postStatus(ctx, head, want, false)
}

// Resume ends the pause of env: automatic promotion into it flows again from the next cycle.
// The environment branch's head gets a successful stagegate/pause status saying who resumed
// it. ok is false when env was not paused.
func (c *Controller) Resume(ctx context.Context, env, by string) (pause gitsource.Pause, ok bool, err error) {
	e, err := c.Pipeline.LookupEnv(env)
	if err != nil {
		return pause, false, err
	}
	pause, ok, err = c.Mirror.Resume(ctx, gitsource.PauseName(c.Pipeline.Metadata.Name, env))
	if err != nil || !ok {
		return pause, ok, err
	}
	heads, err := c.Mirror.Sync(ctx, []string{e.Branch})
	if err != nil {
		return pause, true, err
	}
	s := gitsource.Status{Kind: gitsource.CommitStatus, Context: StatusPause, State: gitsource.StatusSuccess,
		Description: oneLine(fmt.Sprintf("automatic promotion into %s resumed by %s at %s", env, by, c.now().UTC().Format("2006-01-02 15:04 MST"))),
		TargetURL:   c.envURL(env)}
	if err := c.Forge.SetStatus(ctx, heads[e.Branch], s); err != nil {
		return pause, true, fmt.Errorf("resumed, but the %s status on %s: %w", StatusPause, e.Branch, err)
	}
	c.log().Info("resumed", "env", env, "by", by)
	return pause, true, nil
}

// PauseNotice says, for the status page, whether automatic promotion into env was paused when
// the last cycle looked, and how to resume it; "" when it was not.
func (c *Controller) PauseNotice(env string) string {
	c.mu.Lock()
	p := c.paused[env]
	c.mu.Unlock()
	if p == nil {
		return ""
	}
	return pauseLine(env, p) + "; `" + c.resumeCommand(env) + "` resumes it"
}
