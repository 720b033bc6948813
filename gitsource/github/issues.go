package github

import (
	"context"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Issues lists the repository's issues labelled label (every issue when label is "") in the
// given state, newest first, every page. GitHub lists pull requests among the issues; they are
// left out. An unchanged list costs one conditional request per page, answered 304.
func (f *Forge) Issues(ctx context.Context, label string, state gitsource.RequestState) ([]gitsource.Issue, error) {
	opts := &gh.IssueListByRepoOptions{
		State: string(state), Sort: "created", Direction: "desc",
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	if label != "" {
		opts.Labels = []string{label}
	}
	var out []gitsource.Issue
	for {
		issues, resp, err := f.client.Issues.ListByRepo(ctx, f.owner, f.repo, opts)
		if err != nil {
			return nil, f.classify(op("list issues labelled %q", label), err)
		}
		for _, i := range issues {
			if !i.IsPullRequest() {
				out = append(out, issue(i))
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// OpenIssue opens an issue with labels. It is not repeated after a 5xx or no answer: the issue
// may exist anyway, and a caller that lists its label before opening finds it next time, where
// a retry would leave two.
func (f *Forge) OpenIssue(ctx context.Context, title, body string, labels []string) (gitsource.Issue, error) {
	req := &gh.IssueRequest{Title: &title, Body: &body}
	if len(labels) > 0 {
		req.Labels = &labels
	}
	i, _, err := f.client.Issues.Create(repeatable(ctx, false), f.owner, f.repo, req)
	if err != nil {
		return gitsource.Issue{}, f.classify(op("open issue %q", title), err)
	}
	return issue(i), nil
}

// EditIssue replaces an issue's title and body.
func (f *Forge) EditIssue(ctx context.Context, number int, title, body string) error {
	_, _, err := f.client.Issues.Edit(repeatable(ctx, true), f.owner, f.repo, number, &gh.IssueRequest{Title: &title, Body: &body})
	return f.classify(op("edit issue #%d", number), err)
}

// CloseIssue leaves comment (when not empty) and closes the issue as completed. Closing a
// closed one is not an error.
func (f *Forge) CloseIssue(ctx context.Context, number int, comment string) error {
	if comment != "" {
		if err := f.Comment(ctx, number, comment); err != nil {
			return err
		}
	}
	closed, completed := "closed", "completed"
	_, _, err := f.client.Issues.Edit(repeatable(ctx, true), f.owner, f.repo, number, &gh.IssueRequest{State: &closed, StateReason: &completed})
	return f.classify(op("close issue #%d", number), err)
}

func issue(i *gh.Issue) gitsource.Issue {
	out := gitsource.Issue{
		Number:  i.GetNumber(),
		URL:     i.GetHTMLURL(),
		Title:   i.GetTitle(),
		Body:    i.GetBody(),
		State:   gitsource.RequestState(i.GetState()),
		Author:  i.GetUser().GetLogin(),
		Updated: i.GetUpdatedAt().Time,
	}
	for _, l := range i.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}
