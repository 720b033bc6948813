package gitsource_test

import (
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/ssh"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestVerifyCommit(t *testing.T) {
	alice := gitsourcetest.PGPKey(t, "Alice", "alice@example.com")
	mallory := gitsourcetest.PGPKey(t, "Mallory", "mallory@example.com")
	bob, bobKey := gitsourcetest.SSHKey(t)
	eve, _ := gitsourcetest.SSHKey(t)
	onlyFiles, _ := gitsourcetest.SSHKey(t)

	keys := gitsourcetest.ArmoredPublicKey(t, alice)
	signers := "# who may sign\n\n" + gitsourcetest.AllowedSigner("bob@example.com", bob.PublicKey()) +
		`files@example.com namespaces="file" ` + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(onlyFiles.PublicKey()))) + "\n"
	ring, err := gitsource.ParseKeyring([]byte(keys), []byte(signers))
	if err != nil {
		t.Fatal(err)
	}

	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"main": {"a": "1"}})
	commit := func(sign gitsourcetest.SignFunc) string {
		t.Helper()
		gitsourcetest.Commit(t, repo, "main", map[string]string{"a": t.Name()}, "change "+t.Name())
		if sign == nil {
			return gitsourcetest.Head(t, repo, "main")
		}
		return gitsourcetest.Sign(t, repo, "main", sign)
	}
	tampered := func(sign gitsourcetest.SignFunc) string {
		// Sign one commit, then graft its signature onto a commit with another message.
		sha := commit(sign)
		raw := gitsourcetest.Git(t, repo, "cat-file", "commit", sha)
		sig := signatureOf(t, raw)
		headers, msg, _ := strings.Cut(raw, "\n\n")
		headers, _, _ = strings.Cut(headers, "\ngpgsig ")
		bad := gitsourcetest.WriteSigned(t, repo, headers+"\n\ntampered "+msg, sig)
		gitsourcetest.Git(t, repo, "update-ref", "refs/heads/main", bad, sha)
		return bad
	}

	twice := func(sha string) string {
		// The same commit with its signature given twice, as git refuses it.
		raw := gitsourcetest.Git(t, repo, "cat-file", "commit", sha)
		sig := signatureOf(t, raw)
		headers, msg, _ := strings.Cut(raw, "\n\n")
		headers, _, _ = strings.Cut(headers, "\ngpgsig ")
		two := gitsourcetest.WriteSigned(t, repo, headers+"\n\n"+msg, sig+sig)
		gitsourcetest.Git(t, repo, "update-ref", "refs/heads/main", two, sha)
		return two
	}

	shas := map[string]string{
		"pgp known":         commit(gitsourcetest.PGPSigner(alice)),
		"pgp unknown":       commit(gitsourcetest.PGPSigner(mallory)),
		"pgp tampered":      tampered(gitsourcetest.PGPSigner(alice)),
		"unsigned":          commit(nil),
		"ssh allowed":       commit(gitsourcetest.SSHSigner(bob)),
		"ssh unknown":       commit(gitsourcetest.SSHSigner(eve)),
		"ssh other ns":      commit(gitsourcetest.SSHSigner(onlyFiles)),
		"ssh tampered":      tampered(gitsourcetest.SSHSigner(bob)),
		"ssh signed by CLI": sshCLICommit(t, repo, bob, bobKey),
		"two signatures":    twice(commit(gitsourcetest.PGPSigner(alice))),
	}
	m := openMirror(t, repo)
	fp := strings.ToUpper(keyFingerprint(alice.PrimaryKey.Fingerprint))
	want := map[string]gitsource.Verification{
		"pgp known":         {Status: gitsource.Verified, Kind: gitsource.SignaturePGP, KeyID: fp, Signer: "Alice <alice@example.com>"},
		"pgp unknown":       {Status: gitsource.UnknownSigner, Kind: gitsource.SignaturePGP, KeyID: strings.ToUpper(keyFingerprint(mallory.PrimaryKey.Fingerprint))},
		"pgp tampered":      {Status: gitsource.BadSignature, Kind: gitsource.SignaturePGP, KeyID: fp},
		"unsigned":          {Status: gitsource.Unsigned},
		"ssh allowed":       {Status: gitsource.Verified, Kind: gitsource.SignatureSSH, KeyID: ssh.FingerprintSHA256(bob.PublicKey()), Signer: "bob@example.com"},
		"ssh unknown":       {Status: gitsource.UnknownSigner, Kind: gitsource.SignatureSSH, KeyID: ssh.FingerprintSHA256(eve.PublicKey())},
		"ssh other ns":      {Status: gitsource.UnknownSigner, Kind: gitsource.SignatureSSH, KeyID: ssh.FingerprintSHA256(onlyFiles.PublicKey())},
		"ssh tampered":      {Status: gitsource.BadSignature, Kind: gitsource.SignatureSSH, KeyID: ssh.FingerprintSHA256(bob.PublicKey())},
		"two signatures":    {Status: gitsource.BadSignature},
		"ssh signed by CLI": {Status: gitsource.Verified, Kind: gitsource.SignatureSSH, KeyID: ssh.FingerprintSHA256(bob.PublicKey()), Signer: "bob@example.com"},
	}
	for name, sha := range shas {
		if sha == "" {
			continue // ssh-keygen is not installed
		}
		t.Run(name, func(t *testing.T) {
			got, err := m.VerifyCommit(sha, ring)
			if err != nil {
				t.Fatal(err)
			}
			if (got.Reason == "") != (got.Status == gitsource.Verified || got.Status == gitsource.Unsigned) {
				t.Errorf("reason %q for status %s", got.Reason, got.Status)
			}
			if diff := cmp.Diff(want[name], got, cmpopts.IgnoreFields(gitsource.Verification{}, "Reason")); diff != "" {
				t.Errorf("VerifyCommit (-want +got):\n%s", diff)
			}
		})
	}
}

// sshCLICommit makes a commit signed by git itself with an SSH key (ssh-keygen -Y sign), and
// checks that git verifies it; "" when ssh-keygen is not installed.
func sshCLICommit(t *testing.T, repo string, key ssh.Signer, priv ed25519.PrivateKey) string {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Log("ssh-keygen not installed: no commit signed by git itself")
		return ""
	}
	dir := t.TempDir()
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signersFile := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(signersFile, []byte(gitsourcetest.AllowedSigner("bob@example.com", key.PublicKey())), 0o600); err != nil {
		t.Fatal(err)
	}
	head := gitsourcetest.Head(t, repo, "main")
	tree := strings.TrimSpace(gitsourcetest.Git(t, repo, "rev-parse", head+"^{tree}"))
	sha := strings.TrimSpace(gitsourcetest.Git(t, repo, "-c", "gpg.format=ssh", "-c", "user.signingkey="+keyFile,
		"commit-tree", "-S", "-p", head, "-m", "signed by git", tree))
	gitsourcetest.Git(t, repo, "update-ref", "refs/heads/main", sha, head)
	gitsourcetest.Git(t, repo, "-c", "gpg.ssh.allowedSignersFile="+signersFile, "verify-commit", sha)
	return sha
}

func signatureOf(t *testing.T, raw string) string {
	t.Helper()
	var sig []string
	in := false
	for _, line := range strings.Split(raw, "\n") {
		switch {
		case strings.HasPrefix(line, "gpgsig "):
			in = true
			sig = append(sig, strings.TrimPrefix(line, "gpgsig "))
		case in && strings.HasPrefix(line, " "):
			sig = append(sig, line[1:])
		default:
			in = false
		}
	}
	if len(sig) == 0 {
		t.Fatalf("no gpgsig in %q", raw)
	}
	return strings.Join(sig, "\n") + "\n"
}

func keyFingerprint(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func openMirror(t *testing.T, repo string) *gitsource.Mirror {
	t.Helper()
	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), []string{"main"}); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWritePromotionSigned(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	key := gitsourcetest.PGPKey(t, "stagegate", "stagegate@example.com")
	dev := gitsourcetest.Head(t, repo, "env/dev")
	p := gitsource.Promotion{Target: "env/staging", SourceBranch: "env/dev", SourceSHA: dev, Subject: "Promote", SignKey: key}
	sha, err := m.WritePromotion(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := gitsource.ParseKeyring([]byte(gitsourcetest.ArmoredPublicKey(t, key)), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := m.VerifyCommit(sha, ring)
	if err != nil || v.Status != gitsource.Verified || v.Signer != "stagegate <stagegate@example.com>" {
		t.Errorf("VerifyCommit = %+v, %v; want verified, signed by stagegate", v, err)
	}
	// An Ed25519 signature made at the commit's time is deterministic: the same promotion, the same sha.
	if again, err := m.WritePromotion(ctx, p); err != nil || again != sha {
		t.Errorf("writing the same signed promotion again = %s, %v; want the same sha %s", again, err, sha)
	}
	unsigned := p
	unsigned.SignKey = nil
	if plain, _ := m.WritePromotion(ctx, unsigned); plain == sha {
		t.Error("the signed and the unsigned promotion have the same sha")
	}

	// git itself, with gpg, agrees.
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("gpg not installed: git verify-commit not run")
	}
	home := t.TempDir()
	pub := filepath.Join(home, "key.asc")
	if err := os.WriteFile(pub, []byte(gitsourcetest.ArmoredPublicKey(t, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	gpg := exec.Command("gpg", "--batch", "--homedir", home, "--import", pub)
	if out, err := gpg.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	verify := exec.Command("git", "--git-dir", m.Dir(), "verify-commit", "-v", sha)
	verify.Env = append(os.Environ(), "GNUPGHOME="+home, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	if out, err := verify.CombinedOutput(); err != nil {
		t.Errorf("git verify-commit %s: %v\n%s", sha, err, out)
	}
}

func TestParseKeyringRefuses(t *testing.T) {
	key, _ := gitsourcetest.SSHKey(t)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.PublicKey())))
	tests := []struct {
		name         string
		pgp, signers string
		want         string
	}{
		{"a keyring that is not OpenPGP", "not a key", "", "OpenPGP keyring"},
		{"a private block that is a message", "-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n", "", "OpenPGP keyring"},
		{"a signer line without a key", "", "alice@example.com\n", "allowed signers line 1"},
		{"a broken key", "", "# c\nalice@example.com ssh-ed25519 AAAAnope\n", "allowed signers line 2"},
		{"a certificate authority", "", "alice@example.com cert-authority " + line + "\n", "cert-authority is not supported"},
		{"only comments", "", "# nobody\n", "no signer in it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pgp, signers []byte
			if tt.pgp != "" {
				pgp = []byte(tt.pgp)
			}
			if tt.signers != "" {
				signers = []byte(tt.signers)
			}
			_, err := gitsource.ParseKeyring(pgp, signers)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseKeyring = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// FuzzVerify feeds Verify signatures as a pushed commit may carry them: whatever the bytes, it
// returns a verdict, and only a signature by a known key verifies.
func FuzzVerify(f *testing.F) {
	key, _ := gitsourcetest.SSHKey(f)
	ring, err := gitsource.ParseKeyring(nil, []byte(gitsourcetest.AllowedSigner("bob@example.com", key.PublicKey())))
	if err != nil {
		f.Fatal(err)
	}
	good, err := gitsource.SSHSignature(key, []byte("payload"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("payload"), good)
	f.Add([]byte("payload"), "-----BEGIN PGP SIGNATURE-----\n\nwnUEARYKAB0WIQQ=\n-----END PGP SIGNATURE-----\n")
	f.Add([]byte("payload"), "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n")
	f.Add([]byte(""), "")
	f.Fuzz(func(t *testing.T, payload []byte, sig string) {
		v := ring.Verify(payload, sig)
		switch v.Status {
		case gitsource.Verified:
			if v.Signer != "bob@example.com" {
				t.Errorf("verified with signer %q", v.Signer)
			}
		case gitsource.Unsigned, gitsource.UnknownSigner, gitsource.BadSignature:
		default:
			t.Errorf("status %q", v.Status)
		}
	})
}

// FuzzParseAllowedSigners: an allowed signers file never panics the parser, and a file it takes
// holds at least one signer.
func FuzzParseAllowedSigners(f *testing.F) {
	key, _ := gitsourcetest.SSHKey(f)
	f.Add(gitsourcetest.AllowedSigner("bob@example.com", key.PublicKey()))
	f.Add(`"a@x,b@y" namespaces="git,file" ` + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.PublicKey()))) + " comment\n# c\n")
	f.Add("\"unterminated ssh-ed25519 AAAA\n")
	f.Fuzz(func(t *testing.T, data string) {
		k, err := gitsource.ParseKeyring(nil, []byte(data))
		if err == nil && k.Empty() {
			t.Errorf("took %q but holds no signer", data)
		}
	})
}

// TestVerifyCommitSignedByGPG checks the verifier against a commit signed by git with gpg
// itself, the way most people sign.
func TestVerifyCommitSignedByGPG(t *testing.T) {
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("gpg not installed")
	}
	home, err := os.MkdirTemp("", "gpg") // short: gpg-agent's socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	run := func(stdin string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home, "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Carol", "GIT_AUTHOR_EMAIL=carol@example.com", "GIT_COMMITTER_NAME=Carol", "GIT_COMMITTER_EMAIL=carol@example.com")
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
		}
		return string(out)
	}
	run("", "gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Carol <carol@example.com>", "ed25519", "sign", "never")
	public := run("", "gpg", "--batch", "--armor", "--export", "carol@example.com")
	ring, err := gitsource.ParseKeyring([]byte(public), nil)
	if err != nil {
		t.Fatal(err)
	}

	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"main": {"a": "1"}})
	head := gitsourcetest.Head(t, repo, "main")
	tree := strings.TrimSpace(gitsourcetest.Git(t, repo, "rev-parse", head+"^{tree}"))
	sha := strings.TrimSpace(run("", "git", "--git-dir", repo, "-c", "user.signingkey=carol@example.com",
		"commit-tree", "-S", "-p", head, "-m", "signed by gpg", tree))
	gitsourcetest.Git(t, repo, "update-ref", "refs/heads/main", sha, head)

	m := openMirror(t, repo)
	v, err := m.VerifyCommit(sha, ring)
	if err != nil || v.Status != gitsource.Verified || v.Signer != "Carol <carol@example.com>" || v.Kind != gitsource.SignaturePGP {
		t.Errorf("VerifyCommit of a commit gpg signed = %+v, %v; want verified, signed by Carol", v, err)
	}
	if !ring.Has(v.KeyID) {
		t.Errorf("KeyID %s is not the fingerprint of a key in the keyring", v.KeyID)
	}
}

// TestWritePromotionSignedWithRSAIsDeterministic: RSA (PKCS #1 v1.5) signatures, like Ed25519
// ones, depend only on the key and the payload, so two agents write the same signed commit.
func TestWritePromotionSignedWithRSAIsDeterministic(t *testing.T) {
	ctx := context.Background()
	repo, m := promotionRepo(t)
	key, err := openpgp.NewEntity("stagegate", "", "stagegate@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoRSA, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	p := gitsource.Promotion{Target: "env/staging", SourceBranch: "env/dev", SourceSHA: gitsourcetest.Head(t, repo, "env/dev"), Subject: "Promote", SignKey: key}
	sha, err := m.WritePromotion(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, config.Repo{URL: "file://" + repo}, nil, nil)
	if _, err := other.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if theirs, err := other.WritePromotion(ctx, p); err != nil || theirs != sha {
		t.Errorf("another mirror wrote %s, %v; want the same signed commit %s", theirs, err, sha)
	}
	ring, err := gitsource.ParseKeyring([]byte(gitsourcetest.ArmoredPublicKey(t, key)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := m.VerifyCommit(sha, ring); err != nil || v.Status != gitsource.Verified {
		t.Errorf("VerifyCommit = %+v, %v; want verified", v, err)
	}
}
