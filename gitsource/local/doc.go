// Package local is the local forge: promotion requests, reviews, commit statuses, comments and
// issues recorded in the repository itself, so the whole promotion loop runs against any Git
// server with no forge. It implements controller.Forge on a *gitsource.Mirror.
//
// A request is the branch stagegate/promote/<env> plus a record. Every record lives in one ref,
// refs/stagegate/forge, whose commit's tree holds JSON files:
//
//	next                  the next request or issue number
//	requests/<n>.json     a request: head, base, title, body, state, merge, labels, comments, reviews
//	issues/<n>.json       an issue: title, body, state, labels, comments
//	statuses/<sha>.json   the latest commit status per context on commit <sha>
//
// Every change is a new commit on that ref, pushed with a lease on the ref's old value: of two
// writers racing (two agents, or an agent and a person running stagegate approve), one wins and
// the other re-reads the records and applies its change again, so no update is lost. The ref's
// history is the audit trail of every request, review, status and merge. A change that changes
// nothing writes nothing.
//
// The package does not know the controller; the boundary is the Forge interface the controller
// declares, and the value types and errors of gitsource.
package local
