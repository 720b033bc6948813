package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseForgeGates(t *testing.T) {
	ps, err := Parse(yamlDoc(validBase+`      promote: {approvals: 2}
      gates:
        approvals: {count: 1, users: [alice], teams: [acme/sre]}
        checks: {required: [ci/build, "scan/*"], timeout: 1h}
        window:
          allow: [{schedule: "0 9 * * MON-FRI", duration: 8h, timeZone: Europe/Berlin}]
          deny: [{schedule: "@daily", duration: 1h}]
        soak: {duration: 30m}
        lineage: {disabled: true}
`), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	want := Gates{
		Approvals: &ApprovalsGate{Count: &one, Users: []string{"alice"}, Teams: []string{"acme/sre"}},
		Checks:    &ChecksGate{Required: []string{"ci/build", "scan/*"}, Timeout: Duration{time.Hour}},
		Window: &WindowGate{
			Allow: []Window{{Schedule: "0 9 * * MON-FRI", Duration: Duration{8 * time.Hour}, TimeZone: "Europe/Berlin"}},
			Deny:  []Window{{Schedule: "@daily", Duration: Duration{time.Hour}}},
		},
		Soak:    &SoakGate{Duration: Duration{30 * time.Minute}},
		Lineage: &LineageGate{Disabled: true},
	}
	if diff := cmp.Diff(want, ps[0].Spec.Environments[1].Gates); diff != "" {
		t.Errorf("gates (-want +got):\n%s", diff)
	}
}

func TestParseReportsForgeGateProblems(t *testing.T) {
	_, err := Parse(yamlDoc(validBase+`      gates:
        approvals: {count: -1, users: ["a b"], teams: [sre]}
        checks: {required: ["", "scan/[a"], timeout: -5m}
        window:
          allow:
            - {schedule: "61 * * * *", duration: 1h, timeZone: Mars/Olympus_Mons}
            - {schedule: "@every 1h", duration: 0s}
          deny:
            - {schedule: "CRON_TZ=Europe/Berlin 0 16 * * FRI", duration: -1h, timeZone: Local}
        soak: {duration: -30m}
        lineage: {severity: {lineage/nope: off, approvals/self-approval: error}}
`), "stagegate.yaml")
	want := []string{
		`stagegate.yaml:15: spec.environments[1].gates.approvals.count: want 0 or more, got -1`,
		`stagegate.yaml:15: spec.environments[1].gates.approvals.users[0]: want a login like "alice", got "a b"`,
		`stagegate.yaml:15: spec.environments[1].gates.approvals.teams[0]: want "org/team-slug", like "acme/platform", got "sre"`,
		`stagegate.yaml:16: spec.environments[1].gates.checks.required[0]: empty context name`,
		`stagegate.yaml:16: spec.environments[1].gates.checks.required[1]: not a valid glob (syntax error in pattern); escape [ and * with \`,
		`stagegate.yaml:16: spec.environments[1].gates.checks.timeout: want 0 (wait for ever) or more, got -5m0s`,
		`stagegate.yaml:19: spec.environments[1].gates.window.allow[0].schedule: not a window schedule (end of range (61) above maximum (59): 61); use five fields (minute hour day-of-month month day-of-week) like "0 16 * * FRI", or a descriptor like "@daily"`,
		`stagegate.yaml:19: spec.environments[1].gates.window.allow[0].timeZone: unknown time zone "Mars/Olympus_Mons"; use an IANA name like "Europe/Berlin" or "America/New_York"`,
		`stagegate.yaml:20: spec.environments[1].gates.window.allow[1].schedule: not a window schedule (@every is an interval, not a time of day; use five fields like "0 16 * * FRI" or @daily); use five fields (minute hour day-of-month month day-of-week) like "0 16 * * FRI", or a descriptor like "@daily"`,
		`stagegate.yaml:20: spec.environments[1].gates.window.allow[1].duration: required; how long the window stays open, above 0, like "2h" or "64h"`,
		`stagegate.yaml:22: spec.environments[1].gates.window.deny[0].schedule: not a window schedule (write the zone in timeZone, not in the schedule); use five fields (minute hour day-of-month month day-of-week) like "0 16 * * FRI", or a descriptor like "@daily"`,
		`stagegate.yaml:22: spec.environments[1].gates.window.deny[0].duration: required; how long the window stays open, above 0, like "2h" or "64h"`,
		`stagegate.yaml:22: spec.environments[1].gates.window.deny[0].timeZone: unknown time zone "Local"; use an IANA name like "Europe/Berlin" or "America/New_York"`,
		`stagegate.yaml:23: spec.environments[1].gates.soak.duration: want 0 or more, like "30m", got -30m0s`,
		`stagegate.yaml:24: spec.environments[1].gates.lineage.severity.approvals/self-approval: check IDs in lineage.severity start with "lineage/" (or "waiver/")`,
	}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestTeamsNeedAForgeWithTeams(t *testing.T) {
	_, err := Parse(yamlDoc(strings.Replace(validBase, "forge: {type: github}", "forge: {type: local}", 1)+`      gates:
        approvals: {teams: [acme/sre]}
`), "stagegate.yaml")
	want := "stagegate.yaml:15: spec.environments[1].gates.approvals.teams: the local forge has no teams; list the people in approvals.users, or set spec.forge.type: github"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("approvals.teams on the local forge: %v; want %q", err, want)
	}
}

func TestParseSignature(t *testing.T) {
	ps, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: /srv/git/shop.git}
  signing: {key: keys/stagegate.asc, passphraseEnv: SIGNING_PASSPHRASE}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - {name: staging, branch: env/staging, path: overlays/staging, gates: {signature: {keyring: keys/release.asc, allowedSigners: keys/allowed_signers}}}
`)), "/etc/stagegate/stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if diff := cmp.Diff(&SignatureGate{Keyring: "keys/release.asc", AllowedSigners: "keys/allowed_signers"}, p.Spec.Environments[1].Gates.Signature); diff != "" {
		t.Errorf("signature gate (-want +got):\n%s", diff)
	}
	if got := p.Resolve(p.Spec.Signing.Key); got != "/etc/stagegate/keys/stagegate.asc" {
		t.Errorf("Resolve(%s) = %s; want it relative to the config file's directory", p.Spec.Signing.Key, got)
	}
	if got := p.Resolve("/abs/key.asc"); got != "/abs/key.asc" {
		t.Errorf("Resolve of an absolute path = %s", got)
	}
}

func TestParseReportsSignatureProblems(t *testing.T) {
	_, err := Parse(yamlDoc(pipelineYAML("shop", `
  repo: {url: /srv/git/shop.git}
  signing: {passphraseEnv: "not a name"}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - {name: staging, branch: env/staging, path: overlays/staging, promote: {mergeMethod: squash}, gates: {signature: {}}}
    - {name: prod, branch: env/prod, path: overlays/prod, gates: {signature: {keyring: k.asc, severity: {lineage/missing-commit: off}}}}
`)), "stagegate.yaml")
	want := []string{
		`stagegate.yaml:6: spec.signing.key: required; the armored OpenPGP private key file promotion commits are signed with`,
		`stagegate.yaml:6: spec.signing.passphraseEnv: want an environment variable name like STAGEGATE_SIGNING_PASSPHRASE, got "not a name"`,
		`stagegate.yaml:9: spec.environments[1].gates.signature: needs keyring (an OpenPGP keyring file), allowedSigners (an SSH allowed signers file) or both`,
		`stagegate.yaml:9: spec.environments[1].promote.mergeMethod: a squash merge replaces stagegate's signed promotion commits with commits the forge writes, which the signature gate of prod refuses; use merge with spec.signing`,
		`stagegate.yaml:10: spec.environments[2].gates.signature.severity.lineage/missing-commit: check IDs in signature.severity start with "signature/" (or "waiver/")`,
	}
	var got []string
	if err != nil {
		got = strings.Split(err.Error(), "\n")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
