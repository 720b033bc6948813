package main

import (
	"context"
	"fmt"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/github"
	"github.com/stagegate-dev/stagegate/gitsource/local"
)

var (
	_ controller.Forge = (*local.Forge)(nil)
	_ controller.Forge = (*github.Forge)(nil)
)

// connect opens a pipeline's mirror and its forge, and says how request bodies link commits.
// The local forge works through the very mirror it returns, so the controller and the forge
// share one (a Mirror serialises its own use); actor is who the local forge records as acting.
func (c *cli) connect(ctx context.Context, p config.Pipeline, actor string) (*gitsource.Mirror, controller.Forge, func(string) string, error) {
	opts := gitsource.Options{CacheDir: c.cacheDir, Log: c.log}
	switch p.Spec.Forge.Type {
	case config.ForgeGitHub:
		f, err := github.New(ctx, github.OptionsFor(p.Spec, c.log))
		if err != nil {
			return nil, nil, nil, err
		}
		if f.UsesApp() && p.Spec.Repo.TokenEnv == "" && p.Spec.Repo.TokenFile == "" {
			opts.Token = f.GitToken // Git over HTTPS as the same App installation
		}
		m, err := gitsource.Open(ctx, p.Spec.Repo, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		return m, f, commitURL(p.Spec.Repo.URL), nil
	case config.ForgeLocal:
		m, err := gitsource.Open(ctx, p.Spec.Repo, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		// Any Git server: no commit pages to link to.
		return m, local.New(m, local.Options{Actor: actor, Log: c.log}), nil, nil
	default:
		return nil, nil, nil, fmt.Errorf("spec.forge.type %q: want %s or %s", p.Spec.Forge.Type, config.ForgeLocal, config.ForgeGitHub)
	}
}

// localForge opens the local forge of a pipeline for the request verbs, acting as actor.
func (c *cli) localForge(ctx context.Context, p config.Pipeline, actor string) (*gitsource.Mirror, *local.Forge, error) {
	if p.Spec.Forge.Type != config.ForgeLocal {
		return nil, nil, fmt.Errorf("pipeline %s keeps its promotion requests on %s (spec.forge.type: %s): review and merge them there; these commands are for spec.forge.type: local",
			p.Metadata.Name, p.Spec.Forge.Type, p.Spec.Forge.Type)
	}
	m, f, _, err := c.connect(ctx, p, actor)
	if err != nil {
		return nil, nil, err
	}
	return m, f.(*local.Forge), nil
}
