package gates

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gates/gatestest"
)

const docsPipeline = `apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: docs}
spec:
  repo: {url: https://github.com/acme/shop-deploy.git}
  forge: {type: github, tokenEnv: GITHUB_TOKEN}
  environments:
    - name: dev
      branch: env/dev
      path: overlays/dev
      cluster: {context: dev}
    - name: staging
      branch: env/staging
      path: overlays/staging
`

// TestDocsExamples loads every YAML example in docs/gates.md: gate blocks, as the second
// environment's (so runtime gates, which watch the environment before, load), must decode
// strictly into the config and compile, manifests must decode and their waivers must have reasons.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/gates.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	gateBlocks, manifests := 0, 0
	for _, b := range blocks {
		src := b[1]
		switch {
		case strings.HasPrefix(src, "gates:"):
			gateBlocks++
			// Load it the way stagegate loads a config file: inside a pipeline, with config.Parse.
			file := docsPipeline + "      " + strings.ReplaceAll(strings.TrimSpace(src), "\n", "\n      ") + "\n"
			ps, err := config.Parse([]byte(file), "docs.yaml")
			if err != nil {
				t.Errorf("example does not load: %v\n%s", err, src)
				continue
			}
			if _, err := ForPipeline(ps[0]); err != nil {
				t.Errorf("example does not compile: %v\n%s", err, src)
			}
		case strings.HasPrefix(src, "apiVersion:"):
			manifests++
			objs, err := gatestest.Parse("docs.yaml", []byte(src))
			if err != nil {
				t.Errorf("example manifest: %v\n%s", err, src)
				continue
			}
			for _, ws := range collectWaivers(objs) {
				for _, w := range ws {
					if w.Reason == "" {
						t.Errorf("example waiver for %s has no reason", w.Check)
					}
				}
			}
		}
	}
	if gateBlocks < 6 || manifests < 1 {
		t.Errorf("found %d gate examples and %d manifests; the extraction is broken", gateBlocks, manifests)
	}
}

// TestDocsListEveryCheck holds docs/gates.md to the checks the code reports.
func TestDocsListEveryCheck(t *testing.T) {
	doc, err := os.ReadFile("../docs/gates.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, group := range [][]Check{schemaChecks, apisChecks, resourcesChecks, waiverChecks, healthChecks, metricsChecks} {
		for _, c := range group {
			if !strings.Contains(string(doc), "\n### "+c.ID+"\n") {
				t.Errorf("docs/gates.md has no section \"### %s\"", c.ID)
			}
		}
	}
	sec, err := os.ReadFile("../docs/security-checks.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range (&Security{}).Checks() {
		if !strings.Contains(string(sec), "### "+c.ID) {
			t.Errorf("docs/security-checks.md has no section for %s, which SARIF links to", c.ID)
		}
	}
}
