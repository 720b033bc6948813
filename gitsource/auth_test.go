package gitsource_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

const token = "s3cr3t-t0ken-value"

// TestHTTPAuth syncs through a real smart-HTTP server that wants basic auth, with the token
// coming from each place the config allows, and checks that failures are typed, say what to
// check and never print the token.
func TestHTTPAuth(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	base, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "x-access-token", token)
	url := base + "/repo.git"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("\n  "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte("wrong-"+token), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		repo    config.Repo
		env     env
		wantErr string // "" for success; else what the *AuthError must mention
	}{
		{"token from env", config.Repo{URL: url, TokenEnv: "GIT_TOKEN"}, env{"GIT_TOKEN": token}, ""},
		{"token from file, trimmed", config.Repo{URL: url, TokenFile: tokenFile}, nil, ""},
		{"explicit username", config.Repo{URL: url, Username: "x-access-token", TokenEnv: "GIT_TOKEN"}, env{"GIT_TOKEN": token}, ""},
		{"wrong token", config.Repo{URL: url, TokenEnv: "GIT_TOKEN"}, env{"GIT_TOKEN": "wrong-" + token}, "GIT_TOKEN"},
		{"wrong token file", config.Repo{URL: url, TokenFile: wrongFile}, nil, wrongFile},
		{"wrong username", config.Repo{URL: url, Username: "someone", TokenEnv: "GIT_TOKEN"}, env{"GIT_TOKEN": token}, "repo.username"},
		{"env var unset", config.Repo{URL: url, TokenEnv: "GIT_TOKEN"}, nil, "set the environment variable GIT_TOKEN"},
		{"token file missing", config.Repo{URL: url, TokenFile: tokenFile + ".nope"}, nil, "repo.tokenFile"},
		{"no credentials", config.Repo{URL: url}, nil, "set repo.tokenEnv or repo.tokenFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logBuffer{}
			m := open(t, tt.repo, tt.env, logs)
			heads, err := m.Sync(context.Background(), []string{"env/dev"})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Sync: %v", err)
				}
				if heads["env/dev"] != gitsourcetest.Head(t, repo, "env/dev") {
					t.Errorf("Sync heads = %v", heads)
				}
			} else {
				var auth *gitsource.AuthError
				if !errors.As(err, &auth) {
					t.Fatalf("Sync = %v, want *AuthError", err)
				}
				for _, s := range []string{tt.wantErr, url} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				if gitsource.IsTransient(err) {
					t.Error("an auth failure is reported as transient")
				}
			}
			// The token never shows, whatever happened.
			for where, s := range map[string]string{"error": fmt.Sprint(err), "%+v": fmt.Sprintf("%+v", err), "log": logs.String(), "URL()": m.URL()} {
				if strings.Contains(s, token) {
					t.Errorf("%s leaks the token: %s", where, s)
				}
			}
		})
	}
}

func TestHTTPRepositoryNotFound(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	base, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "", "")
	m := open(t, config.Repo{URL: base + "/nope.git"}, nil, nil)
	_, err := m.Probe(context.Background())
	var nf *gitsource.NotFoundError
	if !errors.As(err, &nf) || !nf.Repository {
		t.Fatalf("Probe of a missing repository = %v, want *NotFoundError for the repository", err)
	}
}

func TestUnreachable(t *testing.T) {
	// A port that was just free: connecting to it is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	key, _ := gitsourcetest.NewSSHKey(t, "")
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(knownHosts, nil, 0o600)

	for _, repo := range []config.Repo{
		{URL: "http://" + addr + "/repo.git", TokenEnv: "GIT_TOKEN"},
		{URL: "ssh://git@" + addr + "/repo.git", SSHKeyFile: key, SSHKnownHostsFile: knownHosts},
	} {
		t.Run(strings.Split(repo.URL, ":")[0], func(t *testing.T) {
			m := open(t, repo, env{"GIT_TOKEN": token}, nil)
			_, err := m.Sync(context.Background(), []string{"env/dev"})
			var unreachable *gitsource.UnreachableError
			if !errors.As(err, &unreachable) {
				t.Fatalf("Sync of a closed port = %v, want *UnreachableError", err)
			}
			if !strings.Contains(err.Error(), m.URL()) || !gitsource.IsTransient(err) {
				t.Errorf("error %q: want the URL named and Transient() true", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the token: %s", err)
			}
		})
	}
}

// TestSSH syncs through a real SSH server running git-upload-pack.
func TestSSH(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	key, pub := gitsourcetest.NewSSHKey(t, "")
	addr, hostKey := gitsourcetest.NewSSHServer(t, filepath.Dir(repo), pub)
	knownHosts := gitsourcetest.WriteKnownHosts(t, addr, hostKey)
	url := "ssh://git@" + addr + "/repo.git"

	t.Run("key and known_hosts", func(t *testing.T) {
		logs := &logBuffer{}
		m := open(t, config.Repo{URL: url, SSHKeyFile: key, SSHKnownHostsFile: knownHosts}, nil, logs)
		heads, err := m.Sync(context.Background(), []string{"env/dev"})
		if err != nil {
			t.Fatal(err)
		}
		if want := gitsourcetest.Head(t, repo, "env/dev"); heads["env/dev"] != want {
			t.Errorf("env/dev = %s, want %s", heads["env/dev"], want)
		}
		if m.Fetches() != 1 {
			t.Errorf("Fetches() = %d, want 1", m.Fetches())
		}
	})

	t.Run("encrypted key with passphrase from env", func(t *testing.T) {
		const pass = "k3y-pa55phrase"
		encKey, encPub := gitsourcetest.NewSSHKey(t, pass)
		addr, hostKey := gitsourcetest.NewSSHServer(t, filepath.Dir(repo), encPub)
		cfg := config.Repo{URL: "ssh://git@" + addr + "/repo.git", SSHKeyFile: encKey, SSHKeyPassphraseEnv: "KEY_PASS",
			SSHKnownHostsFile: gitsourcetest.WriteKnownHosts(t, addr, hostKey)}
		if _, err := open(t, cfg, env{"KEY_PASS": pass}, nil).Sync(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		_, err := open(t, cfg, env{"KEY_PASS": "wrong"}, nil).Sync(context.Background(), nil)
		if !errors.As(err, new(*gitsource.AuthError)) || !strings.Contains(err.Error(), "KEY_PASS") {
			t.Errorf("wrong passphrase = %v, want *AuthError naming KEY_PASS", err)
		}
		_, err = open(t, config.Repo{URL: cfg.URL, SSHKeyFile: encKey, SSHKnownHostsFile: cfg.SSHKnownHostsFile}, nil, nil).Sync(context.Background(), nil)
		if !errors.As(err, new(*gitsource.AuthError)) || !strings.Contains(err.Error(), "sshKeyPassphraseEnv") {
			t.Errorf("encrypted key without passphrase = %v, want *AuthError naming sshKeyPassphraseEnv", err)
		}
	})

	t.Run("known_hosts defaults to ~/.ssh/known_hosts", func(t *testing.T) {
		home := t.TempDir()
		os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
		data, _ := os.ReadFile(knownHosts)
		os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), data, 0o600)
		m := open(t, config.Repo{URL: url, SSHKeyFile: key}, env{"HOME": home}, nil)
		if _, err := m.Sync(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unknown host key", func(t *testing.T) {
		_, otherHostKey := gitsourcetest.NewSSHKey(t, "")
		wrongHosts := gitsourcetest.WriteKnownHosts(t, addr, otherHostKey)
		emptyHosts := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(emptyHosts, nil, 0o600)
		for _, file := range []string{wrongHosts, emptyHosts, filepath.Join(t.TempDir(), "missing")} {
			m := open(t, config.Repo{URL: url, SSHKeyFile: key, SSHKnownHostsFile: file}, nil, nil)
			_, err := m.Sync(context.Background(), nil)
			var unreachable *gitsource.UnreachableError
			if !errors.As(err, &unreachable) || unreachable.KnownHostsFile != file {
				t.Fatalf("known_hosts %s: Sync = %v, want *UnreachableError naming it", file, err)
			}
			if !strings.Contains(err.Error(), file) || gitsource.IsTransient(err) {
				t.Errorf("error %q: want known_hosts named and not transient", err)
			}
			if m.Fetches() != 0 {
				t.Errorf("fetched from an untrusted host")
			}
		}
	})

	t.Run("missing repository", func(t *testing.T) {
		m := open(t, config.Repo{URL: "ssh://git@" + addr + "/nope.git", SSHKeyFile: key, SSHKnownHostsFile: knownHosts}, nil, nil)
		_, err := m.Probe(context.Background())
		var nf *gitsource.NotFoundError
		if !errors.As(err, &nf) || !nf.Repository {
			t.Fatalf("Probe of a missing repository = %v, want *NotFoundError for the repository", err)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		otherKey, _ := gitsourcetest.NewSSHKey(t, "")
		m := open(t, config.Repo{URL: url, SSHKeyFile: otherKey, SSHKnownHostsFile: knownHosts}, nil, nil)
		_, err := m.Sync(context.Background(), nil)
		var auth *gitsource.AuthError
		if !errors.As(err, &auth) {
			t.Fatalf("Sync with an unauthorized key = %v, want *AuthError", err)
		}
		if !strings.Contains(err.Error(), "repo.sshKeyFile") || gitsource.IsTransient(err) {
			t.Errorf("error %q: want repo.sshKeyFile named and not transient", err)
		}
	})
}

// TestSecretsDoNotLog logs the values that hold credentials and checks they print REDACTED.
func TestSecretsDoNotLog(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	base, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "x-access-token", token)
	logs := &logBuffer{}
	m := open(t, config.Repo{URL: base + "/repo.git", TokenEnv: "GIT_TOKEN"}, env{"GIT_TOKEN": token}, logs)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	log.Info("mirror", "mirror", m, "text", fmt.Sprintf("%v %+v %#v", m, m, m))
	if strings.Contains(logs.String(), token) {
		t.Errorf("logs leak the token:\n%s", logs)
	}
}

// TestHTTPTokenSource syncs and pushes with a token from Options.Token (the GitHub App's
// installation token), fetched for each operation, when the repository config names none.
func TestHTTPTokenSource(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, envs)
	base, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(repo), "x-access-token", token)
	cfg := config.Repo{URL: base + "/repo.git"}
	tests := []struct {
		name    string
		source  func(context.Context) (string, error)
		wantErr string
	}{
		{"the installation token is used", func(context.Context) (string, error) { return token, nil }, ""},
		{"a wrong token is an AuthError naming the app", func(context.Context) (string, error) { return "wrong", nil }, "spec.forge.app"},
		{"a failing source is an AuthError naming the app", func(context.Context) (string, error) { return "", errors.New("installation gone") }, "spec.forge.app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			m, err := gitsource.Open(context.Background(), cfg, gitsource.Options{CacheDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Token: func(ctx context.Context) (string, error) { calls++; return tt.source(ctx) }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = m.Sync(context.Background(), []string{"env/dev"})
			var auth *gitsource.AuthError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Sync: %v", err)
			case tt.wantErr != "" && (!errors.As(err, &auth) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Sync error = %v; want an AuthError mentioning %q", err, tt.wantErr)
			case strings.Contains(fmt.Sprint(err), token):
				t.Fatalf("the error shows the token: %v", err)
			}
			if calls == 0 {
				t.Error("the token source was never asked")
			}
		})
	}
}
