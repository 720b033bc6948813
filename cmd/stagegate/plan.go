package main

import "github.com/spf13/cobra"

func newPlanCmd(c *cli) *cobra.Command {
	return &cobra.Command{Use: "plan", Short: "not yet built"}
}
