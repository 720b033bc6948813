package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// yamlDoc strips the newline after the opening backquote, so that line 1 of the YAML is the
// first line of the literal and expected line numbers can be read off the test source.
func yamlDoc(s string) []byte { return []byte(strings.TrimPrefix(s, "\n")) }

// pipelineYAML is a Pipeline document named name: the usual apiVersion, kind, metadata and
// spec: lines, then spec, the fields under spec:. Like the literals given to yamlDoc it starts
// with a newline, and so does spec: the source line that calls pipelineYAML stands for the
// document's line 4 (spec:), and the lines of the spec literal below it are lines 5, 6, ….
func pipelineYAML(name, spec string) string {
	return "\napiVersion: stagegate.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: " + name + "}\nspec:" + spec
}

// problemLines returns what a user reads: one line per problem.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error is %T, want *ValidationError: %v", err, err)
	}
	return strings.Split(err.Error(), "\n")
}

var validBase = pipelineYAML("shop", `
  repo: {url: https://github.com/acme/shop-deploy.git, tokenEnv: GITHUB_TOKEN}
  forge: {type: github}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
    - name: prod
      branch: env/prod
      path: overlays/prod
`)

func TestParseAcceptsValidConfigs(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"the minimal two-environment pipeline", validBase},
		{"a single environment, rendered and gated but never promoted into", pipelineYAML("solo", `
  repo: {url: /srv/git/solo.git}
  environments:
    - {name: only, branch: main, path: .}
`)},
		{"an scp-like SSH URL with a key and known hosts", pipelineYAML("shop", `
  repo:
    url: git@github.com:acme/shop-deploy.git
    sshKeyFile: /etc/stagegate/id_ed25519
    sshKeyPassphraseEnv: SSH_KEY_PASSPHRASE
    sshKnownHostsFile: /etc/stagegate/known_hosts
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
`)},
		{"an ssh:// URL with a user name", pipelineYAML("shop", `
  repo: {url: "ssh://git@git.example.com:2222/acme/shop.git", sshKeyFile: key}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
`)},
		{"GitHub Enterprise with an https base URL and a token file", pipelineYAML("shop", `
  repo: {url: https://ghe.example.com/acme/shop.git, username: stagegate-bot, tokenFile: /run/secrets/token}
  forge: {type: github, baseURL: https://ghe.example.com/api/v3/}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
`)},
		{"a GitHub emulator on loopback over plain http", pipelineYAML("shop", `
  repo: {url: "http://127.0.0.1:8080/acme/shop.git", tokenEnv: TOKEN}
  forge: {type: github, baseURL: "http://127.0.0.1:8080/api/v3/"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
`)},
		{"drift on every cron form: five fields, a descriptor, @every and a time zone", pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: a, branch: env/a, path: a, cluster: {}, drift: {schedule: "*/10 * * * *"}}
    - {name: b, branch: env/b, path: b, cluster: {}, drift: {schedule: "@hourly", mode: correct}}
    - {name: c, branch: env/c, path: c, cluster: {}, drift: {schedule: "@every 5m"}}
    - {name: d, branch: env/d, path: d, cluster: {}, drift: {schedule: "CRON_TZ=Europe/Berlin 0 6 * * MON-FRI"}}
`)},
		{"anchors and merge keys share settings between environments", pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      cluster: &cluster {kubeconfig: /etc/kube/config}
    - &promoted
      name: staging
      branch: env/staging
      path: overlays/staging
      promote: {auto: true, mergeMethod: squash}
      cluster: *cluster
    - <<: *promoted
      name: prod
      branch: env/prod
      path: overlays/prod
`)},
		{"two pipelines in one file", validBase + "---" + pipelineYAML("billing", `
  repo: {url: "https://github.com/acme/billing-deploy.git"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
`)},
		{"comments, empty documents and a leading document marker", "# pipelines\n---\n" + strings.TrimPrefix(validBase, "\n") + "---\n# nothing here\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Parse(yamlDoc(tt.yaml), "stagegate.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(ps) == 0 {
				t.Fatal("Parse returned no pipelines")
			}
			for _, p := range ps {
				if p.File != "stagegate.yaml" {
					t.Errorf("pipeline %s: File = %q, want stagegate.yaml", p.Metadata.Name, p.File)
				}
			}
		})
	}
}

func TestParseMergeKeysOverrideAndShare(t *testing.T) {
	ps, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - &staging
      name: staging
      branch: env/staging
      path: overlays/staging
      promote: {auto: true, approvals: 1}
    - <<: *staging
      name: prod
      branch: env/prod
      path: overlays/prod
`)), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	prod := ps[0].Env("prod")
	want := Environment{Name: "prod", Branch: "env/prod", Path: "overlays/prod",
		Promote: &Promote{Auto: true, Approvals: 1, MergeMethod: MergeMerge}}
	if diff := cmp.Diff(want, *prod); diff != "" {
		t.Errorf("prod (-want +got):\n%s", diff)
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	ps, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev, cluster: {}, drift: {schedule: "@hourly"}}
    - {name: prod, branch: env/prod, path: overlays/prod}
`)), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Repo:     Repo{URL: "file:///tmp/shop.git"},
		Forge:    Forge{Type: ForgeLocal},
		Interval: Duration{time.Minute},
		Environments: []Environment{
			{Name: "dev", Branch: "env/dev", Path: "overlays/dev", Cluster: &Cluster{InventoryNamespace: DefaultInventoryNamespace},
				Drift: &Drift{Schedule: "@hourly", Mode: DriftDetect}},
			{Name: "prod", Branch: "env/prod", Path: "overlays/prod",
				Promote: &Promote{MergeMethod: MergeMerge}},
		},
	}
	if diff := cmp.Diff(want, ps[0].Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

func TestParseKeepsWhatTheUserWrote(t *testing.T) {
	ps, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: "https://github.com/acme/shop.git", username: bot, tokenEnv: GH_TOKEN}
  forge: {type: github}
  interval: 90s
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      render: {helm: true}
      cluster: {kubeconfig: /etc/kube/dev, context: dev}
      drift: {schedule: "*/5 * * * *", mode: correct}
    - name: prod
      branch: env/prod
      path: overlays/prod
      promote: {auto: true, approvals: 2, mergeMethod: rebase}
      gates:
        apis: {kubernetesVersion: "1.30"}
        security: {severity: {security/privileged: warning}}
`)), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Repo:     Repo{URL: "https://github.com/acme/shop.git", Username: "bot", TokenEnv: "GH_TOKEN"},
		Forge:    Forge{Type: ForgeGitHub},
		Interval: Duration{90 * time.Second},
		Environments: []Environment{
			{Name: "dev", Branch: "env/dev", Path: "overlays/dev", Render: Render{Helm: true},
				Cluster: &Cluster{Kubeconfig: "/etc/kube/dev", Context: "dev", InventoryNamespace: DefaultInventoryNamespace},
				Drift:   &Drift{Schedule: "*/5 * * * *", Mode: DriftCorrect}},
			{Name: "prod", Branch: "env/prod", Path: "overlays/prod",
				Promote: &Promote{Auto: true, Approvals: 2, MergeMethod: MergeRebase},
				Gates: Gates{
					APIs:     &APIsGate{KubernetesVersion: "1.30"},
					Security: &SecurityGate{GateCommon: GateCommon{Severity: map[string]Severity{"security/privileged": SeverityWarning}}},
				}},
		},
	}
	if diff := cmp.Diff(want, ps[0].Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
}

func TestParseReportsProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "a misspelt field names the closest known one, and the field it hides is not also reported missing",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      brnach: env/dev
      path: overlays/dev
`),
			want: []string{`stagegate.yaml:8: spec.environments[0].brnach: unknown field (did you mean "branch"?)`},
		},
		{
			name: "an unknown field with no close match lists the known fields",
			yaml: `
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: shop, labels: {team: a}}
spec:
  repo: {url: "file:///tmp/shop.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`,
			want: []string{`stagegate.yaml:3: metadata.labels: unknown field; known fields: name`},
		},
		{
			name: "field names are case-sensitive",
			yaml: pipelineYAML("shop", `
  repo: {url: "https://github.com/acme/shop.git", TokenEnv: GITHUB_TOKEN}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{`stagegate.yaml:5: spec.repo.TokenEnv: unknown field (did you mean "tokenEnv"?)`},
		},
		{
			name: "a mapping where a list belongs",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    dev: {branch: env/dev, path: overlays/dev}
`),
			want: []string{`stagegate.yaml:7: spec.environments: want a list (- item), got a mapping`},
		},
		{
			name: "a string where a mapping belongs",
			yaml: `
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: shop
spec:
  repo: {url: "file:///tmp/shop.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`,
			want: []string{`stagegate.yaml:3: metadata: want a mapping (key: value), got the string "shop"`},
		},
		{
			name: "an unquoted version number is refused with the quoted form to write",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      gates:
        apis: {kubernetesVersion: 1.30}
`),
			want: []string{`stagegate.yaml:11: spec.environments[0].gates.apis.kubernetesVersion: want a string, got the number 1.30, which YAML reads as 1.3; quote it: "1.30"`},
		},
		{
			name: "a boolean where a string belongs",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments: [{name: dev, branch: true, path: overlays/dev}]
`),
			want: []string{`stagegate.yaml:6: spec.environments[0].branch: want a string, got the boolean true; quote it: "true"`},
		},
		{
			name: "a word where a number or a boolean belongs",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - name: prod
      branch: env/prod
      path: overlays/prod
      promote: {auto: "yes", approvals: two}
`),
			want: []string{
				`stagegate.yaml:11: spec.environments[1].promote.auto: want true or false, got the string "yes"`,
				`stagegate.yaml:11: spec.environments[1].promote.approvals: want a whole number, got the string "two"`,
			},
		},
		{
			name: "a number where a duration belongs",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  interval: 60
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{`stagegate.yaml:6: spec.interval: want a duration string like "1m" or "30s"`},
		},
		{
			name: "a duplicate key points at the first one",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      branch: env/develop
`),
			want: []string{`stagegate.yaml:10: spec.environments[0].branch: duplicate key, first set on line 8; keep one`},
		},
		{
			name: "a missing field is reported at the line of the mapping that lacks it",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - {name: staging, branch: env/staging, path: overlays/staging}
    - name: prod
      path: overlays/prod
`),
			want: []string{`stagegate.yaml:9: spec.environments[2].branch: required`},
		},
		{
			name: "apiVersion and kind must name a stagegate Pipeline",
			yaml: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  repo: {url: "file:///tmp/shop.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`,
			want: []string{
				`stagegate.yaml:1: apiVersion: want stagegate.dev/v1alpha1, got "apps/v1"`,
				`stagegate.yaml:2: kind: want Pipeline, got "Deployment"`,
			},
		},
		{
			name: "a document without apiVersion, kind or name says what to write",
			yaml: `
spec:
  repo: {url: "file:///tmp/shop.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`,
			want: []string{
				`stagegate.yaml:1: apiVersion: required; write apiVersion: stagegate.dev/v1alpha1`,
				`stagegate.yaml:1: kind: required; write kind: Pipeline`,
				`stagegate.yaml:1: metadata.name: required`,
			},
		},
		{
			name: "names are DNS labels, with the lowercase form suggested",
			yaml: pipelineYAML("Shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: dev_1, branch: env/dev, path: overlays/dev}
`),
			want: []string{
				`stagegate.yaml:3: metadata.name: "Shop" is not a DNS label; use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit like "shop"`,
				`stagegate.yaml:7: spec.environments[0].name: "dev_1" is not a DNS label; use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
			},
		},
		{
			name: "a repository URL is required",
			yaml: pipelineYAML("shop", `
  repo: {tokenEnv: GITHUB_TOKEN}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{`stagegate.yaml:5: spec.repo.url: required; use one of ` + urlForms},
		},
		{
			name: "credentials in the URL are refused without repeating them",
			yaml: pipelineYAML("shop", `
  repo: {url: "https://bot:ghp_s3cret@github.com/acme/shop.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{`stagegate.yaml:5: spec.repo.url: credentials in the URL are not allowed; remove them and use tokenEnv or tokenFile (with username if the server needs one)`},
		},
		{
			name: "a token written as the user of an https URL is refused",
			yaml: pipelineYAML("shop", `
  repo: {url: "https://ghp_s3cret@github.com/acme/shop.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{`stagegate.yaml:5: spec.repo.url: credentials in the URL are not allowed; remove them and use tokenEnv or tokenFile (with username if the server needs one)`},
		},
		{
			name: "unsupported schemes and relative paths are refused",
			yaml: pipelineYAML("shop", `
  repo: {url: "git://example.com/shop.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("billing", `
  repo: {url: "./billing.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{
				`stagegate.yaml:5: pipeline shop: spec.repo.url: unsupported scheme "git"; use one of ` + urlForms,
				`stagegate.yaml:12: pipeline billing: spec.repo.url: not a URL or an absolute path; use one of ` + urlForms,
			},
		},
		{
			name: "token and SSH settings must fit the URL, and one token source at most",
			yaml: pipelineYAML("shop", `
  repo:
    url: git@github.com:acme/shop.git
    tokenEnv: GITHUB_TOKEN
    tokenFile: /run/secrets/token
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("billing", `
  repo:
    url: https://github.com/acme/billing.git
    sshKeyFile: /etc/stagegate/id_ed25519
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{
				`stagegate.yaml:7: pipeline shop: spec.repo.tokenEnv: only used with http:// and https:// URLs; remove it, or use an https URL`,
				`stagegate.yaml:8: pipeline shop: spec.repo.tokenFile: only used with http:// and https:// URLs; remove it, or use an https URL`,
				`stagegate.yaml:8: pipeline shop: spec.repo.tokenFile: set together with tokenEnv; keep one of them`,
				`stagegate.yaml:17: pipeline billing: spec.repo.sshKeyFile: only used with ssh:// and git@host:path URLs; remove it, or use an SSH URL`,
			},
		},
		{
			name: "tokenEnv holding a token instead of a variable name is refused without repeating it",
			yaml: pipelineYAML("shop", `
  repo: {url: "https://github.com/acme/shop.git", tokenEnv: "ghp_abc/123"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{`stagegate.yaml:5: spec.repo.tokenEnv: not an environment variable name; write the name of the variable that holds the secret (GITHUB_TOKEN), not its value`},
		},
		{
			name: "forge type and base URL",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  forge: {type: gitlab}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("billing", `
  repo: {url: "file:///tmp/billing.git"}
  forge: {baseURL: "https://ghe.example.com/api/v3/"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("web", `
  repo: {url: "file:///tmp/web.git"}
  forge: {type: github, tokenEnv: GITHUB_TOKEN, baseURL: "http://ghe.example.com/api/v3/"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{
				`stagegate.yaml:6: pipeline shop: spec.forge.type: unknown forge type "gitlab"; use local or github`,
				`stagegate.yaml:14: pipeline billing: spec.forge.baseURL: only used with type github; remove it, or set type: github`,
				`stagegate.yaml:22: pipeline web: spec.forge.baseURL: must use https:// (http:// is only allowed on loopback, for tests)`,
			},
		},
		{
			name: "github needs one credential, its own or the repository's",
			yaml: pipelineYAML("shop", `
  repo: {url: "https://github.com/acme/shop.git"}
  forge: {type: github}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("billing", `
  repo: {url: "https://github.com/acme/billing.git"}
  forge:
    type: github
    tokenEnv: GITHUB_TOKEN
    app: {appID: 0, privateKeyFile: ""}
    timeout: -1s
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("web", `
  repo: {url: "https://github.com/acme/web.git", tokenEnv: GITHUB_TOKEN}
  forge: {tokenFile: /run/token}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("api", `
  repo: {url: "https://github.com/acme/api.git", tokenEnv: GITHUB_TOKEN}
  forge: {type: github}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{
				`stagegate.yaml:6: pipeline shop: spec.forge: type github needs credentials; set tokenEnv, tokenFile or app here, or spec.repo.tokenEnv or tokenFile`,
				`stagegate.yaml:17: pipeline billing: spec.forge.app: set only one of tokenEnv, tokenFile and app; remove app`,
				`stagegate.yaml:17: pipeline billing: spec.forge.app.appID: required; the numeric App ID from the App's settings page`,
				`stagegate.yaml:17: pipeline billing: spec.forge.app.installationID: required; the numeric ID in the installation's settings URL (…/settings/installations/<id>)`,
				`stagegate.yaml:17: pipeline billing: spec.forge.app.privateKeyFile: required; the path of the App's private key (.pem) as GitHub generated it`,
				`stagegate.yaml:18: pipeline billing: spec.forge.timeout: -1s is negative; leave it out for the default 30s`,
				`stagegate.yaml:26: pipeline web: spec.forge.tokenFile: only used with type github; remove it, or set type: github`,
			},
		},
		{
			name: "the interval has a minimum and cannot be negative",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  interval: 5s
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
---`) + pipelineYAML("billing", `
  repo: {url: "file:///tmp/billing.git"}
  interval: -1m
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`),
			want: []string{
				`stagegate.yaml:6: pipeline shop: spec.interval: 5s is shorter than the minimum 10s; use 10s or more (webhooks trigger a cycle at once)`,
				`stagegate.yaml:14: pipeline billing: spec.interval: -1m is negative; leave it out for the default 1m`,
			},
		},
		{
			name: "a pipeline needs at least one environment",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments: []
`),
			want: []string{`stagegate.yaml:6: spec.environments: required; list at least one environment (name, branch, path)`},
		},
		{
			name: "environment names and branches are unique",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - {name: dev, branch: env/dev, path: overlays/dev2}
`),
			want: []string{
				`stagegate.yaml:8: spec.environments[1].name: duplicate environment name "dev", also used by spec.environments[0]; give each environment its own name`,
				`stagegate.yaml:8: spec.environments[1].branch: branch "env/dev" is also used by spec.environments[0]; each environment needs its own branch`,
			},
		},
		{
			name: "branches follow git check-ref-format and stay out of stagegate's namespace",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: a, branch: env dev, path: a}
    - {name: b, branch: refs/heads/env/b, path: b}
    - {name: c, branch: env/c.lock, path: c}
    - {name: d, branch: stagegate/promote/d, path: d}
    - {name: e, branch: "env/e..f", path: e}
    - {name: f, branch: "env/f/", path: f}
    - {name: g, branch: "env/.g", path: g}
    - {name: h, branch: "env~h", path: h}
    - {name: i, branch: "env/i@{1}", path: i}
`),
			want: []string{
				`stagegate.yaml:7: spec.environments[0].branch: "env dev" is not a valid branch name: it cannot contain spaces`,
				`stagegate.yaml:8: spec.environments[1].branch: write the branch name without refs/heads/, like "env/b"`,
				`stagegate.yaml:9: spec.environments[2].branch: "env/c.lock" is not a valid branch name: no part between slashes can end with ".lock"`,
				`stagegate.yaml:10: spec.environments[3].branch: branches under stagegate/ are reserved for promotion branches; use another name, like env/<environment>`,
				`stagegate.yaml:11: spec.environments[4].branch: "env/e..f" is not a valid branch name: it cannot contain ".."`,
				`stagegate.yaml:12: spec.environments[5].branch: "env/f/" is not a valid branch name: it cannot start or end with '/'`,
				`stagegate.yaml:13: spec.environments[6].branch: "env/.g" is not a valid branch name: no part between slashes can start with '.'`,
				`stagegate.yaml:14: spec.environments[7].branch: "env~h" is not a valid branch name: it cannot contain '~'`,
				`stagegate.yaml:15: spec.environments[8].branch: "env/i@{1}" is not a valid branch name: it cannot contain "@{"`,
			},
		},
		{
			name: "paths are relative, clean and inside the repository",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - {name: a, branch: env/a, path: /overlays/a}
    - {name: b, branch: env/b, path: ../b}
    - {name: c, branch: env/c, path: overlays/c/}
    - {name: d, branch: env/d, path: 'overlays\d'}
    - {name: e, branch: env/e, path: overlays/../../e}
`),
			want: []string{
				`stagegate.yaml:7: spec.environments[0].path: must be relative to the repository root; write "overlays/a"`,
				`stagegate.yaml:8: spec.environments[1].path: leads out of the repository; use a directory inside it`,
				`stagegate.yaml:9: spec.environments[2].path: write it in clean form, "overlays/c"`,
				`stagegate.yaml:10: spec.environments[3].path: use / as the separator, like "overlays/d"`,
				`stagegate.yaml:11: spec.environments[4].path: leads out of the repository; use a directory inside it`,
			},
		},
		{
			name: "promotion policy: not on the first environment, approvals and merge method checked",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      promote: {auto: true}
    - name: prod
      branch: env/prod
      path: overlays/prod
      promote: {approvals: -1, mergeMethod: fast-forward}
`),
			want: []string{
				`stagegate.yaml:10: spec.environments[0].promote: not allowed on the first environment, which receives changes by ordinary pull requests; remove it`,
				`stagegate.yaml:14: spec.environments[1].promote.approvals: must be 0 or more`,
				`stagegate.yaml:14: spec.environments[1].promote.mergeMethod: unknown merge method "fast-forward"; use merge, squash or rebase`,
			},
		},
		{
			name: "drift needs a cluster, a cron schedule and a known mode",
			yaml: pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      drift: {schedule: "@hourly"}
    - name: prod
      branch: env/prod
      path: overlays/prod
      cluster: {context: prod}
      drift:
        schedule: "*/10 * * *"
        mode: fix
    - name: dr
      branch: env/dr
      path: overlays/dr
      cluster: {context: dr}
      drift: {}
`),
			want: []string{
				`stagegate.yaml:10: spec.environments[0].drift: needs a cluster to compare with; add cluster (kubeconfig, context) to this environment or remove drift`,
				`stagegate.yaml:16: spec.environments[1].drift.schedule: not a cron schedule (expected exactly 5 fields, found 4: [*/10 * * *]); use five fields (minute hour day-of-month month day-of-week) like "*/10 * * * *", or a descriptor like "@hourly" or "@every 10m"`,
				`stagegate.yaml:17: spec.environments[1].drift.mode: unknown drift mode "fix"; use detect or correct`,
				`stagegate.yaml:22: spec.environments[2].drift.schedule: required; a cron schedule like "*/10 * * * *" or "@every 10m"`,
			},
		},
		{
			name: "a YAML syntax error is reported with its line",
			yaml: `
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: shop
spec:
`,
			want: []string{`stagegate.yaml:3: invalid YAML: did not find expected ',' or '}'`},
		},
		{
			name: "an empty file says what to write",
			yaml: "# nothing yet\n",
			want: []string{`stagegate.yaml: no Pipeline document found; start the file with apiVersion: stagegate.dev/v1alpha1 and kind: Pipeline (see docs/config.md)`},
		},
		{
			name: "pipeline names are unique across documents",
			yaml: validBase + "---\n" + strings.TrimPrefix(validBase, "\n"),
			want: []string{`stagegate.yaml:17: pipeline shop: metadata.name: duplicate pipeline name "shop", also used by document 1 (line 3); give each pipeline its own name`},
		},
		{
			name: "a document without a name is identified by its index",
			yaml: validBase + `---
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
spec:
  repo: {url: "file:///tmp/billing.git"}
  environments: [{name: dev, branch: env/dev, path: overlays/dev}]
`,
			want: []string{`stagegate.yaml:15: document 2: metadata.name: required`},
		},
		{
			name: "aliases that expand without bound are refused",
			yaml: `
apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: shop}
anchors:
  k: &k [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a]
  r: &r {name: r, expression: "true", match: {kinds: *k, namespaces: *k, groups: *k}}
  rules: &rules [*r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r, *r]
  env: &env {name: dev, branch: env/dev, path: x, gates: {policy: {rules: *rules}}}
spec:
  repo: {url: "file:///tmp/shop.git"}
  environments: [*env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env, *env]
`,
			want: []string{
				`stagegate.yaml:1: document too large: its aliases expand to more than 100000 values; write the values out or use fewer aliases`,
				`stagegate.yaml:4: anchors: unknown field; known fields: apiVersion, kind, metadata, spec`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := Parse(yamlDoc(tt.yaml), "stagegate.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded with %d pipelines, want problems", len(ps))
			}
			if ps != nil {
				t.Errorf("Parse returned %d pipelines with its error, want none", len(ps))
			}
			if diff := cmp.Diff(tt.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// A config with several problems in different places reports all of them, in file order.
func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: "https://github.com/acme/shop.git", tokenEnv: GITHUB_TOKEN, sshKeyFile: key}
  forge: {type: github}
  interval: 1s
  environments:
    - name: dev
      branch: env/dev
      path: /overlays/dev
      promote: {auto: true}
    - name: staging
      brnach: env/staging
      path: overlays/staging
    - name: Prod
      branch: env/prod
      path: overlays/prod
      promote: {approvals: 2, mergeMethod: ff}
      drift: {schedule: "@hourly"}
`)), "stagegate.yaml")
	want := []string{
		`stagegate.yaml:5: spec.repo.sshKeyFile: only used with ssh:// and git@host:path URLs; remove it, or use an SSH URL`,
		`stagegate.yaml:7: spec.interval: 1s is shorter than the minimum 10s; use 10s or more (webhooks trigger a cycle at once)`,
		`stagegate.yaml:11: spec.environments[0].path: must be relative to the repository root; write "overlays/dev"`,
		`stagegate.yaml:12: spec.environments[0].promote: not allowed on the first environment, which receives changes by ordinary pull requests; remove it`,
		`stagegate.yaml:14: spec.environments[1].brnach: unknown field (did you mean "branch"?)`,
		`stagegate.yaml:16: spec.environments[2].name: "Prod" is not a DNS label; use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit like "prod"`,
		`stagegate.yaml:19: spec.environments[2].promote.mergeMethod: unknown merge method "ff"; use merge, squash or rebase`,
		`stagegate.yaml:20: spec.environments[2].drift: needs a cluster to compare with; add cluster (kubeconfig, context) to this environment or remove drift`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}

	// Each problem is a value a program can use, reachable with errors.As.
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error is %T, want *ValidationError", err)
	}
	wantFirst := Problem{File: "stagegate.yaml", Line: 5, Path: "spec.repo.sshKeyFile",
		Message: "only used with ssh:// and git@host:path URLs; remove it, or use an SSH URL"}
	if diff := cmp.Diff(wantFirst, verr.Problems[0]); diff != "" {
		t.Errorf("first problem (-want +got):\n%s", diff)
	}
	var p Problem
	if !errors.As(err, &p) || p != wantFirst {
		t.Errorf("errors.As(err, *Problem) = %+v, want the first problem", p)
	}
}

// The gates' own checks come back with their path and the line that sets the field.
func TestParseReportsGateProblemsWithTheirLine(t *testing.T) {
	_, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      gates:
        apis:
          kubernetesVersion: "one.two"
`)), "stagegate.yaml")
	lines := problemLines(t, err)
	const prefix = "stagegate.yaml:12: spec.environments[0].gates.apis.kubernetesVersion: "
	if len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
		t.Errorf("problems = %q, want one starting %q", lines, prefix)
	}
}

func TestLoad(t *testing.T) {
	t.Run("the example in examples/ loads: dev, staging and prod", func(t *testing.T) {
		ps, err := Load(filepath.Join("..", "examples", "stagegate.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var names, branches, paths []string
		for _, e := range ps[0].Spec.Environments {
			names, branches, paths = append(names, e.Name), append(branches, e.Branch), append(paths, e.Path)
		}
		want := [][]string{{"dev", "staging", "prod"}, {"env/dev", "env/staging", "env/prod"}, {"overlays/dev", "overlays/staging", "overlays/prod"}}
		if diff := cmp.Diff(want, [][]string{names, branches, paths}); diff != "" {
			t.Errorf("environments (-want +got):\n%s", diff)
		}
	})
	t.Run("problems name the file as given", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(path, []byte("apiVersion: stagegate.dev/v1alpha1\nkind: Pipeline\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+":1: metadata.name: required") {
			t.Errorf("Load = %v, want problems starting %s:1: metadata.name: required", err, path)
		}
	})
	t.Run("a missing file names the path and the fix", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "stagegate.yaml")
		_, err := Load(path)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load = %v, want an error matching fs.ErrNotExist", err)
		}
		want := "read config: open " + path + ": no such file or directory; create it (see docs/config.md) or pass --config with its path"
		if err == nil || err.Error() != want {
			t.Errorf("Load = %v\nwant %s", err, want)
		}
	})
}

func TestParseShowsAtMostMaxProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(strings.TrimPrefix(pipelineYAML("shop", "\n  repo: {url: /srv/shop.git}\n  environments:\n"), "\n"))
	for i := range 150 {
		fmt.Fprintf(&b, "    - {name: e%d, branch: env/e%d, path: /e%d}\n", i, i, i)
	}
	lines := problemLines(t, func() error { _, err := Parse([]byte(b.String()), "stagegate.yaml"); return err }())
	if len(lines) != maxProblems+1 {
		t.Fatalf("got %d lines, want %d problems and a count", len(lines), maxProblems)
	}
	if want := "stagegate.yaml: 50 more problems not shown; fix these first and run again"; lines[maxProblems] != want {
		t.Errorf("last line = %q, want %q", lines[maxProblems], want)
	}
}

// A key written with no value is present: the gate, cluster, drift or promote block it names is
// on, with its defaults, exactly as if the user had written {}.
func TestParseNullBlockIsPresent(t *testing.T) {
	ps, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      cluster:
      gates:
        schema:
        apis:
        security:
        resources: {budget: }
    - name: prod
      branch: env/prod
      path: overlays/prod
      promote:
`)), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dev, prod := ps[0].Spec.Environments[0], ps[0].Spec.Environments[1]
	want := Gates{Schema: &SchemaGate{}, APIs: &APIsGate{}, Security: &SecurityGate{}, Resources: &ResourcesGate{Budget: &Budget{}}}
	if diff := cmp.Diff(want, dev.Gates); diff != "" {
		t.Errorf("gates (-want +got):\n%s", diff)
	}
	if dev.Cluster == nil {
		t.Error("cluster: (null) left no cluster; want the cluster with its defaults")
	}
	if diff := cmp.Diff(&Promote{MergeMethod: MergeMerge}, prod.Promote); diff != "" {
		t.Errorf("promote (-want +got):\n%s", diff)
	}
}

// Present-but-null blocks are validated like written ones: a null drift is a drift block
// without its required schedule, and a null promote on the first environment is refused.
func TestParseReportsProblemsInNullBlocks(t *testing.T) {
	_, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: "file:///tmp/shop.git"}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      promote:
      cluster:
      drift:
    - name: prod
      branch: env/prod
      path: overlays/prod
      drift:
      gates:
        policy:
`)), "stagegate.yaml")
	want := []string{
		`stagegate.yaml:10: spec.environments[0].promote: not allowed on the first environment, which receives changes by ordinary pull requests; remove it`,
		`stagegate.yaml:12: spec.environments[0].drift.schedule: required; a cron schedule like "*/10 * * * *" or "@every 10m"`,
		`stagegate.yaml:16: spec.environments[1].drift: needs a cluster to compare with; add cluster (kubeconfig, context) to this environment or remove drift`,
		`stagegate.yaml:16: spec.environments[1].drift.schedule: required; a cron schedule like "*/10 * * * *" or "@every 10m"`,
		`stagegate.yaml:18: spec.environments[1].gates.policy.rules: want at least one rule`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
