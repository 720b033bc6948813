package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/local"
)

// requestView is one request as `stagegate requests` lists it.
type requestView struct {
	Pipeline string `json:"pipeline"`
	Env      string `json:"env"`
	gitsource.Request
	// Verdict is the overall stagegate status on the head: success, pending, failure, or "" when
	// the agent has not gated it yet.
	Verdict string `json:"verdict"`
	// Approvals are the people whose latest review of the head approves it.
	Approvals []string `json:"approvals"`
}

func newRequestsCmd(c *cli) *cobra.Command {
	var pipeline, output string
	var all bool
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "List the promotion requests of pipelines on the local forge",
		Long: `requests lists the open promotion requests of every pipeline whose spec.forge.type is local
(with --all, closed and merged ones too): environment, number, title, the gate verdict (the
overall stagegate status on the request's head) and who approved that head.

Exit codes: 0 listed (an empty list included), 1 error.`,
		Example: `  stagegate requests --config stagegate.yaml
  stagegate requests show shop prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: want text or json", output)
			}
			ps, err := c.pipelines(pipeline)
			if err != nil {
				return err
			}
			state := gitsource.RequestOpen
			if all {
				state = gitsource.RequestAll
			}
			var views []requestView
			for _, p := range ps {
				if p.Spec.Forge.Type != config.ForgeLocal {
					if pipeline != "" {
						_, _, err := c.localForge(cmd.Context(), p, "")
						return err
					}
					continue
				}
				v, err := c.requestViews(cmd.Context(), p, state)
				if err != nil {
					return fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err)
				}
				views = append(views, v...)
			}
			if output == "json" {
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"requests": views})
			}
			if len(views) == 0 {
				fmt.Fprintln(c.stdout, "no promotion requests")
				return nil
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PIPELINE\tENV\t#\tSTATE\tTITLE\tGATES\tAPPROVED BY")
			for _, v := range views {
				state := string(v.State)
				if v.Merged {
					state = "merged"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", v.Pipeline, v.Env, v.Number, state, v.Title, or(v.Verdict, "not gated"), or(strings.Join(v.Approvals, ", "), "-"))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&pipeline, "pipeline", "", "only this pipeline (default: every pipeline on the local forge)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&all, "all", false, "closed and merged requests too")
	cmd.AddCommand(newRequestsShowCmd(c))
	return cmd
}

func newRequestsShowCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "show <pipeline> <env>",
		Short: "Print the open promotion request into an environment: its body, reviews and comments",
		Long: `show prints the open promotion request into env: title, head, the body a GitHub pull request
would get (summary, source commits, rendered diff, gate table, trailers), then its reviews and
comments.

Exit codes: 0 printed, 1 error (no open request included).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, env, err := c.requestTarget(args[0], args[1])
			if err != nil {
				return err
			}
			_, f, err := c.localForge(cmd.Context(), p, "")
			if err != nil {
				return err
			}
			r, err := openRequest(cmd.Context(), f, p, env)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "#%d %s\n%s → %s at %s\n\n%s\n", r.Number, r.Title, r.Head, r.Base, r.HeadSHA, strings.TrimRight(r.Body, "\n"))
			reviews, err := f.Reviews(cmd.Context(), r.Number)
			if err != nil {
				return err
			}
			comments, err := f.Comments(cmd.Context(), r.Number)
			if err != nil {
				return err
			}
			if len(reviews) > 0 {
				fmt.Fprintln(c.stdout, "\nReviews:")
				for _, rv := range reviews {
					fmt.Fprintf(c.stdout, "  %s %s on %s at %s\n", rv.User, rv.State, gitsource.Short(rv.CommitSHA), rv.Submitted.Format("2006-01-02 15:04 MST"))
				}
			}
			if len(comments) > 0 {
				fmt.Fprintln(c.stdout, "\nComments:")
				for _, cm := range comments {
					fmt.Fprintf(c.stdout, "  %s at %s: %s\n", cm.Author, cm.Created.Format("2006-01-02 15:04 MST"), cm.Body)
				}
			}
			return nil
		},
	}
}

func (c *cli) requestViews(ctx context.Context, p config.Pipeline, state gitsource.RequestState) ([]requestView, error) {
	_, f, err := c.localForge(ctx, p, "")
	if err != nil {
		return nil, err
	}
	var out []requestView
	for _, env := range p.Spec.Environments[1:] {
		rs, err := f.Requests(ctx, controller.PromoteBranch(env.Name), env.Branch, state)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			v := requestView{Pipeline: p.Metadata.Name, Env: env.Name, Request: r, Approvals: []string{}}
			st, err := f.Statuses(ctx, r.HeadSHA)
			if err != nil {
				return nil, err
			}
			for _, s := range st {
				if s.Context == controller.StatusOverall {
					v.Verdict = string(s.State)
				}
			}
			reviews, err := f.Reviews(ctx, r.Number)
			if err != nil {
				return nil, err
			}
			v.Approvals = approvers(reviews, r.HeadSHA)
			out = append(out, v)
		}
	}
	return out, nil
}

// approvers are the people whose latest review of head approves it.
func approvers(reviews []gitsource.Review, head string) []string {
	latest := map[string]gitsource.ReviewState{}
	var order []string
	for _, r := range reviews {
		if r.CommitSHA != head || r.State == gitsource.Commented {
			continue
		}
		if _, ok := latest[r.User]; !ok {
			order = append(order, r.User)
		}
		latest[r.User] = r.State
	}
	out := []string{}
	for _, u := range order {
		if latest[u] == gitsource.Approved {
			out = append(out, u)
		}
	}
	return out
}

// requestTarget finds the pipeline and the environment a request goes into.
func (c *cli) requestTarget(pipeline, envName string) (config.Pipeline, config.Environment, error) {
	ps, err := c.pipelines(pipeline)
	if err != nil {
		return config.Pipeline{}, config.Environment{}, err
	}
	p := ps[0]
	env, err := p.LookupEnv(envName)
	if err != nil {
		return p, config.Environment{}, err
	}
	if env.Name == p.Spec.Environments[0].Name {
		return p, config.Environment{}, fmt.Errorf("%s is pipeline %s's first environment: changes reach it by ordinary merges, not promotion requests", env.Name, p.Metadata.Name)
	}
	return p, *env, nil
}

// openRequest is the open promotion request into env.
func openRequest(ctx context.Context, f *local.Forge, p config.Pipeline, env config.Environment) (gitsource.Request, error) {
	rs, err := f.Requests(ctx, controller.PromoteBranch(env.Name), env.Branch, gitsource.RequestOpen)
	if err != nil {
		return gitsource.Request{}, err
	}
	if len(rs) == 0 {
		return gitsource.Request{}, fmt.Errorf("no open promotion request into %s of pipeline %s: stagegate plan shows whether there is anything to promote, and the agent (stagegate run) opens the request", env.Name, p.Metadata.Name)
	}
	return rs[0], nil
}

// actor is who a person acting on a request is: --as, else git config user.name, else $USER.
func actor(as string) (string, error) {
	if as = strings.TrimSpace(as); as != "" {
		return as, nil
	}
	if out, err := exec.Command("git", "config", "user.name").Output(); err == nil {
		if name := strings.TrimSpace(string(out)); name != "" {
			return name, nil
		}
	}
	if u := os.Getenv("USER"); u != "" {
		return u, nil
	}
	return "", fmt.Errorf("who are you? pass --as NAME, or set git config user.name")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
