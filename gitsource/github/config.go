package github

import (
	"log/slog"

	"github.com/stagegate-dev/stagegate/config"
)

// OptionsFor reads a pipeline's forge options from its config. The forge's own credential
// (spec.forge.tokenEnv, tokenFile or app) wins; without one, the repository's token
// (spec.repo.tokenEnv or tokenFile) is used, as config's validation allows.
func OptionsFor(spec config.Spec, log *slog.Logger) Options {
	f := spec.Forge
	o := Options{Repo: spec.Repo.URL, BaseURL: f.BaseURL, Timeout: f.Timeout.Duration, Logger: log}
	switch {
	case f.App != nil:
		o.Auth.App = &App{AppID: f.App.AppID, InstallationID: f.App.InstallationID, PrivateKeyFile: f.App.PrivateKeyFile}
	case f.TokenEnv != "" || f.TokenFile != "":
		o.Auth.TokenEnv, o.Auth.TokenFile = f.TokenEnv, f.TokenFile
	default:
		o.Auth.TokenEnv, o.Auth.TokenFile = spec.Repo.TokenEnv, spec.Repo.TokenFile
	}
	return o
}
