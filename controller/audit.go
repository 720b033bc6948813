package controller

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// DefaultAuditLimit is how many commits of an environment branch an audit reads when
// AuditOptions.Limit is 0: years of promotions, and a bound on a walk down a huge history.
const DefaultAuditLimit = 5000

// maxMergedCommits caps the commits a merge is searched for that came in beside the promotion.
const maxMergedCommits = 100

// AuditOptions choose what an audit reads and checks.
type AuditOptions struct {
	// Since, when set, stops the walk at the first commit (following first parents) committed
	// before it: audit from the day stagegate took over the branch. Default: the whole history.
	Since time.Time
	// Limit caps the commits read. Default DefaultAuditLimit; Ledger.More says when it cut.
	Limit int
	// Verify re-renders every promotion as it landed and compares the digest with its
	// Stagegate-Rendered trailer, and, when the pipeline signs promotion commits
	// (spec.signing), checks that every promotion commit is signed by that key. It costs one
	// render per promotion. Default off.
	Verify bool
}

// Ledger is an environment branch's history as an auditor reads it: one entry per commit that
// landed on the branch, newest first, and the findings about them.
type Ledger struct {
	Pipeline string `json:"pipeline"`
	Env      string `json:"env"`
	Branch   string `json:"branch"`
	// Head is the branch's head when it was read.
	Head    string    `json:"head"`
	Since   time.Time `json:"since,omitzero"`
	Entries []Entry   `json:"entries"`
	// More is true when the walk stopped at Since or Limit before the branch's first commit.
	More     bool      `json:"more,omitempty"`
	Verified bool      `json:"verified,omitempty"`
	Findings []Finding `json:"findings"`
}

// Clean reports whether the audit found nothing.
func (l Ledger) Clean() bool { return len(l.Findings) == 0 }

// FindingsFor returns the findings about the commit sha.
func (l Ledger) FindingsFor(sha string) []Finding {
	var out []Finding
	for _, f := range l.Findings {
		if f.SHA == sha {
			out = append(out, f)
		}
	}
	return out
}

// EntryKind is how a commit came onto an environment branch.
type EntryKind string

// Entry kinds.
const (
	// EntryPromotion: the commit carries the trailers and has one parent: the promotion commit
	// itself fast-forwarded or rebased onto the branch, or a squash merge of it.
	EntryPromotion EntryKind = "promotion"
	// EntryMerge: a merge commit carrying the trailers (the agent's merges, or a person's with
	// the request's description as message); its second parent is the promotion commit.
	EntryMerge EntryKind = "merge"
	// EntryMergedPromotion: a merge commit without trailers whose second parent is a promotion
	// commit (a person merged with GitHub's default message): the record is the promotion
	// commit's, which names the source and rendering but no gates, approvers or request.
	EntryMergedPromotion EntryKind = "merged-promotion"
	// EntryInitial: the branch's first commit, which no promotion can make: where the
	// environment began. Not a finding.
	EntryInitial EntryKind = "initial"
	// EntryOutOfBand: any other commit, pushed or merged around stagegate.
	EntryOutOfBand EntryKind = "out-of-band"
)

// Entry is one commit on the environment branch's first-parent chain.
type Entry struct {
	SHA     string    `json:"sha"`
	When    time.Time `json:"when"`
	Kind    EntryKind `json:"kind"`
	Subject string    `json:"subject"`
	// Promotion is the promotion commit's sha: the commit itself, or a merge's second parent.
	Promotion         string              `json:"promotion,omitempty"`
	Source            string              `json:"source,omitempty"`
	SourceSHA         string              `json:"sourceSHA,omitempty"`
	Rendered          string              `json:"rendered,omitempty"`
	Gates             []gitsource.Verdict `json:"gates,omitempty"`
	ApprovedBy        []string            `json:"approvedBy,omitempty"`
	BreakGlass        []string            `json:"breakGlass,omitempty"`
	DriftAcknowledged []string            `json:"driftAcknowledged,omitempty"`
	// Observed are the values runtime gates judged ("metrics error_rate=0.0021 < 0.01").
	Observed []string `json:"observed,omitempty"`
	// Request is "#<number>", or "" when the trailers name none.
	Request string `json:"request,omitempty"`
	Author  string `json:"author"`
	// MergedBy is the committer of the commit that landed: whoever (or whatever: GitHub
	// commits merges as "GitHub") put it on the branch.
	MergedBy string `json:"mergedBy"`
}

// IsPromotion reports whether the entry came through a stagegate promotion.
func (e Entry) IsPromotion() bool {
	return e.Kind == EntryPromotion || e.Kind == EntryMerge || e.Kind == EntryMergedPromotion
}

// Check names what an audit finding is about.
type Check string

// Audit checks.
const (
	// CheckOutOfBand: a commit that did not come through a stagegate promotion.
	CheckOutOfBand Check = "out-of-band"
	// CheckMalformed: a promotion whose Stagegate trailers do not read as stagegate writes them.
	CheckMalformed Check = "malformed-trailers"
	// CheckMergedUngated: a promotion that records a failing or pending gate with no
	// break-glass or drift acknowledgement to explain it.
	CheckMergedUngated Check = "merged-ungated"
	// CheckDigestMismatch (Verify): re-rendering the commit that landed does not give the
	// digest its Stagegate-Rendered trailer records.
	CheckDigestMismatch Check = "digest-mismatch"
	// CheckUnverifiable (Verify): the commit that landed does not render any more.
	CheckUnverifiable Check = "unverifiable"
	// CheckUnsignedPromotion (Verify, with spec.signing): a promotion commit is not signed by
	// the pipeline's signing key, so the branch is not a verifiable chain.
	CheckUnsignedPromotion Check = "unsigned-promotion"
)

// Finding is one problem with one commit, and what to do about it.
type Finding struct {
	SHA     string `json:"sha"`
	Check   Check  `json:"check"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// Audit reads environment env's branch of pipeline p, following first parents from its head
// (the commits as they landed), and returns the ledger of promotions with a finding for every
// commit that did not come through one, every promotion whose trailers are malformed or record
// an unexplained failing gate and, with Verify, every promotion whose rendering is not the one
// it records. It reads Git only.
func Audit(ctx context.Context, p config.Pipeline, env string, ao AuditOptions, opts Options) (Ledger, error) {
	e, err := p.LookupEnv(env)
	if err != nil {
		return Ledger{}, err
	}
	opts = opts.withDefaults()
	if ao.Limit <= 0 {
		ao.Limit = DefaultAuditLimit
	}
	m, err := opts.open(ctx, p.Spec.Repo)
	if err != nil {
		return Ledger{}, err
	}
	heads, err := m.Sync(ctx, branches(p))
	if err != nil {
		return Ledger{}, err
	}
	l := Ledger{Pipeline: p.Metadata.Name, Env: e.Name, Branch: e.Branch, Head: heads[e.Branch], Since: ao.Since, Verified: ao.Verify, Entries: []Entry{}, Findings: []Finding{}}
	commits, more, err := m.FirstParents(ctx, l.Head, ao.Since, ao.Limit)
	if err != nil {
		return l, err
	}
	l.More = more
	a := auditor{m: m, env: *e, ledger: &l}
	if ao.Verify && p.Spec.Signing != nil {
		if a.keyring, a.keyID, err = signingKeyring(p.Resolve(p.Spec.Signing.Key)); err != nil {
			return l, fmt.Errorf("audit --verify checks promotion signatures with spec.signing.key: %w", err)
		}
	}
	for _, c := range commits {
		if err := a.commit(ctx, c, ao.Verify); err != nil {
			return l, fmt.Errorf("audit %s: commit %s: %w", e.Branch, gitsource.Short(c.SHA), err)
		}
	}
	opts.Log.DebugContext(ctx, "audited", "pipeline", p.Metadata.Name, "env", e.Name, "sha", l.Head, "commits", len(l.Entries), "findings", len(l.Findings))
	return l, nil
}

// auditor adds one commit at a time to a ledger.
type auditor struct {
	m      *gitsource.Mirror
	env    config.Environment
	ledger *Ledger
	// keyring holds the pipeline's signing key and keyID its fingerprint, when Verify checks
	// promotion signatures.
	keyring *gitsource.Keyring
	keyID   string
}

// signingKeyring reads the public part and fingerprint of the signing key in file (no
// passphrase needed).
func signingKeyring(file string) (*gitsource.Keyring, string, error) {
	id, err := gitsource.SigningKeyID(file)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	k, err := gitsource.ParseKeyring(b, nil)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	return k, id, nil
}

func (a *auditor) find(sha string, check Check, fix, format string, args ...any) {
	a.ledger.Findings = append(a.ledger.Findings, Finding{SHA: sha, Check: check, Message: fmt.Sprintf(format, args...), Fix: fix})
}

// Fixes, one per check: what an auditor or the team does about a finding.
const (
	fixOutOfBand = "make changes on the first environment's branch and let stagegate promote them; if this was an emergency, " +
		"back-port it to the source branch so the next promotion keeps it (the lineage gate names it until then), " +
		"and protect the branch so only promotion requests can merge"
	fixMalformed = "stagegate writes these trailers: one that is malformed or missing was edited when merging, or the commit " +
		"was written by hand or by another tool; set the repository's merge message to the pull request's title and " +
		"description so merges carry the trailers as the request body shows them, and to accept a history written " +
		"before stagegate took over, audit with --since the day it did"
	fixUngated = "find out who merged past the gate and why; require the stagegate status checks in the branch's " +
		"protection rules so a failing or pending gate blocks the merge, and use the break-glass label for emergencies"
	fixMismatch = "what landed renders differently from what was gated: compare `stagegate render --env %s --ref %s` " +
		"with the promotion request's diff; if nothing was changed by hand, the renderer changed (a stagegate or " +
		"kustomize upgrade, a remote base) and the next promotion records the new digest"
	fixUnverifiable  = "render the commit with `stagegate render --env %s --ref %s` to see why it no longer renders"
	fixUnsignedChain = "promotion commits stagegate writes are signed with spec.signing.key; one that is not was written " +
		"before signing was configured (audit with --since the day it was), by another tool, or rewritten by the forge " +
		"(squash and rebase merges replace it: use merge), or signed with another key"
)

func (a *auditor) commit(ctx context.Context, c gitsource.Commit, verify bool) error {
	e := Entry{SHA: c.SHA, When: c.CommitTime, Subject: c.Subject, Author: person(c.Author, c.AuthorEmail), MergedBy: person(c.Committer, c.CommitterEmail)}
	rec, ok, problems := gitsource.ParseRecord(c.Message)
	merge := len(c.Parents) > 1
	switch {
	case ok && merge:
		e.Kind, e.Promotion = EntryMerge, c.Parents[1]
	case ok:
		e.Kind, e.Promotion = EntryPromotion, c.SHA
	case merge:
		second, err := a.m.Commit(c.Parents[1])
		if err != nil {
			return err
		}
		if rec, ok, problems = gitsource.ParseRecord(second.Message); ok {
			e.Kind, e.Promotion = EntryMergedPromotion, second.SHA
		} else {
			e.Kind = EntryOutOfBand
			a.find(c.SHA, CheckOutOfBand, fixOutOfBand, "merge %q by %s did not come through a stagegate promotion: neither it nor the commit it merges (%s) carries Stagegate trailers",
				c.Subject, e.Author, gitsource.Short(second.SHA))
		}
	case len(c.Parents) == 0:
		e.Kind = EntryInitial
	default:
		e.Kind = EntryOutOfBand
		a.find(c.SHA, CheckOutOfBand, fixOutOfBand, "commit %q by %s did not come through a stagegate promotion: it carries no Stagegate trailers", c.Subject, e.Author)
	}
	if e.IsPromotion() {
		e.Source, e.SourceSHA, e.Rendered = rec.SourceBranch, rec.SourceSHA, rec.Rendered
		e.Gates, e.ApprovedBy, e.BreakGlass, e.DriftAcknowledged = rec.Gates, rec.ApprovedBy, rec.BreakGlass, rec.DriftAcknowledged
		e.Observed = rec.Observed
		if rec.Request != 0 {
			e.Request = fmt.Sprintf("#%d", rec.Request)
		}
		for _, p := range problems {
			a.find(c.SHA, CheckMalformed, fixMalformed, "%v", p)
		}
		a.ungated(e)
		if merge {
			if err := a.mergedBeside(ctx, c); err != nil {
				return err
			}
		}
		if e.Kind == EntryMerge {
			if err := a.sameSource(c, rec); err != nil {
				return err
			}
		}
		if verify && e.Rendered != "" {
			a.verify(ctx, e)
		}
	}
	a.ledger.Entries = append(a.ledger.Entries, e)
	return nil
}

// ungated flags gates recorded as failing or pending. A closed window is explained by a
// break-glass trailer, drift by an acknowledgement; nothing else is.
func (a *auditor) ungated(e Entry) {
	var open []string
	for _, v := range e.Gates {
		switch {
		case v.Outcome == gitsource.OutcomePass:
		case v.Gate == "window" && len(e.BreakGlass) > 0:
		case v.Gate == "drift" && len(e.DriftAcknowledged) > 0:
		default:
			open = append(open, v.Gate+"="+v.Outcome)
		}
	}
	if len(open) > 0 {
		a.find(e.SHA, CheckMergedUngated, fixUngated, "promotion of %s merged with %s and no break-glass or acknowledgement recorded",
			gitsource.Short(e.SourceSHA), strings.Join(open, ", "))
	}
}

// mergedBeside flags the commits a promotion's merge brought onto the branch besides the
// promotion commit: pushed onto the promotion branch, they were never gated.
func (a *auditor) mergedBeside(ctx context.Context, c gitsource.Commit) error {
	brought, err := a.m.Log(ctx, c.Parents[1], c.Parents[0], maxMergedCommits)
	if err != nil {
		return err
	}
	var extra []string
	for _, b := range brought {
		if _, ok, _ := gitsource.ParseRecord(b.Message); !ok {
			extra = append(extra, fmt.Sprintf("%s %q", gitsource.Short(b.SHA), b.Subject))
		}
	}
	if len(extra) > 0 {
		a.find(c.SHA, CheckOutOfBand, fixOutOfBand, "merge brings in %d commit(s) beside the promotion that did not come through one: %s",
			len(extra), strings.Join(extra, ", "))
	}
	return nil
}

// sameSource flags a merge whose trailers name another source than the promotion commit it
// merges: the record would describe a promotion that is not the one that landed.
func (a *auditor) sameSource(c gitsource.Commit, rec gitsource.Record) error {
	second, err := a.m.Commit(c.Parents[1])
	if err != nil {
		return err
	}
	merged, ok, _ := gitsource.ParseRecord(second.Message)
	if !ok || merged.SourceSHA == "" || rec.SourceSHA == "" || merged.SourceSHA == rec.SourceSHA {
		return nil
	}
	a.find(c.SHA, CheckMalformed, fixMalformed, "the merge's %s names %s@%s, but the promotion commit it merges (%s) promotes %s@%s",
		gitsource.TrailerSource, rec.SourceBranch, gitsource.Short(rec.SourceSHA), gitsource.Short(second.SHA), merged.SourceBranch, gitsource.Short(merged.SourceSHA))
	return nil
}

// verify re-renders the commit that landed and compares its digest with the recorded one, and
// checks the promotion commit's signature when the pipeline signs them.
func (a *auditor) verify(ctx context.Context, e Entry) {
	if a.keyring != nil {
		v, err := a.m.VerifyCommit(e.Promotion, a.keyring)
		switch {
		case err != nil:
			a.find(e.SHA, CheckUnsignedPromotion, fixUnsignedChain, "promotion commit %s cannot be read to verify its signature: %v", gitsource.Short(e.Promotion), err)
		case v.Status != gitsource.Verified:
			a.find(e.SHA, CheckUnsignedPromotion, fixUnsignedChain, "promotion commit %s is not signed by the signing key %s: %s", gitsource.Short(e.Promotion), a.keyID, v.Status)
		case v.KeyID != a.keyID:
			a.find(e.SHA, CheckUnsignedPromotion, fixUnsignedChain, "promotion commit %s is signed by %s, not by the signing key %s", gitsource.Short(e.Promotion), v.KeyID, a.keyID)
		}
	}
	objs, err := renderTree(ctx, a.m, e.SHA, a.env)
	if err != nil {
		a.find(e.SHA, CheckUnverifiable, fmt.Sprintf(fixUnverifiable, a.env.Name, gitsource.Short(e.SHA)), "does not render: %v", err)
		return
	}
	if got := objs.Digest(); got != e.Rendered {
		a.find(e.SHA, CheckDigestMismatch, fmt.Sprintf(fixMismatch, a.env.Name, gitsource.Short(e.SHA)),
			"Stagegate-Rendered records %s; re-rendering %s gives %s", e.Rendered, a.env.Path, got)
	}
}

func person(name, email string) string {
	if email == "" {
		return name
	}
	return name + " <" + email + ">"
}
