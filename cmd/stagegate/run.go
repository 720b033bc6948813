package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/local"
)

// runFlags are the agent's own settings; the config file holds only pipelines.
type runFlags struct {
	pipeline          string
	once              bool
	listen            string
	publicURL         string
	webhookSecretEnv  string
	webhookSecretFile string
	concurrency       int
	leaderElect       bool
	leaseNamespace    string
	leaseName         string
	shard             string
}

func newRunCmd(c *cli) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the agent: promote every pipeline on its interval and on webhooks",
		Long: `run cycles every pipeline of the config on its interval: fetch, render, gate, open or update one
promotion request per target environment, post a status per gate, and merge when the environment
promotes automatically and every gate passes. Environments with a cluster are applied when their
branch moves, with a stagegate/deploy status on the applied commit, and compared with it on their
drift.schedule (a stagegate/drift status, an issue while drift lasts, gauges on /metrics). GitHub webhooks (push, pull_request) posted to
/hooks/github start a cycle at once. SIGTERM lets a cycle under way finish its step, then exits.

--once runs one cycle of every pipeline and exits: 0 when every cycle succeeded, 1 otherwise.

Several replicas: with --leader-elect, replicas elect a leader on a coordination.k8s.io Lease and
only the leader runs pipelines; a standby takes over within the lease duration (15 s) when the
leader dies, and a leader that loses its lease exits so its pod restarts as a standby. Without it,
an agent locks its pipelines in the cache directory, so a second agent on the same machine with
any of the same pipelines refuses to start. --shard i/n runs only the pipelines whose name hashes
to i modulo n, each shard electing its own leader. See docs/operations.md.`,
		Example: `  GITHUB_TOKEN=… STAGEGATE_WEBHOOK_SECRET=… stagegate run --config stagegate.yaml --public-url https://stagegate.example.com
  stagegate run --config stagegate.yaml --once`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.run(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.pipeline, "pipeline", "", "run only this pipeline (default: every pipeline in the config)")
	fl.BoolVar(&f.once, "once", false, "run one cycle of every pipeline and exit (for CI jobs)")
	fl.StringVar(&f.listen, "listen", ":8080", "address for /hooks/github, /healthz, /readyz, /metrics, the status page (/) and /api/v1/status")
	fl.StringVar(&f.publicURL, "public-url", "", "where this agent is reachable; commit statuses link to it")
	fl.StringVar(&f.webhookSecretEnv, "webhook-secret-env", "STAGEGATE_WEBHOOK_SECRET", "environment variable holding the GitHub webhook secret")
	fl.StringVar(&f.webhookSecretFile, "webhook-secret-file", "", "file holding the GitHub webhook secret (instead of the environment variable)")
	fl.IntVar(&f.concurrency, "concurrency", controller.DefaultConcurrency, "pipelines cycled at the same time")
	fl.BoolVar(&f.leaderElect, "leader-elect", false, "run only while holding a Lease, so several replicas can run with one active")
	fl.StringVar(&f.leaseNamespace, "leader-elect-namespace", "", "namespace of the Lease (default: the pod's namespace, else \"default\")")
	fl.StringVar(&f.leaseName, "leader-elect-lease-name", controller.DefaultLeaseName, "name of the Lease; with --shard i/n, \"-shard-i-of-n\" is appended")
	fl.StringVar(&f.shard, "shard", "", "run only shard i of n (i/n, such as 0/3): the pipelines whose name's FNV-1a hash is i modulo n")
	return cmd
}

func (c *cli) run(ctx context.Context, f runFlags) error {
	ps, err := c.pipelines(f.pipeline)
	if err != nil {
		return err
	}
	var shard controller.Shard
	if f.shard != "" {
		if shard, err = controller.ParseShard(f.shard); err != nil {
			return fmt.Errorf("--shard: %w", err)
		}
		ps = shard.Select(ps)
		if len(ps) == 0 {
			c.log.Warn("this shard holds no pipeline of the config", "shard", shard.String())
		}
	}
	var election *controller.Election
	switch {
	case f.leaderElect && f.once:
		return errors.New("--once with --leader-elect: a one-off run does not elect a leader; drop one of them")
	case f.leaderElect:
		if election, err = c.election(f, shard); err != nil {
			return err
		}
	default:
		// Outside a cluster, two agents on one machine must not work the same pipeline.
		dir, err := gitsource.CacheDir(gitsource.Options{CacheDir: c.cacheDir})
		if err != nil {
			return err
		}
		lock, err := controller.LockPipelines(dir, ps)
		if err != nil {
			return err
		}
		defer lock.Unlock()
	}
	cfg, err := os.ReadFile(c.configPath)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(cfg)
	revision := "sha256:" + hex.EncodeToString(sum[:])

	metrics := controller.NewMetrics()
	ctrls := map[string]*controller.Controller{}
	repos := map[string][]string{}
	for _, p := range ps {
		ctrl, err := c.controllerFor(ctx, p, f, revision)
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err)
		}
		// A signing key whose passphrase is missing stops the agent now, not at the first promotion.
		if err := ctrl.LoadKeys(); err != nil {
			return fmt.Errorf("pipeline %s: %w", p.Metadata.Name, err)
		}
		ctrl.Metrics = metrics
		ctrls[p.Metadata.Name] = ctrl
		if name := controller.RepoName(p.Spec.Repo.URL); name != "" {
			repos[name] = append(repos[name], p.Metadata.Name)
		}
	}
	agent := &controller.Agent{
		Pipelines:   ps,
		Concurrency: f.concurrency,
		Log:         c.log,
		Cycle: func(ctx context.Context, p config.Pipeline) error {
			return ctrls[p.Metadata.Name].Cycle(ctx)
		},
		Drift: func(ctx context.Context, p config.Pipeline, env string) error {
			_, err := ctrls[p.Metadata.Name].Drift(ctx, env)
			return err
		},
	}
	if f.once {
		return agent.Once(ctx)
	}

	secret, err := webhookSecret(f)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/github", &controller.Webhook{Secret: secret, Repos: repos, Trigger: agent.Trigger, Log: c.log})
	status := &controller.StatusPage{}
	for _, p := range ps {
		status.Controllers = append(status.Controllers, ctrls[p.Metadata.Name])
	}
	if election != nil {
		// A standby answers /readyz 503, so a Service sends webhooks to the leader.
		status.Ready = func() (bool, string) {
			if election.Leading() {
				return true, ""
			}
			return false, fmt.Sprintf("standby: %q holds the lease", election.Leader())
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		status.Healthz(w, r)
		switch {
		case election == nil:
		case election.Leading():
			fmt.Fprintln(w, "leader: leading")
		default:
			fmt.Fprintf(w, "leader: standby (leader %q)\n", election.Leader())
		}
	})
	mux.HandleFunc("GET /readyz", status.Readyz)
	mux.HandleFunc("GET /{$}", status.Page)
	mux.HandleFunc("GET /api/v1/status", status.API)
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	// What the commit statuses link to: the last gate report of a promotion into an environment.
	mux.HandleFunc("GET /pipelines/{pipeline}/{env}", func(w http.ResponseWriter, r *http.Request) {
		ctrl, ok := ctrls[r.PathValue("pipeline")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		report, ok := ctrl.LastReport(r.PathValue("env"))
		pause := ctrl.PauseNotice(r.PathValue("env"))
		if !ok && pause == "" {
			http.Error(w, "no promotion into this environment has been gated since the agent started", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if pause != "" {
			fmt.Fprintf(w, "Paused: %s.\n\n", pause)
		}
		if ok {
			_ = report.Write(w, gates.FormatText, false)
		}
	})
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c.log.Info("agent running", "listen", ln.Addr().String(), "pipelines", len(ps), "shard", shard.String(), "leader-elect", f.leaderElect)
	if secret == "" {
		c.log.Warn("no webhook secret: /hooks/github refuses every delivery; cycles run on the interval only", "env", f.webhookSecretEnv)
	}

	if election != nil {
		// Returns when ctx is done and cycles under way have finished, or with ErrLostLease.
		err = election.Run(ctx, func(ctx context.Context) { _ = agent.Run(ctx) })
	} else {
		err = agent.Run(ctx) // returns when ctx is done and cycles under way have finished
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdown); serr != nil {
		err = errors.Join(err, serr)
	}
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// election is the Lease election --leader-elect asks for, in the cluster the agent runs in (its
// service account), else the one $KUBECONFIG or ~/.kube/config names.
func (c *cli) election(f runFlags, shard controller.Shard) (*controller.Election, error) {
	rc, err := rest.InClusterConfig()
	if errors.Is(err, rest.ErrNotInCluster) {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("--leader-elect: no cluster for the Lease (in-cluster config, $KUBECONFIG, ~/.kube/config): %w", err)
	}
	ns := f.leaseNamespace
	if ns == "" {
		ns = controller.PodNamespace()
	}
	return &controller.Election{Config: rc, Namespace: ns, Name: shard.LeaseName(f.leaseName), Log: c.log}, nil
}

// controllerFor wires one pipeline: its mirror, forge and compiled gates.
func (c *cli) controllerFor(ctx context.Context, p config.Pipeline, f runFlags, revision string) (*controller.Controller, error) {
	sets, err := gates.ForPipeline(p)
	if err != nil {
		return nil, err
	}
	m, forge, commitURL, err := c.connect(ctx, p, local.DefaultActor)
	if err != nil {
		return nil, err
	}
	return &controller.Controller{
		Pipeline: p, Mirror: m, Forge: forge, Gates: sets,
		PublicURL: f.publicURL, ConfigRevision: revision, ConfigFile: c.configPath,
		CommitURL: commitURL, Log: c.log,
		Clusters: controller.Clusters(deploy.Options{}),
	}, nil
}

func webhookSecret(f runFlags) (controller.Secret, error) {
	if f.webhookSecretFile != "" {
		b, err := os.ReadFile(f.webhookSecretFile)
		if err != nil {
			return "", fmt.Errorf("--webhook-secret-file: %w", err)
		}
		return controller.Secret(strings.TrimSpace(string(b))), nil
	}
	return controller.Secret(os.Getenv(f.webhookSecretEnv)), nil
}

// commitURL links commits of an https repository (https://github.com/acme/shop.git →
// https://github.com/acme/shop/commit/<sha>); other URLs get no links.
func commitURL(repoURL string) func(string) string {
	u, err := config.ParseRepoURL(repoURL)
	if err != nil || u.Transport != config.TransportHTTPS {
		return nil
	}
	base := "https://" + u.Host + "/" + strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	return func(sha string) string { return base + "/commit/" + sha }
}
