package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/examples"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// localConfig seeds the example repository and writes a config for it on the local forge with
// no clusters: staging promotes automatically, prod needs one approval and a person to merge.
func localConfig(t *testing.T) (examples.Seeded, []string) {
	t.Helper()
	s, err := examples.Seed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "stagegate.yaml")
	os.WriteFile(cfg, []byte(`apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: shop}
spec:
  repo: {url: "`+s.URL+`"}
  forge: {type: local}
  environments:
    - {name: dev, branch: env/dev, path: overlays/dev}
    - {name: staging, branch: env/staging, path: overlays/staging, promote: {auto: true}, gates: {schema: {}}}
    - {name: prod, branch: env/prod, path: overlays/prod, promote: {approvals: 1, mergeMethod: merge}, gates: {schema: {}}}
`), 0o644)
	return s, []string{"--config", cfg, "--cache-dir", t.TempDir()}
}

func TestApproveAndMergeOnTheLocalForge(t *testing.T) {
	s, global := localConfig(t)
	sg := func(args ...string) (int, string, string) {
		t.Helper()
		return stagegate(t, append(args, global...)...)
	}
	git := func(args ...string) string { return strings.TrimSpace(gitsourcetest.Git(t, s.Repo, args...)) }

	// The first cycle merges staging and opens prod's request from staging's old head; the
	// second promotes staging's new head into it.
	for range 2 {
		if code, _, errs := sg("run", "--once"); code != 0 {
			t.Fatalf("run --once: exit %d, stderr %q", code, errs)
		}
	}
	// staging merged by the agent; prod's request waits for an approval.
	code, out, errs := sg("requests")
	if code != 0 || !strings.Contains(out, "shop      prod") || strings.Contains(out, "staging") {
		t.Fatalf("requests: exit %d, stderr %q, stdout:\n%s\nwant prod's open request only", code, errs, out)
	}
	if !strings.Contains(out, "pending") {
		t.Errorf("requests does not show prod's gates pending:\n%s", out)
	}
	if _, out, _ := sg("requests", "--all", "-o", "json"); !strings.Contains(out, `"merged": true`) || !strings.Contains(out, `"env": "staging"`) {
		t.Errorf("requests --all -o json does not list staging's merged request:\n%s", out)
	}

	if code, _, errs := sg("merge", "shop", "prod", "--as", "carol"); code != exitGateFails || !strings.Contains(errs, "approvals pending") {
		t.Errorf("merge before any approval: exit %d, stderr %q; want %d naming the approvals gate", code, errs, exitGateFails)
	}
	if code, out, errs := sg("approve", "shop", "prod", "--as", "alice", "-m", "rollout checked"); code != 0 || !strings.Contains(out, "alice: APPROVED on request #2") {
		t.Fatalf("approve: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, _, errs := sg("merge", "shop", "prod", "--as", "carol"); code != exitGateFails {
		t.Errorf("merge before the agent gated the approval: exit %d, stderr %q; want %d", code, errs, exitGateFails)
	}
	if code, _, errs := sg("run", "--once"); code != 0 {
		t.Fatalf("run --once: exit %d, stderr %q", code, errs)
	}
	if _, out, _ := sg("requests"); !strings.Contains(out, "success") || !strings.Contains(out, "alice") {
		t.Errorf("requests after the approval was gated:\n%s\nwant success, approved by alice", out)
	}
	code, out, _ = sg("requests", "show", "shop", "prod")
	for _, want := range []string{"#2 Promote ", "stagegate/promote/prod → env/prod", "Stagegate-Approved-By: alice", "alice APPROVED on "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("requests show shop prod: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}

	// A change request after gating holds the merge until the agent gates again.
	sg("reject", "shop", "prod", "--as", "bob")
	if code, _, errs := sg("merge", "shop", "prod", "--as", "carol"); code != exitGateFails || !strings.Contains(errs, "bob requested changes") {
		t.Errorf("merge after bob's change request: exit %d, stderr %q", code, errs)
	}
	sg("approve", "shop", "prod", "--as", "bob")

	if code, out, errs := sg("merge", "shop", "prod", "--as", "carol"); code != 0 || !strings.Contains(out, "merged request #2") {
		t.Fatalf("merge: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	msg := git("log", "-1", "--format=%B", "env/prod")
	for _, want := range []string{"(#2)", "merged by carol", "Stagegate-Approved-By: alice", "Stagegate-Gate: approvals=pass", "Stagegate-Request: #2", "Stagegate-Source: env/staging@"} {
		if !strings.Contains(msg, want) {
			t.Errorf("prod's merge commit lacks %q:\n%s", want, msg)
		}
	}
	if parents := strings.Fields(git("log", "-1", "--format=%P", "env/prod")); len(parents) != 2 {
		t.Errorf("prod's merge has parents %v; want a merge commit (mergeMethod: merge)", parents)
	}
	if code, _, errs := sg("merge", "shop", "prod"); code != exitError || !strings.Contains(errs, "no open promotion request into prod") {
		t.Errorf("merge with nothing open: exit %d, stderr %q", code, errs)
	}
	var listed struct{ Requests []struct{ Merged bool } }
	_, out, _ = sg("requests", "--all", "-o", "json")
	if json.Unmarshal([]byte(out), &listed); len(listed.Requests) != 2 || !listed.Requests[0].Merged || !listed.Requests[1].Merged {
		t.Errorf("requests --all after the merge: %s", out)
	}
}

func TestRequestVerbErrors(t *testing.T) {
	_, global := localConfig(t)
	gh := githubConfig(t, emulator(t))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no request yet", append([]string{"approve", "shop", "prod", "--as", "alice"}, global...), "no open promotion request into prod of pipeline shop"},
		{"the first environment takes no requests", append([]string{"approve", "shop", "dev", "--as", "alice"}, global...), "dev is pipeline shop's first environment"},
		{"an unknown environment", append([]string{"merge", "shop", "qa"}, global...), `pipeline shop has no environment "qa"`},
		{"github keeps its own", []string{"approve", "shop", "staging", "--as", "alice", "--config", gh, "--cache-dir", t.TempDir()}, "keeps its promotion requests on github"},
		{"requests of a github pipeline", []string{"requests", "--pipeline", "shop", "--config", gh, "--cache-dir", t.TempDir()}, "review and merge them there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := stagegate(t, tt.args...)
			if code != exitError || !strings.Contains(errs, tt.want) {
				t.Errorf("stagegate %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tt.args, " "), code, errs, tt.want)
			}
		})
	}
}
