package controller_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// scanner is an external gate service on loopback: it checks each request's signature and
// answers with the verdicts it is given, in order (the last one repeats).
type scanner struct {
	t        *testing.T
	key      string
	mu       sync.Mutex
	answers  []string
	bodies   []map[string]any
	badSigns int
	// onPost, when set, runs before each answer, with the request's body.
	onPost func(body map[string]any)
}

func (s *scanner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	mac := hmac.New(sha256.New, []byte(s.key))
	mac.Write(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("X-Stagegate-Signature-256") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		s.badSigns++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		s.t.Errorf("request body is not JSON: %v", err)
	}
	s.bodies = append(s.bodies, got)
	if s.onPost != nil {
		s.onPost(got)
	}
	answer := s.answers[min(len(s.bodies), len(s.answers))-1]
	if answer == "202" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, answer)
}

func (s *scanner) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// externalWorld is dev → staging where staging runs an external gate "image-scan" against svc.
func externalWorld(t *testing.T, svc *scanner) *world {
	w := newWorld(t)
	w.p.Spec.Environments = w.p.Spec.Environments[:2]
	key := filepath.Join(t.TempDir(), "scan.key")
	if err := os.WriteFile(key, []byte(svc.key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	w.p.Spec.Environments[1].Gates.External = []config.ExternalGate{{Name: "image-scan", URL: srv.URL + "/verdict", SecretFile: key}}
	w.ctrl = w.controller()
	gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	return w
}

func TestExternalGateVerdictFromALaterStatus(t *testing.T) {
	svc := &scanner{t: t, key: "s3cret", answers: []string{`{"verdict":"pending","summary":"scan queued","retryAfter":"10m"}`}}
	w := externalWorld(t, svc)

	w.cycle()
	pr := w.lastInto("env/staging")
	if pr.Number == 0 || pr.Merged {
		t.Fatalf("staging request: %+v; want one open, waiting for the scan", pr)
	}
	if got := w.statuses(pr.HeadSHA)["stagegate/image-scan"]; got != "pending" || svc.calls() != 1 || svc.badSigns != 0 {
		t.Fatalf("after one cycle: status %q, %d calls, %d bad signatures; want pending, 1, 0", got, svc.calls(), svc.badSigns)
	}
	sent := svc.bodies[0]
	if sent["promotionCommit"] != pr.HeadSHA || sent["pipeline"] != "shop" {
		t.Errorf("promotion context = %v; want the promotion commit %s of pipeline shop", sent, pr.HeadSHA)
	}
	if imgs, _ := json.Marshal(sent["images"]); string(imgs) != `["ghcr.io/acme/web:1.0.0"]` {
		t.Errorf("images = %s, want the rendered objects' one image", imgs)
	}

	// Before the service's retry time the agent does not ask again.
	w.cycle()
	if svc.calls() != 1 {
		t.Fatalf("%d calls after a second cycle inside the retry time, want 1", svc.calls())
	}

	// The service reports its verdict as a commit status on the promotion commit.
	if err := w.ctrl.Forge.SetStatus(context.Background(), pr.HeadSHA, gitsource.Status{
		Context: "stagegate/image-scan", State: gitsource.StatusSuccess, Description: "no critical CVEs in 1 image", Kind: gitsource.CommitStatus,
	}); err != nil {
		t.Fatal(err)
	}
	w.cycle()
	if !w.gh.PR(pr.Number).Merged {
		t.Fatalf("not merged after the scanner's success status; statuses %v", w.statuses(pr.HeadSHA))
	}
	if got := w.trailers("env/staging")["Stagegate-Gate"]; !slices.Contains(got, "image-scan=pass") {
		t.Errorf("Stagegate-Gate trailers = %q, want image-scan=pass", got)
	}
	if svc.calls() != 1 {
		t.Errorf("%d calls; the status was the verdict, want no further request", svc.calls())
	}
}

func TestExternalGateVerdictFromTheAnswer(t *testing.T) {
	svc := &scanner{t: t, key: "s3cret", answers: []string{
		`{"verdict":"pending","summary":"load test running","retryAfter":"30s"}`,
		`{"verdict":"pass","summary":"p99 212ms under 1000 rps"}`,
	}}
	w := externalWorld(t, svc)
	w.cycle()
	pr := w.lastInto("env/staging")
	if pr.Merged || svc.calls() != 1 {
		t.Fatalf("first cycle: merged %v, %d calls; want waiting after one call", pr.Merged, svc.calls())
	}
	w.now = time.Now().Add(time.Minute) // past the retry time
	w.ctrl.Now = func() time.Time { return w.now }
	w.cycle()
	if svc.calls() != 2 || !w.gh.PR(pr.Number).Merged {
		t.Fatalf("second cycle: %d calls, merged %v; want the second answer (pass) to merge it; statuses %v", svc.calls(), w.gh.PR(pr.Number).Merged, w.statuses(pr.HeadSHA))
	}
	if got := w.gh.PR(pr.Number).Body; !strings.Contains(got, "p99 212ms under 1000 rps") {
		t.Errorf("the request body lacks the service's summary:\n%s", got)
	}
}

func TestExternalGateWithAWrongKeyWaitsAndSaysSo(t *testing.T) {
	svc := &scanner{t: t, key: "s3cret", answers: []string{`{"verdict":"pass"}`}}
	w := externalWorld(t, svc)
	svc.key = "another key" // the service expects a different key than the agent signs with
	w.cycle()
	pr := w.lastInto("env/staging")
	if pr.Merged || svc.badSigns != 1 {
		t.Fatalf("merged %v, %d refused signatures; want not merged after the refusal", pr.Merged, svc.badSigns)
	}
	if got := w.statuses(pr.HeadSHA)["stagegate/image-scan"]; got != "pending" {
		t.Errorf("status after a 401 = %q, want pending (an agent-side problem never posts a verdict)", got)
	}
}

// A service that answers 202 and posts its verdict while the agent's cycle is still running:
// the agent does not overwrite it with its own pending, and the next cycle merges on it.
func TestExternalGateStatusPostedDuringTheCycleIsKept(t *testing.T) {
	svc := &scanner{t: t, key: "s3cret", answers: []string{"202"}}
	var w *world
	svc.onPost = func(body map[string]any) {
		sha, _ := body["promotionCommit"].(string)
		if err := w.ctrl.Forge.SetStatus(context.Background(), sha, gitsource.Status{
			Context: "stagegate/image-scan", State: gitsource.StatusSuccess, Description: "scanned at once", Kind: gitsource.CommitStatus,
		}); err != nil {
			t.Error(err)
		}
	}
	w = externalWorld(t, svc)
	w.cycle()
	pr := w.lastInto("env/staging")
	if got := w.statuses(pr.HeadSHA)["stagegate/image-scan"]; got != "success" {
		t.Fatalf("the service's success posted during the cycle became %q", got)
	}
	w.cycle()
	if !w.gh.PR(pr.Number).Merged {
		t.Fatalf("not merged on the service's success; statuses %v", w.statuses(pr.HeadSHA))
	}
}

// A service that passes the promotion with an error finding fails the gate; the agent's own
// failure status is not read back as the service's verdict: after a restart with the finding
// lowered to a warning, the agent asks again and the gate passes.
func TestExternalGateOwnStatusIsNotTheServicesVerdict(t *testing.T) {
	svc := &scanner{t: t, key: "s3cret", answers: []string{
		`{"verdict":"pass","summary":"1 image scanned","findings":[{"id":"unsigned","severity":"error","message":"image is not signed"}]}`,
	}}
	w := externalWorld(t, svc)
	w.cycle()
	pr := w.lastInto("env/staging")
	if got := w.statuses(pr.HeadSHA)["stagegate/image-scan"]; got != "failure" || pr.Merged {
		t.Fatalf("status %q, merged %v: want failure from the error finding", got, pr.Merged)
	}
	w.cycle()
	if got := w.gh.PR(pr.Number).Body; !strings.Contains(got, "image-scan/unsigned") || svc.calls() != 1 {
		t.Errorf("second cycle: %d calls; the body should still list the service's finding:\n%s", svc.calls(), got)
	}

	w.p.Spec.Environments[1].Gates.External[0].Severity = map[string]config.Severity{"image-scan/unsigned": config.SeverityWarning}
	w.ctrl = w.controller() // a restart with the new config
	w.cycle()
	if !w.gh.PR(pr.Number).Merged || svc.calls() != 2 {
		t.Fatalf("after lowering the finding: merged %v, %d calls; want the service asked again and the promotion merged; statuses %v",
			w.gh.PR(pr.Number).Merged, svc.calls(), w.statuses(pr.HeadSHA))
	}
}
