package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/gitsource"
)

func newRollbackCmd(c *cli) *cobra.Command {
	var pipeline, env, to, by, output string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Open a request that returns an environment to an earlier state, and pause promotion into it",
		Long: `rollback writes a commit whose parent is the environment branch's head and whose tree is the
earlier state --to names, with trailers saying what it rolls back (Stagegate-Rollback-To,
Stagegate-Rolls-Back, Stagegate-Rendered); puts it on stagegate/rollback/<env>; pauses automatic
promotion into the environment (the ref refs/stagegate/pause/<pipeline>/<env>); and opens a
request showing the commits undone and the rendered diff. The agent gates the request with the
environment's rollback gates and merges it when rollback.auto is on; otherwise a person merges.
Promotion stays paused until stagegate resume.

--to is a commit of the branch's first-parent history (full or short sha), HEAD~N, a source
commit promoted into the environment (its Stagegate-Source sha), or #N, a merged request into it.

Exit codes: 0 the rollback request is open, 1 error.`,
		Example: `  stagegate rollback --config stagegate.yaml --env prod --to HEAD~1
  stagegate rollback --config stagegate.yaml --pipeline shop --env prod --to '#12'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: want text or json", output)
			}
			p, err := c.pipeline(pipeline)
			if err != nil {
				return err
			}
			ctrl, err := c.controllerFor(cmd.Context(), p, runFlags{}, "")
			if err != nil {
				return fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err)
			}
			rolled, err := ctrl.Rollback(cmd.Context(), env, to, by)
			if err != nil {
				return fmt.Errorf("rollback of %s: %w", env, err)
			}
			if output == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rolled)
			}
			plan := rolled.Plan
			fmt.Fprintf(c.stdout, "Rolling %s back to %s: request #%d %s\n", env, gitsource.Short(plan.To.SHA), rolled.Request.Number, rolled.Request.URL)
			fmt.Fprintf(c.stdout, "  rollback commit %s on %s, over %s@%s\n", gitsource.Short(rolled.SHA), rolled.Branch, plan.Target.Name, gitsource.Short(plan.Target.SHA))
			fmt.Fprintf(c.stdout, "  undoes %d commit(s); %d object(s) change\n", len(plan.Undone), len(plan.Changes))
			for _, cm := range plan.Undone {
				fmt.Fprintf(c.stdout, "    %s %s\n", gitsource.Short(cm.SHA), cm.Subject)
			}
			fmt.Fprintf(c.stdout, "Automatic promotion into %s is paused until: stagegate resume --config %s --pipeline %s --env %s\n", env, c.configPath, p.Metadata.Name, env)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pipeline, "pipeline", "", "pipeline (default: the config's only one)")
	fl.StringVar(&env, "env", "", "environment to roll back (required)")
	fl.StringVar(&to, "to", "", "the earlier state: a sha, HEAD~N, a promoted source sha, or #N (required)")
	fl.StringVar(&by, "by", defaultActor(), "who asks, recorded in the pause")
	fl.StringVarP(&output, "output", "o", "text", "output: text or json")
	_ = cmd.MarkFlagRequired("env")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func newResumeCmd(c *cli) *cobra.Command {
	var pipeline, env, by string
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Resume automatic promotion into an environment paused by a rollback",
		Long: `resume deletes the environment's pause (refs/stagegate/pause/<pipeline>/<env>) and marks the
environment branch's head with a successful stagegate/pause status; the agent's next cycle opens
and merges promotions into the environment again.

Exit codes: 0 resumed, or was not paused (it says which), 1 error.`,
		Example: `  stagegate resume --config stagegate.yaml --env prod`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := c.pipeline(pipeline)
			if err != nil {
				return err
			}
			ctrl, err := c.controllerFor(cmd.Context(), p, runFlags{}, "")
			if err != nil {
				return fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err)
			}
			pause, ok, err := ctrl.Resume(cmd.Context(), env, by)
			if err != nil {
				return fmt.Errorf("resume %s: %w", env, err)
			}
			if !ok {
				fmt.Fprintf(c.stdout, "%s was not paused: nothing to resume\n", env)
				return nil
			}
			fmt.Fprintf(c.stdout, "Resumed automatic promotion into %s (paused by %s: %s)\n", env, orUnknown(pause.By), orUnknown(pause.Reason))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pipeline, "pipeline", "", "pipeline (default: the config's only one)")
	fl.StringVar(&env, "env", "", "environment to resume (required)")
	fl.StringVar(&by, "by", defaultActor(), "who resumes, recorded in the status")
	_ = cmd.MarkFlagRequired("env")
	return cmd
}

// defaultActor is who runs the CLI, for records of who paused or resumed: $USER.
func defaultActor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "stagegate"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
