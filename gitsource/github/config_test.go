package github

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
)

func TestOptionsFor(t *testing.T) {
	repo := config.Repo{URL: "https://github.com/acme/shop.git", TokenEnv: "GIT_TOKEN"}
	for _, tc := range []struct {
		name  string
		forge config.Forge
		want  Auth
	}{
		{"the forge's own token wins", config.Forge{Type: config.ForgeGitHub, TokenFile: "/run/gh"}, Auth{TokenFile: "/run/gh"}},
		{"an App wins", config.Forge{Type: config.ForgeGitHub, App: &config.GitHubApp{AppID: 1, InstallationID: 2, PrivateKeyFile: "k.pem"}},
			Auth{App: &App{AppID: 1, InstallationID: 2, PrivateKeyFile: "k.pem"}}},
		{"without one, the repository's token", config.Forge{Type: config.ForgeGitHub}, Auth{TokenEnv: "GIT_TOKEN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.forge.BaseURL = "https://ghe.example.com/api/v3/"
			tc.forge.Timeout = config.Duration{Duration: 10 * time.Second}
			got := OptionsFor(config.Spec{Repo: repo, Forge: tc.forge}, nil)
			want := Options{Repo: repo.URL, BaseURL: tc.forge.BaseURL, Timeout: 10 * time.Second, Auth: tc.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
