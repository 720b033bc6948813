package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/drift"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// agentStatus serves st at /api/v1/status the way the agent does.
func agentStatus(t *testing.T, st controller.Status) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestStatusPrintsTheAgentsMatrix(t *testing.T) {
	at := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	dev, staging, prod := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	url := agentStatus(t, controller.Status{Ready: true, Generated: at, Pipelines: []controller.PipelineStatus{{
		Name: "shop", LastCycle: at,
		Environments: []controller.EnvStatus{
			{Name: "dev", Branch: "env/dev", SHA: dev,
				Deploy: &controller.DeployStatus{SHA: dev, State: gitsource.StatusSuccess, At: at},
				Drift:  &controller.DriftStatus{SHA: dev, State: controller.DriftDrifted, Summary: drift.Summary{Drifted: 2, InSync: 5}, At: at}},
			{Name: "staging", Branch: "env/staging", SHA: staging},
			{Name: "prod", Branch: "env/prod", SHA: prod, Paused: "automatic promotion into prod is paused by alice",
				Promotion: &controller.PromotionStatus{Request: 7, Verdict: gates.Pending, Gates: []controller.GateStatus{
					{Gate: "schema", Outcome: gates.Pass}, {Gate: "approvals", Outcome: gates.Pending}}}},
		},
	}}})

	code, out, errs := stagegate(t, "status", "--url", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"agent: ready",
		"PIPELINE  ENV      HEAD     PROMOTION",
		"shop      dev      aaaaaaa  -",
		"success aaaaaaa  drifted (2 drifted, 0 missing, 0 extra, 0 failed, 5 in sync)",
		"shop      prod     ccccccc  paused; #7 pending  schema=pass,approvals=pending",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = stagegate(t, "status", "--url", url+"/", "-o", "json")
	var st controller.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Pipelines[0].Environments[2].Promotion.Request != 7 {
		t.Fatalf("-o json: exit %d, %q %s", code, out, errs)
	}
}

func TestStatusSaysWhenNoAgentAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	code, _, errs := stagegate(t, "status", "--url", addr)
	if code != 1 || !strings.Contains(errs, "no agent answers at "+addr) || !strings.Contains(errs, "--url") {
		t.Fatalf("exit %d, stderr %q; want 1 saying no agent answers and naming --url", code, errs)
	}

	notAgent := httptest.NewServer(http.NotFoundHandler())
	defer notAgent.Close()
	code, _, errs = stagegate(t, "status", "--url", notAgent.URL)
	if code != 1 || !strings.Contains(errs, "404") {
		t.Fatalf("exit %d, stderr %q; want 1 with the 404", code, errs)
	}
	if code, _, errs = stagegate(t, "status", "-o", "yaml"); code != 1 || !strings.Contains(errs, "want text or json") {
		t.Fatalf("-o yaml: exit %d, %q", code, errs)
	}
}
