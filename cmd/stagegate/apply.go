package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func newApplyCmd(c *cli) *cobra.Command {
	var (
		pipeline, env, ref, output string
		opts                       deploy.ApplyOptions
		qps                        float32
	)
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Server-side-apply an environment's rendered objects to its cluster, staged, with pruning",
		Long: `apply renders an environment from Git (its branch head, or --ref) and server-side-applies it to
the environment's cluster with field manager stagegate: CRDs and namespaces first, then
cluster-wide RBAC, then the rest. What it applied is recorded in the inventory (a ConfigMap in
cluster.inventoryNamespace); --prune deletes what the previous apply recorded and the rendering
no longer has, except objects annotated stagegate.dev/prune: disabled.

Exit codes: 0 applied (or, with --dry-run, would apply), 1 an error or an object failed.`,
		Example: `  stagegate apply --config stagegate.yaml --env staging --dry-run
  stagegate apply --config stagegate.yaml --env staging --prune --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, e, cluster, r, err := c.clusterEnv(cmd, pipeline, env, ref, output, qps)
			if err != nil {
				return err
			}
			opts.Pipeline, opts.Env, opts.InventoryNamespace = p.Metadata.Name, env, e.Cluster.InventoryNamespace
			res, err := deploy.Apply(cmd.Context(), cluster, r.Objects, opts)
			c.log.Info("applied", "pipeline", p.Metadata.Name, "env", env, "sha", r.SHA, "objects", len(res.Objects))
			if werr := writeApply(c, res, r.SHA, output); werr != nil {
				return werr
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&pipeline, "pipeline", "", "pipeline name (default: the only pipeline in the config)")
	f.StringVar(&env, "env", "", "environment to apply")
	f.StringVar(&ref, "ref", "", "commit to apply (default: the environment branch's head)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&opts.DryRun, "dry-run", false, "server-side dry-run: report what would change, change nothing")
	f.BoolVar(&opts.Prune, "prune", false, "delete objects applied before and no longer rendered")
	f.BoolVar(&opts.Wait, "wait", false, "wait for workloads to become ready and report those that do not")
	f.IntVar(&opts.Workers, "workers", deploy.DefaultWorkers, "objects of one stage applied at once")
	f.Float32Var(&qps, "qps", deploy.DefaultQPS, "client requests per second to the API server")
	return cmd
}

// clusterEnv is what apply and drift start from: the checked flags, the environment, a
// connection to its cluster, and its rendering at ref (the branch head when empty).
func (c *cli) clusterEnv(cmd *cobra.Command, pipeline, env, ref, output string, qps float32) (config.Pipeline, *config.Environment, *deploy.Cluster, controller.Rendering, error) {
	var (
		p config.Pipeline
		r controller.Rendering
	)
	if output != "text" && output != "json" {
		return p, nil, nil, r, fmt.Errorf("-o %q: want text or json", output)
	}
	if env == "" {
		return p, nil, nil, r, errors.New("--env is required")
	}
	p, err := c.pipeline(pipeline)
	if err != nil {
		return p, nil, nil, r, err
	}
	e, err := p.LookupEnv(env)
	if err != nil {
		return p, nil, nil, r, err
	}
	if e.Cluster == nil {
		return p, nil, nil, r, fmt.Errorf("environment %s has no cluster: set spec.environments[].cluster (kubeconfig, context) in %s", env, c.configPath)
	}
	cluster, err := deploy.Connect(cmd.Context(), *e.Cluster, deploy.Options{QPS: qps, Burst: int(2 * qps)})
	if err != nil {
		return p, nil, nil, r, fmt.Errorf("environment %s: %w; check its cluster (kubeconfig, context) in %s", env, err, c.configPath)
	}
	r, err = controller.RenderEnv(cmd.Context(), p, env, ref, c.controllerOptions())
	return p, e, cluster, r, err
}

func writeApply(c *cli, res deploy.Result, sha, output string) error {
	if output == "json" {
		type object struct {
			ID       string        `json:"object"`
			Action   deploy.Action `json:"action"`
			Error    string        `json:"error,omitempty"`
			NotReady string        `json:"notReady,omitempty"`
		}
		out := struct {
			SHA     string   `json:"sha"`
			Objects []object `json:"objects"`
		}{SHA: sha, Objects: []object{}}
		for _, o := range res.Objects {
			ob := object{ID: o.ID.String(), Action: o.Action, NotReady: o.NotReady}
			if o.Err != nil {
				ob.Error = o.Err.Error()
			}
			out.Objects = append(out.Objects, ob)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, o := range res.Objects {
		fmt.Fprintf(c.stdout, "%-10s %s", o.Action, o.ID)
		if o.Err != nil {
			fmt.Fprintf(c.stdout, ": %v", o.Err)
		}
		if o.NotReady != "" {
			fmt.Fprintf(c.stdout, " (not ready: %s)", o.NotReady)
		}
		fmt.Fprintln(c.stdout)
	}
	fmt.Fprintf(c.stdout, "%s: %d created, %d configured, %d unchanged, %d deleted, %d failed\n", gitsource.Short(sha),
		res.Count(deploy.Created)+res.Count(deploy.Recreated), res.Count(deploy.Configured), res.Count(deploy.Unchanged), res.Count(deploy.Deleted), res.Count(deploy.Failed))
	return nil
}
