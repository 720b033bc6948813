package local

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Merge merges a request into its base branch, guarded by opts.SHA, and returns the commit it
// made on the base; the request is then recorded as merged (closed, with MergeSHA and MergedBy).
//
// The merge is written into the mirror with go-git and pushed to the base with a lease on the
// base's head, so it never overwrites a commit it did not see. Methods:
//
//   - merge: a merge commit of the base's head and the request's head, with the head's tree and
//     opts.Title and opts.Message as its message;
//   - squash: one commit on the base's head with the head's tree and that message;
//   - rebase: the base fast-forwards to the head (a promotion commit's parent is the base's
//     head, so replaying it is the commit itself; opts.Title and Message are ignored, as on
//     GitHub).
//
// Only a request whose head descends from the base's head merges, which every promotion does
// until the base moves; the local forge makes no three-way merges. A base that moved (before
// Merge, or under it, between the read and the push) is a *gitsource.NotMergeableError: the
// controller re-plans onto the new base. A head that is not opts.SHA is a
// *gitsource.HeadMovedError. Merging again a request already merged at opts.SHA returns its
// merge commit.
func (f *Forge) Merge(ctx context.Context, number int, opts gitsource.MergeOptions) (string, error) {
	req, err := f.Request(ctx, number)
	if err != nil {
		return "", err
	}
	if req.Merged {
		if opts.SHA == "" || opts.SHA == req.HeadSHA {
			return req.MergeSHA, nil
		}
		return "", &gitsource.NotMergeableError{Number: number, Reason: "already merged at " + req.HeadSHA}
	}
	if req.State != gitsource.RequestOpen {
		return "", &gitsource.NotMergeableError{Number: number, Reason: "the request is closed"}
	}
	heads, err := f.m.SyncOptional(ctx, []string{req.Head, req.Base})
	if err != nil {
		return "", err
	}
	head, base := heads[req.Head], heads[req.Base]
	switch {
	case head == "":
		return "", &gitsource.NotMergeableError{Number: number, Reason: "its branch " + req.Head + " is gone"}
	case base == "":
		return "", &gitsource.NotMergeableError{Number: number, Reason: "its base branch " + req.Base + " is gone"}
	case opts.SHA != "" && !strings.EqualFold(head, opts.SHA):
		return "", &gitsource.HeadMovedError{Number: number, SHA: opts.SHA}
	}
	if ok, err := f.m.IsAncestor(ctx, base, head); err != nil {
		return "", err
	} else if !ok {
		return "", &gitsource.NotMergeableError{Number: number, Reason: fmt.Sprintf("%s moved to %s, which %s does not contain: the local forge makes no three-way merges; the next cycle writes the promotion onto the new head", req.Base, gitsource.Short(base), req.Head)}
	}

	merged := head
	author := gitsource.Signature{Name: f.opts.Actor, Email: f.opts.Email, When: f.now()}
	title := strings.TrimSpace(opts.Title)
	switch opts.Method {
	case "", "merge":
		if title == "" {
			title = fmt.Sprintf("Merge request #%d from %s", number, req.Head)
		}
		merged, err = f.m.WriteCommit(ctx, gitsource.NewCommit{Tree: head, Parents: []string{base, head}, Message: message(title, opts.Message), Author: author})
	case "squash":
		if title == "" {
			title = fmt.Sprintf("%s (#%d)", req.Title, number)
		}
		merged, err = f.m.WriteCommit(ctx, gitsource.NewCommit{Tree: head, Parents: []string{base}, Message: message(title, opts.Message), Author: author})
	case "rebase":
	default:
		return "", fmt.Errorf("merge #%d: method %q: want merge, squash or rebase", number, opts.Method)
	}
	if err != nil {
		return "", err
	}
	err = f.m.PushRef(ctx, "refs/heads/"+req.Base, merged, base)
	var lease *gitsource.LeaseError
	if errors.As(err, &lease) {
		return "", &gitsource.NotMergeableError{Number: number, Reason: fmt.Sprintf("%s moved while merging (%s): the next cycle re-plans", req.Base, lease.Actual)}
	}
	if err != nil {
		return "", fmt.Errorf("merge #%d: %w", number, err)
	}
	err = f.update(ctx, fmt.Sprintf("merge #%d into %s (%s) by %s", number, req.Base, merged, f.opts.Actor), func(r *records) error {
		rec, err := r.request(number)
		if err != nil {
			return err
		}
		now := f.now()
		rec.State, rec.Merged, rec.MergeSHA, rec.MergedBy = gitsource.RequestClosed, true, merged, f.opts.Actor
		rec.HeadSHA, rec.Closed, rec.Updated = head, now, now
		return nil
	})
	if err != nil {
		// The base moved and nothing can take that back; what is lost is the record. The next
		// cycle finds nothing left to promote and closes the request.
		return merged, fmt.Errorf("merge #%d: %s is at the merge %s, but recording the merge failed: %w", number, req.Base, merged, err)
	}
	f.opts.Log.InfoContext(ctx, "local forge: merged", "pr", number, "merge", merged, "method", opts.Method)
	return merged, nil
}

// message joins a merge commit's title and message as GitHub does: title, a blank line, message.
func message(title, msg string) string {
	if msg = strings.TrimSpace(msg); msg == "" {
		return title + "\n"
	}
	return title + "\n\n" + msg + "\n"
}
