package gitsource

import (
	"context"
	"errors"
	"fmt"
	"sort"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Heads maps branch names ("env/dev") to their head commit's full sha.
type Heads map[string]string

// Names returns the branch names, sorted.
func (h Heads) Names() []string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Probe lists the remote's branches and their heads, like `git ls-remote --heads`: one ref
// advertisement, no objects transferred, and the mirror is not touched. This is the cheap
// per-cycle poll.
func (m *Mirror) Probe(ctx context.Context) (Heads, error) {
	refs, err := m.listRefs(ctx)
	if err != nil {
		return nil, err
	}
	heads := Heads{}
	for name, sha := range refs {
		if r := plumbing.ReferenceName(name); r.IsBranch() {
			heads[r.Short()] = sha
		}
	}
	m.log.Debug("probed", "branches", len(heads))
	return heads, nil
}

// listRefs lists every ref the remote advertises (full name → sha), like `git ls-remote`.
func (m *Mirror) listRefs(ctx context.Context) (map[string]string, error) {
	m.probes.Add(1)
	auth, err := m.creds.auth(ctx, m.rawURL)
	if err != nil {
		return nil, err
	}
	// An in-memory remote: listing needs no storage, so a probe neither waits for nor blocks
	// readers of the mirror.
	remote := git.NewRemote(nil, &gitconfig.RemoteConfig{Name: remoteName, URLs: []string{m.rawURL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("probe: %w", m.classify(err, m.creds.knownHostsFile))
	}
	out := map[string]string{}
	for _, r := range refs {
		if r.Type() == plumbing.HashReference {
			out[r.Name().String()] = r.Hash().String()
		}
	}
	return out, nil
}
