package main

import (
	"fmt"
	"strings"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
)

// pipelines loads the config file and returns its pipelines, or only the one named.
func (c *cli) pipelines(name string) ([]config.Pipeline, error) {
	// Gates compile with the config, so a bad CEL rule is reported like any other config problem.
	all, err := config.Load(c.configPath, gates.Validate, gitsource.CheckSigning)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return all, nil
	}
	for _, p := range all {
		if p.Metadata.Name == name {
			return []config.Pipeline{p}, nil
		}
	}
	return nil, fmt.Errorf("%s has no pipeline %q; it has %s", c.configPath, name, pipelineNames(all))
}

// pipeline loads the config file and returns the pipeline named, or the only one when name is
// empty.
func (c *cli) pipeline(name string) (config.Pipeline, error) {
	ps, err := c.pipelines(name)
	if err != nil {
		return config.Pipeline{}, err
	}
	if len(ps) > 1 {
		return config.Pipeline{}, fmt.Errorf("%s has %d pipelines (%s): choose one with --pipeline", c.configPath, len(ps), pipelineNames(ps))
	}
	return ps[0], nil
}

func pipelineNames(ps []config.Pipeline) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Metadata.Name
	}
	return strings.Join(names, ", ")
}

// controllerOptions are the controller options every verb shares.
func (c *cli) controllerOptions() controller.Options {
	return controller.Options{CacheDir: c.cacheDir, Log: c.log}
}
