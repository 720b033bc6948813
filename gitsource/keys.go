package gitsource

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/stagegate-dev/stagegate/config"
)

// LoadKeyring reads an OpenPGP keyring file and an SSH allowed signers file (either may be "")
// into a Keyring. Errors name the file and what to do.
func LoadKeyring(keyringFile, allowedSignersFile string) (*Keyring, error) {
	k := &Keyring{}
	if keyringFile != "" {
		b, err := os.ReadFile(keyringFile)
		if err != nil {
			return nil, fmt.Errorf("read the OpenPGP keyring: %w", err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, fmt.Errorf("%s is empty; export public keys into it with gpg --export --armor KEYID", keyringFile)
		}
		r, err := ParseKeyring(b, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyringFile, err)
		}
		k.pgp = r.pgp
	}
	if allowedSignersFile != "" {
		b, err := os.ReadFile(allowedSignersFile)
		if err != nil {
			return nil, fmt.Errorf("read the SSH allowed signers file: %w", err)
		}
		r, err := ParseKeyring(nil, append(b, '\n')) // non-nil even when empty
		if err != nil {
			return nil, fmt.Errorf("%s: %w", allowedSignersFile, err)
		}
		k.ssh = r.ssh
	}
	return k, nil
}

// LoadSigningKey reads an armored OpenPGP private key file and, when it is encrypted, decrypts
// it with passphrase. The key must be able to sign.
func LoadSigningKey(file string, passphrase []byte) (*openpgp.Entity, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the signing key: %w", err)
	}
	key, err := parseSigningKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", file, err)
	}
	if encrypted(key) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("signing key %s is encrypted; set spec.signing.passphraseEnv and that variable", file)
		}
		if err := key.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("signing key %s: decrypt with the passphrase from spec.signing.passphraseEnv: %w", file, err)
		}
	}
	return key, nil
}

// SigningKeyID reads the fingerprint of the signing key in file without decrypting it: what a
// verifier compares Verification.KeyID of promotion commits with (`stagegate audit --verify`).
func SigningKeyID(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read the signing key: %w", err)
	}
	key, err := parseSigningKey(b)
	if err != nil {
		return "", fmt.Errorf("signing key %s: %w", file, err)
	}
	return Fingerprint(key), nil
}

func parseSigningKey(b []byte) (*openpgp.Entity, error) {
	if !bytes.Contains(b, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")) {
		return nil, errors.New("not an armored OpenPGP private key; export it with gpg --export-secret-keys --armor KEYID")
	}
	list, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not an armored OpenPGP private key (%v); export it with gpg --export-secret-keys --armor KEYID", err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("holds %d keys; export just the one that signs", len(list))
	}
	key := list[0]
	if key.PrivateKey == nil {
		return nil, errors.New("holds a public key only; export the private key with gpg --export-secret-keys --armor KEYID")
	}
	if _, ok := key.SigningKey(time.Now()); !ok {
		return nil, errors.New("has no key that can sign now (expired, revoked, or encryption-only)")
	}
	return key, nil
}

func encrypted(e *openpgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// Fingerprint is key's primary fingerprint in upper-case hex, as Verification.KeyID and gpg
// print it.
func Fingerprint(key *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(key.PrimaryKey.Fingerprint))
}

// CheckSigning is a config.Check (pass it to config.Load): it reads every key file a pipeline
// names, relative to the config file, so that a missing, unreadable or invalid keyring, allowed
// signers file or signing key is reported with its line when the config loads, not at the first
// promotion. An encrypted signing key is not decrypted here: its passphrase may only be set
// where the agent runs.
func CheckSigning(p config.Pipeline) []error {
	var errs []error
	add := func(path string, err error) { errs = append(errs, fmt.Errorf("%s: %w", path, err)) }
	var signingKey string
	if s := p.Spec.Signing; s != nil {
		b, err := os.ReadFile(p.Resolve(s.Key))
		if err != nil {
			add("spec.signing.key", fmt.Errorf("read the signing key: %w", err))
		} else if key, err := parseSigningKey(b); err != nil {
			add("spec.signing.key", err)
		} else {
			signingKey = Fingerprint(key)
			if encrypted(key) && s.PassphraseEnv == "" {
				add("spec.signing.passphraseEnv", errors.New("required: the signing key is encrypted; name the environment variable holding its passphrase"))
			}
		}
	}
	for i, env := range p.Spec.Environments {
		sg := env.Gates.Signature
		if sg == nil {
			continue
		}
		at := fmt.Sprintf("spec.environments[%d].gates.signature", i)
		var ring *Keyring
		if sg.Keyring != "" {
			k, err := LoadKeyring(p.Resolve(sg.Keyring), "")
			if err != nil {
				add(at+".keyring", err)
			}
			ring = k
		}
		if sg.AllowedSigners != "" {
			if _, err := LoadKeyring("", p.Resolve(sg.AllowedSigners)); err != nil {
				add(at+".allowedSigners", err)
			}
		}
		// From the third environment on, the promoted commits include promotion commits
		// stagegate signed: the keyring has to know the key that signs them.
		if signingKey == "" || i < 2 {
			continue
		}
		switch {
		case sg.Keyring == "":
			add(at, fmt.Errorf("promotion commits are signed with OpenPGP key %s (spec.signing); add a keyring holding its public key", signingKey))
		case ring != nil && !ring.Has(signingKey):
			add(at+".keyring", fmt.Errorf("does not hold the promotion signing key %s (spec.signing); add it: gpg --export --armor %s >> %s", signingKey, signingKey, sg.Keyring))
		}
	}
	return errs
}
