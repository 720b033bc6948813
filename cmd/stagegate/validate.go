package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Load, default and validate the config; report every problem at once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pipelines, err := c.pipelines("")
			if err != nil {
				return err
			}
			for _, p := range pipelines {
				fmt.Fprintf(c.stdout, "pipeline %s: %d environments ok\n", p.Metadata.Name, len(p.Spec.Environments))
			}
			return nil
		},
	}
}
