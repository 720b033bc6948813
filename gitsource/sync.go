package gitsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// Sync brings the named branches of the mirror up to the remote's heads and returns those heads
// as the mirror now holds them. No branches means every branch of the remote.
//
// It probes first and fetches only the branches whose remote head differs from the mirror's, all
// in one incremental fetch with force refspecs (+refs/heads/X:refs/heads/X: an environment
// branch that was force-pushed is mirrored as it is). An unchanged remote costs one ref
// advertisement and no fetch. A branch the remote lacks fails the whole sync with a
// *BranchNotFoundError before anything is fetched.
func (m *Mirror) Sync(ctx context.Context, branches []string) (Heads, error) {
	return m.sync(ctx, branches, false)
}

// SyncOptional is Sync for branches that may not exist, such as the promotion branches
// ("stagegate/promote/staging"): a branch the remote lacks is left out of the returned Heads
// rather than failing the sync, and the mirror's copy of it, if any, is deleted, so that Resolve
// does not return a promotion branch that was merged and deleted on the remote.
func (m *Mirror) SyncOptional(ctx context.Context, branches []string) (Heads, error) {
	return m.sync(ctx, branches, true)
}

func (m *Mirror) sync(ctx context.Context, branches []string, optional bool) (Heads, error) {
	remote, err := m.Probe(ctx)
	if err != nil {
		return nil, err
	}
	if len(branches) == 0 {
		branches = remote.Names()
	}
	branches = slices.Compact(slices.Sorted(slices.Values(branches)))
	var missing []error
	var gone []string
	for _, b := range branches {
		if _, ok := remote[b]; !ok {
			missing = append(missing, &BranchNotFoundError{Branch: b, URL: m.url, Have: remote.Names()})
			gone = append(gone, b)
		}
	}
	if len(missing) > 0 && !optional {
		return nil, errors.Join(missing...)
	}
	branches = slices.DeleteFunc(branches, func(b string) bool { return slices.Contains(gone, b) })

	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.lock.lock(ctx, true); err != nil {
		return nil, err
	}
	defer m.lock.unlock()
	// Another process sharing the cache may have fetched since this storage indexed its packs.
	m.reindex()
	for _, b := range gone {
		if _, err := m.localHead(b); err == nil {
			if err := m.repo.Storer.RemoveReference(plumbing.NewBranchReferenceName(b)); err != nil {
				return nil, fmt.Errorf("sync %s of %s: remove the mirror's copy of a branch the remote deleted: %w", b, m.url, err)
			}
			m.log.Debug("branch deleted on the remote", "branch", b)
		}
	}

	var specs []gitconfig.RefSpec
	for _, b := range branches {
		if local, _ := m.localHead(b); local != remote[b] {
			specs = append(specs, gitconfig.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/heads/%s", b, b)))
			m.log.Debug("branch moved", "branch", b, "sha", remote[b], "mirror", local)
		}
	}
	if len(specs) > 0 {
		if err := m.fetch(ctx, specs); err != nil {
			return nil, err
		}
	}

	heads := Heads{}
	for _, b := range branches {
		sha, err := m.localHead(b)
		if err != nil {
			return nil, fmt.Errorf("sync %s of %s: mirror has no head after fetch: %w", b, m.url, err)
		}
		heads[b] = sha
		if sha != remote[b] {
			// The remote moved between probe and fetch; the mirror holds the newer head.
			m.log.Debug("branch moved during sync", "branch", b, "sha", sha)
		}
	}
	return heads, nil
}

// fetch runs one fetch of specs; the caller holds mu and the exclusive file lock.
func (m *Mirror) fetch(ctx context.Context, specs []gitconfig.RefSpec) error {
	auth, err := m.creds.auth(ctx, m.rawURL)
	if err != nil {
		return err
	}
	remote, err := m.repo.Remote(remoteName)
	if err != nil {
		return fmt.Errorf("mirror %s: %w", m.dir, err)
	}
	m.fetches.Add(1)
	before := m.packBytes()
	defer func() { m.fetchedBytes.Add(max(m.packBytes()-before, 0)) }()
	err = remote.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   specs,
		Auth:       auth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch: %w", m.classify(err, m.creds.knownHostsFile))
	}
	m.log.Info("fetched", "branches", len(specs))
	return nil
}

// localHead is the mirror's head of branch, or "" and an error when it has none.
func (m *Mirror) localHead(branch string) (string, error) {
	ref, err := m.repo.Storer.Reference(plumbing.NewBranchReferenceName(branch))
	if err != nil {
		return "", err
	}
	return ref.Hash().String(), nil
}

// packBytes is the size of the mirror's pack files: a fetch stores what it received as one
// pack, so the growth across a fetch is the bytes it transferred (compressed, as sent).
func (m *Mirror) packBytes() int64 {
	entries, err := os.ReadDir(filepath.Join(m.dir, "objects", "pack"))
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pack") {
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
	}
	return n
}
