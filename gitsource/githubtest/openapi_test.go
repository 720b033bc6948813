package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The emulator is checked against GitHub's own OpenAPI description (the subset in testdata):
// every request a test makes through apiClient is matched to a documented operation, its query
// parameters and JSON body are checked when the emulator accepted it, and the status and JSON
// response are checked against what the operation documents.

// crossCutting are the statuses GitHub answers on any route though most operations do not
// list them: conditional GETs (304), authentication (401), rate limits and permissions (403,
// 429), unknown resources (404) and server errors. Their bodies must still be basic-error.
var crossCutting = []int{304, 401, 403, 404, 429, 500, 502, 503, 504}

type spec struct {
	doc map[string]any
}

var loadSpec = sync.OnceValues(func() (*spec, error) {
	b, err := os.ReadFile(subsetFile)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		return nil, err
	}
	return &spec{doc: doc}, nil
})

// deref follows $ref chains to the component they name.
func (sp *spec) deref(v any) map[string]any {
	m, _ := v.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = sp.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

// operation finds the documented operation for a method and a concrete path. A template
// matches segment by segment; failing that, a parameter may take several segments, as GitHub
// routes a {ref} of "heads/a/b" or a {branch} of "env/prod". Then the template with the most
// literal segments wins: commits/env/prod/status is …/commits/{ref}/status, not the commit
// "env/prod/status".
func (sp *spec) operation(method, path string) (template string, op map[string]any, pathItem map[string]any) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	paths := sp.doc["paths"].(map[string]any)
	literals := func(tmpl string) int { return strings.Count(tmpl, "/") - strings.Count(tmpl, "{") }
	for _, greedy := range []bool{false, true} {
		for _, tmpl := range sortedKeys(paths) {
			if !matchTemplate(strings.Split(strings.Trim(tmpl, "/"), "/"), segs, greedy) {
				continue
			}
			pi := paths[tmpl].(map[string]any)
			if o, ok := pi[strings.ToLower(method)].(map[string]any); ok && (op == nil || literals(tmpl) > literals(template)) {
				template, op, pathItem = tmpl, o, pi
			}
		}
		if op != nil {
			return template, op, pathItem
		}
	}
	return "", nil, nil
}

func matchTemplate(t, segs []string, greedy bool) bool {
	if len(t) == 0 || len(segs) == 0 {
		return len(t) == len(segs)
	}
	if !strings.HasPrefix(t[0], "{") {
		return t[0] == segs[0] && matchTemplate(t[1:], segs[1:], greedy)
	}
	take := 1
	if greedy {
		take = len(segs)
	}
	for n := 1; n <= take; n++ {
		if matchTemplate(t[1:], segs[n:], greedy) {
			return true
		}
	}
	return false
}

// parameters of an operation (path-level and operation-level), by "in:name".
func (sp *spec) parameters(pathItem, op map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, src := range []map[string]any{pathItem, op} {
		list, _ := src["parameters"].([]any)
		for _, p := range list {
			pm := sp.deref(p)
			out[pm["in"].(string)+":"+pm["name"].(string)] = pm
		}
	}
	return out
}

// validate checks v against schema and returns every problem, each with its JSON path.
func (sp *spec) validate(schema any, v any, path string) []string {
	s := sp.deref(schema)
	if s == nil {
		return nil // no schema: anything goes
	}
	if v == nil {
		if s["nullable"] == true {
			return nil
		}
		if s["type"] == nil && (s["anyOf"] != nil || s["oneOf"] != nil || s["allOf"] != nil) {
			return sp.combinators(s, v, path)
		}
		return []string{path + ": null where the schema does not allow it"}
	}
	var errs []string
	if typ, ok := s["type"].(string); ok && !hasType(typ, v) {
		return []string{fmt.Sprintf("%s: %s where the schema wants %s", path, jsonType(v), typ)}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", path, v, enum))
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := v[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %q missing", path, r))
			}
		}
		for _, k := range sortedKeys(v) {
			if ps, ok := props[k]; ok {
				errs = append(errs, sp.validate(ps, v[k], path+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: property %q not allowed", path, k))
				}
			case map[string]any:
				errs = append(errs, sp.validate(ap, v[k], path+"."+k)...)
			}
		}
	case []any:
		if n, ok := s["minItems"].(json.Number); ok {
			if min, _ := n.Int64(); int64(len(v)) < min {
				errs = append(errs, fmt.Sprintf("%s: %d items, fewer than %d", path, len(v), min))
			}
		}
		if items, ok := s["items"]; ok {
			for i, x := range v {
				errs = append(errs, sp.validate(items, x, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case string:
		if n, ok := s["minLength"].(json.Number); ok {
			if min, _ := n.Int64(); int64(len(v)) < min {
				errs = append(errs, fmt.Sprintf("%s: %q shorter than %d", path, v, min))
			}
		}
		if n, ok := s["maxLength"].(json.Number); ok {
			if max, _ := n.Int64(); int64(len(v)) > max {
				errs = append(errs, fmt.Sprintf("%s: %q longer than %d", path, v, max))
			}
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time", path, v))
			}
		case "uri":
			if u, err := url.Parse(v); err != nil || u.Scheme == "" {
				errs = append(errs, fmt.Sprintf("%s: %q is not a URI", path, v))
			}
		}
	}
	return append(errs, sp.combinators(s, v, path)...)
}

// combinators checks allOf (every one), anyOf (at least one) and oneOf (exactly one).
func (sp *spec) combinators(s map[string]any, v any, path string) []string {
	var errs []string
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, sp.validate(sub, v, path)...)
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts, ok := s[key].([]any)
		if !ok {
			continue
		}
		pass := 0
		var why []string
		for i, sub := range alts {
			if e := sp.validate(sub, v, path); len(e) == 0 {
				pass++
			} else {
				why = append(why, fmt.Sprintf("#%d: %s", i, strings.Join(e, "; ")))
			}
		}
		switch {
		case pass == 0:
			errs = append(errs, fmt.Sprintf("%s: matches none of %s (%s)", path, key, strings.Join(why, " | ")))
		case key == "oneOf" && pass > 1:
			errs = append(errs, fmt.Sprintf("%s: matches %d of oneOf, not exactly one", path, pass))
		}
	}
	return errs
}

func hasType(typ string, v any) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	}
	return true
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	}
	return "null"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// check validates one exchange against the description and returns every problem.
func (sp *spec) check(method, path, rawQuery string, reqBody []byte, status int, respBody []byte) []string {
	tmpl, op, pathItem := sp.operation(method, path)
	if op == nil {
		return []string{fmt.Sprintf("%s %s: no such operation in GitHub's description", method, path)}
	}
	where := method + " " + tmpl
	var errs []string
	accepted := status < 400

	params := sp.parameters(pathItem, op)
	query, _ := url.ParseQuery(rawQuery)
	for name, values := range query {
		p, ok := params["query:"+name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: query parameter %q is not documented", where, name))
			continue
		}
		for _, val := range values {
			if !accepted {
				break // a refused request may carry a bad value on purpose
			}
			var v any = val
			if t := sp.deref(p["schema"]); t != nil && t["type"] == "integer" {
				v = json.Number(val)
			}
			errs = append(errs, sp.validate(p["schema"], v, where+" ?"+name)...)
		}
	}

	if len(reqBody) > 0 && accepted {
		rb := sp.deref(op["requestBody"])
		content, _ := rb["content"].(map[string]any)
		media := sp.deref(content["application/json"])
		if media == nil {
			errs = append(errs, where+": takes no JSON body, yet one was accepted")
		} else if v, err := decodeJSON(reqBody); err != nil {
			errs = append(errs, fmt.Sprintf("%s: request body: %v", where, err))
		} else {
			errs = append(errs, sp.validate(media["schema"], v, where+" request")...)
		}
	}

	responses := op["responses"].(map[string]any)
	resp := sp.deref(responses[strconv.Itoa(status)])
	if resp == nil {
		if !slices.Contains(crossCutting, status) {
			return append(errs, fmt.Sprintf("%s: status %d is not documented (documented: %s)", where, status, strings.Join(sortedKeys(responses), ", ")))
		}
		if status == http.StatusNotModified {
			if len(respBody) > 0 {
				errs = append(errs, where+": 304 with a body")
			}
			return errs
		}
		resp = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/basic-error"}}}}
	}
	content, _ := resp["content"].(map[string]any)
	media := sp.deref(content["application/json"])
	if media == nil {
		if len(bytes.TrimSpace(respBody)) > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d documents no body, got %d bytes", where, status, len(respBody)))
		}
		return errs
	}
	v, err := decodeJSON(respBody)
	if err != nil {
		return append(errs, fmt.Sprintf("%s: %d response: %v", where, status, err))
	}
	return append(errs, sp.validate(media["schema"], v, fmt.Sprintf("%s %d response", where, status))...)
}

func decodeJSON(b []byte) (any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return v, d.Decode(&v)
}

// apiClient calls the emulator as a GitHub client would and checks every exchange against
// GitHub's description.
type apiClient struct {
	t       testing.TB
	s       *Server
	base    string // s.URL(), or s.URL()+"api/v3/"
	token   string
	checked bool
	// covered records "method template status" of every checked exchange.
	covered map[string]bool
}

func newClient(t testing.TB, s *Server) *apiClient {
	return &apiClient{t: t, s: s, base: s.URL(), token: DefaultToken, checked: true, covered: map[string]bool{}}
}

// as returns a client that authenticates with another token.
func (c *apiClient) as(token string) *apiClient {
	d := *c
	d.token = token
	return &d
}

// unchecked returns a client that skips the OpenAPI check, for behaviour GitHub has but does
// not document (each use says which).
func (c *apiClient) unchecked() *apiClient {
	d := *c
	d.checked = false
	return &d
}

// response is one answer, with its JSON decoded.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// obj decodes a JSON object response.
func (r response) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.json(t, &m)
	return m
}

// list decodes a JSON array response.
func (r response) list(t testing.TB) []map[string]any {
	t.Helper()
	var l []map[string]any
	r.json(t, &l)
	return l
}

// do sends method path (relative to the API base, query included) with body marshalled as
// JSON unless nil or already []byte.
func (c *apiClient) do(method, path string, body any, header ...string) response {
	c.t.Helper()
	var reqBody []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		reqBody = b
	default:
		var err error
		if reqBody, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, c.base+strings.TrimPrefix(path, "/"), bytes.NewReader(reqBody))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "token "+c.token)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.checked {
		sp, err := loadSpec()
		if err != nil {
			c.t.Fatal(err)
		}
		// Escaped, so a ref like env%2Fprod stays one segment, as GitHub routes it.
		p := strings.TrimPrefix(req.URL.EscapedPath(), "/api/v3")
		if tmpl, op, _ := sp.operation(method, p); op != nil {
			c.covered[fmt.Sprintf("%s %s %d", strings.ToLower(method), tmpl, res.StatusCode)] = true
		}
		for _, e := range sp.check(method, p, req.URL.RawQuery, reqBody, res.StatusCode, out) {
			c.t.Errorf("OpenAPI: %s", e)
		}
	}
	return response{status: res.StatusCode, header: res.Header, body: out}
}

// must is do, failing the test unless the status is want.
func (c *apiClient) must(want int, method, path string, body any, header ...string) response {
	c.t.Helper()
	r := c.do(method, path, body, header...)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.status, want, r.body)
	}
	return r
}

// TestValidator shows the validator refuses what it must, so a passing conformance test means
// something.
func TestValidator(t *testing.T) {
	sp, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	label := map[string]any{"$ref": "#/components/schemas/label"}
	good := `{"id":1,"node_id":"x","url":"http://h/l","name":"n","description":null,"color":"fff","default":false}`
	tests := []struct {
		name   string
		schema any
		json   string
		want   string // a problem's substring; "" for none
	}{
		{"a label conforms", label, good, ""},
		{"a missing required property", label, `{"id":1,"node_id":"x","url":"http://h/l","name":"n","description":null,"color":"fff"}`, `"default" missing`},
		{"a wrong type", label, strings.Replace(good, `"id":1`, `"id":"1"`, 1), "wants integer"},
		{"a fraction where an integer is wanted", label, strings.Replace(good, `"id":1`, `"id":1.5`, 1), "wants integer"},
		{"null where not nullable", label, strings.Replace(good, `"name":"n"`, `"name":null`, 1), "null where"},
		{"not a URI", label, strings.Replace(good, `"http://h/l"`, `"h/l"`, 1), "not a URI"},
		{"an enum value", map[string]any{"$ref": "#/components/schemas/author-association"}, `"BOSS"`, "is not one of"},
		{"array items", map[string]any{"type": "array", "items": label}, `[` + good + `,{}]`, `[1]: required property`},
		{"oneOf matching none", map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}, `true`, "matches none"},
		{"a date-time", map[string]any{"type": "string", "format": "date-time"}, `"yesterday"`, "not a date-time"},
		{"additionalProperties false", map[string]any{"$ref": "#/components/schemas/empty-object"}, `{"a":1}`, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeJSON([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			errs := strings.Join(sp.validate(tt.schema, v, "$"), "\n")
			if tt.want == "" && errs != "" {
				t.Errorf("problems where none expected:\n%s", errs)
			}
			if tt.want != "" && !strings.Contains(errs, tt.want) {
				t.Errorf("problems %q do not mention %q", errs, tt.want)
			}
		})
	}
	if errs := sp.check("GET", "/repos/a/b/nothing", "", nil, 200, nil); len(errs) == 0 {
		t.Error("an undocumented route passed")
	}
	if errs := sp.check("POST", "/repos/a/b/statuses/abc", "", []byte(`{"state":"success"}`), 418, []byte(`{}`)); len(errs) == 0 {
		t.Error("an undocumented status passed")
	}
	if errs := sp.check("GET", "/repos/a/b/pulls", "colour=red", nil, 200, []byte(`[]`)); len(errs) == 0 {
		t.Error("an undocumented query parameter passed")
	}
}

var shaPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)
