package gates

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// Signature gate check IDs.
const (
	// CheckUnsigned: a promoted commit carries no signature.
	CheckUnsigned = "signature/unsigned"
	// CheckUnknownSigner: signed by a key the keyring and allowed signers do not hold.
	CheckUnknownSigner = "signature/unknown-signer"
	// CheckBadSignature: the signature does not verify.
	CheckBadSignature = "signature/bad-signature"
	// CheckPromotionSigner: a promotion commit signed by another key than spec.signing's.
	CheckPromotionSigner = "signature/promotion-signer"
	// CheckPromotionUnchecked: a promotion commit passed over, promotion signing being off.
	CheckPromotionUnchecked = "signature/promotion-unchecked"
)

var signatureChecks = []Check{
	{ID: CheckUnsigned, Severity: Error, Title: "Commit is not signed",
		Why: "Anyone who can push to the branch, or who stole a token that can, could have written an unsigned commit; a signature says who did.",
		Fix: "Sign the commit (git commit --amend --no-edit -S, or git rebase --exec 'git commit --amend --no-edit -S' for several) and push it again, or revert it."},
	{ID: CheckUnknownSigner, Severity: Error, Title: "Commit signed by an unknown key",
		Why: "A signature only says who wrote a commit when the key belongs to someone allowed to change the environment.",
		Fix: "Re-sign the commit with a key in the gate's keyring or allowed signers file, or add the signer's public key there through review."},
	{ID: CheckBadSignature, Severity: Error, Title: "Commit signature does not verify",
		Why: "The commit was changed after it was signed, or signed with an expired or revoked key: what is promoted is not what was signed.",
		Fix: "Find out who changed the commit; re-sign it with a valid key and push it again, or revert it."},
	{ID: CheckPromotionSigner, Severity: Error, Title: "Promotion commit not signed by stagegate's key",
		Why: "Promotion commits are the links of the environment branch's chain; one stagegate did not sign could have been written by anyone who can push.",
		Fix: "Let stagegate write the promotion (close the request and let the next cycle open it again); promotion commits written before spec.signing was set need a new promotion of the source environment."},
	{ID: CheckPromotionUnchecked, Severity: Info, Title: "Promotion commit not checked",
		Why: "Promotion commits are written by stagegate, which signs them only when spec.signing is set; without it there is no signature to ask for.",
		Fix: "Set spec.signing so stagegate signs its promotion commits, and put its public key in the keyring; the gate then checks them too."},
}

// signatureGate fails when a promoted commit, or an upstream commit it carries, is not signed by
// a known key. The agent verifies the signatures when it gathers facts (see ForgeFacts
// Signatures); the gate only judges the verdicts.
type signatureGate struct{}

func newSignature(config.SignatureGate) Gate { return signatureGate{} }

func (signatureGate) needsForge()     {}
func (signatureGate) Name() string    { return "signature" }
func (signatureGate) Checks() []Check { return signatureChecks }

// Evaluate is Pending without promotion facts: the agent verifies the promoted commits, and
// `stagegate gate` has none to verify.
func (signatureGate) Evaluate(in Input) Result {
	f := in.Forge
	if f == nil {
		return Result{Outcome: Pending, Summary: "the agent verifies the signatures of the commits it promotes; there are none here"}
	}
	var findings []Finding
	verified, unchecked := 0, 0
	for _, cs := range f.Signatures {
		c, v := cs.Commit, cs.Verification
		what := describeCommit(c)
		_, _, promotion, _ := gitsource.Source(c.Message)
		if promotion && f.PromotionKey == "" {
			unchecked++
			findings = append(findings, Finding{Check: CheckPromotionUnchecked, Severity: Info,
				Message: fmt.Sprintf("%s is a promotion commit; not checked, since stagegate does not sign promotion commits (spec.signing is not set)", what),
				Fix:     "set spec.signing to have stagegate sign its promotion commits"})
			continue
		}
		switch v.Status {
		case gitsource.Verified:
			if promotion && !strings.EqualFold(v.KeyID, f.PromotionKey) {
				findings = append(findings, Finding{Check: CheckPromotionSigner, Severity: Error,
					Message: fmt.Sprintf("promotion commit %s is signed by %s (%s), not by stagegate's promotion key %s", what, v.Signer, v.KeyID, f.PromotionKey),
					Fix:     "let stagegate write the promotion again: close the request and let the next cycle open it"})
				continue
			}
			verified++
		case gitsource.Unsigned:
			fix := fmt.Sprintf("sign it (git commit --amend --no-edit -S on %s) and push it again, or revert it", gitsource.Short(c.SHA))
			if promotion {
				fix = "promotion commits written before spec.signing was set are unsigned; promote the source environment again so stagegate writes a signed one"
			}
			findings = append(findings, Finding{Check: CheckUnsigned, Severity: Error,
				Message: what + " is not signed", Fix: fix})
		case gitsource.UnknownSigner:
			findings = append(findings, Finding{Check: CheckUnknownSigner, Severity: Error,
				Message: fmt.Sprintf("%s is signed by %s key %s, which the keyring does not hold", what, kindName(v.Kind), cmp.Or(v.KeyID, "(the signature names none)")),
				Fix:     "re-sign it with a key in the gate's keyring or allowed signers, or add the signer's public key there through review"})
		default:
			findings = append(findings, Finding{Check: CheckBadSignature, Severity: Error,
				Message: fmt.Sprintf("%s has a signature that does not verify: %s", what, v.Reason),
				Fix:     "find out who changed the commit after it was signed; re-sign it with a valid key, or revert it"})
		}
	}
	total := len(f.Signatures)
	if total == 0 {
		return Result{Outcome: Pass, Summary: "no commits to check"}
	}
	bad := total - verified - unchecked
	var parts []string
	if checked := total - unchecked; checked > 0 {
		parts = append(parts, countOf(verified, checked, "commit")+" signed by known keys")
	}
	if unchecked > 0 {
		parts = append(parts, plural(unchecked, "promotion commit")+" not checked (spec.signing is not set)")
	}
	summary := strings.Join(parts, "; ")
	if bad == 0 {
		return Result{Outcome: Pass, Summary: summary, Findings: findings}
	}
	return Result{Outcome: Fail, Summary: fmt.Sprintf("%s not signed by a known key; ", plural(bad, "commit")) + summary, Findings: findings}
}

// describeCommit names a commit the way a reader finds it: short sha, subject and author.
func describeCommit(c gitsource.Commit) string {
	author := c.Author
	if c.AuthorEmail != "" {
		author += " <" + c.AuthorEmail + ">"
	}
	return fmt.Sprintf("%s %q by %s", short(c.SHA), c.Subject, author)
}

func kindName(k gitsource.SignatureKind) string {
	if k == gitsource.SignatureSSH {
		return "SSH"
	}
	return "OpenPGP"
}

// countOf reads "3 of 4 commits", or "all 4 commits" and "the 1 commit".
func countOf(n, total int, word string) string {
	switch {
	case n == total && total == 1:
		return "the 1 " + word
	case n == total:
		return fmt.Sprintf("all %d %ss", total, word)
	}
	return fmt.Sprintf("%d of %s", n, plural(total, word))
}
