// Package gitsource is stagegate's view of Git: one cached bare mirror per repository, a cheap
// probe of branch heads, incremental fetches, commit trees read as in-memory filesystems (no
// working copy), commit history between two points and, later, promotion commits.
//
// It talks to remotes over file://, HTTP(S) (token or basic auth) and SSH (key file and
// known_hosts). Credentials come only from the environment or files named in config and never
// appear in errors or logs: URLs are redacted before they are wrapped.
package gitsource
