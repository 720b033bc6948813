package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

func TestAuditSeeded(t *testing.T) {
	s, global := seed(t)
	code, out, errs := stagegate(t, append([]string{"audit", "--env", "prod", "--verify"}, global...)...)
	if code != exitOK || !strings.Contains(out, "shop/prod: env/prod at "+s.Commits["initial"][:7]+": 1 commit, 0 promotions, 0 findings, digests verified") ||
		!strings.Contains(out, "initial") {
		t.Errorf("audit prod: exit %d, stderr %q; want 0 and the initial commit:\n%s", code, errs, out)
	}
	code, out, errs = stagegate(t, append([]string{"audit", "--env", "staging"}, global...)...)
	for _, want := range []string{
		"2 commits, 1 promotion, 1 finding",
		s.Commits["staging-promotion"][:7] + "  promotion  env/dev@" + s.Commits["dev-web-1.5"][:7],
		"malformed-trailers  no Stagegate-Rendered trailer",
		"fix: stagegate writes these trailers",
	} {
		if code != exitFound || !strings.Contains(out, want) {
			t.Errorf("audit staging: exit %d (want 2), stderr %q; output lacks %q:\n%s", code, errs, want, out)
		}
	}
}

// promotedRepo is a repository whose env/prod has a promotion from env/staging recording the
// digest given by digest(staging's digest), then a hotfix pushed by hand; it returns the config,
// the promotion and the hotfix.
func promotedRepo(t *testing.T, digest func(string) string) (cfg, promotion, hotfix string) {
	files := func(v string) map[string]string {
		return map[string]string{
			"app/kustomization.yaml": "resources: [cm.yaml]\n",
			"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata: {v: " + v + "}\n",
		}
	}
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/staging": files("0")})
	gitsourcetest.Branch(t, repo, "env/prod", "env/staging")
	source := gitsourcetest.Commit(t, repo, "env/staging", files("1"), "v1")
	cfg = filepath.Join(t.TempDir(), "stagegate.yaml")
	os.WriteFile(cfg, []byte(`apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: app}
spec:
  repo: {url: "`+repo+`"}
  environments:
    - {name: staging, branch: env/staging, path: app}
    - {name: prod, branch: env/prod, path: app}
`), 0o644)
	p := config.Pipeline{Spec: config.Spec{Repo: config.Repo{URL: repo}, Environments: []config.Environment{
		{Name: "staging", Branch: "env/staging", Path: "app"}, {Name: "prod", Branch: "env/prod", Path: "app"}}}}
	r, err := controller.RenderEnv(context.Background(), p, "prod", source, controller.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	promotion = gitsourcetest.Commit(t, repo, "env/prod", files("1"), "Promote "+source[:7]+" to prod (#4)\n\n"+
		"Stagegate-Source: env/staging@"+source+"\nStagegate-Rendered: "+digest(r.Objects.Digest())+
		"\nStagegate-Gate: schema=pass\nStagegate-Approved-By: alice\nStagegate-Request: #4\n")
	hotfix = gitsourcetest.Commit(t, repo, "env/prod", files("hot"), "Hotfix by hand")
	return cfg, promotion, hotfix
}

func TestAuditOutputsAndExitCodes(t *testing.T) {
	cfg, promotion, hotfix := promotedRepo(t, func(d string) string { return d })
	global := []string{"--config", cfg, "--cache-dir", t.TempDir()}

	code, out, errs := stagegate(t, append([]string{"audit", "--env", "prod"}, global...)...)
	for _, want := range []string{
		"app/prod: env/prod at " + hotfix[:7] + ": 3 commits, 1 promotion, 1 finding",
		hotfix[:7] + "  out-of-band",
		promotion[:7] + "  promotion    env/staging@",
		"1 pass  alice        #4       Stagegate Test  -",
		"Findings (1):\n  " + hotfix[:7] + `  out-of-band  commit "Hotfix by hand" by Stagegate Test <test@stagegate.dev> did not come through a stagegate promotion`,
	} {
		if code != exitFound || !strings.Contains(out, want) {
			t.Errorf("audit: exit %d (want 2), stderr %q; output lacks %q:\n%s", code, errs, want, out)
		}
	}
	if i, j := strings.Index(out, hotfix[:7]+"  out-of-band"), strings.Index(out, promotion[:7]+"  promotion"); i > j {
		t.Errorf("entries are not newest first:\n%s", out)
	}

	code, out, _ = stagegate(t, append([]string{"audit", "--env", "prod", "-o", "json"}, global...)...)
	var l controller.Ledger
	if err := json.Unmarshal([]byte(out), &l); err != nil || code != exitFound {
		t.Fatalf("audit -o json: exit %d, %v:\n%s", code, err, out)
	}
	if len(l.Entries) != 3 || l.Entries[1].Request != "#4" || l.Entries[1].ApprovedBy[0] != "alice" || len(l.Findings) != 1 || l.Findings[0].Check != controller.CheckOutOfBand {
		t.Errorf("audit -o json = %+v", l)
	}

	code, out, _ = stagegate(t, append([]string{"audit", "--env", "prod", "-o", "csv"}, global...)...)
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || code != exitFound || len(rows) != 4 {
		t.Fatalf("audit -o csv: exit %d, %v, %d rows:\n%s", code, err, len(rows), out)
	}
	if rows[0][0] != "sha" || rows[0][15] != "findings" || rows[1][0] != hotfix || !strings.HasPrefix(rows[1][15], "out-of-band: ") ||
		rows[2][0] != promotion || rows[2][8] != "schema=pass" || rows[2][12] != "#4" || rows[2][15] != "" || rows[3][2] != "initial" {
		t.Errorf("audit -o csv rows:\n%q", rows)
	}

	// Since the promotion (its commit time), the hand-made hotfix is still in; the day after
	// the epoch's last commit, nothing is.
	if code, out, _ = stagegate(t, append([]string{"audit", "--env", "prod", "--since", l.Entries[1].When.Format("2006-01-02T15:04:05Z07:00")}, global...)...); code != exitFound || !strings.Contains(out, "2 commits, 1 promotion, 1 finding") || !strings.Contains(out, "not read") {
		t.Errorf("audit --since the promotion: exit %d:\n%s", code, out)
	}
	if code, out, _ = stagegate(t, append([]string{"audit", "--env", "prod", "--since", "2025-01-02"}, global...)...); code != exitOK || !strings.Contains(out, "0 commits, 0 promotions, 0 findings") {
		t.Errorf("audit --since after every commit: exit %d:\n%s", code, out)
	}
}

func TestAuditVerifyCatchesDigestMismatch(t *testing.T) {
	wrong := "sha256:" + strings.Repeat("0", 64)
	cfg, promotion, _ := promotedRepo(t, func(string) string { return wrong })
	global := []string{"--config", cfg, "--cache-dir", t.TempDir(), "--env", "prod", "--since", "2025-01-01T00:02:00Z"}
	if code, out, errs := stagegate(t, append([]string{"audit"}, global...)...); code != exitFound || strings.Contains(out, "digest-mismatch") {
		t.Errorf("audit without --verify: exit %d, stderr %q; want only the hotfix flagged:\n%s", code, errs, out)
	}
	code, out, errs := stagegate(t, append([]string{"audit", "--verify"}, global...)...)
	if code != exitFound || !strings.Contains(out, promotion[:7]+"  digest-mismatch  Stagegate-Rendered records "+wrong+"; re-rendering app gives sha256:") ||
		!strings.Contains(out, "stagegate render --env prod --ref "+promotion[:7]) {
		t.Errorf("audit --verify: exit %d, stderr %q; want the digest mismatch with a render command to compare:\n%s", code, errs, out)
	}
}

func TestAuditCLIErrors(t *testing.T) {
	_, global := seed(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "--env is required"},
		{[]string{"audit", "--env", "prod", "-o", "xml"}, `-o "xml": want text, json or csv`},
		{[]string{"audit", "--env", "prod", "--since", "last week"}, `--since "last week": want a date (2026-01-31) or an RFC 3339 time`},
		{[]string{"audit", "--env", "qa"}, `pipeline shop has no environment "qa"`},
	} {
		code, _, errs := stagegate(t, append(tt.args, global...)...)
		if code != exitError || !strings.Contains(errs, tt.want) {
			t.Errorf("stagegate %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tt.args, " "), code, errs, tt.want)
		}
	}
}
