package gitsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// PauseRefPrefix is where pauses live in the repository: refs/stagegate/pause/<pipeline>/<env>.
// A pause is a ref, not a branch: it is no environment's state, and forges do not list it among
// branches, yet it is in Git, so every agent and every restart sees the same pause.
const PauseRefPrefix = "refs/stagegate/pause/"

// Trailer keys of a pause commit.
const (
	// TrailerPausedBy names who paused the environment.
	TrailerPausedBy = "Stagegate-Paused-By"
	// TrailerPausedAt is when, in RFC 3339.
	TrailerPausedAt = "Stagegate-Paused-At"
)

// Pause holds off automatic promotion into one environment until it is resumed. It is recorded
// as a commit (with the empty tree, and no parent) that the ref PauseRefPrefix+Name points to;
// the commit's message says who paused, when and why.
type Pause struct {
	// Name is "<pipeline>/<env>" (PauseName).
	Name string
	// SHA is the pause commit; set by Pause and Paused.
	SHA string
	// By is who paused: a person's login or name.
	By string
	// At is when.
	At time.Time
	// Reason is one line saying why ("rollback of staging to 1a2b3c4, #7").
	Reason string
}

// PauseName is the name of the pause of env in pipeline.
func PauseName(pipeline, env string) string { return pipeline + "/" + env }

// Ref is the pause's ref name.
func (p Pause) Ref() string { return PauseRefPrefix + p.Name }

// Pause records p in the remote: it writes the pause commit and points the pause's ref at it,
// with a lease on what the ref was when Pause read it (a pause already there is replaced, as a
// second rollback replaces the first one's reason). It returns p with SHA set.
func (m *Mirror) Pause(ctx context.Context, p Pause) (Pause, error) {
	ref := plumbing.ReferenceName(p.Ref())
	if err := ref.Validate(); err != nil || p.Name == "" || strings.Contains(p.Name, "..") {
		return p, fmt.Errorf("pause %q: not a valid ref name; use <pipeline>/<env>", p.Name)
	}
	if p.By == "" || p.At.IsZero() {
		return p, fmt.Errorf("pause %s: say who paused and when", p.Name)
	}
	msg, err := FormatMessage("Pause automatic promotion into "+p.Name, oneLine(p.Reason), []Trailer{
		{Key: TrailerPausedBy, Value: oneLine(p.By)},
		{Key: TrailerPausedAt, Value: p.At.UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return p, fmt.Errorf("pause %s: %w", p.Name, err)
	}
	refs, err := m.listRefs(ctx)
	if err != nil {
		return p, err
	}
	err = m.write(ctx, func() error {
		tree := m.repo.Storer.NewEncodedObject()
		if err := (&object.Tree{}).Encode(tree); err != nil {
			return err
		}
		treeHash, err := m.repo.Storer.SetEncodedObject(tree)
		if err != nil {
			return fmt.Errorf("write the empty tree into the mirror %s: %w", m.dir, err)
		}
		sig := object.Signature{Name: oneLine(p.By), Email: DefaultAuthorEmail, When: p.At.UTC()}
		obj := m.repo.Storer.NewEncodedObject()
		c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: treeHash}
		if err := c.Encode(obj); err != nil {
			return err
		}
		h, err := m.repo.Storer.SetEncodedObject(obj)
		if err != nil {
			return fmt.Errorf("write the pause commit into the mirror %s: %w", m.dir, err)
		}
		p.SHA = h.String()
		return m.push(ctx, ref, h, plumbing.NewHash(refs[ref.String()]))
	})
	if err != nil {
		return p, fmt.Errorf("pause %s on %s: %w", p.Name, m.url, err)
	}
	m.log.Info("paused", "pause", p.Name, "sha", p.SHA, "by", p.By)
	return p, nil
}

// Paused returns the pauses in the remote whose names start with prefix ("shop/" for every
// environment of pipeline shop), by name: one ref advertisement, and a fetch only of pause
// commits the mirror does not have yet.
func (m *Mirror) Paused(ctx context.Context, prefix string) (map[string]Pause, error) {
	refs, err := m.listRefs(ctx)
	if err != nil {
		return nil, err
	}
	found := map[string]string{}
	var specs []gitconfig.RefSpec
	err = m.write(ctx, func() error {
		for name, sha := range refs {
			if !strings.HasPrefix(name, PauseRefPrefix+prefix) {
				continue
			}
			found[strings.TrimPrefix(name, PauseRefPrefix)] = sha
			if _, err := m.repo.Storer.EncodedObject(plumbing.CommitObject, plumbing.NewHash(sha)); err != nil {
				specs = append(specs, gitconfig.RefSpec("+"+name+":"+name))
			}
		}
		if len(specs) == 0 {
			return nil
		}
		return m.fetch(ctx, specs)
	})
	if err != nil {
		return nil, fmt.Errorf("read pauses of %s: %w", m.url, err)
	}
	out := make(map[string]Pause, len(found))
	for name, sha := range found {
		c, err := m.Commit(sha)
		if err != nil {
			return nil, fmt.Errorf("read pause %s: %w", name, err)
		}
		out[name] = ReadPause(name, sha, c.Message)
	}
	return out, nil
}

// ReadPause reads a pause commit's message. Whatever it lacks stays empty: a ref under
// PauseRefPrefix pauses its environment whatever its commit says, so a pause pushed by hand
// still holds.
func ReadPause(name, sha, message string) Pause {
	p := Pause{Name: name, SHA: sha}
	paras := strings.Split(strings.TrimSpace(message), "\n\n")
	if len(paras) >= 3 {
		p.Reason = oneLine(strings.Join(paras[1:len(paras)-1], " "))
	}
	for _, t := range Trailers(message) {
		switch t.Key {
		case TrailerPausedBy:
			p.By = t.Value
		case TrailerPausedAt:
			p.At, _ = time.Parse(time.RFC3339, t.Value)
		}
	}
	return p
}

// Resume deletes the pause name from the remote, with a lease on the pause it read, and returns
// it; ok is false when there was none (resuming twice is not an error).
func (m *Mirror) Resume(ctx context.Context, name string) (p Pause, ok bool, err error) {
	pauses, err := m.Paused(ctx, name)
	if err != nil {
		return Pause{}, false, err
	}
	p, ok = pauses[name]
	if !ok {
		return Pause{}, false, nil
	}
	ref := plumbing.ReferenceName(p.Ref())
	err = m.write(ctx, func() error {
		auth, err := m.creds.auth(ctx, m.rawURL)
		if err != nil {
			return err
		}
		remote := git.NewRemote(m.repo.Storer, &gitconfig.RemoteConfig{Name: remoteName, URLs: []string{m.rawURL}})
		err = remote.PushContext(ctx, &git.PushOptions{
			RemoteName: remoteName,
			RefSpecs:   []gitconfig.RefSpec{gitconfig.RefSpec(":" + ref.String())},
			Auth:       auth,
			// The delete names the advertised sha as the old value, which the server checks
			// under its ref lock; this makes that sha the one this call read.
			RequireRemoteRefs: []gitconfig.RefSpec{gitconfig.RefSpec(p.SHA + ":" + ref.String())},
		})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			refs, lerr := m.listRefs(ctx)
			if lerr == nil && refs[ref.String()] != p.SHA {
				return &LeaseError{URL: m.url, Branch: ref.String(), Expected: p.SHA, Actual: refs[ref.String()]}
			}
			return m.classify(err, m.creds.knownHostsFile)
		}
		if err := m.repo.Storer.RemoveReference(ref); err != nil {
			return fmt.Errorf("resumed, but could not remove %s from the mirror %s: %w", ref, m.dir, err)
		}
		return nil
	})
	if err != nil {
		return p, false, fmt.Errorf("resume %s on %s: %w", name, m.url, err)
	}
	m.log.Info("resumed", "pause", name, "sha", p.SHA)
	return p, true, nil
}

// oneLine joins s's lines and runs of spaces into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
