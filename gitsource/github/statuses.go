package github

import (
	"context"
	"sort"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// SetStatus posts a commit status on sha. Safe to repeat: a status with the same context
// replaces the last one.
func (f *Forge) SetStatus(ctx context.Context, sha string, s gitsource.Status) error {
	st := &gh.RepoStatus{Context: &s.Context, State: gh.String(string(s.State))}
	if s.Description != "" {
		// GitHub refuses descriptions over 140 characters.
		d := truncate(s.Description, 140)
		st.Description = &d
	}
	if s.TargetURL != "" {
		st.TargetURL = &s.TargetURL
	}
	_, _, err := f.client.Repositories.CreateStatus(repeatable(ctx, true), f.owner, f.repo, sha, st)
	return f.classify(op("set status %s on %s", s.Context, short(sha)), err)
}

// Statuses returns the latest commit status per context (GitHub's combined status) and the
// latest check run per name on sha, sorted by context, statuses before check runs.
func (f *Forge) Statuses(ctx context.Context, sha string) ([]gitsource.Status, error) {
	var out []gitsource.Status
	lo := &gh.ListOptions{PerPage: 100}
	for {
		combined, resp, err := f.client.Repositories.GetCombinedStatus(ctx, f.owner, f.repo, sha, lo)
		if err != nil {
			return nil, f.classify(op("get statuses of %s", short(sha)), err)
		}
		for _, s := range combined.Statuses {
			out = append(out, gitsource.Status{
				Context: s.GetContext(), State: gitsource.StatusState(s.GetState()),
				Description: s.GetDescription(), TargetURL: s.GetTargetURL(),
				Kind: gitsource.CommitStatus, Updated: s.GetUpdatedAt().Time,
			})
		}
		if resp.NextPage == 0 {
			break
		}
		lo.Page = resp.NextPage
	}
	co := &gh.ListCheckRunsOptions{Filter: gh.String("latest"), ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		runs, resp, err := f.client.Checks.ListCheckRunsForRef(ctx, f.owner, f.repo, sha, co)
		if err != nil {
			return nil, f.classify(op("list check runs of %s", short(sha)), err)
		}
		for _, r := range runs.CheckRuns {
			out = append(out, checkRun(r))
		}
		if resp.NextPage == 0 {
			break
		}
		co.Page = resp.NextPage
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Context != out[j].Context {
			return out[i].Context < out[j].Context
		}
		return out[i].Kind == gitsource.CommitStatus && out[j].Kind != gitsource.CommitStatus
	})
	return out, nil
}

// checkRun maps a check run onto a commit status. A run that is not completed is pending; a
// completed one passes when it succeeded or had nothing to say (neutral, skipped), and fails
// otherwise, including conclusions GitHub may add later.
func checkRun(r *gh.CheckRun) gitsource.Status {
	s := gitsource.Status{
		Context:   r.GetName(),
		Kind:      gitsource.CheckRun,
		TargetURL: r.GetHTMLURL(),
		Updated:   r.GetStartedAt().Time,
	}
	if r.GetDetailsURL() != "" && s.TargetURL == "" {
		s.TargetURL = r.GetDetailsURL()
	}
	if r.Output != nil {
		s.Description = r.Output.GetTitle()
	}
	if r.GetStatus() != "completed" {
		s.State = gitsource.StatusPending // queued, in_progress, waiting, requested, pending
		return s
	}
	s.Updated = r.GetCompletedAt().Time
	switch r.GetConclusion() {
	case "success", "neutral", "skipped":
		s.State = gitsource.StatusSuccess
	default: // failure, timed_out, action_required, cancelled, stale, startup_failure
		s.State = gitsource.StatusFailure
	}
	if s.Description == "" {
		s.Description = r.GetConclusion()
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
