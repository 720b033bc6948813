package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"
	"time"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/render"
)

func newGateCmd(c *cli) *cobra.Command {
	var (
		file, pipeline, env, ref, output, kubeVersion string
	)
	cmd := &cobra.Command{
		Use:   "gate",
		Short: "Run the gates on rendered manifests and report; exit 3 when a gate fails",
		Long: `Run gates on rendered state and report findings.

With -f, render a directory (kustomize, or its plain YAML files) or read one YAML file, and run
the static gates with their defaults: schema, apis, security and resources. With --env, render
an environment of a configured pipeline from Git and run the gates its config chooses.

Exit codes: 0 every gate passed, 3 a gate failed (or is pending), 1 an error.`,
		Example: `  # a directory or file on disk, no config
  stagegate gate -f overlays/prod --kubernetes-version 1.33

  # an environment of a configured pipeline, as the promotion would gate it
  stagegate gate --config stagegate.yaml --pipeline shop --env prod [--ref SHA] -o sarif > gates.sarif`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := gates.ParseFormat(output)
			if err != nil {
				return fmt.Errorf("-o: %w", err)
			}
			var (
				in  gates.Input
				set *gates.Set
				rev string
			)
			switch {
			case file != "" && env != "":
				return errors.New("use either -f (files on disk) or --env (an environment of the config), not both")
			case file != "":
				in, set, err = gateFiles(cmd, file, kubeVersion)
			case env != "":
				in, set, rev, err = c.gateEnv(cmd, pipeline, env, ref, kubeVersion)
			default:
				return errors.New("say what to gate: -f DIR_OR_FILE, or --env NAME with --config")
			}
			if err != nil {
				return err
			}
			in.Now = time.Now()
			results := set.Evaluate(in)
			report := gates.NewReport(in, set, results)
			report.Revision = rev
			if err := report.Write(c.stdout, format, isTerminal(c.stdout)); err != nil {
				return err
			}
			c.log.Info("gated", "pipeline", in.Pipeline, "env", in.Env.Name, "sha", rev, "objects", len(in.Objects), "verdict", report.Verdict)
			if report.Verdict != gates.Pass {
				return exitCode(exitGateFails)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "directory to render, or a YAML file, to gate without a config")
	f.StringVar(&pipeline, "pipeline", "", "pipeline name (default: the only pipeline in the config)")
	f.StringVar(&env, "env", "", "environment whose gates run on its rendering")
	f.StringVar(&ref, "ref", "", "commit to gate: a sha or branch (default: the environment branch's head)")
	f.StringVar(&kubeVersion, "kubernetes-version", "", `target Kubernetes version for the apis gate ("1.33"); overrides the config`)
	f.StringVarP(&output, "output", "o", "text", "report format: text, json, sarif, junit or markdown")
	return cmd
}

// gateFiles reads a directory or a file from disk and chooses the static gates with defaults.
func gateFiles(cmd *cobra.Command, file, kubeVersion string) (gates.Input, *gates.Set, error) {
	objs, err := readFiles(cmd, file)
	if err != nil {
		return gates.Input{}, nil, err
	}
	env := config.Environment{Name: "", Path: filepath.ToSlash(file), Gates: config.Gates{
		Schema:    &config.SchemaGate{},
		APIs:      &config.APIsGate{KubernetesVersion: kubeVersion},
		Security:  &config.SecurityGate{},
		Resources: &config.ResourcesGate{},
	}}
	set, err := gates.For(env)
	if err != nil {
		return gates.Input{}, nil, err
	}
	if fi, err := os.Stat(file); err == nil && !fi.IsDir() {
		env.Path = filepath.ToSlash(filepath.Dir(file))
	}
	return gates.Input{Env: env, Objects: objs, KubernetesVersion: kubeVersion}, set, nil
}

// readFiles renders a directory with render.Build, or a single YAML file as it is. Sources are
// relative to the working directory when the path is inside it, so that SARIF locations match
// the repository when stagegate runs at its root.
func readFiles(cmd *cobra.Command, file string) (render.Objects, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	rel := filepath.ToSlash(filepath.Clean(file))
	local := filepath.IsLocal(file)
	if fi.IsDir() {
		if local {
			return render.Build(cmd.Context(), os.DirFS("."), rel, render.Options{})
		}
		return render.Build(cmd.Context(), os.DirFS(file), ".", render.Options{})
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if !local {
		rel = filepath.Base(file)
	}
	// A single file renders like a directory holding only it: same decoding, same order.
	dir := filepath.ToSlash(filepath.Dir(rel))
	return render.Build(cmd.Context(), fstest.MapFS{rel: {Data: data, Mode: 0o644}}, dir, render.Options{})
}

// gateEnv renders an environment from Git and compiles the gates its config chooses.
func (c *cli) gateEnv(cmd *cobra.Command, pipeline, env, ref, kubeVersion string) (gates.Input, *gates.Set, string, error) {
	p, err := c.pipeline(pipeline)
	if err != nil {
		return gates.Input{}, nil, "", err
	}
	if _, err := p.LookupEnv(env); err != nil {
		return gates.Input{}, nil, "", err
	}
	if e := p.Env(env); kubeVersion != "" && e.Gates.APIs != nil {
		apis := *e.Gates.APIs
		apis.KubernetesVersion = kubeVersion
		e.Gates.APIs = &apis
	}
	// Compile every environment's gates: a broken rule anywhere is a config error to fix now.
	sets, err := gates.ForPipeline(p)
	if err != nil {
		return gates.Input{}, nil, "", err
	}
	r, err := controller.RenderEnv(cmd.Context(), p, env, ref, c.controllerOptions())
	if err != nil {
		return gates.Input{}, nil, "", err
	}
	in := gates.Input{Pipeline: p.Metadata.Name, Env: r.Env, Objects: r.Objects, KubernetesVersion: kubeVersion}
	if in.KubernetesVersion == "" && r.Env.Gates.APIs != nil {
		in.KubernetesVersion = r.Env.Gates.APIs.KubernetesVersion
	}
	// Approvals, checks, soak, lineage and signature judge a promotion request, dry-run and drift ask the
	// target cluster: only the agent has a request and asks the cluster.
	set, skipped := sets[env].WithoutForge()
	if len(skipped) > 0 {
		c.log.Warn("not run here: these gates judge a promotion request or ask the target cluster; stagegate run evaluates them", "env", env, "gates", strings.Join(skipped, ","))
	}
	return in, set, r.SHA, nil
}

// isTerminal reports whether w is a terminal that wants colour (NO_COLOR unset).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
