package local

import (
	"context"
	"fmt"
	"slices"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Issues lists the issues labelled label ("" for any) in the given state, newest first.
func (f *Forge) Issues(ctx context.Context, label string, state gitsource.RequestState) ([]gitsource.Issue, error) {
	r, _, _, err := f.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []gitsource.Issue
	for _, rec := range r.issues {
		if (label == "" || slices.Contains(rec.Labels, label)) && (state == gitsource.RequestAll || rec.State == state) {
			out = append(out, rec.Issue)
		}
	}
	slices.SortFunc(out, func(a, b gitsource.Issue) int { return b.Number - a.Number })
	return out, nil
}

// OpenIssue opens an issue with labels.
func (f *Forge) OpenIssue(ctx context.Context, title, body string, labels []string) (gitsource.Issue, error) {
	var got gitsource.Issue
	err := f.update(ctx, fmt.Sprintf("open issue %q", title), func(r *records) error {
		now := f.now()
		got = gitsource.Issue{Number: r.take(), Title: title, Body: body, State: gitsource.RequestOpen,
			Author: f.opts.Actor, Labels: appendNew(nil, labels...), Updated: now}
		r.issues[got.Number] = &issueRecord{Issue: got, Created: now}
		return nil
	})
	return got, err
}

// EditIssue replaces an issue's title and body.
func (f *Forge) EditIssue(ctx context.Context, number int, title, body string) error {
	return f.update(ctx, fmt.Sprintf("edit issue #%d", number), func(r *records) error {
		rec, ok := r.issues[number]
		if !ok {
			return &NotFoundError{Number: number, What: "issue"}
		}
		if rec.Title != title || rec.Body != body {
			rec.Title, rec.Body, rec.Updated = title, body, f.now()
		}
		return nil
	})
}

// CloseIssue leaves comment (when not empty) and closes the issue. Closing a closed one is not
// an error.
func (f *Forge) CloseIssue(ctx context.Context, number int, comment string) error {
	return f.update(ctx, fmt.Sprintf("close issue #%d", number), func(r *records) error {
		rec, ok := r.issues[number]
		if !ok {
			return &NotFoundError{Number: number, What: "issue"}
		}
		now := f.now()
		if comment != "" {
			rec.Comments = append(rec.Comments, Comment{Author: f.opts.Actor, Body: comment, Created: now})
			rec.Updated = now
		}
		if rec.State != gitsource.RequestClosed {
			rec.State, rec.Updated = gitsource.RequestClosed, now
		}
		return nil
	})
}
