package gates

import (
	"fmt"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
)

// CheckMissingCommit is the lineage gate's one check: a commit on the target branch whose
// changes the source does not have.
const CheckMissingCommit = "lineage/missing-commit"

var lineageChecks = []Check{
	{ID: CheckMissingCommit, Severity: Error, Title: "Target has a commit the source lacks",
		Why: "A promotion writes the source's tree onto the target, so a change made on the target alone (a hotfix) would be silently reverted.",
		Fix: "Back-port the commit to the source environment's branch (git cherry-pick -x <sha>), or revert it on the target, then let the promotion update."},
}

// lineageGate fails when the target branch carries changes the source does not have. It is on by
// default for every environment that is promoted into (see compile): a silent revert of a
// hotfix is the one failure a promotion must never cause unnoticed.
type lineageGate struct{}

func newLineage(config.LineageGate) Gate { return lineageGate{} }

func (lineageGate) needsForge()     {}
func (lineageGate) Name() string    { return "lineage" }
func (lineageGate) Checks() []Check { return lineageChecks }

// Evaluate passes when there are no promotion facts: without a promotion nothing is written onto
// the target, so nothing can be reverted (`stagegate gate` on a directory or an environment).
func (lineageGate) Evaluate(in Input) Result {
	f := in.Forge
	if f == nil {
		return Result{Outcome: Pass, Summary: "not a promotion: nothing on the target to revert"}
	}
	if len(f.MissingFromSource) == 0 {
		return Result{Outcome: Pass, Summary: fmt.Sprintf("%s has every change of %s", branchOr(f.SourceBranch, "the source"), branchOr(f.TargetBranch, "the target"))}
	}
	target, source := branchOr(f.TargetBranch, "the target"), branchOr(f.SourceBranch, "the source")
	files := listSome(f.MissingPaths, 5)
	var findings []Finding
	for _, c := range f.MissingFromSource {
		author := c.Author
		if c.AuthorEmail != "" {
			author += " <" + c.AuthorEmail + ">"
		}
		msg := fmt.Sprintf("%s %q by %s is on %s but not on %s; promoting would revert it", short(c.SHA), c.Subject, author, target, source)
		if files != "" {
			msg += " (the missing commits change " + files + ")"
		}
		findings = append(findings, Finding{Check: CheckMissingCommit, Severity: Error, Message: msg,
			Fix: fmt.Sprintf("back-port it: git cherry-pick -x %s onto %s, or revert it on %s", c.SHA, source, target)})
	}
	summary := fmt.Sprintf("%s has %s missing from %s", target, plural(len(f.MissingFromSource), "commit"), source)
	if files != "" {
		summary += ", changing " + files
	}
	return Result{Outcome: Fail, Summary: summary + "; back-port them first", Findings: findings}
}

func branchOr(b, def string) string {
	if b == "" {
		return def
	}
	return b
}

// short abbreviates a commit SHA as Git does by default.
func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// listSome joins up to n items, then says how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
