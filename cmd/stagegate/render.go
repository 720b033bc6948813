package main

import "github.com/spf13/cobra"

func newRenderCmd(c *cli) *cobra.Command {
	return &cobra.Command{Use: "render", Short: "not yet built"}
}
