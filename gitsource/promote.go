package gitsource

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Default identity of promotion commits whose Promotion.Author leaves it empty.
const (
	DefaultAuthorName  = "stagegate"
	DefaultAuthorEmail = "stagegate@localhost"
)

// Promotion describes a promotion commit: the target environment's head as parent, the source
// commit's tree, and a message of a summary plus trailers.
type Promotion struct {
	// Target is the target environment's branch ("env/staging"). The commit's parent is the
	// mirror's head of it (Sync it first), unless ParentSHA is set.
	Target string
	// ParentSHA, when set, is the parent instead of Target's head in the mirror: the head the
	// cycle planned against, so the commit does not silently pick up a newer one.
	ParentSHA string
	// SourceBranch and SourceSHA name the promoted commit; its tree becomes the commit's tree.
	// SourceSHA is anything Resolve accepts; the trailer always records the full sha.
	SourceBranch string
	SourceSHA    string
	// Subject is the message's first line, e.g. "Promote 1a2b3c4 to staging".
	Subject string
	// Body is free text between the subject and the trailers, e.g. the promoted commits' subjects.
	Body string
	// Trailers end the message. Stagegate-Source (SourceBranch@SourceSHA) is put first when
	// missing; one that names another commit is an error.
	Trailers []Trailer
	// Author is also the committer. Empty Name and Email default to DefaultAuthorName and
	// DefaultAuthorEmail. A zero When defaults to the later of the parent's and the source
	// commit's commit times, not to the clock: the same promotion then always has the same sha,
	// so a restarted or second agent writes the identical commit, the push of it is a no-op and
	// the statuses already attached to that sha stay valid.
	Author Signature
	// SignKey, when set, signs the commit (an OpenPGP signature in the gpgsig header, as
	// `git commit -S` writes it), so the environment branch carries a chain `git verify-commit`
	// and the signature gate can check. The signature's creation time is the commit's time (or
	// the key's creation, if later), not the clock, so with an RSA or Ed25519 key (whose signatures are deterministic) the same
	// promotion is still the same sha; other key types sign with randomness, and then a
	// rewritten promotion gets a new sha. It must hold a usable private signing key.
	SignKey *openpgp.Entity
}

// Signature is a commit's author or committer.
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// WritePromotion writes the promotion commit p into the mirror (an object only: no branch
// moves, no working copy) and returns its sha. Writing the same promotion twice returns the same
// sha and writes nothing the second time. Push puts it on a branch of the remote.
func (m *Mirror) WritePromotion(ctx context.Context, p Promotion) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("promotion to %s: %w", p.Target, err)
	}
	var sha string
	err := m.write(ctx, func() error {
		parent, err := m.promotionParent(p)
		if err != nil {
			return err
		}
		source, err := m.commitObject(p.SourceSHA)
		if err != nil {
			return fmt.Errorf("source commit: %w", err)
		}
		trailers, err := withSource(p.Trailers, p.SourceBranch+"@"+source.Hash.String())
		if err != nil {
			return err
		}
		msg, err := FormatMessage(p.Subject, p.Body, trailers)
		if err != nil {
			return err
		}
		sig := object.Signature{Name: p.Author.Name, Email: p.Author.Email, When: p.Author.When}
		if sig.Name == "" {
			sig.Name = DefaultAuthorName
		}
		if sig.Email == "" {
			sig.Email = DefaultAuthorEmail
		}
		if sig.When.IsZero() {
			sig.When = source.Committer.When
			if parent.Committer.When.After(sig.When) {
				sig.When = parent.Committer.When
			}
		}
		c := &object.Commit{
			Author:       sig,
			Committer:    sig,
			Message:      msg,
			TreeHash:     source.TreeHash,
			ParentHashes: []plumbing.Hash{parent.Hash},
		}
		if p.SignKey != nil {
			if c.PGPSignature, err = signCommit(c, p.SignKey); err != nil {
				return err
			}
		}
		obj := m.repo.Storer.NewEncodedObject()
		if err := c.Encode(obj); err != nil {
			return err
		}
		h := obj.Hash()
		if m.repo.Storer.HasEncodedObject(h) != nil {
			if h, err = m.repo.Storer.SetEncodedObject(obj); err != nil {
				return fmt.Errorf("write commit into the mirror %s (check the disk and the directory's permissions): %w", m.dir, err)
			}
		}
		sha = h.String()
		m.log.Info("wrote promotion commit", "env", p.Target, "sha", sha, "source", source.Hash.String())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("promotion to %s: %w", p.Target, err)
	}
	return sha, nil
}

func (p Promotion) validate() error {
	var errs []error
	if p.Target == "" && p.ParentSHA == "" {
		errs = append(errs, errors.New("no target: set Target (the target branch) or ParentSHA"))
	}
	if p.SourceBranch == "" || p.SourceSHA == "" {
		errs = append(errs, errors.New("no source: set SourceBranch and SourceSHA, they make the Stagegate-Source trailer"))
	}
	return errors.Join(errs...)
}

// promotionParent is ParentSHA's commit, else the mirror's head of Target; mirror locked.
func (m *Mirror) promotionParent(p Promotion) (*object.Commit, error) {
	if p.ParentSHA != "" {
		c, err := m.commitObject(p.ParentSHA)
		if err != nil {
			return nil, fmt.Errorf("parent: %w", err)
		}
		return c, nil
	}
	ref, err := m.repo.Storer.Reference(plumbing.NewBranchReferenceName(p.Target))
	if err != nil {
		return nil, fmt.Errorf("the mirror of %s has no branch %s: sync it before writing a promotion onto it", m.url, p.Target)
	}
	return m.commitObject(ref.Hash().String())
}

// withSource returns trailers with a Stagegate-Source trailer of source put first, unless one is
// there already; one that names another commit is an error, since the commit's tree is source's.
func withSource(trailers []Trailer, source string) ([]Trailer, error) {
	for _, t := range trailers {
		if strings.EqualFold(t.Key, TrailerSource) {
			if strings.TrimSpace(t.Value) != source {
				return nil, fmt.Errorf("the %s trailer given, %q, is not the promoted commit %s: leave it out and it is added", TrailerSource, t.Value, source)
			}
			return trailers, nil
		}
	}
	return append([]Trailer{{Key: TrailerSource, Value: source}}, trailers...), nil
}

// trailerKey is a key Trailers reads back (see trailerLine).
var trailerKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// FormatMessage builds a commit message from a one-line subject, a free-text body ("" for none)
// and trailers, the inverse of Trailers: when trailers is not empty, Trailers of the result
// returns exactly trailers, with each value trimmed of surrounding white space. The subject and
// the body are also trimmed at the end, and the message ends in a newline, as git writes them.
//
// A subject must be one non-empty line; a trailer key must be letters, digits and dashes,
// starting with a letter or digit; a value must be one line. Anything else is an error (rather
// than a silently rewritten message that reads back differently).
func FormatMessage(subject, body string, trailers []Trailer) (string, error) {
	var errs []error
	subject = strings.TrimRightFunc(subject, unicode.IsSpace)
	switch {
	case strings.TrimSpace(subject) == "":
		errs = append(errs, errors.New("commit subject is empty: give the promotion a one-line summary"))
	case strings.ContainsAny(subject, "\r\n"):
		errs = append(errs, fmt.Errorf("commit subject %q spans lines: put everything after the first line in the body", subject))
	}
	for _, t := range trailers {
		if !trailerKey.MatchString(t.Key) {
			errs = append(errs, fmt.Errorf("trailer key %q: use letters, digits and dashes, starting with a letter or digit", t.Key))
		}
		if strings.ContainsAny(t.Value, "\r\n") {
			errs = append(errs, fmt.Errorf("trailer %s: value %q spans lines: a trailer value is one line", t.Key, t.Value))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(subject)
	b.WriteString("\n")
	if body = strings.TrimRightFunc(body, unicode.IsSpace); strings.TrimSpace(body) != "" {
		b.WriteString("\n")
		b.WriteString(strings.TrimLeft(body, "\r\n"))
		b.WriteString("\n")
	}
	if len(trailers) > 0 {
		b.WriteString("\n")
		for _, t := range trailers {
			b.WriteString(t.Key)
			b.WriteString(": ")
			b.WriteString(strings.TrimSpace(t.Value))
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}

// Equivalent reports whether the commits a and b (anything Resolve accepts) have the same
// parents, in the same order, and the same tree: two promotion commits that differ only in their
// messages (gate verdicts, body) promote the same change onto the same head, so a review of one
// counts for the other.
func (m *Mirror) Equivalent(a, b string) (bool, error) {
	var same bool
	err := m.read(func() error {
		ca, err := m.commitObject(a)
		if err != nil {
			return err
		}
		cb, err := m.commitObject(b)
		if err != nil {
			return err
		}
		same = ca.TreeHash == cb.TreeHash && slices.Equal(ca.ParentHashes, cb.ParentHashes)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("compare %s with %s: %w", a, b, err)
	}
	return same, nil
}

// write runs fn with the mirror locked for writing: this process's lock and the exclusive
// cross-process lock, with packs written by other processes made visible first.
func (m *Mirror) write(ctx context.Context, fn func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.lock.lock(ctx, true); err != nil {
		return err
	}
	defer m.lock.unlock()
	m.reindex()
	return fn()
}

// signCommit returns the armored OpenPGP signature of c, made at c's commit time.
func signCommit(c *object.Commit, key *openpgp.Entity) (string, error) {
	payload := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(payload); err != nil {
		return "", err
	}
	r, err := payload.Reader()
	if err != nil {
		return "", err
	}
	// The commit's time keeps the signature deterministic; a key made after the commit cannot
	// sign at that time, so then the key's (as fixed) creation time is used.
	when := c.Committer.When
	if t := key.PrimaryKey.CreationTime; t.After(when) {
		when = t
	}
	for _, sk := range key.Subkeys {
		if t := sk.PublicKey.CreationTime; sk.PublicKey.CanSign() && t.After(when) {
			when = t
		}
	}
	// go-crypto salts signatures with a random notation by default, a defence against fault
	// attacks on the signing machine; a promotion commit wants the same bytes each time instead.
	random := false
	cfg := &packet.Config{Time: func() time.Time { return when }, NonDeterministicSignaturesViaNotation: &random}
	var sig strings.Builder
	if err := openpgp.ArmoredDetachSign(&sig, key, r, cfg); err != nil {
		return "", fmt.Errorf("sign the promotion commit with key %X (check that it holds an unlocked private signing key): %w", key.PrimaryKey.Fingerprint, err)
	}
	return sig.String(), nil
}
