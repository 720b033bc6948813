package gitsource_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/gitsource"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"https with user and token", "https://bot:ghp_secret@github.com/acme/shop.git", "https://bot:REDACTED@github.com/acme/shop.git"},
		{"https token as user", "https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/acme/shop.git", "https://REDACTED@github.com/acme/shop.git"},
		{"https long token-like user", "https://0123456789abcdef0123456789abcdef@git.example.com/shop.git", "https://REDACTED@git.example.com/shop.git"},
		{"https long user with dashes kept", "https://deploy-bot-for-the-shop-team@git.example.com/shop.git", "https://deploy-bot-for-the-shop-team@git.example.com/shop.git"},
		{"https plain user kept", "https://alice@git.example.com/shop.git", "https://alice@git.example.com/shop.git"},
		{"https password with @", "https://bot:p@ss@git.example.com/shop.git", "https://bot:REDACTED@git.example.com/shop.git"},
		{"https empty password", "https://bot:@git.example.com/shop.git", "https://bot:REDACTED@git.example.com/shop.git"},
		{"https with port", "https://bot:tok@git.example.com:8443/shop.git", "https://bot:REDACTED@git.example.com:8443/shop.git"},
		{"https no userinfo", "https://github.com/acme/shop.git", "https://github.com/acme/shop.git"},
		{"https token in query", "https://git.example.com/shop.git?access_token=abc&ref=main", "https://git.example.com/shop.git?access_token=REDACTED&ref=main"},
		{"ssh user kept", "ssh://git@github.com/acme/shop.git", "ssh://git@github.com/acme/shop.git"},
		{"ssh password", "ssh://git:hunter2@github.com:2222/acme/shop.git", "ssh://git:REDACTED@github.com:2222/acme/shop.git"},
		{"scp-like", "git@github.com:acme/shop.git", "git@github.com:acme/shop.git"},
		{"scp-like password", "git:hunter2@github.com:acme/shop.git", "git:REDACTED@github.com:acme/shop.git"},
		{"file URL", "file:///srv/git/shop.git", "file:///srv/git/shop.git"},
		{"absolute path with @", "/srv/git/a@b/shop.git", "/srv/git/a@b/shop.git"},
		{"no path", "https://bot:tok@host", "https://bot:REDACTED@host"},
		{"empty", "", ""},
		{"not a URL", "::not a url::", "::not a url::"},
		{"uppercase scheme", "HTTPS://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/x", "HTTPS://REDACTED@github.com/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, gitsource.Redact(tt.url)); diff != "" {
				t.Errorf("Redact(%q) (-want +got):\n%s", tt.url, diff)
			}
		})
	}
}

// FuzzRedact builds URLs of every form around a password and checks that Redact never panics and
// never prints the password. The seed corpus is in testdata/fuzz/FuzzRedact.
func FuzzRedact(f *testing.F) {
	f.Add(uint8(0), "bot", "ghp_secret", "github.com", "/acme/shop.git")
	f.Add(uint8(1), "git", "p@ss:w/rd", "host:22", "/x")
	f.Add(uint8(2), "git", "hunter2", "github.com", "acme/shop.git")
	f.Fuzz(func(t *testing.T, form uint8, user, pass, host, path string) {
		url, clean := build(form, user, pass, host, path)
		got := gitsource.Redact(url) // must not panic, whatever the input
		if !usable(user, pass, host) {
			return
		}
		// The password may legitimately appear if it is part of what Redact keeps (the host,
		// the path, the word REDACTED); only a password that the clean form lacks is a leak.
		if strings.Contains(got, pass) && !strings.Contains(clean, pass) {
			t.Errorf("Redact(%q) = %q leaks the password %q", url, got, pass)
		}
	})
}

// build writes user:pass into a URL of one of several forms; clean is the same URL with the
// password already replaced.
func build(form uint8, user, pass, host, path string) (url, clean string) {
	switch form % 4 {
	case 0:
		return "https://" + user + ":" + pass + "@" + host + path, "https://" + user + ":REDACTED@" + host + path
	case 1:
		return "ssh://" + user + ":" + pass + "@" + host + path, "ssh://" + user + ":REDACTED@" + host + path
	case 2:
		return user + ":" + pass + "@" + host + ":" + path, user + ":REDACTED@" + host + ":" + path
	default:
		return "https://" + host + "/r.git?token=" + pass + path, "https://" + host + "/r.git?token=REDACTED" + path
	}
}

// usable reports whether the parts make a URL whose password git itself would read as one: a
// password cannot hold the characters that end the authority, and the user cannot hold ":" or
// "@" (they would move the password's start). Other inputs still go through Redact, for panics.
func usable(user, pass, host string) bool {
	return len(pass) >= 3 &&
		!strings.ContainsAny(pass, "/?#&") &&
		!strings.ContainsAny(user, ":@/?#") &&
		!strings.ContainsAny(host, "@/?#")
}
