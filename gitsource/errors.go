package gitsource

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/skeema/knownhosts"
)

// Every error type below has Transient: true means "back off and retry", false means "stop and
// tell the user", so the controller can sort failures without looking at messages.

// AuthError is a remote that refused stagegate's credentials, or wanted some and got none.
// Terminal: retrying with the same credentials fails the same way.
type AuthError struct {
	URL   string // redacted
	Check string // the config field or environment variable to check, as a sentence
	Err   error
}

func (e *AuthError) Error() string {
	// go-git repeats the server's body after its own text; trim the newline it ends with.
	return fmt.Sprintf("authentication to %s failed: %s: %s", e.URL, e.Check, strings.TrimSpace(e.Err.Error()))
}
func (e *AuthError) Unwrap() error   { return e.Err }
func (e *AuthError) Transient() bool { return false }

// BranchNotFoundError is a branch the config names that the remote does not have.
type BranchNotFoundError struct {
	Branch string
	URL    string   // redacted
	Have   []string // the branches the remote does have, sorted
}

func (e *BranchNotFoundError) Error() string {
	have := "it has no branches"
	if len(e.Have) > 0 {
		have = "it has " + strings.Join(e.Have, ", ")
	}
	return fmt.Sprintf("branch %q not found in %s (%s): create the branch or fix the environment's branch in the config",
		e.Branch, e.URL, have)
}
func (e *BranchNotFoundError) Transient() bool { return false }

// UnreachableError is a remote stagegate could not talk to: DNS, refused or dropped connections,
// timeouts, or an SSH host key that known_hosts does not vouch for.
type UnreachableError struct {
	URL string // redacted
	// KnownHostsFile is set when the SSH host key was unknown or did not match this file.
	// That is not transient: a person has to check the key and update the file.
	KnownHostsFile string
	Err            error
}

func (e *UnreachableError) Error() string {
	if e.KnownHostsFile != "" && knownhosts.IsHostKeyChanged(e.Err) {
		return fmt.Sprintf("cannot trust %s: its host key does not match the one in %s (repo.sshKnownHostsFile): if the server's key really changed, replace its entry; if not, someone may be intercepting the connection",
			e.URL, e.KnownHostsFile)
	}
	if e.KnownHostsFile != "" {
		return fmt.Sprintf("cannot trust %s: %v: check the server's host key and add it to the known_hosts file %s (repo.sshKnownHostsFile), for example with ssh-keyscan",
			e.URL, e.Err, e.KnownHostsFile)
	}
	return fmt.Sprintf("cannot reach %s: %v: check the URL, the network and that the server is up", e.URL, e.Err)
}
func (e *UnreachableError) Unwrap() error   { return e.Err }
func (e *UnreachableError) Transient() bool { return e.KnownHostsFile == "" }

// NotFoundError is a revision that is not in the mirror, or a repository the remote says does
// not exist.
type NotFoundError struct {
	URL        string // redacted
	Rev        string // the revision asked for
	Repository bool   // the repository itself is missing, not a revision
	Err        error  // optional detail, such as an ambiguous short sha
}

func (e *NotFoundError) Error() string {
	if e.Repository {
		return fmt.Sprintf("repository %s not found: check the URL (a private repository can also look missing when the credentials are wrong)", e.URL)
	}
	msg := fmt.Sprintf("revision %q not found in the mirror of %s: use a branch name, a full sha or a unique short sha (4+ hex digits), and sync the branch that holds it first", e.Rev, e.URL)
	if e.Err != nil {
		msg = fmt.Sprintf("revision %q in the mirror of %s: %v", e.Rev, e.URL, e.Err)
	}
	return msg
}
func (e *NotFoundError) Unwrap() error   { return e.Err }
func (e *NotFoundError) Transient() bool { return false }

// IsTransient reports whether err, or an error it wraps, says to retry later. Errors this
// package does not know (a corrupt mirror, a full disk) are not transient.
func IsTransient(err error) bool {
	var t interface{ Transient() bool }
	if errors.As(err, &t) {
		return t.Transient()
	}
	return false
}

// classify turns an error from a remote operation into one of the typed errors above. It must
// only ever be given errors that hold no secret: go-git never sees credentials in a URL, because
// Open refuses such URLs and credentials travel in an AuthMethod.
func (m *Mirror) classify(err error, knownHosts string) error {
	if err == nil {
		return nil
	}
	// A cancelled or expired context is the caller's decision, not the remote's fault.
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", m.url, err)
	}
	var typed interface{ Transient() bool }
	if errors.As(err, &typed) {
		return err
	}
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod),
		isSSHAuthFailure(err):
		return &AuthError{URL: m.url, Check: m.creds.check(), Err: err}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &NotFoundError{URL: m.url, Repository: true}
	case knownhosts.IsHostKeyChanged(err), knownhosts.IsHostUnknown(err):
		return &UnreachableError{URL: m.url, KnownHostsFile: knownHosts, Err: err}
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &dnsErr) || isConnectionFailure(err) {
		return &UnreachableError{URL: m.url, Err: err}
	}
	return fmt.Errorf("%s: %w", m.url, err)
}

// isSSHAuthFailure recognises x/crypto/ssh's client auth failure, which has no exported type.
func isSSHAuthFailure(err error) bool {
	return strings.Contains(err.Error(), "ssh: unable to authenticate")
}

// isConnectionFailure recognises transport failures that reach us as plain strings (go-git and
// x/crypto/ssh flatten some of them).
func isConnectionFailure(err error) bool {
	s := err.Error()
	for _, sub := range []string{"connection refused", "connection reset", "no such host", "i/o timeout", "EOF", "handshake failed"} {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
