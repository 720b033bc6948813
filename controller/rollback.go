package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

// RollbackBranch is the branch that carries the rollback of env.
func RollbackBranch(env string) string { return "stagegate/rollback/" + env }

// Trailers of rollback commits, besides Stagegate-Source (the environment's own branch at the
// state rolled back to: its tree is that commit's) and Stagegate-Rendered.
const (
	// TrailerRollbackTo is the full sha of the earlier state the environment returns to.
	TrailerRollbackTo = "Stagegate-Rollback-To"
	// TrailerRollsBack is the full sha of the environment's head that the rollback undoes.
	TrailerRollsBack = "Stagegate-Rolls-Back"
)

// maxRollbackHistory bounds the first-parent history a rollback looks its target up in.
const maxRollbackHistory = 1000

// RollbackPlan is what rolling an environment back to an earlier state of its branch would do.
type RollbackPlan struct {
	Pipeline string `json:"pipeline"`
	Env      string `json:"env"`
	// Target is the environment branch and the head the rollback undoes.
	Target Branch `json:"target"`
	// To is the earlier state: a commit on the branch's first-parent history.
	To gitsource.Commit `json:"to"`
	// Undone are the first-parent commits after To up to the head, newest first.
	Undone         []gitsource.Commit `json:"undone"`
	CurrentDigest  string             `json:"currentDigest"`
	ProposedDigest string             `json:"proposedDigest"`
	Changes        []render.Change    `json:"changes"`
	// Proposed is the environment rendered from To's tree: what the rollback gates judge.
	Proposed render.Objects `json:"-"`
}

// RollbackTitle is the rollback request's title: "Roll back staging to 1a2b3c4".
func RollbackTitle(p RollbackPlan) string {
	return fmt.Sprintf("Roll back %s to %s", p.Env, gitsource.Short(p.To.SHA))
}

// Rolled is what Rollback did.
type Rolled struct {
	Plan RollbackPlan `json:"plan"`
	// SHA is the rollback commit, on Branch.
	SHA     string            `json:"sha"`
	Branch  string            `json:"branch"`
	Request gitsource.Request `json:"request"`
	Pause   gitsource.Pause   `json:"pause"`
}

// Rollback rolls env back to the earlier state rev names: it writes the rollback commit (parent
// the environment's head, tree rev's, trailers saying what it rolls back), puts it on
// RollbackBranch(env) with a lease, pauses automatic promotion into env, and opens (or updates)
// the rollback request. The agent's cycles gate the request with the environment's rollback
// gates and merge it when rollback.auto allows.
//
// rev is a commit on the environment branch's first-parent history (a full or short sha),
// HEAD~N (N commits back on that history), a source commit promoted into the environment (its
// Stagegate-Source sha: the state right after that promotion), or #N, a merged request into the
// environment (the state right after its merge). by names who asks, for the pause.
func (c *Controller) Rollback(ctx context.Context, env, rev, by string) (Rolled, error) {
	e, err := c.Pipeline.LookupEnv(env)
	if err != nil {
		return Rolled{}, err
	}
	if c.Pipeline.Spec.Environments[0].Name == env {
		return Rolled{}, fmt.Errorf("%s is the first environment, which changes by ordinary pull requests: revert there", env)
	}
	branch := RollbackBranch(env)
	heads, err := c.Mirror.Sync(ctx, []string{e.Branch})
	if err != nil {
		return Rolled{}, err
	}
	current, err := c.Mirror.SyncOptional(ctx, []string{branch})
	if err != nil {
		return Rolled{}, err
	}
	head := heads[e.Branch]
	history, err := firstParents(c.Mirror, head, maxRollbackHistory)
	if err != nil {
		return Rolled{}, err
	}
	if n, ok := strings.CutPrefix(strings.TrimSpace(rev), "#"); ok {
		if rev, err = c.requestState(ctx, *e, n); err != nil {
			return Rolled{}, err
		}
	}
	i, err := ResolveRollback(rev, e.Branch, history)
	if err != nil {
		return Rolled{}, err
	}
	plan, err := planRollback(ctx, c.Mirror, *e, history, i)
	if err != nil {
		return Rolled{}, err
	}
	plan.Pipeline = c.Pipeline.Metadata.Name
	out := Rolled{Plan: plan, Branch: branch}
	if out.SHA, err = c.writeRollback(ctx, *e, plan); err != nil {
		return out, err
	}
	if current[branch] != out.SHA {
		if err := c.Mirror.Push(ctx, branch, out.SHA, current[branch]); err != nil {
			return out, err
		}
	}
	// Pause before the request is opened: from the moment a rollback is asked for, nothing is
	// promoted over it.
	out.Pause, err = c.Mirror.Pause(ctx, gitsource.Pause{
		Name: gitsource.PauseName(c.Pipeline.Metadata.Name, env), By: by, At: c.now(),
		Reason: fmt.Sprintf("rollback of %s to %s (%s)", env, gitsource.Short(plan.To.SHA), branch),
	})
	if err != nil {
		return out, err
	}
	p := c.rollbackPromotion(*e, plan, out.SHA, &out.Pause)
	open, err := c.Forge.Requests(ctx, branch, e.Branch, gitsource.RequestOpen)
	if err != nil {
		return out, err
	}
	if len(open) > 0 {
		p.request = &open[0]
	} else {
		title, body := c.rollbackTitleBody(p, plan, &out.Pause)
		r, err := c.Forge.OpenRequest(ctx, gitsource.NewRequest{Head: branch, Base: e.Branch, Title: title, Body: body, Labels: requestLabels})
		if err != nil {
			return out, err
		}
		p.request = &r
	}
	p.facts.Request = p.request
	title, body := c.rollbackTitleBody(p, plan, &out.Pause)
	if p.request.Title != title || p.request.Body != body {
		if err := c.Forge.EditRequest(ctx, p.request.Number, title, body); err != nil {
			return out, err
		}
		p.request.Title, p.request.Body = title, body
	}
	out.Request = *p.request
	if err := c.pauseStatus(ctx, env, head, &out.Pause); err != nil {
		return out, err
	}
	c.log().Info("rollback requested", "env", env, "sha", out.SHA, "to", plan.To.SHA, "pr", out.Request.Number)
	return out, nil
}

// requestState is the state of env right after request number n merged into it.
func (c *Controller) requestState(ctx context.Context, env config.Environment, n string) (string, error) {
	num, err := strconv.Atoi(n)
	if err != nil || num <= 0 {
		return "", fmt.Errorf("--to #%s: a request number is # and digits, like #12", n)
	}
	r, err := c.Forge.Request(ctx, num)
	if err != nil {
		return "", err
	}
	if !r.Merged || r.Base != env.Branch || r.MergeSHA == "" {
		return "", fmt.Errorf("--to #%d: request #%d did not merge into %s; name a merged promotion into %s, or a commit of its branch", num, num, env.Branch, env.Name)
	}
	return r.MergeSHA, nil
}

// ResolveRollback finds the state rev names in an environment branch's first-parent history
// (newest first: history[0] is the head) and returns its index. rev is HEAD~N or ~N, a full or
// short sha (at least 4 hex digits) of one of those commits, or the sha of a source commit that
// one of them promoted (its Stagegate-Source trailer), which names the newest such commit.
func ResolveRollback(rev, branch string, history []gitsource.Commit) (int, error) {
	rev = strings.ToLower(strings.TrimSpace(rev))
	if len(history) == 0 {
		return 0, fmt.Errorf("%s has no history to roll back", branch)
	}
	hint := fmt.Sprintf("name a commit of `git log --first-parent %s`, HEAD~N, or a merged request #N", branch)
	already := func(what string) error {
		return fmt.Errorf("%s is %s's head already: nothing to roll back; %s", what, branch, hint)
	}
	if n, ok := strings.CutPrefix(strings.TrimPrefix(rev, "head"), "~"); ok {
		steps, err := strconv.Atoi(n)
		switch {
		case n == "":
			steps = 1
		case err != nil || steps < 0:
			return 0, fmt.Errorf("--to %s: want HEAD~N with N a number of commits back", rev)
		}
		if steps == 0 {
			return 0, already(rev)
		}
		if steps >= len(history) {
			return 0, fmt.Errorf("--to %s: %s has only %d commits on its first-parent history (of those looked at)", rev, branch, len(history))
		}
		return steps, nil
	}
	if rev == "head" || rev == "@" {
		return 0, already(rev)
	}
	if len(rev) < 4 || len(rev) > 40 || strings.Trim(rev, "0123456789abcdef") != "" {
		return 0, fmt.Errorf("--to %q: not a commit; %s", rev, hint)
	}
	hits := []int{}
	for i, c := range history {
		if strings.HasPrefix(c.SHA, rev) {
			hits = append(hits, i)
		}
	}
	if len(hits) > 1 {
		return 0, fmt.Errorf("--to %s: several commits of %s start so; give more digits", rev, branch)
	}
	if len(hits) == 1 {
		if hits[0] == 0 {
			return 0, already(gitsource.Short(history[0].SHA))
		}
		return hits[0], nil
	}
	for i, c := range history {
		if _, sha, ok, err := gitsource.Source(c.Message); ok && err == nil && strings.HasPrefix(sha, rev) {
			if i == 0 {
				return 0, already("the promotion of " + rev)
			}
			return i, nil
		}
	}
	return 0, fmt.Errorf("--to %s: not on %s's first-parent history (the last %d commits), nor promoted by one of them; %s", rev, branch, len(history), hint)
}

// firstParents is head and its first parents, newest first, at most limit commits.
func firstParents(m *gitsource.Mirror, head string, limit int) ([]gitsource.Commit, error) {
	var out []gitsource.Commit
	for sha := head; sha != "" && len(out) < limit; {
		c, err := m.Commit(sha)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		sha = ""
		if len(c.Parents) > 0 {
			sha = c.Parents[0]
		}
	}
	return out, nil
}

// planRollback renders env at its head (history[0]) and at history[to], and compares them.
func planRollback(ctx context.Context, m *gitsource.Mirror, env config.Environment, history []gitsource.Commit, to int) (RollbackPlan, error) {
	head := history[0]
	plan := RollbackPlan{Env: env.Name, Target: Branch{env.Branch, head.SHA}, To: history[to], Undone: history[:to], Changes: []render.Change{}}
	tgt, err := m.Tree(head.SHA)
	if err != nil {
		return plan, err
	}
	src, err := m.Tree(plan.To.SHA)
	if err != nil {
		return plan, err
	}
	if tgt.Hash() == src.Hash() {
		return plan, fmt.Errorf("%s has the same tree as %s's head: nothing to roll back", gitsource.Short(plan.To.SHA), env.Branch)
	}
	current, err := renderTree(ctx, m, head.SHA, env)
	if err != nil {
		return plan, fmt.Errorf("current %s: %w", env.Name, err)
	}
	proposed, err := renderTree(ctx, m, plan.To.SHA, env)
	if err != nil {
		return plan, fmt.Errorf("%s at %s: %w", env.Name, gitsource.Short(plan.To.SHA), err)
	}
	plan.Proposed = proposed
	plan.CurrentDigest, plan.ProposedDigest = current.Digest(), proposed.Digest()
	if plan.CurrentDigest == plan.ProposedDigest {
		return plan, fmt.Errorf("rolling %s back to %s changes none of its rendered objects: nothing to roll back", env.Name, gitsource.Short(plan.To.SHA))
	}
	plan.Changes = render.Diff(current, proposed)
	return plan, nil
}

// writeRollback writes the rollback commit: deterministic, like a promotion commit, so asking
// twice for the same rollback writes the same commit.
func (c *Controller) writeRollback(ctx context.Context, env config.Environment, plan RollbackPlan) (string, error) {
	var body strings.Builder
	body.WriteString("Rolls back:\n")
	for _, cm := range plan.Undone {
		fmt.Fprintf(&body, "%s %s\n", gitsource.Short(cm.SHA), cm.Subject)
	}
	return c.Mirror.WritePromotion(ctx, gitsource.Promotion{
		Target: env.Branch, ParentSHA: plan.Target.SHA,
		SourceBranch: env.Branch, SourceSHA: plan.To.SHA,
		Subject: RollbackTitle(plan), Body: body.String(),
		Trailers: rollbackCommitTrailers(plan),
	})
}

// rollbackCommitTrailers are the trailers of the rollback commit (WritePromotion puts
// Stagegate-Source first).
func rollbackCommitTrailers(plan RollbackPlan) []gitsource.Trailer {
	return []gitsource.Trailer{
		{Key: TrailerRollbackTo, Value: plan.To.SHA},
		{Key: TrailerRollsBack, Value: plan.Target.SHA},
		{Key: gitsource.TrailerRendered, Value: plan.ProposedDigest},
	}
}

// rollbackPromotion is the promotion value the shared steps (ask, report, mergeTrailers) take
// for a rollback: the environment as its rollbacks are gated, its own branch as the source. Its
// pause is left out: it holds promotions, not the rollback; who paused counts as the change's
// author, so they cannot approve their own rollback.
func (c *Controller) rollbackPromotion(env config.Environment, plan RollbackPlan, sha string, pause *gitsource.Pause) *promotion {
	p := &promotion{
		from: env, to: gates.RollbackEnv(env), branch: RollbackBranch(env.Name), sha: sha,
		plan: Promotion{
			Pipeline: c.Pipeline.Metadata.Name, From: env.Name, To: env.Name,
			Source: Branch{env.Branch, plan.To.SHA}, Target: plan.Target, Action: Promote,
			CurrentDigest: plan.CurrentDigest, ProposedDigest: plan.ProposedDigest, Changes: plan.Changes, Proposed: plan.Proposed,
		},
	}
	p.facts = gates.ForgeFacts{
		SourceBranch: env.Branch, SourceSHA: plan.To.SHA, TargetBranch: env.Branch, TargetSHA: plan.Target.SHA, PromotionSHA: sha,
	}
	if pause != nil && pause.By != "" {
		p.facts.Authors = append(p.facts.Authors, pause.By)
	}
	return p
}

// rollbackTrailers record what a rollback's merge rolled back and why it was allowed to merge.
func (c *Controller) rollbackTrailers(p *promotion, plan RollbackPlan) []gitsource.Trailer {
	t := c.mergeTrailers(p)
	// After Stagegate-Source: what is rolled back, then the rest as promotions have it.
	return append(t[:1:1], append([]gitsource.Trailer{
		{Key: TrailerRollbackTo, Value: plan.To.SHA},
		{Key: TrailerRollsBack, Value: plan.Target.SHA},
	}, t[1:]...)...)
}

// rollbacks runs the cycle of every environment's open rollback request: gate it with the
// environment's rollback gates, report, and merge when rollback.auto allows. merged says whether
// an environment branch moved.
func (c *Controller) rollbacks(ctx context.Context, heads gitsource.Heads, pauses map[string]*gitsource.Pause) (merged bool, errs []error) {
	for _, env := range c.Pipeline.Spec.Environments[1:] {
		sha := heads[RollbackBranch(env.Name)]
		if sha == "" {
			continue
		}
		// A rollback merged with a merge commit stays on its branch (unless the forge deletes
		// merged branches): it is in the environment's history, and there is no request to read.
		if rest, err := c.Mirror.Log(ctx, sha, heads[env.Branch], 1); err == nil && len(rest) == 0 {
			continue
		}
		m, err := c.rollbackEnv(ctx, env, heads, pauses[env.Name])
		if err != nil {
			errs = append(errs, fmt.Errorf("rollback of %s: %w", env.Name, err))
		}
		merged = merged || m
	}
	return merged, errs
}

func (c *Controller) rollbackEnv(ctx context.Context, env config.Environment, heads gitsource.Heads, pause *gitsource.Pause) (bool, error) {
	branch, sha := RollbackBranch(env.Name), heads[RollbackBranch(env.Name)]
	open, err := c.Forge.Requests(ctx, branch, env.Branch, gitsource.RequestOpen)
	if err != nil || len(open) == 0 {
		return false, err
	}
	log := c.log().With("env", env.Name, "sha", sha, "pr", open[0].Number)
	cm, err := c.Mirror.Commit(sha)
	if err != nil {
		return false, err
	}
	var to, rolled string
	for _, t := range gitsource.Trailers(cm.Message) {
		switch t.Key {
		case TrailerRollbackTo:
			to = t.Value
		case TrailerRollsBack:
			rolled = t.Value
		}
	}
	if to == "" || rolled == "" {
		return false, fmt.Errorf("the head of %s, %s, has no %s and %s trailers: it was not written by stagegate rollback; run it again", branch, gitsource.Short(sha), TrailerRollbackTo, TrailerRollsBack)
	}
	history, err := firstParents(c.Mirror, rolled, maxRollbackHistory)
	if err != nil {
		return false, err
	}
	i := len(history)
	for j, h := range history {
		if h.SHA == to {
			i = j
			break
		}
	}
	if i == len(history) {
		// Not on the first-parent history (written by hand): roll back to it all the same, and
		// list no commits as undone.
		toCommit, err := c.Mirror.Commit(to)
		if err != nil {
			return false, err
		}
		history, i = append(history[:1:1], toCommit), 1
	}
	plan, err := planRollback(ctx, c.Mirror, env, history, i)
	if err != nil {
		return false, err
	}
	plan.Pipeline = c.Pipeline.Metadata.Name
	p := c.rollbackPromotion(env, plan, sha, pause)
	p.request = &open[0]
	p.facts.Request = p.request
	if login := p.request.Author; login != "" {
		p.facts.Authors = append(p.facts.Authors, login)
	}
	if p.reviews, err = c.Forge.Reviews(ctx, p.request.Number); err != nil {
		return false, err
	}
	p.facts.Reviews = p.reviews
	set, err := gates.ForRollback(env)
	if err != nil {
		return false, err
	}
	if slices.Contains(set.Gates(), "checks") {
		// What CI says about the rollback: the statuses on the request's head, the rollback
		// commit, other than stagegate's own; a missing one's timeout counts from the request.
		checks, err := c.Forge.Statuses(ctx, sha)
		if err != nil {
			return false, err
		}
		for _, s := range checks {
			if s.Context != StatusOverall && !strings.HasPrefix(s.Context, StatusContextPrefix) {
				p.facts.SourceChecks = append(p.facts.SourceChecks, s)
			}
		}
		p.facts.SourceArrived = p.request.Created
	}
	if err := c.askFor(ctx, p, set.Gates()); err != nil {
		return false, err
	}
	input := gates.Input{
		Pipeline: c.Pipeline.Metadata.Name, Env: p.to, Objects: plan.Proposed,
		KubernetesVersion: kubernetesVersion(p.to), Now: c.now(), Forge: &p.facts, Cluster: p.cluster,
	}
	p.report = gates.NewReport(input, set, set.Evaluate(input))
	p.report.Revision = sha
	c.Metrics.gated(c.Pipeline.Metadata.Name, env.Name, p.report)
	moved := heads[env.Branch] != rolled
	if moved {
		p.held, p.heldState = fmt.Sprintf("%s moved since this rollback was written; run stagegate rollback again", env.Branch), gitsource.StatusFailure
	}
	title, body := c.rollbackTitleBody(p, plan, pause)
	if p.request.Title != title || p.request.Body != body {
		if err := c.Forge.EditRequest(ctx, p.request.Number, title, body); err != nil {
			return false, err
		}
	}
	if err := c.report(ctx, p); err != nil {
		return false, err
	}
	if !p.to.Promote.Auto || p.report.Verdict != gates.Pass || moved {
		return false, nil
	}
	remote, err := c.Mirror.Probe(ctx)
	if err != nil {
		return false, err
	}
	if remote[env.Branch] != rolled {
		log.Info("rollback not merged: the environment branch moved since it was gated; the next cycle sees it")
		return false, nil
	}
	mtitle := fmt.Sprintf("%s (#%d)", title, p.request.Number)
	msg, err := gitsource.FormatMessage(mtitle, "rollback "+branch+" → "+env.Branch, c.rollbackTrailers(p, plan))
	if err != nil {
		return false, err
	}
	_, mbody, _ := strings.Cut(msg, "\n\n")
	merge, err := c.Forge.Merge(ctx, p.request.Number, gitsource.MergeOptions{SHA: sha, Method: gitsource.MergeMethod(p.to.Promote.MergeMethod), Title: mtitle, Message: mbody})
	var headMoved *gitsource.HeadMovedError
	if errors.As(err, &headMoved) {
		log.Info("rollback not merged: its branch moved since it was gated; the next cycle gates the new head")
		return false, nil
	}
	if err != nil {
		return false, err
	}
	log.Info("rollback merged", "merge", merge)
	c.Metrics.rolledBack(c.Pipeline.Metadata.Name, env.Name)
	return true, nil
}

// rollbackTitleBody is the rollback request's title and body.
func (c *Controller) rollbackTitleBody(p *promotion, plan RollbackPlan, pause *gitsource.Pause) (string, string) {
	return RollbackTitle(plan), RollbackBody(RollbackProposal{
		Plan: plan, Gates: p.report, SHA: p.sha, Pause: pause, ResumeCommand: c.resumeCommand(plan.Env),
		CommitURL: c.CommitURL, Trailers: c.rollbackTrailers(p, plan),
	})
}

// RollbackProposal is everything a rollback request shows.
type RollbackProposal struct {
	Plan RollbackPlan
	// Gates is the report of the rollback gates; empty until the agent ran them.
	Gates gates.Report
	// SHA is the rollback commit.
	SHA string
	// Pause is the environment's pause, nil when it was resumed.
	Pause         *gitsource.Pause
	ResumeCommand string
	CommitURL     func(sha string) string
	// Trailers end the body, for a merge made by a person.
	Trailers []gitsource.Trailer
}

// RollbackBody writes the rollback request's body, within GitHub's limit: what is rolled back
// (the commits undone and the rendered diff from the current state to the earlier one), the
// rollback gates, that promotion is paused and how to resume it, and the trailers.
func RollbackBody(r RollbackProposal) string {
	plan := r.Plan
	var head, tail strings.Builder
	if r.Pause != nil {
		head.WriteString(pauseBanner(plan.Env, r.Pause, r.ResumeCommand))
	}
	fmt.Fprintf(&head, "## Roll back %s to `%s`\n\n", plan.Env, gitsource.Short(plan.To.SHA))
	fmt.Fprintf(&head, "This returns `%s` from `%s` to the state of `%s` (%s), undoing %d commit%s: %d object%s change.",
		plan.Target.Name, gitsource.Short(plan.Target.SHA), gitsource.Short(plan.To.SHA), mdText(plan.To.Subject),
		len(plan.Undone), plural(len(plan.Undone)), len(plan.Changes), plural(len(plan.Changes)))
	if len(r.Gates.Results) > 0 || r.Gates.Verdict != "" {
		fmt.Fprintf(&head, " Rollback gates: %s %s.\n\n", outcomeIcon(r.Gates.Verdict), r.Gates.Verdict)
		_ = r.Gates.WriteMarkdownTable(&head)
		head.WriteString("\n")
	} else {
		head.WriteString(" The agent runs the rollback gates on its next cycle.\n\n")
	}
	head.WriteString("Automatic promotion into " + plan.Env + " stays paused after this merges, until `" + r.ResumeCommand + "`.\n\n")
	head.WriteString("### Commits rolled back\n\n")
	if len(plan.Undone) == 0 {
		head.WriteString("None listed: the state rolled back to is not on the branch's first-parent history.\n\n")
	} else {
		writeCommitList(&head, Proposal{CommitURL: r.CommitURL}, plan.Undone)
		head.WriteString("\n")
	}
	writeChangeTable(&head, plan.Changes)

	tail.WriteString("### Provenance\n\n| | |\n|---|---|\n")
	fmt.Fprintf(&tail, "| rolls back | `%s@%s` |\n", plan.Target.Name, plan.Target.SHA)
	fmt.Fprintf(&tail, "| rolls back to | `%s` |\n", plan.To.SHA)
	if r.SHA != "" {
		fmt.Fprintf(&tail, "| rollback commit | `%s` |\n", r.SHA)
	}
	fmt.Fprintf(&tail, "| rendered digest | `%s` (now `%s`) |\n", plan.ProposedDigest, plan.CurrentDigest)
	end := trailerBlock(r.Trailers)

	room := MaxBodyLength - head.Len() - tail.Len() - len(end) - reserve
	var diffs strings.Builder
	shown := 0
	for _, ch := range plan.Changes {
		if block := diffBlock(ch); len(block) <= room {
			diffs.WriteString(block)
			room -= len(block)
			shown++
		}
	}
	body := head.String() + "### Rendered diff (current → rolled back)\n\n" + diffs.String()
	if shown < len(plan.Changes) {
		body += fmt.Sprintf("\n> %d of %d object diffs are shown: the rest would pass GitHub's %d-character limit.\n\n", shown, len(plan.Changes), MaxBodyLength)
	}
	body += tail.String() + end
	if len(body) > MaxBodyLength {
		// Even the object table does not fit (thousands of objects): cut at a line boundary and
		// keep the trailers, so a person's merge still records the rollback.
		const cutNote = "\n> This description was cut at GitHub's limit.\n\n"
		cut := MaxBodyLength - len(end) - len(cutNote)
		if i := strings.LastIndexByte(body[:cut], '\n'); i >= 0 {
			cut = i + 1
		}
		body = body[:cut] + cutNote + end
	}
	return body
}
