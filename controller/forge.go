package controller

import (
	"context"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Forge is where promotion requests live: GitHub (gitsource/github), or the repository itself
// (the local forge). The controller declares what it needs and nothing more. Every method does
// I/O, is bounded by ctx, and returns the typed errors of gitsource (HeadMovedError,
// NotMergeableError, RequestExistsError) where they apply.
type Forge interface {
	// Requests lists requests from head into base in the given state, newest first.
	Requests(ctx context.Context, head, base string, state gitsource.RequestState) ([]gitsource.Request, error)
	// Request returns one request by number.
	Request(ctx context.Context, number int) (gitsource.Request, error)
	// OpenRequest opens a request; *RequestExistsError when one is open for the same head and base.
	OpenRequest(ctx context.Context, r gitsource.NewRequest) (gitsource.Request, error)
	// EditRequest replaces a request's title and body.
	EditRequest(ctx context.Context, number int, title, body string) error
	// CloseRequest closes a request, leaving comment on it first when not empty.
	CloseRequest(ctx context.Context, number int, comment string) error
	// Comment leaves a comment on a request or an issue.
	Comment(ctx context.Context, number int, body string) error
	// AddLabels adds labels to a request.
	AddLabels(ctx context.Context, number int, labels ...string) error
	// Reviews lists a request's reviews, oldest first.
	Reviews(ctx context.Context, number int) ([]gitsource.Review, error)
	// SetStatus posts a commit status on sha.
	SetStatus(ctx context.Context, sha string, s gitsource.Status) error
	// Statuses returns the latest commit status per context and the check runs on sha.
	Statuses(ctx context.Context, sha string) ([]gitsource.Status, error)
	// Merge merges a request guarded by opts.SHA and returns the commit it made on the base.
	Merge(ctx context.Context, number int, opts gitsource.MergeOptions) (string, error)
	// TeamMembers lists the logins of a team, named "org/team-slug".
	TeamMembers(ctx context.Context, team string) ([]string, error)
	// CommitAuthor returns the login of the account the forge links to the author of commit
	// sha; "" (not an error) when it links none.
	CommitAuthor(ctx context.Context, sha string) (string, error)

	// Issues lists the issues labelled label in the given state, newest first; requests are
	// not issues here, although GitHub lists pull requests among them.
	Issues(ctx context.Context, label string, state gitsource.RequestState) ([]gitsource.Issue, error)
	// OpenIssue opens an issue with labels.
	OpenIssue(ctx context.Context, title, body string, labels []string) (gitsource.Issue, error)
	// EditIssue replaces an issue's title and body.
	EditIssue(ctx context.Context, number int, title, body string) error
	// CloseIssue closes an issue, leaving comment on it first when not empty.
	CloseIssue(ctx context.Context, number int, comment string) error
}
