package controller_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/render"
)

const (
	srcSHA = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"
	tgtSHA = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
)

// proposal builds a proposal with n changed objects whose diffs have lines lines each.
func proposal(n, lines int) controller.Proposal {
	pr := controller.Promotion{
		Pipeline: "shop", From: "dev", To: "staging", Action: controller.Promote,
		Source:        controller.Branch{Name: "env/dev", SHA: srcSHA},
		Target:        controller.Branch{Name: "env/staging", SHA: tgtSHA},
		Commits:       []gitsource.Commit{{SHA: srcSHA, Author: "Carol", Subject: "web: dark <theme> | cart"}},
		CurrentDigest: "sha256:old", ProposedDigest: "sha256:new",
	}
	for i := range n {
		var d strings.Builder
		fmt.Fprintf(&d, "--- a/x\n+++ b/x\n")
		for l := range lines {
			fmt.Fprintf(&d, "+  key%d: value %d of object %d\n", l, l, i)
		}
		pr.Changes = append(pr.Changes, render.Change{
			ID:   render.ID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: fmt.Sprintf("app-%04d", i)},
			Type: render.Changed, Diff: d.String(), Added: lines, Source: "base/app.yaml",
		})
	}
	return controller.Proposal{
		Promotion: pr,
		Gates: gates.Report{Verdict: gates.Pass, Objects: n, Results: []gates.Result{
			{Gate: "security", Outcome: gates.Pass, Summary: "no findings"},
			{Gate: "schema", Outcome: gates.Pass, Summary: "no findings"},
		}},
		PromotionSHA:   "5555555555555555555555555555555555555555",
		ConfigRevision: "sha256:cfg",
		CommitURL:      func(sha string) string { return "https://github.com/acme/shop/commit/" + sha },
		PlanCommand:    "stagegate plan --config stagegate.yaml --pipeline shop",
	}
}

func TestTitle(t *testing.T) {
	if got := controller.Title(proposal(0, 0).Promotion); got != "Promote 1a2b3c4 to staging" {
		t.Errorf("Title = %q", got)
	}
}

func TestBodySmallPromotionShowsEverything(t *testing.T) {
	p := proposal(2, 3)
	body := controller.Body(p, 0)
	for _, want := range []string{
		"## Promote `1a2b3c4` from dev to staging",
		"This promotes 1 commit from `env/dev` into `env/staging`: 2 objects change (0 added, 0 removed, 2 changed). Gates: ✅ pass.",
		"| security | ✅ pass | no findings |",
		"- [`1a2b3c4`](https://github.com/acme/shop/commit/" + srcSHA + ") Carol — web: dark &lt;theme&gt; \\| cart",
		"| `apps/Deployment shop/app-0000` | ✏️ changed | +3 −0 | `base/app.yaml` |",
		"<details><summary><code>apps/Deployment shop/app-0001</code> (+3 −0)</summary>\n\n```diff\n--- a/x\n",
		"| rendered digest | `sha256:new` (now `sha256:old`) |",
		"| promotion commit | `5555555555555555555555555555555555555555` |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "object diffs are shown") {
		t.Errorf("a small body says diffs were left out:\n%s", body)
	}
	m, ok := controller.ReadMarker(body)
	if !ok || m != (controller.Marker{Pipeline: "shop", Env: "staging", Source: srcSHA, Digest: "sha256:new"}) {
		t.Errorf("ReadMarker = %+v, %v", m, ok)
	}
}

func TestBodyLargeDiffStaysWithinGitHubsLimit(t *testing.T) {
	p := proposal(300, 40) // about 300 × 1.3 KB of diffs: far over 64 KiB
	for i := range 30 {
		p.Trailers = append(p.Trailers, gitsource.Trailer{Key: "Stagegate-Gate", Value: fmt.Sprintf("gate-%02d-with-a-long-name=pass", i)})
	}
	body := controller.Body(p, 0)
	if !strings.HasSuffix(body, "Stagegate-Gate: gate-29-with-a-long-name=pass\n") {
		t.Error("the trailers are not the body's last paragraph")
	}
	if strings.Contains(body, "This description was cut") {
		t.Error("a body whose whole parts fit was cut: the trailers were not budgeted")
	}
	if n := utf8.RuneCountInString(body); n > controller.MaxBodyLength {
		t.Fatalf("body has %d characters, over GitHub's %d", n, controller.MaxBodyLength)
	}
	// The summary, the gate table and every changed object with its line counts stay whole.
	for i := range 300 {
		if row := fmt.Sprintf("| `apps/Deployment shop/app-%04d` | ✏️ changed | +40 −0 |", i); !strings.Contains(body, row) {
			t.Fatalf("body lacks the row of object %d", i)
		}
	}
	shown := strings.Count(body, "<details><summary><code>apps/Deployment")
	if shown == 0 || shown == 300 {
		t.Errorf("%d object diffs shown; want some but not all", shown)
	}
	if want := fmt.Sprintf("%d of 300 object diffs are shown", shown); !strings.Contains(body, want) {
		t.Errorf("body does not say %q", want)
	}
	if !strings.Contains(body, "See every diff with `stagegate plan --config stagegate.yaml --pipeline shop`") {
		t.Error("body does not say how to see the rest")
	}
	if _, ok := controller.ReadMarker(body); !ok {
		t.Error("the marker is gone")
	}
	if !strings.Contains(body, "| security | ✅ pass |") || !strings.Contains(body, "### Provenance") {
		t.Error("the gate table or the provenance is gone")
	}
}

func TestBodyCutsEvenTheWholePartsWhenTheyCannotFit(t *testing.T) {
	body := controller.Body(proposal(3000, 1), 0)
	if len(body) > controller.MaxBodyLength {
		t.Fatalf("body has %d bytes", len(body))
	}
	if !strings.Contains(body, "This description was cut at GitHub's limit") {
		t.Error("body does not say it was cut")
	}
	if m, ok := controller.ReadMarker(body); !ok || m.Source != srcSHA {
		t.Errorf("marker after a cut = %+v, %v", m, ok)
	}
}

func TestBodyFencesDiffsThatContainBackticks(t *testing.T) {
	p := proposal(1, 0)
	p.Promotion.Changes[0].Diff = "+  script: |\n+    ```\n+    echo hi\n+    ```\n"
	body := controller.Body(p, 0)
	if !strings.Contains(body, "````diff\n+  script: |") || !strings.Contains(body, "+    ```\n````\n") {
		t.Errorf("a diff with ``` is not fenced with ````:\n%s", body)
	}
}
