package local

import (
	"context"
	"fmt"
	"slices"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Requests lists requests from head into base ("" for any) in the given state, newest first.
// An open request's HeadSHA is its head branch's head on the remote now, as on GitHub.
func (f *Forge) Requests(ctx context.Context, head, base string, state gitsource.RequestState) ([]gitsource.Request, error) {
	r, _, _, err := f.load(ctx)
	if err != nil {
		return nil, err
	}
	var out []gitsource.Request
	for _, rec := range r.requests {
		if (head == "" || rec.Head == head) && (base == "" || rec.Base == base) && (state == gitsource.RequestAll || rec.State == state) {
			out = append(out, rec.Request)
		}
	}
	slices.SortFunc(out, func(a, b gitsource.Request) int { return b.Number - a.Number })
	return f.withHeads(ctx, out)
}

// Request returns one request by number.
func (f *Forge) Request(ctx context.Context, number int) (gitsource.Request, error) {
	r, _, _, err := f.load(ctx)
	if err != nil {
		return gitsource.Request{}, err
	}
	rec, err := r.request(number)
	if err != nil {
		return gitsource.Request{}, err
	}
	out, err := f.withHeads(ctx, []gitsource.Request{rec.Request})
	if err != nil {
		return gitsource.Request{}, err
	}
	return out[0], nil
}

// withHeads sets open requests' HeadSHA to their branch's head on the remote; a request whose
// branch is gone keeps the head last recorded.
func (f *Forge) withHeads(ctx context.Context, rs []gitsource.Request) ([]gitsource.Request, error) {
	if !slices.ContainsFunc(rs, func(r gitsource.Request) bool { return r.State == gitsource.RequestOpen }) {
		return rs, nil
	}
	heads, err := f.m.Probe(ctx)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		if sha, ok := heads[rs[i].Head]; ok && rs[i].State == gitsource.RequestOpen {
			rs[i].HeadSHA = sha
		}
	}
	return rs, nil
}

// OpenRequest opens a request from an existing branch; *gitsource.RequestExistsError when one
// is open for the same head and base. Requests and issues share one sequence of numbers.
func (f *Forge) OpenRequest(ctx context.Context, nr gitsource.NewRequest) (gitsource.Request, error) {
	heads, err := f.m.Probe(ctx)
	if err != nil {
		return gitsource.Request{}, err
	}
	if heads[nr.Head] == "" || heads[nr.Base] == "" {
		return gitsource.Request{}, fmt.Errorf("open request %s → %s: the remote has no branch %s: push it first", nr.Head, nr.Base, missing(heads, nr.Head, nr.Base))
	}
	var got gitsource.Request
	err = f.update(ctx, fmt.Sprintf("open request %s → %s", nr.Head, nr.Base), func(r *records) error {
		for _, rec := range r.requests {
			if rec.State == gitsource.RequestOpen && rec.Head == nr.Head && rec.Base == nr.Base {
				return &gitsource.RequestExistsError{Head: nr.Head, Base: nr.Base}
			}
		}
		now := f.now()
		got = gitsource.Request{
			Number: r.take(), Title: nr.Title, Body: nr.Body,
			Head: nr.Head, HeadSHA: heads[nr.Head], Base: nr.Base, State: gitsource.RequestOpen,
			Author: f.opts.Actor, Labels: appendNew(nil, nr.Labels...), Created: now, Updated: now,
		}
		r.requests[got.Number] = &requestRecord{Request: got}
		return nil
	})
	return got, err
}

func missing(heads gitsource.Heads, names ...string) string {
	for _, n := range names {
		if heads[n] == "" {
			return n
		}
	}
	return ""
}

// take returns the next number of a request or issue.
func (r *records) take() int {
	n := r.next
	for r.requests[n] != nil || r.issues[n] != nil {
		n++
	}
	r.next = n + 1
	return n
}

// EditRequest replaces a request's title and body.
func (f *Forge) EditRequest(ctx context.Context, number int, title, body string) error {
	return f.update(ctx, fmt.Sprintf("edit request #%d", number), func(r *records) error {
		rec, err := r.request(number)
		if err != nil {
			return err
		}
		if rec.Title != title || rec.Body != body {
			rec.Title, rec.Body, rec.Updated = title, body, f.now()
		}
		return nil
	})
}

// CloseRequest leaves comment (when not empty) and closes the request. Closing a closed one
// is not an error.
func (f *Forge) CloseRequest(ctx context.Context, number int, comment string) error {
	return f.update(ctx, fmt.Sprintf("close request #%d", number), func(r *records) error {
		rec, err := r.request(number)
		if err != nil {
			return err
		}
		now := f.now()
		if comment != "" {
			rec.Comments = append(rec.Comments, Comment{Author: f.opts.Actor, Body: comment, Created: now})
			rec.Updated = now
		}
		if rec.State != gitsource.RequestClosed {
			rec.State, rec.Closed, rec.Updated = gitsource.RequestClosed, now, now
		}
		return nil
	})
}

// Comment leaves a comment on a request or an issue.
func (f *Forge) Comment(ctx context.Context, number int, body string) error {
	return f.update(ctx, fmt.Sprintf("comment on #%d", number), func(r *records) error {
		c := Comment{Author: f.opts.Actor, Body: body, Created: f.now()}
		if rec, ok := r.requests[number]; ok {
			rec.Comments, rec.Updated = append(rec.Comments, c), c.Created
			return nil
		}
		if rec, ok := r.issues[number]; ok {
			rec.Comments, rec.Updated = append(rec.Comments, c), c.Created
			return nil
		}
		return &NotFoundError{Number: number, What: "request or issue"}
	})
}

// Comments lists the comments on a request or an issue, oldest first.
func (f *Forge) Comments(ctx context.Context, number int) ([]Comment, error) {
	r, _, _, err := f.load(ctx)
	if err != nil {
		return nil, err
	}
	if rec, ok := r.requests[number]; ok {
		return rec.Comments, nil
	}
	if rec, ok := r.issues[number]; ok {
		return rec.Comments, nil
	}
	return nil, &NotFoundError{Number: number, What: "request or issue"}
}

// AddLabels adds labels to a request; labels it already has stay once.
func (f *Forge) AddLabels(ctx context.Context, number int, labels ...string) error {
	if len(labels) == 0 {
		return nil
	}
	return f.update(ctx, fmt.Sprintf("label #%d", number), func(r *records) error {
		rec, err := r.request(number)
		if err != nil {
			return err
		}
		if l := appendNew(slices.Clone(rec.Labels), labels...); len(l) != len(rec.Labels) {
			rec.Labels, rec.Updated = l, f.now()
		}
		return nil
	})
}
