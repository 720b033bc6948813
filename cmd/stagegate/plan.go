package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

func newPlanCmd(c *cli) *cobra.Command {
	var (
		pipeline, output string
		noDiff           bool
	)
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what promoting each environment into the next would change (reads Git only)",
		Long: `For each adjacent pair of environments, plan renders the target environment from the source's
tree and compares it with the target as it is: the source and target commits, the source commits
not yet promoted, and a per-object rendered diff. Secret values are masked.

Exit codes: 0 nothing to promote, 2 something to promote, 1 error.`,
		Example: `  stagegate plan --config stagegate.yaml
  stagegate plan --config stagegate.yaml --pipeline shop -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: want text or json", output)
			}
			ps, err := c.pipelines(pipeline)
			if err != nil {
				return err
			}
			var all []controller.Promotion
			for _, p := range ps {
				prs, err := controller.Plan(cmd.Context(), p, c.controllerOptions())
				if err != nil {
					return fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err)
				}
				all = append(all, prs...)
			}
			if output == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"promotions": all}); err != nil {
					return err
				}
			} else {
				writePlan(c.stdout, all, !noDiff)
			}
			for _, pr := range all {
				if pr.Action == controller.Promote {
					return exitCode(exitFound)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&pipeline, "pipeline", "", "only this pipeline (default: every pipeline in the config)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&noDiff, "no-diff", false, "list changed objects without their diffs (text output)")
	return cmd
}

// writePlan prints promotions for a terminal.
func writePlan(w io.Writer, prs []controller.Promotion, diffs bool) {
	for i, pr := range prs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s: %s → %s: ", pr.Pipeline, pr.From, pr.To)
		if pr.Action == controller.UpToDate {
			fmt.Fprintf(w, "nothing to promote (%s)\n", pr.Reason)
		} else {
			fmt.Fprintf(w, "promote %s\n", gitsource.Short(pr.Source.SHA))
		}
		fmt.Fprintf(w, "  source  %s@%s\n  target  %s@%s\n", pr.Source.Name, gitsource.Short(pr.Source.SHA), pr.Target.Name, gitsource.Short(pr.Target.SHA))
		if pr.LastPromoted != "" {
			fmt.Fprintf(w, "  last promoted source  %s\n", gitsource.Short(pr.LastPromoted))
		}
		if pr.Action == controller.UpToDate {
			continue
		}
		fmt.Fprintf(w, "  rendered  %s → %s\n", pr.CurrentDigest, pr.ProposedDigest)
		more := ""
		if pr.MoreCommits {
			more = ", more not shown"
		}
		fmt.Fprintf(w, "  commits not yet promoted (%d%s):\n", len(pr.Commits), more)
		for _, cm := range pr.Commits {
			fmt.Fprintf(w, "    %s  %-16s %s\n", gitsource.Short(cm.SHA), cm.Author, cm.Subject)
		}
		if len(pr.Carried) > 0 {
			fmt.Fprintf(w, "  which carry (%d) from earlier environments:\n", len(pr.Carried))
			for _, cm := range pr.Carried {
				fmt.Fprintf(w, "    %s  %-16s %s\n", gitsource.Short(cm.SHA), cm.Author, cm.Subject)
			}
		}
		fmt.Fprintf(w, "  changes (%s):\n", countChanges(pr.Changes))
		for _, ch := range pr.Changes {
			fmt.Fprintf(w, "    %s %s  (+%d -%d)", changeMark[ch.Type], ch.ID, ch.Added, ch.Removed)
			if ch.RenamedFrom != "" {
				fmt.Fprintf(w, "  renamed from %s", ch.RenamedFrom)
			}
			if ch.Source != "" {
				fmt.Fprintf(w, "  %s", ch.Source)
			}
			fmt.Fprintln(w)
		}
		if !diffs {
			continue
		}
		for _, ch := range pr.Changes {
			fmt.Fprintln(w)
			for _, line := range strings.SplitAfter(strings.TrimSuffix(ch.Diff, "\n"), "\n") {
				fmt.Fprintf(w, "    %s", line)
			}
			fmt.Fprintln(w)
		}
	}
}

var changeMark = map[render.ChangeType]string{render.Added: "+", render.Removed: "-", render.Changed: "~"}

func countChanges(changes []render.Change) string {
	n := map[render.ChangeType]int{}
	for _, ch := range changes {
		n[ch.Type]++
	}
	return fmt.Sprintf("%d objects: %d added, %d removed, %d changed", len(changes), n[render.Added], n[render.Removed], n[render.Changed])
}
