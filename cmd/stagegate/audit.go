package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func newAuditCmd(c *cli) *cobra.Command {
	var (
		pipeline, env, since, output string
		verify                       bool
		limit                        int
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List an environment branch's promotions from their trailers and flag every commit that did not come through one",
		Long: `audit walks the environment branch's history as it landed (first parents, newest first) and
prints the ledger of promotions from their Stagegate trailers: when, the source commit, the
rendered digest, gate verdicts, approvers, the request and who merged. It flags every commit
that did not come through a stagegate promotion (out-of-band), every promotion whose trailers are
malformed, and every promotion that records a failing or pending gate with no break-glass or
acknowledgement (merged-ungated). With --verify it re-renders each promotion as it landed and
flags a digest that differs from the recorded one. The branch's first commit is listed as
initial, not flagged. It reads Git only. See docs/audit.md.

Exit codes: 0 clean, 2 findings, 1 error.`,
		Example: `  stagegate audit --config stagegate.yaml --env prod
  stagegate audit --config stagegate.yaml --env prod --since 2026-01-01 --verify
  stagegate audit --config stagegate.yaml --env prod -o csv > prod-ledger.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" && output != "csv" {
				return fmt.Errorf("-o %q: want text, json or csv", output)
			}
			if env == "" {
				return errors.New("--env is required")
			}
			ao := controller.AuditOptions{Verify: verify, Limit: limit}
			if since != "" {
				t, err := parseSince(since)
				if err != nil {
					return err
				}
				ao.Since = t
			}
			p, err := c.pipeline(pipeline)
			if err != nil {
				return err
			}
			l, err := controller.Audit(cmd.Context(), p, env, ao, c.controllerOptions())
			if err != nil {
				return fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err)
			}
			switch output {
			case "json":
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false) // "Name <email>" as written
				err = enc.Encode(l)
			case "csv":
				err = writeLedgerCSV(c.stdout, l)
			default:
				writeLedger(c.stdout, l)
			}
			if err != nil {
				return err
			}
			if !l.Clean() {
				return exitCode(exitFound)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&pipeline, "pipeline", "", "pipeline name (default: the only pipeline in the config)")
	f.StringVar(&env, "env", "", "environment whose branch to audit")
	f.StringVar(&since, "since", "", "only commits committed since this date (YYYY-MM-DD, UTC, or RFC 3339) (default: the whole history)")
	f.BoolVar(&verify, "verify", false, "re-render every promotion as it landed and compare with its recorded digest")
	f.IntVar(&limit, "limit", controller.DefaultAuditLimit, "read at most this many commits")
	f.StringVarP(&output, "output", "o", "text", "output format: text, json or csv")
	return cmd
}

// parseSince reads --since: a date (midnight UTC) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a date (2026-01-31) or an RFC 3339 time (2026-01-31T09:00:00Z)", s)
}

// writeLedger prints the ledger for a terminal: a summary line, the entries newest first, then
// the findings with their fixes.
func writeLedger(w io.Writer, l controller.Ledger) {
	promotions := 0
	for _, e := range l.Entries {
		if e.IsPromotion() {
			promotions++
		}
	}
	fmt.Fprintf(w, "%s/%s: %s at %s: %s, %s, %s", l.Pipeline, l.Env, l.Branch, gitsource.Short(l.Head),
		plural(len(l.Entries), "commit"), plural(promotions, "promotion"), plural(len(l.Findings), "finding"))
	if l.Verified {
		fmt.Fprint(w, ", digests verified")
	}
	fmt.Fprintln(w)
	if l.More {
		if l.Since.IsZero() {
			fmt.Fprintln(w, "(older commits not read: the limit was reached; raise --limit)")
		} else {
			fmt.Fprintf(w, "(commits before %s not read)\n", l.Since.Format(time.RFC3339))
		}
	}
	if len(l.Entries) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tCOMMIT\tKIND\tSOURCE\tRENDERED\tGATES\tAPPROVED BY\tREQUEST\tMERGED BY\tFINDINGS")
		for _, e := range l.Entries {
			source := "-"
			if e.SourceSHA != "" {
				source = e.Source + "@" + gitsource.Short(e.SourceSHA)
			}
			rendered := dash(e.Rendered)
			if len(rendered) > len("sha256:")+12 {
				rendered = rendered[:len("sha256:")+12]
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				e.When.UTC().Format("2006-01-02 15:04"), gitsource.Short(e.SHA), e.Kind, source, rendered,
				gateSummary(e.Gates), dash(strings.Join(e.ApprovedBy, ",")), dash(e.Request), name(e.MergedBy), dash(checks(l.FindingsFor(e.SHA))))
		}
		tw.Flush()
	}
	if len(l.Findings) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFindings (%d):\n", len(l.Findings))
	for _, f := range l.Findings {
		fmt.Fprintf(w, "  %s  %s  %s\n      fix: %s\n", gitsource.Short(f.SHA), f.Check, f.Message, f.Fix)
	}
}

// writeLedgerCSV writes one row per entry, newest first, with the entry's findings and then the
// values runtime gates observed in the last columns (observed came later: the columns before
// keep their places): what a spreadsheet or an evidence archive takes.
func writeLedgerCSV(w io.Writer, l controller.Ledger) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"sha", "when", "kind", "subject", "promotion", "source", "source_sha", "rendered", "gates",
		"approved_by", "break_glass", "drift_acknowledged", "request", "author", "merged_by", "findings", "observed"})
	for _, e := range l.Entries {
		var gates []string
		for _, v := range e.Gates {
			gates = append(gates, v.Gate+"="+v.Outcome)
		}
		var fs []string
		for _, f := range l.FindingsFor(e.SHA) {
			fs = append(fs, string(f.Check)+": "+f.Message)
		}
		cw.Write([]string{e.SHA, e.When.UTC().Format(time.RFC3339), string(e.Kind), e.Subject, e.Promotion, e.Source, e.SourceSHA, e.Rendered,
			strings.Join(gates, ";"), strings.Join(e.ApprovedBy, ";"), strings.Join(e.BreakGlass, ";"), strings.Join(e.DriftAcknowledged, ";"),
			e.Request, e.Author, e.MergedBy, strings.Join(fs, "; "), strings.Join(e.Observed, ";")})
	}
	cw.Flush()
	return cw.Error()
}

// gateSummary is "3 pass" when every gate passed, else the count that passed and the others.
func gateSummary(vs []gitsource.Verdict) string {
	if len(vs) == 0 {
		return "-"
	}
	pass, others := 0, []string{}
	for _, v := range vs {
		if v.Outcome == gitsource.OutcomePass {
			pass++
		} else {
			others = append(others, v.Gate+"="+v.Outcome)
		}
	}
	return strings.Join(append([]string{fmt.Sprintf("%d pass", pass)}, others...), ", ")
}

func checks(fs []controller.Finding) string {
	var out []string
	for _, f := range fs {
		if c := string(f.Check); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, ",")
}

// name is a "Name <email>" without the email, for a narrow column.
func name(person string) string {
	n, _, _ := strings.Cut(person, " <")
	return n
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
