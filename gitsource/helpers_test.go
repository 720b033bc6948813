package gitsource_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// logBuffer collects every log record at debug level, so tests can assert that no secret leaks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a fake environment for Options.Getenv.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// open opens repo with a fresh cache and the given environment; the log goes to logs if non-nil.
func open(t *testing.T, repo config.Repo, e env, logs *logBuffer) *gitsource.Mirror {
	t.Helper()
	m, err := gitsource.Open(context.Background(), repo, options(t, t.TempDir(), e, logs))
	if err != nil {
		t.Fatalf("Open(%s): %v", repo.URL, err)
	}
	return m
}

func options(t *testing.T, cacheDir string, e env, logs *logBuffer) gitsource.Options {
	if logs == nil {
		logs = &logBuffer{}
	}
	return gitsource.Options{
		CacheDir: cacheDir,
		Getenv:   e.get,
		Log:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}
