package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/probe"
	"github.com/stagegate-dev/stagegate/render"
)

// observedRefresh is how long the commit status of a gate that reports observed values (metrics,
// latencies) keeps its description while its state stays: the values change from one evaluation
// to the next, and GitHub keeps at most 1,000 statuses per commit and context. The PR's gate
// table and the merge's trailers always carry the values of the evaluation that decided.
const observedRefresh = 30 * time.Minute

// observation is a runtime fact kept between cycles, so the source is not asked more often than
// the gate's interval while a promotion waits.
type observation struct {
	key   string // what the fact is about: the source commit, or the promotion commit
	at    time.Time
	facts any
}

// observe gathers what the running source environment shows, for the runtime gates the target
// runs (metrics, http, health, external): it queries Prometheus, sends the synthetic requests,
// reads the workloads' health in the source's cluster and asks the external services. Nothing
// it cannot reach is an error of the cycle: the gate it was for waits, with the reason.
func (c *Controller) observe(ctx context.Context, p *promotion) error {
	g := p.to.Gates
	if g.Metrics == nil && g.HTTP == nil && g.Health == nil && len(g.External) == 0 {
		return nil
	}
	rt := &gates.RuntimeFacts{}
	p.runtime = rt
	now := c.now()
	opts := probe.Options{Resolve: c.Pipeline.Resolve, Getenv: c.getenv, Now: c.now}
	since := gates.RunningSince(&p.facts)
	if m := g.Metrics; m != nil && !since.IsZero() {
		window := m.WindowOr(soakOf(p.to))
		if !now.Before(since.Add(window)) {
			rt.Metrics = c.observeMetrics(ctx, p, *m, window, now, opts)
		}
	}
	if h := g.HTTP; h != nil && !since.IsZero() && !now.Before(since.Add(h.DelayOr())) {
		rt.HTTP = remembered(c, p.to.Name+"/http", p.plan.Source.SHA, now, h.IntervalOr(), func() (*gates.HTTPFacts, bool) {
			f := probe.HTTP(ctx, *h, opts)
			return f, ctx.Err() == nil // a round the cycle's deadline cut short is not kept
		})
	}
	if g.Health != nil {
		h, err := c.observeHealth(ctx, p)
		if err != nil {
			return err
		}
		rt.Health = h
	}
	if len(g.External) > 0 {
		ext, err := c.observeExternal(ctx, p, g.External, now, opts)
		if err != nil {
			return err
		}
		rt.External = ext
	}
	return nil
}

// observeMetrics runs the metrics gate's queries at now, or returns the answers of the last
// run for the same source commit while the gate's interval has not passed.
func (c *Controller) observeMetrics(ctx context.Context, p *promotion, m config.MetricsGate, window time.Duration, now time.Time, opts probe.Options) *gates.MetricsFacts {
	return remembered(c, p.to.Name+"/metrics", p.plan.Source.SHA, now, m.IntervalOrDefault(), func() (*gates.MetricsFacts, bool) {
		vars := probe.Vars{
			Pipeline: c.Pipeline.Metadata.Name, Env: p.from.Name, Target: p.to.Name,
			Namespace: m.Namespace, SHA: p.plan.Source.SHA, Window: probe.PromDuration(window),
		}
		if vars.Namespace == "" && usesNamespace(m) {
			objs, err := renderTree(ctx, c.Mirror, p.plan.Source.SHA, p.from)
			if err != nil { // Git or rendering trouble: wait and render again next cycle
				return &gates.MetricsFacts{At: now, Window: window, Err: &gates.ProbeError{Kind: gates.ProbeUnreachable,
					Message: fmt.Sprintf("rendering %s to find its namespace: %v", p.from.Name, err)}}, false
			}
			ns, err := onlyNamespace(objs, p.from.Name, p.to.Name)
			if err != nil { // only the config can settle which namespace
				return &gates.MetricsFacts{At: now, Window: window, Err: &gates.ProbeError{Kind: gates.ProbeRefused, Message: err.Error()}}, true
			}
			vars.Namespace = ns
		}
		f := probe.Metrics(ctx, m, vars, window, now, opts)
		return f, ctx.Err() == nil && !metricsFailed(f)
	})
}

// remembered returns the fact kept under name when it is about key and younger than interval,
// else what get returns, which it keeps when get says so (not a round cut short, not a failure
// worth asking again about at the next cycle).
func remembered[T any](c *Controller, name, key string, now time.Time, interval time.Duration, get func() (*T, bool)) *T {
	if o, ok := c.observation(name); ok && o.key == key && now.Sub(o.at) < interval && !now.Before(o.at) {
		if f, ok := o.facts.(*T); ok {
			return f
		}
	}
	f, keep := get()
	if keep {
		c.keep(name, &observation{key: key, at: now, facts: f})
	} else {
		c.keep(name, nil)
	}
	return f
}

// observation is the runtime fact kept under name.
func (c *Controller) observation(name string) (observation, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.observed[name]
	return o, ok
}

// keep keeps o under name; nil forgets what was kept.
func (c *Controller) keep(name string, o *observation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o == nil {
		delete(c.observed, name)
		return
	}
	if c.observed == nil {
		c.observed = map[string]observation{}
	}
	c.observed[name] = *o
}

// metricsFailed says whether any query went unanswered for a reason that may pass (Prometheus
// down, a timeout): those are asked again at the next cycle, not after the interval.
func metricsFailed(f *gates.MetricsFacts) bool {
	for _, q := range f.Queries {
		if q.Err != nil && q.Err.Kind != gates.ProbeRefused {
			return true
		}
	}
	return false
}

// usesNamespace says whether any of the gate's queries reads {{.Namespace}}.
func usesNamespace(m config.MetricsGate) bool {
	for _, q := range m.Queries {
		if strings.Contains(q.Query, ".Namespace") {
			return true
		}
	}
	return false
}

// onlyNamespace is the one namespace the source environment's rendering puts objects in.
func onlyNamespace(objs render.Objects, from, to string) (string, error) {
	var namespaces []string
	for _, o := range objs {
		if ns := o.Namespace(); ns != "" && !slices.Contains(namespaces, ns) {
			namespaces = append(namespaces, ns)
		}
	}
	switch len(namespaces) {
	case 1:
		return namespaces[0], nil
	case 0:
		return "", fmt.Errorf("the queries use {{.Namespace}} but %s renders no namespaced object; set gates.metrics.namespace on environment %s", from, to)
	}
	slices.Sort(namespaces)
	return "", fmt.Errorf("the queries use {{.Namespace}} but %s renders objects in %d namespaces (%s); set gates.metrics.namespace on environment %s to the one to watch",
		from, len(namespaces), strings.Join(namespaces, ", "), to)
}

// soakOf is the environment's soak duration (0 without a soak gate): the metrics gate's
// default window.
func soakOf(env config.Environment) time.Duration {
	if s := env.Gates.Soak; s != nil {
		return s.Duration.Duration
	}
	return 0
}

// observeHealth reads the kstatus of the source environment's applied objects in its cluster.
func (c *Controller) observeHealth(ctx context.Context, p *promotion) (*gates.HealthFacts, error) {
	facts := &gates.HealthFacts{Source: p.from.Name}
	if c.Clusters == nil || p.from.Cluster == nil {
		facts.Unreachable = "this agent has no access to " + p.from.Name + "'s cluster"
		return facts, nil
	}
	cluster, err := c.Clusters(ctx, p.from)
	if err != nil {
		facts.Unreachable = err.Error()
		return facts, nil
	}
	report, err := deploy.Health(ctx, cluster, c.applyOptions(p.from, "", false))
	var unreachable *deploy.UnreachableError
	switch {
	case errors.As(err, &unreachable):
		facts.Unreachable = err.Error()
		return facts, nil
	case err != nil:
		return nil, fmt.Errorf("reading the health of %s: %w", p.from.Name, err)
	}
	facts.Revision = report.Revision
	for _, o := range report.Objects {
		facts.Objects = append(facts.Objects, gates.ObjectHealth{
			Object:  gates.ObjectRef{APIVersion: o.Entry.APIVersion, Kind: o.Entry.Kind, Namespace: o.Entry.Namespace, Name: o.Entry.Name},
			Status:  gates.HealthStatus(o.Status),
			Message: o.Message,
		})
	}
	return facts, nil
}

// observeExternal asks each external gate's service about the promotion commit. The service
// answers the POST, or posts its verdict later as the commit status stagegate/<gate> on the
// promotion commit. The agent posts that context too (the gate's result, after overrides and
// waivers), so a terminal status counts as the service's verdict only when it is not the one
// this agent posted; after a restart, when the agent cannot tell, it asks the service first.
func (c *Controller) observeExternal(ctx context.Context, p *promotion, gs []config.ExternalGate, now time.Time, opts probe.Options) (map[string]*gates.ExternalFacts, error) {
	statuses, err := c.Forge.Statuses(ctx, p.sha)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*gates.ExternalFacts, len(gs))
	current := byContext(statuses)
	p.externalSeen = map[string]gitsource.Status{}
	for _, g := range gs {
		context := StatusContextPrefix + g.Name
		s, has := current[context]
		p.externalSeen[context] = s
		terminal := has && (s.State == gitsource.StatusSuccess || s.State == gitsource.StatusFailure)
		own, known := c.ownStatus(p.to.Name, context, p.sha)
		mine := known && own.State == s.State && own.Description == s.Description
		fromStatus := func() *gates.ExternalFacts {
			verdict := gates.Pass
			if s.State == gitsource.StatusFailure {
				verdict = gates.Fail
			}
			return &gates.ExternalFacts{Verdict: verdict, Summary: s.Description, From: "status"}
		}

		name := p.to.Name + "/external/" + g.Name
		last, cached := c.observation(name)
		f, _ := last.facts.(*gates.ExternalFacts)
		cached = cached && f != nil && last.key == p.sha
		switch {
		case terminal && !mine && (known || cached):
			// Not what this agent posted, and this agent has been asking about the commit:
			// the service posted its verdict since (a later one wins over an earlier answer).
			out[g.Name] = fromStatus()
			continue
		case cached && f.Err == nil && (f.Verdict == gates.Pass || f.Verdict == gates.Fail):
			out[g.Name] = f // the service answered: the status with it is the agent's relay
			continue
		case cached && now.Before(externalRetry(f, last.at)):
			out[g.Name] = f
			continue
		}
		f = probe.External(ctx, g, c.externalContext(p, g.Name), opts)
		if terminal && !known && !cached && (f.Err != nil || f.Verdict == gates.Pending) {
			// A restarted agent, a verdict on the commit and a service still deciding: the
			// status is the service's (the agent relays only what it answered, and it answers
			// the same for the same delivery).
			f = fromStatus()
		}
		c.keep(name, &observation{key: p.sha, at: now, facts: f})
		out[g.Name] = f
	}
	return out, nil
}

// ownStatus is the status this agent last posted under context on sha for the environment.
func (c *Controller) ownStatus(env, context, sha string) (gitsource.Status, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.posted[env+"\x00"+context]
	if !ok || s.sha != sha {
		return gitsource.Status{}, false
	}
	return s.Status, true
}

// rememberPosted records a status this agent posted for an external gate, so that reading it
// back is not taken for the service's verdict.
func (c *Controller) rememberPosted(env, sha string, s gitsource.Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.posted == nil {
		c.posted = map[string]postedStatus{}
	}
	c.posted[env+"\x00"+s.Context] = postedStatus{sha: sha, Status: s}
}

// postedStatus is a status the agent posted and the commit it posted it on.
type postedStatus struct {
	sha string
	gitsource.Status
}

// isExternal says whether context is the status of one of env's external gates.
func isExternal(env config.Environment, context string) bool {
	for _, g := range env.Gates.External {
		if context == StatusContextPrefix+g.Name {
			return true
		}
	}
	return false
}

// externalRetry is when to ask an external service again after it answered f at at: at its
// retry time, or a minute after an answer that named none.
func externalRetry(f *gates.ExternalFacts, at time.Time) time.Time {
	if !f.RetryAfter.IsZero() {
		return f.RetryAfter
	}
	return at.Add(time.Minute)
}

// byContext maps each context to its commit status on a commit (the forge lists the latest
// status of each context).
func byContext(statuses []gitsource.Status) map[string]gitsource.Status {
	out := map[string]gitsource.Status{}
	for _, s := range statuses {
		if s.Kind == gitsource.CommitStatus {
			out[s.Context] = s
		}
	}
	return out
}

// externalContext is the promotion context an external gate receives.
func (c *Controller) externalContext(p *promotion, gate string) probe.Promotion {
	pr := probe.Promotion{
		Gate: gate, Pipeline: c.Pipeline.Metadata.Name,
		Source:          probe.Ref{Environment: p.from.Name, Branch: p.from.Branch, SHA: p.plan.Source.SHA},
		Target:          probe.Ref{Environment: p.to.Name, Branch: p.to.Branch, SHA: p.plan.Target.SHA},
		PromotionCommit: p.sha, RenderedDigest: p.plan.ProposedDigest,
		Images: images(p.plan.Proposed),
	}
	if r := p.request; r != nil {
		pr.Request = &probe.Request{Number: r.Number, URL: r.URL}
	}
	return pr
}

// images lists the container images of the rendered objects' pod templates, sorted, each once.
func images(objs render.Objects) []string {
	out := []string{}
	for _, o := range objs {
		spec, path, ok := gates.PodSpec(o)
		if !ok {
			continue
		}
		for _, ct := range gates.Containers(spec, path) {
			if image, _ := ct.Map["image"].(string); image != "" && !slices.Contains(out, image) {
				out = append(out, image)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (c *Controller) getenv(name string) string {
	if c.Getenv == nil {
		return os.Getenv(name)
	}
	return c.Getenv(name)
}
