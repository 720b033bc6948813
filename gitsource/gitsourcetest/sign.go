package gitsourcetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/crypto/ssh"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// SignFunc signs a commit's payload (the commit object without a signature) and returns the
// armored signature git stores in the gpgsig header.
type SignFunc func(payload []byte) (string, error)

// Sign replaces the head commit of branch in repo with the same commit signed by sign, moves
// the branch to it and returns its sha. Commits are written this way rather than with
// `git commit -S` so that tests need neither gpg nor ssh-keygen; SignCLI checks the format
// against git itself where those are installed.
func Sign(t testing.TB, repo, branch string, sign SignFunc) string {
	t.Helper()
	old := Head(t, repo, branch)
	raw := Git(t, repo, "cat-file", "commit", old)
	sig, err := sign([]byte(raw))
	if err != nil {
		t.Fatalf("sign %s: %v", old, err)
	}
	sha := WriteSigned(t, repo, raw, sig)
	Git(t, repo, "update-ref", "refs/heads/"+branch, sha, old)
	return sha
}

// WriteSigned writes the commit object raw (as `git cat-file commit` prints it, unsigned) with
// signature in its gpgsig header, and returns its sha; no branch moves.
func WriteSigned(t testing.TB, repo, raw, signature string) string {
	t.Helper()
	headers, message, ok := strings.Cut(raw, "\n\n")
	if !ok {
		t.Fatalf("commit object has no message: %q", raw)
	}
	header := "gpgsig " + strings.ReplaceAll(strings.TrimSuffix(signature, "\n"), "\n", "\n ")
	signed := headers + "\n" + header + "\n\n" + message
	return strings.TrimSpace(gitEnv(t, repo, nil, signed, false, "hash-object", "-t", "commit", "-w", "--stdin"))
}

// PGPKey generates an Ed25519 OpenPGP key for name <email>.
func PGPKey(t testing.TB, name, email string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "", email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatalf("generate OpenPGP key: %v", err)
	}
	return e
}

// PGPSigner signs with key, as `git commit -S` with gpg does.
func PGPSigner(key *openpgp.Entity) SignFunc {
	return func(payload []byte) (string, error) {
		var b strings.Builder
		err := openpgp.ArmoredDetachSign(&b, key, strings.NewReader(string(payload)), nil)
		return b.String(), err
	}
}

// ArmoredPublicKey is key's public part as `gpg --export --armor` writes it.
func ArmoredPublicKey(t testing.TB, key *openpgp.Entity) string {
	t.Helper()
	var b strings.Builder
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err == nil {
		err = key.Serialize(w)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatalf("export OpenPGP key: %v", err)
	}
	return b.String() + "\n"
}

// ArmoredPrivateKey is key with its private part, as `gpg --export-secret-keys --armor` writes it.
func ArmoredPrivateKey(t testing.TB, key *openpgp.Entity) string {
	t.Helper()
	var b strings.Builder
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err == nil {
		err = key.SerializePrivateWithoutSigning(w, nil)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatalf("export OpenPGP private key: %v", err)
	}
	return b.String() + "\n"
}

// SSHKey generates an Ed25519 SSH key.
func SSHKey(t testing.TB) (ssh.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

// SSHSigner signs with key in the sshsig format, as `git commit -S` with gpg.format=ssh does.
func SSHSigner(key ssh.Signer) SignFunc {
	return func(payload []byte) (string, error) { return gitsource.SSHSignature(key, payload) }
}

// AllowedSigner is key's line in an allowed signers file, for principal.
func AllowedSigner(principal string, key ssh.PublicKey) string {
	return principal + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n"
}
