package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes scripts can rely on. Verbs that report a state use 2 (and gate uses 3) for
// "something to act on"; 1 is always an error.
const (
	exitOK        = 0
	exitError     = 1
	exitFound     = 2 // plan: something to promote; drift: drift found; audit: findings
	exitGateFails = 3 // gate: a gate failed
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one CLI invocation and returns its exit code; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	root := c.root()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var ex exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ex):
		return int(ex)
	default:
		writeError(stderr, err)
		return exitError
	}
}

// writeError prints an error once, where it stops travelling. An error of several lines (config
// validation reports every problem) prints as an indented list.
func writeError(w io.Writer, err error) {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		fmt.Fprintf(w, "error: %s\n", msg)
		return
	}
	fmt.Fprintln(w, "error:")
	for _, line := range strings.Split(msg, "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// exitCode is returned by a verb that finished normally but reports a state by its exit code.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// cli holds what every verb shares: output streams and global flags.
type cli struct {
	stdout, stderr io.Writer
	configPath     string
	cacheDir       string
	logLevel       string
	log            *slog.Logger
}

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "stagegate",
		Short: "GitOps promotion controller: render, gate and promote environments held as Git branches",
		Long: `stagegate watches Git repositories whose environments are branches (env/dev, env/staging,
env/prod), renders each environment with kustomize, runs gates on the rendered state and promotes
what passes, one pull request per target environment.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
			}
			c.log = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: lvl}))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&c.configPath, "config", "stagegate.yaml", "config file with one or more Pipeline documents")
	root.PersistentFlags().StringVar(&c.cacheDir, "cache-dir", "", "where Git mirrors are cached (default $XDG_CACHE_HOME/stagegate)")
	root.PersistentFlags().StringVar(&c.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	for _, newCmd := range []func(*cli) *cobra.Command{
		newValidateCmd,
		newRenderCmd,
		newPlanCmd,
		newGateCmd,
		newRunCmd,
		newApplyCmd,
		newDriftCmd,
		newAuditCmd,
		newRequestsCmd,
		newApproveCmd,
		newRejectCmd,
		newMergeCmd,
		newRollbackCmd,
		newResumeCmd,
		newStatusCmd,
		newQuickstartCmd,
	} {
		root.AddCommand(newCmd(c))
	}
	return root
}
