package gitsource

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/stagegate-dev/stagegate/config"
)

// defaultTokenUser is the user name sent with a token when the config names none; GitHub expects
// it, and other forges ignore the user name when the password is a token.
const defaultTokenUser = "x-access-token"

// sshDialTimeout bounds an SSH connection attempt: go-git dials SSH without the caller's context,
// so without a timeout an unreachable host would hang a sync for the kernel's TCP timeout.
const sshDialTimeout = 30 * time.Second

// secret is a credential's value. It never prints itself, in logs, errors or %v.
type secret string

func (secret) String() string                 { return redacted }
func (secret) GoString() string               { return redacted }
func (secret) LogValue() slog.Value           { return slog.StringValue(redacted) }
func (s secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// credentials says where a Mirror's credentials come from. They are read at every connection, so
// a rotated token or key file is picked up without a restart.
type credentials struct {
	url            config.RepoURL // read by config.ParseRepoURL, as validation reads it
	repo           config.Repo
	knownHostsFile string // resolved default
	getenv         func(string) string
	token          func(context.Context) (string, error) // Options.Token
}

// LogValue describes the credentials' sources, never their values.
func (c credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("username", c.repo.Username),
		slog.String("tokenEnv", c.repo.TokenEnv),
		slog.String("tokenFile", c.repo.TokenFile),
		slog.String("sshKeyFile", c.repo.SSHKeyFile),
		slog.String("sshKnownHostsFile", c.knownHostsFile),
	)
}

// check names what the user should look at when the remote refuses the credentials.
func (c credentials) check() string {
	switch {
	case c.url.Transport == config.TransportSSH:
		return fmt.Sprintf("check that the key in repo.sshKeyFile (%s) is authorized on the server", c.repo.SSHKeyFile)
	case c.repo.TokenEnv != "":
		return fmt.Sprintf("check the token in the environment variable %s (repo.tokenEnv) and repo.username", c.repo.TokenEnv)
	case c.repo.TokenFile != "":
		return fmt.Sprintf("check the token in %s (repo.tokenFile) and repo.username", c.repo.TokenFile)
	case c.token != nil && c.url.Transport.TakesToken():
		return "check that the forge's app (spec.forge.app) is installed on the repository with contents read and write"
	case c.url.Transport.TakesToken():
		return "the remote wants credentials: set repo.tokenEnv or repo.tokenFile"
	}
	return "check the repository's permissions"
}

// validate refuses credential settings that cannot apply to the URL's transport, so a typo does
// not silently turn into an anonymous connection.
func (c credentials) validate() error {
	r := c.repo
	var errs []error
	if r.TokenEnv != "" && r.TokenFile != "" {
		errs = append(errs, errors.New("repo.tokenEnv and repo.tokenFile are both set: keep one"))
	}
	if !c.url.Transport.TakesToken() && (r.TokenEnv != "" || r.TokenFile != "") {
		errs = append(errs, errors.New("repo.tokenEnv/tokenFile only apply to http(s) URLs: remove them or use an https URL"))
	}
	// Refused here, once, rather than when the token is read: no connection may carry it.
	if c.url.Cleartext() && (r.TokenEnv != "" || r.TokenFile != "") {
		errs = append(errs, fmt.Errorf("repo.url: %w", config.ErrCleartextToken))
	}
	if c.url.Transport != config.TransportSSH && (r.SSHKeyFile != "" || r.SSHKeyPassphraseEnv != "" || r.SSHKnownHostsFile != "") {
		errs = append(errs, errors.New("repo.sshKeyFile/sshKeyPassphraseEnv/sshKnownHostsFile only apply to ssh URLs: remove them or use an ssh URL"))
	}
	if c.url.Transport == config.TransportSSH && r.SSHKeyFile == "" {
		errs = append(errs, errors.New("repo.sshKeyFile is not set: an ssh URL needs a private key file"))
	}
	return errors.Join(errs...)
}

// auth reads the credentials now and returns the transport's auth method (nil: anonymous).
func (c credentials) auth(ctx context.Context, u string) (transport.AuthMethod, error) {
	switch {
	case c.url.Transport.TakesToken():
		return c.httpAuth(ctx, u)
	case c.url.Transport == config.TransportSSH:
		return c.sshAuth(u)
	}
	return nil, nil
}

func (c credentials) httpAuth(ctx context.Context, u string) (transport.AuthMethod, error) {
	var token string
	switch {
	case c.repo.TokenEnv != "":
		token = c.getenv(c.repo.TokenEnv)
		if token == "" {
			return nil, &AuthError{URL: Redact(u), Check: fmt.Sprintf("set the environment variable %s (repo.tokenEnv)", c.repo.TokenEnv),
				Err: errors.New("token environment variable is empty or unset")}
		}
	case c.repo.TokenFile != "":
		b, err := os.ReadFile(c.repo.TokenFile)
		if err != nil {
			// The *PathError names the file and the reason; it holds no secret.
			return nil, &AuthError{URL: Redact(u), Check: "check repo.tokenFile", Err: err}
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, &AuthError{URL: Redact(u), Check: fmt.Sprintf("put the token in %s (repo.tokenFile)", c.repo.TokenFile),
				Err: errors.New("token file is empty")}
		}
	case c.token != nil && !c.url.Cleartext():
		t, err := c.token(ctx)
		if err != nil {
			return nil, &AuthError{URL: Redact(u), Check: "check the forge's app credentials (spec.forge.app), or set repo.tokenEnv", Err: err}
		}
		token = t
	case c.repo.Username == "":
		return nil, nil
	}
	user := c.repo.Username
	if user == "" {
		user = defaultTokenUser
	}
	return &httpAuth{user: user, password: secret(token)}, nil
}

// httpAuth is basic auth whose password never prints. go-git's BasicAuth masks it in String but
// not in %#v or in a struct dump, and it has no LogValue.
type httpAuth struct {
	user     string
	password secret
}

func (a *httpAuth) Name() string   { return "http-basic-auth" }
func (a *httpAuth) String() string { return a.Name() + " - " + a.user + ":" + redacted }
func (a *httpAuth) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", a.user), slog.String("password", redacted))
}

// SetAuth implements go-git's http.AuthMethod.
func (a *httpAuth) SetAuth(r *http.Request) { r.SetBasicAuth(a.user, string(a.password)) }

var _ githttp.AuthMethod = (*httpAuth)(nil)

func (c credentials) sshAuth(u string) (transport.AuthMethod, error) {
	key, err := os.ReadFile(c.repo.SSHKeyFile)
	if err != nil {
		return nil, &AuthError{URL: Redact(u), Check: "check repo.sshKeyFile", Err: err}
	}
	var signer ssh.Signer
	if env := c.repo.SSHKeyPassphraseEnv; env != "" {
		pass := c.getenv(env)
		if pass == "" {
			return nil, &AuthError{URL: Redact(u), Check: fmt.Sprintf("set the environment variable %s (repo.sshKeyPassphraseEnv)", env),
				Err: errors.New("key passphrase environment variable is empty or unset")}
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(key, []byte(pass))
	} else {
		signer, err = ssh.ParsePrivateKey(key)
	}
	if err != nil {
		var missing *ssh.PassphraseMissingError
		check := fmt.Sprintf("check the private key in %s (repo.sshKeyFile)", c.repo.SSHKeyFile)
		if errors.As(err, &missing) {
			check = fmt.Sprintf("the key in %s is encrypted: set repo.sshKeyPassphraseEnv", c.repo.SSHKeyFile)
		} else if errors.Is(err, x509.IncorrectPasswordError) {
			check = fmt.Sprintf("check the passphrase in %s (repo.sshKeyPassphraseEnv)", c.repo.SSHKeyPassphraseEnv)
		}
		return nil, &AuthError{URL: Redact(u), Check: check, Err: err}
	}

	// Host keys are always checked, against one file; an unreadable or missing file is an error,
	// never a reason to skip the check.
	if _, err := os.Stat(c.knownHostsFile); err != nil {
		return nil, &UnreachableError{URL: Redact(u), KnownHostsFile: c.knownHostsFile, Err: err}
	}
	db, err := knownhosts.NewDB(c.knownHostsFile)
	if err != nil {
		return nil, &UnreachableError{URL: Redact(u), KnownHostsFile: c.knownHostsFile, Err: err}
	}
	ep, err := transport.NewEndpoint(u)
	if err != nil {
		return nil, fmt.Errorf("repo.url %s: %w", Redact(u), err)
	}
	user := ep.User
	if user == "" {
		user = c.repo.Username
	}
	if user == "" {
		user = "git"
	}
	hostPort := net.JoinHostPort(ep.Host, fmt.Sprint(ep.Port))
	if ep.Port == 0 {
		hostPort = net.JoinHostPort(ep.Host, "22")
	}
	return &sshAuth{
		user:       user,
		signer:     signer,
		callback:   db.HostKeyCallback(),
		algorithms: db.HostKeyAlgorithms(hostPort),
	}, nil
}

// sshAuth is public-key auth with a known_hosts check. It builds the whole ssh.ClientConfig
// itself because go-git only derives HostKeyAlgorithms (which key type to ask the server for)
// when it also picks the known_hosts files, and we pick the file.
type sshAuth struct {
	user       string
	signer     ssh.Signer
	callback   ssh.HostKeyCallback
	algorithms []string
}

func (a *sshAuth) Name() string   { return "ssh-public-keys" }
func (a *sshAuth) String() string { return a.Name() + " - user: " + a.user + ", key: " + redacted }
func (a *sshAuth) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", a.user), slog.String("key", redacted))
}

// ClientConfig implements go-git's ssh.AuthMethod.
func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signer)},
		HostKeyCallback:   a.callback,
		HostKeyAlgorithms: a.algorithms,
		Timeout:           sshDialTimeout,
	}, nil
}

// defaultKnownHosts is ~/.ssh/known_hosts, with HOME read through getenv so tests can move it.
func defaultKnownHosts(getenv func(string) string) string {
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".ssh", "known_hosts")
}
