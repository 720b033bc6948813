package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func newMergeCmd(c *cli) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "merge <pipeline> <env>",
		Short: "Merge the open promotion request into an environment when its gates pass (local forge)",
		Long: `merge merges the open promotion request into env with the environment's merge method
(promote.mergeMethod), guarded by the request's head: only when the agent's overall stagegate
status on that head is success, so a person's merge never bypasses a gate, and when nobody's
latest review of it requests changes. The commit that lands carries the trailers the request's
body ends with (source, rendered digest, gate verdicts, approvers, request).

After an approval, the agent has to gate the request again (its next cycle, or stagegate run
--once) before merge accepts it.

Exit codes: 0 merged, 3 refused because a gate does not pass (the failing gates are named),
1 error (no open request, the head or the target branch moved: run the agent and try again).`,
		Example: `  stagegate merge shop prod --as alice`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			who, err := actor(as)
			if err != nil {
				return err
			}
			p, env, err := c.requestTarget(args[0], args[1])
			if err != nil {
				return err
			}
			_, f, err := c.localForge(ctx, p, who)
			if err != nil {
				return err
			}
			r, err := openRequest(ctx, f, p, env)
			if err != nil {
				return err
			}
			statuses, err := f.Statuses(ctx, r.HeadSHA)
			if err != nil {
				return err
			}
			reviews, err := f.Reviews(ctx, r.Number)
			if err != nil {
				return err
			}
			if why := refusal(statuses, reviews, r.HeadSHA); why != "" {
				fmt.Fprintf(c.stderr, "request #%d (%s) cannot merge: %s\n", r.Number, r.Title, why)
				return exitCode(exitGateFails)
			}
			method := config.DefaultMergeMethod
			if env.Promote != nil && env.Promote.MergeMethod != "" {
				method = env.Promote.MergeMethod
			}
			title := fmt.Sprintf("%s (#%d)", r.Title, r.Number)
			msg, err := gitsource.FormatMessage(title, fmt.Sprintf("%s → %s, merged by %s with stagegate merge", r.Head, r.Base, who), gitsource.Trailers(r.Body))
			if err != nil {
				return fmt.Errorf("request #%d: the trailers its body ends with: %w", r.Number, err)
			}
			_, body, _ := strings.Cut(msg, "\n\n")
			sha, err := f.Merge(ctx, r.Number, gitsource.MergeOptions{SHA: r.HeadSHA, Method: gitsource.MergeMethod(method), Title: title, Message: body})
			var moved *gitsource.HeadMovedError
			var refused *gitsource.NotMergeableError
			switch {
			case errors.As(err, &moved):
				return fmt.Errorf("%w; the agent gates the new head on its next cycle", err)
			case errors.As(err, &refused):
				return fmt.Errorf("%w; run the agent (stagegate run --once) to promote onto the new target", err)
			case err != nil:
				return err
			}
			fmt.Fprintf(c.stdout, "merged request #%d (%s) into %s: %s (%s)\n", r.Number, r.Title, r.Base, sha, method)
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "who merges (default: git config user.name, else $USER)")
	return cmd
}

// refusal says why a request's head may not merge, "" when it may: the overall status is not
// success (naming the gates that do not pass), or someone's latest review requests changes.
func refusal(statuses []gitsource.Status, reviews []gitsource.Review, head string) string {
	var overall *gitsource.Status
	var failing []string
	for i, s := range statuses {
		switch {
		case s.Context == controller.StatusOverall:
			overall = &statuses[i]
		case strings.HasPrefix(s.Context, controller.StatusContextPrefix) && s.State != gitsource.StatusSuccess &&
			!slices.Contains([]string{controller.StatusArrived, controller.StatusDeploy}, s.Context):
			failing = append(failing, fmt.Sprintf("%s %s (%s)", strings.TrimPrefix(s.Context, controller.StatusContextPrefix), s.State, s.Description))
		}
	}
	switch {
	case overall == nil:
		return "the agent has not gated its head " + gitsource.Short(head) + " yet: run stagegate run --once, or wait for the agent's next cycle"
	case overall.State != gitsource.StatusSuccess:
		if len(failing) == 0 {
			return "the gates are " + string(overall.State) + ": " + overall.Description
		}
		return "gates not passing: " + strings.Join(failing, "; ")
	}
	latest := map[string]gitsource.ReviewState{}
	for _, r := range reviews {
		if r.CommitSHA == head && r.State != gitsource.Commented {
			latest[r.User] = r.State
		}
	}
	var against []string
	for u, s := range latest {
		if s == gitsource.ChangesRequested {
			against = append(against, u)
		}
	}
	if len(against) > 0 {
		slices.Sort(against)
		return strings.Join(against, ", ") + " requested changes since the agent last gated it; the agent gates it again on its next cycle"
	}
	return ""
}
