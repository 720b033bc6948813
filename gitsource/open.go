package gitsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/stagegate-dev/stagegate/config"
)

// remoteName is the mirror's only remote.
const remoteName = "origin"

// Options for Open. The zero value is ready to use.
type Options struct {
	// CacheDir holds the mirrors, in CacheDir/git/<name>-<hash>.git. Default
	// $XDG_CACHE_HOME/stagegate, else ~/.cache/stagegate.
	CacheDir string
	// Getenv reads environment variables (tokens, passphrases, HOME, XDG_CACHE_HOME). Default
	// os.Getenv; tests inject their own.
	Getenv func(string) string
	// Log receives debug and info records keyed by repo, branch and sha. Default slog.Default().
	Log *slog.Logger
	// Token supplies an HTTP token when the repository's config names none (repo.tokenEnv,
	// tokenFile): the GitHub forge's App installation token, fetched (and renewed) per operation.
	// It is never sent over cleartext http:// to a host other than loopback.
	Token func(ctx context.Context) (string, error)
}

// Mirror is a bare mirror of one remote repository in the cache, holding the branches that were
// synced. It is safe for concurrent use, and several processes may share one cache.
type Mirror struct {
	url     string // redacted, for messages and logs
	rawURL  string // as Git transports take it (config.RepoURL.Remote); holds no secret (Open refuses those)
	dir     string
	creds   credentials
	log     *slog.Logger
	fetches atomic.Int64
	// fetchedBytes counts the pack bytes fetches received.
	fetchedBytes atomic.Int64
	probes       atomic.Int64

	// mu serialises every use of repo, reads included. go-git's filesystem storage is not safe
	// for concurrent reads: ObjectStorage builds its pack index map lazily on first read and
	// Packfile keeps per-file offset caches, all without locks (go-git v5.19, checked in
	// storage/filesystem/object.go). With a sync.RWMutex and shared reads,
	// TestConcurrentReadsDuringSync fails under -race inside go-git, so reads take the same
	// exclusive lock as fetches. Reads are short (one object, one directory or one history walk
	// at a time); a fetch holds mu for its whole transfer, and Probe needs no lock at all.
	mu   sync.Mutex
	repo *git.Repository
	// lock is the cross-process lock on the mirror (see flock.go), taken shared for reads and
	// exclusive for fetches, always inside mu.
	lock *fileLock
}

// Open returns the mirror of repo in the cache, creating it on first use (a bare repository with
// the remote configured; nothing is fetched until Sync).
func Open(ctx context.Context, repo config.Repo, opts Options) (*Mirror, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	// The URL is read as config validation reads it, so that what validates is what connects.
	u, err := config.ParseRepoURL(repo.URL)
	if err != nil {
		if repo.URL == "" {
			return nil, fmt.Errorf("repo.url: %w", err)
		}
		return nil, fmt.Errorf("repo.url %s: %w", Redact(repo.URL), err)
	}
	creds := credentials{url: u, repo: repo, getenv: opts.Getenv, token: opts.Token, knownHostsFile: repo.SSHKnownHostsFile}
	if u.Transport == config.TransportSSH && creds.knownHostsFile == "" {
		creds.knownHostsFile = defaultKnownHosts(opts.Getenv)
	}
	if err := creds.validate(); err != nil {
		return nil, fmt.Errorf("repo %s: %w", Redact(repo.URL), err)
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		if cacheDir, err = defaultCacheDir(opts.Getenv); err != nil {
			return nil, err
		}
	}
	gitDir := filepath.Join(cacheDir, "git")
	if err := os.MkdirAll(gitDir, 0o700); err != nil {
		return nil, fmt.Errorf("create mirror cache: %w", err)
	}
	base := mirrorName(repo.URL)
	m := &Mirror{
		url:    Redact(repo.URL),
		rawURL: u.Remote,
		dir:    filepath.Join(gitDir, base+".git"),
		creds:  creds,
		log:    opts.Log.With("repo", Redact(repo.URL)),
		lock:   &fileLock{path: filepath.Join(gitDir, base+".lock")},
	}
	// Creation happens under the exclusive lock so that two processes starting together do not
	// both initialise the same directory.
	if err := m.lock.lock(ctx, true); err != nil {
		return nil, err
	}
	defer m.lock.unlock()
	if m.repo, err = m.openOrInit(); err != nil {
		return nil, fmt.Errorf("open mirror of %s in %s: %w", m.url, m.dir, err)
	}
	return m, nil
}

func (m *Mirror) openOrInit() (*git.Repository, error) {
	if _, err := os.Stat(filepath.Join(m.dir, "config")); err == nil {
		st := filesystem.NewStorage(osfs.New(m.dir), cache.NewObjectLRUDefault())
		r, err := git.Open(st, nil)
		if err != nil {
			return nil, err
		}
		// The directory name hashes the URL, so a different URL here means someone edited the
		// mirror by hand; follow the config rather than fetch from somewhere else.
		rc, err := r.Remote(remoteName)
		if err != nil {
			return nil, err
		}
		if urls := rc.Config().URLs; len(urls) != 1 || urls[0] != m.rawURL {
			if err := r.DeleteRemote(remoteName); err != nil {
				return nil, err
			}
			if _, err := r.CreateRemote(m.remoteConfig()); err != nil {
				return nil, err
			}
		}
		m.log.Debug("reusing mirror", "dir", m.dir)
		return r, nil
	}
	// A directory without config is a half-created mirror from a crash; start again.
	if err := os.RemoveAll(m.dir); err != nil {
		return nil, err
	}
	r, err := git.PlainInitWithOptions(m.dir, &git.PlainInitOptions{
		Bare:        true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return nil, err
	}
	if _, err := r.CreateRemote(m.remoteConfig()); err != nil {
		return nil, err
	}
	m.log.Info("created mirror", "dir", m.dir)
	// Reopen through the same storage constructor as the reuse path, so both behave alike.
	return git.Open(filesystem.NewStorage(osfs.New(m.dir), cache.NewObjectLRUDefault()), nil)
}

func (m *Mirror) remoteConfig() *gitconfig.RemoteConfig {
	return &gitconfig.RemoteConfig{
		Name:  remoteName,
		URLs:  []string{m.rawURL},
		Fetch: []gitconfig.RefSpec{"+refs/heads/*:refs/heads/*"},
	}
}

// URL returns the repository URL with any secret redacted, safe to print.
func (m *Mirror) URL() string { return m.url }

// Dir returns the mirror's directory (a bare repository) in the cache.
func (m *Mirror) Dir() string { return m.dir }

// Fetches returns how many fetches this Mirror has run; tests use it to show that an unchanged
// remote costs no fetch.
func (m *Mirror) Fetches() int { return int(m.fetches.Load()) }

// FetchedBytes returns how many bytes of packs this Mirror's fetches received.
func (m *Mirror) FetchedBytes() int64 { return m.fetchedBytes.Load() }

// CacheDir is the cache directory opts name: opts.CacheDir, else the default Open uses. Other
// state of the same machine's agents (their pipeline locks) lives there too.
func CacheDir(opts Options) (string, error) {
	if opts.CacheDir != "" {
		return opts.CacheDir, nil
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return defaultCacheDir(getenv)
}

// Probes returns how many times this Mirror listed the remote's refs (Probe, and the reads of
// pause refs and leases that list them too): the round trips a cycle costs when nothing moved.
func (m *Mirror) Probes() int { return int(m.probes.Load()) }

func defaultCacheDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "stagegate"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", errors.New("no cache directory: set Options.CacheDir, XDG_CACHE_HOME or HOME")
		}
	}
	return filepath.Join(home, ".cache", "stagegate"), nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// mirrorName is <name>-<hash>: the repository's last path element, readable in `ls`, and a
// hash of the full URL so that two repositories with the same name do not share a mirror.
func mirrorName(url string) string {
	name := strings.TrimSuffix(strings.TrimRight(url, "/"), ".git")
	if i := strings.LastIndexAny(name, "/:"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Trim(unsafeName.ReplaceAllString(path.Base("/"+name), "_"), "._")
	if name == "" {
		name = "repo"
	}
	sum := sha256.Sum256([]byte(url))
	return name + "-" + hex.EncodeToString(sum[:6])
}

// read runs fn with the mirror locked for reading. A ref can point at a pack that another
// process fetched after our storage indexed its packs; on "object not found" the storage
// re-reads the pack list and fn runs once more.
func (m *Mirror) read(fn func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.lock.lock(context.Background(), false); err != nil {
		return err
	}
	defer m.lock.unlock()
	err := fn()
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		m.reindex()
		err = fn()
	}
	return err
}

// reindex makes the storage forget its pack index, so packs written by other processes are seen.
func (m *Mirror) reindex() {
	if st, ok := m.repo.Storer.(*filesystem.Storage); ok {
		st.Reindex()
	}
}
