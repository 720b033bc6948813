package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// APIVersion and Kind identify a Pipeline document.
const (
	APIVersion = "stagegate.dev/v1alpha1"
	Kind       = "Pipeline"
)

// Defaults, in one place. docs/config.md lists the same values; a test keeps them in step.
const (
	DefaultInterval    = time.Minute
	DefaultForge       = ForgeLocal
	DefaultMergeMethod = MergeMerge
	DefaultDriftMode   = DriftDetect
)

// Pipeline is one repository whose branches are environments, promoted in order.
type Pipeline struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`

	// File is the config file the pipeline was loaded from; set by Load, never read from YAML.
	File string `json:"-"`
}

// Metadata names a pipeline.
type Metadata struct {
	// Name identifies the pipeline in logs, metrics and the CLI (--pipeline). Required, a DNS label.
	Name string `json:"name"`
}

// Spec is what a pipeline promotes and how.
type Spec struct {
	Repo  Repo  `json:"repo"`
	Forge Forge `json:"forge"`
	// Interval between polls of the branch heads. Default 1m.
	Interval Duration `json:"interval,omitempty"`
	// Environments in promotion order: the first receives changes by ordinary PRs, each later one
	// is promoted from the one before it.
	Environments []Environment `json:"environments"`
	// Signing signs the promotion commits stagegate writes. Default: they are not signed.
	Signing *Signing `json:"signing,omitempty"`
}

// Signing is the OpenPGP key promotion commits are signed with, so that an environment branch
// is a chain of signed commits that git verify-commit, the signature gate and
// `stagegate audit --verify` can check.
type Signing struct {
	// Key is an armored OpenPGP private key file (gpg --export-secret-keys --armor KEYID),
	// relative to the config file's directory. Required. An RSA or Ed25519 key keeps promotion
	// commits deterministic (the same promotion, the same sha).
	Key string `json:"key"`
	// PassphraseEnv names an environment variable holding the key's passphrase. Default: none,
	// the key is not encrypted.
	PassphraseEnv string `json:"passphraseEnv,omitempty"`
}

// Resolve returns path as the pipeline's config refers to it: relative paths (of key and
// keyring files) are relative to the directory of the config file, so a config works whatever
// directory stagegate is started in.
func (p *Pipeline) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) || p.File == "" {
		return path
	}
	return filepath.Join(filepath.Dir(p.File), path)
}

// Repo is the Git repository holding the environment branches. Credentials are never inline:
// they are read from the named environment variables or files when stagegate connects.
type Repo struct {
	// URL of the repository: https://, http://, ssh://, git@host:path, file:// or an absolute path.
	URL string `json:"url"`

	// Username for HTTP basic auth. Default "x-access-token" when a token is set (GitHub's convention).
	Username string `json:"username,omitempty"`
	// TokenEnv names an environment variable holding an HTTP token (or password).
	TokenEnv string `json:"tokenEnv,omitempty"`
	// TokenFile names a file holding an HTTP token (or password); surrounding whitespace is trimmed.
	TokenFile string `json:"tokenFile,omitempty"`

	// SSHKeyFile is the private key for ssh:// and git@host:path URLs.
	SSHKeyFile string `json:"sshKeyFile,omitempty"`
	// SSHKeyPassphraseEnv names an environment variable holding the key's passphrase, if any.
	SSHKeyPassphraseEnv string `json:"sshKeyPassphraseEnv,omitempty"`
	// SSHKnownHostsFile is checked for the server's host key. Default ~/.ssh/known_hosts.
	// Host keys are always checked; there is no option to skip the check.
	SSHKnownHostsFile string `json:"sshKnownHostsFile,omitempty"`
}

// ForgeType selects where promotion requests live.
type ForgeType string

const (
	// ForgeLocal records promotion requests in the repository itself; it needs no forge.
	ForgeLocal ForgeType = "local"
	// ForgeGitHub opens pull requests on github.com or GitHub Enterprise Server.
	ForgeGitHub ForgeType = "github"
)

// Forge is where promotion requests are opened.
type Forge struct {
	// Type is local (default) or github.
	Type ForgeType `json:"type,omitempty"`
	// BaseURL of a GitHub Enterprise Server API (https://ghe.example.com/api/v3/). Empty: github.com.
	BaseURL string `json:"baseURL,omitempty"`

	// GitHub credentials: exactly one of TokenEnv, TokenFile and App. With none of them, the
	// forge uses the repository's token (spec.repo.tokenEnv or tokenFile).

	// TokenEnv names an environment variable holding a GitHub token.
	TokenEnv string `json:"tokenEnv,omitempty"`
	// TokenFile names a file holding a GitHub token; surrounding whitespace is trimmed.
	TokenFile string `json:"tokenFile,omitempty"`
	// App authenticates as a GitHub App installation, with short-lived installation tokens.
	App *GitHubApp `json:"app,omitempty"`
	// Timeout bounds one attempt of one GitHub API call. Default 30s.
	Timeout Duration `json:"timeout,omitempty"`
}

// GitHubApp is a GitHub App installation stagegate acts as.
type GitHubApp struct {
	// AppID is the App's numeric ID (the App's settings page shows it). Required.
	AppID int64 `json:"appID"`
	// InstallationID is the installation on the repository's owner. Required.
	InstallationID int64 `json:"installationID"`
	// PrivateKeyFile is the App's private key (PEM), as GitHub generated it. Required.
	PrivateKeyFile string `json:"privateKeyFile"`
}

// Environment is one branch of the repository and the cluster it deploys to.
type Environment struct {
	// Name of the environment (dev, staging, prod). Required, a DNS label, unique in the pipeline.
	Name string `json:"name"`
	// Branch holding the environment's state (env/dev). Required, unique in the pipeline.
	Branch string `json:"branch"`
	// Path of the directory rendered for this environment, relative to the repository root
	// (overlays/dev). Required.
	Path string `json:"path"`

	// Promote says how changes reach this environment from the one before it. Not allowed on the
	// first environment, which receives changes by ordinary PRs. After Load it is set on every
	// environment but the first (defaults filled in) and nil on the first.
	Promote *Promote `json:"promote,omitempty"`
	// Gates run on the rendered state before a promotion into this environment can merge.
	Gates Gates `json:"gates,omitempty"`
	// Render options for this environment.
	Render Render `json:"render,omitempty"`
	// Cluster this environment is applied to. Empty: stagegate renders and promotes but does not apply.
	Cluster *Cluster `json:"cluster,omitempty"`
	// Drift detection for the cluster. Needs cluster.
	Drift *Drift `json:"drift,omitempty"`
	// Rollback says how a rollback of this environment (stagegate rollback) is gated and merged.
	// Default: no gates, a person merges.
	Rollback *Rollback `json:"rollback,omitempty"`
}

// Rollback is the policy of rollback requests into an environment: a request whose tree is an
// earlier state of the environment's branch, opened by stagegate rollback.
type Rollback struct {
	// Gates run on the rolled-back state before the rollback can merge. Default none: a
	// rollback returns to a state the environment ran before.
	Gates Gates `json:"gates,omitempty"`
	// Auto merges the rollback once its gates pass and its approvals are in. Default false.
	Auto bool `json:"auto,omitempty"`
	// Approvals is the number of approving reviews required (none by who asked for the
	// rollback). Default 0.
	Approvals int `json:"approvals,omitempty"`
}

// MergeMethod is how a promotion request is merged.
type MergeMethod string

// Merge methods, as GitHub names them.
const (
	MergeMerge  MergeMethod = "merge"
	MergeSquash MergeMethod = "squash"
	MergeRebase MergeMethod = "rebase"
)

// Promote is the promotion policy into an environment.
type Promote struct {
	// Auto merges the promotion once every gate passes. Default false: a person merges.
	Auto bool `json:"auto,omitempty"`
	// Approvals is the number of approving reviews required (none by the change's author). Default 0.
	Approvals int `json:"approvals,omitempty"`
	// MergeMethod is merge (default), squash or rebase.
	MergeMethod MergeMethod `json:"mergeMethod,omitempty"`
}

// Render holds rendering options.
type Render struct {
	// Helm allows kustomize's helmCharts field, which runs the helm binary found on PATH.
	// Default false: a kustomization with helmCharts fails to render.
	Helm bool `json:"helm,omitempty"`
}

// Cluster says how to reach an environment's Kubernetes API server.
type Cluster struct {
	// Kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config, then in-cluster config.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context in the kubeconfig. Default: its current context.
	Context string `json:"context,omitempty"`
	// InventoryNamespace holds the record of what stagegate applied to this environment (a
	// ConfigMap stagegate-inventory-<pipeline>-<env>), which pruning and drift read. It must
	// exist or be one of the environment's objects. Default "default".
	InventoryNamespace string `json:"inventoryNamespace,omitempty"`
	// Prune makes the agent delete, when it applies, the objects it applied before that the
	// branch no longer renders (never those annotated stagegate.dev/prune: disabled).
	// Default false: removed objects stay and drift reports them as extra.
	Prune bool `json:"prune,omitempty"`
	// Wait makes the agent's apply wait for workloads to roll out (kstatus) before it posts the
	// stagegate/deploy status, so a soak gate counts from a finished rollout. Default false: the
	// status is posted once the apply is accepted.
	Wait bool `json:"wait,omitempty"`
	// ReadyTimeout bounds that wait; objects not ready by then fail the deploy. Default 5m.
	ReadyTimeout Duration `json:"readyTimeout,omitempty"`
}

// DefaultInventoryNamespace is where the inventory lives when cluster.inventoryNamespace is unset.
const DefaultInventoryNamespace = "default"

// DriftMode says what to do about drift.
type DriftMode string

// Drift modes.
const (
	// DriftDetect reports drift and changes nothing.
	DriftDetect DriftMode = "detect"
	// DriftCorrect re-applies drifted objects and records that it did.
	DriftCorrect DriftMode = "correct"
)

// Drift configures drift detection.
type Drift struct {
	// Schedule is a cron expression (five fields, or a descriptor like @every 10m). Required.
	Schedule string `json:"schedule"`
	// Mode is detect (default) or correct.
	Mode DriftMode `json:"mode,omitempty"`
	// Ignore lists differences that are not drift. Default none: every difference is drift.
	Ignore []DriftIgnore `json:"ignore,omitempty"`
}

// DriftIgnore keeps some differences between the cluster and the branch out of drift. It
// selects objects by group, kind, namespace and name (globs; empty matches any) and covers the
// fields under jsonPointers and the fields managers own in the live object. It needs at least
// one pointer or manager.
type DriftIgnore struct {
	// Group is the API group ("apps"; "" is any group, the core group included).
	Group string `json:"group,omitempty"`
	// Kind is the object kind ("Deployment"). Default any.
	Kind string `json:"kind,omitempty"`
	// Namespace is the object namespace. Default any.
	Namespace string `json:"namespace,omitempty"`
	// Name is the object name ("web-*"). Default any.
	Name string `json:"name,omitempty"`
	// JSONPointers are fields, with everything under them ("/spec/replicas"). A segment may be
	// a glob; a list item is named by index ("0") or by key ("name=web"). Default none.
	JSONPointers []string `json:"jsonPointers,omitempty"`
	// Managers are field managers (globs) whose fields in metadata.managedFields are ignored,
	// such as the HPA's kube-controller-manager owning spec.replicas. Default none.
	Managers []string `json:"managers,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("1m", "90s") in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string like \"1m\" or \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration like \"1m\" or \"30s\", got %q", s)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// LookupEnv returns the environment with the given name, or an error that lists the ones there are.
func (p *Pipeline) LookupEnv(name string) (*Environment, error) {
	if e := p.Env(name); e != nil {
		return e, nil
	}
	names := make([]string, len(p.Spec.Environments))
	for i, e := range p.Spec.Environments {
		names[i] = e.Name
	}
	return nil, fmt.Errorf("pipeline %s has no environment %q; it has %s", p.Metadata.Name, name, strings.Join(names, ", "))
}

// Env returns the environment with the given name, or nil.
func (p *Pipeline) Env(name string) *Environment {
	for i := range p.Spec.Environments {
		if p.Spec.Environments[i].Name == name {
			return &p.Spec.Environments[i]
		}
	}
	return nil
}
