package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinInterval is the shortest poll interval accepted. Polls are cheap (ls-remote), but a
// forge rate-limits them; webhooks are the way to react at once.
const MinInterval = 10 * time.Second

// Problem is one thing wrong in a config file, with where it is and what to do about it.
type Problem struct {
	File string
	// Line is 1-based; 0 when the problem is about the file as a whole.
	Line int
	// Pipeline and Document name the document when the file holds more than one: the
	// pipeline's name (may be empty) and the document's 1-based index. Both are zero otherwise.
	Pipeline string
	Document int
	// Path is the YAML path of the field: spec.environments[2].branch.
	Path string
	// Message says what is wrong and, after "; ", how to fix it.
	Message string
}

// Error formats the problem as FILE:LINE: PATH: MESSAGE, the way compilers do, so that editors
// can jump to it.
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	switch {
	case p.Document > 0 && p.Pipeline != "":
		fmt.Fprintf(&b, "pipeline %s: ", p.Pipeline)
	case p.Document > 0:
		fmt.Fprintf(&b, "document %d: ", p.Document)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError is every problem found in a config file. It is terminal: nothing in the file
// changes by retrying. Match it with errors.As; each Problem is also reachable with errors.As
// through Unwrap, as with errors.Join.
type ValidationError struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// validate checks a defaulted pipeline and returns every problem, with Path and Message set;
// the caller adds the file and line.
func validate(p *Pipeline) []Problem {
	var c checker
	switch p.APIVersion {
	case APIVersion:
	case "":
		c.add("apiVersion", "required; write apiVersion: %s", APIVersion)
	default:
		c.add("apiVersion", "want %s, got %q", APIVersion, p.APIVersion)
	}
	switch p.Kind {
	case Kind:
	case "":
		c.add("kind", "required; write kind: %s", Kind)
	default:
		c.add("kind", "want %s, got %q", Kind, p.Kind)
	}
	c.dnsLabel("metadata.name", p.Metadata.Name)

	c.repo("spec.repo", p.Spec.Repo)
	c.forge("spec.forge", p.Spec.Forge, p.Spec.Repo)
	switch iv := p.Spec.Interval.Duration; {
	case iv < 0:
		c.add("spec.interval", "%s is negative; leave it out for the default %s", fmtDuration(iv), fmtDuration(DefaultInterval))
	case iv < MinInterval:
		c.add("spec.interval", "%s is shorter than the minimum %s; use %s or more (webhooks trigger a cycle at once)",
			fmtDuration(iv), fmtDuration(MinInterval), fmtDuration(MinInterval))
	}

	if len(p.Spec.Environments) == 0 {
		c.add("spec.environments", "required; list at least one environment (name, branch, path)")
	}
	names, branches := map[string]int{}, map[string]int{}
	for i, env := range p.Spec.Environments {
		at := fmt.Sprintf("spec.environments[%d]", i)
		if c.dnsLabel(at+".name", env.Name) {
			if j, dup := names[env.Name]; dup {
				c.add(at+".name", "duplicate environment name %q, also used by spec.environments[%d]; give each environment its own name", env.Name, j)
			} else {
				names[env.Name] = i
			}
		}
		if c.branch(at+".branch", env.Branch) {
			if j, dup := branches[env.Branch]; dup {
				c.add(at+".branch", "branch %q is also used by spec.environments[%d]; each environment needs its own branch", env.Branch, j)
			} else {
				branches[env.Branch] = i
			}
		}
		c.renderPath(at+".path", env.Path)
		if env.Promote != nil {
			if i == 0 {
				c.add(at+".promote", "not allowed on the first environment, which receives changes by ordinary pull requests; remove it")
			}
			c.promote(at+".promote", *env.Promote)
		}
		if env.Cluster != nil && env.Cluster.ReadyTimeout.Duration < 0 {
			c.add(at+".cluster.readyTimeout", "%s is negative; leave it out for the default 5m", fmtDuration(env.Cluster.ReadyTimeout.Duration))
		}
		if env.Drift != nil {
			if env.Cluster == nil {
				c.add(at+".drift", "needs a cluster to compare with; add cluster (kubeconfig, context) to this environment or remove drift")
			}
			c.drift(at+".drift", *env.Drift)
		}
		if env.Cluster == nil {
			for _, key := range env.Gates.clusterGates() {
				c.add(at+".gates."+key, "needs a cluster to ask; add cluster (kubeconfig, context) to environment %s or remove gates.%s", env.Name, key)
			}
		}
		for _, key := range env.Gates.runtimeGates() {
			switch {
			case i == 0:
				c.add(at+".gates."+key, "judges the environment promoted from, and %s is the first; put it on the environment after the one it should watch", env.Name)
			case key == "health" && p.Spec.Environments[i-1].Cluster == nil:
				c.add(at+".gates.health", "reads the workloads of %s, the environment promoted from, which has no cluster; add cluster (kubeconfig, context) to %s or remove gates.health",
					p.Spec.Environments[i-1].Name, p.Spec.Environments[i-1].Name)
			}
		}
		c.gates(at+".gates", env.Gates)
		if a := env.Gates.Approvals; a != nil && len(a.Teams) > 0 && p.Spec.Forge.Type == ForgeLocal {
			c.add(at+".gates.approvals.teams", "the local forge has no teams; list the people in approvals.users, or set spec.forge.type: %s", ForgeGitHub)
		}
		if rb := env.Rollback; rb != nil {
			if i == 0 {
				c.add(at+".rollback", "not allowed on the first environment, which receives changes by ordinary pull requests; roll it back with one")
			}
			if rb.Approvals < 0 {
				c.add(at+".rollback.approvals", "must be 0 or more")
			}
			if env.Cluster == nil {
				for _, key := range rb.Gates.clusterGates() {
					c.add(at+".rollback.gates."+key, "needs a cluster to ask; add cluster (kubeconfig, context) to environment %s or remove rollback.gates.%s", env.Name, key)
				}
			}
			for _, key := range rb.Gates.runtimeGates() {
				c.add(at+".rollback.gates."+key, "a rollback has no environment it is promoted from to watch; remove rollback.gates.%s", key)
			}
			c.gates(at+".rollback.gates", rb.Gates)
		}
	}
	if sg := p.Spec.Signing; sg != nil {
		if strings.TrimSpace(sg.Key) == "" {
			c.add("spec.signing.key", "required; the armored OpenPGP private key file promotion commits are signed with")
		}
		if sg.PassphraseEnv != "" && !envNamePattern.MatchString(sg.PassphraseEnv) {
			c.add("spec.signing.passphraseEnv", "want an environment variable name like STAGEGATE_SIGNING_PASSPHRASE, got %q", sg.PassphraseEnv)
		}
		// A squash or rebase merge writes new commits in place of the signed promotion commit,
		// signed (if at all) by the forge: the next environment's signature gate refuses them.
		envs := p.Spec.Environments
		for i := 2; i < len(envs); i++ {
			if envs[i].Gates.Signature == nil || envs[i-1].Promote == nil {
				continue
			}
			if m := envs[i-1].Promote.MergeMethod; m == MergeSquash || m == MergeRebase {
				c.add(fmt.Sprintf("spec.environments[%d].promote.mergeMethod", i-1),
					"a %s merge replaces stagegate's signed promotion commits with commits the forge writes, which the signature gate of %s refuses; use merge with spec.signing", m, envs[i].Name)
			}
		}
	}
	return c.problems
}

type checker struct{ problems []Problem }

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

var labelPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// dnsLabel checks an RFC 1123 label and reports whether it is one.
func (c *checker) dnsLabel(path, s string) bool {
	if s == "" {
		c.add(path, "required")
		return false
	}
	if len(s) <= 63 && labelPattern.MatchString(s) {
		return true
	}
	fix := ""
	if l := strings.ToLower(s); len(l) <= 63 && labelPattern.MatchString(l) {
		fix = fmt.Sprintf(" like %q", l)
	}
	c.add(path, "%q is not a DNS label; use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit%s", s, fix)
	return false
}

// repo checks the repository URL with ParseRepoURL, as gitsource reads it, and the credential
// fields against the URL's transport. Messages never repeat the URL: it may hold credentials.
func (c *checker) repo(at string, r Repo) {
	u, err := ParseRepoURL(r.URL)
	if err != nil {
		c.add(at+".url", "%v", err)
	}
	httpOnly := []struct{ name, value string }{{"username", r.Username}, {"tokenEnv", r.TokenEnv}, {"tokenFile", r.TokenFile}}
	sshOnly := []struct{ name, value string }{{"sshKeyFile", r.SSHKeyFile}, {"sshKeyPassphraseEnv", r.SSHKeyPassphraseEnv}, {"sshKnownHostsFile", r.SSHKnownHostsFile}}
	if err == nil {
		for _, f := range httpOnly {
			if f.value != "" && !u.Transport.TakesToken() {
				c.add(at+"."+f.name, "only used with http:// and https:// URLs; remove it, or use an https URL")
			}
		}
		for _, f := range sshOnly {
			if f.value != "" && u.Transport != TransportSSH {
				c.add(at+"."+f.name, "only used with ssh:// and git@host:path URLs; remove it, or use an SSH URL")
			}
		}
		if (r.TokenEnv != "" || r.TokenFile != "") && u.Cleartext() {
			c.add(at+".url", "%v", ErrCleartextToken)
		}
	}
	if r.TokenEnv != "" && r.TokenFile != "" {
		c.add(at+".tokenFile", "set together with tokenEnv; keep one of them")
	}
	c.envName(at+".tokenEnv", r.TokenEnv, "GITHUB_TOKEN")
	c.envName(at+".sshKeyPassphraseEnv", r.SSHKeyPassphraseEnv, "SSH_KEY_PASSPHRASE")
}

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// envName checks a field that names an environment variable. The message never repeats the
// value: people paste the secret itself here.
func (c *checker) envName(path, s, example string) {
	if s != "" && !envNamePattern.MatchString(s) {
		c.add(path, "not an environment variable name; write the name of the variable that holds the secret (%s), not its value", example)
	}
}

func (c *checker) forge(at string, f Forge, repo Repo) {
	switch f.Type {
	case ForgeLocal, ForgeGitHub:
	default:
		c.add(at+".type", "unknown forge type %q; use %s or %s", f.Type, ForgeLocal, ForgeGitHub)
	}
	c.forgeAuth(at, f, repo)
	if f.BaseURL == "" {
		return
	}
	if f.Type != ForgeGitHub {
		c.add(at+".baseURL", "only used with type %s; remove it, or set type: %s", ForgeGitHub, ForgeGitHub)
		return
	}
	u, err := url.Parse(f.BaseURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		c.add(at+".baseURL", "not an http(s) URL; write the API root of GitHub Enterprise Server, like https://ghe.example.com/api/v3/")
	case u.User != nil:
		c.add(at+".baseURL", "credentials in the URL are not allowed; the token comes from spec.repo.tokenEnv or tokenFile")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		c.add(at+".baseURL", "must use https:// (http:// is only allowed on loopback, for tests)")
	}
}

// forgeAuth checks GitHub's credentials and timeout: exactly one of tokenEnv, tokenFile and app,
// or none and a repository token to fall back on.
func (c *checker) forgeAuth(at string, f Forge, repo Repo) {
	set := []string{}
	for _, field := range []struct {
		name string
		ok   bool
	}{{"tokenEnv", f.TokenEnv != ""}, {"tokenFile", f.TokenFile != ""}, {"app", f.App != nil}} {
		if field.ok {
			set = append(set, field.name)
		}
	}
	if f.Timeout.Duration < 0 {
		c.add(at+".timeout", "%s is negative; leave it out for the default 30s", fmtDuration(f.Timeout.Duration))
	}
	if f.Type != ForgeGitHub {
		for _, name := range set {
			c.add(at+"."+name, "only used with type %s; remove it, or set type: %s", ForgeGitHub, ForgeGitHub)
		}
		if f.Timeout.Duration != 0 {
			c.add(at+".timeout", "only used with type %s; remove it, or set type: %s", ForgeGitHub, ForgeGitHub)
		}
		return
	}
	switch {
	case len(set) > 1:
		c.add(at+"."+set[1], "set only one of tokenEnv, tokenFile and app; remove %s", strings.Join(set[1:], " and "))
	case len(set) == 0 && repo.TokenEnv == "" && repo.TokenFile == "":
		c.add(at, "type github needs credentials; set tokenEnv, tokenFile or app here, or spec.repo.tokenEnv or tokenFile")
	}
	if a := f.App; a != nil {
		if a.AppID <= 0 {
			c.add(at+".app.appID", "required; the numeric App ID from the App's settings page")
		}
		if a.InstallationID <= 0 {
			c.add(at+".app.installationID", "required; the numeric ID in the installation's settings URL (…/settings/installations/<id>)")
		}
		if a.PrivateKeyFile == "" {
			c.add(at+".app.privateKeyFile", "required; the path of the App's private key (.pem) as GitHub generated it")
		}
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// branch checks a branch name by git check-ref-format's rules (for refs/heads/<name>) and
// reports whether it is valid.
func (c *checker) branch(path, name string) bool {
	if name == "" {
		c.add(path, "required")
		return false
	}
	if strings.HasPrefix(name, "refs/") {
		c.add(path, "write the branch name without refs/heads/, like %q", strings.TrimPrefix(strings.TrimPrefix(name, "refs/"), "heads/"))
		return false
	}
	if strings.HasPrefix(name, "stagegate/") {
		c.add(path, "branches under stagegate/ are reserved for promotion branches; use another name, like env/<environment>")
		return false
	}
	if reason := refNameProblem(name); reason != "" {
		c.add(path, "%q is not a valid branch name: %s", name, reason)
		return false
	}
	return true
}

// refNameProblem returns why name is not a valid Git branch name, or "".
func refNameProblem(name string) string {
	switch {
	case name == "@":
		return `it cannot be "@"`
	case strings.HasPrefix(name, "-"):
		return "it cannot start with '-'"
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/"):
		return "it cannot start or end with '/'"
	case strings.Contains(name, "//"):
		return `it cannot contain "//"`
	case strings.HasSuffix(name, "."):
		return "it cannot end with '.'"
	case strings.Contains(name, ".."):
		return `it cannot contain ".."`
	case strings.Contains(name, "@{"):
		return `it cannot contain "@{"`
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f:
			return "it cannot contain control characters"
		case r == ' ':
			return "it cannot contain spaces"
		case strings.ContainsRune(`~^:?*[\`, r):
			return fmt.Sprintf("it cannot contain %q", r)
		}
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return "no part between slashes can start with '.'"
		}
		if strings.HasSuffix(part, ".lock") {
			return `no part between slashes can end with ".lock"`
		}
	}
	return ""
}

// renderPath checks a directory inside the repository.
func (c *checker) renderPath(at, p string) {
	switch clean := path.Clean(p); {
	case p == "":
		c.add(at, "required; the directory to render for this environment, like overlays/dev")
	case strings.Contains(p, `\`):
		c.add(at, "use / as the separator, like %q", strings.ReplaceAll(p, `\`, "/"))
	case strings.HasPrefix(p, "/"):
		c.add(at, "must be relative to the repository root; write %q", strings.TrimLeft(clean, "/"))
	case clean == ".." || strings.HasPrefix(clean, "../"):
		c.add(at, "leads out of the repository; use a directory inside it")
	case clean != p:
		c.add(at, "write it in clean form, %q", clean)
	}
}

func (c *checker) promote(at string, p Promote) {
	if p.Approvals < 0 {
		c.add(at+".approvals", "must be 0 or more")
	}
	switch p.MergeMethod {
	case MergeMerge, MergeSquash, MergeRebase:
	default:
		c.add(at+".mergeMethod", "unknown merge method %q; use %s, %s or %s", p.MergeMethod, MergeMerge, MergeSquash, MergeRebase)
	}
}

// cronSchedule reads drift schedules: the five standard fields, or a descriptor (@hourly,
// @every 10m). Time zones are written as a CRON_TZ= prefix.
var cronSchedule = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func (c *checker) drift(at string, d Drift) {
	if d.Schedule == "" {
		c.add(at+".schedule", `required; a cron schedule like "*/10 * * * *" or "@every 10m"`)
	} else if _, err := ParseSchedule(d.Schedule); err != nil {
		c.add(at+".schedule", `not a cron schedule (%v); use five fields (minute hour day-of-month month day-of-week) like "*/10 * * * *", or a descriptor like "@hourly" or "@every 10m"`, err)
	}
	switch d.Mode {
	case DriftDetect, DriftCorrect:
	default:
		c.add(at+".mode", "unknown drift mode %q; use %s or %s", d.Mode, DriftDetect, DriftCorrect)
	}
	for i, r := range d.Ignore {
		c.driftIgnore(fmt.Sprintf("%s.ignore[%d]", at, i), r)
	}
}

// driftIgnore checks one drift ignore rule: something to ignore, JSON pointers that start with
// "/", and globs that parse.
func (c *checker) driftIgnore(at string, r DriftIgnore) {
	if len(r.JSONPointers) == 0 && len(r.Managers) == 0 {
		c.add(at, "ignores nothing; add jsonPointers (like /spec/replicas) or managers (like kube-controller-manager)")
	}
	for _, f := range []struct{ field, glob string }{
		{"group", r.Group}, {"kind", r.Kind}, {"namespace", r.Namespace}, {"name", r.Name},
	} {
		if _, err := path.Match(f.glob, ""); err != nil {
			c.add(at+"."+f.field, "bad glob %q (%v); use * and ? and [a-z] as in shell patterns", f.glob, err)
		}
	}
	for j, p := range r.JSONPointers {
		switch _, err := path.Match(p, ""); {
		case !strings.HasPrefix(p, "/"):
			c.add(fmt.Sprintf("%s.jsonPointers[%d]", at, j), "%q is not a JSON pointer; start it with / as in /spec/replicas", p)
		case err != nil:
			c.add(fmt.Sprintf("%s.jsonPointers[%d]", at, j), "bad glob in %q (%v)", p, err)
		}
	}
	for j, m := range r.Managers {
		if _, err := path.Match(m, ""); m == "" || err != nil {
			c.add(fmt.Sprintf("%s.managers[%d]", at, j), "%q is not a field manager name or glob; use a name from metadata.managedFields, like kube-controller-manager", m)
		}
	}
}

// ParseSchedule parses a drift schedule the way validation checks it: five cron fields, or a
// descriptor (@hourly, @every 10m), with an optional CRON_TZ= prefix. Whatever runs the schedule
// should parse it with this function, so that what validated is what runs. A panic inside the
// cron parser comes back as an error: the schedule comes from a file.
func ParseSchedule(s string) (_ cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return cronSchedule.Parse(s)
}

// gates runs the gates package's own checks on an environment's gate options.
func (c *checker) gates(at string, g Gates) {
	for _, err := range g.validate(at) {
		c.problems = append(c.problems, pathProblem(err, at))
	}
}

// pathProblem turns an error from a check outside this file into a Problem: a Problem keeps its
// path; "path: message" is split when path lies under at ("" for anywhere); anything else is put
// on at.
func pathProblem(err error, at string) Problem {
	var pv Problem
	var pp *Problem
	switch {
	case errors.As(err, &pv):
		return Problem{Path: pv.Path, Message: pv.Message}
	case errors.As(err, &pp):
		return Problem{Path: pp.Path, Message: pp.Message}
	}
	msg := err.Error()
	if p, rest, ok := strings.Cut(msg, ": "); ok && (at == "" || p == at || strings.HasPrefix(p, at+".")) && !strings.ContainsAny(p, " \n") {
		return Problem{Path: p, Message: rest}
	}
	return Problem{Path: at, Message: msg}
}

// fmtDuration writes 1m rather than time.Duration's 1m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
