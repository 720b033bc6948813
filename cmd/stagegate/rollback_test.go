package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestRollbackAndResume(t *testing.T) {
	gh := emulator(t)
	cfg := githubConfig(t, gh)
	// staging's rollbacks merge by themselves once its schema gate passes.
	os.WriteFile(cfg, bytes.Replace(must(os.ReadFile(cfg)), []byte("gates: {schema: {}}}"), []byte("gates: {schema: {}}, rollback: {auto: true, gates: {schema: {}}}}"), 1), 0o644)
	global := []string{"--config", cfg, "--cache-dir", t.TempDir()}
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return stagegate(t, append(args, global...)...)
	}
	git := func(args ...string) string { return strings.TrimSpace(gitsourcetest.Git(t, gh.Repo(), args...)) }
	color := func(c string) map[string]string {
		return map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop}\ndata: {color: " + c + "}\n"}
	}
	good := git("rev-parse", "env/staging")
	gitsourcetest.Commit(t, gh.Repo(), "env/dev", color("red"), "red")
	if code, _, errs := cli("run", "--once"); code != 0 || !gh.PR(1).Merged {
		t.Fatalf("run --once: exit %d, stderr %q; want the promotion merged", code, errs)
	}

	code, out, errs := cli("rollback", "--env", "staging", "--to", "HEAD~1", "--by", "carol")
	if code != exitOK {
		t.Fatalf("rollback: exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"Rolling staging back to " + good[:7] + ": request #2", "stagegate/rollback/staging", "undoes 1 commit(s)",
		"paused until: stagegate resume --config " + cfg + " --pipeline shop --env staging"} {
		if !strings.Contains(out, want) {
			t.Errorf("rollback output lacks %q:\n%s", want, out)
		}
	}
	if git("for-each-ref", "--format=%(refname)", "refs/stagegate/") != "refs/stagegate/pause/shop/staging" {
		t.Errorf("no pause ref after rollback")
	}
	if pr := gh.PR(2); pr.Head != "stagegate/rollback/staging" || !strings.Contains(pr.Body, "**Paused:**") {
		t.Fatalf("request #2 = %s; want the rollback, saying promotion is paused:\n%s", pr.Head, pr.Body)
	}

	// The agent merges the rollback; a new change on dev is not promoted while paused.
	gitsourcetest.Commit(t, gh.Repo(), "env/dev", color("green"), "green")
	if code, _, errs := cli("run", "--once"); code != 0 || !gh.PR(2).Merged {
		t.Fatalf("run --once: exit %d, stderr %q; want the rollback merged", code, errs)
	}
	if got, want := git("rev-parse", "env/staging^{tree}"), git("rev-parse", good+"^{tree}"); got != want {
		t.Errorf("staging's tree after the rollback %s, want %s", got, want)
	}
	cli("run", "--once")
	if gh.PRs() != 2 {
		t.Fatalf("%d requests while paused, want 2", gh.PRs())
	}

	code, out, errs = cli("resume", "--env", "staging", "--by", "carol")
	if code != exitOK || !strings.Contains(out, "Resumed automatic promotion into staging (paused by carol: rollback of staging to "+good[:7]) {
		t.Fatalf("resume: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := cli("run", "--once"); code != 0 || gh.PRs() != 3 || !gh.PR(3).Merged {
		t.Fatalf("run --once after resume: exit %d, stderr %q, %d requests; want the green promotion merged", code, errs, gh.PRs())
	}
	if code, out, _ := cli("resume", "--env", "staging"); code != exitOK || !strings.Contains(out, "staging was not paused") {
		t.Errorf("a second resume: exit %d, %q; want 0 and that it was not paused", code, out)
	}
}

func TestRollbackErrors(t *testing.T) {
	gh := emulator(t)
	global := []string{"--config", githubConfig(t, gh), "--cache-dir", t.TempDir()}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --to", []string{"rollback", "--env", "staging"}, `required flag(s) "to" not set`},
		{"the head itself", []string{"rollback", "--env", "staging", "--to", "HEAD"}, "head already: nothing to roll back"},
		{"the first environment", []string{"rollback", "--env", "dev", "--to", "HEAD~1"}, "dev is the first environment"},
		{"an unknown environment", []string{"rollback", "--env", "prod", "--to", "HEAD~1"}, `no environment "prod"`},
		{"a request that is not there", []string{"rollback", "--env", "staging", "--to", "#9"}, "rollback of staging"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := stagegate(t, append(tc.args, global...)...)
			if code != exitError || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errs, tc.want)
			}
		})
	}
	if gh.PRs() != 0 {
		t.Errorf("a failed rollback opened %d requests", gh.PRs())
	}
}

func TestRollbackJSON(t *testing.T) {
	gh := emulator(t)
	global := []string{"--config", githubConfig(t, gh), "--cache-dir", t.TempDir()}
	gitsourcetest.Commit(t, gh.Repo(), "env/dev", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop}\ndata: {color: red}\n"}, "red")
	if code, _, errs := stagegate(t, append([]string{"run", "--once"}, global...)...); code != 0 {
		t.Fatalf("run --once: exit %d, %s", code, errs)
	}
	code, out, errs := stagegate(t, append([]string{"rollback", "--env", "staging", "--to", "~1", "-o", "json"}, global...)...)
	if code != exitOK {
		t.Fatalf("rollback -o json: exit %d, %s", code, errs)
	}
	var got struct {
		SHA     string `json:"sha"`
		Branch  string `json:"branch"`
		Request struct {
			Number int `json:"number"`
		} `json:"request"`
		Plan struct {
			Env    string `json:"env"`
			Undone []any  `json:"undone"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.Branch != "stagegate/rollback/staging" || got.Request.Number != 2 || got.Plan.Env != "staging" || len(got.Plan.Undone) != 1 || len(got.SHA) != 40 {
		t.Errorf("rollback -o json = %+v", got)
	}
}
