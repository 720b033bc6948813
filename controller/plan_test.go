package controller_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/examples"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// summary is what a user reads first in a plan: which pair, what action, which commits, which objects.
type summary struct {
	Pair    string
	Action  controller.Action
	Reason  string
	Commits []string
	Changes []string
}

func summarize(prs []controller.Promotion) []summary {
	var out []summary
	for _, pr := range prs {
		s := summary{Pair: pr.From + "→" + pr.To, Action: pr.Action, Reason: pr.Reason}
		for _, c := range pr.Commits {
			s.Commits = append(s.Commits, c.Subject)
		}
		for _, ch := range pr.Changes {
			s.Changes = append(s.Changes, string(ch.Type)+" "+ch.ID.String())
		}
		out = append(out, s)
	}
	return out
}

func pipeline(url string, envs ...string) config.Pipeline {
	p := config.Pipeline{Metadata: config.Metadata{Name: "shop"}, Spec: config.Spec{Repo: config.Repo{URL: url}}}
	for _, e := range envs {
		p.Spec.Environments = append(p.Spec.Environments, config.Environment{Name: e, Branch: "env/" + e, Path: "overlays/" + e})
	}
	return p
}

func TestPlanSeededShop(t *testing.T) {
	s, err := examples.Seed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	prs, err := controller.Plan(context.Background(), pipeline(s.URL, "dev", "staging", "prod"), controller.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []summary{
		{
			Pair: "dev→staging", Action: controller.Promote,
			// Only the commit after staging's last promotion (of dev-web-1.5) is new.
			Commits: []string{"web: dark theme; cart: 2s Redis timeout"},
			Changes: []string{
				"changed ConfigMap shop-staging/web-config-7mmdf48htd", // renamed from web-config-6hd9k62bmf
				"changed apps/Deployment shop-staging/cart",
				"changed apps/Deployment shop-staging/web",
			},
		},
		{
			Pair: "staging→prod", Action: controller.Promote,
			Commits: []string{"Promote " + s.Commits["dev-web-1.5"][:7] + " to staging"},
			Changes: []string{"changed apps/Deployment shop-prod/web"},
		},
	}
	if diff := cmp.Diff(want, summarize(prs)); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}
	if len(prs[1].Carried) != 1 || prs[1].Carried[0].Subject != "web: 1.5.0 with the new checkout page" {
		t.Errorf("staging → prod carries %+v; want dev's web 1.5.0 commit, which staging's promotion brought", prs[1].Carried)
	}
	if len(prs[0].Carried) != 0 {
		t.Errorf("dev → staging carries %+v; want none (dev's commits are not promotions)", prs[0].Carried)
	}
	if got := prs[0].LastPromoted; got != s.Commits["dev-web-1.5"] {
		t.Errorf("LastPromoted = %s, want dev-web-1.5 %s", got, s.Commits["dev-web-1.5"])
	}
	if got := prs[0].Changes[0].RenamedFrom; got != "web-config-6hd9k62bmf" {
		t.Errorf("ConfigMap RenamedFrom = %q, want web-config-6hd9k62bmf", got)
	}
	web := prs[1].Changes[0]
	if !strings.Contains(web.Diff, "-        image: ghcr.io/acme/web:1.4.0\n+        image: ghcr.io/acme/web:1.5.0") || web.Added != 1 || web.Removed != 1 {
		t.Errorf("prod web diff does not show exactly the image bump:\n%s", web.Diff)
	}
	if prs[1].CurrentDigest == prs[1].ProposedDigest || !strings.HasPrefix(prs[1].ProposedDigest, "sha256:") {
		t.Errorf("digests %q → %q: want two different sha256 digests", prs[1].CurrentDigest, prs[1].ProposedDigest)
	}
}

const (
	kust   = "resources: [app.yaml]\n"
	cmBlue = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata: {color: blue}\n"
	cmRed  = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata: {color: red}\n"
	secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: %s}\n"
)

// files lays out the same app under overlays/dev and overlays/staging.
func files(app string, extra ...string) map[string]string {
	m := map[string]string{
		"overlays/dev/kustomization.yaml": kust, "overlays/dev/app.yaml": app,
		"overlays/staging/kustomization.yaml": kust, "overlays/staging/app.yaml": app,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestPlanPair(t *testing.T) {
	tests := []struct {
		name     string
		dev      map[string]string // files changed by a commit on env/dev after both branches start equal
		want     summary
		wantDiff []string // substrings of the first change's diff
		hidden   []string // substrings no diff may contain
	}{
		{
			name: "identical trees: nothing to promote",
			want: summary{Pair: "dev→staging", Action: controller.UpToDate, Reason: controller.ReasonTreesEqual},
		},
		{
			name: "a change outside the rendered objects: nothing to promote, but the commit is listed",
			dev:  map[string]string{"README.md": "notes\n"},
			want: summary{Pair: "dev→staging", Action: controller.UpToDate, Reason: controller.ReasonRenderedEqual, Commits: []string{"change"}},
		},
		{
			name:     "a changed field: promote with a one-line diff",
			dev:      map[string]string{"overlays/staging/app.yaml": cmRed},
			want:     summary{Pair: "dev→staging", Action: controller.Promote, Commits: []string{"change"}, Changes: []string{"changed ConfigMap shop/app"}},
			wantDiff: []string{"-  color: blue\n+  color: red\n"},
		},
		{
			name:     "a changed secret: the diff names the key, never the values",
			dev:      map[string]string{"overlays/staging/app.yaml": strings.Replace(secret, "%s", "s3cr3t-new", 1)},
			want:     summary{Pair: "dev→staging", Action: controller.Promote, Commits: []string{"change"}, Changes: []string{"changed Secret shop/db"}},
			wantDiff: []string{"-  password: <masked-old>\n+  password: <masked-new>\n"},
			hidden:   []string{"s3cr3t-old", "s3cr3t-new"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := cmBlue
			if strings.Contains(tt.name, "secret") {
				app = strings.Replace(secret, "%s", "s3cr3t-old", 1)
			}
			repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": files(app)})
			gitsourcetest.Branch(t, repo, "env/staging", "env/dev")
			if tt.dev != nil {
				gitsourcetest.Commit(t, repo, "env/dev", tt.dev, "change")
			}
			prs, err := controller.Plan(context.Background(), pipeline(repo, "dev", "staging"), controller.Options{CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]summary{tt.want}, summarize(prs)); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
			for _, w := range tt.wantDiff {
				if len(prs[0].Changes) == 0 || !strings.Contains(prs[0].Changes[0].Diff, w) {
					t.Errorf("diff lacks %q:\n%+v", w, prs[0].Changes)
				}
			}
			for _, ch := range prs[0].Changes {
				for _, h := range tt.hidden {
					if strings.Contains(ch.Diff, h) {
						t.Errorf("diff shows %q:\n%s", h, ch.Diff)
					}
				}
			}
		})
	}
}

func TestPlanErrorsNameWhatFailed(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": files(cmBlue)})
	gitsourcetest.Branch(t, repo, "env/staging", "env/dev")
	gitsourcetest.Commit(t, repo, "env/dev", map[string]string{"overlays/staging/kustomization.yaml": "resources: [missing.yaml]\n"}, "break staging")

	_, err := controller.Plan(context.Background(), pipeline(repo, "dev", "staging"), controller.Options{CacheDir: t.TempDir()})
	for _, want := range []string{"dev → staging", "staging from dev's tree", "overlays/staging", "missing.yaml"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Plan error = %v; want it to mention %q", err, want)
		}
	}

	// A last promotion naming a commit the repository does not have (a rewritten source, a
	// hand-written trailer) does not break the plan: the target head is the stop instead.
	gitsourcetest.Commit(t, repo, "env/staging", map[string]string{"x": "1"}, "Promote 0123456 to staging\n\nStagegate-Source: env/dev@0123456789abcdef0123456789abcdef01234567")
	prs, err := controller.Plan(context.Background(), pipeline(repo, "dev", "staging"), controller.Options{CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Plan with an unknown last-promoted sha: %v, %+v; want to get as far as the broken render", err, prs)
	}

	p := pipeline(repo, "dev", "qa")
	_, err = controller.Plan(context.Background(), p, controller.Options{CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "env/qa") {
		t.Errorf("Plan with a missing branch: error = %v; want it to name env/qa", err)
	}
}
