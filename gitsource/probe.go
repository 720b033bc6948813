package gitsource

import (
	"context"
	"errors"
	"fmt"
	"sort"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
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
	auth, err := m.creds.auth(ctx, m.rawURL)
	if err != nil {
		return nil, err
	}
	// An in-memory remote: listing needs no storage, so a probe neither waits for nor blocks
	// readers of the mirror.
	remote := git.NewRemote(nil, &gitconfig.RemoteConfig{Name: remoteName, URLs: []string{m.rawURL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return Heads{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("probe: %w", m.classify(err, m.creds.knownHostsFile))
	}
	heads := Heads{}
	for _, r := range refs {
		if r.Name().IsBranch() {
			heads[r.Name().Short()] = r.Hash().String()
		}
	}
	m.log.Debug("probed", "branches", len(heads))
	return heads, nil
}
