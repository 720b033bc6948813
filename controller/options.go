package controller

import (
	"context"
	"log/slog"
	"os"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// Options are what every controller verb needs besides the pipeline.
type Options struct {
	// CacheDir holds the Git mirrors. Default: gitsource's default ($XDG_CACHE_HOME/stagegate).
	CacheDir string
	// Log receives structured logs. Default slog.Default().
	Log *slog.Logger
	// Getenv reads credentials named in config. Default os.Getenv.
	Getenv func(string) string
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return o
}

func (o Options) open(ctx context.Context, repo config.Repo) (*gitsource.Mirror, error) {
	return gitsource.Open(ctx, repo, gitsource.Options{CacheDir: o.CacheDir, Getenv: o.Getenv, Log: o.Log})
}
