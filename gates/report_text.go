package gates

import (
	"bufio"
	"fmt"
	"io"
)

// ANSI colours, used only when the caller says the output is a terminal.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// WriteText writes the report for a terminal: the verdict, a line per gate, then the findings
// grouped by object with the file each object came from. color adds ANSI colours; pass true
// only when w is a terminal.
func (r Report) WriteText(w io.Writer, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !color || code == "" {
			return s
		}
		return code + s + ansiReset
	}
	outcomeColor := map[Outcome]string{Pass: ansiGreen, Pending: ansiYellow, Fail: ansiRed}
	labelColor := map[string]string{"error": ansiRed, "warning": ansiYellow, "info": ansiCyan, "waived": ansiDim}

	fmt.Fprintf(bw, "%s: %s (%d objects", r.title(), paint(ansiBold+outcomeColor[r.Verdict], string(r.Verdict)), r.Objects)
	if r.KubernetesVersion != "" {
		fmt.Fprintf(bw, ", Kubernetes %s", r.KubernetesVersion)
	}
	fmt.Fprintln(bw, ")")
	width := 0
	for _, res := range r.Results {
		width = max(width, len(res.Gate))
	}
	for _, res := range r.Results {
		fmt.Fprintf(bw, "  %-*s  %s  %s", width, res.Gate, paint(outcomeColor[res.Outcome], fmt.Sprintf("%-7s", res.Outcome)), res.Summary)
		if res.Outcome == Pending && !res.RetryAfter.IsZero() {
			fmt.Fprintf(bw, " (retry after %s)", res.RetryAfter.UTC().Format("2006-01-02 15:04:05Z"))
		}
		fmt.Fprintln(bw)
	}
	for _, g := range r.byObject() {
		fmt.Fprintln(bw)
		head := g.ref.String()
		if g.ref.APIVersion != "" {
			head = g.ref.APIVersion + " " + head
		}
		fmt.Fprint(bw, paint(ansiBold, head))
		if loc := r.location(g.ref); loc != "" {
			fmt.Fprint(bw, paint(ansiDim, "  "+loc))
		}
		fmt.Fprintln(bw)
		for _, f := range g.findings {
			l := label(f.Finding)
			fmt.Fprintf(bw, "  %s %s", paint(labelColor[l], fmt.Sprintf("%-7s", l)), f.Check)
			if f.Path != "" {
				fmt.Fprintf(bw, " %s", paint(ansiDim, f.Path))
			}
			fmt.Fprintf(bw, "\n          %s\n", f.Message)
			if f.Waived != "" {
				fmt.Fprintf(bw, "          waived: %s\n", f.Waived)
			} else if f.Fix != "" {
				fmt.Fprintf(bw, "          fix: %s\n", f.Fix)
			}
		}
	}
	return bw.Flush()
}
