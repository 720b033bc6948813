// Package gitsource is stagegate's view of Git and of the forges: one cached bare mirror per
// repository, a cheap probe of branch heads, incremental fetches, commit trees read as in-memory
// filesystems (no working copy), history between two points, promotion commits with their
// trailers (signed, when a key is given), pushes with a lease, lineage (the target's changes the
// source lacks), commit signatures verified against an OpenPGP keyring and SSH allowed signers,
// and the values forges deal in (requests, reviews, statuses). Refs other than branches (the
// local forge's refs/stagegate/forge) are synced, read, written and pushed with a lease the same
// way. The GitHub forge is in gitsource/github, the local forge in gitsource/local; test
// doubles that are real servers are in gitsourcetest (Git over smart HTTP and SSH) and
// githubtest (a GitHub emulator backed by a real repository).
//
// It talks to remotes over file://, HTTP(S) (token or basic auth) and SSH (key file and
// known_hosts). Credentials come only from the environment or files named in config and never
// appear in errors or logs: URLs are redacted before they are wrapped.
package gitsource
