package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/drift"
	"github.com/stagegate-dev/stagegate/gitsource"
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
	c.mu.Lock()
	applied := c.applied[env.Name]
	c.mu.Unlock()
	if applied != scan.SHA {
		scan.Skipped = fmt.Sprintf("%s's head %s is not applied yet", env.Branch, gitsource.Short(scan.SHA))
		log.Info("drift scan skipped", "reason", scan.Skipped)
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
	detect := func() (drift.Report, error) {
		live := drift.Live{Cluster: cluster, Pipeline: c.Pipeline.Metadata.Name, Env: env.Name, InventoryNamespace: env.Cluster.InventoryNamespace}
		return drift.Detect(ctx, live, objs, drift.Options{Pipeline: c.Pipeline.Metadata.Name, Env: env.Name, Ignore: drift.IgnoreRules(driftIgnore(*env))})
	}
	if scan.Report, err = detect(); err != nil {
		return scan, err
	}
	found := scan.Report.Summary()
	if mode(*env) == config.DriftCorrect && found.Drift() > 0 {
		res, aerr := deploy.Apply(ctx, cluster, objs, c.applyOptions(*env, false))
		scan.Corrected = &res
		log.Warn("drift corrected by applying the head again", "found", found.String(), "result", applySummary(res), "err", aerr)
		if aerr != nil {
			err = fmt.Errorf("correct drift in %s: %w", env.Name, aerr)
		}
		if after, derr := detect(); derr == nil {
			scan.Report = after
		} else {
			err = errors.Join(err, derr)
		}
	}
	c.Metrics.setDrift(c.Pipeline.Metadata.Name, env.Name, scan.Report.Summary())
	log.Info("drift scan", "summary", scan.Report.Summary().String(), "corrected", scan.Corrected != nil)
	if serr := c.postStatus(ctx, scan.SHA, driftStatus(scan, c.envURL(env.Name)), false); serr != nil {
		err = errors.Join(err, serr)
	}
	if ierr := c.driftIssue(ctx, *env, scan); ierr != nil {
		err = errors.Join(err, ierr)
	}
	return scan, err
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

// driftIssue is filled in once the forge has issues.
func (c *Controller) driftIssue(context.Context, config.Environment, DriftScan) error { return nil }
