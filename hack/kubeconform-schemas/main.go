// Command kubeconform-schemas turns Kubernetes' OpenAPI v2 description (api/openapi-spec/swagger.json
// in the k8s.io/kubernetes module) into the JSON Schemas kubeconform reads, without the network.
//
// The layout is openapi2jsonschema's "standalone-strict", the one yannh/kubernetes-json-schema
// publishes and kubeconform downloads by default: one file per kind and group version, named
// {{ .ResourceKind }}{{ .KindSuffix }}.json the way kubeconform computes those (lower-case kind,
// then "-" and the group's first label unless the group is core, then "-" and the version:
// deployment-apps-v1.json, ingress-networking-v1.json, service-v1.json). In each file:
//
//   - every $ref is inlined, so a file stands alone; a type that contains itself (JSONSchemaProps)
//     is kept once under "definitions" and referred to locally, instead of being cut off;
//   - strict: every schema with "properties" and no "additionalProperties" gets
//     "additionalProperties": false, the root included, so unknown fields are errors;
//   - int-or-string (IntOrString, and any "format": "int-or-string") becomes
//     oneOf [string, integer]; resource.Quantity becomes oneOf [string, number], since tools accept
//     numbers there although the API serialises strings;
//   - as in openapi2jsonschema, a property's type also admits null unless the object declaring it
//     lists required fields (the nested schemas of items, maps and oneOf admit null too).
//
// Usage: go run ./hack/kubeconform-schemas -swagger .../swagger.json -o DIR
// then: kubeconform -strict -schema-location 'DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json' ...
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	refPrefix   = "#/definitions/"
	intOrString = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	quantity    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	draft4      = "http://json-schema.org/draft-04/schema#"
)

func main() {
	swagger := flag.String("swagger", "", "Kubernetes' swagger.json (OpenAPI v2)")
	out := flag.String("o", "", "directory to write the schemas into (created)")
	flag.Parse()
	if *swagger == "" || *out == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: kubeconform-schemas -swagger swagger.json -o DIR")
		os.Exit(2)
	}
	n, err := run(*swagger, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconform-schemas:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "kubeconform-schemas: %d schemas written to %s\n", n, *out)
}

func run(swaggerPath, out string) (int, error) {
	data, err := os.ReadFile(swaggerPath)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("%s: %w", swaggerPath, err)
	}
	if len(doc.Definitions) == 0 {
		return 0, fmt.Errorf("%s: no definitions", swaggerPath)
	}
	files, err := convert(doc.Definitions)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, err := json.MarshalIndent(files[name], "", "  ")
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name), append(b, '\n'), 0o644); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// convert returns the schema files by name, one per kind and group version.
func convert(defs map[string]map[string]any) (map[string]map[string]any, error) {
	for _, name := range []string{intOrString, quantity} {
		if _, ok := defs[name]; !ok {
			return nil, fmt.Errorf("no definition %s: not a Kubernetes OpenAPI description?", name)
		}
	}
	for name, other := range map[string]string{intOrString: "integer", quantity: "number"} {
		s := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": other}}}
		if d, ok := defs[name]["description"]; ok {
			s["description"] = d
		}
		defs[name] = s
	}

	titles := make([]string, 0, len(defs))
	for title := range defs {
		titles = append(titles, title)
	}
	sort.Strings(titles)
	files := map[string]map[string]any{}
	for _, title := range titles {
		gvks, _ := defs[title]["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if kind == "" || version == "" {
				return nil, fmt.Errorf("%s: incomplete x-kubernetes-group-version-kind %v", title, g)
			}
			name := fileName(group, version, kind)
			if _, dup := files[name]; dup {
				continue // the first definition (in name order) wins, as a stable choice
			}
			s, err := standalone(defs, title)
			if err != nil {
				return nil, err
			}
			files[name] = s
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no definition carries x-kubernetes-group-version-kind")
	}
	return files, nil
}

// fileName is kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json for a group, version, kind.
func fileName(group, version, kind string) string {
	name := strings.ToLower(kind)
	if group != "" {
		name += "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	return name + "-" + strings.ToLower(version) + ".json"
}

// standalone is the definition title with its references inlined and the strict, int-or-string
// and nullable rules applied.
func standalone(defs map[string]map[string]any, title string) (map[string]any, error) {
	x := &expander{defs: defs, local: map[string]any{}, onStack: map[string]bool{title: true}}
	root, err := x.expand(defs[title])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", title, err)
	}
	// Types that contain themselves are kept under "definitions"; expanding one may find more.
	for len(x.pending) > 0 {
		name := x.pending[0]
		x.pending = x.pending[1:]
		x.onStack = map[string]bool{name: true}
		body, err := x.expand(defs[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", title, err)
		}
		x.local[name] = body
	}
	s := root.(map[string]any)
	if _, ok := s["type"]; !ok {
		s["type"] = "object"
	}
	s = strict(s).(map[string]any)
	if props, ok := s["properties"].(map[string]any); ok {
		_, req := s["required"]
		for k, p := range props {
			props[k] = nullable(p, req)
		}
	}
	if len(x.local) > 0 {
		local := map[string]any{}
		for name, body := range x.local {
			body = strict(body)
			local[name] = nullable(body, false)
		}
		s["definitions"] = local
	}
	s["$schema"] = draft4
	return s, nil
}

type expander struct {
	defs    map[string]map[string]any
	onStack map[string]bool
	local   map[string]any // definitions kept by name because they recur; nil body until expanded
	pending []string
}

// expand copies a schema node, inlining "$ref"s to definitions.
func (x *expander) expand(v any) (any, error) {
	switch n := v.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			name, found := strings.CutPrefix(ref, refPrefix)
			if !found {
				return nil, fmt.Errorf("unsupported $ref %q", ref)
			}
			def, ok := x.defs[name]
			if !ok {
				return nil, fmt.Errorf("$ref to missing definition %q", name)
			}
			if x.onStack[name] {
				if _, seen := x.local[name]; !seen {
					x.local[name] = nil
					x.pending = append(x.pending, name)
				}
				return map[string]any{"$ref": refPrefix + name}, nil
			}
			x.onStack[name] = true
			body, err := x.expand(def)
			delete(x.onStack, name)
			if err != nil {
				return nil, err
			}
			// A description next to the $ref says more about the field than the type's own.
			if d, ok := n["description"]; ok {
				if m, ok := body.(map[string]any); ok {
					m["description"] = d
				}
			}
			return body, nil
		}
		if f, _ := n["format"].(string); f == "int-or-string" {
			out := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
			if d, ok := n["description"]; ok {
				out["description"] = d
			}
			return out, nil
		}
		out := make(map[string]any, len(n))
		for k, e := range n {
			if k == "x-kubernetes-group-version-kind" {
				out[k] = e // data, not a schema
				continue
			}
			c, err := x.expand(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			c, err := x.expand(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	default:
		return v, nil
	}
}

// subschemas calls f on each schema directly below schema s (properties' values, items,
// additionalProperties, allOf/anyOf/oneOf members), letting f replace it, and says whether it is a
// property of s.
func subschemas(s map[string]any, f func(sub any, property bool) any) {
	if props, ok := s["properties"].(map[string]any); ok {
		for k, p := range props {
			props[k] = f(p, true)
		}
	}
	for _, k := range []string{"items", "additionalProperties", "not"} {
		if sub, ok := s[k].(map[string]any); ok {
			s[k] = f(sub, false)
		}
	}
	if items, ok := s["items"].([]any); ok {
		for i, sub := range items {
			items[i] = f(sub, false)
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := s[k].([]any); ok {
			for i, sub := range list {
				list[i] = f(sub, false)
			}
		}
	}
}

// strict closes every object schema that lists properties and says nothing of others.
func strict(v any) any {
	s, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if _, props := s["properties"]; props {
		if _, set := s["additionalProperties"]; !set {
			s["additionalProperties"] = false
		}
	}
	subschemas(s, func(sub any, _ bool) any { return strict(sub) })
	return s
}

// nullable lets a schema's type be null too, unless it is a property of an object with required
// fields (parentRequires), and recurses.
func nullable(v any, parentRequires bool) any {
	s, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if t, ok := s["type"].(string); ok && t != "null" && !parentRequires {
		s["type"] = []any{t, "null"}
	}
	_, req := s["required"]
	subschemas(s, func(sub any, property bool) any { return nullable(sub, property && req) })
	return s
}
