// Package controller runs the promotion loop for a pipeline: probe and fetch the environment
// branches, render each environment, gate, propose, merge, apply and watch drift.
//
// It owns the order of steps and the state carried between them; it does no Git, rendering or
// cluster work itself but calls gitsource, render, gates, deploy and drift for that. Plan, the
// read-only dry run of one cycle, lives here too: it is the first half of the loop. So does Audit, the
// read-only ledger of an environment branch's promotions from their trailers.
package controller
