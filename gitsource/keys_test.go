package gitsource_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestCheckSigningReportsFilesWithTheirLines(t *testing.T) {
	dir := t.TempDir()
	signing := gitsourcetest.PGPKey(t, "stagegate", "stagegate@example.com")
	other := gitsourcetest.PGPKey(t, "Alice", "alice@example.com")
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("signing.asc", gitsourcetest.ArmoredPrivateKey(t, signing))
	write("public-only.asc", gitsourcetest.ArmoredPublicKey(t, signing))
	write("keys.asc", gitsourcetest.ArmoredPublicKey(t, other))
	write("all.asc", gitsourcetest.ArmoredPublicKey(t, other)+gitsourcetest.ArmoredPublicKey(t, signing))
	write("bad_signers", "alice@example.com ssh-ed25519\n")

	doc := func(key, stagingGate, prodGate string) string {
		return `apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: shop}
spec:
  repo: {url: /srv/git/shop.git}
  signing: {key: ` + key + `}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - name: staging
      branch: env/staging
      path: overlays/staging
      gates:
        signature: ` + stagingGate + `
    - name: prod
      branch: env/prod
      path: overlays/prod
      gates:
        signature: ` + prodGate + `
`
	}
	file := filepath.Join(dir, "stagegate.yaml")
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"keys relative to the config file", doc("signing.asc", "{keyring: keys.asc}", "{keyring: all.asc}"), nil},
		{"missing, unreadable and invalid files", doc("public-only.asc", "{keyring: nope.asc, allowedSigners: bad_signers}", "{allowedSigners: nope}"), []string{
			file + ":6: spec.signing.key: not an armored OpenPGP private key; export it with gpg --export-secret-keys --armor KEYID",
			file + ":13: spec.environments[1].gates.signature.keyring: read the OpenPGP keyring: open " + dir + "/nope.asc: no such file or directory",
			file + ":13: spec.environments[1].gates.signature.allowedSigners: " + dir + "/bad_signers: allowed signers line 1: want `principals [options] key-type base64-key`: ssh: no key found",
			file + ":18: spec.environments[2].gates.signature.allowedSigners: read the SSH allowed signers file: open " + dir + "/nope: no such file or directory",
		}},
		{"a keyring without the signing key, where promotion commits are judged", doc("signing.asc", "{keyring: keys.asc}", "{keyring: keys.asc}"), []string{
			file + ":18: spec.environments[2].gates.signature.keyring: does not hold the promotion signing key " + gitsource.Fingerprint(signing) +
				" (spec.signing); add it: gpg --export --armor " + gitsource.Fingerprint(signing) + " >> keys.asc",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml), file, gitsource.CheckSigning)
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadSigningKeyDecrypts(t *testing.T) {
	key := gitsourcetest.PGPKey(t, "stagegate", "stagegate@example.com")
	if err := key.EncryptPrivateKeys([]byte("s3cret"), nil); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "key.asc")
	if err := os.WriteFile(file, []byte(gitsourcetest.ArmoredPrivateKey(t, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := gitsource.LoadSigningKey(file, nil); err == nil || !strings.Contains(err.Error(), "is encrypted; set spec.signing.passphraseEnv") {
		t.Errorf("without a passphrase: %v; want an error naming passphraseEnv", err)
	}
	if _, err := gitsource.LoadSigningKey(file, []byte("wrong")); err == nil {
		t.Error("a wrong passphrase decrypted the key")
	}
	k, err := gitsource.LoadSigningKey(file, []byte("s3cret"))
	if err != nil || k.PrivateKey.Encrypted {
		t.Errorf("LoadSigningKey = %v; want the key decrypted", err)
	}
	if id, err := gitsource.SigningKeyID(file); err != nil || id != gitsource.Fingerprint(key) {
		t.Errorf("SigningKeyID = %s, %v; want %s without the passphrase", id, err, gitsource.Fingerprint(key))
	}
}
