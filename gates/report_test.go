package gates

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenReport evaluates testdata/report/input.yaml with every static gate except security
// (which has its own tests) and a policy rule, the way a prod environment would.
func goldenReport(t *testing.T) Report {
	t.Helper()
	data, err := os.ReadFile("testdata/report/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := gatestest.Parse("overlays/prod/app.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	env := config.Environment{Name: "prod", Path: "overlays/prod", Gates: config.Gates{
		Schema:    &config.SchemaGate{},
		APIs:      &config.APIsGate{KubernetesVersion: "1.33"},
		Resources: &config.ResourcesGate{MinReplicas: 2, Budget: &config.Budget{CPU: "200m"}},
		Policy: &config.PolicyGate{Rules: []config.PolicyRule{{
			Name: "team-label", Match: config.PolicyMatch{Kinds: []string{"Deployment"}},
			Expression:        `has(object.metadata.labels) && "team" in object.metadata.labels`,
			MessageExpression: `object.metadata.name + " has no team label"`,
			Severity:          config.SeverityWarning, Fix: "label the workload with its owning team",
		}}},
	}}
	set, err := For(env)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Pipeline: "shop", Env: env, Objects: objs, KubernetesVersion: "1.33"}
	r := NewReport(in, set, set.Evaluate(in))
	r.Revision = "0123456789abcdef0123456789abcdef01234567"
	return r
}

func TestReportGolden(t *testing.T) {
	r := goldenReport(t)
	for _, tc := range []struct {
		file   string
		format Format
		color  bool
	}{
		{"report.txt", FormatText, false},
		{"report.color.txt", FormatText, true},
		{"report.json", FormatJSON, false},
		{"report.sarif", FormatSARIF, false},
		{"report.junit.xml", FormatJUnit, false},
		{"report.md", FormatMarkdown, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := r.Write(&buf, tc.format, tc.color); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata/report", tc.file), buf.Bytes())
		})
	}
}

// golden compares got with the file, or rewrites the file under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./gates -run %s -update to create it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got), rerun with -update if intended:\n%s", path, diff)
	}
}

func TestReportTextHasNoColourUnlessAsked(t *testing.T) {
	var buf bytes.Buffer
	if err := goldenReport(t).WriteText(&buf, false); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("\x1b[")) {
		t.Error("text report without colour contains ANSI escapes")
	}
}

// TestSARIFForCodeScanning checks what GitHub code scanning requires of an upload: version
// 2.1.0, a driver with rules, and every result with a ruleId that names a rule, a level, a
// message and a file location relative to the repository.
func TestSARIFForCodeScanning(t *testing.T) {
	var buf bytes.Buffer
	if err := goldenReport(t).WriteSARIF(&buf); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string                `json:"id"`
						ShortDescription struct{ Text string } `json:"shortDescription"`
						HelpURI          string                `json:"helpUri"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct{ Text string }
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Suppressions []struct{ Kind, Justification string } `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "stagegate" {
		t.Fatalf("not a one-run SARIF 2.1.0 log from stagegate: %s", buf.String()[:200])
	}
	run := log.Runs[0]
	if len(run.Results) == 0 {
		t.Fatal("no results")
	}
	waived := 0
	for _, res := range run.Results {
		if res.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s: ruleIndex %d does not point at its rule", res.RuleID, res.RuleIndex)
		}
		if res.Level != "error" && res.Level != "warning" && res.Level != "note" {
			t.Errorf("result %s: level %q", res.RuleID, res.Level)
		}
		if len(res.Locations) != 1 || res.Locations[0].PhysicalLocation.ArtifactLocation.URI != "overlays/prod/app.yaml" ||
			res.Locations[0].PhysicalLocation.Region.StartLine < 1 {
			t.Errorf("result %s: locations %+v, want overlays/prod/app.yaml", res.RuleID, res.Locations)
		}
		if res.Message.Text == "" {
			t.Errorf("result %s: no message", res.RuleID)
		}
		if len(res.Suppressions) > 0 {
			waived++
		}
	}
	if waived != 2 {
		t.Errorf("%d suppressed results, want 2 (the waived cpu-limits)", waived)
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.ShortDescription.Text == "" || rule.HelpURI == "" {
			t.Errorf("rule %s lacks a description or help URI", rule.ID)
		}
	}
}

func TestJUnitIsWellFormed(t *testing.T) {
	var buf bytes.Buffer
	if err := goldenReport(t).WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	if suites.Failures == 0 || suites.Tests < suites.Failures+suites.Skipped || len(suites.Suites) != 4 {
		t.Errorf("tests=%d failures=%d skipped=%d suites=%d", suites.Tests, suites.Failures, suites.Skipped, len(suites.Suites))
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("html"); err == nil {
		t.Error("ParseFormat(html) succeeded")
	}
}
