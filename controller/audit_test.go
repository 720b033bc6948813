package controller_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/examples"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// auditRepo is a repository whose env/prod receives env/staging's changes by promotions landed
// every way a forge lands them, and by hand.
type auditRepo struct {
	t     *testing.T
	repo  string
	p     config.Pipeline
	cache string
}

func newAuditRepo(t *testing.T) *auditRepo {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/staging": appFiles("v0")})
	gitsourcetest.Branch(t, repo, "env/prod", "env/staging")
	p := config.Pipeline{Metadata: config.Metadata{Name: "app"}, Spec: config.Spec{Repo: config.Repo{URL: "file://" + repo}}}
	for _, e := range []string{"staging", "prod"} {
		p.Spec.Environments = append(p.Spec.Environments, config.Environment{Name: e, Branch: "env/" + e, Path: "app"})
	}
	return &auditRepo{t: t, repo: repo, p: p, cache: t.TempDir()}
}

func appFiles(v string) map[string]string {
	return map[string]string{
		"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: app}\ndata: {version: " + v + "}\n",
	}
}

// stage commits version v on env/staging and returns its sha and prod's digest of it.
func (r *auditRepo) stage(v string) (sha, digest string) {
	r.t.Helper()
	sha = gitsourcetest.Commit(r.t, r.repo, "env/staging", appFiles(v), "app "+v)
	rd, err := controller.RenderEnv(context.Background(), r.p, "prod", sha, controller.Options{CacheDir: r.cache})
	if err != nil {
		r.t.Fatal(err)
	}
	return sha, rd.Objects.Digest()
}

// message is a promotion's message: the subject, then the trailers given as "Key: value" lines.
func message(subject string, trailers ...string) string {
	return subject + "\n\nenv/staging → env/prod\n\n" + strings.Join(trailers, "\n") + "\n"
}

func full(source, digest string, request int) []string {
	return []string{
		"Stagegate-Source: env/staging@" + source, "Stagegate-Rendered: " + digest,
		"Stagegate-Gate: schema=pass", "Stagegate-Gate: window=pass",
		"Stagegate-Approved-By: alice", fmt.Sprintf("Stagegate-Request: #%d", request),
	}
}

// fastForward lands version v's promotion commit itself on env/prod (a rebase merge, or a
// squash, which looks the same on the branch).
func (r *auditRepo) fastForward(v string, trailers func(source, digest string) []string) string {
	source, digest := r.stage(v)
	return gitsourcetest.Commit(r.t, r.repo, "env/prod", appFiles(v), message("Promote "+source[:7]+" to prod", trailers(source, digest)...))
}

// merge writes version v's promotion commit on the promotion branch and merges it into env/prod
// with mergeMsg(source, digest) as the merge's message.
func (r *auditRepo) merge(v string, mergeMsg func(source, digest string) string) (promotion, merge string) {
	source, digest := r.stage(v)
	gitsourcetest.Branch(r.t, r.repo, "stagegate/promote/prod", "env/prod")
	promotion = gitsourcetest.Commit(r.t, r.repo, "stagegate/promote/prod", appFiles(v),
		message("Promote "+source[:7]+" to prod", "Stagegate-Source: env/staging@"+source, "Stagegate-Rendered: "+digest))
	return promotion, gitsourcetest.Merge(r.t, r.repo, "env/prod", "stagegate/promote/prod", mergeMsg(source, digest))
}

func (r *auditRepo) audit(ao controller.AuditOptions) controller.Ledger {
	r.t.Helper()
	l, err := controller.Audit(context.Background(), r.p, "prod", ao, controller.Options{CacheDir: r.cache})
	if err != nil {
		r.t.Fatal(err)
	}
	return l
}

// kinds is the ledger's entries as "<kind> <subject>", newest first.
func kinds(l controller.Ledger) []string {
	var out []string
	for _, e := range l.Entries {
		out = append(out, string(e.Kind)+" "+e.Subject)
	}
	return out
}

// findings is the ledger's findings as "<check> <short sha>: <message>".
func findings(l controller.Ledger) []string {
	var out []string
	for _, f := range l.Findings {
		out = append(out, string(f.Check)+" "+f.SHA[:7]+": "+f.Message)
	}
	return out
}

// TestAuditCleanLedger lands four promotions the four ways a forge lands them; the ledger
// lists each with its record and finds nothing, re-rendering included.
func TestAuditCleanLedger(t *testing.T) {
	r := newAuditRepo(t)
	ff := r.fastForward("v1", func(s, d string) []string { return full(s, d, 1) })
	var v2Source, v2Digest string
	promotion, merge := r.merge("v2", func(s, d string) string {
		v2Source, v2Digest = s, d
		return message("Promote "+s[:7]+" to prod (#2)", full(s, d, 2)...)
	})
	squash := r.fastForward("v3", func(s, d string) []string { return full(s, d, 3) })
	plain, personMerge := r.merge("v4", func(s, d string) string { return "Merge pull request #4 from acme/stagegate/promote/prod" })

	for _, verify := range []bool{false, true} {
		l := r.audit(controller.AuditOptions{Verify: verify})
		want := []string{
			"merged-promotion Merge pull request #4 from acme/stagegate/promote/prod",
			"promotion Promote " + r.sourceOf(squash)[:7] + " to prod",
			"merge Promote " + v2Source[:7] + " to prod (#2)",
			"promotion Promote " + r.sourceOf(ff)[:7] + " to prod",
			"initial init env/staging",
		}
		if diff := cmp.Diff(want, kinds(l)); diff != "" {
			t.Errorf("Audit(verify=%v) entries (-want +got):\n%s", verify, diff)
		}
		if len(l.Findings) != 0 || !l.Clean() || l.More {
			t.Errorf("Audit(verify=%v) of a clean history: findings %q, more %v", verify, findings(l), l.More)
		}
	}
	l := r.audit(controller.AuditOptions{})
	got := l.Entries[2]
	want := controller.Entry{
		SHA: merge, When: got.When, Kind: controller.EntryMerge, Subject: "Promote " + v2Source[:7] + " to prod (#2)",
		Promotion: promotion, Source: "env/staging", SourceSHA: v2Source, Rendered: v2Digest,
		Gates:      []gitsource.Verdict{{Gate: "schema", Outcome: "pass"}, {Gate: "window", Outcome: "pass"}},
		ApprovedBy: []string{"alice"}, Request: "#2",
		Author: "Stagegate Test <test@stagegate.dev>", MergedBy: "Stagegate Test <test@stagegate.dev>",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the merge's entry (-want +got):\n%s", diff)
	}
	if e := l.Entries[0]; e.Promotion != plain || e.SHA != personMerge || e.Rendered == "" || len(e.Gates) != 0 {
		t.Errorf("a person's merge with GitHub's default message = %+v; want the promotion commit's record (source, rendering, no gates)", e)
	}
	if l.Entries[1].SHA != squash || l.Entries[3].SHA != ff {
		t.Errorf("the squash and fast-forward entries are %s and %s; want %s and %s", l.Entries[1].SHA, l.Entries[3].SHA, squash, ff)
	}
}

// sourceOf is the source sha a promotion commit's trailer names.
func (r *auditRepo) sourceOf(sha string) string {
	msg := gitsourcetest.Git(r.t, r.repo, "log", "-1", "--format=%B", sha)
	_, source, _, _ := gitsource.Source(msg)
	return source
}

func TestAuditFindings(t *testing.T) {
	tests := []struct {
		name    string
		history func(r *auditRepo) string // returns the commit the findings are about
		verify  bool
		want    []string // "<check>: <phrase of the message>"
	}{
		{"a commit pushed straight to the branch is out-of-band", func(r *auditRepo) string {
			r.fastForward("v1", func(s, d string) []string { return full(s, d, 1) })
			return gitsourcetest.Commit(r.t, r.repo, "env/prod", appFiles("hotfix"), "Hotfix: pin v0.9")
		}, false, []string{`out-of-band: commit "Hotfix: pin v0.9" by Stagegate Test <test@stagegate.dev> did not come through a stagegate promotion`}},
		{"a merge of a branch that is no promotion is out-of-band", func(r *auditRepo) string {
			gitsourcetest.Branch(r.t, r.repo, "feature", "env/prod")
			gitsourcetest.Commit(r.t, r.repo, "feature", appFiles("feature"), "Feature")
			return gitsourcetest.Merge(r.t, r.repo, "env/prod", "feature", "Merge branch 'feature'")
		}, false, []string{`out-of-band: merge "Merge branch 'feature'" by Stagegate Test <test@stagegate.dev> did not come through a stagegate promotion`}},
		{"a commit pushed onto the promotion branch before the merge came in beside it", func(r *auditRepo) string {
			source, digest := r.stage("v1")
			gitsourcetest.Branch(r.t, r.repo, "stagegate/promote/prod", "env/prod")
			gitsourcetest.Commit(r.t, r.repo, "stagegate/promote/prod", appFiles("v1"), message("Promote", "Stagegate-Source: env/staging@"+source, "Stagegate-Rendered: "+digest))
			gitsourcetest.Commit(r.t, r.repo, "stagegate/promote/prod", appFiles("sneaky"), "Sneak this in")
			return gitsourcetest.Merge(r.t, r.repo, "env/prod", "stagegate/promote/prod", message("Promote (#1)", full(source, digest, 1)...))
		}, false, []string{`out-of-band: merge brings in 1 commit(s) beside the promotion that did not come through one:`, `out-of-band: "Sneak this in"`}},
		{"a merge whose trailers name another source than the promotion it merges", func(r *auditRepo) string {
			older, _ := r.stage("v0.5")
			_, merge := r.merge("v1", func(s, d string) string { return message("Promote (#1)", full(older, d, 1)...) })
			return merge
		}, false, []string{"malformed-trailers: the merge's Stagegate-Source names env/staging@", "malformed-trailers: but the promotion commit it merges"}},
		{"malformed trailers", func(r *auditRepo) string {
			return r.fastForward("v1", func(s, d string) []string {
				return []string{"Stagegate-Source: env/staging@" + s[:12], "Stagegate-Rendered: " + d, "Stagegate-Gate: schema", "Stagegate-Request: 7"}
			})
		}, false, []string{
			`malformed-trailers: Stagegate-Source "env/staging@`,
			`malformed-trailers: Stagegate-Gate "schema": want <gate>=<pass|fail|pending>`,
			`malformed-trailers: Stagegate-Request "7": want one #<number>`,
		}},
		{"a promotion without its rendering", func(r *auditRepo) string {
			return r.fastForward("v1", func(s, d string) []string { return []string{"Stagegate-Source: env/staging@" + s} })
		}, true, []string{"malformed-trailers: no Stagegate-Rendered trailer"}},
		{"a failing gate merged anyway", func(r *auditRepo) string {
			return r.fastForward("v1", func(s, d string) []string {
				return append(full(s, d, 1), "Stagegate-Gate: security=fail", "Stagegate-Gate: checks=pending")
			})
		}, false, []string{"merged-ungated: promotion of ", "merged-ungated: merged with security=fail, checks=pending and no break-glass"}},
		{"a closed window with a break-glass and drift with an acknowledgement are explained", func(r *auditRepo) string {
			return r.fastForward("v1", func(s, d string) []string {
				return append(full(s, d, 1), "Stagegate-Gate: window=fail", "Stagegate-Break-Glass: incident 7 (by alice)",
					"Stagegate-Gate: drift=fail", "Stagegate-Drift-Acknowledged: known drift (by bob)")
			})
		}, false, nil},
		{"--verify: a recorded digest that is not the rendering of what landed", func(r *auditRepo) string {
			_, other := r.stage("v9")
			return r.fastForward("v1", func(s, d string) []string { return full(s, other, 1) })
		}, true, []string{"digest-mismatch: Stagegate-Rendered records sha256:", "digest-mismatch: re-rendering app gives sha256:"}},
		{"without --verify the digest is not checked", func(r *auditRepo) string {
			_, other := r.stage("v9")
			return r.fastForward("v1", func(s, d string) []string { return full(s, other, 1) })
		}, false, nil},
		{"--verify: a promotion that no longer renders", func(r *auditRepo) string {
			source, digest := r.stage("v1")
			files := appFiles("v1")
			files["app/kustomization.yaml"] = "resources: [missing.yaml]\n"
			return gitsourcetest.Commit(r.t, r.repo, "env/prod", files, message("Promote", full(source, digest, 1)...))
		}, true, []string{"unverifiable: does not render:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newAuditRepo(t)
			about := tt.history(r)
			l := r.audit(controller.AuditOptions{Verify: tt.verify})
			got := findings(l)
			if len(tt.want) == 0 {
				if len(got) != 0 {
					t.Errorf("findings %q; want none", got)
				}
				return
			}
			all := strings.Join(got, "\n")
			for _, w := range tt.want {
				check, phrase, _ := strings.Cut(w, ": ")
				if !strings.Contains(all, phrase) || !strings.Contains(all, check+" ") {
					t.Errorf("findings lack %s %q:\n%s", check, phrase, all)
				}
			}
			for _, f := range l.Findings {
				if f.SHA != about {
					t.Errorf("finding %s %q is about %s; want %s", f.Check, f.Message, f.SHA[:7], about[:7])
				}
				if f.Fix == "" {
					t.Errorf("finding %s %q has no fix", f.Check, f.Message)
				}
			}
		})
	}
}

func TestAuditSinceAndLimit(t *testing.T) {
	r := newAuditRepo(t)
	r.fastForward("v1", func(s, d string) []string { return full(s, d, 1) })
	hotfix := gitsourcetest.Commit(t, r.repo, "env/prod", appFiles("hotfix"), "Hotfix")
	v2 := r.fastForward("v2", func(s, d string) []string { return full(s, d, 2) })
	v3 := r.fastForward("v3", func(s, d string) []string { return full(s, d, 3) })

	all := r.audit(controller.AuditOptions{})
	if len(all.Entries) != 5 || len(all.Findings) != 1 || all.Findings[0].SHA != hotfix {
		t.Fatalf("whole history: %q, findings %q; want 5 entries and the hotfix flagged", kinds(all), findings(all))
	}
	since := all.Entries[1].When // v2's commit time: the hotfix and older are left out
	l := r.audit(controller.AuditOptions{Since: since})
	if len(l.Entries) != 2 || l.Entries[0].SHA != v3 || l.Entries[1].SHA != v2 || !l.More || !l.Clean() {
		t.Errorf("since %s: %q, more %v, findings %q; want v3 and v2, more, clean", since, kinds(l), l.More, findings(l))
	}
	l = r.audit(controller.AuditOptions{Limit: 1})
	if len(l.Entries) != 1 || !l.More {
		t.Errorf("limit 1: %q, more %v", kinds(l), l.More)
	}
	if l = r.audit(controller.AuditOptions{Since: time.Now()}); len(l.Entries) != 0 || !l.More || !l.Clean() {
		t.Errorf("since now: %q", kinds(l))
	}
}

// TestAuditSeededShop: the example's prod is its initial commit only; staging's promotion was
// written by hand before stagegate recorded renderings, and the audit says so.
func TestAuditSeededShop(t *testing.T) {
	s, err := examples.Seed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline(s.URL, "dev", "staging", "prod")
	prod, err := controller.Audit(context.Background(), p, "prod", controller.AuditOptions{Verify: true}, controller.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"initial Initial shop deployment"}, kinds(prod)); diff != "" || !prod.Clean() {
		t.Errorf("prod ledger (-want +got):\n%s\nfindings %q", diff, findings(prod))
	}
	staging, err := controller.Audit(context.Background(), p, "staging", controller.AuditOptions{}, controller.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := staging.Entries[0]
	if e.Kind != controller.EntryPromotion || e.SHA != s.Commits["staging-promotion"] || e.SourceSHA != s.Commits["dev-web-1.5"] || e.Source != "env/dev" {
		t.Errorf("staging's promotion entry = %+v", e)
	}
	if got := findings(staging); len(got) != 1 || !strings.Contains(got[0], "malformed-trailers") || !strings.Contains(got[0], "no Stagegate-Rendered trailer") {
		t.Errorf("staging findings %q; want the missing rendering flagged", got)
	}
	if _, err := controller.Audit(context.Background(), p, "qa", controller.AuditOptions{}, controller.Options{CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), `no environment "qa"`) {
		t.Errorf("audit an unknown environment: %v", err)
	}
}

// With spec.signing, --verify checks that every promotion commit is signed by that key.
func TestAuditVerifiesPromotionSignatures(t *testing.T) {
	r := newAuditRepo(t)
	key, other := gitsourcetest.PGPKey(t, "stagegate", "stagegate@localhost"), gitsourcetest.PGPKey(t, "mallory", "m@example.com")
	file := t.TempDir() + "/signing.asc"
	if err := os.WriteFile(file, []byte(gitsourcetest.ArmoredPrivateKey(t, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	r.p.Spec.Signing = &config.Signing{Key: file}
	r.fastForward("v1", func(s, d string) []string { return full(s, d, 1) })
	signed := gitsourcetest.Sign(t, r.repo, "env/prod", gitsourcetest.PGPSigner(key))
	unsigned := r.fastForward("v2", func(s, d string) []string { return full(s, d, 2) })
	r.fastForward("v3", func(s, d string) []string { return full(s, d, 3) })
	forged := gitsourcetest.Sign(t, r.repo, "env/prod", gitsourcetest.PGPSigner(other))

	if l := r.audit(controller.AuditOptions{}); len(l.FindingsFor(unsigned)) != 0 {
		t.Errorf("without --verify, signatures are not checked: %v", l.Findings)
	}
	l := r.audit(controller.AuditOptions{Verify: true})
	if got := l.FindingsFor(signed); len(got) != 0 {
		t.Errorf("the signed promotion has findings: %v", got)
	}
	for _, sha := range []string{unsigned, forged} {
		got := l.FindingsFor(sha)
		if len(got) != 1 || got[0].Check != controller.CheckUnsignedPromotion {
			t.Errorf("promotion %s: findings %v, want one %s", sha[:7], got, controller.CheckUnsignedPromotion)
		}
	}
}
