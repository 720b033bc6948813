package gitsourcetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// NewSSHServer serves the bare repositories under projectRoot over SSH on 127.0.0.1, running
// git-upload-pack and git-receive-pack for "exec" requests, like a forge's SSH endpoint. It
// accepts only authorizedKey. The repository projectRoot/repo.git is at
// ssh://git@<addr>/repo.git; paths that leave projectRoot are refused.
func NewSSHServer(t testing.TB, projectRoot string, authorizedKey ssh.PublicKey) (addr string, hostKey ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), authorizedKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(signer)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go serveSSH(conn, cfg, projectRoot)
		}
	}()
	return l.Addr().String(), signer.PublicKey()
}

func serveSSH(conn net.Conn, cfg *ssh.ServerConfig, root string) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go serveSession(ch, chReqs, root)
	}
}

func serveSession(ch ssh.Channel, reqs <-chan *ssh.Request, root string) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			// env and pty requests are declined; git needs neither.
			req.Reply(false, nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			req.Reply(false, nil)
			continue
		}
		cmd, err := gitCommand(payload.Command, root)
		if err != nil {
			req.Reply(false, nil)
			io.WriteString(ch.Stderr(), err.Error()+"\n")
			sendExit(ch, 128)
			return
		}
		req.Reply(true, nil)
		sendExit(ch, runGit(cmd, ch))
		return
	}
}

// gitCommand parses "git-upload-pack '/repo.git'" (or git upload-pack, receive-pack) and
// confines the path to root.
func gitCommand(line, root string) (*exec.Cmd, error) {
	if rest, ok := strings.CutPrefix(line, "git "); ok {
		line = "git-" + rest
	}
	verb, arg, ok := strings.Cut(line, " ")
	verb = strings.TrimPrefix(verb, "git-")
	if !ok || (verb != "upload-pack" && verb != "receive-pack") {
		return nil, errors.New("only git-upload-pack and git-receive-pack are served")
	}
	p := path.Clean("/" + strings.Trim(arg, `'"`))
	dir := filepath.Join(root, filepath.FromSlash(p))
	if rel, err := filepath.Rel(root, dir); err != nil || strings.HasPrefix(rel, "..") {
		return nil, errors.New("repository path outside the served root")
	}
	// A missing repository is left to git, which says "does not appear to be a git repository"
	// on stderr, as a real server does; clients recognise that message.
	cmd := exec.Command("git", verb, dir)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	return cmd, nil
}

// runGit runs cmd with its standard streams on the channel and returns its exit status.
func runGit(cmd *exec.Cmd, ch ssh.Channel) uint32 {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 128
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	if err := cmd.Start(); err != nil {
		return 128
	}
	// Not waited for: the client may keep its side open after git exits.
	go func() {
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return uint32(exit.ExitCode())
		}
		return 128
	}
	return 0
}

func sendExit(ch ssh.Channel, status uint32) {
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
}

// NewSSHKey writes a new ed25519 private key in OpenSSH format to a file in t.TempDir(),
// encrypted with passphrase unless it is empty, and returns the file and the public key (for
// NewSSHServer's authorizedKey).
func NewSSHKey(t testing.TB, passphrase string) (keyFile string, pub ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "stagegate test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "stagegate test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return keyFile, signer.PublicKey()
}

// WriteKnownHosts writes a known_hosts file in t.TempDir() vouching for hostKey at addr
// (host:port, as NewSSHServer returns) and returns its path.
func WriteKnownHosts(t testing.TB, addr string, hostKey ssh.PublicKey) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey) + "\n"
	if err := os.WriteFile(file, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}
