package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/stagegate-dev/stagegate/config"
)

// LockedError says another agent on this machine already runs a pipeline.
type LockedError struct {
	Pipeline string
	Path     string // the lock file
	PID      int    // the holder's, as it wrote it (0: unknown)
}

func (e *LockedError) Error() string {
	holder := "another stagegate agent"
	if e.PID > 0 {
		holder += " (pid " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("pipeline %s: %s on this machine already runs it (lock %s); stop that agent, or run this one with --pipeline or --shard so they share no pipeline",
		e.Pipeline, holder, e.Path)
}

// AgentLock is held by an agent outside a cluster for each of its pipelines, so two agents on
// one machine (sharing a cache directory) never work the same pipeline. It is an flock on
// <dir>/agent-<name>-<hash>.lock per pipeline, the hash of its name and repository URL: the
// kernel drops it when the process dies, so a crash leaves nothing to clean up.
type AgentLock struct {
	files []*os.File
}

// LockPipelines takes the lock of every pipeline of ps in dir, or none: it fails with a
// *LockedError naming the first pipeline another process holds.
func LockPipelines(dir string, ps []config.Pipeline) (*AgentLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock pipelines: %w", err)
	}
	paths := make([]string, 0, len(ps))
	names := map[string]string{}
	for _, p := range ps {
		sum := sha256.Sum256([]byte(p.Metadata.Name + "\x00" + p.Spec.Repo.URL))
		path := filepath.Join(dir, "agent-"+unsafeFileChars.Replace(p.Metadata.Name)+"-"+hex.EncodeToString(sum[:6])+".lock")
		paths = append(paths, path)
		names[path] = p.Metadata.Name
	}
	slices.Sort(paths) // one order for every agent
	l := &AgentLock{}
	for _, path := range paths {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			l.Unlock()
			return nil, fmt.Errorf("lock pipeline %s: %w", names[path], err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			l.Unlock()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &LockedError{Pipeline: names[path], Path: path, PID: holder(path)}
			}
			return nil, fmt.Errorf("lock pipeline %s (%s): %w", names[path], path, err)
		}
		// The holder's pid, for the message a second agent prints.
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		l.files = append(l.files, f)
	}
	return l, nil
}

// Unlock releases every lock; the files stay, empty of meaning, for the next agent.
func (l *AgentLock) Unlock() {
	for _, f := range l.files {
		f.Close() // releases the flock
	}
	l.files = nil
}

func holder(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

var unsafeFileChars = strings.NewReplacer("/", "_", "\\", "_", " ", "_", "\x00", "_")
