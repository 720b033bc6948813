package gates

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"slices"
	"strings"
)

// SARIF 2.1.0, as GitHub code scanning reads it
// (docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning):
// one run, tool.driver.rules with each check's metadata, and a result per finding located in the
// repository file the object came from. Waived findings carry an inSource suppression with the
// waiver's reason, so code scanning shows them as dismissed rather than dropping them.

// DocsURL is where docs/gates.md is published; SARIF rules link each check there.
const DocsURL = "https://github.com/stagegate-dev/stagegate/blob/main/docs/gates.md"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool        `json:"tool"`
	AutomationDetails *sarifAutomation `json:"automationDetails,omitempty"`
	VersionControl    []sarifVCS       `json:"versionControlProvenance,omitempty"`
	Results           []sarifResult    `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     sarifText       `json:"shortDescription"`
	FullDescription      sarifText       `json:"fullDescription"`
	Help                 sarifHelp       `json:"help"`
	HelpURI              string          `json:"helpUri"`
	DefaultConfiguration sarifRuleConfig `json:"defaultConfiguration"`
	Properties           sarifRuleProps  `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags      []string `json:"tags"`
	Precision string   `json:"precision"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifVCS struct {
	RepositoryURI string `json:"repositoryUri,omitempty"`
	RevisionID    string `json:"revisionId"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

// sarifRegion: stagegate judges rendered objects, which do not keep the line they came from, so
// every result points at line 1 of the file; GitHub needs a start line to show an alert.
type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// WriteSARIF writes the report as a SARIF 2.1.0 log for GitHub code scanning and other SARIF
// viewers. File locations are relative to the repository root (uriBaseId %SRCROOT%).
func (r Report) WriteSARIF(w io.Writer) error {
	rules, index := r.sarifRules()
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "stagegate", InformationURI: DocsURL, Rules: rules}},
		Results: []sarifResult{},
	}
	if r.Env != "" {
		// The category lets code scanning keep one set of alerts per environment.
		run.AutomationDetails = &sarifAutomation{ID: "stagegate/" + r.Pipeline + "/" + r.Env + "/"}
	}
	if r.Revision != "" {
		run.VersionControl = []sarifVCS{{RevisionID: r.Revision}}
	}
	for _, res := range r.Results {
		for _, f := range res.Findings {
			sr := sarifResult{
				RuleID: f.Check, RuleIndex: index[f.Check], Level: sarifLevel(f.Severity),
				Message:             sarifText{Text: sarifMessage(f)},
				PartialFingerprints: map[string]string{"stagegateFinding/v1": fingerprint(f)},
			}
			loc := sarifLocation{LogicalLocations: []sarifLogical{{FullyQualifiedName: f.Object.String(), Kind: "object"}}}
			if uri := r.location(f.Object); uri != "" {
				loc.PhysicalLocation = &sarifPhysical{
					ArtifactLocation: sarifArtifact{URI: uri, URIBaseID: "%SRCROOT%"},
					Region:           sarifRegion{StartLine: 1},
				}
			}
			sr.Locations = []sarifLocation{loc}
			if f.Waived != "" {
				sr.Suppressions = []sarifSuppression{{Kind: "inSource", Justification: f.Waived}}
			}
			run.Results = append(run.Results, sr)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// sarifRules lists a rule for every known check and for every check ID in a finding that no
// gate described (a gate that does not list its checks), so every result has its rule.
func (r Report) sarifRules() ([]sarifRule, map[string]int) {
	checks := map[string]Check{}
	for _, c := range r.Checks {
		checks[c.ID] = c
	}
	for _, res := range r.Results {
		for _, f := range res.Findings {
			if _, ok := checks[f.Check]; !ok {
				checks[f.Check] = Check{ID: f.Check, Severity: f.Severity, Title: f.Check, Fix: f.Fix}
			}
		}
	}
	ids := make([]string, 0, len(checks))
	for id := range checks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rules := make([]sarifRule, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		c := checks[id]
		gate, _, _ := strings.Cut(id, "/")
		full := c.Title
		if c.Why != "" {
			full = c.Why
		}
		help := c.Title + "\n\nWhy: " + c.Why + "\n\nFix: " + c.Fix
		rules[i] = sarifRule{
			ID: id, Name: ruleName(id),
			ShortDescription:     sarifText{Text: c.Title},
			FullDescription:      sarifText{Text: full},
			Help:                 sarifHelp{Text: help, Markdown: "**" + c.Title + "**\n\n" + c.Why + "\n\n**Fix:** " + c.Fix},
			HelpURI:              helpURI(id),
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(c.Severity)},
			Properties:           sarifRuleProps{Tags: []string{"stagegate", gate}, Precision: "high"},
		}
		index[id] = i
	}
	return rules, index
}

func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

func sarifMessage(f Finding) string {
	msg := f.Object.String() + ": " + f.Message
	if f.Path != "" {
		msg += " (" + f.Path + ")"
	}
	if f.Fix != "" {
		msg += ". Fix: " + f.Fix
	}
	return msg
}

// ruleName turns "security/run-as-root" into "SecurityRunAsRoot", SARIF's style for names.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '/' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// helpURI links a check's documentation: the heading docs/gates.md gives it ("`schema/unknown-field`"
// renders with the anchor "schemaunknown-field" on GitHub), the policy section for user rules,
// and docs/security-checks.md for the security gate.
func helpURI(id string) string {
	gate, _, _ := strings.Cut(id, "/")
	switch gate {
	case "policy":
		return DocsURL + "#policy"
	case "security":
		return strings.TrimSuffix(DocsURL, "gates.md") + "security-checks.md#" + strings.ReplaceAll(id, "/", "")
	}
	return DocsURL + "#" + strings.ReplaceAll(id, "/", "")
}

// fingerprint identifies a finding across runs whatever line it moves to: same check, object
// and field.
func fingerprint(f Finding) string {
	sum := sha256.Sum256([]byte(f.Check + "\x00" + f.Object.APIVersion + "\x00" + f.Object.Kind + "\x00" +
		f.Object.Namespace + "\x00" + f.Object.Name + "\x00" + f.Path))
	return hex.EncodeToString(sum[:16])
}
