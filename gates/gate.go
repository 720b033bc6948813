package gates

import (
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/drift"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

// Outcome is a gate's verdict.
type Outcome string

// Outcomes, from best to worst for display; Fail wins over Pending when combining.
const (
	Pass    Outcome = "pass"
	Pending Outcome = "pending"
	Fail    Outcome = "fail"
)

// Severity of a finding. Only error findings that are not waived fail a gate.
type Severity = config.Severity

// Severities, re-exported so gate code reads gates.Error.
const (
	Error   = config.SeverityError
	Warning = config.SeverityWarning
	Info    = config.SeverityInfo
)

// Input is everything a gate may look at, gathered before any gate runs. Gates must not do I/O
// or read the clock: Now is the time to judge by.
type Input struct {
	Pipeline string
	Env      config.Environment
	// Objects is the target environment's rendering, in canonical order, each with its source file.
	Objects render.Objects
	// KubernetesVersion of the target cluster ("1.33"); empty when unknown.
	KubernetesVersion string
	// Now is the evaluation time.
	Now time.Time

	// Facts gathered from the forge and the cluster by later steps (approvals, checks, deploy
	// times, drift). Nil when not gathered; a gate that needs a missing fact returns Pending.
	Forge   *ForgeFacts
	Cluster *ClusterFacts
	// Runtime is what the running source environment shows (runtime.go), for the metrics,
	// http, health and external gates.
	Runtime *RuntimeFacts
}

// ForgeFacts are what Git and the forge say about a promotion, gathered by the controller's
// propose step before the gates run. The approvals, checks, window, soak, lineage and signature gates read them.
type ForgeFacts struct {
	// SourceBranch and SourceSHA: the commit being promoted, from the source environment.
	SourceBranch string
	SourceSHA    string
	// TargetBranch and TargetSHA: the target environment's branch and its head.
	TargetBranch string
	TargetSHA    string
	// PromotionSHA is the promotion commit the gates judge (the request's head).
	PromotionSHA string
	// EquivalentSHAs are earlier promotion commits with the same parent and tree as PromotionSHA
	// (only their messages differ), so a review of one of them reviewed exactly what merges.
	EquivalentSHAs []string
	// Request is the open promotion request, nil before one is opened.
	Request *gitsource.Request
	// Reviews of the request, oldest first.
	Reviews []gitsource.Review
	// Teams maps "org/team-slug" to its members' logins, for the teams the approvals gate allows.
	Teams map[string][]string
	// Authors are the logins (and, where the forge cannot map them, the emails) of the authors of
	// the commits being promoted: they cannot approve their own change.
	Authors []string
	// SourceChecks are the statuses and check runs on the source commit.
	SourceChecks []gitsource.Status
	// SourceHasCluster says whether the source environment is applied to a cluster; then
	// SourceDeployed is when its stagegate/deploy success status was posted on SourceSHA (zero:
	// not deployed yet).
	SourceHasCluster bool
	SourceDeployed   time.Time
	// SourceArrived is when SourceSHA reached the source branch (its commit time on the branch).
	SourceArrived time.Time
	// MissingFromSource are commits on the target whose changes the source does not have
	// (hotfixes to back-port), newest first; MissingPaths the files they changed.
	MissingFromSource []gitsource.Commit
	MissingPaths      []string
	// Signatures are the verdicts on the signatures of the promoted commits and of the upstream
	// commits they carry, newest first, verified against the environment's keyring; nil when
	// the signature gate does not run.
	Signatures []CommitSignature
	// PromotionKey is the fingerprint of the OpenPGP key stagegate signs promotion commits with
	// (spec.signing); empty when promotion commits are not signed.
	PromotionKey string
}

// CommitSignature is one commit and what verifying its signature found.
type CommitSignature struct {
	Commit       gitsource.Commit
	Verification gitsource.Verification
}

// ClusterFacts are what the target environment's cluster says, gathered by the agent before the
// gates run. The drift and dry-run gates read them.
type ClusterFacts struct {
	// Unreachable says why the target cluster could not be asked ("" when it answered); the
	// cluster gates are then Pending with it.
	Unreachable string
	// Drift is a drift scan (drift.Detect) of the target environment's current rendering, its
	// branch head, against its cluster; nil when not scanned. Differences the environment's
	// drift.ignore rules cover are not drift and are not in it.
	Drift *drift.Report
	// DryRun is what the cluster's server-side dry-run of the promotion's rendered objects
	// rejected; nil when not run.
	DryRun *DryRunFacts
}

// DryRunFacts are the result of a server-side dry-run apply of every rendered object.
type DryRunFacts struct {
	// Rejections are the objects the API server refused, in rendered order; empty when it
	// accepted all of them.
	Rejections []Rejection
}

// Rejection is one object the API server refused in a dry-run.
type Rejection struct {
	// Object is the rendered object (Ref of it, so File says where it came from).
	Object ObjectRef
	Reason RejectionReason
	// Field is the field path when the server names one (immutable fields, schema errors), as
	// findings write paths ("spec.selector").
	Field string
	// Message is the API server's message.
	Message string
}

// RejectionReason sorts an API server's refusal by what the user has to do about it.
type RejectionReason string

// Rejection reasons.
const (
	// RejectionAdmission: an admission webhook or policy (ValidatingAdmissionPolicy, Kyverno,
	// Gatekeeper, a quota) denied the object.
	RejectionAdmission RejectionReason = "admission"
	// RejectionSchema: the object does not validate against its type's schema (HTTP 422 with
	// field errors, an unknown field under strict field validation).
	RejectionSchema RejectionReason = "schema"
	// RejectionImmutable: the change touches a field that cannot change once the object exists.
	RejectionImmutable RejectionReason = "immutable"
	// RejectionOther: any other refusal (a missing namespace, a conflict, an unknown kind).
	RejectionOther RejectionReason = "other"
)

// ObjectRef names the object a finding is about and where it came from.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	// File in the repository the object came from ("base/deployment.yaml").
	File string `json:"file,omitempty"`
}

// Ref returns the ObjectRef of a rendered object.
func Ref(o render.Object) ObjectRef {
	return ObjectRef{APIVersion: o.APIVersion(), Kind: o.Kind(), Namespace: o.Namespace(), Name: o.Name(), File: o.Source}
}

// Finding is one problem a check found.
type Finding struct {
	// Check is the check's ID, "<gate>/<check>" ("security/privileged").
	Check    string    `json:"check"`
	Severity Severity  `json:"severity"`
	Object   ObjectRef `json:"object"`
	// Path is the field path in the object ("spec.template.spec.containers[0].securityContext.privileged").
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Fix says how to resolve it.
	Fix string `json:"fix,omitempty"`
	// Waived holds the reason from a stagegate.dev/waive annotation; a waived finding never fails a gate.
	Waived string `json:"waived,omitempty"`
}

// Result is one gate's verdict with its findings.
type Result struct {
	Gate     string    `json:"gate"`
	Outcome  Outcome   `json:"outcome"`
	Summary  string    `json:"summary"`
	Findings []Finding `json:"findings,omitempty"`
	// RetryAfter is when the result may change without new facts: when a Pending gate should be
	// evaluated again, or when a passing one stops passing (a window that closes).
	RetryAfter time.Time `json:"retryAfter,omitzero"`
	// Observed are the values a runtime gate observed and judged (metric values, latencies),
	// for the PR's gate table and the merge's trailers.
	Observed []Observation `json:"observed,omitempty"`
}

// Gate is one named, pure check over an Input. Evaluate returns the gate's own findings at their
// default severities; the Set applies the environment's severity overrides and the objects'
// waivers afterwards, so a gate never needs to know about either.
//
// A gate returns Fail with error findings (or, for a gate that judges no object, Fail with a
// Summary), Pending with RetryAfter when a fact it needs is not there yet, and Pass otherwise.
type Gate interface {
	Name() string
	Evaluate(in Input) Result
}

// Check describes one check a gate can report: what SARIF lists as a rule and docs/gates.md as
// a row. Gates that list their checks (see Checker) get severity overrides and waivers naming an
// unknown check reported as mistakes, and richer SARIF rules.
type Check struct {
	// ID is "<gate>/<check>" ("security/privileged").
	ID string `json:"id"`
	// Severity is the default severity of the check's findings.
	Severity Severity `json:"severity"`
	// Title is a short, sentence-case description ("Container runs privileged").
	Title string `json:"title"`
	// Why it matters.
	Why string `json:"why,omitempty"`
	// Fix is how to resolve a finding.
	Fix string `json:"fix,omitempty"`
}

// Checker is implemented by gates that can list the checks they report.
type Checker interface {
	Checks() []Check
}
