package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// ClusterFunc connects to an environment's cluster (env.Cluster is set). Connections are kept:
// Clusters (below) makes one per environment.
type ClusterFunc func(ctx context.Context, env config.Environment) (*deploy.Cluster, error)

// Clusters returns a ClusterFunc that connects with deploy.Connect once per environment name
// and reuses the connection.
func Clusters(opts deploy.Options) ClusterFunc {
	var (
		mu    sync.Mutex
		conns = map[string]*deploy.Cluster{}
	)
	return func(ctx context.Context, env config.Environment) (*deploy.Cluster, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := conns[env.Name]; ok {
			return c, nil
		}
		c, err := deploy.Connect(ctx, *env.Cluster, opts)
		if err != nil {
			return nil, fmt.Errorf("environment %s: %w; check its cluster (kubeconfig, context)", env.Name, err)
		}
		conns[env.Name] = c
		return c, nil
	}
}

// deployAll applies every environment that has a cluster and whose branch head is not applied
// yet, and posts the outcome as a stagegate/deploy status on the head. What is applied is read
// from the environment's inventory (deploy.Revision), so a restarted agent does not apply again
// (which would silently undo drift that detect mode only reports); the memo saves that read.
func (c *Controller) deployAll(ctx context.Context, heads gitsource.Heads) error {
	if c.Clusters == nil {
		return nil
	}
	var errs []error
	for _, env := range c.Pipeline.Spec.Environments {
		if env.Cluster == nil {
			continue
		}
		sha := heads[env.Branch]
		if sha == "" {
			continue
		}
		applied, err := c.appliedHead(ctx, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("deploy %s: %w", env.Name, err))
			continue
		}
		if applied == sha {
			continue
		}
		if err := c.deploy(ctx, env, sha); err != nil {
			errs = append(errs, fmt.Errorf("deploy %s: %w", env.Name, err))
		}
	}
	return errors.Join(errs...)
}

// appliedHead is the commit last applied to env in full: from the memo, else from the
// environment's inventory (then remembered, with its deploy status posted if an agent stopped
// between the apply and the status).
func (c *Controller) appliedHead(ctx context.Context, env config.Environment) (string, error) {
	c.mu.Lock()
	sha, ok := c.applied[env.Name]
	c.mu.Unlock()
	if ok {
		return sha, nil
	}
	cluster, err := c.Clusters(ctx, env)
	if err != nil {
		return "", err
	}
	sha, err = deploy.Revision(ctx, cluster, c.applyOptions(env, "", false))
	if err != nil || sha == "" {
		return "", err
	}
	status := gitsource.Status{Context: StatusDeploy, State: gitsource.StatusSuccess, TargetURL: c.envURL(env.Name),
		Description: oneLine(fmt.Sprintf("applied to %s", env.Name))}
	if err := c.postStatus(ctx, sha, status, true); err != nil {
		return "", err
	}
	c.rememberApplied(env.Name, sha)
	return sha, nil
}

func (c *Controller) rememberApplied(env, sha string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.applied == nil {
		c.applied = map[string]string{}
	}
	c.applied[env] = sha
}

// deploy renders env at sha, applies it to env's cluster and reports on sha.
func (c *Controller) deploy(ctx context.Context, env config.Environment, sha string) error {
	log := c.log().With("env", env.Name, "sha", sha)
	res, err := c.apply(ctx, env, sha, false)
	c.Metrics.deployed(c.Pipeline.Metadata.Name, env.Name, res, err)
	status := gitsource.Status{Context: StatusDeploy, Kind: gitsource.CommitStatus, TargetURL: c.envURL(env.Name)}
	if err != nil {
		log.Error("deploy failed", "err", err)
		status.State, status.Description = gitsource.StatusFailure, oneLine(fmt.Sprintf("apply to %s failed: %v", env.Name, err))
	} else {
		log.Info("deployed", "created", res.Count(deploy.Created)+res.Count(deploy.Recreated), "configured", res.Count(deploy.Configured),
			"unchanged", res.Count(deploy.Unchanged), "deleted", res.Count(deploy.Deleted))
		status.State, status.Description = gitsource.StatusSuccess, oneLine(fmt.Sprintf("applied to %s: %s", env.Name, applySummary(res)))
	}
	c.rememberDeploy(env.Name, sha, status)
	if serr := c.postStatus(ctx, sha, status, err == nil); serr != nil {
		return errors.Join(err, serr)
	}
	if err != nil {
		return err
	}
	c.rememberApplied(env.Name, sha)
	return nil
}

// apply renders env at sha and applies it with the environment's options; dryRun changes
// nothing in the cluster.
func (c *Controller) apply(ctx context.Context, env config.Environment, sha string, dryRun bool) (deploy.Result, error) {
	cluster, err := c.Clusters(ctx, env)
	if err != nil {
		return deploy.Result{}, err
	}
	objs, err := renderTree(ctx, c.Mirror, sha, env)
	if err != nil {
		return deploy.Result{}, err
	}
	return deploy.Apply(ctx, cluster, objs, c.applyOptions(env, sha, dryRun))
}

// applyOptions are env's options for applying commit sha.
func (c *Controller) applyOptions(env config.Environment, sha string, dryRun bool) deploy.ApplyOptions {
	return deploy.ApplyOptions{
		Pipeline: c.Pipeline.Metadata.Name, Env: env.Name, InventoryNamespace: env.Cluster.InventoryNamespace, Revision: sha,
		Prune: env.Cluster.Prune && !dryRun, DryRun: dryRun,
		Wait: env.Cluster.Wait, ReadyTimeout: env.Cluster.ReadyTimeout.Duration,
	}
}

// applySummary reads like "3 created, 1 configured, 12 unchanged, 0 deleted".
func applySummary(res deploy.Result) string {
	return fmt.Sprintf("%d created, %d configured, %d unchanged, %d deleted",
		res.Count(deploy.Created)+res.Count(deploy.Recreated), res.Count(deploy.Configured), res.Count(deploy.Unchanged), res.Count(deploy.Deleted))
}

// postStatus posts s on sha unless the latest status of its context already has its state and,
// unless sameState, its description. A success kept with sameState keeps its time: the soak
// gate counts from the first successful deploy, not from a re-apply after a restart.
func (c *Controller) postStatus(ctx context.Context, sha string, s gitsource.Status, sameState bool) error {
	have, err := c.Forge.Statuses(ctx, sha)
	if err != nil {
		return err
	}
	for _, h := range have {
		if h.Kind == gitsource.CommitStatus && h.Context == s.Context && h.State == s.State && (sameState || h.Description == s.Description && h.TargetURL == s.TargetURL) {
			return nil
		}
	}
	s.Kind = gitsource.CommitStatus
	return c.Forge.SetStatus(ctx, sha, s)
}

// envURL links an environment's page on the agent ("" without a public URL).
func (c *Controller) envURL(env string) string {
	if c.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(c.PublicURL, "/") + "/pipelines/" + c.Pipeline.Metadata.Name + "/" + env
}
