package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/deploy/deploytest"
)

// quickstartSteps splits the quickstart's output at its numbered headings: step n's text is
// steps[n].
func quickstartSteps(t *testing.T, out string) map[int]string {
	t.Helper()
	steps := map[int]string{}
	heading := regexp.MustCompile(`(?m)^(\d)\. `)
	idx := heading.FindAllStringSubmatchIndex(out, -1)
	for i, m := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		steps[int(out[m[2]]-'0')] = out[m[0]:end]
	}
	if len(steps) != 9 {
		t.Fatalf("quickstart printed %d numbered steps, want 9:\n%s", len(steps), out)
	}
	return steps
}

// checkSteps reports every wanted text a step's output lacks.
func checkSteps(t *testing.T, steps map[int]string, want map[int][]string) {
	t.Helper()
	for n, texts := range want {
		for _, w := range texts {
			if !strings.Contains(steps[n], w) {
				t.Errorf("step %d lacks %q:\n%s", n, w, steps[n])
			}
		}
	}
}

// TestQuickstart runs the README's first command end to end, as a new user would, and checks
// what each step says happened.
func TestQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	code, out, errs := stagegate(t, "quickstart", "--dir", dir)
	if code != 0 {
		t.Fatalf("quickstart: exit %d\n%s\nstderr:\n%s", code, out, errs)
	}
	steps := quickstartSteps(t, out)
	checkSteps(t, steps, map[int][]string{
		1: {"env/dev, env/staging and env/prod all at", "$ stagegate validate", "pipeline shop: 3 environments ok"},
		2: {"$ stagegate render --env dev", "8 objects"},
		3: {"Bob pushed", "web 1.5.0; cart follows its latest build", "$ stagegate run --once",
			"shop      staging  1  open   Promote", "failure",
			"gate security: fail", "security/latest-tag Deployment shop-staging/cart", "fix: Pin the image"},
		4: {"Carol pushed", "shop      staging  1  merged", "success",
			"env/staging is now", "(#1)", "Stagegate-Source: env/dev@", "Stagegate-Gate: security=pass", "Stagegate-Request: #1"},
		5: {"shop      prod  2  open", "pending", "gate approvals: pending"},
		6: {"$ stagegate approve shop prod --as alice -m 'web 1.5.0", "alice: APPROVED on request #2",
			"shop      prod     2  merged", "alice", "env/prod is now", "Stagegate-Approved-By: alice", "Stagegate-Gate: approvals=pass"},
		7: {"$ stagegate audit --env prod", "2 commits, 1 promotion, 0 findings", "exit 0: clean"},
		8: {"Skipped: no --kubeconfig"},
		9: {"cd " + dir, "stagegate requests show shop prod"},
	})
	if strings.Contains(steps[3], "1  merged") || strings.Contains(steps[3], "env/staging is now") {
		t.Errorf("step 3 merged the failing request:\n%s", steps[3])
	}

	// What it leaves works with the other verbs, from the directory, as step 9 says.
	global := []string{"--config", filepath.Join(dir, "stagegate.yaml"), "--cache-dir", t.TempDir()}
	if code, out, errs := stagegate(t, append([]string{"audit", "--env", "staging", "--verify"}, global...)...); code != 0 {
		t.Errorf("audit --env staging --verify after the quickstart: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := stagegate(t, append([]string{"plan"}, global...)...); code != 0 {
		t.Errorf("plan after the quickstart: exit %d, want 0 (everything promoted)\n%s\n%s", code, out, errs)
	}

	// A second run into the same directory refuses, naming it and the fix.
	code, _, errs = stagegate(t, "quickstart", "--dir", dir)
	if code != exitError || !strings.Contains(errs, dir+" is not empty: remove it, or choose another directory with --dir") {
		t.Errorf("quickstart into a non-empty directory: exit %d, stderr %q", code, errs)
	}
}

// TestQuickstartWithCluster runs the quickstart with --kubeconfig against a real API server: it
// applies prod and finds it in sync.
func TestQuickstartWithCluster(t *testing.T) {
	kubeconfig := deploytest.Kubeconfig(t, deploytest.Start(t))
	dir := filepath.Join(t.TempDir(), "qs")
	code, out, errs := stagegate(t, "quickstart", "--dir", dir, "--kubeconfig", kubeconfig)
	if code != 0 {
		t.Fatalf("quickstart --kubeconfig: exit %d\n%s\nstderr:\n%s", code, out, errs)
	}
	steps := quickstartSteps(t, out)
	checkSteps(t, steps, map[int][]string{
		7: {"exit 0: clean"},
		8: {"cluster: {kubeconfig: " + kubeconfig + "}", "$ stagegate apply --env prod", "created    apps/Deployment shop-prod/web",
			"0 failed", "$ stagegate drift --env prod", "exit 0: the cluster matches env/prod"},
	})
	cfg, err := os.ReadFile(filepath.Join(dir, "stagegate.yaml"))
	if err != nil || strings.Count(string(cfg), "kubeconfig: ") != 3 {
		t.Errorf("stagegate.yaml should name the cluster on its 3 environments (%v):\n%s", err, cfg)
	}
}

func TestQuickstartRefusesAMissingKubeconfig(t *testing.T) {
	code, _, errs := stagegate(t, "quickstart", "--dir", filepath.Join(t.TempDir(), "qs"), "--kubeconfig", "/nonexistent/kubeconfig")
	if code != exitError || !strings.Contains(errs, "--kubeconfig: stat /nonexistent/kubeconfig") {
		t.Errorf("quickstart --kubeconfig /nonexistent: exit %d, stderr %q", code, errs)
	}
}
