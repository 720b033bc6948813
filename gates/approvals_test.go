package gates

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func TestApprovals(t *testing.T) {
	const (
		head  = "1111111111111111111111111111111111111111" // the promotion commit
		equiv = "2222222222222222222222222222222222222222" // same parent and tree, older message
		older = "3333333333333333333333333333333333333333" // an older source commit's promotion
	)
	at := func(minutes int) time.Time { return forgeNow.Add(time.Duration(minutes-60) * time.Minute) }
	review := func(user string, state gitsource.ReviewState, sha string, minute int) gitsource.Review {
		return gitsource.Review{User: user, State: state, CommitSHA: sha, Submitted: at(minute)}
	}
	facts := func(reviews ...gitsource.Review) *ForgeFacts {
		return &ForgeFacts{
			PromotionSHA: head, EquivalentSHAs: []string{equiv},
			Request: &gitsource.Request{Number: 7, HeadSHA: head},
			Reviews: reviews, Authors: []string{"dave", "erin@example.com"},
			Teams: map[string][]string{"acme/sre": {"Frank", "grace"}},
		}
	}
	two := 2
	for _, tc := range []struct {
		name     string
		gate     config.ApprovalsGate
		promote  int
		forge    *ForgeFacts
		want     Outcome
		summary  string
		findings []string // check IDs
	}{
		{"no approvals required passes without looking", config.ApprovalsGate{}, 0, nil, Pass, "no approvals required", nil},
		{"without promotion facts it waits", config.ApprovalsGate{}, 2, nil, Pending,
			"needs 2 approvals on the promotion request; reviews are not available here", nil},
		{"before the request is opened it waits", config.ApprovalsGate{}, 1, &ForgeFacts{PromotionSHA: head}, Pending,
			"needs 1 approval; the promotion request is not open yet", nil},
		{"two approvals of the current commit pass", config.ApprovalsGate{}, 2,
			facts(review("alice", gitsource.Approved, head, 1), review("bob", gitsource.Approved, head, 2)), Pass,
			"2 of 2 approvals (alice, bob)", nil},
		{"an approval of an equivalent commit (same tree and parent) counts", config.ApprovalsGate{}, 2,
			facts(review("alice", gitsource.Approved, equiv, 1), review("bob", gitsource.Approved, head, 2)), Pass,
			"2 of 2 approvals (alice, bob)", nil},
		{"an approval of an older promotion commit does not count and the summary says so", config.ApprovalsGate{}, 2,
			facts(review("alice", gitsource.Approved, head, 1), review("bob", gitsource.Approved, older, 2)), Pending,
			"1 of 2 approvals (alice); bob approved an older commit", []string{CheckStaleApproval}},
		{"an author's approval does not count and the finding names them", config.ApprovalsGate{}, 1,
			facts(review("Dave", gitsource.Approved, head, 1)), Pending,
			"0 of 1 approvals; Dave authored a promoted commit", []string{CheckSelfApproval}},
		{"a later change request cancels an approval and blocks", config.ApprovalsGate{}, 1,
			facts(review("alice", gitsource.Approved, head, 1), review("bob", gitsource.Approved, head, 2), review("alice", gitsource.ChangesRequested, head, 3)), Pending,
			"1 of 1 approvals (bob); alice requested changes", nil},
		{"a dismissed review cancels the approval", config.ApprovalsGate{}, 1,
			facts(review("alice", gitsource.Approved, head, 1), review("alice", gitsource.Dismissed, head, 2)), Pending,
			"0 of 1 approvals", nil},
		{"a comment after an approval leaves it standing", config.ApprovalsGate{}, 1,
			facts(review("alice", gitsource.Approved, head, 1), review("alice", gitsource.Commented, head, 2)), Pass,
			"1 of 1 approvals (alice)", nil},
		{"a review still being written leaves the approval standing", config.ApprovalsGate{}, 1,
			facts(review("alice", gitsource.Approved, head, 1), review("alice", "PENDING", head, 2)), Pass,
			"1 of 1 approvals (alice)", nil},
		{"a re-approval after requesting changes counts", config.ApprovalsGate{}, 1,
			facts(review("alice", gitsource.ChangesRequested, older, 1), review("alice", gitsource.Approved, head, 2)), Pass,
			"1 of 1 approvals (alice)", nil},
		{"with users and teams only they count, team members matched without case", config.ApprovalsGate{Users: []string{"alice"}, Teams: []string{"acme/sre"}}, 2,
			facts(review("alice", gitsource.Approved, head, 1), review("mallory", gitsource.Approved, head, 2), review("frank", gitsource.Approved, head, 3)), Pass,
			"2 of 2 approvals (alice, frank); mallory is not an allowed approver", nil},
		{"a change request from someone not allowed does not block", config.ApprovalsGate{Users: []string{"alice"}}, 1,
			facts(review("alice", gitsource.Approved, head, 1), review("mallory", gitsource.ChangesRequested, head, 2)), Pass,
			"1 of 1 approvals (alice)", nil},
		{"the gate's count wins when it is the larger", config.ApprovalsGate{Count: &two}, 1,
			facts(review("alice", gitsource.Approved, head, 1)), Pending,
			"1 of 2 approvals (alice)", nil},
		{"promote.approvals wins when it is the larger", config.ApprovalsGate{Count: new(int)}, 2,
			facts(review("alice", gitsource.Approved, head, 1)), Pending,
			"1 of 2 approvals (alice)", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluateOne(t, newApprovals(tc.gate, tc.promote), Input{Now: forgeNow, Forge: tc.forge})
			if r.Outcome != tc.want || r.Summary != tc.summary {
				t.Errorf("got %s %q, want %s %q", r.Outcome, r.Summary, tc.want, tc.summary)
			}
			if !r.RetryAfter.IsZero() {
				t.Errorf("RetryAfter %v; approvals arrive by webhook or poll, never at a known time", r.RetryAfter)
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.Check)
			}
			if diff := cmp.Diff(tc.findings, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, r.Findings)
			}
		})
	}
}

func TestApprovalsFromPromoteOnly(t *testing.T) {
	// promote: {approvals: 2} with no approvals gate configured still requires two approvals.
	s, err := For(config.Environment{Name: "prod", Promote: &config.Promote{Approvals: 2}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Evaluate(Input{Now: forgeNow, Forge: &ForgeFacts{PromotionSHA: "h", Request: &gitsource.Request{Number: 1},
		Reviews: []gitsource.Review{{User: "alice", State: gitsource.Approved, CommitSHA: "h"}}}})
	if r[0].Gate != "approvals" || r[0].Outcome != Pending || r[0].Summary != "1 of 2 approvals (alice)" {
		t.Errorf("got %+v", r[0])
	}
}

func TestApproversForTheTrailer(t *testing.T) {
	f := &ForgeFacts{PromotionSHA: "h", Request: &gitsource.Request{Number: 3}, Authors: []string{"dave"},
		Reviews: []gitsource.Review{
			{User: "zoe", State: gitsource.Approved, CommitSHA: "h"},
			{User: "dave", State: gitsource.Approved, CommitSHA: "h"},
			{User: "bob", State: gitsource.Approved, CommitSHA: "old"},
			{User: "alice", State: gitsource.Approved, CommitSHA: "h"},
		}}
	prod := config.Environment{Name: "prod", Promote: &config.Promote{Approvals: 1}}
	if diff := cmp.Diff([]string{"alice", "zoe"}, Approvers(prod, f)); diff != "" {
		t.Errorf("approvers that count, sorted (-want +got):\n%s", diff)
	}
	if got := Approvers(config.Environment{Name: "staging", Promote: &config.Promote{}}, f); got != nil {
		t.Errorf("an environment without an approvals policy records %v, want none", got)
	}
	if got := Approvers(prod, &ForgeFacts{}); got != nil {
		t.Errorf("no request: %v, want none", got)
	}
}
