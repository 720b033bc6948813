package github

import (
	"context"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Reviews lists a pull request's submitted reviews, oldest first (GitHub's order), every page.
// Pending reviews, which only their author can see, are left out.
func (f *Forge) Reviews(ctx context.Context, number int) ([]gitsource.Review, error) {
	opts := &gh.ListOptions{PerPage: 100}
	var out []gitsource.Review
	for {
		rs, resp, err := f.client.PullRequests.ListReviews(ctx, f.owner, f.repo, number, opts)
		if err != nil {
			return nil, f.classify(op("list reviews of #%d", number), err)
		}
		for _, r := range rs {
			if strings.EqualFold(r.GetState(), "PENDING") {
				continue
			}
			out = append(out, gitsource.Review{
				ID:        r.GetID(),
				User:      r.GetUser().GetLogin(),
				State:     gitsource.ReviewState(strings.ToUpper(r.GetState())),
				CommitSHA: r.GetCommitID(),
				Submitted: r.GetSubmittedAt().Time,
			})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// TeamMembers lists the logins of a team named "org/team-slug", every page.
func (f *Forge) TeamMembers(ctx context.Context, team string) ([]string, error) {
	org, slug, ok := strings.Cut(team, "/")
	if !ok || org == "" || slug == "" || strings.Contains(slug, "/") {
		return nil, &APIError{Op: op("list members of %q", team), Message: "a team is named org/team-slug, like acme/platform"}
	}
	opts := &gh.TeamListTeamMembersOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	var out []string
	for {
		users, resp, err := f.client.Teams.ListTeamMembersBySlug(ctx, org, slug, opts)
		if err != nil {
			return nil, f.classify(op("list members of %s", team), err)
		}
		for _, u := range users {
			out = append(out, u.GetLogin())
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
