package controller

import (
	"time"

	"github.com/stagegate-dev/stagegate/drift"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// seen is what the controller remembers of its last cycle, deploys and drift scans for the
// status page. Like settled, it is memory only: a restarted agent shows it again after one cycle.
type seen struct {
	cycled    time.Time // when the last cycle ended; zero before the first
	cycleErr  string
	heads     gitsource.Heads
	requests  map[string]*gitsource.Request // the open promotion request per target environment
	deploys   map[string]DeployStatus
	driftScan map[string]DriftStatus
}

// PipelineStatus is one pipeline as the agent last saw it: the rows of the status page's matrix
// and of /api/v1/status.
type PipelineStatus struct {
	Name string `json:"name"`
	// LastCycle is when the pipeline's last cycle ended; absent before the first one.
	LastCycle time.Time `json:"lastCycle,omitzero"`
	// CycleError is what the last cycle failed with ("" when it succeeded).
	CycleError   string      `json:"cycleError,omitempty"`
	Environments []EnvStatus `json:"environments"`
}

// EnvStatus is one environment of a pipeline: a cell of the matrix.
type EnvStatus struct {
	Name   string `json:"name"`
	Branch string `json:"branch"`
	// SHA is the branch's head when the last cycle fetched it; CommitURL links it when the
	// repository is on a forge with commit pages.
	SHA       string `json:"sha,omitempty"`
	CommitURL string `json:"commitURL,omitempty"`
	// Promotion is the open promotion request into the environment, with its gates.
	Promotion *PromotionStatus `json:"promotion,omitempty"`
	Deploy    *DeployStatus    `json:"deploy,omitempty"`
	Drift     *DriftStatus     `json:"drift,omitempty"`
	// Paused says who paused automatic promotion into the environment, when and why.
	Paused string `json:"paused,omitempty"`
}

// PromotionStatus is a pending promotion: its request and the gates' last verdict on it.
type PromotionStatus struct {
	Request int    `json:"request"`
	URL     string `json:"url,omitempty"`
	// SHA is the promotion commit the gates judged.
	SHA     string        `json:"sha,omitempty"`
	Verdict gates.Outcome `json:"verdict,omitempty"`
	Gates   []GateStatus  `json:"gates"`
}

// GateStatus is one gate's outcome on a pending promotion.
type GateStatus struct {
	Gate    string        `json:"gate"`
	Outcome gates.Outcome `json:"outcome"`
	Summary string        `json:"summary,omitempty"`
}

// DeployStatus is the outcome of the agent's last apply of the environment.
type DeployStatus struct {
	SHA         string                `json:"sha"`
	State       gitsource.StatusState `json:"state"`
	Description string                `json:"description"`
	At          time.Time             `json:"at"`
}

// DriftState is what the last drift scan of an environment concluded.
type DriftState string

// Drift states.
const (
	DriftInSync  DriftState = "in-sync"
	DriftDrifted DriftState = "drifted"
	// DriftFailed: some objects could not be compared.
	DriftFailed DriftState = "failed"
	// DriftSkipped: the head was not applied yet, so nothing was compared.
	DriftSkipped DriftState = "skipped"
)

// DriftStatus is the last drift scan of an environment.
type DriftStatus struct {
	SHA       string        `json:"sha"`
	State     DriftState    `json:"state"`
	Summary   drift.Summary `json:"summary"`
	Corrected bool          `json:"corrected,omitempty"`
	Skipped   string        `json:"skipped,omitempty"`
	At        time.Time     `json:"at"`
}

// Cycled reports whether the controller has finished one cycle since it started: whether what
// Status shows has been read from Git and the forge yet.
func (c *Controller) Cycled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.seen.cycled.IsZero()
}

// Status is the pipeline as the controller last saw it. It does no I/O: everything comes from
// the controller's memory of its last cycle, deploys and drift scans.
func (c *Controller) Status() PipelineStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := PipelineStatus{Name: c.Pipeline.Metadata.Name, LastCycle: c.seen.cycled, CycleError: c.seen.cycleErr}
	for _, e := range c.Pipeline.Spec.Environments {
		es := EnvStatus{Name: e.Name, Branch: e.Branch, SHA: c.seen.heads[e.Branch]}
		if es.SHA != "" && c.CommitURL != nil {
			es.CommitURL = c.CommitURL(es.SHA)
		}
		if r := c.seen.requests[e.Name]; r != nil {
			pr := &PromotionStatus{Request: r.Number, URL: r.URL, Gates: []GateStatus{}}
			if rep, ok := c.reports[e.Name]; ok {
				pr.SHA, pr.Verdict = rep.Revision, rep.Verdict
				for _, res := range rep.Results {
					pr.Gates = append(pr.Gates, GateStatus{Gate: res.Gate, Outcome: res.Outcome, Summary: res.Summary})
				}
			}
			es.Promotion = pr
		}
		if d, ok := c.seen.deploys[e.Name]; ok {
			es.Deploy = &d
		}
		if d, ok := c.seen.driftScan[e.Name]; ok {
			es.Drift = &d
		}
		if p := c.paused[e.Name]; p != nil {
			es.Paused = pauseLine(e.Name, p)
		}
		ps.Environments = append(ps.Environments, es)
	}
	return ps
}

func (c *Controller) rememberCycle(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen.cycled, c.seen.cycleErr = c.now(), ""
	if err != nil {
		c.seen.cycleErr = err.Error()
	}
}

func (c *Controller) rememberHeads(heads gitsource.Heads) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen.heads = heads
}

// rememberRequest records the request a promotion's steps left open (none when nothing is to
// be promoted, or it merged).
func (c *Controller) rememberRequest(p *promotion) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen.requests == nil {
		c.seen.requests = map[string]*gitsource.Request{}
	}
	if p.request == nil || p.merged {
		delete(c.seen.requests, p.to.Name)
		return
	}
	r := *p.request
	c.seen.requests[p.to.Name] = &r
}

func (c *Controller) rememberDeploy(env, sha string, s gitsource.Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen.deploys == nil {
		c.seen.deploys = map[string]DeployStatus{}
	}
	c.seen.deploys[env] = DeployStatus{SHA: sha, State: s.State, Description: s.Description, At: c.now()}
}

func (c *Controller) rememberDrift(scan DriftScan) {
	sum := scan.Report.Summary()
	d := DriftStatus{SHA: scan.SHA, Summary: sum, Corrected: scan.Corrected != nil, Skipped: scan.Skipped, At: c.now()}
	switch {
	case scan.Skipped != "":
		d.State = DriftSkipped
	case sum.Drift() > 0:
		d.State = DriftDrifted
	case sum.Failed > 0:
		d.State = DriftFailed
	default:
		d.State = DriftInSync
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen.driftScan == nil {
		c.seen.driftScan = map[string]DriftStatus{}
	}
	c.seen.driftScan[scan.Env] = d
}
