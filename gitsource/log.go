package gitsource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// errLimit stops a walk once limit commits are collected.
var errLimit = errors.New("limit reached")

// Log returns the commits reachable from head and not from stop, newest first by commit time,
// like `git log stop..head`. stop "" means the whole history of head; limit ≤ 0 means no limit.
// head and stop are anything Resolve accepts.
func (m *Mirror) Log(ctx context.Context, head, stop string, limit int) ([]Commit, error) {
	var out []Commit
	err := m.read(func() error {
		out = nil
		from, err := m.commitObject(head)
		if err != nil {
			return err
		}
		// The commits reachable from stop are walked first and handed to the main walk as
		// already seen, which both excludes them and stops the walk at them.
		seen := map[plumbing.Hash]bool{}
		if stop != "" {
			to, err := m.commitObject(stop)
			if err != nil {
				return err
			}
			err = object.NewCommitPreorderIter(to, nil, nil).ForEach(func(c *object.Commit) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				seen[c.Hash] = true
				return nil
			})
			if err != nil {
				return err
			}
		}
		err = object.NewCommitIterCTime(from, seen, nil).ForEach(func(c *object.Commit) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			out = append(out, toCommit(c))
			if limit > 0 && len(out) >= limit {
				return errLimit
			}
			return nil
		})
		if errors.Is(err, errLimit) || errors.Is(err, storer.ErrStop) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("log %s..%s: %w", stop, head, err)
	}
	return out, nil
}

// FirstParents returns head's first-parent chain, newest first, like `git log --first-parent`:
// the commits as they landed on a branch, each merge standing for what it merged. The walk stops
// before the first commit whose commit time is before since (zero: no bound) and after limit
// commits (≤ 0: no limit); more reports that the chain went on.
func (m *Mirror) FirstParents(ctx context.Context, head string, since time.Time, limit int) (commits []Commit, more bool, err error) {
	err = m.read(func() error {
		commits, more = nil, false
		c, err := m.commitObject(head)
		if err != nil {
			return err
		}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !since.IsZero() && c.Committer.When.Before(since) {
				more = true
				return nil
			}
			if limit > 0 && len(commits) >= limit {
				more = true
				return nil
			}
			commits = append(commits, toCommit(c))
			if len(c.ParentHashes) == 0 {
				return nil
			}
			parent, err := m.repo.CommitObject(c.ParentHashes[0])
			if err != nil {
				return fmt.Errorf("first parent of %s: %w", Short(c.Hash.String()), err)
			}
			c = parent
		}
	})
	if err != nil {
		return nil, false, fmt.Errorf("log --first-parent %s: %w", head, err)
	}
	return commits, more, nil
}
