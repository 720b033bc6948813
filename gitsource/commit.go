package gitsource

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Commit is one commit's metadata.
type Commit struct {
	SHA            string
	Parents        []string
	Author         string
	AuthorEmail    string
	AuthorTime     time.Time
	Committer      string
	CommitterEmail string
	CommitTime     time.Time
	// Subject is the message's first line.
	Subject string
	// Message is the whole message as stored, subject and trailers included.
	Message string
}

// Resolve turns rev into a full commit sha. rev is a branch name ("env/dev"), a full ref name
// ("refs/heads/env/dev"), a full sha or a unique short sha of at least 4 hex digits, looked up in
// the mirror only (Sync first). A branch wins over a short sha that spells the same, as in git.
// An unknown or ambiguous rev is a *NotFoundError.
func (m *Mirror) Resolve(rev string) (string, error) {
	var sha string
	err := m.read(func() (err error) {
		h, err := m.resolve(rev)
		sha = h.String()
		return err
	})
	return sha, err
}

// resolve is Resolve with the mirror already locked for reading.
func (m *Mirror) resolve(rev string) (plumbing.Hash, error) {
	notFound := &NotFoundError{URL: m.url, Rev: rev}
	if rev == "" {
		return plumbing.ZeroHash, notFound
	}
	for _, name := range []plumbing.ReferenceName{plumbing.NewBranchReferenceName(rev), plumbing.ReferenceName(rev)} {
		if ref, err := m.repo.Storer.Reference(name); err == nil && ref.Type() == plumbing.HashReference {
			return ref.Hash(), nil
		}
	}
	if !isHex(rev) || len(rev) < 4 || len(rev) > 40 {
		return plumbing.ZeroHash, notFound
	}
	if len(rev) == 40 {
		h := plumbing.NewHash(rev)
		if _, err := m.repo.CommitObject(h); err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				return plumbing.ZeroHash, notFound
			}
			return plumbing.ZeroHash, err
		}
		return h, nil
	}
	matches, err := m.commitsWithPrefix(strings.ToLower(rev))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	switch len(matches) {
	case 0:
		return plumbing.ZeroHash, notFound
	case 1:
		return matches[0], nil
	}
	names := make([]string, len(matches))
	for i, h := range matches {
		names[i] = h.String()
	}
	sort.Strings(names)
	notFound.Err = fmt.Errorf("short sha is ambiguous, it matches %s: use more digits", strings.Join(names, ", "))
	return plumbing.ZeroHash, notFound
}

// commitsWithPrefix returns the commits whose sha starts with the hex prefix.
func (m *Mirror) commitsWithPrefix(prefix string) ([]plumbing.Hash, error) {
	st, ok := m.repo.Storer.(*filesystem.Storage)
	if !ok {
		return nil, errors.New("mirror storage cannot look up short shas")
	}
	// The storage matches whole bytes; an odd-length prefix is matched on its even part and
	// then filtered by the full string.
	b, err := hex.DecodeString(prefix[:len(prefix)/2*2])
	if err != nil {
		return nil, err
	}
	hashes, err := st.HashesWithPrefix(b)
	if err != nil {
		return nil, err
	}
	var out []plumbing.Hash
	for _, h := range hashes {
		if !strings.HasPrefix(h.String(), prefix) {
			continue
		}
		// git resolves a short sha to a commit when one matches; blobs and trees sharing the
		// prefix do not make it ambiguous.
		if _, err := m.repo.CommitObject(h); err == nil {
			out = append(out, h)
		}
	}
	return out, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Commit returns the commit that rev (anything Resolve accepts) names.
func (m *Mirror) Commit(rev string) (Commit, error) {
	var c Commit
	err := m.read(func() error {
		obj, err := m.commitObject(rev)
		if err != nil {
			return err
		}
		c = toCommit(obj)
		return nil
	})
	return c, err
}

// commitObject resolves rev and loads its commit; the caller holds the read lock.
func (m *Mirror) commitObject(rev string) (*object.Commit, error) {
	h, err := m.resolve(rev)
	if err != nil {
		return nil, err
	}
	c, err := m.repo.CommitObject(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, &NotFoundError{URL: m.url, Rev: rev}
	}
	if err != nil {
		return nil, fmt.Errorf("read commit %s in the mirror of %s: %w", h, m.url, err)
	}
	return c, nil
}

func toCommit(c *object.Commit) Commit {
	parents := make([]string, len(c.ParentHashes))
	for i, p := range c.ParentHashes {
		parents[i] = p.String()
	}
	subject, _, _ := strings.Cut(c.Message, "\n")
	return Commit{
		SHA:            c.Hash.String(),
		Parents:        parents,
		Author:         c.Author.Name,
		AuthorEmail:    c.Author.Email,
		AuthorTime:     c.Author.When,
		Committer:      c.Committer.Name,
		CommitterEmail: c.Committer.Email,
		CommitTime:     c.Committer.When,
		Subject:        strings.TrimSpace(subject),
		Message:        c.Message,
	}
}

// Short abbreviates a sha to the 7 characters people read in logs, titles and tables.
func Short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}
