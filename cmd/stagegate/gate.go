package main

import "github.com/spf13/cobra"

func newGateCmd(c *cli) *cobra.Command {
	return &cobra.Command{Use: "gate", Short: "not yet built"}
}
