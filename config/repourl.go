package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Transport is how stagegate talks to a repository, which decides the credentials it can use.
type Transport string

// Transports.
const (
	TransportFile  Transport = "file"
	TransportHTTP  Transport = "http"
	TransportHTTPS Transport = "https"
	TransportSSH   Transport = "ssh"
)

// TakesToken reports whether the transport authenticates with a user name and token (http and
// https); ssh takes a key, file nothing.
func (t Transport) TakesToken() bool { return t == TransportHTTP || t == TransportHTTPS }

// RepoURL is a repository URL as stagegate reads it. Config validation and the gitsource package
// both read spec.repo.url with ParseRepoURL, so that a URL that validates is a URL that connects,
// and one that connects has validated.
type RepoURL struct {
	Transport Transport
	// User is the SSH user (git in git@host:path); empty for the other transports, whose URLs
	// may not carry a user.
	User string
	// Host is the host name or IP address, without port or IPv6 brackets; empty for file.
	Host string
	// Port as written; empty for the transport's default.
	Port string
	// Path on the host, or of the local repository.
	Path string
	// Remote is the URL in the form Git transports take: as written, except that git+ssh:// and
	// ssh+git:// are written ssh://.
	Remote string
}

// Cleartext reports whether a token sent to the URL would cross the network unencrypted:
// http:// to any host but loopback (localhost, 127.0.0.0/8, ::1), where tests serve.
func (u RepoURL) Cleartext() bool {
	return u.Transport == TransportHTTP && !isLoopback(strings.ToLower(u.Host))
}

// ErrCleartextToken is the problem with a token on a Cleartext URL.
var ErrCleartextToken = errors.New("http:// would send the token in clear text; use https:// (http:// with a token is allowed only on loopback, for tests)")

const urlForms = "https://host/org/repo.git, ssh://git@host/org/repo.git, git@host:org/repo.git, file:///path/repo.git or /path/repo.git"

// errURLCredentials is the problem with credentials in an http(s) URL. A user name alone is
// refused too: https://<token>@host/ is the common way to paste a token into a URL, and a token
// cannot be told from a user name reliably, while spec.repo.username has no such ambiguity.
var errURLCredentials = errors.New("credentials in the URL are not allowed; remove them and use tokenEnv or tokenFile (with username if the server needs one)")

// scpLike is git's [user@]host:[port:]path, as go-git matches it (internal/url), so that what
// is read as SSH here is what the transport dials.
var scpLike = regexp.MustCompile(`^(?:([^@]+)@)?([^:\s]+):(?:([0-9]{1,5}):)?([^\\].*)$`)

// ParseRepoURL reads a repository URL: https:// or http://, ssh:// (also git+ssh:// and
// ssh+git://), scp-like [user@]host:path, file:// or an absolute path. It refuses what stagegate
// cannot or must not use (other schemes, relative paths, passwords, a user name or query in an
// http(s) URL) with an error that says what to write instead. Errors never repeat the URL: it
// may hold a secret.
func ParseRepoURL(raw string) (RepoURL, error) {
	switch {
	case raw == "":
		return RepoURL{}, fmt.Errorf("required; use one of %s", urlForms)
	case strings.TrimSpace(raw) != raw:
		return RepoURL{}, errors.New("has leading or trailing spaces; remove them")
	case strings.HasPrefix(raw, "/"):
		return RepoURL{Transport: TransportFile, Path: raw, Remote: raw}, nil
	}
	if i := schemeEnd(raw); i >= 0 {
		return parseSchemeURL(raw, strings.ToLower(raw[:i]))
	}
	// Like git, a slash before the first colon makes a local path, not an scp-like URL.
	if before, _, _ := strings.Cut(raw, ":"); !strings.Contains(before, "/") {
		if m := scpLike.FindStringSubmatch(raw); m != nil {
			if strings.Contains(m[1], ":") {
				return RepoURL{}, errors.New("a password in the URL is not allowed; remove it and use sshKeyFile")
			}
			return RepoURL{Transport: TransportSSH, User: m[1], Host: strings.Trim(m[2], "[]"), Port: m[3], Path: m[4], Remote: raw}, nil
		}
	}
	return RepoURL{}, fmt.Errorf("not a URL or an absolute path; use one of %s", urlForms)
}

func parseSchemeURL(raw, scheme string) (RepoURL, error) {
	r := RepoURL{Remote: raw}
	switch scheme {
	case "https":
		r.Transport = TransportHTTPS
	case "http":
		r.Transport = TransportHTTP
	case "ssh", "git+ssh", "ssh+git":
		// go-git knows only ssh://; git accepts the other two spellings as the same thing.
		r.Transport = TransportSSH
		r.Remote = "ssh" + raw[len(scheme):]
	case "file":
		r.Transport = TransportFile
	default:
		return RepoURL{}, fmt.Errorf("unsupported scheme %q; use one of %s", scheme, urlForms)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's reasons quote the part they stumbled on, which may be part of a password.
		if strings.Contains(raw, "@") {
			return RepoURL{}, fmt.Errorf("not a valid URL; use one of %s", urlForms)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return RepoURL{}, fmt.Errorf("not a valid URL (%v); use one of %s", err, urlForms)
	}
	if u.User != nil {
		switch _, hasPassword := u.User.Password(); {
		case r.Transport.TakesToken():
			return RepoURL{}, errURLCredentials
		case r.Transport == TransportFile:
			return RepoURL{}, errors.New("a file URL takes no user; write file:///path/to/repo.git")
		case hasPassword:
			return RepoURL{}, errors.New("a password in the URL is not allowed; remove it and use sshKeyFile")
		}
		r.User = u.User.Username()
	}
	// Git would send a query as part of the path; in practice one holds a token.
	if u.RawQuery != "" || u.ForceQuery {
		return RepoURL{}, errors.New("a query (?…) is not allowed in the URL; remove it, and if it holds a token, use tokenEnv or tokenFile")
	}
	if u.Fragment != "" {
		return RepoURL{}, errors.New("a fragment (#…) is not allowed in the URL; remove it")
	}
	r.Host, r.Port, r.Path = u.Hostname(), u.Port(), u.Path
	if r.Transport == TransportFile {
		if r.Host != "" && !strings.EqualFold(r.Host, "localhost") {
			return RepoURL{}, fmt.Errorf("file URLs name a local path; write file:///%s", strings.TrimPrefix(u.Host+u.Path, "/"))
		}
		if r.Path == "" || r.Path == "/" {
			return RepoURL{}, errors.New("has no path; write file:///path/to/repo.git")
		}
		r.Host = ""
		return r, nil
	}
	if r.Host == "" {
		return RepoURL{}, fmt.Errorf("has no host; use one of %s", urlForms)
	}
	return r, nil
}

// schemeEnd returns the index of "://" when raw starts with a scheme, else -1. Like git, it
// accepts only a letter followed by letters, digits, "+", "-" and ".": "a:b@host:x://y" is an
// scp-like URL with a password, not a URL whose scheme is "a:b@host:x".
func schemeEnd(raw string) int {
	i := strings.Index(raw, "://")
	if i <= 0 {
		return -1
	}
	for j, c := range raw[:i] {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return -1
		}
	}
	return i
}
