package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/stagegate-dev/stagegate/examples"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// stagegate runs one CLI invocation and returns its exit code and output.
func stagegate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func seed(t *testing.T) (examples.Seeded, []string) {
	t.Helper()
	s, err := examples.Seed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s, []string{"--config", s.Config, "--cache-dir", t.TempDir()}
}

func TestValidate(t *testing.T) {
	s, global := seed(t)
	if code, out, errs := stagegate(t, append([]string{"validate"}, global...)...); code != 0 || !strings.Contains(out, "pipeline shop: 3 environments ok") {
		t.Errorf("validate the seeded config: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	bad := filepath.Join(t.TempDir(), "stagegate.yaml")
	cfg, _ := os.ReadFile(s.Config)
	cfg = bytes.Replace(cfg, []byte("branch: env/staging"), []byte("brnach: env/staging"), 1)
	os.WriteFile(bad, cfg, 0o644)
	code, _, errs := stagegate(t, "validate", "--config", bad)
	if code != 1 || !strings.Contains(errs, `:28: spec.environments[1].brnach: unknown field (did you mean "branch"?)`) {
		t.Errorf("validate a config with a misspelt field: exit %d, stderr %q; want exit 1 naming the line, field and fix", code, errs)
	}
}

func TestValidateCompilesPolicyRules(t *testing.T) {
	s, _ := seed(t)
	cfg, _ := os.ReadFile(s.Config)
	cfg = bytes.Replace(cfg, []byte("expression: object.spec.replicas >= 2"), []byte("expression: object.spec.replicas >="), 1)
	os.WriteFile(s.Config, cfg, 0o644)
	code, _, errs := stagegate(t, "validate", "--config", s.Config)
	if code != exitError || !strings.Contains(errs, "stagegate.yaml:69: spec.environments[2].gates.policy.rules[0].expression: ERROR: <input>:1:24: Syntax error") {
		t.Errorf("validate with a broken CEL rule: exit %d, stderr %q; want exit 1 with the rule's line and path", code, errs)
	}
}

func TestPlanExitCodesAndOutput(t *testing.T) {
	s, global := seed(t)
	code, out, errs := stagegate(t, append([]string{"plan"}, global...)...)
	if code != exitFound {
		t.Fatalf("plan: exit %d, want %d (something to promote); stderr %q", code, exitFound, errs)
	}
	for _, want := range []string{
		"shop: dev → staging: promote " + s.Commits["dev-theme"][:7],
		"commits not yet promoted (1):",
		"web: dark theme; cart: 2s Redis timeout",
		"~ apps/Deployment shop-prod/web  (+1 -1)  base/web.yaml",
		"+        image: ghcr.io/acme/web:1.5.0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = stagegate(t, append([]string{"plan", "-o", "json", "--pipeline", "shop"}, global...)...)
	var got struct {
		Promotions []struct {
			From, To, Action string
			Changes          []struct{ Type, Diff string }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitFound {
		t.Fatalf("plan -o json: exit %d, %v:\n%s", code, err, out)
	}
	if len(got.Promotions) != 2 || got.Promotions[1].To != "prod" || got.Promotions[1].Action != "promote" || len(got.Promotions[1].Changes) != 1 {
		t.Errorf("plan -o json = %+v; want two promotions, the second into prod with one change", got.Promotions)
	}
}

func TestPlanNothingToPromoteExitsZero(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {
		"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n",
	}})
	gitsourcetest.Branch(t, repo, "env/prod", "env/dev")
	cfg := filepath.Join(t.TempDir(), "stagegate.yaml")
	os.WriteFile(cfg, []byte(`apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: app}
spec:
  repo: {url: "`+repo+`"}
  environments:
    - {name: dev, branch: env/dev, path: app}
    - {name: prod, branch: env/prod, path: app}
`), 0o644)
	code, out, errs := stagegate(t, "plan", "--config", cfg, "--cache-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "app: dev → prod: nothing to promote (the source and target trees are identical)") {
		t.Errorf("plan with equal trees: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestRender(t *testing.T) {
	s, global := seed(t)
	code, out, errs := stagegate(t, append([]string{"render", "--env", "prod"}, global...)...)
	if code != 0 {
		t.Fatalf("render --env prod: exit %d, stderr %q", code, errs)
	}
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 9 {
		t.Errorf("render --env prod: %d objects, want 9 (namespace, configmap, 3 services, pdb, 2 deployments, statefulset):\n%s", len(docs), out)
	}
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil || m["kind"] == nil {
			t.Errorf("render output has a document that is not an object (%v):\n%s", err, d)
		}
	}
	if !strings.Contains(out, "image: ghcr.io/acme/web:1.4.0") {
		t.Errorf("prod should still run web 1.4.0:\n%s", out)
	}

	// The config-free form renders the same thing, and --ref renders any commit.
	_, free, _ := stagegate(t, "render", "--repo", s.URL, "--branch", "env/prod", "--path", "overlays/prod", "--cache-dir", t.TempDir())
	if free != out {
		t.Errorf("render --repo differs from render --env prod")
	}
	_, atRef, _ := stagegate(t, append([]string{"render", "--env", "prod", "--ref", s.Commits["dev-web-1.5"][:8]}, global...)...)
	if !strings.Contains(atRef, "image: ghcr.io/acme/web:1.5.0") {
		t.Errorf("render --ref dev-web-1.5 should show web 1.5.0:\n%s", atRef)
	}

	code, out, _ = stagegate(t, append([]string{"render", "--env", "dev", "-o", "json"}, global...)...)
	var list struct {
		Kind  string
		Items []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || list.Kind != "List" || len(list.Items) != 8 {
		t.Errorf("render -o json: exit %d, err %v, kind %q, %d items; want a v1 List of 8", code, err, list.Kind, len(list.Items))
	}
}

func TestMissingConfigFile(t *testing.T) {
	code, _, errs := stagegate(t, "validate", "--config", "/nonexistent/stagegate.yaml")
	if code != exitError || !strings.Contains(errs, "/nonexistent/stagegate.yaml") {
		t.Errorf("validate a missing file: exit %d, stderr %q; want exit 1 naming the file", code, errs)
	}
}

func TestCLIErrors(t *testing.T) {
	_, global := seed(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown environment lists the real ones", []string{"render", "--env", "qa"}, `pipeline shop has no environment "qa"; it has dev, staging, prod`},
		{"an unknown pipeline lists the real ones", []string{"plan", "--pipeline", "web"}, `has no pipeline "web"; it has shop`},
		{"an unknown output format", []string{"plan", "-o", "xml"}, `-o "xml": want text or json`},
		{"render needs an environment", []string{"render"}, "--env is required"},
		{"an unknown ref", []string{"render", "--env", "dev", "--ref", "deadbeef"}, "deadbeef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := stagegate(t, append(tt.args, global...)...)
			if code != exitError || !strings.Contains(errs, tt.want) {
				t.Errorf("stagegate %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tt.args, " "), code, errs, tt.want)
			}
		})
	}
}

func TestValidateReadsKeyFiles(t *testing.T) {
	s, _ := seed(t)
	cfg, _ := os.ReadFile(s.Config)
	cfg = bytes.Replace(cfg, []byte("      gates:\n        schema: {}\n        apis:"), []byte("      gates:\n        signature: {keyring: keys/release.asc}\n        schema: {}\n        apis:"), 1)
	os.WriteFile(s.Config, cfg, 0o644)
	code, _, errs := stagegate(t, "validate", "--config", s.Config)
	want := "stagegate.yaml:33: spec.environments[1].gates.signature.keyring: read the OpenPGP keyring: open " + filepath.Join(filepath.Dir(s.Config), "keys/release.asc") + ": no such file or directory"
	if code != exitError || !strings.Contains(errs, want) {
		t.Errorf("validate with a missing keyring: exit %d, stderr %q; want exit 1 with\n%s", code, errs, want)
	}
}
