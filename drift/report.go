package drift

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Report is the result of one drift scan: the rendered objects in rendered order, then the
// extra ones.
type Report struct {
	Objects []ObjectReport `json:"objects"`
}

// Summary counts a report's objects by status.
type Summary struct {
	InSync  int `json:"inSync"`
	Drifted int `json:"drifted"`
	Missing int `json:"missing"`
	Extra   int `json:"extra"`
	Failed  int `json:"failed"`
}

// Summary counts the objects by status.
func (r Report) Summary() Summary {
	var s Summary
	for _, o := range r.Objects {
		switch o.Status {
		case InSync:
			s.InSync++
		case Drifted:
			s.Drifted++
		case Missing:
			s.Missing++
		case Extra:
			s.Extra++
		case Failed:
			s.Failed++
		}
	}
	return s
}

// Drift counts the objects out of sync: drifted, missing or extra.
func (s Summary) Drift() int { return s.Drifted + s.Missing + s.Extra }

// String reads like "2 drifted, 1 missing, 0 extra, 0 failed, 14 in sync".
func (s Summary) String() string {
	return fmt.Sprintf("%d drifted, %d missing, %d extra, %d failed, %d in sync",
		s.Drifted, s.Missing, s.Extra, s.Failed, s.InSync)
}

// InSync reports whether every object is in sync: nothing drifted, missing, extra or failed.
func (r Report) InSync() bool {
	s := r.Summary()
	return s.Drift() == 0 && s.Failed == 0
}

// WriteText writes the report for a person: objects grouped by status (drifted, missing, extra,
// failed), each with its changed fields and diff, in-sync objects counted only, and the
// summary last.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, st := range statusOrder {
		if st == InSync {
			continue
		}
		var group []ObjectReport
		for _, o := range r.Objects {
			if o.Status == st {
				group = append(group, o)
			}
		}
		if len(group) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s (%d)\n", st, len(group))
		for _, o := range group {
			fmt.Fprintf(&b, "  %s\n", o.ID())
			for _, p := range o.Paths {
				fmt.Fprintf(&b, "    changed: %s\n", p)
			}
			for _, p := range o.Ignored {
				fmt.Fprintf(&b, "    ignored: %s\n", p)
			}
			if o.Reason != "" {
				fmt.Fprintf(&b, "    reason: %s\n", o.Reason)
			}
			if o.Diff != "" {
				for _, line := range strings.SplitAfter(strings.TrimSuffix(o.Diff, "\n"), "\n") {
					b.WriteString("    ")
					b.WriteString(line)
				}
				b.WriteString("\n")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "drift: %s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report and its summary as one indented JSON document:
// {"summary": {...}, "objects": [...]}.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Summary Summary        `json:"summary"`
		Objects []ObjectReport `json:"objects"`
	}{r.Summary(), r.Objects})
}
