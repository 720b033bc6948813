// Package gatestest builds gate inputs for tests: rendered objects from YAML, decoded the way
// render decodes them (maps, slices, strings, bools, int64 for integers, float64 otherwise).
package gatestest

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/stagegate-dev/stagegate/render"
)

// Objects decodes a YAML stream ("---" between documents) into objects whose Source is
// "test.yaml", in canonical order. It fails the test on a decoding error.
func Objects(t testing.TB, manifests string) render.Objects {
	t.Helper()
	objs, err := Parse("test.yaml", []byte(manifests))
	if err != nil {
		t.Fatalf("gatestest: %v", err)
	}
	return objs
}

// Parse decodes a YAML stream into objects with the given Source, in canonical order. Empty
// documents are skipped; a document that is not a mapping is an error.
func Parse(source string, data []byte) (render.Objects, error) {
	var objs render.Objects
	for i, doc := range splitDocuments(data) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i+1, err)
		}
		if v == nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: document %d: want a mapping, got %T", source, i+1, v)
		}
		objs = append(objs, render.Object{Content: Unstructured(m).(map[string]any), Source: source})
	}
	objs.Sort()
	return objs, nil
}

// Unstructured turns JSON-decoded values into the types render hands out: whole float64
// numbers become int64, as Kubernetes' unstructured decoding does.
func Unstructured(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = Unstructured(e)
		}
	case []any:
		for i, e := range x {
			x[i] = Unstructured(e)
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x)
		}
	}
	return v
}

// splitDocuments splits a YAML stream at lines that are exactly "---" (optionally followed by
// a comment or spaces).
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i <= len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += i
		}
		line := bytes.TrimRight(data[i:end], " \t\r")
		if bytes.Equal(line, []byte("---")) || bytes.HasPrefix(line, []byte("--- ")) || bytes.HasPrefix(line, []byte("---#")) {
			docs = append(docs, data[start:i])
			start = end + 1
		}
		i = end + 1
	}
	if start < len(data) {
		docs = append(docs, data[start:])
	}
	return docs
}
