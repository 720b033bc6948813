package gates

import (
	"encoding/xml"
	"fmt"
	"io"
)

// JUnit XML, as CI systems (GitLab, Jenkins, GitHub test reporters) read it: a test suite per
// gate and a test case per finding. An unwaived error is a failure, a waived finding is skipped
// with its reason, warnings and notes pass with their message as output, and a gate with no
// error findings has one passing case of its own so the suite is never empty. A pending gate is
// one skipped case.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML.
func (r Report) WriteJUnit(w io.Writer) error {
	name := "stagegate"
	if r.Env != "" {
		name += " " + r.Env
	}
	out := junitSuites{Name: name}
	for _, res := range r.Results {
		s := junitSuite{Name: res.Gate}
		errors := 0
		for _, f := range res.Findings {
			c := junitCase{
				Name:      fmt.Sprintf("%s %s", f.Check, f.Object),
				Classname: res.Gate, File: r.location(f.Object),
			}
			if f.Path != "" {
				c.Name += " " + f.Path
			}
			detail := f.Message
			if f.Fix != "" {
				detail += "\nfix: " + f.Fix
			}
			switch {
			case f.Waived != "":
				c.Skipped = &junitMessage{Message: "waived: " + f.Waived, Text: detail}
			case f.Severity == Error:
				c.Failure = &junitMessage{Message: f.Message, Type: f.Check, Text: detail}
				errors++
			default:
				c.SystemOut = string(f.Severity) + ": " + detail
			}
			s.Cases = append(s.Cases, c)
		}
		switch {
		case res.Outcome == Pending:
			s.Cases = append(s.Cases, junitCase{Name: res.Gate, Classname: res.Gate,
				Skipped: &junitMessage{Message: "pending: " + res.Summary}})
		case errors == 0 && res.Outcome == Fail:
			// A gate that failed without error findings explains itself in its summary.
			s.Cases = append(s.Cases, junitCase{Name: res.Gate, Classname: res.Gate,
				Failure: &junitMessage{Message: res.Summary, Type: res.Gate}})
		case errors == 0:
			s.Cases = append(s.Cases, junitCase{Name: res.Gate, Classname: res.Gate, SystemOut: res.Summary})
		}
		for _, c := range s.Cases {
			s.Tests++
			if c.Failure != nil {
				s.Failures++
			}
			if c.Skipped != nil {
				s.Skipped++
			}
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
