package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const gateBadManifest = `apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec: {rules: [{host: shop.example.com}]}
`

const gateGoodManifest = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {theme: dark}
`

func TestGateFilesExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	good := filepath.Join(t.TempDir(), "good.yaml")
	os.WriteFile(bad, []byte(gateBadManifest), 0o644)
	os.WriteFile(good, []byte(gateGoodManifest), 0o644)

	code, out, errs := stagegate(t, "gate", "-f", bad, "--kubernetes-version", "1.33")
	if code != exitGateFails || !strings.Contains(out, "apis/removed") || !strings.Contains(out, "networking.k8s.io/v1") {
		t.Errorf("gate a removed Ingress: exit %d, stdout %q, stderr %q; want exit 3 naming apis/removed and the replacement", code, out, errs)
	}
	if code, out, errs := stagegate(t, "gate", "-f", bad, "--kubernetes-version", "1.21"); code != exitOK {
		t.Errorf("gate the same Ingress for Kubernetes 1.21, where it is still served: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, errs := stagegate(t, "gate", "-f", good); code != exitOK || !strings.Contains(out, ": pass") {
		t.Errorf("gate a plain ConfigMap: exit %d, stdout %q, stderr %q; want exit 0 and a pass", code, out, errs)
	}
	if code, _, errs := stagegate(t, "gate", "-f", filepath.Join(dir, "missing.yaml")); code != exitError || errs == "" {
		t.Errorf("gate a missing file: exit %d, stderr %q; want exit 1 with the error", code, errs)
	}
	if code, _, errs := stagegate(t, "gate", "-f", bad, "-o", "html"); code != exitError || !strings.Contains(errs, "sarif") {
		t.Errorf("gate -o html: exit %d, stderr %q; want exit 1 listing the formats", code, errs)
	}
}

func TestGateFilesDirectorySARIF(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ingress.yaml"), []byte(gateBadManifest), 0o644)
	code, out, errs := stagegate(t, "gate", "-f", dir, "-o", "sarif")
	if code != exitGateFails {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	found := false
	for _, r := range log.Runs[0].Results {
		if r.RuleID == "apis/removed" && r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "ingress.yaml" {
			found = true
		}
	}
	if !found {
		t.Errorf("no apis/removed result located in ingress.yaml:\n%s", out)
	}
}

func TestGateEnvFromConfig(t *testing.T) {
	_, global := seed(t)
	code, out, errs := stagegate(t, append([]string{"gate", "--env", "prod", "-o", "json"}, global...)...)
	if code != exitOK {
		t.Fatalf("gate the seeded prod: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	var report struct {
		Env, Revision, Verdict string
		Results                []struct{ Gate string }
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range report.Results {
		names = append(names, r.Gate)
	}
	if report.Env != "prod" || len(report.Revision) != 40 || report.Verdict != "pass" ||
		strings.Join(names, ",") != "schema,apis,security,resources,policy" {
		t.Errorf("report: env %q, revision %q, verdict %q, gates %v; want prod's five gates passing at a full sha",
			report.Env, report.Revision, report.Verdict, names)
	}

	// A policy rule that does not compile is a config error naming its path.
	cfgPath := global[1]
	cfg, _ := os.ReadFile(cfgPath)
	broken := strings.Replace(string(cfg), "expression: object.spec.replicas >= 2", "expression: object.spec.replicas >=", 1)
	if broken == string(cfg) {
		t.Fatal("the seeded config no longer has the replicas rule this test breaks")
	}
	os.WriteFile(cfgPath, []byte(broken), 0o644)
	code, _, errs = stagegate(t, append([]string{"gate", "--env", "prod"}, global...)...)
	if code != exitError || !strings.Contains(errs, "spec.environments[2].gates.policy.rules[0].expression") {
		t.Errorf("gate with a broken rule: exit %d, stderr %q; want exit 1 naming the rule's path", code, errs)
	}
}

// The drift and dry-run gates ask the target cluster, which `stagegate gate` does not: it skips
// them, with the forge gates, and says so; what it does run still decides the exit code.
func TestGateEnvSkipsClusterGates(t *testing.T) {
	_, global := seed(t)
	cfgPath := global[1]
	cfg, _ := os.ReadFile(cfgPath)
	const lastGate = "              message: prod Deployments run at least 2 replicas\n"
	withCluster := strings.Replace(string(cfg), lastGate, lastGate+"        dryRun: {}\n        drift: {}\n", 1)
	if withCluster == string(cfg) || !strings.Contains(withCluster, "context: kind-prod") {
		t.Fatal("the seeded config no longer has prod's gates and cluster this test extends")
	}
	if err := os.WriteFile(cfgPath, []byte(withCluster), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := stagegate(t, append([]string{"gate", "--env", "prod", "-o", "json"}, global...)...)
	if code != exitOK {
		t.Fatalf("gate prod with cluster gates: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	var report struct{ Results []struct{ Gate string } }
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range report.Results {
		names = append(names, r.Gate)
	}
	if got := strings.Join(names, ","); got != "schema,apis,security,resources,policy" {
		t.Errorf("gates run: %s; want prod's five object gates, without dry-run and drift", got)
	}
	if !strings.Contains(errs, "dry-run,drift") || !strings.Contains(errs, "ask the target cluster") {
		t.Errorf("stderr does not name the skipped cluster gates:\n%s", errs)
	}
}
