package render_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/stagegate-dev/stagegate/render"
)

func diffFixture(t *testing.T, docs ...string) render.Objects {
	t.Helper()
	var out render.Objects
	for _, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("bad fixture %q: %v", d, err)
		}
		out = append(out, render.Object{Content: m, Source: "base/x.yaml"})
	}
	out.Sort()
	return out
}

const (
	cmV1     = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata: {color: blue, size: large}\n"
	cmV2     = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata: {color: green, size: large}\n"
	deploy   = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 2}\n"
	secretV1 = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: hunter2, user: admin}\n"
	secretV2 = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\nstringData: {password: correct-horse, user: admin, host: db.internal}\n"
)

func TestDiff(t *testing.T) {
	type summary struct {
		ID      string
		Type    render.ChangeType
		Added   int
		Removed int
	}
	tests := []struct {
		name     string
		from, to []string
		want     []summary
	}{
		{"identical renderings have no changes", []string{cmV1, deploy}, []string{deploy, cmV1}, nil},
		{"a new object is added", []string{cmV1}, []string{cmV1, deploy},
			[]summary{{"apps/Deployment shop/web", render.Added, 7, 0}}},
		{"a gone object is removed", []string{cmV1, deploy}, []string{cmV1},
			[]summary{{"apps/Deployment shop/web", render.Removed, 0, 7}}},
		{"a changed field is one line each way", []string{cmV1}, []string{cmV2},
			[]summary{{"ConfigMap shop/app", render.Changed, 1, 1}}},
		{"secret changes count changed and added keys", []string{secretV1}, []string{secretV2},
			[]summary{{"Secret shop/db", render.Changed, 2, 1}}},
		{"a generated name whose hash suffix changed is one changed object",
			[]string{strings.Replace(cmV1, "name: app", "name: app-6hd9k62bmf", 1)},
			[]string{strings.Replace(cmV2, "name: app", "name: app-7mmdf48htd", 1)},
			[]summary{{"ConfigMap shop/app-7mmdf48htd", render.Changed, 2, 2}}},
		{"names that differ otherwise are an add and a remove",
			[]string{strings.Replace(cmV1, "name: app", "name: app-v1", 1)},
			[]string{strings.Replace(cmV1, "name: app", "name: app-v2", 1)},
			[]summary{{"ConfigMap shop/app-v2", render.Added, 8, 0}, {"ConfigMap shop/app-v1", render.Removed, 0, 8}}},
		{"two candidates for one old name are not guessed at",
			[]string{strings.Replace(cmV1, "name: app", "name: app-6hd9k62bmf", 1)},
			[]string{strings.Replace(cmV1, "name: app", "name: app-7mmdf48htd", 1), strings.Replace(cmV2, "name: app", "name: app-8ddd48htd9", 1)},
			[]summary{{"ConfigMap shop/app-7mmdf48htd", render.Added, 8, 0}, {"ConfigMap shop/app-8ddd48htd9", render.Added, 8, 0}, {"ConfigMap shop/app-6hd9k62bmf", render.Removed, 0, 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []summary
			for _, c := range render.Diff(diffFixture(t, tt.from...), diffFixture(t, tt.to...)) {
				got = append(got, summary{c.ID.String(), c.Type, c.Added, c.Removed})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffNeverShowsSecretValues(t *testing.T) {
	for _, c := range render.Diff(diffFixture(t, secretV1), diffFixture(t, secretV2)) {
		for _, secret := range []string{"hunter2", "correct-horse", "db.internal", "admin"} {
			if strings.Contains(c.Diff, secret) {
				t.Errorf("diff shows secret value %q:\n%s", secret, c.Diff)
			}
		}
		for _, want := range []string{"-  password: " + render.MaskedBefore, "+  password: " + render.MaskedAfter, "+  host: " + render.MaskedAfter, "   user: " + render.Masked} {
			if !strings.Contains(c.Diff, want) {
				t.Errorf("diff lacks %q:\n%s", want, c.Diff)
			}
		}
	}
	added := render.Diff(nil, diffFixture(t, secretV1))
	if len(added) != 1 || strings.Contains(added[0].Diff, "hunter2") {
		t.Errorf("added secret diff shows its value: %+v", added)
	}
}

func TestDiffRenamedFrom(t *testing.T) {
	got := render.Diff(
		diffFixture(t, strings.Replace(cmV1, "name: app", "name: app-6hd9k62bmf", 1)),
		diffFixture(t, strings.Replace(cmV2, "name: app", "name: app-7mmdf48htd", 1)))
	if len(got) != 1 || got[0].RenamedFrom != "app-6hd9k62bmf" || !strings.Contains(got[0].Diff, "-  color: blue\n+  color: green\n") {
		t.Errorf("Diff = %+v; want one change renamed from app-6hd9k62bmf showing the colour change", got)
	}
}
