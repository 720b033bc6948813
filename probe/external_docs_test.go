package probe

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates"
)

// docsKey is the example key docs/gates.md signs its example request with.
const docsKey = "example-key-do-not-use"

// docsExamples returns the fenced blocks of docs/gates.md marked "<!-- example: NAME -->", by
// NAME.
func docsExamples(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("../docs/gates.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)<!-- example: ([a-z ]+) -->\n```(?:json|http)\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		blocks[m[1]] = m[2]
	}
	for _, name := range []string{"request headers", "request", "response pass", "response fail", "response pending", "response accepted"} {
		if blocks[name] == "" {
			t.Fatalf("docs/gates.md has no example %q; the extraction is broken", name)
		}
	}
	return blocks
}

// TestDocsExternalRequest holds the documented request to what External sends for the same
// promotion: the same JSON, the same bytes once the whitespace is gone, and headers whose
// signature verifies with the documented key.
func TestDocsExternalRequest(t *testing.T) {
	ex := docsExamples(t)
	var doc Promotion
	if err := json.Unmarshal([]byte(ex["request"]), &doc); err != nil {
		t.Fatalf("the documented request is not a Promotion: %v", err)
	}
	var body []byte
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		header = r.Header
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	// The same promotion, without what External fills in itself.
	p := doc
	p.Gate, p.DeliveryID, p.SentAt = "", "", time.Time{}
	g := config.ExternalGate{Name: doc.Gate, URL: srv.URL + "/stagegate", SecretEnv: "SCANNER_SECRET"}
	External(t.Context(), g, p, Options{Getenv: func(string) string { return docsKey }, Now: func() time.Time { return doc.SentAt.Add(400 * time.Millisecond) }})

	var want, got any
	json.Unmarshal([]byte(ex["request"]), &want)
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("sent body: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documented request (-want) and the one sent (+got):\n%s", diff)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(ex["request"])); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compact.Bytes(), body) {
		t.Errorf("the documented request without whitespace is not the bytes sent:\n%s\n%s", compact.Bytes(), body)
	}

	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.ReplaceAll(ex["request headers"], "\n", "\r\n") + "\r\n")))
	if err != nil {
		t.Fatalf("documented headers: %v", err)
	}
	if req.Method != http.MethodPost {
		t.Errorf("documented method %s", req.Method)
	}
	if sig := req.Header.Get(SignatureHeader); sig != Sign([]byte(docsKey), compact.Bytes()) {
		t.Errorf("the documented signature %s does not verify with the documented key", sig)
	}
	for _, h := range []string{"Content-Type", "User-Agent", GateHeader, DeliveryHeader, SignatureHeader} {
		if req.Header.Get(h) != header.Get(h) {
			t.Errorf("documented %s: %q, sent %q", h, req.Header.Get(h), header.Get(h))
		}
	}
	if doc.DeliveryID != DeliveryID(doc.Gate, doc.PromotionCommit) {
		t.Errorf("documented deliveryId %s is not the gate's and commit's", doc.DeliveryID)
	}
}

// TestDocsExternalResponses serves each documented answer and reads it the way the agent does.
func TestDocsExternalResponses(t *testing.T) {
	ex := docsExamples(t)
	sentAt := time.Date(2026, 11, 23, 14, 5, 9, 0, time.UTC)
	for _, tc := range []struct {
		example  string
		verdict  gates.Outcome
		retry    time.Duration
		findings int
	}{
		{"response pass", gates.Pass, 0, 1},
		{"response fail", gates.Fail, 0, 1},
		{"response pending", gates.Pending, 30 * time.Second, 0},
		{"response accepted", gates.Pending, time.Minute, 0},
	} {
		t.Run(tc.example, func(t *testing.T) {
			raw := ex[tc.example]
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(raw, "HTTP/") {
					resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")+"\r\n")), r)
					if err != nil {
						t.Errorf("documented answer: %v", err)
						return
					}
					for k, v := range resp.Header {
						w.Header()[k] = v
					}
					w.WriteHeader(resp.StatusCode)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(raw))
			}))
			t.Cleanup(srv.Close)
			g := config.ExternalGate{Name: "image-scan", URL: srv.URL, SecretEnv: "SCANNER_SECRET"}
			f := External(t.Context(), g, examplePromotion, Options{Getenv: func(string) string { return docsKey }, Now: func() time.Time { return sentAt }})
			if f.Err != nil || f.Verdict != tc.verdict || len(f.Findings) != tc.findings {
				t.Fatalf("read %+v (err %v), want verdict %s with %d findings", f, f.Err, tc.verdict, tc.findings)
			}
			var retry time.Time
			if tc.retry > 0 {
				retry = sentAt.Add(tc.retry)
			}
			if !f.RetryAfter.Equal(retry) {
				t.Errorf("retry at %v, want %v", f.RetryAfter, retry)
			}
			for _, fd := range f.Findings {
				if !strings.HasPrefix(fd.Check, "image-scan/") || fd.Object.Name == "" {
					t.Errorf("finding %+v", fd)
				}
			}
		})
	}
}
