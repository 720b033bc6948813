package github

import (
	"context"
	"errors"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Requests lists pull requests from head into base in the given state, newest first, every page.
func (f *Forge) Requests(ctx context.Context, head, base string, state gitsource.RequestState) ([]gitsource.Request, error) {
	opts := &gh.PullRequestListOptions{
		Head: f.owner + ":" + head, Base: base, State: string(state),
		Sort: "created", Direction: "desc",
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	var out []gitsource.Request
	for {
		prs, resp, err := f.client.PullRequests.List(ctx, f.owner, f.repo, opts)
		if err != nil {
			return nil, f.classify(op("list requests %s → %s", head, base), err)
		}
		for _, pr := range prs {
			out = append(out, request(pr))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Request returns one pull request by number.
func (f *Forge) Request(ctx context.Context, number int) (gitsource.Request, error) {
	pr, _, err := f.client.PullRequests.Get(ctx, f.owner, f.repo, number)
	if err != nil {
		return gitsource.Request{}, f.classify(op("get request #%d", number), err)
	}
	return request(pr), nil
}

// OpenRequest opens a pull request and adds its labels. GitHub's 422 for an open pull request
// with the same head and base is a *gitsource.RequestExistsError.
//
// Creating is not safe to repeat: when GitHub fails (5xx) or does not answer, the pull request
// may exist anyway, so OpenRequest lists open ones for head and base and returns the one it
// finds before it tries again. Two agents racing get one request and one RequestExistsError.
func (f *Forge) OpenRequest(ctx context.Context, r gitsource.NewRequest) (gitsource.Request, error) {
	what := op("open request %s → %s", r.Head, r.Base)
	var pr *gh.PullRequest
	for attempt := 0; ; attempt++ {
		var err error
		pr, _, err = f.client.PullRequests.Create(repeatable(ctx, false), f.owner, f.repo, &gh.NewPullRequest{
			Title: &r.Title, Body: &r.Body, Head: &r.Head, Base: &r.Base,
		})
		if err == nil {
			break
		}
		if status(err) == http.StatusUnprocessableEntity && alreadyExists(err) {
			return gitsource.Request{}, &gitsource.RequestExistsError{Head: r.Head, Base: r.Base}
		}
		err = f.classify(what, err)
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) || attempt >= f.tr.retries || ctx.Err() != nil {
			return gitsource.Request{}, err
		}
		open, lerr := f.Requests(ctx, r.Head, r.Base, gitsource.RequestOpen)
		if lerr == nil && len(open) > 0 {
			f.log.InfoContext(ctx, "github: the request was opened although GitHub failed to say so",
				"pr", open[0].Number, "head", r.Head, "base", r.Base)
			got := open[0]
			if err := f.AddLabels(ctx, got.Number, r.Labels...); err != nil {
				return got, err
			}
			return f.Request(ctx, got.Number)
		}
		f.log.WarnContext(ctx, "github: opening the request failed; retrying", "head", r.Head, "base", r.Base, "err", err)
		if err := f.tr.sleep(ctx, backoff(attempt, writeRetryBackoff)); err != nil {
			return gitsource.Request{}, err
		}
	}
	got := request(pr)
	if len(r.Labels) > 0 {
		if err := f.AddLabels(ctx, got.Number, r.Labels...); err != nil {
			return got, err
		}
		got.Labels = appendNew(got.Labels, r.Labels...)
	}
	return got, nil
}

func alreadyExists(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	return strings.Contains(strings.ToLower(message(er)), "already exists")
}

// EditRequest replaces a pull request's title and body.
func (f *Forge) EditRequest(ctx context.Context, number int, title, body string) error {
	_, _, err := f.client.PullRequests.Edit(repeatable(ctx, true), f.owner, f.repo, number, &gh.PullRequest{Title: &title, Body: &body})
	return f.classify(op("edit request #%d", number), err)
}

// CloseRequest leaves comment (when not empty) and closes the pull request. Closing a closed
// one is not an error.
func (f *Forge) CloseRequest(ctx context.Context, number int, comment string) error {
	if comment != "" {
		if err := f.Comment(ctx, number, comment); err != nil {
			return err
		}
	}
	closed := "closed"
	_, _, err := f.client.PullRequests.Edit(repeatable(ctx, true), f.owner, f.repo, number, &gh.PullRequest{State: &closed})
	return f.classify(op("close request #%d", number), err)
}

// Comment leaves a comment on a pull request or an issue (GitHub comments on both alike). It
// is not repeated after a 5xx: a second identical comment is worse than a retry by the next
// cycle.
func (f *Forge) Comment(ctx context.Context, number int, body string) error {
	_, _, err := f.client.Issues.CreateComment(repeatable(ctx, false), f.owner, f.repo, number, &gh.IssueComment{Body: &body})
	return f.classify(op("comment on #%d", number), err)
}

// AddLabels adds labels to a pull request; labels it already has stay once.
func (f *Forge) AddLabels(ctx context.Context, number int, labels ...string) error {
	if len(labels) == 0 {
		return nil
	}
	_, _, err := f.client.Issues.AddLabelsToIssue(repeatable(ctx, true), f.owner, f.repo, number, labels)
	return f.classify(op("label #%d", number), err)
}

func request(pr *gh.PullRequest) gitsource.Request {
	r := gitsource.Request{
		Number:   pr.GetNumber(),
		URL:      pr.GetHTMLURL(),
		Title:    pr.GetTitle(),
		Body:     pr.GetBody(),
		Head:     pr.GetHead().GetRef(),
		HeadSHA:  pr.GetHead().GetSHA(),
		Base:     pr.GetBase().GetRef(),
		State:    gitsource.RequestState(pr.GetState()),
		Merged:   pr.GetMerged() || pr.MergedAt != nil,
		Author:   pr.GetUser().GetLogin(),
		MergedBy: pr.GetMergedBy().GetLogin(),
		Created:  pr.GetCreatedAt().Time,
		Updated:  pr.GetUpdatedAt().Time,
		Closed:   pr.GetClosedAt().Time,
	}
	if r.Merged {
		r.MergeSHA = pr.GetMergeCommitSHA()
	}
	for _, l := range pr.Labels {
		r.Labels = append(r.Labels, l.GetName())
	}
	return r
}

func appendNew(have []string, add ...string) []string {
	seen := map[string]bool{}
	for _, h := range have {
		seen[h] = true
	}
	for _, a := range add {
		if !seen[a] {
			seen[a] = true
			have = append(have, a)
		}
	}
	return have
}
