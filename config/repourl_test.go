package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRepoURL(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want RepoURL
		err  string // in the error; "" for success
	}{
		{"https", "https://github.com/acme/shop.git",
			RepoURL{Transport: TransportHTTPS, Host: "github.com", Path: "/acme/shop.git", Remote: "https://github.com/acme/shop.git"}, ""},
		{"http with a port", "http://127.0.0.1:8080/shop.git",
			RepoURL{Transport: TransportHTTP, Host: "127.0.0.1", Port: "8080", Path: "/shop.git", Remote: "http://127.0.0.1:8080/shop.git"}, ""},
		{"an upper-case scheme", "HTTPS://github.com/acme/shop.git",
			RepoURL{Transport: TransportHTTPS, Host: "github.com", Path: "/acme/shop.git", Remote: "HTTPS://github.com/acme/shop.git"}, ""},
		{"ssh with user and port", "ssh://git@git.example.com:2222/acme/shop.git",
			RepoURL{Transport: TransportSSH, User: "git", Host: "git.example.com", Port: "2222", Path: "/acme/shop.git", Remote: "ssh://git@git.example.com:2222/acme/shop.git"}, ""},
		{"git+ssh is ssh, written ssh:// for the transport", "git+ssh://git@example.com/shop.git",
			RepoURL{Transport: TransportSSH, User: "git", Host: "example.com", Path: "/shop.git", Remote: "ssh://git@example.com/shop.git"}, ""},
		{"ssh+git is ssh too", "ssh+git://example.com/shop.git",
			RepoURL{Transport: TransportSSH, Host: "example.com", Path: "/shop.git", Remote: "ssh://example.com/shop.git"}, ""},
		{"scp-like", "git@github.com:acme/shop.git",
			RepoURL{Transport: TransportSSH, User: "git", Host: "github.com", Path: "acme/shop.git", Remote: "git@github.com:acme/shop.git"}, ""},
		{"scp-like without a user", "github.com:acme/shop.git",
			RepoURL{Transport: TransportSSH, Host: "github.com", Path: "acme/shop.git", Remote: "github.com:acme/shop.git"}, ""},
		{"file URL", "file:///srv/git/shop.git",
			RepoURL{Transport: TransportFile, Path: "/srv/git/shop.git", Remote: "file:///srv/git/shop.git"}, ""},
		{"file URL on localhost", "file://localhost/srv/git/shop.git",
			RepoURL{Transport: TransportFile, Path: "/srv/git/shop.git", Remote: "file://localhost/srv/git/shop.git"}, ""},
		{"absolute path", "/srv/git/shop.git",
			RepoURL{Transport: TransportFile, Path: "/srv/git/shop.git", Remote: "/srv/git/shop.git"}, ""},

		{"empty", "", RepoURL{}, "required"},
		{"spaces", " https://github.com/acme/shop.git", RepoURL{}, "leading or trailing spaces"},
		{"a password in https", "https://bot:s3cret@github.com/acme/shop.git", RepoURL{}, "use tokenEnv or tokenFile"},
		{"a user name in https", "https://bot@github.com/acme/shop.git", RepoURL{}, "use tokenEnv or tokenFile (with username"},
		{"a token as the https user", "https://ghp_s3cret@github.com/acme/shop.git", RepoURL{}, "credentials in the URL are not allowed"},
		{"a token in the query", "https://git.example.com/shop.git?access_token=s3cret", RepoURL{}, "use tokenEnv"},
		{"an empty query", "https://git.example.com/shop.git?", RepoURL{}, "a query"},
		{"a fragment", "https://git.example.com/shop.git#main", RepoURL{}, "a fragment"},
		{"a password in ssh", "ssh://git:s3cret@example.com/shop.git", RepoURL{}, "use sshKeyFile"},
		{"a password in scp-like", "git:s3cret@example.com:shop.git", RepoURL{}, "use sshKeyFile"},
		{"git protocol", "git://example.com/shop.git", RepoURL{}, `unsupported scheme "git"`},
		{"ftp", "ftp://example.com/shop.git", RepoURL{}, `unsupported scheme "ftp"`},
		{"no host", "https:///shop.git", RepoURL{}, "has no host"},
		{"a port but no host", "ssh://:22/shop.git", RepoURL{}, "has no host"},
		{"a file URL with a host", "file://server/shop.git", RepoURL{}, "file:///server/shop.git"},
		{"a file URL with a user", "file://me@localhost/shop.git", RepoURL{}, "takes no user"},
		{"a file URL without a path", "file:///", RepoURL{}, "has no path"},
		{"relative path", "./shop.git", RepoURL{}, "not a URL or an absolute path"},
		{"relative path with a colon after a slash", "repos/a:b.git", RepoURL{}, "not a URL or an absolute path"},
		{"a bad escape in a URL with credentials does not quote them", "https://bot:%zzs3cret@github.com/r.git", RepoURL{}, "not a valid URL;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRepoURL(tt.raw)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRepoURL(%q) = %+v, %v; want an error saying %q", tt.raw, got, err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %q repeats the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRepoURL(%q): %v", tt.raw, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRepoURL(%q) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
}

func TestCleartext(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://git.example.com/shop.git":    true,
		"http://10.0.0.1/shop.git":           true,
		"http://localhost.example.com/s.git": true,
		"http://localhost:8080/shop.git":     false,
		"http://LOCALHOST/shop.git":          false,
		"http://127.0.0.1:8080/shop.git":     false,
		"http://127.1.2.3/shop.git":          false,
		"http://[::1]:8080/shop.git":         false,
		"https://git.example.com/shop.git":   false,
		"ssh://git@git.example.com/shop.git": false,
		"git@git.example.com:acme/shop.git":  false,
		"file:///srv/git/shop.git":           false,
	} {
		u, err := ParseRepoURL(raw)
		if err != nil {
			t.Fatalf("ParseRepoURL(%q): %v", raw, err)
		}
		if got := u.Cleartext(); got != want {
			t.Errorf("ParseRepoURL(%q).Cleartext() = %v, want %v", raw, got, want)
		}
	}
}

// FuzzParseRepoURL checks that no URL panics the parser, that an accepted http(s) URL carries
// no credentials, and that no error repeats a password.
func FuzzParseRepoURL(f *testing.F) {
	for _, s := range []string{"https://github.com/acme/shop.git", "git@github.com:acme/shop.git",
		"ssh://git@h:22/x", "git+ssh://h/x", "file:///x", "/x", "https://u:p@h/x", "https://h/x?token=t", "a:b@h:x://y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseRepoURL(raw)
		if err != nil {
			if pass := urlPassword(raw); len(pass) >= 8 && !strings.Contains(urlForms, pass) && strings.Contains(err.Error(), pass) {
				t.Errorf("error %q repeats the password %q", err, pass)
			}
			return
		}
		if u.Transport.TakesToken() && (u.User != "" || strings.Contains(u.Remote, "@") && !strings.Contains(u.Path, "@")) {
			t.Errorf("ParseRepoURL(%q) accepted credentials: %+v", raw, u)
		}
		if u.Remote == "" || u.Transport == "" {
			t.Errorf("ParseRepoURL(%q) = %+v: want a transport and a remote", raw, u)
		}
	})
}

// urlPassword returns the password of a scheme://user:password@host URL, as net/url reads the
// authority, or "".
func urlPassword(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return ""
	}
	_, pass, _ := strings.Cut(rest[:at], ":")
	return pass
}

// http:// would carry the token in clear text, so a token is refused on it except on loopback.
func TestParseRefusesTokenOverHTTP(t *testing.T) {
	doc := func(repo string) []byte {
		return yamlDoc(`
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: shop}
spec:
  repo: ` + repo + `
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`)
	}
	want := []string{`stagegate.yaml:5: spec.repo.url: ` + ErrCleartextToken.Error()}
	for _, repo := range []string{
		`{url: "http://git.example.com/shop.git", tokenEnv: GIT_TOKEN}`,
		`{url: "http://git.example.com/shop.git", tokenFile: /run/secrets/token}`,
	} {
		_, err := Parse(doc(repo), "stagegate.yaml")
		if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
			t.Errorf("%s: problems (-want +got):\n%s", repo, diff)
		}
	}
	for _, repo := range []string{
		`{url: "http://127.0.0.1:8080/shop.git", tokenEnv: GIT_TOKEN}`,
		`{url: "http://localhost/shop.git", tokenFile: /run/secrets/token}`,
		`{url: "http://[::1]:8080/shop.git", tokenEnv: GIT_TOKEN}`,
		`{url: "http://git.example.com/shop.git"}`,
		`{url: "http://git.example.com/shop.git", username: reader}`,
		`{url: "https://git.example.com/shop.git", tokenEnv: GIT_TOKEN}`,
	} {
		if _, err := Parse(doc(repo), "stagegate.yaml"); err != nil {
			t.Errorf("%s: %v", repo, err)
		}
	}
}
