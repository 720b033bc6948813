package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseHTTPAndExternalGates(t *testing.T) {
	ps, err := Parse(yamlDoc(validBase+`      gates:
        http:
          requests: 20
          timeout: 2s
          targets:
            - name: checkout
              url: https://staging.example.com/checkout/healthz
              status: [200, 204]
              bodyMatch: '"ok":\s*true'
              p95: 300ms
            - {name: search, url: "http://search.staging.svc/api", method: POST, body: "{}", headers: {Content-Type: application/json}}
        external:
          - {name: image-scan, url: "https://scanner.example.com/stagegate", secretEnv: SCANNER_SECRET, severity: {image-scan/critical-cve: warning}}
          - {name: load-test, url: "http://loadtest.tools.svc:8080/hook", secretFile: load-test.key, timeout: 1m}
`), "stagegate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g := ps[0].Spec.Environments[1].Gates
	if got := g.HTTP.RequestsOr(); got != 20 {
		t.Errorf("RequestsOr = %d, want 20", got)
	}
	if got := g.HTTP.TimeoutOr(); got != 2*time.Second {
		t.Errorf("TimeoutOr = %s, want 2s", got)
	}
	if got := g.HTTP.IntervalOr(); got != 5*time.Minute {
		t.Errorf("IntervalOr = %s, want the default 5m", got)
	}
	if diff := cmp.Diff([]int{200, 204}, g.HTTP.Targets[0].StatusOr()); diff != "" {
		t.Errorf("StatusOr (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{200}, g.HTTP.Targets[1].StatusOr()); diff != "" {
		t.Errorf("default StatusOr (-want +got):\n%s", diff)
	}
	if got := g.HTTP.Targets[0].MethodOr(); got != "GET" {
		t.Errorf("MethodOr = %s, want GET", got)
	}
	if len(g.External) != 2 || g.External[1].TimeoutOr() != time.Minute || g.External[0].TimeoutOr() != 30*time.Second {
		t.Errorf("external gates = %+v", g.External)
	}
}

func TestHTTPGateDefaults(t *testing.T) {
	var g HTTPGate
	if g.RequestsOr() != 10 || g.TimeoutOr() != 10*time.Second || g.IntervalOr() != 5*time.Minute {
		t.Errorf("defaults = %d, %s, %s; want 10, 10s, 5m", g.RequestsOr(), g.TimeoutOr(), g.IntervalOr())
	}
}

func TestParseReportsHTTPAndExternalProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "an http gate needs targets",
			yaml: validBase + `      gates:
        http: {}
`,
			want: []string{
				`stagegate.yaml:15: spec.environments[1].gates.http.targets: want at least one target, like [{name: home, url: "https://staging.example.com/healthz"}]`,
			},
		},
		{
			name: "every target field is checked",
			yaml: validBase + `      gates:
        http:
          requests: 101
          timeout: -1s
          interval: -5m
          targets:
            - {name: Checkout, url: "ftp://example.com/x", method: PUT, status: [99, 600], bodyMatch: "(", p95: -1ms}
            - {name: a, url: "https://user:pw@example.com/", headers: {"Bad Header": x}}
            - {name: a, url: "/healthz", body: "{}"}
            - {url: "https://"}
`,
			want: []string{
				`stagegate.yaml:16: spec.environments[1].gates.http.requests: want 1 to 100 requests per target, got 101; leave it out for the default 10`,
				`stagegate.yaml:17: spec.environments[1].gates.http.timeout: -1s is negative; leave it out for the default 10s`,
				`stagegate.yaml:18: spec.environments[1].gates.http.interval: -5m is negative; leave it out for the default 5m`,
				`stagegate.yaml:20: spec.environments[1].gates.http.targets[0].name: want a DNS label (lowercase letters, digits, '-'), got "Checkout"`,
				`stagegate.yaml:20: spec.environments[1].gates.http.targets[0].url: want an http:// or https:// URL, got scheme "ftp"`,
				`stagegate.yaml:20: spec.environments[1].gates.http.targets[0].method: want GET, HEAD or POST, got "PUT"`,
				`stagegate.yaml:20: spec.environments[1].gates.http.targets[0].status[0]: want an HTTP status code from 100 to 599, got 99`,
				`stagegate.yaml:20: spec.environments[1].gates.http.targets[0].status[1]: want an HTTP status code from 100 to 599, got 600`,
				"stagegate.yaml:20: spec.environments[1].gates.http.targets[0].bodyMatch: not an RE2 regular expression (error parsing regexp: missing closing ): `(`); see https://github.com/google/re2/wiki/Syntax",
				`stagegate.yaml:20: spec.environments[1].gates.http.targets[0].p95: want a latency budget above 0, like "300ms", got -1ms`,
				`stagegate.yaml:21: spec.environments[1].gates.http.targets[1].url: credentials in the URL are not allowed; send them in headers or keep them out of the config`,
				`stagegate.yaml:21: spec.environments[1].gates.http.targets[1].headers: "Bad Header" is not a header name; use letters, digits and '-', like X-Canary`,
				`stagegate.yaml:22: spec.environments[1].gates.http.targets[2].name: "a" is also the name of targets[1]; give each target its own name`,
				`stagegate.yaml:22: spec.environments[1].gates.http.targets[2].url: not an absolute URL; write one like https://staging.example.com/healthz`,
				`stagegate.yaml:22: spec.environments[1].gates.http.targets[2].body: only a POST sends a body; set method: POST or remove body`,
				`stagegate.yaml:23: spec.environments[1].gates.http.targets[3].name: required; a DNS label naming the target in reports, like "checkout"`,
				`stagegate.yaml:23: spec.environments[1].gates.http.targets[3].url: the URL has no host; write an absolute URL like https://staging.example.com/healthz`,
			},
		},
		{
			name: "external gates: names, URLs, secrets, timeouts and overrides",
			yaml: validBase + `      gates:
        external:
          - {name: soak, url: "https://scan.example.com/", secretEnv: S}
          - {name: scan, url: "https://scan.example.com/", secretEnv: S, severity: {scan/cve: warning, other/cve: off}}
          - {name: scan, url: "https://scan.example.com/", secretEnv: "s3cr3t-value!", timeout: -1s}
          - {name: Load_Test, url: "http://u:p@load.example.com/", secretEnv: S, secretFile: k}
          - {name: nosecret, url: ""}
`,
			want: []string{
				`stagegate.yaml:16: spec.environments[1].gates.external[0].name: "soak" is the name of a built-in gate; choose another, like "soak-check"`,
				`stagegate.yaml:17: spec.environments[1].gates.external[1].severity.other/cve: check IDs in scan.severity start with "scan/" (or "waiver/")`,
				`stagegate.yaml:18: spec.environments[1].gates.external[2].name: "scan" is also the name of external[1]; give each external gate its own name`,
				`stagegate.yaml:18: spec.environments[1].gates.external[2].secretEnv: not an environment variable name; write the name of the variable that holds the key (SCANNER_SECRET), not its value`,
				`stagegate.yaml:18: spec.environments[1].gates.external[2].timeout: -1s is negative; leave it out for the default 30s`,
				`stagegate.yaml:19: spec.environments[1].gates.external[3].name: want a DNS label (lowercase letters, digits, '-'), got "Load_Test"`,
				`stagegate.yaml:19: spec.environments[1].gates.external[3].url: credentials in the URL are not allowed; send them in headers or keep them out of the config`,
				`stagegate.yaml:19: spec.environments[1].gates.external[3].secretFile: set together with secretEnv; keep one of them`,
				`stagegate.yaml:20: spec.environments[1].gates.external[4].url: required; an absolute http:// or https:// URL`,
				`stagegate.yaml:20: spec.environments[1].gates.external[4]: set secretEnv or secretFile: the HMAC-SHA256 key the requests are signed with`,
			},
		},
		{
			name: "a HEAD answer has no body to match",
			yaml: validBase + `      gates:
        http: {targets: [{name: home, url: "https://staging.example.com/", method: HEAD, bodyMatch: ok}]}
`,
			want: []string{
				`stagegate.yaml:15: spec.environments[1].gates.http.targets[0].bodyMatch: a HEAD answer has no body to match; use method: GET or remove bodyMatch`,
			},
		},
		{
			name: "runtime gates are refused on the first environment",
			yaml: pipelineYAML("shop", `
  repo: {url: https://github.com/acme/shop-deploy.git, tokenEnv: GITHUB_TOKEN}
  forge: {type: github}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      gates:
        http: {targets: [{name: home, url: "https://dev.example.com/"}]}
`),
			want: []string{
				`stagegate.yaml:12: spec.environments[0].gates.http: judges the environment promoted from, and dev is the first; put it on the environment after the one it should watch`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(yamlDoc(tt.yaml), "stagegate.yaml")
			if diff := cmp.Diff(tt.want, problemLines(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
