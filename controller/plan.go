package controller

import (
	"context"
	"fmt"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

// Action is what a plan proposes for one pair of environments.
type Action string

// Actions.
const (
	// Promote: the target environment's rendering would change.
	Promote Action = "promote"
	// UpToDate: nothing to promote; Promotion.Reason says why.
	UpToDate Action = "up-to-date"
)

// Reasons for UpToDate.
const (
	ReasonTreesEqual    = "the source and target trees are identical"
	ReasonRenderedEqual = "the source changes do not change the target's rendered objects"
)

// MaxPlanCommits caps the source commits listed per promotion; Promotion.MoreCommits says when
// there were more.
const MaxPlanCommits = 100

// maxPromotionSearch is how many target commits are searched for the last promotion.
const maxPromotionSearch = 1000

// Branch is a branch and its head.
type Branch struct {
	Name string `json:"branch"`
	SHA  string `json:"sha"`
}

// Promotion is what promoting one environment into the next would do: the target environment
// rendered from the source's tree, compared with the target as it is.
type Promotion struct {
	Pipeline string `json:"pipeline"`
	From     string `json:"from"`
	To       string `json:"to"`
	Source   Branch `json:"source"`
	Target   Branch `json:"target"`
	Action   Action `json:"action"`
	Reason   string `json:"reason,omitempty"`
	// Commits on the source not yet promoted to the target, newest first.
	Commits     []gitsource.Commit `json:"commits"`
	MoreCommits bool               `json:"moreCommits,omitempty"`
	// Carried are the commits of earlier environments that the promoted commits carry, when
	// those are promotion commits themselves (staging's commits promoting dev's), newest first:
	// the changes a reviewer of a prod promotion wants to read.
	Carried []gitsource.Commit `json:"carried,omitempty"`
	// LastPromoted is the source sha of the target's last stagegate promotion, if any.
	LastPromoted string `json:"lastPromoted,omitempty"`
	// Digests of the target's rendering now and after the promotion.
	CurrentDigest  string          `json:"currentDigest,omitempty"`
	ProposedDigest string          `json:"proposedDigest,omitempty"`
	Changes        []render.Change `json:"changes"`
	// Proposed is the target's rendering from the source's tree: what the gates judge.
	Proposed render.Objects `json:"-"`
}

// Plan works out, for each adjacent pair of environments, what a promotion would change. It
// reads Git only: nothing is written, pushed or opened.
func Plan(ctx context.Context, p config.Pipeline, opts Options) ([]Promotion, error) {
	opts = opts.withDefaults()
	m, err := opts.open(ctx, p.Spec.Repo)
	if err != nil {
		return nil, err
	}
	heads, err := m.Sync(ctx, branches(p))
	if err != nil {
		return nil, err
	}
	envs := p.Spec.Environments
	out := make([]Promotion, 0, len(envs))
	for i := 1; i < len(envs); i++ {
		pr, err := planPair(ctx, m, heads, envs[i-1], envs[i])
		if err != nil {
			return nil, fmt.Errorf("plan %s → %s: %w", envs[i-1].Name, envs[i].Name, err)
		}
		pr.Pipeline = p.Metadata.Name
		opts.Log.DebugContext(ctx, "planned", "pipeline", p.Metadata.Name, "env", pr.To, "sha", pr.Source.SHA, "action", pr.Action)
		out = append(out, pr)
	}
	return out, nil
}

func planPair(ctx context.Context, m *gitsource.Mirror, heads gitsource.Heads, from, to config.Environment) (Promotion, error) {
	pr := Promotion{
		From:    from.Name,
		To:      to.Name,
		Source:  Branch{from.Branch, heads[from.Branch]},
		Target:  Branch{to.Branch, heads[to.Branch]},
		Commits: []gitsource.Commit{},
		Changes: []render.Change{},
	}
	if err := unpromoted(ctx, m, &pr); err != nil {
		return pr, err
	}
	src, err := m.Tree(pr.Source.SHA)
	if err != nil {
		return pr, err
	}
	tgt, err := m.Tree(pr.Target.SHA)
	if err != nil {
		return pr, err
	}
	if src.Hash() == tgt.Hash() {
		pr.Action, pr.Reason = UpToDate, ReasonTreesEqual
		return pr, nil
	}
	current, err := renderTree(ctx, m, pr.Target.SHA, to)
	if err != nil {
		return pr, fmt.Errorf("current %s: %w", to.Name, err)
	}
	proposed, err := renderTree(ctx, m, pr.Source.SHA, to)
	if err != nil {
		return pr, fmt.Errorf("%s from %s's tree: %w", to.Name, from.Name, err)
	}
	pr.Proposed = proposed
	pr.CurrentDigest, pr.ProposedDigest = current.Digest(), proposed.Digest()
	if pr.CurrentDigest == pr.ProposedDigest {
		pr.Action, pr.Reason = UpToDate, ReasonRenderedEqual
		return pr, nil
	}
	pr.Action = Promote
	pr.Changes = render.Diff(current, proposed)
	return pr, nil
}

// unpromoted fills in the source commits not yet in the target: those after the source commit of
// the target's last stagegate promotion from this source branch or, before any promotion, those
// not reachable from the target. A last-promoted sha the mirror does not have (the source was
// rewritten, or the trailer written by hand) is passed over: the target head is the stop then,
// and flagging the trailer is the audit's business.
func unpromoted(ctx context.Context, m *gitsource.Mirror, pr *Promotion) error {
	stop := pr.Target.SHA
	// The last promotion is near the target's head; looking further back costs time on large
	// histories and would only find promotions that the newer ones superseded.
	targetLog, err := m.Log(ctx, pr.Target.SHA, "", maxPromotionSearch)
	if err != nil {
		return err
	}
	for _, c := range targetLog {
		branch, sha, ok, err := gitsource.Source(c.Message)
		if !ok || err != nil || branch != pr.Source.Name {
			continue // malformed trailers are the audit's business, not the plan's
		}
		if _, err := m.Resolve(sha); err != nil {
			break
		}
		pr.LastPromoted, stop = sha, sha
		break
	}
	commits, err := m.Log(ctx, pr.Source.SHA, stop, MaxPlanCommits+1)
	if err != nil {
		return err
	}
	if len(commits) > MaxPlanCommits {
		commits, pr.MoreCommits = commits[:MaxPlanCommits], true
	}
	pr.Commits = commits
	pr.Carried = carried(ctx, m, pr)
	return nil
}

// carried returns the upstream commits that the promotion commits among pr.Commits carry: those
// reachable from the newest one's source and not from the source of the target's last promotion
// (or, before any, from the target head). Best effort: a plan without them is still right, so a
// history the mirror cannot walk gives none.
func carried(ctx context.Context, m *gitsource.Mirror, pr *Promotion) []gitsource.Commit {
	var newest string
	for _, c := range pr.Commits {
		if _, sha, ok, err := gitsource.Source(c.Message); ok && err == nil {
			newest = sha
			break
		}
	}
	if newest == "" {
		return nil
	}
	stop := pr.Target.SHA
	if pr.LastPromoted != "" {
		if c, err := m.Commit(pr.LastPromoted); err == nil {
			if _, sha, ok, err := gitsource.Source(c.Message); ok && err == nil {
				stop = sha
			}
		}
	}
	if _, err := m.Resolve(stop); err != nil {
		return nil
	}
	commits, err := m.Log(ctx, newest, stop, MaxPlanCommits)
	if err != nil {
		return nil
	}
	return commits
}
