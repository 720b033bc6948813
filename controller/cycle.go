package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// Labels every promotion request carries.
var requestLabels = []string{"stagegate"}

// PromoteBranch is the branch that carries the promotion into env.
func PromoteBranch(env string) string { return "stagegate/promote/" + env }

// Controller runs the promotion cycle of one pipeline against its repository and forge.
// State is derived each cycle from Git and the forge; the controller keeps none between cycles,
// so a restart, a crash mid-step or a second agent cannot open a second request or merge twice.
type Controller struct {
	Pipeline config.Pipeline
	Mirror   *gitsource.Mirror
	Forge    Forge
	// Gates holds each environment's compiled gates (gates.ForPipeline).
	Gates map[string]*gates.Set
	// PublicURL is where the agent's status page is reachable; statuses link to it when set.
	PublicURL string
	// ConfigRevision identifies the config (a digest of the file), recorded in request bodies.
	ConfigRevision string
	// ConfigFile is the config's path as the user passes it, for the commands bodies print.
	ConfigFile string
	// CommitURL links commits in request bodies ("" for none).
	CommitURL func(sha string) string
	// Clusters connects to environments' clusters: environments with a cluster are applied when
	// their branch moves, and the drift and dry-run gates ask them. Nil: no cluster is touched.
	Clusters ClusterFunc
	// Metrics records what the controller does and sees (docs/metrics.md); nil records nothing.
	Metrics *Metrics
	// Now is the clock the gates judge by. Default time.Now.
	Now func() time.Time
	// Getenv reads spec.signing.passphraseEnv. Default os.Getenv.
	Getenv func(string) string
	Log    *slog.Logger

	// settled remembers, per target environment, the last cycle that needed nothing more from
	// the forge. It only saves requests: losing it (a restart) costs one full cycle, never
	// correctness, because everything it stands for is read again from Git and the forge.
	mu      sync.Mutex
	settled map[string]settledKey
	reports map[string]gates.Report     // the last gate report per target environment
	applied map[string]string           // the head this agent last applied, per environment
	signing signing                     // keyrings and the promotion signing key (signature.go)
	paused  map[string]*gitsource.Pause // the pauses the last cycle read, for the status page
	seen    seen                        // what the status page shows (status.go)
	// observed keeps runtime facts between cycles (observe.go), by environment and gate.
	observed map[string]observation
	// posted holds the external gates' statuses this agent posted last, by environment and
	// context, so it does not read its own back as a service's verdict (observe.go).
	posted map[string]postedStatus
}

// LastReport returns the gate report of the environment's last evaluated promotion: what the
// statuses' links show.
func (c *Controller) LastReport(env string) (gates.Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.reports[env]
	return r, ok
}

// settledKey is what a settled environment's cycle saw; while all of it stays the same there is
// nothing new to gather, gate, post or merge.
type settledKey struct {
	source, target, promotion string
	request                   int
	requestHead               string
	requestUpdated            time.Time
	reviews                   string // the reviews, when the approvals gate reads them
	retryAt                   time.Time
	pause                     string // the pause commit, "" when not paused
}

// promotion is what the steps of one target environment's cycle pass along.
type promotion struct {
	from, to config.Environment
	heads    gitsource.Heads
	plan     Promotion
	branch   string // stagegate/promote/<to>
	request  *gitsource.Request
	sha      string // the promotion commit
	facts    gates.ForgeFacts
	cluster  *gates.ClusterFacts // what the target's cluster says, for the gates that ask it
	runtime  *gates.RuntimeFacts // what the running source shows, for the runtime gates
	// externalSeen are the external gates' statuses observe read on the promotion commit.
	externalSeen map[string]gitsource.Status
	reviews      []gitsource.Review // read by unchanged for the approvals gate; gather reuses them
	reviewed     bool
	input        gates.Input
	report       gates.Report
	done         bool // a step settled this environment for this cycle
	merged       bool // the agent merged it: the target branch moved
	// pause holds off automatic promotion into the target (nil: none); see pause.go.
	pause *gitsource.Pause
	// held, when set, replaces the overall status's description, with heldState as its state:
	// why the request cannot merge whatever its gates say.
	held      string
	heldState gitsource.StatusState
}

type step func(ctx context.Context, p *promotion) error

// namedStep is a step with the name its duration is recorded under (stagegate_step_duration_seconds).
type namedStep struct {
	name string
	run  step
}

// steps are a target environment's steps, in order.
func (c *Controller) steps() []namedStep {
	return []namedStep{
		{"plan", c.planStep}, {"settle", c.settle}, {"held", c.held}, {"unchanged", c.unchanged},
		{"commit", c.commit}, {"gather", c.gather}, {"ask", c.ask}, {"observe", c.observe}, {"gate", c.gate}, {"propose", c.propose},
		{"report", c.report}, {"merge", c.merge}, {"remember", c.remember},
	}
}

// Cycle runs one cycle: fetch, apply the environments whose branch moved (those with a
// cluster), then for each environment after the first: plan, settle (nothing to promote, or a
// request a person closed), commit, gather, gate, propose, report, merge; when it merged, fetch
// and apply again so the target runs the promotion without waiting for the next cycle.
// An environment's failure does not stop the next one; the errors are joined.
func (c *Controller) Cycle(ctx context.Context) (err error) {
	start := time.Now()
	defer func() { c.Metrics.cycle(c.Pipeline.Metadata.Name, time.Since(start)) }()
	defer func() { c.rememberCycle(err) }()
	c.Metrics.watch(c.Pipeline.Metadata.Name, c.Mirror, c.Forge)
	envs := c.Pipeline.Spec.Environments
	heads, err := c.fetch(ctx)
	if err != nil {
		return err
	}
	c.rememberHeads(heads)
	var errs []error
	if err := c.deployAll(ctx, heads); err != nil {
		errs = append(errs, err)
	}
	// A pause that cannot be read could be one that holds: promote nothing this cycle.
	pauses, err := c.pauses(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	c.mu.Lock()
	c.paused = pauses
	c.mu.Unlock()
	merged := false
	for i := 1; i < len(envs); i++ {
		p := &promotion{from: envs[i-1], to: envs[i], heads: heads, branch: PromoteBranch(envs[i].Name), pause: pauses[envs[i].Name]}
		failed := false
		for _, s := range c.steps() {
			start := time.Now()
			err := s.run(ctx, p)
			c.Metrics.step(c.Pipeline.Metadata.Name, s.name, time.Since(start))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s → %s: %w", p.from.Name, p.to.Name, err))
				failed = true
				break
			}
			if p.done {
				break
			}
		}
		if !failed {
			c.rememberRequest(p)
		}
		merged = merged || p.merged
	}
	rolledBack, rerrs := c.rollbacks(ctx, heads, pauses)
	errs = append(errs, rerrs...)
	merged = merged || rolledBack
	for _, e := range envs[1:] {
		if pause := pauses[e.Name]; pause != nil {
			if err := c.pauseStatus(ctx, e.Name, heads[e.Branch], pause); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", e.Name, err))
			}
		}
	}
	if merged && c.Clusters != nil {
		heads, err := c.fetch(ctx)
		if err != nil {
			errs = append(errs, err)
		} else {
			c.rememberHeads(heads)
			if err := c.deployAll(ctx, heads); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log.With("pipeline", c.Pipeline.Metadata.Name)
}

func (c *Controller) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// fetch brings the environment branches and the promotion branches into the mirror.
func (c *Controller) fetch(ctx context.Context) (gitsource.Heads, error) {
	heads, err := c.Mirror.Sync(ctx, branches(c.Pipeline))
	if err != nil {
		return nil, err
	}
	var promote []string
	for _, e := range c.Pipeline.Spec.Environments[1:] {
		promote = append(promote, PromoteBranch(e.Name), RollbackBranch(e.Name))
	}
	opt, err := c.Mirror.SyncOptional(ctx, promote)
	if err != nil {
		return nil, err
	}
	for b, sha := range opt {
		heads[b] = sha
	}
	return heads, nil
}

// planStep works out what promoting from into to would change, and finds the open request.
func (c *Controller) planStep(ctx context.Context, p *promotion) error {
	start := time.Now()
	plan, err := planPair(ctx, c.Mirror, p.heads, p.from, p.to)
	c.Metrics.rendered(c.Pipeline.Metadata.Name, p.to.Name, time.Since(start))
	if err != nil {
		return err
	}
	plan.Pipeline = c.Pipeline.Metadata.Name
	p.plan = plan
	open, err := c.Forge.Requests(ctx, p.branch, p.to.Branch, gitsource.RequestOpen)
	if err != nil {
		return err
	}
	if len(open) > 0 {
		p.request = &open[0]
	}
	return nil
}

// settle ends the environment's cycle when there is nothing to do: nothing to promote (an open
// request is closed with the reason), or a person closed the request for this very source commit.
func (c *Controller) settle(ctx context.Context, p *promotion) error {
	log := c.log().With("env", p.to.Name, "sha", p.plan.Source.SHA)
	if p.plan.Action == UpToDate {
		p.done = true
		if p.request == nil {
			return nil
		}
		log.Info("closing request: nothing to promote", "pr", p.request.Number, "reason", p.plan.Reason)
		// Mark the close as stagegate's own first, so it never reads as a person's refusal.
		if body, ok := closedByStagegate(p.request.Body); ok {
			if err := c.Forge.EditRequest(ctx, p.request.Number, p.request.Title, body); err != nil {
				return err
			}
		}
		if err := c.Forge.CloseRequest(ctx, p.request.Number, fmt.Sprintf("Nothing left to promote to %s: %s.", p.to.Name, p.plan.Reason)); err != nil {
			return err
		}
		c.Metrics.promotion(c.Pipeline.Metadata.Name, p.to.Name, promotionClosed)
		return nil
	}
	if p.request != nil {
		return nil
	}
	closed, err := c.Forge.Requests(ctx, p.branch, p.to.Branch, gitsource.RequestClosed)
	if err != nil {
		return err
	}
	if len(closed) > 0 && !closed[0].Merged {
		if m, ok := ReadMarker(closed[0].Body); ok && m.Source == p.plan.Source.SHA && m.ClosedBy == "" {
			log.Info("not reopening: a person closed the request for this source commit; a new source commit opens a new one", "pr", closed[0].Number)
			p.done = true
		}
	}
	return nil
}

// unchanged ends the environment's cycle when it is settled and nothing it depends on moved: the
// heads, the promotion branch, the request (GitHub bumps updated_at on every change to it), and
// no retry time of a time-bound gate has come.
func (c *Controller) unchanged(ctx context.Context, p *promotion) error {
	// Whether a review bumps a request's updated_at is not something to bet approvals on: with an
	// approvals gate, the reviews are read (conditionally: unchanged costs no rate limit).
	if c.readsReviews(p) {
		reviews, err := c.Forge.Reviews(ctx, p.request.Number)
		if err != nil {
			return err
		}
		p.reviews, p.reviewed = reviews, true
	}
	c.mu.Lock()
	last, ok := c.settled[p.to.Name]
	c.mu.Unlock()
	if ok && last == c.key(p, last.retryAt) && (last.retryAt.IsZero() || c.now().Before(last.retryAt)) {
		p.done = true
	}
	return nil
}

// remember records a settled environment: every gate that reads changing forge facts passed
// (approvals, soak, window) and none reads statuses that may change on the same commit (checks:
// a re-run CI job). It is settled until the earliest time a result says it may change (a window
// that closes); the rest depend only on what the key holds.
func (c *Controller) remember(_ context.Context, p *promotion) error {
	settled := true
	var until time.Time
	set := c.Gates[p.to.Name]
	for _, r := range p.report.Results {
		switch {
		case r.Gate == "checks" || r.Gate == "drift" || r.Gate == "dry-run" || set.Runtime(r.Gate):
			// statuses, clusters and the running source change with no commit
			settled = false
		case r.Gate == "approvals" || r.Gate == "soak" || r.Gate == "window":
			settled = settled && r.Outcome == gates.Pass
		}
		if !r.RetryAfter.IsZero() && (until.IsZero() || r.RetryAfter.Before(until)) {
			until = r.RetryAfter
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settled == nil {
		c.settled = map[string]settledKey{}
	}
	if settled {
		c.settled[p.to.Name] = c.key(p, until)
	} else {
		delete(c.settled, p.to.Name)
	}
	return nil
}

func (c *Controller) key(p *promotion, retryAt time.Time) settledKey {
	k := settledKey{source: p.plan.Source.SHA, target: p.plan.Target.SHA, promotion: p.heads[p.branch], retryAt: retryAt}
	if r := p.request; r != nil {
		k.request, k.requestHead, k.requestUpdated = r.Number, r.HeadSHA, r.Updated
	}
	if p.pause != nil {
		k.pause = p.pause.SHA
	}
	if c.readsReviews(p) {
		for _, r := range p.reviews {
			k.reviews += fmt.Sprintf("%d:%s:%s;", r.ID, r.State, r.CommitSHA)
		}
	}
	return k
}

// readsReviews says whether the environment's settled check reads the request's reviews.
func (c *Controller) readsReviews(p *promotion) bool {
	return p.request != nil && slices.Contains(c.Gates[p.to.Name].Gates(), "approvals")
}

// commit writes the promotion commit (deterministic: the same promotion is the same sha) and
// puts it on the promotion branch with a lease on the head this cycle read.
func (c *Controller) commit(ctx context.Context, p *promotion) error {
	var body strings.Builder
	for _, cm := range p.plan.Commits {
		fmt.Fprintf(&body, "%s %s\n", gitsource.Short(cm.SHA), cm.Subject)
	}
	key, err := c.signKey()
	if err != nil {
		return err
	}
	sha, err := c.Mirror.WritePromotion(ctx, gitsource.Promotion{
		Target:       p.to.Branch,
		ParentSHA:    p.plan.Target.SHA,
		SourceBranch: p.from.Branch,
		SourceSHA:    p.plan.Source.SHA,
		Subject:      Title(p.plan),
		Body:         strings.TrimSpace(body.String()),
		Trailers:     []gitsource.Trailer{{Key: gitsource.TrailerRendered, Value: p.plan.ProposedDigest}},
		SignKey:      key,
	})
	if err != nil {
		return err
	}
	p.sha = sha
	current := p.heads[p.branch]
	if current != sha && c.sameRebaseCommit(p, current) {
		// An earlier cycle put the rebase merge's commit there (see merge): the same promotion
		// with the full trailers. Keep it; pushing the plain one back would only churn the branch.
		p.sha = current
		return nil
	}
	if current != sha {
		if err := c.Mirror.Push(ctx, p.branch, sha, current); err != nil {
			return err
		}
		c.log().Info("promotion commit pushed", "env", p.to.Name, "sha", sha, "branch", p.branch)
	}
	return nil
}

// gather collects what the gates need from Git and the forge.
func (c *Controller) gather(ctx context.Context, p *promotion) error {
	f := gates.ForgeFacts{
		SourceBranch: p.from.Branch, SourceSHA: p.plan.Source.SHA,
		TargetBranch: p.to.Branch, TargetSHA: p.plan.Target.SHA,
		PromotionSHA: p.sha, Request: p.request,
		SourceHasCluster: p.from.Cluster != nil,
	}
	// The authors of the change: the source's commits and, when those are promotions, the
	// commits of earlier environments they carry. Names and emails are what Git says; the
	// forge's account for each commit is what a reviewer is, whatever name they commit under.
	for _, cm := range append(slices.Clone(p.plan.Commits), p.plan.Carried...) {
		f.Authors = appendAuthor(f.Authors, cm.Author, cm.AuthorEmail)
		login, err := c.Forge.CommitAuthor(ctx, cm.SHA)
		if err != nil {
			return err
		}
		if login != "" && !slices.Contains(f.Authors, login) {
			f.Authors = append(f.Authors, login)
		}
	}
	if p.request != nil {
		if !p.reviewed {
			reviews, err := c.Forge.Reviews(ctx, p.request.Number)
			if err != nil {
				return err
			}
			p.reviews = reviews
		}
		f.Reviews = p.reviews
		for _, r := range p.reviews {
			if r.CommitSHA == p.sha || slices.Contains(f.EquivalentSHAs, r.CommitSHA) {
				continue
			}
			if same, err := c.Mirror.Equivalent(p.sha, r.CommitSHA); err == nil && same {
				f.EquivalentSHAs = append(f.EquivalentSHAs, r.CommitSHA)
			}
		}
	}
	checks, err := c.Forge.Statuses(ctx, p.plan.Source.SHA)
	if err != nil {
		return err
	}
	f.SourceChecks = checks
	for _, s := range checks {
		switch {
		case s.Context == StatusDeploy && s.State == gitsource.StatusSuccess:
			f.SourceDeployed = s.Updated
		case s.Context == StatusArrived:
			f.SourceArrived = s.Updated
		}
	}
	if f.SourceArrived.IsZero() {
		// The first time the agent sees this commit as the source's head, it records so on the
		// commit: a commit written days ago and pushed now has soaked for no time at all, and
		// the record outlives restarts.
		now := c.now()
		if err := c.Forge.SetStatus(ctx, p.plan.Source.SHA, gitsource.Status{Context: StatusArrived, State: gitsource.StatusSuccess,
			Description: oneLine(fmt.Sprintf("stagegate saw this commit on %s at %s", p.from.Branch, now.UTC().Format(time.RFC3339)))}); err != nil {
			return err
		}
		f.SourceArrived = now
	}
	lin, err := c.Mirror.Lineage(ctx, p.plan.Source.SHA, p.plan.Target.SHA)
	if err != nil {
		return err
	}
	f.MissingFromSource, f.MissingPaths = lin.Commits, lin.Missing
	if err := c.gatherSignatures(p, &f); err != nil {
		return err
	}
	if teams := c.approvalTeams(p.to); len(teams) > 0 {
		f.Teams = map[string][]string{}
		for _, t := range teams {
			members, err := c.Forge.TeamMembers(ctx, t)
			if err != nil {
				return err
			}
			f.Teams[t] = members
		}
	}
	p.facts = f
	return nil
}

// gate evaluates the environment's gates on the proposed rendering and the gathered facts.
func (c *Controller) gate(_ context.Context, p *promotion) error {
	set, ok := c.Gates[p.to.Name]
	if !ok {
		return fmt.Errorf("no compiled gates for environment %s: call gates.ForPipeline on the config", p.to.Name)
	}
	p.input = gates.Input{
		Pipeline: c.Pipeline.Metadata.Name, Env: p.to, Objects: p.plan.Proposed,
		KubernetesVersion: kubernetesVersion(p.to), Now: c.now(), Forge: &p.facts, Cluster: p.cluster, Runtime: p.runtime,
	}
	start := time.Now()
	results := set.Evaluate(p.input)
	c.Metrics.evaluated(c.Pipeline.Metadata.Name, p.to.Name, time.Since(start))
	p.report = gates.NewReport(p.input, set, results)
	p.report.Revision = p.sha
	c.Metrics.gated(c.Pipeline.Metadata.Name, p.to.Name, p.report)
	c.mu.Lock()
	if c.reports == nil {
		c.reports = map[string]gates.Report{}
	}
	c.reports[p.to.Name] = p.report
	c.mu.Unlock()
	return nil
}

// propose opens the request, or brings its title and body up to date.
func (c *Controller) propose(ctx context.Context, p *promotion) error {
	title, body := c.titleBody(p)
	log := c.log().With("env", p.to.Name, "sha", p.sha)
	if p.request == nil {
		r, err := c.Forge.OpenRequest(ctx, gitsource.NewRequest{Head: p.branch, Base: p.to.Branch, Title: title, Body: body, Labels: requestLabels})
		var exists *gitsource.RequestExistsError
		if errors.As(err, &exists) {
			// Another agent (or an earlier try of this one) opened it first: use theirs.
			open, lerr := c.Forge.Requests(ctx, p.branch, p.to.Branch, gitsource.RequestOpen)
			if lerr != nil || len(open) == 0 {
				return errors.Join(err, lerr)
			}
			r, err = open[0], nil
		}
		if err != nil {
			return err
		}
		log.Info("promotion request opened", "pr", r.Number)
		c.Metrics.promotion(c.Pipeline.Metadata.Name, p.to.Name, promotionOpened)
		p.request = &r
		p.facts.Request = &r
		// Now that it has a number, the trailers at the end of the body can name it.
		title, body = c.titleBody(p)
	}
	if missing := labelsMissing(p.request.Labels); len(missing) > 0 {
		if err := c.Forge.AddLabels(ctx, p.request.Number, missing...); err != nil {
			return err
		}
	}
	if p.request.Title != title || p.request.Body != body {
		if err := c.Forge.EditRequest(ctx, p.request.Number, title, body); err != nil {
			return err
		}
		log.Info("promotion request updated", "pr", p.request.Number)
		event := promotionUpdated
		if m, ok := ReadMarker(p.request.Body); ok && m.Source != p.plan.Source.SHA {
			event = promotionSuperseded
		}
		c.Metrics.promotion(c.Pipeline.Metadata.Name, p.to.Name, event)
	}
	return nil
}

func labelsMissing(have []string) []string {
	var out []string
	for _, l := range requestLabels {
		if !slices.Contains(have, l) {
			out = append(out, l)
		}
	}
	return out
}

// titleBody is the request's title and body for the promotion as gated.
func (c *Controller) titleBody(p *promotion) (string, string) {
	pr := Proposal{
		Promotion: p.plan, Gates: p.report, PromotionSHA: p.sha,
		ConfigRevision: c.ConfigRevision, CommitURL: c.CommitURL,
		PlanCommand: c.planCommand(), Trailers: c.mergeTrailers(p),
	}
	if p.pause != nil {
		pr.Banner = pauseBanner(p.to.Name, p.pause, c.resumeCommand(p.to.Name))
	}
	return Title(p.plan), Body(pr, 0)
}

// Status contexts stagegate posts on source commits: when it first saw the commit on its
// branch (soak counts from it without a cluster), and when it was applied (deploy).
const (
	StatusArrived = "stagegate/arrived"
	StatusDeploy  = "stagegate/deploy"
)

// Status contexts stagegate posts on promotion commits.
const (
	StatusContextPrefix = "stagegate/"
	StatusOverall       = "stagegate"
)

// report posts a commit status per gate and an overall one on the promotion commit, each only
// when it differs from what is there, so an unchanged cycle writes nothing.
func (c *Controller) report(ctx context.Context, p *promotion) error {
	have, err := c.Forge.Statuses(ctx, p.sha)
	if err != nil {
		return err
	}
	current := byContext(have)
	want := make([]gitsource.Status, 0, len(p.report.Results)+1)
	for _, r := range p.report.Results {
		want = append(want, gitsource.Status{Context: StatusContextPrefix + r.Gate, State: statusState(r.Outcome), Description: oneLine(r.Summary), TargetURL: c.statusURL(p)})
	}
	all := gitsource.Status{Context: StatusOverall, State: statusState(p.report.Verdict), Description: overall(p.report), TargetURL: c.statusURL(p)}
	if p.held != "" {
		all.State, all.Description = p.heldState, oneLine(p.held)
	}
	want = append(want, all)
	set := c.Gates[p.to.Name]
	for _, s := range want {
		h, ok := current[s.Context]
		external := isExternal(p.to, s.Context)
		if seen := p.externalSeen[s.Context]; external && ok && h != seen && (h.State == gitsource.StatusSuccess || h.State == gitsource.StatusFailure) {
			// The service posted its verdict while this cycle asked it: keep it; the next
			// cycle reads it.
			continue
		}
		if ok && h.State == s.State && h.TargetURL == s.TargetURL {
			if h.Description == s.Description {
				continue
			}
			// Observed values change every evaluation: refresh them only now and then.
			if gate, _ := strings.CutPrefix(s.Context, StatusContextPrefix); set != nil && set.Observes(gate) && c.now().Sub(h.Updated) < observedRefresh {
				continue
			}
		}
		s.Kind = gitsource.CommitStatus
		if err := c.Forge.SetStatus(ctx, p.sha, s); err != nil {
			return err
		}
		if external {
			c.rememberPosted(p.to.Name, p.sha, s)
		}
	}
	return nil
}

// merge merges the request when the environment promotes automatically and every gate passes,
// guarded by the promotion commit's sha, with the verdicts and approvers in the merge message.
func (c *Controller) merge(ctx context.Context, p *promotion) error {
	auto := p.to.Promote != nil && p.to.Promote.Auto
	if !auto || p.report.Verdict != gates.Pass || p.request == nil {
		return nil
	}
	if p.pause != nil {
		c.log().Info("not merged: automatic promotion is paused", "env", p.to.Name, "pr", p.request.Number, "by", p.pause.By)
		return nil
	}
	method := config.DefaultMergeMethod
	if p.to.Promote.MergeMethod != "" {
		method = p.to.Promote.MergeMethod
	}
	title := fmt.Sprintf("%s (#%d)", Title(p.plan), p.request.Number)
	summary, trailers := p.plan.Source.Name+" → "+p.to.Branch, c.mergeTrailers(p)
	msg, err := gitsource.FormatMessage(title, summary, trailers)
	if err != nil {
		return err
	}
	log := c.log().With("env", p.to.Name, "sha", p.sha, "pr", p.request.Number)
	// The sha guard covers the request's head; this covers its base: if the target moved since
	// it was gated, GitHub would merge into a tree nobody gated. (Branch protection's
	// "up to date" rule closes the moment between this check and the merge.)
	remote, err := c.Mirror.Probe(ctx)
	if err != nil {
		return err
	}
	if remote[p.to.Branch] != p.plan.Target.SHA {
		log.Info("not merged: the target branch moved since it was gated; the next cycle re-plans", "target", remote[p.to.Branch])
		return nil
	}
	if method == "rebase" {
		// GitHub takes no message for a rebase merge: the commit that lands is the request's
		// head. Make that head the same promotion with the full message first.
		err := c.rebaseCommit(ctx, p, title, summary, trailers)
		var lease *gitsource.LeaseError
		if errors.As(err, &lease) {
			log.Info("not merged: the promotion branch moved since it was gated; the next cycle gates the new head")
			return nil
		}
		if err != nil {
			return err
		}
	}
	_, body, _ := strings.Cut(msg, "\n\n") // GitHub takes the title and the rest apart
	merged, err := c.Forge.Merge(ctx, p.request.Number, gitsource.MergeOptions{
		SHA: p.sha, Method: gitsource.MergeMethod(method), Title: title, Message: body,
	})
	var moved *gitsource.HeadMovedError
	if errors.As(err, &moved) {
		log.Info("not merged: the promotion branch moved since it was gated; the next cycle gates the new head")
		return nil
	}
	if err != nil {
		return err
	}
	log.Info("promotion merged", "merge", merged, "method", method)
	p.merged = true
	c.Metrics.promotion(c.Pipeline.Metadata.Name, p.to.Name, promotionMerged)
	if first, ok := oldestCommit(p.plan); ok {
		c.Metrics.leadTime(c.Pipeline.Metadata.Name, p.to.Name, c.now().Sub(first))
	}
	return nil
}

// oldestCommit is the commit time of the oldest commit the promotion delivers: its own commits
// and those they carry from earlier environments. Lead time counts from it, so a change promoted
// through staging to prod counts from when it was committed, not from staging's merge.
func oldestCommit(plan Promotion) (time.Time, bool) {
	var first time.Time
	for _, cm := range append(slices.Clone(plan.Commits), plan.Carried...) {
		if !cm.CommitTime.IsZero() && (first.IsZero() || cm.CommitTime.Before(first)) {
			first = cm.CommitTime
		}
	}
	return first, !first.IsZero()
}

// rebaseCommit makes the request's head the promotion commit with the merge's title, body and
// trailers as its message (same parent, same tree, so approvals of the plain commit still count:
// see gates.ForgeFacts EquivalentSHAs), pushed with a lease on the head that was gated and given
// the same statuses. Deterministic like the plain commit, so two agents write the same one.
func (c *Controller) rebaseCommit(ctx context.Context, p *promotion, title, body string, trailers []gitsource.Trailer) error {
	msg, err := gitsource.FormatMessage(title, body, trailers)
	if err != nil {
		return err
	}
	head, err := c.Mirror.Commit(p.sha)
	if err != nil {
		return err
	}
	if head.Message == msg {
		return nil
	}
	key, err := c.signKey()
	if err != nil {
		return err
	}
	sha, err := c.Mirror.WritePromotion(ctx, gitsource.Promotion{
		Target: p.to.Branch, ParentSHA: p.plan.Target.SHA,
		SourceBranch: p.from.Branch, SourceSHA: p.plan.Source.SHA,
		Subject: title, Body: body, Trailers: trailers, SignKey: key,
	})
	if err != nil {
		return err
	}
	if err := c.Mirror.Push(ctx, p.branch, sha, p.sha); err != nil {
		return err
	}
	c.log().Info("promotion commit with the merge trailers pushed for a rebase merge", "env", p.to.Name, "sha", sha, "branch", p.branch)
	p.sha = sha
	p.report.Revision = sha
	return c.report(ctx, p)
}

// sameRebaseCommit reports whether sha is the promotion p plans, written for a rebase merge:
// the same parent and tree as the plain promotion commit and trailers naming the same source
// and rendering.
func (c *Controller) sameRebaseCommit(p *promotion, sha string) bool {
	if sha == "" || p.to.Promote == nil || p.to.Promote.MergeMethod != "rebase" {
		return false
	}
	if same, err := c.Mirror.Equivalent(p.sha, sha); err != nil || !same {
		return false
	}
	cm, err := c.Mirror.Commit(sha)
	if err != nil {
		return false
	}
	var source, rendered bool
	for _, t := range gitsource.Trailers(cm.Message) {
		source = source || t.Key == gitsource.TrailerSource && t.Value == p.plan.Source.Name+"@"+p.plan.Source.SHA
		rendered = rendered || t.Key == gitsource.TrailerRendered && t.Value == p.plan.ProposedDigest
	}
	return source && rendered
}

// mergeTrailers record what was promoted and why it was allowed to merge. The agent passes them
// when it merges, and the request body ends with them for merges made by a person.
func (c *Controller) mergeTrailers(p *promotion) []gitsource.Trailer {
	t := []gitsource.Trailer{
		{Key: gitsource.TrailerSource, Value: p.plan.Source.Name + "@" + p.plan.Source.SHA},
		{Key: gitsource.TrailerRendered, Value: p.plan.ProposedDigest},
	}
	for _, r := range p.report.Results {
		t = append(t, gitsource.Trailer{Key: gitsource.TrailerGate, Value: r.Gate + "=" + string(r.Outcome)})
		for _, o := range r.Observed {
			t = append(t, gitsource.Trailer{Key: gitsource.TrailerObserved, Value: oneLine(r.Gate + " " + o.String())})
		}
		for _, f := range r.Findings {
			switch f.Check {
			case gates.CheckBreakGlass:
				t = append(t, gitsource.Trailer{Key: TrailerBreakGlass, Value: oneLine(f.Message)})
			case gates.CheckDriftAcknowledged:
				t = append(t, gitsource.Trailer{Key: TrailerDriftAcknowledged, Value: oneLine(f.Message)})
			}
		}
	}
	for _, login := range gates.Approvers(p.to, &p.facts) {
		t = append(t, gitsource.Trailer{Key: gitsource.TrailerApprovedBy, Value: login})
	}
	if p.request != nil {
		t = append(t, gitsource.Trailer{Key: TrailerRequest, Value: "#" + strconv.Itoa(p.request.Number)})
	}
	return t
}

// Trailers of a promotion's merge, defined in gitsource next to the parser that reads them back.
const (
	TrailerBreakGlass        = gitsource.TrailerBreakGlass
	TrailerDriftAcknowledged = gitsource.TrailerDriftAcknowledged
	TrailerRequest           = gitsource.TrailerRequest
)

func (c *Controller) planCommand() string {
	cfg := c.ConfigFile
	if cfg == "" {
		cfg = "stagegate.yaml"
	}
	return fmt.Sprintf("stagegate plan --config %s --pipeline %s", cfg, c.Pipeline.Metadata.Name)
}

func (c *Controller) statusURL(p *promotion) string {
	return c.envURL(p.to.Name)
}

func (c *Controller) approvalTeams(env config.Environment) []string {
	if a := env.Gates.Approvals; a != nil {
		return a.Teams
	}
	return nil
}

func kubernetesVersion(env config.Environment) string {
	if env.Gates.APIs != nil {
		return env.Gates.APIs.KubernetesVersion
	}
	return ""
}

func statusState(o gates.Outcome) gitsource.StatusState {
	switch o {
	case gates.Pass:
		return gitsource.StatusSuccess
	case gates.Fail:
		return gitsource.StatusFailure
	}
	return gitsource.StatusPending
}

func overall(r gates.Report) string {
	n := map[gates.Outcome]int{}
	for _, res := range r.Results {
		n[res.Outcome]++
	}
	return oneLine(fmt.Sprintf("%d gates: %d passed, %d pending, %d failed", len(r.Results), n[gates.Pass], n[gates.Pending], n[gates.Fail]))
}

// oneLine fits a summary into a commit status description: GitHub keeps 140 characters; cut
// to 140 bytes, which holds for any way of counting them.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= 140 {
		return s
	}
	const ellipsis = "…"
	cut := 140 - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// appendAuthor adds a commit author's name, email and the login GitHub's noreply addresses
// carry (12345+login@users.noreply.github.com), once each.
func appendAuthor(list []string, name, email string) []string {
	add := func(s string) {
		if s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	add(name)
	add(email)
	if local, domain, ok := strings.Cut(email, "@"); ok && domain == "users.noreply.github.com" {
		if _, login, ok := strings.Cut(local, "+"); ok {
			add(login)
		} else {
			add(local)
		}
	}
	return list
}
