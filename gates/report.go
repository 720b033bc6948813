package gates

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Report is what every report format renders: the results of one evaluation and what they are
// about. Build it with NewReport; set Revision when the caller knows the commit.
type Report struct {
	Pipeline string `json:"pipeline,omitempty"`
	Env      string `json:"env,omitempty"`
	// Path is the rendered directory in the repository ("overlays/prod"); reports point findings
	// on generated objects (no source file) at its kustomization.
	Path string `json:"path,omitempty"`
	// Revision is the commit the rendering came from, when known.
	Revision          string    `json:"revision,omitempty"`
	KubernetesVersion string    `json:"kubernetesVersion,omitempty"`
	Objects           int       `json:"objects"`
	Verdict           Outcome   `json:"verdict"`
	RetryAt           time.Time `json:"retryAt,omitzero"`
	Results           []Result  `json:"results"`
	// Checks describes every check the gates could report (SARIF rules).
	Checks []Check `json:"-"`
}

// NewReport gathers a report of results, which set evaluated on in.
func NewReport(in Input, set *Set, results []Result) Report {
	verdict, retry := Verdict(results)
	return Report{
		Pipeline: in.Pipeline, Env: in.Env.Name, Path: in.Env.Path,
		KubernetesVersion: in.KubernetesVersion, Objects: len(in.Objects),
		Verdict: verdict, RetryAt: retry, Results: results, Checks: set.Checks(),
	}
}

// Format is a report format.
type Format string

// Report formats.
const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatSARIF    Format = "sarif"
	FormatJUnit    Format = "junit"
	FormatMarkdown Format = "markdown"
)

// Formats lists the report formats, for flag help.
var Formats = []Format{FormatText, FormatJSON, FormatSARIF, FormatJUnit, FormatMarkdown}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(s))
	if slices.Contains(Formats, f) {
		return f, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown report format %q: want one of %s", s, strings.Join(names, ", "))
}

// Write renders r in format f. color only affects text, and should be true only when w is a
// terminal.
func (r Report) Write(w io.Writer, f Format, color bool) error {
	switch f {
	case FormatText:
		return r.WriteText(w, color)
	case FormatJSON:
		return r.WriteJSON(w)
	case FormatSARIF:
		return r.WriteSARIF(w)
	case FormatJUnit:
		return r.WriteJUnit(w)
	case FormatMarkdown:
		return r.WriteMarkdown(w)
	}
	_, err := ParseFormat(string(f))
	return err
}

// gatedFinding is a finding with the gate that reported it, for reports grouped by object.
type gatedFinding struct {
	Finding
	gate string
}

// objectGroup is every finding about one object.
type objectGroup struct {
	ref      ObjectRef
	findings []gatedFinding
}

// byObject groups the findings of all results by object, objects in file order and findings in
// gate order, so a reader fixes one file at a time.
func (r Report) byObject() []objectGroup {
	index := map[ObjectRef]int{}
	var groups []objectGroup
	for _, res := range r.Results {
		for _, f := range res.Findings {
			i, ok := index[f.Object]
			if !ok {
				i = len(groups)
				index[f.Object] = i
				groups = append(groups, objectGroup{ref: f.Object})
			}
			groups[i].findings = append(groups[i].findings, gatedFinding{f, res.Gate})
		}
	}
	slices.SortStableFunc(groups, func(a, b objectGroup) int {
		return cmp.Or(cmp.Compare(a.ref.File, b.ref.File), cmp.Compare(a.ref.Namespace, b.ref.Namespace),
			cmp.Compare(a.ref.Kind, b.ref.Kind), cmp.Compare(a.ref.Name, b.ref.Name))
	})
	return groups
}

// location is the repository file a finding points at: the object's source file, else the
// rendered directory's kustomization (for generated objects and findings about the rendering).
func (r Report) location(ref ObjectRef) string {
	if ref.File != "" {
		return ref.File
	}
	if r.Path != "" {
		return strings.TrimSuffix(r.Path, "/") + "/kustomization.yaml"
	}
	return ""
}

// label is the word a report shows for a finding's state.
func label(f Finding) string {
	if f.Waived != "" {
		return "waived"
	}
	return string(f.Severity)
}

func (r Report) title() string {
	s := "gates"
	if r.Env != "" {
		s += " for " + r.Env
	}
	if r.Pipeline != "" {
		s += " (" + r.Pipeline + ")"
	}
	if r.Revision != "" {
		s += " at " + shortSHA(r.Revision)
	}
	return s
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
