package controller_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/github"
	"github.com/stagegate-dev/stagegate/gitsource/githubtest"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
	"github.com/stagegate-dev/stagegate/gitsource/local"
)

const (
	baseKust = "resources: [cm.yaml, deploy.yaml]\n"
	cm       = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {color: %s}\n"
	deploy   = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/acme/web:1.0.0
`
)

func overlay(env string) string {
	return "namespace: shop-" + env + "\nresources: [../../base]\n"
}

// world is a repository holding env/dev, env/staging and env/prod with one shared root, and a
// controller for a pipeline dev → staging (auto) → prod (auto, two approvals), on a forge: the
// GitHub emulator (newWorld), or the local forge on the same repository served over smart HTTP
// (newWorldOn(t, config.ForgeLocal)). Tests that use the emulator's own features (w.gh) run on
// GitHub only; the rest read the forge through w.request, w.requests and w.approve, and run on
// every forge with forEachForge.
type world struct {
	t    testing.TB
	gh   *githubtest.Server // nil on the local forge
	repo string             // the bare repository
	ctrl *controller.Controller
	p    config.Pipeline
	now  time.Time // the gates' clock; zero: the real one
}

var devFiles = map[string]string{
	"base/kustomization.yaml": baseKust, "base/cm.yaml": strings.Replace(cm, "%s", "blue", 1), "base/deploy.yaml": deploy,
	"overlays/dev/kustomization.yaml": overlay("dev"), "overlays/staging/kustomization.yaml": overlay("staging"), "overlays/prod/kustomization.yaml": overlay("prod"),
}

func newWorld(t testing.TB) *world { return newWorldOn(t, config.ForgeGitHub) }

func newWorldOn(t testing.TB, forge config.ForgeType) *world {
	t.Helper()
	w := &world{t: t}
	repo := config.Repo{}
	switch forge {
	case config.ForgeGitHub:
		w.gh = githubtest.New(t, githubtest.Options{Owner: "acme", Repo: "shop", Branches: map[string]map[string]string{"env/dev": devFiles}})
		w.repo = w.gh.Repo()
		repo = config.Repo{URL: w.gh.GitURL(), TokenEnv: "GH_TOKEN"}
	case config.ForgeLocal:
		w.repo = gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": devFiles})
		url, _ := gitsourcetest.NewHTTPServer(t, filepath.Dir(w.repo), "", "")
		repo = config.Repo{URL: url + "/" + filepath.Base(w.repo)}
	default:
		t.Fatalf("no world for forge %q", forge)
	}
	gitsourcetest.Branch(t, w.repo, "env/staging", "env/dev")
	gitsourcetest.Branch(t, w.repo, "env/prod", "env/dev")

	w.p = config.Pipeline{
		Metadata: config.Metadata{Name: "shop"},
		Spec: config.Spec{
			Repo:  repo,
			Forge: config.Forge{Type: forge},
			Environments: []config.Environment{
				{Name: "dev", Branch: "env/dev", Path: "overlays/dev"},
				{Name: "staging", Branch: "env/staging", Path: "overlays/staging", Promote: &config.Promote{Auto: true}, Gates: config.Gates{Schema: &config.SchemaGate{}}},
				{Name: "prod", Branch: "env/prod", Path: "overlays/prod", Promote: &config.Promote{Auto: true, Approvals: 2}, Gates: config.Gates{Schema: &config.SchemaGate{}}},
			},
		},
	}
	w.ctrl = w.controller()
	return w
}

// forEachForge runs test as a subtest on a new world of every forge.
func forEachForge(t *testing.T, test func(t *testing.T, w *world)) {
	for _, forge := range []config.ForgeType{config.ForgeGitHub, config.ForgeLocal} {
		t.Run(string(forge), func(t *testing.T) { test(t, newWorldOn(t, forge)) })
	}
}

// mirror opens a mirror of the world's repository in a cache of its own.
func (w *world) mirror() *gitsource.Mirror {
	w.t.Helper()
	getenv := func(string) string { return "" }
	if w.gh != nil {
		getenv = func(string) string { return w.gh.GitPassword() }
	}
	m, err := gitsource.Open(context.Background(), w.p.Spec.Repo, gitsource.Options{CacheDir: w.t.TempDir(), Getenv: getenv, Log: quiet})
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

// forge makes a forge client: the agent's, or (on the local forge) one acting as actor.
func (w *world) forge(m *gitsource.Mirror, actor string) controller.Forge {
	w.t.Helper()
	if w.gh == nil {
		return local.New(m, local.Options{Actor: actor, Log: quiet})
	}
	f, err := github.New(context.Background(), github.Options{Repo: "acme/shop", BaseURL: w.gh.URL(), Auth: github.Auth{Token: github.Secret(githubtest.DefaultToken)}, Logger: quiet})
	if err != nil {
		w.t.Fatal(err)
	}
	return f
}

// controller makes a fresh controller, as a restarted agent would.
func (w *world) controller() *controller.Controller {
	w.t.Helper()
	m := w.mirror()
	sets, err := gates.ForPipeline(w.p)
	if err != nil {
		w.t.Fatal(err)
	}
	clock := func() time.Time {
		if w.now.IsZero() {
			return time.Now()
		}
		return w.now
	}
	return &controller.Controller{Pipeline: w.p, Mirror: m, Forge: w.forge(m, local.DefaultActor), Gates: sets, Log: quiet, ConfigFile: "stagegate.yaml", Now: clock}
}

// request reads request n from the forge.
func (w *world) request(n int) gitsource.Request {
	w.t.Helper()
	r, err := w.ctrl.Forge.Request(context.Background(), n)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// requests counts the requests into base, in any state.
func (w *world) requests(base string) int {
	w.t.Helper()
	var n int
	for _, env := range w.p.Spec.Environments[1:] {
		if base != "" && env.Branch != base {
			continue
		}
		rs, err := w.ctrl.Forge.Requests(context.Background(), controller.PromoteBranch(env.Name), env.Branch, gitsource.RequestAll)
		if err != nil {
			w.t.Fatal(err)
		}
		n += len(rs)
	}
	return n
}

// approve has user review request n: on GitHub through the emulator, on the local forge as
// stagegate approve does, through a mirror of the user's own.
func (w *world) review(n int, user string, state gitsource.ReviewState) {
	w.t.Helper()
	if w.gh != nil {
		w.gh.AddReview(n, user, string(state))
		return
	}
	if _, err := w.forge(w.mirror(), user).(*local.Forge).Review(context.Background(), n, state, ""); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) cycle() {
	w.t.Helper()
	if err := w.ctrl.Cycle(context.Background()); err != nil {
		w.t.Fatalf("cycle: %v", err)
	}
}

func (w *world) git(args ...string) string {
	return strings.TrimSpace(gitsourcetest.Git(w.t, w.repo, args...))
}

func TestPromotionFlowsFromDevToProd(t *testing.T) {
	w := newWorld(t)
	// prod freezes from Friday 16:00 to Monday 08:00, Berlin time.
	w.p.Spec.Environments[2].Gates.Window = &config.WindowGate{Deny: []config.Window{{
		Schedule: "0 16 * * FRI", Duration: config.Duration{Duration: 64 * time.Hour}, TimeZone: "Europe/Berlin"}}}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	w.now = time.Date(2026, 11, 27, 17, 0, 0, 0, berlin) // a Friday evening
	w.ctrl = w.controller()
	src := gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")

	// Cycle 1: staging's request is opened with the rendered diff, gated and merged.
	w.cycle()
	staging := w.gh.PR(1)
	if staging.Title != "Promote "+src[:7]+" to staging" || staging.Base != "env/staging" || staging.Head != "stagegate/promote/staging" {
		t.Fatalf("request #1 = %q %s ← %s; want the staging promotion", staging.Title, staging.Base, staging.Head)
	}
	for _, want := range []string{"-  color: blue\n+  color: green", "web: green", "| schema | ✅ pass |"} {
		if !strings.Contains(staging.Body, want) {
			t.Errorf("request #1 body lacks %q:\n%s", want, staging.Body)
		}
	}
	if !staging.Merged {
		t.Fatalf("request #1 was not merged although staging promotes automatically and every gate passed")
	}
	msg := w.git("log", "-1", "--format=%B", "env/staging")
	for _, want := range []string{"Stagegate-Source: env/dev@" + src, "Stagegate-Gate: schema=pass", "Stagegate-Gate: lineage=pass", "Stagegate-Request: #1", "Stagegate-Rendered: sha256:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("staging's merge commit lacks trailer %q:\n%s", want, msg)
		}
	}
	if w.gh.PRs() != 1 {
		t.Fatalf("%d requests after cycle 1, want 1 (prod's source had not moved yet)", w.gh.PRs())
	}

	// Cycle 2: prod's request is opened and waits for two approvals.
	w.cycle()
	if w.gh.PRs() != 2 {
		t.Fatalf("%d requests after cycle 2, want 2", w.gh.PRs())
	}
	prod := w.gh.PR(2)
	if prod.Merged || prod.Base != "env/prod" {
		t.Fatalf("request #2 merged=%v base=%s; want prod's, open, waiting for approvals", prod.Merged, prod.Base)
	}

	// A restarted agent finds the same request and opens no other.
	w.ctrl = w.controller()
	w.cycle()
	if w.gh.PRs() != 2 {
		t.Fatalf("a restarted agent made %d requests, want still 2", w.gh.PRs())
	}

	// Approvals arrive during the freeze: the window holds the merge until Monday.
	w.gh.AddReview(2, "alice", "APPROVED")
	w.gh.AddReview(2, "bob", "APPROVED")
	w.cycle()
	if w.gh.PR(2).Merged {
		t.Fatal("request #2 merged inside the Friday-to-Monday freeze")
	}
	if s := w.statuses(w.gh.PR(2).HeadSHA); s["stagegate/window"] != "pending" || s["stagegate/approvals"] != "success" {
		t.Fatalf("statuses during the freeze = %v; want window pending, approvals success", s)
	}
	w.now = time.Date(2026, 11, 30, 8, 30, 0, 0, berlin) // Monday morning: the window is open
	w.cycle()
	if !w.gh.PR(2).Merged {
		t.Fatalf("request #2 not merged after two approvals with the window open")
	}
	msg = w.git("log", "-1", "--format=%B", "env/prod")
	for _, want := range []string{"Stagegate-Approved-By: alice", "Stagegate-Approved-By: bob", "Stagegate-Gate: approvals=pass", "Stagegate-Gate: window=pass", "Stagegate-Request: #2"} {
		if !strings.Contains(msg, want) {
			t.Errorf("prod's merge commit lacks trailer %q:\n%s", want, msg)
		}
	}
	if got, want := w.git("rev-parse", "env/prod^{tree}"), w.git("rev-parse", src+"^{tree}"); got != want {
		t.Errorf("prod's tree %s is not the promoted source's tree %s", got, want)
	}

	// Nothing left to do: a cycle writes nothing to GitHub and reads at most once per target
	// environment, conditionally (a 304 costs no rate limit).
	w.cycle()
	w.gh.ResetLog()
	w.cycle()
	reqs := w.gh.Requests()
	for _, r := range reqs {
		if r.Method != "GET" || !r.Conditional || r.Status != 304 {
			t.Errorf("an idle cycle made a request other than a conditional read: %s", r)
		}
	}
	if len(reqs) > 2 {
		t.Errorf("an idle cycle made %d requests, want at most one per target environment (2):\n%v", len(reqs), reqs)
	}
}

// The main flow, on every forge through the one Forge interface: what a user sees is the same.
func TestPromotionFlowsOnEveryForge(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		src := gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")

		// Cycle 1: staging's request is opened with the rendered diff, gated and merged.
		w.cycle()
		staging := w.request(1)
		if staging.Title != "Promote "+src[:7]+" to staging" || staging.Base != "env/staging" || staging.Head != "stagegate/promote/staging" {
			t.Fatalf("request #1 = %q %s ← %s; want the staging promotion", staging.Title, staging.Base, staging.Head)
		}
		for _, want := range []string{"-  color: blue\n+  color: green", "web: green", "| schema | ✅ pass |"} {
			if !strings.Contains(staging.Body, want) {
				t.Errorf("request #1 body lacks %q:\n%s", want, staging.Body)
			}
		}
		if !staging.Merged || staging.MergeSHA != w.git("rev-parse", "env/staging") {
			t.Fatalf("request #1 merged=%v at %s; want merged, at staging's head", staging.Merged, staging.MergeSHA)
		}
		if s := w.statuses(staging.HeadSHA); s["stagegate/schema"] != "success" || s["stagegate"] != "success" {
			t.Errorf("statuses on the staging promotion = %v; want schema and overall success", s)
		}
		msg := w.git("log", "-1", "--format=%B", "env/staging")
		for _, want := range []string{"Stagegate-Source: env/dev@" + src, "Stagegate-Gate: schema=pass", "Stagegate-Request: #1", "Stagegate-Rendered: sha256:"} {
			if !strings.Contains(msg, want) {
				t.Errorf("staging's merge commit lacks trailer %q:\n%s", want, msg)
			}
		}

		// Cycle 2: prod's request is opened and waits for two approvals; a restarted agent
		// finds it and opens no other.
		w.cycle()
		w.ctrl = w.controller()
		w.cycle()
		if n := w.requests(""); n != 2 {
			t.Fatalf("%d requests after prod's was opened and the agent restarted, want 2", n)
		}
		prod := w.request(2)
		if prod.Merged || prod.Base != "env/prod" {
			t.Fatalf("request #2 merged=%v base=%s; want prod's, open, waiting for approvals", prod.Merged, prod.Base)
		}
		if s := w.statuses(prod.HeadSHA); s["stagegate/approvals"] != "pending" {
			t.Errorf("approvals = %q before any review, want pending", s["stagegate/approvals"])
		}

		w.review(2, "alice", gitsource.Approved)
		w.cycle()
		if w.request(2).Merged {
			t.Fatal("request #2 merged on one approval of two")
		}
		w.review(2, "bob", gitsource.Approved)
		w.cycle()
		if !w.request(2).Merged {
			t.Fatalf("request #2 not merged after two approvals: %v", w.statuses(w.request(2).HeadSHA))
		}
		msg = w.git("log", "-1", "--format=%B", "env/prod")
		for _, want := range []string{"Stagegate-Approved-By: alice", "Stagegate-Approved-By: bob", "Stagegate-Gate: approvals=pass", "Stagegate-Request: #2"} {
			if !strings.Contains(msg, want) {
				t.Errorf("prod's merge commit lacks trailer %q:\n%s", want, msg)
			}
		}
		if got, want := w.git("rev-parse", "env/prod^{tree}"), w.git("rev-parse", src+"^{tree}"); got != want {
			t.Errorf("prod's tree %s is not the promoted source's tree %s", got, want)
		}

		// Nothing left to do: an idle cycle moves no branch and (on the local forge) writes no
		// record.
		w.cycle()
		before := w.git("for-each-ref")
		w.cycle()
		if after := w.git("for-each-ref"); after != before {
			t.Errorf("an idle cycle moved refs:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

func TestSourceMovingOnUpdatesTheRequestAndVoidsOldApprovals(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		// staging merges by itself once one approval counts: an old approval counted by mistake
		// would show as a merge.
		w.p.Spec.Environments[1].Promote = &config.Promote{Auto: true, Approvals: 1}
		w.ctrl = w.controller()
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		w.cycle()
		before := w.request(1)
		w.review(1, "alice", gitsource.Approved)

		second := gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "red", 1)}, "web: red")
		w.cycle()
		after := w.request(1)
		if w.requests("") != 1 {
			t.Fatalf("%d requests; a newer source commit must update the one request, not open another", w.requests(""))
		}
		if after.HeadSHA == before.HeadSHA || after.Title != "Promote "+second[:7]+" to staging" || !strings.Contains(after.Body, "+  color: red") {
			t.Errorf("request after the source moved: head %s (was %s), title %q; want a new promotion commit for %s", after.HeadSHA, before.HeadSHA, after.Title, second[:7])
		}
		if after.Merged {
			t.Fatal("merged: alice approved the old promotion commit, which must not count")
		}
		statuses := w.statuses(after.HeadSHA)
		if statuses["stagegate/approvals"] != "pending" || statuses["stagegate"] != "pending" {
			t.Errorf("statuses on the new head = %v; want approvals and the overall status pending", statuses)
		}
	})
}

func TestARequestClosedByAPersonIsNotReopenedForTheSameSource(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		w.p.Spec.Environments[1].Promote = &config.Promote{} // staging: a person merges
		w.ctrl = w.controller()
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		w.cycle()
		w.closeRequest(1)
		w.cycle()
		if w.requests("") != 1 {
			t.Fatalf("%d requests: the closed request was reopened for the same source commit", w.requests(""))
		}
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "red", 1)}, "web: red")
		w.cycle()
		if w.requests("") != 2 || w.request(2).State != "open" {
			t.Fatalf("a new source commit after a closed request: %d requests; want a new open one", w.requests(""))
		}
	})
}

func TestAFailingGateBlocksTheMerge(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/deploy.yaml": strings.Replace(deploy, "replicas: 2", "replicas: 2\n  replicaz: 3", 1)}, "typo")
		w.cycle()
		pr := w.request(1)
		if pr.Merged {
			t.Fatal("merged although the schema gate fails")
		}
		statuses := w.statuses(pr.HeadSHA)
		if statuses["stagegate/schema"] != "failure" || statuses["stagegate"] != "failure" {
			t.Errorf("statuses = %v; want schema and the overall status failing", statuses)
		}
		if !strings.Contains(pr.Body, "replicaz") {
			t.Errorf("the body does not show the finding:\n%s", pr.Body)
		}
	})
}

func TestAPushRacingTheMergeIsHandled(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		// Between gating and merging, someone pushes to the promotion branch: GitHub answers 409.
		w.ctrl.Forge = &racer{Forge: w.ctrl.Forge, before: func() {
			gitsourcetest.Commit(t, w.repo, "stagegate/promote/staging", map[string]string{"sneaky.txt": "x"}, "sneaky")
		}}
		w.cycle() // the 409 is not an error: the next cycle re-plans
		if w.request(1).Merged {
			t.Fatal("merged a head that was not gated")
		}
		w.ctrl.Forge = w.ctrl.Forge.(*racer).Forge
		w.cycle()
		if !w.request(1).Merged {
			t.Fatal("the next cycle did not gate and merge the promotion")
		}
		if out := w.git("ls-tree", "-r", "--name-only", "env/staging"); strings.Contains(out, "sneaky.txt") {
			t.Errorf("the ungated commit reached staging:\n%s", out)
		}
	})
}

func TestGitHubFailuresAreRetriedWithNothingLostOrDoubled(t *testing.T) {
	w := newWorld(t)
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.gh.FailNext(2, 503, "GET /repos/acme/shop/pulls")
	w.gh.SecondaryLimit(1, time.Second, 403)
	// The request is created but the answer is lost: the forge must find it, not open another.
	w.gh.FailNextAfter(1, 502, "POST /repos/acme/shop/pulls")
	w.cycle()
	if w.gh.PRs() != 1 || !w.gh.PR(1).Merged {
		t.Fatalf("%d requests, merged=%v; want exactly one, merged", w.gh.PRs(), w.gh.PRs() > 0 && w.gh.PR(1).Merged)
	}
}

// racer runs before ahead of the first Merge, to stage a race.
type racer struct {
	controller.Forge
	before func()
	done   bool
}

func (r *racer) Merge(ctx context.Context, number int, opts gitsource.MergeOptions) (string, error) {
	if !r.done {
		r.done = true
		r.before()
	}
	return r.Forge.Merge(ctx, number, opts)
}

func (w *world) statuses(sha string) map[string]string {
	w.t.Helper()
	got, err := w.ctrl.Forge.Statuses(context.Background(), sha)
	if err != nil {
		w.t.Fatal(err)
	}
	m := map[string]string{}
	for _, s := range got {
		m[s.Context] = string(s.State)
	}
	return m
}

func (w *world) closeRequest(n int) {
	w.t.Helper()
	if err := w.ctrl.Forge.CloseRequest(context.Background(), n, ""); err != nil {
		w.t.Fatal(err)
	}
}

func TestASettledRequestCostsOneConditionalReadPerCycle(t *testing.T) {
	w := newWorld(t)
	w.p.Spec.Environments[1].Promote = &config.Promote{Approvals: 1} // staging: one approval, a person merges
	w.ctrl = w.controller()
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle()
	w.gh.AddReview(1, "alice", "APPROVED")
	w.cycle()
	w.cycle()
	w.gh.ResetLog()
	w.cycle()
	reqs := w.gh.Requests()
	for _, r := range reqs {
		if r.Method != "GET" || r.Status != 304 {
			t.Errorf("a settled cycle made %s", r)
		}
	}
	// staging: the request list and its reviews (the approvals gate reads them); prod: the list.
	if len(reqs) != 3 {
		t.Errorf("a settled cycle made %d requests, want 3: %v", len(reqs), reqs)
	}
	if s := w.statuses(w.gh.PR(1).HeadSHA); s["stagegate/approvals"] != "success" {
		t.Fatalf("approvals status %q before the change request, want success", s["stagegate/approvals"])
	}

	// A later change request is seen at once: the gate goes back to pending.
	w.gh.AddReview(1, "bob", "CHANGES_REQUESTED")
	w.cycle()
	if s := w.statuses(w.gh.PR(1).HeadSHA); s["stagegate/approvals"] != "pending" {
		t.Errorf("approvals status %q after bob requested changes, want pending", s["stagegate/approvals"])
	}
}

func TestAPersonsMergeCarriesTheTrailersOfTheBody(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		w.p.Spec.Environments[1].Promote = &config.Promote{Approvals: 1} // staging: a person merges
		w.ctrl = w.controller()
		src := gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		w.cycle()
		w.review(1, "alice", gitsource.Approved)
		w.cycle()
		pr := w.request(1)
		if pr.Merged {
			t.Fatal("the agent merged although staging does not promote automatically")
		}
		// The person merges as GitHub does when the repository's merge commits take the request's
		// title and description.
		if _, err := w.ctrl.Forge.Merge(context.Background(), 1, gitsource.MergeOptions{SHA: pr.HeadSHA, Method: "merge", Title: pr.Title, Message: pr.Body}); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, tr := range gitsource.Trailers(w.git("log", "-1", "--format=%B", "env/staging")) {
			got[tr.Key] = append(got[tr.Key], tr.Value)
		}
		want := map[string][]string{
			"Stagegate-Source":      {"env/dev@" + src},
			"Stagegate-Approved-By": {"alice"},
			"Stagegate-Request":     {"#1"},
		}
		for k, v := range want {
			if strings.Join(got[k], ",") != strings.Join(v, ",") {
				t.Errorf("trailer %s = %v, want %v (all: %v)", k, got[k], v, got)
			}
		}
		if !slices.Contains(got["Stagegate-Gate"], "approvals=pass") || len(got["Stagegate-Rendered"]) != 1 {
			t.Errorf("gate verdicts or rendered digest missing from the merge commit: %v", got)
		}
	})
}

func TestTwoAgentsRacingOpenOneRequestAndMergeOnce(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		a, b := w.controller(), w.controller() // two agents, each with its own mirror
		src := gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		for range 3 {
			errs := make(chan error, 2)
			for _, c := range []*controller.Controller{a, b} {
				go func() { errs <- c.Cycle(context.Background()) }()
			}
			// A racing agent may fail safely (a lease lost, a request merged under it); the next
			// cycle re-plans. What matters is what GitHub and Git end up with.
			<-errs
			<-errs
		}
		if n := w.requests(""); n < 1 || w.request(1).Base != "env/staging" || !w.request(1).Merged {
			t.Fatalf("%d requests; want staging's first one merged", n)
		}
		if staging := w.requests("env/staging"); staging != 1 {
			t.Errorf("%d requests into staging, want exactly 1", staging)
		}
		if merges := w.git("rev-list", "--count", "--merges", "env/staging"); merges != "1" {
			t.Errorf("%s merges on staging, want 1", merges)
		}
		if got, want := w.git("rev-parse", "env/staging^{tree}"), w.git("rev-parse", src+"^{tree}"); got != want {
			t.Errorf("staging's tree is not the source's")
		}
		// Settled: both agents cycle without error.
		for _, c := range []*controller.Controller{a, b} {
			if err := c.Cycle(context.Background()); err != nil {
				t.Errorf("a cycle after the race: %v", err)
			}
		}
	})
}

func TestAnAgentKilledMidCycleLeavesNoDuplicates(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		// The agent dies after pushing the promotion branch, as it opens the request.
		ctx, kill := context.WithCancel(context.Background())
		w.ctrl.Forge = &killer{Forge: w.ctrl.Forge, kill: kill}
		if err := w.ctrl.Cycle(ctx); err == nil {
			t.Fatal("the killed cycle reported no error")
		}
		if w.requests("") != 0 {
			t.Fatalf("%d requests after the kill, want 0 (it died before opening one)", w.requests(""))
		}
		if w.git("rev-parse", "--verify", "-q", "stagegate/promote/staging") == "" {
			t.Fatal("the promotion branch was not pushed before the kill")
		}
		// Restarted, it picks up where it was: same promotion commit, one request, one merge.
		w.ctrl = w.controller()
		w.cycle()
		w.cycle()
		if n := w.requests("env/staging"); n != 1 || !w.request(1).Merged {
			t.Fatalf("after the restart: %d requests into staging; want one, merged", n)
		}
	})
}

func (w *world) lastInto(base string) githubtest.PR {
	for i := w.gh.PRs(); i >= 1; i-- {
		if pr := w.gh.PR(i); pr.Base == base {
			return pr
		}
	}
	return githubtest.PR{}
}

func (w *world) requestsInto(base string) int {
	n := 0
	for i := 1; i <= w.gh.PRs(); i++ {
		if w.gh.PR(i).Base == base {
			n++
		}
	}
	return n
}

// killer cancels the agent's context when it is about to open a request.
type killer struct {
	controller.Forge
	kill context.CancelFunc
}

func (k *killer) OpenRequest(ctx context.Context, r gitsource.NewRequest) (gitsource.Request, error) {
	k.kill()
	return k.Forge.OpenRequest(ctx, r)
}

func TestTheAgentsOwnCloseDoesNotBlockALaterPromotion(t *testing.T) {
	w := newWorld(t)
	w.p.Spec.Environments[1].Promote = &config.Promote{} // staging: a person merges
	w.ctrl = w.controller()
	green := map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}
	blue := map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "blue", 1)}
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", green, "web: green")
	w.cycle()
	// Someone applies the same change to staging by hand: nothing left to promote, the agent closes.
	gitsourcetest.Commit(t, w.gh.Repo(), "env/staging", green, "hand-applied green")
	w.cycle()
	if w.gh.PR(1).State != "closed" {
		t.Fatal("request #1 not closed when nothing was left to promote")
	}
	// Then rolls it back: the same source is promotable again and gets a new request.
	gitsourcetest.Commit(t, w.gh.Repo(), "env/staging", blue, "roll back")
	w.cycle()
	if n := w.requestsInto("env/staging"); n != 2 || w.lastInto("env/staging").State != "open" {
		t.Fatalf("%d requests into staging; want a second, open one: the agent's own close must not block the source", n)
	}
}

func TestAuthorsOfCarriedCommitsCannotApprove(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		w.cycle() // staging merged
		w.cycle() // prod opened
		// The dev commit's author approves the prod promotion, which carries that commit.
		w.review(2, gitsourcetest.AuthorName, gitsource.Approved)
		w.review(2, "bob", gitsource.Approved)
		w.cycle()
		if w.request(2).Merged {
			t.Fatal("merged with the change's own author counted as one of two approvals")
		}
		if s := w.statuses(w.request(2).HeadSHA); s["stagegate/approvals"] != "pending" {
			t.Errorf("approvals = %q, want pending (1 of 2)", s["stagegate/approvals"])
		}
	})
}

// An author whose GitHub login is neither their commit name nor their email is still the
// author: GitHub links the commit's email to their account.
func TestAuthorsApprovingUnderTheirLoginDoNotCount(t *testing.T) {
	w := newWorld(t)
	w.p.Spec.Environments[1].Promote = &config.Promote{Auto: true, Approvals: 1}
	w.ctrl = w.controller()
	w.gh.SetLogin(gitsourcetest.AuthorEmail, "tester")
	gitsourcetest.Commit(t, w.gh.Repo(), "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
	w.cycle()
	w.gh.AddReview(1, "tester", "APPROVED")
	w.cycle()
	if w.gh.PR(1).Merged {
		t.Fatal("merged on the approval of the change's author, who commits as " + gitsourcetest.AuthorName + " and reviews as tester")
	}
	if s := w.statuses(w.gh.PR(1).HeadSHA); s["stagegate/approvals"] != "pending" {
		t.Errorf("approvals = %q after the author's approval, want pending (0 of 1)", s["stagegate/approvals"])
	}

	w.gh.AddReview(1, "alice", "APPROVED")
	w.cycle()
	if !w.gh.PR(1).Merged {
		t.Errorf("not merged after alice, who wrote none of it, approved; statuses %v", w.statuses(w.gh.PR(1).HeadSHA))
	}
}

func TestATargetThatMovedAfterGatingIsNotMergedInto(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		// A hotfix lands on staging after the gates ran, while the statuses are being posted.
		w.ctrl.Forge = &baseMover{Forge: w.ctrl.Forge, move: func() {
			gitsourcetest.Commit(t, w.repo, "env/staging", map[string]string{"hotfix.txt": "x"}, "hotfix")
		}}
		w.cycle()
		if w.request(1).Merged {
			t.Fatal("merged into a staging that moved after gating: the merged tree was never gated")
		}
		if merges := w.git("rev-list", "--count", "--merges", "env/staging"); merges != "0" {
			t.Errorf("%s merges on staging, want none", merges)
		}
	})
}

// baseMover runs move when the overall status is first posted: after gating, before merging.
type baseMover struct {
	controller.Forge
	move  func()
	moved bool
}

func (b *baseMover) SetStatus(ctx context.Context, sha string, s gitsource.Status) error {
	if s.Context == controller.StatusOverall && !b.moved {
		b.moved = true
		b.move()
	}
	return b.Forge.SetStatus(ctx, sha, s)
}

func TestSoakCountsFromWhenTheCommitArrivedNotWhenItWasWritten(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		w.p.Spec.Environments[1].Gates.Soak = &config.SoakGate{Duration: config.Duration{Duration: 30 * time.Minute}}
		w.now = time.Now()
		w.ctrl = w.controller()
		// The commit is dated 2025 (gitsourcetest's epoch) but reaches dev now.
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		w.cycle()
		if w.request(1).Merged {
			t.Fatal("merged at once: soak counted from the commit's date, not from its arrival")
		}
		w.now = w.now.Add(31 * time.Minute)
		w.ctrl = w.controller() // a restart: the arrival is read back from the forge
		w.cycle()
		if !w.request(1).Merged {
			t.Fatalf("not merged after 31 minutes of a 30-minute soak: %v", w.statuses(w.request(1).HeadSHA))
		}
	})
}

func TestASettledPromotionIsGatedAgainWhenAFreezeBegins(t *testing.T) {
	forEachForge(t, func(t *testing.T, w *world) {
		w.p.Spec.Environments[1].Promote = &config.Promote{Approvals: 1} // staging: a person merges
		w.p.Spec.Environments[1].Gates.Window = &config.WindowGate{Deny: []config.Window{{
			Schedule: "0 16 * * FRI", Duration: config.Duration{Duration: 64 * time.Hour}, TimeZone: "Europe/Berlin"}}}
		berlin, _ := time.LoadLocation("Europe/Berlin")
		w.now = time.Date(2026, 11, 27, 15, 0, 0, 0, berlin) // Friday, an hour before the freeze
		w.ctrl = w.controller()
		gitsourcetest.Commit(t, w.repo, "env/dev", map[string]string{"base/cm.yaml": strings.Replace(cm, "%s", "green", 1)}, "web: green")
		w.cycle()
		w.review(1, "alice", gitsource.Approved)
		w.cycle()
		w.cycle() // settled: everything passes
		if s := w.statuses(w.request(1).HeadSHA); s["stagegate"] != "success" {
			t.Fatalf("before the freeze: overall status %q, want success", s["stagegate"])
		}
		w.now = time.Date(2026, 11, 27, 17, 0, 0, 0, berlin) // inside the freeze, nothing else changed
		w.cycle()
		if s := w.statuses(w.request(1).HeadSHA); s["stagegate/window"] != "pending" || s["stagegate"] != "pending" {
			t.Errorf("inside the freeze: statuses %v; want window and overall pending, so nobody merges on green", s)
		}
	})
}
