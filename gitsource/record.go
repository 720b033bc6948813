package gitsource

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Trailer keys a promotion's merge carries besides those of the promotion commit itself.
const (
	// TrailerBreakGlass records that the break-glass label let a promotion through a closed
	// window; the value is the reason given.
	TrailerBreakGlass = "Stagegate-Break-Glass"
	// TrailerDriftAcknowledged records that the acknowledge-drift label let a promotion into an
	// environment whose cluster had drifted.
	TrailerDriftAcknowledged = "Stagegate-Drift-Acknowledged"
	// TrailerRequest is "#<number>": the promotion request (pull request) merged.
	TrailerRequest = "Stagegate-Request"
	// TrailerObserved records a value a runtime gate observed in the source environment and
	// judged: "<gate> <name>=<value> <condition>" ("metrics error_rate=0.0021 < 0.01").
	TrailerObserved = "Stagegate-Observed"
)

// Outcomes a Stagegate-Gate trailer may record (the gates package's outcomes).
const (
	OutcomePass    = "pass"
	OutcomeFail    = "fail"
	OutcomePending = "pending"
)

// Verdict is one Stagegate-Gate trailer: a gate and its outcome.
type Verdict struct {
	Gate    string `json:"gate"`
	Outcome string `json:"outcome"`
}

// Record is what the Stagegate trailers of one commit message say about a promotion.
type Record struct {
	SourceBranch      string    `json:"sourceBranch,omitempty"`
	SourceSHA         string    `json:"sourceSHA,omitempty"`
	Rendered          string    `json:"rendered,omitempty"`
	Gates             []Verdict `json:"gates,omitempty"`
	ApprovedBy        []string  `json:"approvedBy,omitempty"`
	BreakGlass        []string  `json:"breakGlass,omitempty"`
	DriftAcknowledged []string  `json:"driftAcknowledged,omitempty"`
	// Observed are the values runtime gates observed, as their trailers read.
	Observed []string `json:"observed,omitempty"`
	// Request is the request's number, 0 for none.
	Request int `json:"request,omitempty"`
}

var (
	renderedValue = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	gateValue     = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*)=(pass|fail|pending)$`)
	requestValue  = regexp.MustCompile(`^#([1-9][0-9]{0,9})$`)
)

// ParseRecord reads the Stagegate trailers of a commit message strictly, the way an auditor
// needs them: ok is false when the message carries no Stagegate trailer at all (the commit is no
// promotion), and problems lists every trailer that does not read as stagegate writes it. A
// promotion must name its source (<branch>@<40-hex sha>) and its rendering (sha256:<64 hex>),
// each once; gates read <gate>=<pass|fail|pending>, the request #<number>. Unknown
// Stagegate-* keys are left alone, so a newer stagegate's trailers do not fail an older audit.
// Keys match case-insensitively, as git's do; values are compared exactly.
func ParseRecord(message string) (rec Record, ok bool, problems []error) {
	var sources, rendereds int
	for _, t := range Trailers(message) {
		key := canonicalKey(t.Key)
		if key == "" {
			continue
		}
		ok = true
		switch key {
		case TrailerSource:
			sources++
			branch, sha, found := strings.Cut(t.Value, "@")
			switch {
			case sources > 1:
				problems = append(problems, fmt.Errorf("%s appears more than once (%q): a promotion has one source", TrailerSource, t.Value))
			case !found || branch == "" || !isFullSHA(sha) || strings.ContainsAny(branch, " \t"):
				problems = append(problems, fmt.Errorf("%s %q: want <branch>@<40-hex sha>", TrailerSource, t.Value))
			default:
				rec.SourceBranch, rec.SourceSHA = branch, sha
			}
		case TrailerRendered:
			rendereds++
			switch {
			case rendereds > 1:
				problems = append(problems, fmt.Errorf("%s appears more than once (%q): a promotion has one rendering", TrailerRendered, t.Value))
			case !renderedValue.MatchString(t.Value):
				problems = append(problems, fmt.Errorf("%s %q: want sha256:<64 lowercase hex>", TrailerRendered, t.Value))
			default:
				rec.Rendered = t.Value
			}
		case TrailerGate:
			m := gateValue.FindStringSubmatch(t.Value)
			if m == nil {
				problems = append(problems, fmt.Errorf("%s %q: want <gate>=<pass|fail|pending>", TrailerGate, t.Value))
				continue
			}
			rec.Gates = append(rec.Gates, Verdict{Gate: m[1], Outcome: m[2]})
		case TrailerApprovedBy:
			if t.Value == "" {
				problems = append(problems, fmt.Errorf("%s is empty: want the approver's login", TrailerApprovedBy))
				continue
			}
			rec.ApprovedBy = append(rec.ApprovedBy, t.Value)
		case TrailerBreakGlass:
			rec.BreakGlass = append(rec.BreakGlass, t.Value)
		case TrailerDriftAcknowledged:
			rec.DriftAcknowledged = append(rec.DriftAcknowledged, t.Value)
		case TrailerObserved:
			rec.Observed = append(rec.Observed, t.Value)
		case TrailerRequest:
			m := requestValue.FindStringSubmatch(t.Value)
			if m == nil || rec.Request != 0 {
				problems = append(problems, fmt.Errorf("%s %q: want one #<number>", TrailerRequest, t.Value))
				continue
			}
			rec.Request, _ = strconv.Atoi(m[1])
		}
	}
	if ok && sources == 0 {
		problems = append(problems, fmt.Errorf("no %s trailer: a promotion names its source as <branch>@<40-hex sha>", TrailerSource))
	}
	if ok && rendereds == 0 {
		problems = append(problems, fmt.Errorf("no %s trailer: a promotion records the digest of its rendering as sha256:<64 hex>", TrailerRendered))
	}
	return rec, ok, problems
}

// canonicalKey is the Stagegate trailer key k names, or "" for any other key.
func canonicalKey(k string) string {
	for _, key := range []string{TrailerSource, TrailerRendered, TrailerGate, TrailerApprovedBy, TrailerBreakGlass, TrailerDriftAcknowledged, TrailerObserved, TrailerRequest} {
		if strings.EqualFold(k, key) {
			return key
		}
	}
	return ""
}

// Trailers returns the record as trailers in the order stagegate writes them, the inverse of
// ParseRecord for a record read without problems.
func (r Record) Trailers() []Trailer {
	var t []Trailer
	if r.SourceBranch != "" || r.SourceSHA != "" {
		t = append(t, Trailer{TrailerSource, r.SourceBranch + "@" + r.SourceSHA})
	}
	if r.Rendered != "" {
		t = append(t, Trailer{TrailerRendered, r.Rendered})
	}
	for _, v := range r.Gates {
		t = append(t, Trailer{TrailerGate, v.Gate + "=" + v.Outcome})
	}
	for _, v := range r.BreakGlass {
		t = append(t, Trailer{TrailerBreakGlass, v})
	}
	for _, v := range r.DriftAcknowledged {
		t = append(t, Trailer{TrailerDriftAcknowledged, v})
	}
	for _, v := range r.Observed {
		t = append(t, Trailer{TrailerObserved, v})
	}
	for _, v := range r.ApprovedBy {
		t = append(t, Trailer{TrailerApprovedBy, v})
	}
	if r.Request != 0 {
		t = append(t, Trailer{TrailerRequest, "#" + strconv.Itoa(r.Request)})
	}
	return t
}
