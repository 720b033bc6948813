package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/gitsource"
)

func newApproveCmd(c *cli) *cobra.Command {
	return newReviewCmd(c, "approve", gitsource.Approved,
		"Approve the open promotion request into an environment (local forge)",
		`approve records an approving review of the open promotion request into env, on the request's
head as it is now, in the repository (refs/stagegate/forge). It counts for the approvals gate
unless the reviewer wrote a commit of the change (their name or email is the commit's author),
and only while the head stays the same: a newer promotion needs a new approval. The agent sees
it on its next cycle and merges when every gate passes, or a person runs stagegate merge.

Exit codes: 0 recorded, 1 error (no open request included).`)
}

func newRejectCmd(c *cli) *cobra.Command {
	return newReviewCmd(c, "reject", gitsource.ChangesRequested,
		"Request changes on the open promotion request into an environment (local forge)",
		`reject records a review requesting changes on the open promotion request into env, on its
current head: while it is the reviewer's latest review, the approvals gate does not pass. An
approval by the same person later replaces it.

Exit codes: 0 recorded, 1 error (no open request included).`)
}

func newReviewCmd(c *cli, verb string, state gitsource.ReviewState, short, long string) *cobra.Command {
	var as, message string
	cmd := &cobra.Command{
		Use:     verb + " <pipeline> <env>",
		Short:   short,
		Long:    long,
		Example: fmt.Sprintf("  stagegate %s shop prod --as alice -m \"checked the rollout plan\"", verb),
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			who, err := actor(as)
			if err != nil {
				return err
			}
			p, env, err := c.requestTarget(args[0], args[1])
			if err != nil {
				return err
			}
			_, f, err := c.localForge(cmd.Context(), p, who)
			if err != nil {
				return err
			}
			r, err := openRequest(cmd.Context(), f, p, env)
			if err != nil {
				return err
			}
			rv, err := f.Review(cmd.Context(), r.Number, state, message)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s: %s on request #%d (%s) at %s\n", who, rv.State, r.Number, r.Title, gitsource.Short(rv.CommitSHA))
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "who reviews (default: git config user.name, else $USER)")
	cmd.Flags().StringVarP(&message, "message", "m", "", "what the review says")
	return cmd
}
