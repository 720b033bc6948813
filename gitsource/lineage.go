package gitsource

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// LineageResult is what the target environment has that the source does not.
type LineageResult struct {
	// Base is the commit the target's own changes are counted from: its last promotion commit,
	// else the merge base of source and target; "" when neither exists (unrelated histories:
	// then every path of the target counts as the target's own).
	Base string
	// BaseIsPromotion is true when Base is a promotion commit, false for a merge base.
	BaseIsPromotion bool
	// Missing lists the paths, sorted, whose content the target changed since Base and the
	// source does not have: promoting the source's tree would undo those changes.
	Missing []string
	// Commits are the target's commits since Base that touched a missing path, newest first:
	// the commits to back-port to the source. Promotion commits and merges are left out (a merge
	// brings commits that are listed themselves).
	Commits []Commit
}

// Lineage reports the target's changes that the source does not have, for the lineage gate.
// source and target are the heads of the source and target environments (anything Resolve
// accepts; both must be in the mirror).
//
// The definition, in three steps:
//
//  1. The base is the target's last promotion commit: the newest commit reachable from target,
//     by commit time, whose Stagegate-Source trailer is well formed (any source branch). Its
//     tree is what was promoted. With no promotion commit, the base is the merge base of source
//     and target; with none of those either, the empty tree.
//  2. The target's own changes are the paths (files, symlinks and submodules, not directories)
//     whose entry differs between the base's tree and the target's tree: added, modified,
//     deleted, or with a changed mode. A change later reverted on the target is no change.
//  3. Such a path is missing from the source when the source's entry at it differs from the
//     target's (content or mode; absent counts as an entry). A hotfix back-ported to the
//     source with the same content is therefore not missing, whichever commits carried it.
//
// The commits are those reachable from target and not from the base that are neither
// promotion commits nor merges and that changed a missing path relative to their parent.
func (m *Mirror) Lineage(ctx context.Context, source, target string) (LineageResult, error) {
	var res LineageResult
	err := m.read(func() error {
		res = LineageResult{}
		src, err := m.commitObject(source)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		tgt, err := m.commitObject(target)
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		base, isPromotion, err := lineageBase(ctx, src, tgt)
		if err != nil {
			return err
		}
		var baseTree *object.Tree
		if base != nil {
			res.Base, res.BaseIsPromotion = base.Hash.String(), isPromotion
			if baseTree, err = base.Tree(); err != nil {
				return err
			}
		}
		tgtTree, err := tgt.Tree()
		if err != nil {
			return err
		}
		srcTree, err := src.Tree()
		if err != nil {
			return err
		}
		changes, err := object.DiffTreeWithOptions(ctx, baseTree, tgtTree, nil)
		if err != nil {
			return err
		}
		missing := map[string]bool{}
		for _, c := range changes {
			p := c.To.Name
			if p == "" {
				p = c.From.Name
			}
			if entryAt(srcTree, p) != entryAt(tgtTree, p) {
				missing[p] = true
				res.Missing = append(res.Missing, p)
			}
		}
		sort.Strings(res.Missing)
		if len(missing) == 0 {
			return nil
		}
		res.Commits, err = m.touching(ctx, tgt, base, missing)
		return err
	})
	if err != nil {
		return LineageResult{}, fmt.Errorf("lineage of %s against %s: %w", target, source, err)
	}
	return res, nil
}

// lineageBase finds step 1's base: the newest promotion commit on target, else the merge base.
func lineageBase(ctx context.Context, src, tgt *object.Commit) (*object.Commit, bool, error) {
	var found *object.Commit
	err := object.NewCommitIterCTime(tgt, nil, nil).ForEach(func(c *object.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, _, ok, err := Source(c.Message); ok && err == nil {
			found = c
			return storer.ErrStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, storer.ErrStop) {
		return nil, false, err
	}
	if found != nil {
		return found, true, nil
	}
	bases, err := src.MergeBase(tgt)
	if err != nil {
		return nil, false, fmt.Errorf("merge base: %w", err)
	}
	if len(bases) == 0 {
		return nil, false, nil
	}
	// Criss-cross histories have several best bases; take the newest, deterministically.
	sort.Slice(bases, func(i, j int) bool {
		if !bases[i].Committer.When.Equal(bases[j].Committer.When) {
			return bases[i].Committer.When.After(bases[j].Committer.When)
		}
		return bases[i].Hash.String() < bases[j].Hash.String()
	})
	return bases[0], false, nil
}

// entry is a path's entry in a tree; the zero value means absent.
type entry struct {
	mode filemode.FileMode
	hash plumbing.Hash
}

func entryAt(t *object.Tree, p string) entry {
	if t == nil {
		return entry{}
	}
	e, err := t.FindEntry(p)
	if err != nil {
		return entry{}
	}
	return entry{mode: e.Mode, hash: e.Hash}
}

// touching returns the non-promotion, non-merge commits reachable from tgt and not from base
// that changed one of paths relative to their parent, newest first.
func (m *Mirror) touching(ctx context.Context, tgt, base *object.Commit, paths map[string]bool) ([]Commit, error) {
	seen := map[plumbing.Hash]bool{}
	if base != nil {
		err := object.NewCommitPreorderIter(base, nil, nil).ForEach(func(c *object.Commit) error {
			seen[c.Hash] = true
			return ctx.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	var out []Commit
	err := object.NewCommitIterCTime(tgt, seen, nil).ForEach(func(c *object.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(c.ParentHashes) > 1 {
			return nil
		}
		if _, _, ok, _ := Source(c.Message); ok {
			return nil
		}
		tree, err := c.Tree()
		if err != nil {
			return err
		}
		var parent *object.Tree
		if len(c.ParentHashes) == 1 {
			p, err := c.Parent(0)
			if err != nil {
				return err
			}
			if parent, err = p.Tree(); err != nil {
				return err
			}
		}
		for p := range paths {
			if entryAt(tree, p) != entryAt(parent, p) {
				out = append(out, toCommit(c))
				break
			}
		}
		return nil
	})
	return out, err
}
