package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/render"
)

func newRenderCmd(c *cli) *cobra.Command {
	var (
		pipeline, env, ref, output string
		repo                       config.Repo
		branch, path               string
		helm                       bool
	)
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Render an environment's manifests from Git, as stagegate gates and applies them",
		Example: `  # an environment of a configured pipeline, at its branch head or at a commit
  stagegate render --config stagegate.yaml --pipeline shop --env staging [--ref SHA]

  # any branch and path of any repository, no config file
  stagegate render --repo https://github.com/acme/shop-deploy.git --branch env/dev --path overlays/dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "yaml" && output != "json" {
				return fmt.Errorf("-o %q: want yaml or json", output)
			}
			var (
				r   controller.Rendering
				err error
			)
			if repo.URL != "" {
				if branch == "" || path == "" {
					return errors.New("--repo needs --branch and --path (for example --branch env/dev --path overlays/dev)")
				}
				r, err = controller.RenderBranch(cmd.Context(), repo, branch, path, ref, render.Options{Helm: helm}, c.controllerOptions())
			} else {
				if env == "" {
					return errors.New("--env is required (or use --repo, --branch and --path without a config file)")
				}
				var p config.Pipeline
				if p, err = c.pipeline(pipeline); err != nil {
					return err
				}
				r, err = controller.RenderEnv(cmd.Context(), p, env, ref, c.controllerOptions())
			}
			if err != nil {
				return err
			}
			c.log.Info("rendered", "env", r.Env.Name, "branch", r.Branch, "sha", r.SHA, "objects", len(r.Objects), "digest", r.Objects.Digest())
			return writeObjects(c, r.Objects, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&pipeline, "pipeline", "", "pipeline name (default: the only pipeline in the config)")
	f.StringVar(&env, "env", "", "environment to render")
	f.StringVar(&ref, "ref", "", "commit to render: a sha or branch (default: the environment branch's head)")
	f.StringVarP(&output, "output", "o", "yaml", "output format: yaml or json")
	f.StringVar(&repo.URL, "repo", "", "repository URL, for rendering without a config file")
	f.StringVar(&branch, "branch", "", "branch to render (with --repo)")
	f.StringVar(&path, "path", "", "directory to render, relative to the repository root (with --repo)")
	f.BoolVar(&helm, "helm", false, "allow kustomize helmCharts (with --repo; runs the helm binary)")
	f.StringVar(&repo.TokenEnv, "token-env", "", "environment variable holding an HTTP token (with --repo)")
	f.StringVar(&repo.TokenFile, "token-file", "", "file holding an HTTP token (with --repo)")
	f.StringVar(&repo.SSHKeyFile, "ssh-key", "", "SSH private key file (with --repo)")
	f.StringVar(&repo.SSHKnownHostsFile, "known-hosts", "", "SSH known_hosts file (with --repo; default ~/.ssh/known_hosts)")
	return cmd
}

// writeObjects prints a rendering as a YAML stream or as a JSON v1 List, like kubectl.
func writeObjects(c *cli, objs render.Objects, output string) error {
	if output == "yaml" {
		_, err := c.stdout.Write(objs.YAML())
		return err
	}
	items := make([]map[string]any, len(objs))
	for i, o := range objs {
		items[i] = o.Content
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
}
