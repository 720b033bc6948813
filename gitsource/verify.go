package gitsource

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
)

// SignatureStatus is what verifying a commit's signature found.
type SignatureStatus string

// Signature statuses.
const (
	// Verified: signed by a key of the keyring (or an allowed SSH signer), and the signature holds.
	Verified SignatureStatus = "verified"
	// Unsigned: the commit carries no signature.
	Unsigned SignatureStatus = "unsigned"
	// UnknownSigner: signed, by a key the keyring does not hold.
	UnknownSigner SignatureStatus = "unknown-signer"
	// BadSignature: the signature does not verify (the commit was changed after signing, the
	// key expired or was revoked, the signature cannot be read).
	BadSignature SignatureStatus = "bad-signature"
)

// SignatureKind is the format of a commit signature.
type SignatureKind string

// Signature kinds, as git's gpg.format names them.
const (
	SignaturePGP SignatureKind = "openpgp"
	SignatureSSH SignatureKind = "ssh"
)

// Verification is the verdict on one commit's signature.
type Verification struct {
	Status SignatureStatus `json:"status"`
	// Kind of the signature; empty when unsigned.
	Kind SignatureKind `json:"kind,omitempty"`
	// KeyID names the signing key: an OpenPGP key's fingerprint in upper-case hex (once verified,
	// the primary key's, also when a subkey signed; for an unknown key, the issuer the signature
	// names, a 16-hex-digit key ID when it names no fingerprint), or an SSH key's SHA256
	// fingerprint ("SHA256:…"), as `git log --show-signature` prints them.
	KeyID string `json:"keyID,omitempty"`
	// Signer is who the keyring says the key belongs to: the OpenPGP key's primary user ID, or
	// the principals of its allowed-signers line. Empty unless verified.
	Signer string `json:"signer,omitempty"`
	// Reason says why the signature did not verify; empty when verified or unsigned.
	Reason string `json:"reason,omitempty"`
}

// Keyring holds the keys commit signatures are checked against: OpenPGP public keys and SSH
// allowed signers. The zero Keyring knows no key. It is safe for concurrent use once built.
type Keyring struct {
	pgp openpgp.EntityList
	ssh []allowedSigner
}

// ParseKeyring reads an OpenPGP keyring (armored, as `gpg --export --armor` writes it, or
// binary) and an SSH allowed signers file (see parseAllowedSigners); either may be nil.
func ParseKeyring(pgpKeys, allowedSigners []byte) (*Keyring, error) {
	k := &Keyring{}
	if len(pgpKeys) > 0 {
		list, err := readPGPKeys(pgpKeys)
		if err != nil {
			return nil, fmt.Errorf("OpenPGP keyring: %w", err)
		}
		if len(list) == 0 {
			return nil, errors.New("OpenPGP keyring: no public key in it; export keys with gpg --export --armor KEYID")
		}
		k.pgp = list
	}
	if allowedSigners != nil {
		signers, err := parseAllowedSigners(allowedSigners)
		if err != nil {
			return nil, err
		}
		k.ssh = signers
	}
	return k, nil
}

func readPGPKeys(b []byte) (openpgp.EntityList, error) {
	if bytes.Contains(b, []byte("-----BEGIN PGP")) {
		var all openpgp.EntityList
		// A file may hold several armored blocks, one per exported key.
		rest := b
		for {
			i := bytes.Index(rest, []byte("-----BEGIN PGP"))
			if i < 0 {
				return all, nil
			}
			block, err := armor.Decode(bytes.NewReader(rest[i:]))
			if err != nil {
				return nil, err
			}
			if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
				return nil, fmt.Errorf("armored block %q is not a key; export keys with gpg --export --armor KEYID", block.Type)
			}
			list, err := openpgp.ReadKeyRing(block.Body)
			if err != nil {
				return nil, err
			}
			all = append(all, list...)
			end := bytes.Index(rest[i:], []byte("-----END PGP"))
			if end < 0 {
				return all, nil
			}
			rest = rest[i+end+len("-----END PGP"):]
		}
	}
	return openpgp.ReadKeyRing(bytes.NewReader(b))
}

// Empty says whether the keyring holds no key at all.
func (k *Keyring) Empty() bool { return k == nil || len(k.pgp) == 0 && len(k.ssh) == 0 }

// Has says whether the keyring holds the OpenPGP key (primary or subkey) with the given
// fingerprint, in hex.
func (k *Keyring) Has(fingerprint string) bool {
	if k == nil {
		return false
	}
	for _, e := range k.pgp {
		if strings.EqualFold(hex.EncodeToString(e.PrimaryKey.Fingerprint), fingerprint) {
			return true
		}
		for _, s := range e.Subkeys {
			if strings.EqualFold(hex.EncodeToString(s.PublicKey.Fingerprint), fingerprint) {
				return true
			}
		}
	}
	return false
}

// Verify judges signature, a commit's gpgsig header (armored OpenPGP or SSH signature; empty
// when unsigned), over payload, the commit object without that header.
func (k *Keyring) Verify(payload []byte, signature string) Verification {
	sig := strings.TrimSpace(signature)
	switch {
	case sig == "":
		return Verification{Status: Unsigned}
	case strings.Count(sig, "-----BEGIN ") > 1:
		// As git does: several signatures cannot be reduced to one signer.
		return Verification{Status: BadSignature, Reason: "the commit carries several signatures; git accepts one"}
	case strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----"):
		return k.verifyPGP(payload, sig)
	case strings.HasPrefix(sig, sshSigArmorStart):
		return k.verifySSH(payload, sig)
	}
	first, _, _ := strings.Cut(sig, "\n")
	return Verification{Status: BadSignature, Reason: fmt.Sprintf("unsupported signature format %q; stagegate verifies OpenPGP and SSH signatures", first)}
}

func (k *Keyring) verifyPGP(payload []byte, sig string) Verification {
	v := Verification{Kind: SignaturePGP}
	block, err := armor.Decode(strings.NewReader(sig))
	if err != nil {
		return bad(v, "unreadable OpenPGP signature: %v", err)
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		return bad(v, "unreadable OpenPGP signature: %v", err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return bad(v, "the OpenPGP block holds a %T, not a signature", p)
	}
	switch {
	case len(s.IssuerFingerprint) > 0:
		v.KeyID = strings.ToUpper(hex.EncodeToString(s.IssuerFingerprint))
	case s.IssuerKeyId != nil:
		v.KeyID = fmt.Sprintf("%016X", *s.IssuerKeyId)
	}
	var ring openpgp.EntityList
	if k != nil {
		ring = k.pgp
	}
	// Judge a signature at the time it says it was made: a commit signed last year with a key
	// that has expired since was good when it was made, as git and gpg see it.
	cfg := &packet.Config{Time: func() time.Time { return s.CreationTime }}
	signer, err := openpgp.CheckArmoredDetachedSignature(ring, bytes.NewReader(payload), strings.NewReader(sig), cfg)
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		v.Status = UnknownSigner
		v.Reason = "signed by OpenPGP key " + v.KeyID + ", which is not in the keyring"
		return v
	}
	if err != nil {
		return bad(v, "OpenPGP signature by %s does not verify: %v", v.KeyID, err)
	}
	// Name the key the keyring lists, the primary key, also when one of its subkeys signed.
	v.Status, v.KeyID = Verified, strings.ToUpper(hex.EncodeToString(signer.PrimaryKey.Fingerprint))
	if id := signer.PrimaryIdentity(); id != nil {
		v.Signer = id.Name
	}
	return v
}

func bad(v Verification, format string, args ...any) Verification {
	v.Status = BadSignature
	v.Reason = fmt.Sprintf(format, args...)
	return v
}

// SignedCommit is a commit's signature and the bytes it signs.
type SignedCommit struct {
	SHA string
	// Signature is the gpgsig header's value; empty when the commit is unsigned.
	Signature string
	// Payload is the commit object without its signature, what the signature signs.
	Payload []byte
}

// SignedCommit reads the signature of the commit rev names, with the payload it signs.
func (m *Mirror) SignedCommit(rev string) (SignedCommit, error) {
	var out SignedCommit
	err := m.read(func() error {
		c, err := m.commitObject(rev)
		if err != nil {
			return err
		}
		out.SHA, out.Signature = c.Hash.String(), c.PGPSignature
		if c.PGPSignature == "" {
			return nil
		}
		obj := &plumbing.MemoryObject{}
		if err := c.EncodeWithoutSignature(obj); err != nil {
			return fmt.Errorf("commit %s without its signature: %w", c.Hash, err)
		}
		r, err := obj.Reader()
		if err != nil {
			return err
		}
		out.Payload, err = io.ReadAll(r)
		return err
	})
	return out, err
}

// VerifyCommit verifies the signature of the commit rev names against k. The error is for a
// commit that cannot be read; a signature that does not verify is a Verification saying why.
func (m *Mirror) VerifyCommit(rev string, k *Keyring) (Verification, error) {
	s, err := m.SignedCommit(rev)
	if err != nil {
		return Verification{}, err
	}
	return k.Verify(s.Payload, s.Signature), nil
}
