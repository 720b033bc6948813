package controller

import (
	"context"
	"fmt"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

// Rendering is one environment rendered at one commit.
type Rendering struct {
	Env    config.Environment
	Branch string
	SHA    string
	// Objects in canonical order; Objects.Digest() is the rendering's digest.
	Objects render.Objects
}

// RenderEnv renders environment env of pipeline p at ref (a branch, a full or short sha on any of
// the pipeline's branches), or at the head of the environment's branch when ref is empty.
func RenderEnv(ctx context.Context, p config.Pipeline, env, ref string, opts Options) (Rendering, error) {
	e, err := p.LookupEnv(env)
	if err != nil {
		return Rendering{}, err
	}
	opts = opts.withDefaults()
	m, err := opts.open(ctx, p.Spec.Repo)
	if err != nil {
		return Rendering{}, err
	}
	if _, err := m.Sync(ctx, branches(p)); err != nil {
		return Rendering{}, err
	}
	return renderAt(ctx, m, *e, ref, opts)
}

// RenderBranch renders path of branch at ref (or the branch head), with no config file: the
// config-free `stagegate render --repo URL --branch B --path P`.
func RenderBranch(ctx context.Context, repo config.Repo, branch, path, ref string, ro render.Options, opts Options) (Rendering, error) {
	opts = opts.withDefaults()
	m, err := opts.open(ctx, repo)
	if err != nil {
		return Rendering{}, err
	}
	if _, err := m.Sync(ctx, []string{branch}); err != nil {
		return Rendering{}, err
	}
	env := config.Environment{Branch: branch, Path: path, Render: config.Render{Helm: ro.Helm}}
	return renderAt(ctx, m, env, ref, opts)
}

// renderAt renders env.Path at ref, or at env.Branch's head in the mirror when ref is empty.
func renderAt(ctx context.Context, m *gitsource.Mirror, env config.Environment, ref string, opts Options) (Rendering, error) {
	if ref == "" {
		ref = env.Branch
	}
	sha, err := m.Resolve(ref)
	if err != nil {
		return Rendering{}, err
	}
	objs, err := renderTree(ctx, m, sha, env)
	if err != nil {
		return Rendering{}, err
	}
	opts.Log.DebugContext(ctx, "rendered", "env", env.Name, "branch", env.Branch, "sha", sha, "objects", len(objs))
	return Rendering{Env: env, Branch: env.Branch, SHA: sha, Objects: objs}, nil
}

// renderTree renders env.Path from the tree of commit sha.
func renderTree(ctx context.Context, m *gitsource.Mirror, sha string, env config.Environment) (render.Objects, error) {
	tree, err := m.Tree(sha)
	if err != nil {
		return nil, err
	}
	objs, err := render.Build(ctx, tree, env.Path, render.Options{Helm: env.Render.Helm})
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", gitsource.Short(sha), err) // render names the path
	}
	return objs, nil
}

// branches lists the pipeline's environment branches in promotion order.
func branches(p config.Pipeline) []string {
	out := make([]string, len(p.Spec.Environments))
	for i, e := range p.Spec.Environments {
		out[i] = e.Branch
	}
	return out
}
