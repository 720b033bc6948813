package gitsource_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// TestConfigAndOpenAgreeOnURLs loads each repository URL form both ways, with config.Parse
// (what `stagegate validate` says) and gitsource.Open (what connects), and checks that they
// agree: a URL that validates opens, and one that opens validates. An accepted URL must also
// be one go-git has a transport for.
func TestConfigAndOpenAgreeOnURLs(t *testing.T) {
	const key = "/run/secrets/id_ed25519" // Open does not read it; connecting would
	tests := []struct {
		name string
		repo config.Repo
		ok   bool
	}{
		{"https", config.Repo{URL: "https://github.com/acme/shop.git"}, true},
		{"https with a token", config.Repo{URL: "https://github.com/acme/shop.git", TokenEnv: "GIT_TOKEN"}, true},
		{"https with username and token file", config.Repo{URL: "https://git.example.com/shop.git", Username: "bot", TokenFile: "/t"}, true},
		{"an upper-case scheme", config.Repo{URL: "HTTPS://github.com/acme/shop.git"}, true},
		{"http, anonymous", config.Repo{URL: "http://git.example.com/shop.git"}, true},
		{"http with a user name and no token", config.Repo{URL: "http://git.example.com/shop.git", Username: "reader"}, true},
		{"http with a token on 127.0.0.1", config.Repo{URL: "http://127.0.0.1:8080/shop.git", TokenEnv: "GIT_TOKEN"}, true},
		{"http with a token on localhost", config.Repo{URL: "http://localhost/shop.git", TokenFile: "/t"}, true},
		{"http with a token on ::1", config.Repo{URL: "http://[::1]:8080/shop.git", TokenEnv: "GIT_TOKEN"}, true},
		{"ssh", config.Repo{URL: "ssh://git@git.example.com:2222/acme/shop.git", SSHKeyFile: key}, true},
		{"git+ssh", config.Repo{URL: "git+ssh://git@git.example.com/acme/shop.git", SSHKeyFile: key}, true},
		{"ssh+git", config.Repo{URL: "ssh+git://git.example.com/acme/shop.git", SSHKeyFile: key}, true},
		{"scp-like", config.Repo{URL: "git@github.com:acme/shop.git", SSHKeyFile: key}, true},
		{"scp-like without a user", config.Repo{URL: "github.com:acme/shop.git", SSHKeyFile: key}, true},
		{"file URL", config.Repo{URL: "file:///srv/git/shop.git"}, true},
		{"file URL on localhost", config.Repo{URL: "file://localhost/srv/git/shop.git"}, true},
		{"absolute path", config.Repo{URL: "/srv/git/shop.git"}, true},

		{"a token in the query", config.Repo{URL: "https://git.example.com/shop.git?access_token=s3cr3t-value"}, false},
		{"a harmless-looking query", config.Repo{URL: "https://git.example.com/shop.git?ref=main"}, false},
		{"a fragment", config.Repo{URL: "https://git.example.com/shop.git#main"}, false},
		{"a user name in https", config.Repo{URL: "https://bot@git.example.com/shop.git", TokenEnv: "GIT_TOKEN"}, false},
		{"a password in https", config.Repo{URL: "https://bot:s3cr3t-value@git.example.com/shop.git"}, false},
		{"a token as the https user", config.Repo{URL: "https://ghp_s3cr3tvalue0123456789abcdef@github.com/acme/shop.git"}, false},
		{"a token over http", config.Repo{URL: "http://git.example.com/shop.git", TokenEnv: "GIT_TOKEN"}, false},
		{"a token file over http", config.Repo{URL: "http://10.0.0.7/shop.git", TokenFile: "/t"}, false},
		{"a password in ssh", config.Repo{URL: "ssh://git:s3cr3t-value@git.example.com/shop.git", SSHKeyFile: key}, false},
		{"a password in scp-like", config.Repo{URL: "git:s3cr3t-value@git.example.com:shop.git", SSHKeyFile: key}, false},
		{"git protocol", config.Repo{URL: "git://git.example.com/shop.git"}, false},
		{"ftp", config.Repo{URL: "ftp://git.example.com/shop.git"}, false},
		{"no host", config.Repo{URL: "https:///shop.git"}, false},
		{"a file URL with a host", config.Repo{URL: "file://server/srv/git/shop.git"}, false},
		{"a relative path", config.Repo{URL: "./shop.git"}, false},
		{"a relative path without a dot", config.Repo{URL: "repos/shop.git"}, false},
		{"empty", config.Repo{}, false},
		{"leading space", config.Repo{URL: " https://github.com/acme/shop.git"}, false},
		{"an ssh key on an https URL", config.Repo{URL: "https://github.com/acme/shop.git", SSHKeyFile: key}, false},
		{"a token on an ssh URL", config.Repo{URL: "git@github.com:acme/shop.git", SSHKeyFile: key, TokenEnv: "GIT_TOKEN"}, false},
		{"a token on a local path", config.Repo{URL: "/srv/git/shop.git", TokenEnv: "GIT_TOKEN"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, parseErr := config.Parse([]byte(pipelineWithRepo(tt.repo)), "stagegate.yaml")
			m, openErr := gitsource.Open(context.Background(), tt.repo, options(t, t.TempDir(), nil, nil))
			if (parseErr == nil) != tt.ok || (openErr == nil) != tt.ok {
				t.Fatalf("want accepted=%v by both\nconfig.Parse:   %v\ngitsource.Open: %v", tt.ok, parseErr, openErr)
			}
			for _, err := range []error{parseErr, openErr} {
				if err != nil && strings.Contains(err.Error(), "s3cr3t") {
					t.Errorf("error leaks the secret: %v", err)
				}
			}
			if m == nil {
				return
			}
			// The mirror's remote is a URL go-git can dial.
			r, err := git.PlainOpen(m.Dir())
			if err != nil {
				t.Fatal(err)
			}
			remote, err := r.Remote("origin")
			if err != nil {
				t.Fatal(err)
			}
			ep, err := transport.NewEndpoint(remote.Config().URLs[0])
			if err != nil {
				t.Fatalf("remote URL %q: %v", remote.Config().URLs[0], err)
			}
			if _, ok := client.Protocols[ep.Protocol]; !ok {
				t.Errorf("remote URL %q: go-git has no transport for %q", remote.Config().URLs[0], ep.Protocol)
			}
		})
	}
}

// pipelineWithRepo is the smallest valid pipeline around repo.
func pipelineWithRepo(r config.Repo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: stagegate.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: shop}\nspec:\n  repo:\n    url: %q\n", r.URL)
	for _, f := range []struct{ name, value string }{
		{"username", r.Username}, {"tokenEnv", r.TokenEnv}, {"tokenFile", r.TokenFile}, {"sshKeyFile", r.SSHKeyFile},
	} {
		if f.value != "" {
			fmt.Fprintf(&b, "    %s: %q\n", f.name, f.value)
		}
	}
	b.WriteString("  environments: [{name: dev, branch: env/dev, path: overlays/dev}]\n")
	return b.String()
}
