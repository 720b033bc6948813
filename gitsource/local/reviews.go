package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Reviews lists a request's reviews, oldest first.
func (f *Forge) Reviews(ctx context.Context, number int) ([]gitsource.Review, error) {
	r, _, _, err := f.load(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := r.request(number)
	if err != nil {
		return nil, err
	}
	out := make([]gitsource.Review, len(rec.Reviews))
	for i, rv := range rec.Reviews {
		out[i] = rv.Review
	}
	return out, nil
}

// Review records a review of an open request by the forge's actor on the request's head as
// the remote has it now (what stagegate approve and stagegate reject do), and returns it. A
// review of an older head does not count for a newer one, as on GitHub.
func (f *Forge) Review(ctx context.Context, number int, state gitsource.ReviewState, body string) (gitsource.Review, error) {
	switch state {
	case gitsource.Approved, gitsource.ChangesRequested, gitsource.Commented:
	default:
		return gitsource.Review{}, fmt.Errorf("review #%d: state %q: want %s, %s or %s", number, state, gitsource.Approved, gitsource.ChangesRequested, gitsource.Commented)
	}
	req, err := f.Request(ctx, number)
	if err != nil {
		return gitsource.Review{}, err
	}
	if req.State != gitsource.RequestOpen {
		return gitsource.Review{}, &NotOpenError{Number: number, Merged: req.Merged}
	}
	var got gitsource.Review
	err = f.update(ctx, fmt.Sprintf("review #%d: %s by %s", number, state, f.opts.Actor), func(r *records) error {
		rec, err := r.request(number)
		if err != nil {
			return err
		}
		if rec.State != gitsource.RequestOpen {
			return &NotOpenError{Number: number, Merged: rec.Merged}
		}
		now := f.now()
		got = gitsource.Review{ID: int64(len(rec.Reviews) + 1), User: f.opts.Actor, State: state, CommitSHA: req.HeadSHA, Submitted: now}
		rec.Reviews = append(rec.Reviews, reviewRecord{Review: got, Body: body})
		rec.HeadSHA, rec.Updated = req.HeadSHA, now
		return nil
	})
	return got, err
}

// NotOpenError: the request was closed or merged.
type NotOpenError struct {
	Number int
	Merged bool
}

func (e *NotOpenError) Error() string {
	if e.Merged {
		return fmt.Sprintf("request #%d is already merged", e.Number)
	}
	return fmt.Sprintf("request #%d is closed", e.Number)
}

// TeamMembers always fails: the local forge has no teams. Config validation refuses
// approvals.teams with forge type local, so the controller never asks.
func (f *Forge) TeamMembers(_ context.Context, team string) ([]string, error) {
	return nil, errors.New("team " + team + ": the local forge has no teams; list the people in approvals.users, or use spec.forge.type: github")
}

// CommitAuthor returns the email (else the name) Git records as the author of commit sha: the
// local forge has no accounts to link it to, and a person approves under the name they pass to
// stagegate approve --as (by default their git config user.name), which the approvals gate
// compares with the authors' names and emails. A commit the mirror does not hold (no branch
// that has it was synced) links to nobody: "", as GitHub answers for an unknown email.
func (f *Forge) CommitAuthor(_ context.Context, sha string) (string, error) {
	c, err := f.m.Commit(sha)
	var notFound *gitsource.NotFoundError
	if errors.As(err, &notFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if c.AuthorEmail != "" {
		return c.AuthorEmail, nil
	}
	return c.Author, nil
}
