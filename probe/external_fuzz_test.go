package probe

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// FuzzExternalAnswer: whatever a service answers, reading it neither panics nor yields a verdict
// outside the contract, a finding of another gate, or a retry time outside its bounds.
func FuzzExternalAnswer(f *testing.F) {
	f.Add(`{"verdict":"pass","summary":"ok","findings":[{"id":"critical-cve","severity":"warning","message":"m","object":{"kind":"Deployment","name":"web"}}]}`, "")
	f.Add(`{"verdict":"pending","retryAfter":"30s"}`, "120")
	f.Add(`{"verdict":"pending","retryAfter":-5}`, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(`{"verdict":"fail","findings":[{"id":"../x"}]}`, "")
	f.Add(`not json`, "")
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := config.ExternalGate{Name: "scan", URL: "https://scanner.example.com/"}
	f.Fuzz(func(t *testing.T, body, retry string) {
		h := http.Header{}
		h.Set("Retry-After", retry)
		facts := readVerdict(g, []byte(body), h, now)
		if facts.Err != nil {
			if facts.Verdict != "" || len(facts.Findings) > 0 {
				t.Fatalf("an error with a verdict: %+v", facts)
			}
			return
		}
		switch facts.Verdict {
		case gates.Pass, gates.Fail:
			if !facts.RetryAfter.IsZero() {
				t.Fatalf("a %s with a retry time", facts.Verdict)
			}
		case gates.Pending:
			if d := facts.RetryAfter.Sub(now); d < minRetryAfter || d > maxRetryAfter {
				t.Fatalf("retry after %s, outside [5s, 1h]", d)
			}
		default:
			t.Fatalf("verdict %q", facts.Verdict)
		}
		for _, fd := range facts.Findings {
			if !strings.HasPrefix(fd.Check, "scan/") || strings.Count(fd.Check, "/") != 1 {
				t.Fatalf("finding check %q", fd.Check)
			}
		}
		if strings.Contains(facts.Summary, "\n") {
			t.Fatalf("summary of more than one line: %q", facts.Summary)
		}
	})
}
