package gitsource

import (
	"fmt"
	"regexp"
	"strings"
)

// Trailer keys stagegate writes on promotion commits. Auditors and later cycles read them back,
// so they are part of stagegate's stable interface.
const (
	// TrailerSource is "<source branch>@<source sha>": the commit whose tree was promoted.
	TrailerSource = "Stagegate-Source"
	// TrailerRendered is "sha256:<hex>": the digest of the target environment's rendering.
	TrailerRendered = "Stagegate-Rendered"
	// TrailerGate is "<gate>=<outcome>", once per gate.
	TrailerGate = "Stagegate-Gate"
	// TrailerApprovedBy names one approver, once per approver.
	TrailerApprovedBy = "Stagegate-Approved-By"
)

// Trailer is one "Key: value" line of a commit message's trailer block.
type Trailer struct {
	Key   string
	Value string
}

var trailerLine = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*)$`)

// Trailers returns the trailers of a commit message: the lines of its last paragraph, when
// every line of that paragraph is a "Key: value" trailer or a continuation (leading whitespace),
// as git interpret-trailers reads them. A message with no such paragraph has none.
func Trailers(message string) []Trailer {
	paras := strings.Split(strings.TrimRight(strings.ReplaceAll(message, "\r\n", "\n"), "\n \t"), "\n\n")
	if len(paras) < 2 {
		return nil // a subject line alone is never a trailer block
	}
	var out []Trailer
	for _, line := range strings.Split(paras[len(paras)-1], "\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if len(out) == 0 {
				return nil
			}
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		m := trailerLine.FindStringSubmatch(line)
		if m == nil {
			return nil
		}
		out = append(out, Trailer{Key: m[1], Value: strings.TrimSpace(m[2])})
	}
	return out
}

// Source reads a Stagegate-Source trailer: the branch and full sha of the promoted commit.
// ok is false when the message has no such trailer; err is set when it has a malformed one.
func Source(message string) (branch, sha string, ok bool, err error) {
	for _, t := range Trailers(message) {
		if !strings.EqualFold(t.Key, TrailerSource) {
			continue
		}
		branch, sha, found := strings.Cut(t.Value, "@")
		if !found || branch == "" || !isFullSHA(sha) {
			return "", "", true, fmt.Errorf("malformed %s trailer %q: want <branch>@<40-hex sha>", TrailerSource, t.Value)
		}
		return branch, sha, true, nil
	}
	return "", "", false, nil
}

func isFullSHA(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
