package gates

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func TestSignature(t *testing.T) {
	const key = "860FD45CCF7DD41FA67720169956929856C32071"
	commit := func(sha, subject, author string) gitsource.Commit {
		return gitsource.Commit{SHA: sha, Subject: subject, Author: author, AuthorEmail: author + "@example.com", Message: subject + "\n"}
	}
	alice := commit("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "bump web to v2", "alice")
	bob := commit("b0b0c3d4e5f60718293a4b5c6d7e8f9012345678", "raise memory", "bob")
	promo := commit("c0ffee04e5f60718293a4b5c6d7e8f9012345678", "Promote 1234567 to staging", "stagegate")
	promo.Message = "Promote 1234567 to staging\n\nStagegate-Source: env/dev@1234567890123456789012345678901234567890\n"
	verified := gitsource.Verification{Status: gitsource.Verified, Kind: gitsource.SignaturePGP, KeyID: "AAAA", Signer: "Alice <alice@example.com>"}
	byStagegate := gitsource.Verification{Status: gitsource.Verified, Kind: gitsource.SignaturePGP, KeyID: key, Signer: "stagegate"}
	sig := func(c gitsource.Commit, v gitsource.Verification) CommitSignature {
		return CommitSignature{Commit: c, Verification: v}
	}

	for _, tc := range []struct {
		name     string
		forge    *ForgeFacts
		want     Outcome
		summary  string
		findings []Finding
	}{
		{"without promotion facts the gate waits for the agent", nil, Pending,
			"the agent verifies the signatures of the commits it promotes; there are none here", nil},
		{"no commits pass", &ForgeFacts{}, Pass, "no commits to check", nil},
		{"commits signed by known keys pass", &ForgeFacts{Signatures: []CommitSignature{sig(alice, verified), sig(bob, gitsource.Verification{Status: gitsource.Verified, Kind: gitsource.SignatureSSH, KeyID: "SHA256:x", Signer: "bob@example.com"})}},
			Pass, "all 2 commits signed by known keys", nil},
		{"an unsigned commit fails, naming it", &ForgeFacts{Signatures: []CommitSignature{sig(alice, verified), sig(bob, gitsource.Verification{Status: gitsource.Unsigned})}},
			Fail, "1 commit not signed by a known key; 1 of 2 commits signed by known keys", []Finding{{Check: CheckUnsigned, Severity: Error,
				Message: `b0b0c3d "raise memory" by bob <bob@example.com> is not signed`,
				Fix:     "sign it (git commit --amend --no-edit -S on b0b0c3d) and push it again, or revert it"}}},
		{"an unknown signer fails, naming the key", &ForgeFacts{Signatures: []CommitSignature{sig(bob, gitsource.Verification{Status: gitsource.UnknownSigner, Kind: gitsource.SignatureSSH, KeyID: "SHA256:abc"})}},
			Fail, "1 commit not signed by a known key; 0 of 1 commit signed by known keys", []Finding{{Check: CheckUnknownSigner, Severity: Error,
				Message: `b0b0c3d "raise memory" by bob <bob@example.com> is signed by SSH key SHA256:abc, which the keyring does not hold`,
				Fix:     "re-sign it with a key in the gate's keyring or allowed signers, or add the signer's public key there through review"}}},
		{"a bad signature fails with the reason", &ForgeFacts{Signatures: []CommitSignature{sig(alice, gitsource.Verification{Status: gitsource.BadSignature, Kind: gitsource.SignaturePGP, KeyID: "AAAA", Reason: "hash mismatch"})}},
			Fail, "1 commit not signed by a known key; 0 of 1 commit signed by known keys", []Finding{{Check: CheckBadSignature, Severity: Error,
				Message: `a1b2c3d "bump web to v2" by alice <alice@example.com> has a signature that does not verify: hash mismatch`,
				Fix:     "find out who changed the commit after it was signed; re-sign it with a valid key, or revert it"}}},
		{"promotion commits are passed over with a note when stagegate does not sign them", &ForgeFacts{Signatures: []CommitSignature{sig(promo, gitsource.Verification{Status: gitsource.Unsigned}), sig(alice, verified)}},
			Pass, "the 1 commit signed by known keys; 1 promotion commit not checked (spec.signing is not set)", []Finding{{Check: CheckPromotionUnchecked, Severity: Info,
				Message: `c0ffee0 "Promote 1234567 to staging" by stagegate <stagegate@example.com> is a promotion commit; not checked, since stagegate does not sign promotion commits (spec.signing is not set)`,
				Fix:     "set spec.signing to have stagegate sign its promotion commits"}}},
		{"a promotion commit signed by stagegate's key passes", &ForgeFacts{PromotionKey: key, Signatures: []CommitSignature{sig(promo, byStagegate)}},
			Pass, "the 1 commit signed by known keys", nil},
		{"a promotion commit signed by another known key fails", &ForgeFacts{PromotionKey: key, Signatures: []CommitSignature{sig(promo, verified)}},
			Fail, "1 commit not signed by a known key; 0 of 1 commit signed by known keys", []Finding{{Check: CheckPromotionSigner, Severity: Error,
				Message: `promotion commit c0ffee0 "Promote 1234567 to staging" by stagegate <stagegate@example.com> is signed by Alice <alice@example.com> (AAAA), not by stagegate's promotion key ` + key,
				Fix:     "let stagegate write the promotion again: close the request and let the next cycle open it"}}},
		{"an unsigned promotion commit fails once stagegate signs them", &ForgeFacts{PromotionKey: key, Signatures: []CommitSignature{sig(promo, gitsource.Verification{Status: gitsource.Unsigned})}},
			Fail, "1 commit not signed by a known key; 0 of 1 commit signed by known keys", []Finding{{Check: CheckUnsigned, Severity: Error,
				Message: `c0ffee0 "Promote 1234567 to staging" by stagegate <stagegate@example.com> is not signed`,
				Fix:     "promotion commits written before spec.signing was set are unsigned; promote the source environment again so stagegate writes a signed one"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluateOne(t, newSignature(config.SignatureGate{}), Input{Now: forgeNow, Forge: tc.forge})
			if r.Outcome != tc.want || r.Summary != tc.summary {
				t.Errorf("got %s %q, want %s %q", r.Outcome, r.Summary, tc.want, tc.summary)
			}
			if diff := cmp.Diff(tc.findings, r.Findings); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignatureSkippedWithoutForge(t *testing.T) {
	s, err := For(config.Environment{Name: "prod", Gates: config.Gates{Signature: &config.SignatureGate{Keyring: "keys.asc"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, skipped := s.WithoutForge(); !cmp.Equal(skipped, []string{"signature"}) {
		t.Errorf("WithoutForge skipped %v, want [signature]", skipped)
	}
}
