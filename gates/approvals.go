package gates

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// Approvals gate check IDs. Both are warnings: an approval that does not count leaves the gate
// pending until enough others arrive; the finding says why it did not count.
const (
	// CheckSelfApproval: an author of a promoted commit approved; that approval does not count.
	CheckSelfApproval = "approvals/self-approval"
	// CheckStaleApproval: an approval of an older, different promotion commit.
	CheckStaleApproval = "approvals/stale-approval"
)

var approvalsChecks = []Check{
	{ID: CheckSelfApproval, Severity: Warning, Title: "Author approved their own change",
		Why: "Four eyes: whoever wrote a change cannot also be the one who lets it into the environment.",
		Fix: "Ask a reviewer who authored none of the promoted commits to approve."},
	{ID: CheckStaleApproval, Severity: Warning, Title: "Approval of an older promotion commit",
		Why: "The source moved on after the review, so the approver has not seen what would merge now.",
		Fix: "Ask the reviewer to look at the request again and approve its current commit."},
}

// approvalsGate counts approving reviews of the promotion request.
type approvalsGate struct {
	count int
	users map[string]bool // lower-cased logins; nil: no user list
	teams []string
}

// newApprovals builds the gate; promoteApprovals is the environment's promote.approvals. The
// larger of it and the gate's count applies, so neither setting can lower the other.
func newApprovals(c config.ApprovalsGate, promoteApprovals int) Gate {
	g := approvalsGate{count: promoteApprovals, teams: c.Teams}
	if c.Count != nil {
		g.count = max(g.count, *c.Count)
	}
	if len(c.Users) > 0 {
		g.users = map[string]bool{}
		for _, u := range c.Users {
			g.users[strings.ToLower(u)] = true
		}
	}
	return g
}

func (approvalsGate) needsForge()     {}
func (approvalsGate) Name() string    { return "approvals" }
func (approvalsGate) Checks() []Check { return approvalsChecks }

// Evaluate is Pending while approvals are missing, with no RetryAfter: reviews arrive with a
// webhook or the agent's next poll, never at a time anyone can predict. It is Pending too without
// promotion facts, since reviews are only counted on a promotion request.
func (g approvalsGate) Evaluate(in Input) Result {
	if g.count == 0 {
		return Result{Outcome: Pass, Summary: "no approvals required"}
	}
	f := in.Forge
	switch {
	case f == nil:
		return Result{Outcome: Pending, Summary: fmt.Sprintf("needs %s on the promotion request; reviews are not available here", plural(g.count, "approval"))}
	case f.Request == nil:
		return Result{Outcome: Pending, Summary: fmt.Sprintf("needs %s; the promotion request is not open yet", plural(g.count, "approval"))}
	}
	t := g.tally(f)
	approvers := t.approvers
	slices.Sort(approvers)
	summary := fmt.Sprintf("%d of %d approvals", len(approvers), g.count)
	if len(approvers) > 0 {
		summary += " (" + strings.Join(approvers, ", ") + ")"
	}
	if why := append(t.blockers, t.notes...); len(why) > 0 {
		summary += "; " + strings.Join(why, "; ")
	}
	if len(approvers) >= g.count && len(t.blockers) == 0 {
		return Result{Outcome: Pass, Summary: summary, Findings: t.findings}
	}
	return Result{Outcome: Pending, Summary: summary, Findings: t.findings}
}

// tally is what the reviews of a request amount to under the gate's rules.
type tally struct {
	// approvers are the logins whose approvals count, in review order.
	approvers []string
	// blockers are outstanding change requests; notes say why an approval did not count.
	blockers, notes []string
	findings        []Finding
}

func (g approvalsGate) tally(f *ForgeFacts) tally {
	current := map[string]bool{f.PromotionSHA: true}
	for _, sha := range f.EquivalentSHAs {
		current[sha] = true
	}
	authors := map[string]bool{}
	for _, a := range f.Authors {
		authors[strings.ToLower(a)] = true
	}

	// A reviewer's latest verdict counts; comments (and any state stagegate does not know, such
	// as a review still being written) do not change it, as on GitHub.
	latest := map[string]gitsource.Review{}
	var order []string
	for _, r := range f.Reviews {
		switch r.State {
		case gitsource.Approved, gitsource.ChangesRequested, gitsource.Dismissed:
		default:
			continue
		}
		if r.User == "" {
			continue
		}
		key := strings.ToLower(r.User)
		if _, seen := latest[key]; !seen {
			order = append(order, key)
		}
		if prev, seen := latest[key]; !seen || !r.Submitted.Before(prev.Submitted) {
			latest[key] = r
		}
	}

	var t tally
	for _, key := range order {
		r := latest[key]
		if !g.allowed(key, f.Teams) {
			if r.State == gitsource.Approved {
				t.notes = append(t.notes, r.User+" is not an allowed approver")
			}
			continue
		}
		switch r.State {
		case gitsource.ChangesRequested:
			t.blockers = append(t.blockers, r.User+" requested changes")
		case gitsource.Approved:
			switch {
			case authors[key]:
				t.notes = append(t.notes, r.User+" authored a promoted commit")
				t.findings = append(t.findings, Finding{Check: CheckSelfApproval, Severity: Warning,
					Message: fmt.Sprintf("%s approved, but authored a commit being promoted; the approval does not count", r.User),
					Fix:     "ask a reviewer who authored none of the promoted commits"})
			case !current[r.CommitSHA]:
				t.notes = append(t.notes, r.User+" approved an older commit")
				t.findings = append(t.findings, Finding{Check: CheckStaleApproval, Severity: Warning,
					Message: fmt.Sprintf("%s approved %s, an older promotion commit; the request is now at %s", r.User, short(r.CommitSHA), short(f.PromotionSHA)),
					Fix:     fmt.Sprintf("ask %s to review the request again", r.User)})
			default:
				t.approvers = append(t.approvers, r.User)
			}
		}
	}
	return t
}

// Approvers are the logins whose approvals of the promotion count under env's approvals policy
// (the same rules as the approvals gate), sorted: what the Stagegate-Approved-By trailer records.
// Nil when the environment requires no approvals and has no approvals gate, or f has no request.
func Approvers(env config.Environment, f *ForgeFacts) []string {
	if f == nil || f.Request == nil || (env.Gates.Approvals == nil && promoteApprovals(env.Promote) == 0) {
		return nil
	}
	c := config.ApprovalsGate{}
	if env.Gates.Approvals != nil {
		c = *env.Gates.Approvals
	}
	a := newApprovals(c, promoteApprovals(env.Promote)).(approvalsGate).tally(f).approvers
	slices.Sort(a)
	return a
}

// allowed says whether login's review counts: anyone's when no users or teams are configured.
func (g approvalsGate) allowed(login string, teams map[string][]string) bool {
	if g.users == nil && len(g.teams) == 0 {
		return true
	}
	if g.users[login] {
		return true
	}
	for _, t := range g.teams {
		for _, m := range teams[t] {
			if strings.EqualFold(m, login) {
				return true
			}
		}
	}
	return false
}

// promoteApprovals is promote.approvals, 0 for an environment that is not promoted into.
func promoteApprovals(p *config.Promote) int {
	if p == nil {
		return 0
	}
	return p.Approvals
}
