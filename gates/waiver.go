package gates

import (
	"fmt"
	"strings"

	"github.com/stagegate-dev/stagegate/render"
)

// WaiveAnnotation on an object waives findings of the named checks on that object:
//
//	metadata:
//	  annotations:
//	    stagegate.dev/waive: |
//	      security/run-as-root: the image drops to uid 1000 in its entrypoint (SEC-123)
//	      resources/cpu-limit: CPU limits throttle this latency-sensitive service
//
// Entries are separated by newlines or ';' (so a reason cannot contain ';'); each is
// "<check-id>: <reason>". The reason is required: it is what an auditor reads. A waived finding
// stays in every report, with its reason, but never fails a gate.
const WaiveAnnotation = "stagegate.dev/waive"

// Checks the framework itself reports about waivers, in the result of the gate a waiver names.
const (
	// CheckWaiverReason: a waiver without a reason waives nothing and fails the gate it names.
	CheckWaiverReason = "waiver/missing-reason"
	// CheckWaiverUnknown: a waiver names a check its gate does not have (a typo, usually).
	CheckWaiverUnknown = "waiver/unknown-check"
)

// waiverChecks describe the framework's own checks for reports and docs.
var waiverChecks = []Check{
	{ID: CheckWaiverReason, Severity: Error, Title: "Waiver without a reason",
		Why: "A waiver is a recorded decision to accept a risk; without a reason nobody can review it later.",
		Fix: `Write the annotation entry as "<check-id>: <reason>".`},
	{ID: CheckWaiverUnknown, Severity: Warning, Title: "Waiver names an unknown check",
		Why: "A misspelt check ID waives nothing, so the finding it was meant for still fails the gate.",
		Fix: "Use a check ID listed in docs/gates.md."},
}

// Waiver is one parsed entry of a WaiveAnnotation.
type Waiver struct {
	Check  string
	Reason string
}

// ParseWaivers reads a WaiveAnnotation value. Empty entries are skipped; entries with no reason
// are returned with an empty Reason, for the caller to report.
func ParseWaivers(value string) []Waiver {
	var ws []Waiver
	for _, line := range strings.FieldsFunc(value, func(r rune) bool { return r == '\n' || r == ';' }) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		check, reason, _ := strings.Cut(line, ":")
		ws = append(ws, Waiver{Check: strings.TrimSpace(check), Reason: strings.TrimSpace(reason)})
	}
	return ws
}

// waivers holds every object's waivers, keyed by the object's ref, so a finding finds its
// object's waivers without a second pass over the objects.
type waivers map[ObjectRef][]Waiver

func collectWaivers(objs render.Objects) waivers {
	w := waivers{}
	for _, o := range objs {
		// Read the one annotation directly: Annotations() would copy every annotation of every object.
		md, _ := o.Content["metadata"].(map[string]any)
		ann, _ := md["annotations"].(map[string]any)
		v, _ := ann[WaiveAnnotation].(string)
		if v == "" {
			continue
		}
		w[Ref(o)] = ParseWaivers(v)
	}
	return w
}

// apply marks the findings of gate that their objects waive, and returns findings about the
// waivers for that gate that are themselves wrong. checks are the known checks (empty when the
// gate does not list them, in which case no waiver is called unknown).
func (w waivers) apply(gate string, checks map[string]Check, findings []Finding) []Finding {
	if len(w) == 0 {
		return nil
	}
	for i := range findings {
		f := &findings[i]
		for _, wv := range w[f.Object] {
			if wv.Check == f.Check && wv.Reason != "" {
				f.Waived = wv.Reason
			}
		}
	}
	var problems []Finding
	listsChecks := false
	for id := range checks {
		if strings.HasPrefix(id, gate+"/") {
			listsChecks = true
			break
		}
	}
	for ref, ws := range w {
		for _, wv := range ws {
			if g, _, _ := strings.Cut(wv.Check, "/"); g != gate {
				continue
			}
			path := `metadata.annotations["` + WaiveAnnotation + `"]`
			switch {
			case wv.Reason == "":
				problems = append(problems, Finding{
					Check: CheckWaiverReason, Severity: Error, Object: ref, Path: path,
					Message: fmt.Sprintf("waiver for %s has no reason, so it waives nothing", wv.Check),
					Fix:     fmt.Sprintf("write it as %q", wv.Check+": <why this is acceptable>"),
				})
			case listsChecks:
				if _, ok := checks[wv.Check]; !ok {
					problems = append(problems, Finding{
						Check: CheckWaiverUnknown, Severity: Warning, Object: ref, Path: path,
						Message: fmt.Sprintf("waiver names %s, which the %s gate does not have", wv.Check, gate),
						Fix:     "use a check ID listed in docs/gates.md",
					})
				}
			}
		}
	}
	return problems
}
