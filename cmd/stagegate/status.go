package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// DefaultStatusURL is where `stagegate status` looks for an agent: `stagegate run`'s default
// --listen on this machine.
const DefaultStatusURL = "http://127.0.0.1:8080"

func newStatusCmd(c *cli) *cobra.Command {
	var url, output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running agent's pipelines × environments: heads, pending promotions and their gates, deploys, drift",
		Long: `status reads /api/v1/status from a running agent (stagegate run) and prints one line per pipeline
and environment: the branch head, the pending promotion request with its gates, the last deploy
and the last drift scan, as the agent saw them in its last cycle. It asks the agent only, never
Git or the forge; the config file is not read.

Exit codes: 0 printed, 1 the agent could not be reached or answered with an error.`,
		Example: `  stagegate status
  stagegate status --url http://stagegate.stagegate-system:8080 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: want text or json", output)
			}
			st, raw, err := fetchStatus(cmd.Context(), url)
			if err != nil {
				return err
			}
			if output == "json" {
				_, err := c.stdout.Write(raw)
				return err
			}
			return writeStatus(c.stdout, st)
		},
	}
	cmd.Flags().StringVar(&url, "url", DefaultStatusURL, "the agent's address (its --listen, or its Service)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json (the agent's /api/v1/status as it is)")
	return cmd
}

// fetchStatus reads the agent's status; raw is the body as the agent sent it.
func fetchStatus(ctx context.Context, base string) (controller.Status, []byte, error) {
	var st controller.Status
	endpoint := strings.TrimRight(base, "/") + "/api/v1/status"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return st, nil, fmt.Errorf("--url %s: %w", base, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, nil, fmt.Errorf("no agent answers at %s (%w); is `stagegate run` running there? Pass its address with --url", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return st, nil, fmt.Errorf("read %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return st, nil, fmt.Errorf("%s answered %s; is it a stagegate agent of this version?", endpoint, resp.Status)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, nil, fmt.Errorf("%s: not a stagegate status: %w", endpoint, err)
	}
	return st, raw, nil
}

// writeStatus prints the status as a table, one line per pipeline and environment.
func writeStatus(w io.Writer, st controller.Status) error {
	if st.Ready {
		fmt.Fprintln(w, "agent: ready")
	} else {
		fmt.Fprintf(w, "agent: not ready: %s\n", st.Reason)
	}
	for _, p := range st.Pipelines {
		if p.CycleError != "" {
			fmt.Fprintf(w, "pipeline %s: last cycle failed: %s\n", p.Name, p.CycleError)
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PIPELINE\tENV\tHEAD\tPROMOTION\tGATES\tDEPLOY\tDRIFT")
	for _, p := range st.Pipelines {
		for _, e := range p.Environments {
			head := "-"
			if e.SHA != "" {
				head = gitsource.Short(e.SHA)
			}
			promotion, gateList := "-", "-"
			if pr := e.Promotion; pr != nil {
				promotion = fmt.Sprintf("#%d %s", pr.Request, pr.Verdict)
				var gs []string
				for _, g := range pr.Gates {
					gs = append(gs, g.Gate+"="+string(g.Outcome))
				}
				if len(gs) > 0 {
					gateList = strings.Join(gs, ",")
				}
			}
			if e.Paused != "" {
				promotion = "paused; " + promotion
			}
			dep := "-"
			if d := e.Deploy; d != nil {
				dep = fmt.Sprintf("%s %s", d.State, gitsource.Short(d.SHA))
			}
			dr := "-"
			if d := e.Drift; d != nil {
				dr = string(d.State)
				if d.State == controller.DriftDrifted {
					dr += " (" + d.Summary.String() + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, e.Name, head, promotion, gateList, dep, dr)
		}
	}
	return tw.Flush()
}
