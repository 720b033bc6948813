package gitsource

import (
	"fmt"
	"time"
)

// The values a forge (GitHub, or the local forge in the repository itself) deals in. The
// controller declares the Forge interface over them; forges implement it; gates read them.

// RequestState is a promotion request's (pull request's) state.
type RequestState string

// Request states, as GitHub names them; a merged request is closed with Merged set.
const (
	RequestOpen   RequestState = "open"
	RequestClosed RequestState = "closed"
	RequestAll    RequestState = "all" // only as a filter
)

// Request is a promotion request: a pull request on GitHub.
type Request struct {
	Number int    `json:"number"`
	URL    string `json:"url"` // the page a person opens
	Title  string `json:"title"`
	Body   string `json:"body"`
	// Head is the branch the request merges from (stagegate/promote/prod), HeadSHA its commit.
	Head    string       `json:"head"`
	HeadSHA string       `json:"headSHA"`
	Base    string       `json:"base"`
	State   RequestState `json:"state"`
	Merged  bool         `json:"merged"`
	// MergeSHA is the commit the merge made on Base.
	MergeSHA string `json:"mergeSHA,omitempty"`
	// Author opened the request; MergedBy merged it.
	Author   string    `json:"author"`
	MergedBy string    `json:"mergedBy,omitempty"`
	Labels   []string  `json:"labels,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Closed   time.Time `json:"closed,omitzero"`
}

// Issue is an issue on the forge: where stagegate reports what no request is for, such as an
// environment's drift. Issues take the request states: open or closed, "all" only as a filter.
type Issue struct {
	Number int          `json:"number"`
	URL    string       `json:"url"` // the page a person opens
	Title  string       `json:"title"`
	Body   string       `json:"body"`
	State  RequestState `json:"state"`
	// Author opened the issue: stagegate's own account, or a person who used the same label.
	Author  string    `json:"author"`
	Labels  []string  `json:"labels,omitempty"`
	Updated time.Time `json:"updated"`
}

// NewRequest is what opening a request takes.
type NewRequest struct {
	Head, Base  string
	Title, Body string
	Labels      []string
}

// ReviewState is a review's verdict, as GitHub names it.
type ReviewState string

// Review states.
const (
	Approved         ReviewState = "APPROVED"
	ChangesRequested ReviewState = "CHANGES_REQUESTED"
	Commented        ReviewState = "COMMENTED"
	Dismissed        ReviewState = "DISMISSED"
)

// Review is one review of a request.
type Review struct {
	ID    int64       `json:"id"`
	User  string      `json:"user"` // login
	State ReviewState `json:"state"`
	// CommitSHA is the request's head when the review was submitted.
	CommitSHA string    `json:"commitSHA"`
	Submitted time.Time `json:"submitted"`
}

// StatusState is a commit status's or check run's outcome, as GitHub's commit statuses name them.
type StatusState string

// Status states.
const (
	StatusPending StatusState = "pending"
	StatusSuccess StatusState = "success"
	StatusFailure StatusState = "failure"
	StatusError   StatusState = "error"
)

// StatusKind says where a Status came from.
type StatusKind string

// Status kinds.
const (
	CommitStatus StatusKind = "status"    // a commit status (what stagegate posts)
	CheckRun     StatusKind = "check-run" // a GitHub check run, mapped onto StatusState
)

// Status is a commit status or a check run on a commit: the latest one for its context.
type Status struct {
	Context     string      `json:"context"` // "stagegate/security", "ci/build", a check run's name
	State       StatusState `json:"state"`
	Description string      `json:"description,omitempty"`
	TargetURL   string      `json:"targetURL,omitempty"`
	Kind        StatusKind  `json:"kind"`
	Updated     time.Time   `json:"updated"`
}

// MergeMethod is how a request is merged: merge, squash or rebase (config.MergeMethod's values).
type MergeMethod string

// MergeOptions guard and shape a merge.
type MergeOptions struct {
	// SHA must equal the request's head: GitHub refuses (409) when the head moved, so only what
	// was gated merges.
	SHA    string
	Method MergeMethod
	// Title and Message of the merge or squash commit (ignored for rebase).
	Title, Message string
}

// HeadMovedError: the request's head is no longer the SHA the merge was guarded with (409).
type HeadMovedError struct {
	Number int
	SHA    string
}

func (e *HeadMovedError) Error() string {
	return fmt.Sprintf("request #%d: head moved from %s; gate the new head before merging", e.Number, e.SHA)
}

// NotMergeableError: the forge refuses to merge (405: conflicts, branch protection, a required
// check missing). Reason is the forge's message.
type NotMergeableError struct {
	Number int
	Reason string
}

func (e *NotMergeableError) Error() string {
	return fmt.Sprintf("request #%d is not mergeable: %s", e.Number, e.Reason)
}

// RequestExistsError: an open request for the same head and base already exists (GitHub's 422).
type RequestExistsError struct {
	Head, Base string
}

func (e *RequestExistsError) Error() string {
	return fmt.Sprintf("an open request from %s into %s already exists", e.Head, e.Base)
}
