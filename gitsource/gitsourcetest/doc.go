// Package gitsourcetest builds real Git fixtures for tests, the way net/http/httptest builds real
// servers: bare repositories with deterministic commits (the git CLI), a smart-HTTP server
// (git-http-backend behind basic auth) and an SSH server (golang.org/x/crypto/ssh running
// git-upload-pack), all on 127.0.0.1 and cleaned up when the test ends.
//
// It needs git (2.31 or later) and /usr/lib/git-core/git-http-backend on the machine.
package gitsourcetest
