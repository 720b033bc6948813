package controller_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// statusWorld is a world after two cycles: staging promoted and merged, prod's request open and
// waiting for its two approvals.
func statusWorld(t *testing.T) (*world, *controller.StatusPage) {
	t.Helper()
	w := newWorld(t)
	page := &controller.StatusPage{Controllers: []*controller.Controller{w.ctrl}}
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle()
	w.cycle()
	return w, page
}

func serve(t *testing.T, h http.HandlerFunc, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body), rec.Result().Header
}

func TestReadyzWaitsForEveryPipelinesFirstCycle(t *testing.T) {
	w := newWorld(t)
	page := &controller.StatusPage{Controllers: []*controller.Controller{w.ctrl}}
	if code, body, _ := serve(t, page.Readyz, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for the first cycle of shop") {
		t.Fatalf("before a cycle: /readyz = %d %q, want 503 naming the pipeline", code, body)
	}
	w.cycle()
	if code, body, _ := serve(t, page.Readyz, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("after a cycle: /readyz = %d %q, want 200 ready", code, body)
	}
	page.Ready = func() (bool, string) { return false, "standby: another agent leads" }
	if code, body, _ := serve(t, page.Readyz, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "standby") {
		t.Fatalf("with a hook saying standby: /readyz = %d %q, want 503 standby", code, body)
	}
	if code, body, _ := serve(t, (&controller.StatusPage{}).Readyz, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no pipeline") {
		t.Fatalf("no pipelines: /readyz = %d %q", code, body)
	}
	if code, body, _ := serve(t, page.Healthz, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
}

func TestStatusAPIShowsTheMatrix(t *testing.T) {
	w, page := statusWorld(t)
	code, body, hdr := serve(t, page.API, "/api/v1/status")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/api/v1/status = %d %s", code, hdr.Get("Content-Type"))
	}
	// The schema as a client reads it: unknown fields are refused, so a renamed key fails here.
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	var st controller.Status
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	if !st.Ready || len(st.Pipelines) != 1 || st.Pipelines[0].Name != "shop" || st.Pipelines[0].LastCycle.IsZero() || st.Pipelines[0].CycleError != "" {
		t.Fatalf("status = %+v; want one ready pipeline shop that cycled without error", st)
	}
	envs := st.Pipelines[0].Environments
	if len(envs) != 3 || envs[0].Name != "dev" || envs[1].Name != "staging" || envs[2].Name != "prod" {
		t.Fatalf("environments = %+v; want dev, staging, prod in order", envs)
	}
	for _, e := range envs {
		if want := w.git("rev-parse", e.Branch); e.SHA != want {
			t.Errorf("%s sha = %q, want %s's head %s", e.Name, e.SHA, e.Branch, want)
		}
	}
	if envs[1].Promotion != nil {
		t.Errorf("staging shows promotion %+v; its request merged", envs[1].Promotion)
	}
	prod := envs[2].Promotion
	if prod == nil || prod.Request != 2 || prod.URL == "" || prod.Verdict != gates.Pending || prod.SHA != w.git("rev-parse", controller.PromoteBranch("prod")) {
		t.Fatalf("prod promotion = %+v; want request #2 with its URL, pending, on the promotion branch's head", prod)
	}
	outcomes := map[string]gates.Outcome{}
	for _, g := range prod.Gates {
		outcomes[g.Gate] = g.Outcome
	}
	if outcomes["approvals"] != gates.Pending || outcomes["schema"] != gates.Pass {
		t.Errorf("prod gates = %+v; want approvals pending, schema pass", prod.Gates)
	}
	// Every key a client reads, by its JSON name.
	var raw map[string]any
	_ = json.Unmarshal([]byte(body), &raw)
	env := raw["pipelines"].([]any)[0].(map[string]any)["environments"].([]any)[2].(map[string]any)
	for _, key := range []string{"name", "branch", "sha", "promotion"} {
		if _, ok := env[key]; !ok {
			t.Errorf("prod's JSON lacks %q: %v", key, env)
		}
	}
	promo := env["promotion"].(map[string]any)
	for _, key := range []string{"request", "url", "sha", "verdict", "gates"} {
		if _, ok := promo[key]; !ok {
			t.Errorf("prod's promotion JSON lacks %q: %v", key, promo)
		}
	}
}

func TestStatusPageRendersTheMatrixAndEscapesNames(t *testing.T) {
	w, page := statusWorld(t)
	code, body, hdr := serve(t, page.Page, "/")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("/ = %d %s", code, hdr.Get("Content-Type"))
	}
	prURL := w.request(2).URL
	for _, want := range []string{
		`<table class="matrix" id="matrix">`,
		"<th>dev</th><th>staging</th><th>prod</th>",
		`<th class="pipeline" scope="row">shop`,
		`<a href="` + prURL + `">#2</a>`,
		`<span class="gate pending" title=`, ">approvals: pending</span>",
		">schema: pass</span>",
		"<code>" + w.git("rev-parse", "--short=7", "env/prod") + "</code>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	for _, external := range []string{"<script", "<link", "src=\"http", "@import"} {
		if strings.Contains(body, external) {
			t.Errorf("page loads something from elsewhere (%q)", external)
		}
	}

	// A name is data, never markup.
	evil := newWorld(t)
	evil.p.Metadata.Name = `<script>alert(1)</script>`
	evil.ctrl = evil.controller()
	evil.cycle()
	_, body, _ = serve(t, (&controller.StatusPage{Controllers: []*controller.Controller{evil.ctrl}}).Page, "/")
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the pipeline name is not escaped:\n%s", body)
	}
}

// On a real API server: the status shows the last deploy and the last drift scan of an
// environment with a cluster.
func TestStatusShowsTheLastDeployAndDriftScan(t *testing.T) {
	k := newDriftWorld(t)
	k.patch("dev", "Deployment", "web", `{"spec":{"replicas":5}}`)
	k.drift("dev")
	head := k.git("rev-parse", "env/dev")

	dev := k.ctrl.Status().Environments[0]
	if dev.Deploy == nil || dev.Deploy.SHA != head || dev.Deploy.State != gitsource.StatusSuccess || dev.Deploy.At.IsZero() {
		t.Errorf("dev deploy = %+v; want a success on %s", dev.Deploy, head)
	}
	if dev.Drift == nil || dev.Drift.SHA != head || dev.Drift.State != controller.DriftDrifted || dev.Drift.Summary.Drifted != 1 {
		t.Errorf("dev drift = %+v; want one object drifted on %s", dev.Drift, head)
	}
	_, body, _ := serve(t, (&controller.StatusPage{Controllers: []*controller.Controller{k.ctrl}}).Page, "/")
	for _, want := range []string{`deploy <span class="badge success">success</span>`, `drift <span class="badge drifted">drifted</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}
