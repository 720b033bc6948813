package gitsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fileLock is an advisory lock (flock) on CacheDir/git/<name>-<hash>.lock, shared between
// processes that use the same cache: exclusive while a fetch writes packs and refs, shared while
// a read walks them, so no process reads a half-written ref or pack. Within one process the
// Mirror's mutex already serialises, so a fileLock is never taken twice by the same Mirror.
//
// The file is opened for each lock and closed to unlock: closing releases the flock, and a
// Mirror holds no file descriptor between operations.
type fileLock struct {
	path string
	f    *os.File
}

// lockPoll is how often a waiting lock retries; flock itself cannot observe a context.
const lockPoll = 20 * time.Millisecond

func (l *fileLock) lock(ctx context.Context, exclusive bool) error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock mirror: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return fmt.Errorf("lock mirror %s: %w", l.path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return fmt.Errorf("wait for mirror lock %s (another stagegate process is fetching): %w", l.path, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

func (l *fileLock) unlock() {
	if l.f != nil {
		l.f.Close() // releases the flock
		l.f = nil
	}
}
