package gitsource

import (
	"strings"
)

// redacted replaces every secret stagegate prints in place of the secret.
const redacted = "REDACTED"

// Redact returns url with its secrets replaced by REDACTED, so it can be printed, logged or
// wrapped into an error. It works on any Git URL form, including ones net/url cannot parse
// (scp-like git@host:path) and malformed ones, and never fails:
//
//   - a password in the userinfo is replaced: https://user:tok@host/r → https://user:REDACTED@host/r
//     (the same for ssh://, file:// and scp-like user:pass@host:path);
//   - a lone user name is kept (ssh's "git@" is harmless) unless, in an http(s) URL, it looks like a
//     token (GitHub and GitLab token prefixes, or a long run of letters and digits), because
//     https://<token>@host/ is a common way to embed a token;
//   - the value of a query parameter whose name suggests a secret (token, key, secret, password,
//     sig, auth) is replaced.
//
// It edits the string in place rather than re-serialising a parsed URL, so that everything that
// is not a secret is printed exactly as the user wrote it.
func Redact(url string) string {
	rest, authority, tail, scheme := splitURL(url)
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		authority = redactUserinfo(authority[:at], scheme) + authority[at:]
	}
	return rest + authority + redactQuery(tail)
}

// splitURL splits url into the part before the authority (scheme and "://", or "" for scp-like
// and local forms), the authority (userinfo and host) and the tail (path, query and fragment).
func splitURL(url string) (head, authority, tail, scheme string) {
	if i := schemeEnd(url); i >= 0 {
		head, rest := url[:i+3], url[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		return head, rest[:end], rest[end:], strings.ToLower(url[:i])
	}
	// scp-like user@host:path. Git treats a string as scp-like when a colon comes before any
	// slash; the userinfo then ends at the last "@" before the first slash.
	end := strings.IndexByte(url, '/')
	if end < 0 {
		end = len(url)
	}
	at := strings.LastIndex(url[:end], "@")
	if at < 0 {
		return "", "", url, ""
	}
	// The authority runs to the host's colon, if any; keep the path untouched.
	hostEnd := at + 1 + strings.IndexByte(url[at+1:end]+":", ':')
	return "", url[:hostEnd], url[hostEnd:], ""
}

// schemeEnd returns the index of "://" when url starts with a scheme, else -1. Like git, it
// accepts only a letter followed by letters, digits, "+", "-" and ".": "a:b@host:x://y" is an
// scp-like URL with a password, not a URL whose scheme is "a:b@host:x".
func schemeEnd(url string) int {
	i := strings.Index(url, "://")
	if i <= 0 {
		return -1
	}
	for j, c := range url[:i] {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return -1
		}
	}
	return i
}

// redactUserinfo keeps the user name and hides the password.
func redactUserinfo(userinfo, scheme string) string {
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		if looksLikeToken(user) {
			user = redacted
		}
		return user + ":" + redacted
	}
	if (scheme == "http" || scheme == "https") && looksLikeToken(userinfo) {
		return redacted
	}
	return userinfo
}

// tokenPrefixes are the prefixes of GitHub's and GitLab's access tokens.
var tokenPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-"}

// looksLikeToken reports whether a user name is probably a token: a known token prefix, or 20 or
// more characters with none of the separators a person's or bot's user name has. Open refuses
// every user name in an http(s) URL (config.ParseRepoURL), so this rule only decides what a
// message prints, and it stays narrow: "deploy-bot-for-shop" is a user name.
func looksLikeToken(user string) bool {
	for _, p := range tokenPrefixes {
		if strings.HasPrefix(strings.ToLower(user), p) {
			return true
		}
	}
	if len(user) < 20 {
		return false
	}
	return !strings.ContainsAny(user, ".-_@[]")
}

// secretParams are substrings of query parameter names whose values are secrets.
var secretParams = []string{"token", "key", "secret", "password", "passwd", "sig", "auth", "credential"}

// redactQuery hides the values of secret-looking query parameters in tail (path?query#fragment).
func redactQuery(tail string) string {
	q := strings.IndexByte(tail, '?')
	if q < 0 {
		return tail
	}
	path, query := tail[:q+1], tail[q+1:]
	fragment := ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, fragment = query[:h], query[h:]
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		name, _, ok := strings.Cut(p, "=")
		if ok && isSecretParam(name) {
			params[i] = name + "=" + redacted
		}
	}
	return path + strings.Join(params, "&") + fragment
}

func isSecretParam(name string) bool {
	name = strings.ToLower(name)
	for _, s := range secretParams {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}
