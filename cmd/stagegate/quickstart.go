package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/examples"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// defaultQuickstartDir is where the quickstart writes when --dir is not given: a directory a
// user sees in front of them and can delete, not a temporary one that vanishes.
const defaultQuickstartDir = "stagegate-quickstart"

func newQuickstartCmd(c *cli) *cobra.Command {
	var dir, kubeconfig string
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Create a sample repository and walk one change through dev → staging → prod",
		Long: `quickstart writes a sample application (a shop: web, cart and redis, as kustomize overlays) as a
bare Git repository with env/dev, env/staging and env/prod branches, and a stagegate.yaml that
promotes it with the local forge (requests recorded in the repository). Then it walks one
promotion, printing what happened at each step and the command that does it by hand: render dev;
a commit on dev that fails the security gate, so the staging request waits; a fix, so the request
passes and merges; the prod request waiting for an approval; an approval and the merge; the audit
of prod. It needs no Git CLI, no server and no cluster.

With --kubeconfig, it also applies prod to that cluster (namespace shop-prod) and checks it for
drift. It never reads $KUBECONFIG: only a cluster named on the command line is touched.

Exit codes: 0 the walk went as described, 1 an error.`,
		Example: `  stagegate quickstart
  stagegate quickstart --dir /tmp/sg --kubeconfig ~/.kube/kind-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.quickstart(cmd.Context(), dir, kubeconfig)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultQuickstartDir, "directory to create (or an empty one) for the repository, config and cache")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "also apply prod to this cluster and check it for drift")
	return cmd
}

// quickstart is one walk: where it writes, and the controller whose cycles it runs.
type quickstart struct {
	c          *cli
	dir        string
	repo       examples.Seeded
	kubeconfig string
	ctrl       *controller.Controller
	clock      time.Time // commit times: a minute apart, from when the walk started
}

func (c *cli) quickstart(ctx context.Context, dir, kubeconfig string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := emptyDir(abs); err != nil {
		return err
	}
	if kubeconfig != "" {
		if kubeconfig, err = filepath.Abs(kubeconfig); err != nil {
			return err
		}
		if _, err := os.Stat(kubeconfig); err != nil {
			return fmt.Errorf("--kubeconfig: %w", err)
		}
	}
	q := &quickstart{c: c, dir: abs, kubeconfig: kubeconfig, clock: time.Now().UTC().Truncate(time.Second)}
	c.configPath = filepath.Join(abs, "stagegate.yaml")
	if c.cacheDir == "" {
		c.cacheDir = filepath.Join(abs, "cache")
	}
	for _, s := range []func(context.Context) error{q.create, q.render, q.failingChange, q.fix, q.prodRequest, q.approve, q.audit, q.cluster, q.byHand} {
		if err := s(ctx); err != nil {
			return fmt.Errorf("quickstart: %w", err)
		}
	}
	return nil
}

// emptyDir creates dir, or accepts it when it exists and is empty: the quickstart never writes
// over what is there.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("--dir %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("--dir %s is not empty: remove it, or choose another directory with --dir", dir)
	}
	return nil
}

func (q *quickstart) out() io.Writer { return q.c.stdout }

func (q *quickstart) heading(n int, title string) {
	fmt.Fprintf(q.out(), "\n%d. %s\n", n, title)
}

func (q *quickstart) say(format string, args ...any) {
	fmt.Fprintf(q.out(), "   "+format+"\n", args...)
}

// stagegate runs one CLI command on the quickstart's config, as the user would by hand, prints
// it and its output indented, and returns its exit code and output.
func (q *quickstart) stagegate(ctx context.Context, show bool, args ...string) (int, string, error) {
	var out, errb bytes.Buffer
	code := run(ctx, append(args, "--config", q.c.configPath, "--cache-dir", q.c.cacheDir), &out, &errb)
	fmt.Fprintf(q.out(), "   $ stagegate %s\n", shellJoin(args))
	if show {
		for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
			fmt.Fprintln(q.out(), strings.TrimRight("     "+line, " "))
		}
	}
	if code == exitError {
		return code, out.String(), fmt.Errorf("stagegate %s: %s", strings.Join(args, " "), strings.TrimSpace(errb.String()))
	}
	return code, out.String(), nil
}

// shellJoin quotes the arguments that need it, so a printed command can be pasted.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "" || strings.ContainsAny(a, " \t'\"$\\;&|<>*?()`") {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// commit makes a developer's change on env/dev, as a push would.
func (q *quickstart) commit(who, msg string, edits ...examples.Edit) (string, error) {
	q.clock = q.clock.Add(time.Minute)
	sha, err := examples.Commit(q.repo.Repo, "env/dev", who, msg, q.clock, edits...)
	if err != nil {
		return "", fmt.Errorf("commit on env/dev: %w", err)
	}
	q.say("%s pushed %s to env/dev: %s", who, gitsource.Short(sha), msg)
	return sha, nil
}

// cycle runs one agent cycle, the same as `stagegate run --once`.
func (q *quickstart) cycle(ctx context.Context) error {
	q.say("$ stagegate run --once        # one agent cycle: render, gate, open or update requests, merge")
	if err := q.ctrl.Cycle(ctx); err != nil {
		return fmt.Errorf("agent cycle: %w", err)
	}
	return nil
}

// head is a branch's head commit as the agent's mirror sees it now.
func (q *quickstart) head(ctx context.Context, branch string) (gitsource.Commit, error) {
	heads, err := q.ctrl.Mirror.Sync(ctx, []string{branch})
	if err != nil {
		return gitsource.Commit{}, err
	}
	return q.ctrl.Mirror.Commit(heads[branch])
}

// showMerge prints the commit that landed on branch: subject and trailers.
func (q *quickstart) showMerge(ctx context.Context, branch string) error {
	c, err := q.head(ctx, branch)
	if err != nil {
		return err
	}
	q.say("%s is now %s %q, with the trailers the audit reads:", branch, gitsource.Short(c.SHA), c.Subject)
	for _, t := range gitsource.Trailers(c.Message) {
		v := t.Value
		if len(v) > 72 {
			v = v[:72] + "…"
		}
		q.say("  %s: %s", t.Key, v)
	}
	return nil
}

// notPassing prints the results of the environment's last gate report that did not pass, with
// their error findings and fixes, and returns how many there were.
func (q *quickstart) notPassing(env string) (gates.Report, int) {
	r, ok := q.ctrl.LastReport(env)
	if !ok {
		return r, 0
	}
	n := 0
	for _, res := range r.Results {
		if res.Outcome == gates.Pass {
			continue
		}
		n++
		q.say("gate %s: %s: %s", res.Gate, res.Outcome, res.Summary)
		for _, f := range res.Findings {
			if f.Severity != gates.Error || f.Waived != "" {
				continue
			}
			q.say("  %s %s: %s", f.Check, f.Object, f.Message)
			if f.Fix != "" {
				q.say("    fix: %s", f.Fix)
			}
		}
	}
	return r, n
}

const quickstartConfig = `# stagegate.yaml written by stagegate quickstart: the shop promoted dev → staging → prod.
# Reference: docs/config.md.
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata:
  name: shop
spec:
  repo:
    url: %s
  forge:
    type: local   # requests, reviews and statuses live in the repository (refs/stagegate/forge)
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev%[2]s
    - name: staging
      branch: env/staging
      path: overlays/staging
      promote:
        auto: true     # the agent merges once every gate passes
      gates:
        schema: {}
        security: {}%[2]s
    - name: prod
      branch: env/prod
      path: overlays/prod
      promote:
        auto: true
        approvals: 1   # ... and one person who wrote none of the change has approved
      gates:
        schema: {}
        security: {}%[2]s
`

// writeConfig writes the quickstart's stagegate.yaml; with a kubeconfig, every environment
// gets that cluster.
func (q *quickstart) writeConfig(kubeconfig string) error {
	cluster := ""
	if kubeconfig != "" {
		cluster = fmt.Sprintf("\n      cluster:\n        kubeconfig: %q", kubeconfig)
	}
	return os.WriteFile(q.c.configPath, fmt.Appendf(nil, quickstartConfig, q.repo.URL, cluster), 0o644)
}

func (q *quickstart) create(ctx context.Context) error {
	fmt.Fprintf(q.out(), "stagegate quickstart: one change to a sample shop, promoted dev → staging → prod on this\nmachine (no Git server, GitHub or cluster needed). Everything is written to\n%s; each \"$ stagegate …\" line is what does a step by hand there.\n", q.dir)
	q.heading(1, "A repository and its config")
	s, err := examples.Fresh(q.dir)
	if err != nil {
		return err
	}
	q.repo = s
	if err := q.writeConfig(""); err != nil {
		return err
	}
	q.say("shop.git: a bare repository of a shop (web, cart, redis) as kustomize overlays;")
	q.say("  env/dev, env/staging and env/prod all at %s \"Initial shop deployment\"", gitsource.Short(s.Commits["initial"]))
	q.say("stagegate.yaml: pipeline shop on the local forge (requests recorded in the repository);")
	q.say("  staging promotes when its gates pass, prod when they pass and one person approved")
	if _, _, err := q.stagegate(ctx, true, "validate"); err != nil {
		return err
	}

	ps, err := q.c.pipelines("")
	if err != nil {
		return err
	}
	q.ctrl, err = q.c.controllerFor(ctx, ps[0], runFlags{}, "quickstart")
	return err
}

func (q *quickstart) render(ctx context.Context) error {
	q.heading(2, "Render dev")
	_, out, err := q.stagegate(ctx, false, "render", "--env", "dev")
	if err != nil {
		return err
	}
	var kinds []string
	for _, doc := range strings.Split(out, "\n---\n") {
		for _, line := range strings.Split(doc, "\n") {
			if k, ok := strings.CutPrefix(line, "kind: "); ok {
				kinds = append(kinds, k)
			}
		}
	}
	q.say("%d objects, built in process from env/dev's tree: %s", len(kinds), strings.Join(kinds, ", "))
	return nil
}

func (q *quickstart) failingChange(ctx context.Context) error {
	q.heading(3, "A change that fails a gate")
	if _, err := q.commit("Bob", "web 1.5.0; cart follows its latest build",
		examples.Edit{File: "base/kustomization.yaml", Old: `newTag: "1.4.0"`, New: `newTag: "1.5.0"`},
		examples.Edit{File: "base/kustomization.yaml", Old: `newTag: "2.1.3"`, New: `newTag: latest`}); err != nil {
		return err
	}
	if err := q.cycle(ctx); err != nil {
		return err
	}
	if _, _, err := q.stagegate(ctx, true, "requests"); err != nil {
		return err
	}
	r, n := q.notPassing("staging")
	if n == 0 || r.Verdict != gates.Fail {
		return fmt.Errorf("the staging request should fail the security gate (cart:latest); its verdict is %q", r.Verdict)
	}
	q.say("The request waits: a failing gate is never merged. Its full body: stagegate requests show shop staging")
	return nil
}

func (q *quickstart) fix(ctx context.Context) error {
	q.heading(4, "The fix: the request passes and merges into staging")
	if _, err := q.commit("Carol", "cart: pin 2.2.0 instead of latest",
		examples.Edit{File: "base/kustomization.yaml", Old: `newTag: latest`, New: `newTag: "2.2.0"`}); err != nil {
		return err
	}
	if err := q.cycle(ctx); err != nil {
		return err
	}
	if _, _, err := q.stagegate(ctx, true, "requests", "--all"); err != nil {
		return err
	}
	c, err := q.head(ctx, "env/staging")
	if err != nil {
		return err
	}
	if c.SHA == q.repo.Commits["initial"] {
		return errors.New("the staging request passed its gates but was not merged")
	}
	return q.showMerge(ctx, "env/staging")
}

func (q *quickstart) prodRequest(ctx context.Context) error {
	q.heading(5, "The prod request waits for an approval")
	if err := q.cycle(ctx); err != nil {
		return err
	}
	if _, _, err := q.stagegate(ctx, true, "requests"); err != nil {
		return err
	}
	r, ok := q.ctrl.LastReport("prod")
	if !ok || r.Verdict != gates.Pending {
		return fmt.Errorf("the prod request should be pending on its approval; its verdict is %q", r.Verdict)
	}
	for _, res := range r.Results {
		if res.Outcome != gates.Pass {
			q.say("gate %s: %s", res.Gate, res.Outcome)
		}
	}
	q.say("It needs one approval by someone who wrote none of its commits (Bob and Carol did).")
	return nil
}

func (q *quickstart) approve(ctx context.Context) error {
	q.heading(6, "Alice approves; the agent merges into prod")
	if _, _, err := q.stagegate(ctx, true, "approve", "shop", "prod", "--as", "alice", "-m", "web 1.5.0 and cart 2.2.0 look good in staging"); err != nil {
		return err
	}
	if err := q.cycle(ctx); err != nil {
		return err
	}
	if _, _, err := q.stagegate(ctx, true, "requests", "--all"); err != nil {
		return err
	}
	c, err := q.head(ctx, "env/prod")
	if err != nil {
		return err
	}
	if c.SHA == q.repo.Commits["initial"] {
		return errors.New("the approved prod request was not merged")
	}
	return q.showMerge(ctx, "env/prod")
}

func (q *quickstart) audit(ctx context.Context) error {
	q.heading(7, "Audit prod: every commit on env/prod came through a gated promotion")
	code, _, err := q.stagegate(ctx, true, "audit", "--env", "prod")
	if err != nil {
		return err
	}
	if code != exitOK {
		return fmt.Errorf("the audit of prod has findings (exit %d); it should be clean", code)
	}
	q.say("exit 0: clean")
	return nil
}

func (q *quickstart) cluster(ctx context.Context) error {
	q.heading(8, "A cluster")
	if q.kubeconfig == "" {
		q.say("Skipped: no --kubeconfig. To apply prod to a cluster and check it for drift, run the")
		q.say("quickstart again with one (a throwaway cluster: kind create cluster --kubeconfig /tmp/kind.yaml):")
		q.say("  stagegate quickstart --dir OTHER_DIR --kubeconfig /tmp/kind.yaml")
		return nil
	}
	if err := q.writeConfig(q.kubeconfig); err != nil {
		return err
	}
	q.say("cluster: {kubeconfig: %s} added to every environment in stagegate.yaml", q.kubeconfig)
	if _, _, err := q.stagegate(ctx, true, "apply", "--env", "prod"); err != nil {
		return err
	}
	code, _, err := q.stagegate(ctx, true, "drift", "--env", "prod")
	if err != nil {
		return err
	}
	if code != exitOK {
		return fmt.Errorf("prod drifted right after it was applied (drift exit %d)", code)
	}
	q.say("exit 0: the cluster matches env/prod. `stagegate run` now applies each environment when its")
	q.say("branch moves and scans it for drift on its drift.schedule.")
	return nil
}

func (q *quickstart) byHand(context.Context) error {
	q.heading(9, "Go on by hand")
	q.say("  cd %s", q.dir)
	for _, l := range []string{
		"stagegate requests --all                # every request, its gate verdict and approvals",
		"stagegate requests show shop prod       # a request's body: rendered diff, gate table, trailers",
		"stagegate gate --env prod               # prod's gates on what it runs now",
		"stagegate audit --env staging --verify  # the ledger, re-rendering each promotion",
		"stagegate run                           # the agent: a cycle a minute; Ctrl-C stops it",
	} {
		q.say("  %s", l)
	}
	q.say("No stagegate on your PATH? go install ./cmd/stagegate in a clone of stagegate.")
	q.say("Your own change: git clone -b env/dev %s shop;", q.repo.Repo)
	q.say("edit, commit and push, then stagegate run --once. More in docs/quickstart.md.")
	return nil
}
