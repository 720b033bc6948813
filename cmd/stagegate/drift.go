package main

import (
	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/drift"
)

func newDriftCmd(c *cli) *cobra.Command {
	var (
		pipeline, env, output string
		qps                   float32
	)
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Compare an environment's cluster with its branch: in sync, drifted (with paths and diffs), missing or extra",
		Long: `drift renders an environment at its branch head and compares every object with the cluster
through a server-side dry-run (so server defaults are on both sides), ignoring status, managed
fields and the environment's drift.ignore rules; objects the inventory lists and the rendering no
longer has are reported as extra. It never changes the cluster. Secret values are masked.

Exit codes: 0 in sync, 2 drift found, 1 error.`,
		Example: `  stagegate drift --config stagegate.yaml --env prod
  stagegate drift --config stagegate.yaml --env prod -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, e, cluster, r, err := c.clusterEnv(cmd, pipeline, env, "", output, qps)
			if err != nil {
				return err
			}
			var ignore []drift.Ignore
			if e.Drift != nil {
				ignore = drift.IgnoreRules(e.Drift.Ignore)
			}
			live := drift.Live{Cluster: cluster, Pipeline: p.Metadata.Name, Env: env, InventoryNamespace: e.Cluster.InventoryNamespace}
			report, err := drift.Detect(cmd.Context(), live, r.Objects, drift.Options{Pipeline: p.Metadata.Name, Env: env, Ignore: ignore})
			if err != nil {
				return err
			}
			c.log.Info("drift", "pipeline", p.Metadata.Name, "env", env, "sha", r.SHA, "summary", report.Summary().String())
			if output == "json" {
				err = report.WriteJSON(c.stdout)
			} else {
				err = report.WriteText(c.stdout)
			}
			if err != nil {
				return err
			}
			if !report.InSync() {
				return exitCode(exitFound)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&pipeline, "pipeline", "", "pipeline name (default: the only pipeline in the config)")
	f.StringVar(&env, "env", "", "environment to compare")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.Float32Var(&qps, "qps", 500, "client requests per second to the API server (a scan makes about one per object)")
	return cmd
}
