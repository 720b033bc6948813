package controller

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/gitsource"
)

// Status is the agent's status: every pipeline as last seen, served as JSON at /api/v1/status
// and read by `stagegate status`.
type Status struct {
	// Ready is what /readyz says; Reason says why not ("" when ready).
	Ready     bool             `json:"ready"`
	Reason    string           `json:"reason,omitempty"`
	Generated time.Time        `json:"generated"`
	Pipelines []PipelineStatus `json:"pipelines"`
}

// StatusPage serves the agent's health and status: /healthz, /readyz, the HTML page at / and
// its JSON at /api/v1/status. Everything it shows is in the controllers' memory; a request
// costs no call to Git, the forge or a cluster.
type StatusPage struct {
	// Controllers are the agent's pipelines, in the config's order.
	Controllers []*Controller
	// Ready, when set, is asked after every pipeline has cycled once: leader election says
	// "standby" here. Nil: ready once warm.
	Ready func() (bool, string)
	// Now is the clock of the page's "generated" time. Default time.Now.
	Now func() time.Time
}

// Status gathers the agent's status.
func (s *StatusPage) Status() Status {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	st := Status{Generated: now().UTC(), Pipelines: []PipelineStatus{}}
	st.Ready, st.Reason = s.ready()
	for _, c := range s.Controllers {
		st.Pipelines = append(st.Pipelines, c.Status())
	}
	return st
}

// ready: the config is loaded (the controllers exist), every pipeline has finished a cycle (its
// mirror is fetched and its state read), and the hook agrees.
func (s *StatusPage) ready() (bool, string) {
	if len(s.Controllers) == 0 {
		return false, "no pipeline loaded from the config"
	}
	var cold []string
	for _, c := range s.Controllers {
		if !c.Cycled() {
			cold = append(cold, c.Pipeline.Metadata.Name)
		}
	}
	if len(cold) > 0 {
		return false, "waiting for the first cycle of " + strings.Join(cold, ", ")
	}
	if s.Ready != nil {
		return s.Ready()
	}
	return true, ""
}

// Healthz answers 200 while the process serves: liveness, nothing more.
func (s *StatusPage) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// Readyz answers 200 "ready" when ready, else 503 with the reason.
func (s *StatusPage) Readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ok, reason := s.ready()
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", reason)
		return
	}
	fmt.Fprintln(w, "ready")
}

// API serves the status as JSON.
func (s *StatusPage) API(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.Status())
}

// Page serves the status as an HTML page: one matrix of pipelines × environments. It loads
// nothing from elsewhere (inline CSS, no scripts), so it works behind any proxy and air gap.
func (s *StatusPage) Page(w http.ResponseWriter, r *http.Request) {
	st := s.Status()
	var envs []string // the columns: every environment name, in first-seen order
	for _, p := range st.Pipelines {
		for _, e := range p.Environments {
			if !slices.Contains(envs, e.Name) {
				envs = append(envs, e.Name)
			}
		}
	}
	type row struct {
		PipelineStatus
		Cells []*EnvStatus
	}
	var rows []row
	for _, p := range st.Pipelines {
		rw := row{PipelineStatus: p}
		for _, name := range envs {
			var cell *EnvStatus
			for i := range p.Environments {
				if p.Environments[i].Name == name {
					cell = &p.Environments[i]
				}
			}
			rw.Cells = append(rw.Cells, cell)
		}
		rows = append(rows, rw)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// No script or external resource may run on this page, whatever a name or summary holds.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if err := pageTemplate.Execute(w, map[string]any{"Status": st, "Envs": envs, "Rows": rows}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var pageTemplate = template.Must(template.New("status").Funcs(template.FuncMap{
	"short": gitsource.Short,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 MST")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stagegate status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
.meta { color: #59636e; margin-bottom: 1em; }
table.matrix { border-collapse: collapse; }
.matrix th, .matrix td { border: 1px solid #d1d9e0; padding: .5em .7em; vertical-align: top; text-align: left; }
.matrix thead th { background: #f6f8fa; }
.matrix th.pipeline { background: #f6f8fa; }
code { font: 12px ui-monospace, monospace; }
.gate { display: inline-block; border-radius: 3px; padding: 0 .4em; margin: 1px; font-size: 12px; color: #fff; }
.pass, .success, .in-sync { background: #1a7f37; }
.pending, .skipped { background: #9a6700; }
.fail, .failure, .error, .drifted, .failed { background: #cf222e; }
.badge { display: inline-block; border-radius: 3px; padding: 0 .4em; font-size: 12px; color: #fff; }
.paused { background: #6639ba; color: #fff; border-radius: 3px; padding: 0 .4em; font-size: 12px; }
.err { color: #cf222e; }
.ready { color: #1a7f37; } .notready { color: #cf222e; }
.line { margin: .15em 0; }
.muted { color: #59636e; font-weight: normal; }
</style>
</head>
<body>
<h1>stagegate</h1>
<div class="meta">
{{if .Status.Ready}}<span class="ready">ready</span>{{else}}<span class="notready">not ready: {{.Status.Reason}}</span>{{end}}
· generated {{when .Status.Generated}} · <a href="api/v1/status">JSON</a>
</div>
<table class="matrix" id="matrix">
<thead><tr><th>pipeline</th>{{range .Envs}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>
<th class="pipeline" scope="row">{{.Name}}<div class="muted">last cycle {{when .LastCycle}}</div>{{if .CycleError}}<div class="err">{{.CycleError}}</div>{{end}}</th>
{{range .Cells}}<td>{{if .}}
<div class="line"><code>{{.Branch}}</code> {{if .SHA}}{{if .CommitURL}}<a href="{{.CommitURL}}"><code>{{short .SHA}}</code></a>{{else}}<code>{{short .SHA}}</code>{{end}}{{else}}<span class="muted">not fetched</span>{{end}}</div>
{{if .Paused}}<div class="line"><span class="paused">paused</span> {{.Paused}}</div>{{end}}
{{with .Promotion}}<div class="line">promotion {{if .URL}}<a href="{{.URL}}">#{{.Request}}</a>{{else}}#{{.Request}}{{end}}{{if .SHA}} <code>{{short .SHA}}</code>{{end}}{{if .Verdict}} <span class="badge {{.Verdict}}">{{.Verdict}}</span>{{end}}</div>
<div class="line">{{range .Gates}}<span class="gate {{.Outcome}}" title="{{.Summary}}">{{.Gate}}: {{.Outcome}}</span> {{end}}</div>{{end}}
{{with .Deploy}}<div class="line">deploy <span class="badge {{.State}}">{{.State}}</span> <code>{{short .SHA}}</code> <span class="muted">{{when .At}}</span></div>{{end}}
{{with .Drift}}<div class="line">drift <span class="badge {{.State}}">{{.State}}</span>{{if .Corrected}} corrected{{end}} <span class="muted">{{.Summary.InSync}} in sync, {{.Summary.Drifted}} drifted, {{.Summary.Missing}} missing, {{.Summary.Extra}} extra · {{when .At}}</span></div>{{end}}
{{else}}<span class="muted">—</span>{{end}}</td>
{{end}}</tr>
{{end}}</tbody>
</table>
</body>
</html>
`))
