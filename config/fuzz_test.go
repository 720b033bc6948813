package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary files to Parse. The seed corpus in testdata/fuzz/FuzzParse holds
// valid pipelines, every kind of problem, anchors, merge keys and an alias bomb.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "examples", "stagegate.yaml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte(validBase))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if ps != nil {
				t.Errorf("Parse returned %d pipelines with its error", len(ps))
			}
			var verr *ValidationError
			if !errors.As(err, &verr) || len(verr.Problems) == 0 {
				t.Fatalf("error is %T with no problems: %v", err, err)
			}
			lines := countLines(data)
			for _, p := range verr.Problems {
				if p.Message == "" || p.Line < 0 || p.Line > lines || p.File != "fuzz.yaml" {
					t.Errorf("problem %+v: want a message and a line in 0..%d of fuzz.yaml", p, lines)
				}
			}
			return
		}
		if len(ps) == 0 {
			t.Fatal("Parse returned neither pipelines nor an error")
		}
		for _, p := range ps {
			if p.Metadata.Name == "" || len(p.Spec.Environments) == 0 || p.Spec.Interval.Duration < MinInterval {
				t.Errorf("a loaded pipeline is not valid: %+v", p)
			}
			// Defaults are applied once and for all: applying them again changes nothing that
			// validation would object to.
			applyDefaults(&p)
			if problems := validate(&p); len(problems) > 0 {
				t.Errorf("a loaded pipeline fails validation: %v", problems)
			}
		}
	})
}
