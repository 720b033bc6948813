package gates

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// MarkdownMaxFindings caps the findings listed per gate in Markdown. PR bodies and check-run
// summaries stop at 65,536 characters; past the cap a line says how many more there are and the
// full report (text, JSON, SARIF) has them all.
const MarkdownMaxFindings = 50

var outcomeIcon = map[Outcome]string{Pass: "✅", Pending: "⏳", Fail: "❌"}

// WriteMarkdown writes the report as GitHub-flavoured Markdown for PR bodies and check-run
// summaries: a table of gates, then each gate's findings in a collapsed section (open when the
// gate failed).
func (r Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	r.writeMarkdownTable(bw)
	r.writeMarkdownFindings(bw)
	return bw.Flush()
}

// WriteMarkdownTable writes only the heading and the table of gates: what a PR body keeps whole
// when the findings do not fit.
func (r Report) WriteMarkdownTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	r.writeMarkdownTable(bw)
	return bw.Flush()
}

// WriteMarkdownFindings writes only each gate's findings, in collapsed sections.
func (r Report) WriteMarkdownFindings(w io.Writer) error {
	bw := bufio.NewWriter(w)
	r.writeMarkdownFindings(bw)
	return bw.Flush()
}

func (r Report) writeMarkdownTable(bw *bufio.Writer) {
	fmt.Fprintf(bw, "### %s Gates: %s\n\n", outcomeIcon[r.Verdict], r.Verdict)
	fmt.Fprintf(bw, "%d objects", r.Objects)
	if r.Env != "" {
		fmt.Fprintf(bw, " in `%s`", r.Env)
	}
	if r.Revision != "" {
		fmt.Fprintf(bw, " at `%s`", shortSHA(r.Revision))
	}
	if r.KubernetesVersion != "" {
		fmt.Fprintf(bw, ", Kubernetes %s", r.KubernetesVersion)
	}
	fmt.Fprint(bw, ".\n\n| gate | verdict | summary |\n|---|---|---|\n")
	for _, res := range r.Results {
		fmt.Fprintf(bw, "| %s | %s %s | %s |\n", res.Gate, outcomeIcon[res.Outcome], res.Outcome, cell(res.Summary))
	}
	observed := false
	for _, res := range r.Results {
		observed = observed || len(res.Observed) > 0
	}
	if !observed {
		return
	}
	fmt.Fprint(bw, "\n| gate | observed | value | condition |\n|---|---|---|---|\n")
	for _, res := range r.Results {
		for _, o := range res.Observed {
			icon := outcomeIcon[Pass]
			if !o.OK {
				icon = outcomeIcon[Fail]
			}
			fmt.Fprintf(bw, "| %s | %s | %s %s | %s |\n", res.Gate, cell(o.Name), icon, cell(o.Value), cell(o.Condition))
		}
	}
}

func (r Report) writeMarkdownFindings(bw *bufio.Writer) {
	for _, res := range r.Results {
		if len(res.Findings) == 0 {
			continue
		}
		open := ""
		if res.Outcome == Fail {
			open = " open"
		}
		fmt.Fprintf(bw, "\n<details%s><summary><b>%s</b>: %s</summary>\n\n", open, res.Gate, htmlEscape(res.Summary))
		fmt.Fprint(bw, "| | check | object | field | message |\n|---|---|---|---|---|\n")
		for i, f := range res.Findings {
			if i == MarkdownMaxFindings {
				fmt.Fprintf(bw, "\n…and %d more findings; see the full report.\n", len(res.Findings)-i)
				break
			}
			obj := cell(f.Object.String())
			if loc := r.location(f.Object); loc != "" {
				obj += "<br><sub>" + cell(loc) + "</sub>"
			}
			msg := cell(f.Message)
			if f.Waived != "" {
				msg += "<br>*waived:* " + cell(f.Waived)
			} else if f.Fix != "" {
				msg += "<br>*fix:* " + cell(f.Fix)
			}
			fmt.Fprintf(bw, "| %s | `%s` | %s | %s | %s |\n", severityIcon(f), f.Check, obj, code(f.Path), msg)
		}
		fmt.Fprint(bw, "\n</details>\n")
	}
}

func severityIcon(f Finding) string {
	switch {
	case f.Waived != "":
		return "⚪ waived"
	case f.Severity == Error:
		return "🔴 error"
	case f.Severity == Warning:
		return "🟡 warning"
	}
	return "🔵 info"
}

// cell makes text safe inside a Markdown table cell: no pipes, no line breaks, no raw HTML.
func cell(s string) string {
	s = htmlEscape(s)
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", "<br>")
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}
