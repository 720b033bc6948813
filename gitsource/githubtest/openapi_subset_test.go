package githubtest

import (
	"encoding/json"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"
)

// openapiSource, when set, makes TestOpenAPISubset rewrite testdata/openapi-subset.json from
// GitHub's full description:
//
//	go test ./gitsource/githubtest -run TestOpenAPISubset \
//	  -openapi-source=../shared/github-openapi/rest-api.github.com.json
//
// (a path relative to this package's directory, or absolute). The tests never read it otherwise.
var openapiSource = flag.String("openapi-source", "", "GitHub's rest-api.github.com.json to extract testdata/openapi-subset.json from")

const subsetFile = "testdata/openapi-subset.json"

// served lists the operations the emulator serves: path template → methods.
var served = map[string][]string{
	"/repos/{owner}/{repo}/pulls":                                              {"get", "post"},
	"/repos/{owner}/{repo}/pulls/{pull_number}":                                {"get", "patch"},
	"/repos/{owner}/{repo}/pulls/{pull_number}/merge":                          {"get", "put"},
	"/repos/{owner}/{repo}/pulls/{pull_number}/reviews":                        {"get"},
	"/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals": {"put"},
	"/repos/{owner}/{repo}/statuses/{sha}":                                     {"post"},
	"/repos/{owner}/{repo}/commits/{ref}":                                      {"get"},
	"/repos/{owner}/{repo}/commits/{ref}/status":                               {"get"},
	"/repos/{owner}/{repo}/commits/{ref}/statuses":                             {"get"},
	"/repos/{owner}/{repo}/commits/{ref}/check-runs":                           {"get"},
	"/repos/{owner}/{repo}/issues":                                             {"get", "post"},
	"/repos/{owner}/{repo}/issues/{issue_number}":                              {"get", "patch"},
	"/repos/{owner}/{repo}/issues/{issue_number}/comments":                     {"get", "post"},
	"/repos/{owner}/{repo}/issues/{issue_number}/labels":                       {"get", "post"},
	"/repos/{owner}/{repo}/git/ref/{ref}":                                      {"get"},
	"/repos/{owner}/{repo}/branches/{branch}":                                  {"get"},
	"/orgs/{org}/teams/{team_slug}/members":                                    {"get"},
	"/rate_limit":                                                              {"get"},
}

// TestOpenAPISubset extracts the served operations, and every component they reference, from
// GitHub's description into testdata. Examples are dropped to keep the file small.
func TestOpenAPISubset(t *testing.T) {
	if *openapiSource == "" {
		t.Skip("set -openapi-source to regenerate " + subsetFile)
	}
	raw, err := os.ReadFile(*openapiSource)
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	info := full["info"].(map[string]any)
	paths := full["paths"].(map[string]any)
	components := full["components"].(map[string]any)

	outPaths := map[string]any{}
	for p, methods := range served {
		item, ok := paths[p].(map[string]any)
		if !ok {
			t.Fatalf("%s is not in %s", p, *openapiSource)
		}
		out := map[string]any{}
		if params, ok := item["parameters"]; ok {
			out["parameters"] = params
		}
		for _, m := range methods {
			op, ok := item[m]
			if !ok {
				t.Fatalf("%s %s is not in %s", m, p, *openapiSource)
			}
			out[m] = op
		}
		outPaths[p] = stripExamples(out)
	}

	// Copy referenced components until no new reference turns up.
	outComponents := map[string]map[string]any{}
	queue := refs(outPaths)
	seen := map[string]bool{}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		kind, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
		if !ok {
			t.Fatalf("unexpected $ref %s", ref)
		}
		section, _ := components[kind].(map[string]any)
		v, ok := section[name]
		if !ok {
			t.Fatalf("$ref %s not found", ref)
		}
		v = stripExamples(v)
		if outComponents[kind] == nil {
			outComponents[kind] = map[string]any{}
		}
		outComponents[kind][name] = v
		queue = append(queue, refs(v)...)
	}

	subset := map[string]any{
		"openapi": full["openapi"],
		"info": map[string]any{
			"title":   info["title"],
			"version": info["version"],
			"license": info["license"],
			"x-stagegate-source": "Extracted by TestOpenAPISubset from rest-api.github.com.json of the " +
				"MIT-licensed npm package @octokit/openapi, version " + info["version"].(string) +
				" (GitHub's official REST API description). Only the operations the emulator serves " +
				"and the components they reference; examples removed.",
		},
		"paths":      outPaths,
		"components": outComponents,
	}
	b, err := json.MarshalIndent(subset, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(subsetFile, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %d paths, %d bytes", subsetFile, len(outPaths), len(b))
}

// stripExamples drops "examples" maps (and components/examples references with them).
func stripExamples(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if k == "examples" || k == "example" {
				continue
			}
			out[k] = stripExamples(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = stripExamples(x)
		}
		return out
	}
	return v
}

// refs lists the $ref values inside v, sorted.
func refs(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					out = append(out, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	sort.Strings(out)
	return out
}
