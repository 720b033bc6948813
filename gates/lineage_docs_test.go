package gates

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
)

// TestForgeGatesDocs holds docs/gates.md to the approvals, checks, window, soak, lineage and
// signature gates, and the cluster gates dry-run and drift: a section per gate, a section per check with the code's title, severity, why and fix,
// and a table row per option.
func TestForgeGatesDocs(t *testing.T) {
	data, err := os.ReadFile("../docs/gates.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, group := range [][]Check{approvalsChecks, checksChecks, windowChecks, lineageChecks, signatureChecks, dryRunChecks, driftChecks} {
		for _, c := range group {
			want := fmt.Sprintf("\n### %s\n\n%s. Default severity: **%s**.\n\n**Why it matters.** %s\n\n**How to fix.** %s\n", c.ID, c.Title, c.Severity, c.Why, c.Fix)
			if !strings.Contains(doc, want) {
				t.Errorf("docs/gates.md lacks this section, as the code has it:\n%s", want)
			}
		}
	}
	for gate, opts := range map[string]any{
		"approvals": config.ApprovalsGate{}, "checks": config.ChecksGate{}, "window": config.WindowGate{},
		"soak": config.SoakGate{}, "lineage": config.LineageGate{}, "signature": config.SignatureGate{},
		"dry-run": config.DryRunGate{}, "drift": config.DriftGate{},
	} {
		start := strings.Index(doc, "\n## `"+gate+"`\n")
		if start < 0 {
			t.Errorf("docs/gates.md has no section ## `%s`", gate)
			continue
		}
		section := doc[start+1:]
		if end := strings.Index(section[1:], "\n## "); end >= 0 {
			section = section[:end+1]
		}
		for _, name := range jsonNames(reflect.TypeOf(opts)) {
			if !strings.Contains(section, "| `"+name) {
				t.Errorf("docs/gates.md: the %s section has no row for option %s", gate, name)
			}
		}
	}
}

// jsonNames lists a struct's JSON field names, inlined structs included.
func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if strings.Contains(opts, "inline") {
			names = append(names, jsonNames(f.Type)...)
			continue
		}
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}
