package config

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

// docBlock is a fenced code block of a file in docs/.
type docBlock struct {
	file    string
	line    int // of the opening fence
	lang    string
	text    string
	invalid bool // preceded by <!-- invalid -->
}

func readDocBlocks(t *testing.T, file string) []docBlock {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks  []docBlock
		cur     *docBlock
		body    strings.Builder
		lastTxt string // the last non-blank line outside a block
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &docBlock{file: file, line: n, lang: strings.TrimPrefix(line, "```"),
				invalid: strings.TrimSpace(lastTxt) == "<!-- invalid -->"}
			body.Reset()
		case cur != nil && line == "```":
			cur.text = body.String()
			blocks = append(blocks, *cur)
			cur, lastTxt = nil, line
		case cur != nil:
			body.WriteString(line + "\n")
		case strings.TrimSpace(line) != "":
			lastTxt = line
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block is not closed", file, cur.line)
	}
	return blocks
}

// docFiles lists every Markdown file in docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../docs/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Markdown files in ../docs (%v)", err)
	}
	return files
}

// isPipeline reports whether a YAML example is a whole config file rather than a fragment.
func isPipeline(text string) bool {
	return strings.Contains(text, "kind: Pipeline") || strings.Contains(text, "apiVersion: stagegate.dev/")
}

// environmentsHost is the pipeline an `environments:` fragment is loaded into.
const environmentsHost = `apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: docs}
spec:
  repo: {url: /srv/git/docs.git}
`

// Every YAML example in docs/ is checked:
//   - a whole config (kind: Pipeline, apiVersion: stagegate.dev/…) loads with Parse, unless it
//     is marked <!-- invalid -->; then it must fail, and when a ```text block follows it, that
//     block is exactly what stagegate reports;
//   - a fragment that starts with `environments:` loads inside a minimal pipeline;
//   - every other fragment (a gates: block, Kubernetes manifests, annotations) is valid YAML,
//     every document of it. gates/docs_test.go loads the gate fragments of docs/gates.md.
func TestDocsExamplesLoad(t *testing.T) {
	pipelines := map[string]int{}
	yamlBlocks := 0
	for _, file := range docFiles(t) {
		blocks := readDocBlocks(t, file)
		for i, b := range blocks {
			if b.lang != "yaml" {
				if b.invalid {
					t.Errorf("%s:%d: <!-- invalid --> marks a ```%s block; it only applies to ```yaml", file, b.line, b.lang)
				}
				continue
			}
			yamlBlocks++
			switch {
			case isPipeline(b.text):
				pipelines[filepath.Base(file)]++
				_, err := Parse([]byte(b.text), "stagegate.yaml")
				switch {
				case !b.invalid && err != nil:
					t.Errorf("%s:%d: example does not load:\n%v", file, b.line, err)
				case b.invalid && err == nil:
					t.Errorf("%s:%d: example marked invalid loads without error", file, b.line)
				case b.invalid && i+1 < len(blocks) && blocks[i+1].lang == "text":
					if diff := cmp.Diff(blocks[i+1].text, err.Error()+"\n"); diff != "" {
						t.Errorf("%s:%d: shown output differs from what stagegate reports (-docs +got):\n%s", file, blocks[i+1].line, diff)
					}
				}
			case b.invalid:
				// A fragment marked invalid must at least fail to parse as YAML.
				if validYAML(b.text) == nil {
					t.Errorf("%s:%d: fragment marked invalid is valid YAML; mark only whole configs, or fix the marker", file, b.line)
				}
			case strings.HasPrefix(b.text, "environments:"):
				src := environmentsHost + "  " + strings.ReplaceAll(strings.TrimRight(b.text, "\n"), "\n", "\n  ") + "\n"
				if _, err := Parse([]byte(src), "stagegate.yaml"); err != nil {
					t.Errorf("%s:%d: environments example does not load inside a pipeline:\n%v", file, b.line, err)
				}
			default:
				if err := validYAML(b.text); err != nil {
					t.Errorf("%s:%d: example is not valid YAML: %v", file, b.line, err)
				}
			}
		}
	}
	if pipelines["config.md"] < 4 {
		t.Errorf("found %d Pipeline examples in docs/config.md, want at least 4: is the fence still ```yaml?", pipelines["config.md"])
	}
	if yamlBlocks < 60 {
		t.Errorf("found %d YAML examples in docs/, want at least 60: is the extraction broken?", yamlBlocks)
	}
}

// validYAML decodes every document of text.
func validYAML(text string) error {
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
