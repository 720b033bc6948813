package gitsource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// LeaseError is a push refused because the remote branch was not where the caller expected:
// someone (a person, or another stagegate agent) moved it since the cycle planned. Nothing was
// changed on the remote. Transient: the next cycle syncs, sees the new head and plans again.
type LeaseError struct {
	URL      string // redacted
	Branch   string
	Expected string // the sha the push expected, "" for "the branch must not exist"
	Actual   string // the sha the remote had when the push was refused, "" when it has no such branch
}

func (e *LeaseError) Error() string {
	return fmt.Sprintf("push to %s on %s refused: the branch is %s, not %s as this cycle planned: someone else moved it; the next cycle re-plans from the new head",
		e.Branch, e.URL, describeHead(e.Actual), describeHead(e.Expected))
}
func (e *LeaseError) Transient() bool { return true }

func describeHead(sha string) string {
	if sha == "" {
		return "absent"
	}
	return "at " + sha
}

// Push sets the remote's branch (refs/heads/<branch>, e.g. "stagegate/promote/staging") to the
// commit sha, which must be in the mirror (WritePromotion puts it there), only if the remote
// branch is at expect now; expect "" means the branch must not exist yet. The update may be a
// non-fast-forward one: promotion branches are rewritten as the source moves on.
//
// The lease is checked twice. go-git compares expect with the branch the remote advertises and
// refuses before sending anything; and the update it sends names expect as the old value, which
// the server (git receive-pack) checks again under its ref lock, so of two pushes racing with
// the same expect exactly one wins. A refused lease is a *LeaseError and the remote is untouched.
// When the remote already holds sha, Push succeeds without sending: a restarted or second agent
// pushing the same (deterministic) promotion commit is a no-op.
//
// After a successful push the mirror's copy of the branch points at sha too, so the next Sync
// fetches nothing. Push uses the mirror's credentials.
func (m *Mirror) Push(ctx context.Context, branch, sha, expect string) error {
	ref := plumbing.NewBranchReferenceName(branch)
	if err := ref.Validate(); err != nil || branch == "" {
		return fmt.Errorf("push: branch name %q is not valid in git: use a name such as stagegate/promote/staging", branch)
	}
	if expect != "" && !isFullSHA(expect) {
		return fmt.Errorf("push %s: expected head %q is not a full sha: pass the 40-hex sha the cycle read, or \"\" for a new branch", branch, expect)
	}
	err := m.write(ctx, func() error {
		h, err := m.resolve(sha)
		if err != nil {
			return err
		}
		return m.push(ctx, ref, h, plumbing.NewHash(expect))
	})
	if err != nil {
		return fmt.Errorf("push %s to %s: %w", branch, m.url, err)
	}
	m.log.Info("pushed", "branch", branch, "sha", sha, "expected", expect)
	return nil
}

// push runs one push with a lease; the caller holds the write lock.
func (m *Mirror) push(ctx context.Context, ref plumbing.ReferenceName, sha, expect plumbing.Hash) error {
	auth, err := m.creds.auth(ctx, m.rawURL)
	if err != nil {
		return err
	}
	// go-git pushes local refs, and its lease reads the remote-tracking ref of the pushed one
	// even when the lease names a hash. The mirror keeps neither (it mirrors refs/heads/*, and
	// its refs/heads/<branch> must not move before the remote accepts), so the push runs over
	// the mirror's objects with references of its own: the branch at sha, and its
	// remote-tracking ref at expect (a zero hash reference when the branch must not exist, which
	// is what go-git compares with a branch the remote lacks).
	refs := memory.ReferenceStorage{}
	// (go-git names it refs/remotes/origin/<branch> for a branch, and refs/remotes/origin/<full
	// name> for any other ref, such as a pause.)
	tracking := plumbing.ReferenceName("refs/remotes/" + remoteName + "/" + strings.Replace(ref.String(), "refs/heads/", "", 1))
	_ = refs.SetReference(plumbing.NewHashReference(ref, sha))
	_ = refs.SetReference(plumbing.NewHashReference(tracking, expect))
	// No fetch refspecs: go-git then writes nothing back into the storage after the push.
	remote := git.NewRemote(&pushStorage{Storer: m.repo.Storer, refs: refs},
		&gitconfig.RemoteConfig{Name: remoteName, URLs: []string{m.rawURL}})
	err = remote.PushContext(ctx, &git.PushOptions{
		RemoteName:     remoteName,
		RefSpecs:       []gitconfig.RefSpec{gitconfig.RefSpec("+" + ref.String() + ":" + ref.String())},
		Auth:           auth,
		ForceWithLease: &git.ForceWithLease{RefName: ref, Hash: expect},
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		// A refused lease reaches us as text, from go-git ("non-fast-forward update") or from
		// the server's report ("failed to update ref"), like a refusal by a hook or branch
		// protection does. Where the branch is now tells them apart.
		refs, lerr := m.listRefs(ctx)
		if lerr != nil {
			return m.classify(err, m.creds.knownHostsFile)
		}
		actual := refs[ref.String()]
		switch {
		case actual == sha.String():
			// Someone pushed the very same commit first; the branch is where we wanted it.
		case actual != hashOrEmpty(expect):
			return &LeaseError{URL: m.url, Branch: ref.Short(), Expected: hashOrEmpty(expect), Actual: actual}
		default:
			return fmt.Errorf("the remote refused the update: %w: check branch protection rules and that the credentials may push", err)
		}
	}
	if err := m.repo.Storer.SetReference(plumbing.NewHashReference(ref, sha)); err != nil {
		return fmt.Errorf("pushed, but could not record %s in the mirror %s (the next sync fixes it): %w", ref.Short(), m.dir, err)
	}
	return nil
}

func hashOrEmpty(h plumbing.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

// pushStorage is the mirror's storage with references of its own (see push).
type pushStorage struct {
	storage.Storer
	refs memory.ReferenceStorage
}

func (s *pushStorage) SetReference(r *plumbing.Reference) error { return s.refs.SetReference(r) }
func (s *pushStorage) CheckAndSetReference(n, o *plumbing.Reference) error {
	return s.refs.CheckAndSetReference(n, o)
}
func (s *pushStorage) Reference(n plumbing.ReferenceName) (*plumbing.Reference, error) {
	return s.refs.Reference(n)
}
func (s *pushStorage) IterReferences() (storer.ReferenceIter, error) { return s.refs.IterReferences() }
func (s *pushStorage) RemoveReference(n plumbing.ReferenceName) error {
	return s.refs.RemoveReference(n)
}
func (s *pushStorage) CountLooseRefs() (int, error) { return s.refs.CountLooseRefs() }
func (s *pushStorage) PackRefs() error              { return s.refs.PackRefs() }
