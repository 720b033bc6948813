package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/drift"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

// StatusDrift is the commit status on an environment branch's head saying whether its cluster
// matches it.
const StatusDrift = "stagegate/drift"

// DriftScan is what one drift scan of an environment found and did.
type DriftScan struct {
	Env string
	// SHA is the environment branch's head the cluster was compared with.
	SHA    string
	Report drift.Report
	// Corrected is the re-apply of correct mode; nil when nothing was corrected.
	Corrected *deploy.Result
	// Skipped says why no scan ran ("" when one did): the head is not applied yet.
	Skipped string
}

// Drift compares environment env's cluster with its branch head and reports it: a
// stagegate/drift status on the head, the environment's drift issue, the drift gauges. In
// correct mode, drift is corrected by applying the head again (what was drifted or missing is
// restored; extra objects are deleted when cluster.prune is set), and the report is of the scan
// after it. A head the agent has not applied yet is not scanned: the cycle applies it first.
func (c *Controller) Drift(ctx context.Context, envName string) (DriftScan, error) {
	env, err := c.Pipeline.LookupEnv(envName)
	if err != nil {
		return DriftScan{}, err
	}
	if env.Cluster == nil || c.Clusters == nil {
		return DriftScan{}, fmt.Errorf("environment %s has no cluster to compare with; add cluster (kubeconfig, context) to it", env.Name)
	}
	heads, err := c.Mirror.Sync(ctx, []string{env.Branch})
	if err != nil {
		return DriftScan{}, err
	}
	scan := DriftScan{Env: env.Name, SHA: heads[env.Branch]}
	log := c.log().With("env", env.Name, "sha", scan.SHA)
	applied, err := c.appliedHead(ctx, *env)
	if err != nil {
		return scan, err
	}
	if applied != scan.SHA {
		scan.Skipped = fmt.Sprintf("%s's head %s is not applied yet", env.Branch, gitsource.Short(scan.SHA))
		log.Info("drift scan skipped", "reason", scan.Skipped)
		c.rememberDrift(scan)
		return scan, nil
	}

	cluster, err := c.Clusters(ctx, *env)
	if err != nil {
		return scan, err
	}
	objs, err := renderTree(ctx, c.Mirror, scan.SHA, *env)
	if err != nil {
		return scan, err
	}
	if scan.Report, err = c.detect(ctx, cluster, *env, objs); err != nil {
		return scan, err
	}
	found := scan.Report.Summary()
	if mode(*env) == config.DriftCorrect && found.Drift() > 0 {
		res, aerr := deploy.Apply(ctx, cluster, objs, c.applyOptions(*env, scan.SHA, false))
		scan.Corrected = &res
		log.Warn("drift corrected by applying the head again", "found", found.String(), "result", applySummary(res), "err", aerr)
		if aerr != nil {
			err = fmt.Errorf("correct drift in %s: %w", env.Name, aerr)
		}
		if after, derr := c.detect(ctx, cluster, *env, objs); derr == nil {
			scan.Report = after
		} else {
			err = errors.Join(err, derr)
		}
	}
	c.Metrics.setDrift(c.Pipeline.Metadata.Name, env.Name, scan.Report.Summary())
	c.rememberDrift(scan)
	log.Info("drift scan", "summary", scan.Report.Summary().String(), "corrected", scan.Corrected != nil)
	if serr := c.postStatus(ctx, scan.SHA, driftStatus(scan, c.envURL(env.Name)), false); serr != nil {
		err = errors.Join(err, serr)
	}
	if ierr := c.driftIssue(ctx, *env, scan); ierr != nil {
		err = errors.Join(err, ierr)
	}
	return scan, err
}

// detect compares env's rendering objs with its cluster, with env's ignore rules.
func (c *Controller) detect(ctx context.Context, cluster *deploy.Cluster, env config.Environment, objs render.Objects) (drift.Report, error) {
	live := drift.Live{Cluster: cluster, Pipeline: c.Pipeline.Metadata.Name, Env: env.Name, InventoryNamespace: env.Cluster.InventoryNamespace}
	return drift.Detect(ctx, live, objs, drift.Options{Pipeline: c.Pipeline.Metadata.Name, Env: env.Name, Ignore: drift.IgnoreRules(driftIgnore(env))})
}

// driftStatus says in one stable line whether the cluster matches: the description changes only
// when the counts do, so an unchanged scan posts nothing.
func driftStatus(scan DriftScan, url string) gitsource.Status {
	s := scan.Report.Summary()
	st := gitsource.Status{Context: StatusDrift, TargetURL: url}
	switch {
	case s.Drift() > 0:
		st.State = gitsource.StatusFailure
		st.Description = fmt.Sprintf("%d objects out of sync with %s's cluster: %d drifted, %d missing, %d extra", s.Drift(), scan.Env, s.Drifted, s.Missing, s.Extra)
	case s.Failed > 0:
		st.State = gitsource.StatusError
		st.Description = fmt.Sprintf("%d objects of %s could not be compared", s.Failed, scan.Env)
	default:
		st.State = gitsource.StatusSuccess
		st.Description = fmt.Sprintf("%s's cluster is in sync: %d objects", scan.Env, s.InSync)
		if scan.Corrected != nil {
			st.Description += ", drift corrected"
		}
	}
	st.Description = oneLine(st.Description)
	return st
}

func driftIgnore(env config.Environment) []config.DriftIgnore {
	if env.Drift == nil {
		return nil
	}
	return env.Drift.Ignore
}

func mode(env config.Environment) config.DriftMode {
	if env.Drift == nil || env.Drift.Mode == "" {
		return config.DefaultDriftMode
	}
	return env.Drift.Mode
}

// DriftLabel labels the issues stagegate opens about an environment's drift.
const DriftLabel = "stagegate/drift"

// driftMarker identifies the drift issue of one environment among those with DriftLabel.
func (c *Controller) driftMarker(env string) string {
	return fmt.Sprintf("<!-- stagegate:drift pipeline=%s env=%s -->", c.Pipeline.Metadata.Name, env)
}

// driftIssue keeps one open issue per environment while its cluster drifts: opened when drift
// appears, edited while it changes, closed with a comment when the cluster is in sync again
// (in correct mode, right after the correction, so every correction leaves a closed issue
// saying what was found and done). A scan that could compare nothing leaves it as it is.
func (c *Controller) driftIssue(ctx context.Context, env config.Environment, scan DriftScan) error {
	found := scan.Report.Summary()
	title := fmt.Sprintf("Drift in %s (%s)", env.Name, c.Pipeline.Metadata.Name)
	marker := c.driftMarker(env.Name)
	open, err := c.Forge.Issues(ctx, DriftLabel, gitsource.RequestOpen)
	if err != nil {
		return err
	}
	var issue *gitsource.Issue
	for i := range open {
		if strings.Contains(open[i].Body, marker) {
			issue = &open[i]
			break
		}
	}
	log := c.log().With("env", env.Name, "sha", scan.SHA)
	drifting := found.Drift() > 0 || scan.Corrected != nil
	switch {
	case drifting && issue == nil:
		body := c.driftBody(env, scan, marker)
		opened, err := c.Forge.OpenIssue(ctx, title, body, []string{DriftLabel})
		if err != nil {
			return err
		}
		log.Info("drift issue opened", "issue", opened.Number)
		issue = &opened
	case drifting:
		if body := c.driftBody(env, scan, marker); issue.Body != body || issue.Title != title {
			if err := c.Forge.EditIssue(ctx, issue.Number, title, body); err != nil {
				return err
			}
		}
	}
	if issue == nil || found.Drift() > 0 || found.Failed > 0 && scan.Corrected == nil {
		return nil
	}
	comment := fmt.Sprintf("%s's cluster is in sync with %s at %s again (%d objects).", env.Name, env.Branch, gitsource.Short(scan.SHA), found.InSync)
	if scan.Corrected != nil {
		comment = fmt.Sprintf("stagegate corrected the drift by applying %s at %s again (%s); %s's cluster is in sync (%d objects).",
			env.Branch, gitsource.Short(scan.SHA), applySummary(*scan.Corrected), env.Name, found.InSync)
	}
	log.Info("drift issue closed", "issue", issue.Number)
	return c.Forge.CloseIssue(ctx, issue.Number, comment)
}

// maxIssueBody keeps a drift issue's body under GitHub's 65,536 characters.
const maxIssueBody = 60000

// driftBody describes the drift: counts, each object with its changed fields and diff (Secret
// values masked) while they fit, and the commands to see it and to resolve it.
func (c *Controller) driftBody(env config.Environment, scan DriftScan, marker string) string {
	var b strings.Builder
	summary := scan.Report.Summary()
	if scan.Corrected != nil {
		// The report is the scan after the correction; what was found is in the apply's result.
		fmt.Fprintf(&b, "stagegate found %s's cluster out of sync with `%s` at %s and, in correct mode, applied it again: %s.\n\n",
			env.Name, env.Branch, gitsource.Short(scan.SHA), applySummary(*scan.Corrected))
	} else {
		fmt.Fprintf(&b, "%s's cluster is out of sync with `%s` at %s: %s.\n\n", env.Name, env.Branch, gitsource.Short(scan.SHA), summary)
	}
	var text strings.Builder
	_ = scan.Report.WriteText(&text)
	details := text.String()
	if len(details) > maxIssueBody {
		details = details[:maxIssueBody] + "\n… (cut: run the command below for the whole report)\n"
	}
	if summary.Drift() > 0 || summary.Failed > 0 {
		b.WriteString("```diff\n" + details + "```\n\n")
	}
	cfg := c.ConfigFile
	if cfg == "" {
		cfg = "stagegate.yaml"
	}
	fmt.Fprintf(&b, "See it again: `stagegate drift --config %s --pipeline %s --env %s`\n\n", cfg, c.Pipeline.Metadata.Name, env.Name)
	b.WriteString("Resolve it by changing the cluster back (or setting `drift.mode: correct`), by committing the change to the branch, " +
		"or by an ignore rule (`drift.ignore`) when another controller owns the field. A promotion into " + env.Name +
		" with the drift gate fails while this lasts, unless its request has the `" + gates.AcknowledgeDriftLabel + "` label. " +
		"stagegate closes this issue when the cluster is in sync again.\n\n")
	b.WriteString(marker + "\n")
	return b.String()
}
