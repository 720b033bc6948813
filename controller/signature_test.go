package controller_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestAnUnsignedCommitBlocksThePromotionUntilItIsSigned(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	alice := gitsourcetest.PGPKey(t, "Alice", "alice@example.com")
	stagegate := gitsourcetest.PGPKey(t, "stagegate", "stagegate@example.com")
	write := func(name, content string) string {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	keyring := write("keys.asc", gitsourcetest.ArmoredPublicKey(t, alice)+gitsourcetest.ArmoredPublicKey(t, stagegate))
	w.p.Spec.Signing = &config.Signing{Key: write("signing.asc", gitsourcetest.ArmoredPrivateKey(t, stagegate))}
	w.p.Spec.Environments[1].Gates.Signature = &config.SignatureGate{Keyring: keyring}
	if errs := gitsource.CheckSigning(w.p); len(errs) > 0 {
		t.Fatalf("CheckSigning: %v", errs)
	}
	w.ctrl = w.controller()

	unsigned := gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle()
	pr := w.gh.PR(1)
	if pr.Merged {
		t.Fatal("merged a promotion of an unsigned commit")
	}
	if s := w.statuses(pr.HeadSHA); s["stagegate/signature"] != "failure" || s["stagegate"] != "failure" {
		t.Errorf("statuses = %v; want signature and the overall status failing", s)
	}
	if want := unsigned[:7] + ` "web: green" by ` + gitsourcetest.AuthorName; !strings.Contains(pr.Body, want) || !strings.Contains(pr.Body, "is not signed") {
		t.Errorf("the request body does not name the unsigned commit (%s):\n%s", want, pr.Body)
	}

	// Alice signs her commit and force-pushes dev: the promotion passes and merges.
	signed := gitsourcetest.Sign(t, w.gh.Repo(), "env/dev", gitsourcetest.PGPSigner(alice))
	w.cycle()
	pr = w.gh.PR(1)
	if !pr.Merged {
		t.Fatalf("not merged once the commit was signed; statuses %v\n%s", w.statuses(pr.HeadSHA), pr.Body)
	}
	if !strings.Contains(pr.Title, signed[:7]) {
		t.Errorf("request title %q does not name the signed commit %s", pr.Title, signed[:7])
	}

	// The promotion commit on staging is signed by stagegate's key: a link of the chain.
	ring, err := gitsource.LoadKeyring(keyring, "")
	if err != nil {
		t.Fatal(err)
	}
	v, err := w.ctrl.Mirror.VerifyCommit(pr.HeadSHA, ring)
	if err != nil || v.Status != gitsource.Verified || v.KeyID != gitsource.Fingerprint(stagegate) {
		t.Errorf("promotion commit %s: %+v, %v; want verified, signed by stagegate's key %s", pr.HeadSHA, v, err, gitsource.Fingerprint(stagegate))
	}
	if got := w.git("log", "--format=%H", "env/staging"); !strings.Contains(got, pr.HeadSHA) {
		t.Errorf("staging's history lacks the signed promotion commit %s:\n%s", pr.HeadSHA, got)
	}
}
