package controller

import (
	"fmt"
	"os"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// maxVerified bounds the cache of verdicts; past it the cache starts again (verifying a commit
// again costs a read of it, nothing more).
const maxVerified = 10000

// signing holds the keys of a pipeline, read once per controller: the keyring of each
// environment that runs the signature gate and the key promotion commits are signed with.
// The files are read when first needed; a restart reads them again.
type signing struct {
	once     sync.Once
	err      error
	key      *openpgp.Entity
	keyrings map[string]*gitsource.Keyring // by environment name

	mu       sync.Mutex
	verified map[string]gitsource.Verification // by environment name + "@" + sha
}

// LoadKeys reads every key file the pipeline names, relative to its config file: the keyrings
// of the signature gates and spec.signing's key, decrypted with its passphrase. The controller
// reads them once, when first needed; the agent calls it at start so that a missing passphrase
// stops it there. config.Load with gitsource.CheckSigning has checked the files; an error here
// is a file changed since, or the passphrase missing, and is terminal until that is fixed.
func (c *Controller) LoadKeys() error {
	s := &c.signing
	s.once.Do(func() {
		p := &c.Pipeline
		s.keyrings = map[string]*gitsource.Keyring{}
		for _, env := range p.Spec.Environments {
			g := env.Gates.Signature
			if g == nil {
				continue
			}
			k, err := gitsource.LoadKeyring(p.Resolve(g.Keyring), p.Resolve(g.AllowedSigners))
			if err != nil {
				s.err = fmt.Errorf("environment %s: gates.signature: %w", env.Name, err)
				return
			}
			s.keyrings[env.Name] = k
		}
		if sg := p.Spec.Signing; sg != nil {
			getenv := c.Getenv
			if getenv == nil {
				getenv = os.Getenv
			}
			var passphrase []byte
			if sg.PassphraseEnv != "" {
				passphrase = []byte(getenv(sg.PassphraseEnv))
			}
			key, err := gitsource.LoadSigningKey(p.Resolve(sg.Key), passphrase)
			if err != nil {
				s.err = fmt.Errorf("spec.signing: %w", err)
				return
			}
			s.key = key
		}
	})
	return s.err
}

// signKey is the key promotion commits are signed with; nil when spec.signing is not set.
func (c *Controller) signKey() (*openpgp.Entity, error) {
	if err := c.LoadKeys(); err != nil {
		return nil, err
	}
	return c.signing.key, nil
}

// gatherSignatures verifies the signatures of the promoted commits and the upstream commits
// they carry, for the signature gate; nothing when the target environment does not run it.
// Verdicts are cached per environment and sha: a commit's signature never changes.
func (c *Controller) gatherSignatures(p *promotion, f *gates.ForgeFacts) error {
	if p.to.Gates.Signature == nil {
		return nil
	}
	if err := c.LoadKeys(); err != nil {
		return err
	}
	if c.signing.key != nil {
		f.PromotionKey = gitsource.Fingerprint(c.signing.key)
	}
	ring := c.signing.keyrings[p.to.Name]
	f.Signatures = []gates.CommitSignature{}
	seen := map[string]bool{}
	for _, cm := range append(append([]gitsource.Commit(nil), p.plan.Commits...), p.plan.Carried...) {
		if seen[cm.SHA] {
			continue
		}
		seen[cm.SHA] = true
		v, err := c.verify(p.to.Name, cm.SHA, ring)
		if err != nil {
			return err
		}
		f.Signatures = append(f.Signatures, gates.CommitSignature{Commit: cm, Verification: v})
	}
	return nil
}

func (c *Controller) verify(env, sha string, ring *gitsource.Keyring) (gitsource.Verification, error) {
	s := &c.signing
	key := env + "@" + sha
	s.mu.Lock()
	v, ok := s.verified[key]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := c.Mirror.VerifyCommit(sha, ring)
	if err != nil {
		return v, err
	}
	s.mu.Lock()
	if s.verified == nil || len(s.verified) >= maxVerified {
		s.verified = map[string]gitsource.Verification{}
	}
	s.verified[key] = v
	s.mu.Unlock()
	return v, nil
}
