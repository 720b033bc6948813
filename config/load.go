package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Load reads, defaults and validates the config file at path.
func Load(path string, checks ...Check) ([]Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read config: %w; create it (see docs/config.md) or pass --config with its path", err)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path, checks...)
}

// Check is a further check of a valid pipeline by a package that owns part of its meaning (the
// gates package compiles CEL rules). It returns errors as Problems or "spec.path: message", so
// each is reported with its line like any other problem.
type Check func(Pipeline) []error

// Parse does what Load does for data already read; file names the source in errors.
//
// data holds one or more Pipeline documents separated by `---`. Each is decoded strictly, then
// defaulted, then validated; every problem in every document is reported at once in a
// *ValidationError, in file order. On error no pipeline is returned.
func Parse(data []byte, file string, checks ...Check) ([]Pipeline, error) {
	var (
		docs     []*document
		problems []Problem
	)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The YAML parser cannot resume after a syntax error; report what came before it too.
			problems = append(problems, syntaxProblem(err, countLines(data)))
			break
		}
		root := &n
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			root = n.Content[0]
		}
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue // an empty document: a stray `---` or a file of comments
		}
		docs = append(docs, decodeDocument(root, len(docs)+1))
	}
	if len(docs) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{Message: fmt.Sprintf(
			"no Pipeline document found; start the file with apiVersion: %s and kind: %s (see docs/config.md)", APIVersion, Kind)})
	}

	for _, d := range docs {
		applyDefaults(&d.pipeline)
		for _, pr := range validate(&d.pipeline) {
			if !d.suppressed(pr.Path) {
				pr.Line = d.line(pr.Path)
				d.problems = append(d.problems, pr)
			}
		}
		if len(d.problems) > 0 {
			continue // checks may assume a valid pipeline
		}
		d.pipeline.File = file // checks resolve paths relative to it (Pipeline.Resolve)
		for _, check := range checks {
			for _, err := range check(d.pipeline) {
				pr := pathProblem(err, "")
				pr.Line = d.line(pr.Path)
				d.problems = append(d.problems, pr)
			}
		}
	}
	uniquePipelineNames(docs)

	for _, d := range docs {
		for _, pr := range d.problems {
			if len(docs) > 1 {
				pr.Pipeline, pr.Document = d.pipeline.Metadata.Name, d.index
			}
			problems = append(problems, pr)
		}
	}
	if len(problems) > 0 {
		for i := range problems {
			problems[i].File = file
		}
		return nil, &ValidationError{Problems: sortProblems(problems, file)}
	}

	pipelines := make([]Pipeline, len(docs))
	for i, d := range docs {
		pipelines[i] = d.pipeline
		pipelines[i].File = file
	}
	return pipelines, nil
}

// uniquePipelineNames reports a pipeline name used by more than one document.
func uniquePipelineNames(docs []*document) {
	first := map[string]*document{}
	for _, d := range docs {
		name := d.pipeline.Metadata.Name
		if name == "" {
			continue
		}
		if f, ok := first[name]; ok {
			d.problems = append(d.problems, Problem{
				Line: d.line("metadata.name"), Path: "metadata.name",
				Message: fmt.Sprintf("duplicate pipeline name %q, also used by document %d (line %d); give each pipeline its own name",
					name, f.index, f.line("metadata.name")),
			})
			continue
		}
		first[name] = d
	}
}

// maxProblems bounds the problems reported: past it, the file is more likely the wrong file
// than a config with that many mistakes, and a longer list helps nobody.
const maxProblems = 100

func sortProblems(ps []Problem, file string) []Problem {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	out := ps[:0]
	seen := map[Problem]bool{}
	for _, p := range ps {
		if !seen[p] { // a problem inside a merged (<<) mapping is found once per merge
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) > maxProblems {
		more := len(out) - maxProblems
		out = append(out[:maxProblems], Problem{File: file,
			Message: fmt.Sprintf("%d more problems not shown; fix these first and run again", more)})
	}
	return out
}

// countLines counts lines the way YAML does: \r\n, \r, \n, NEL, LS and PS each end one.
func countLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") +
		strings.Count(s, "\u0085") + strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(err error, lines int) Problem {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		// The YAML library counts lines from 1 for scanner errors but from 0 for parser errors
		// (see fail in its decode.go); a parser error's line is where the unclosed collection
		// starts.
		for _, parserError := range []string{"did not find expected", "found undefined tag handle",
			"found duplicate %", "found incompatible YAML document"} {
			if strings.HasPrefix(m[2], parserError) {
				line++
				break
			}
		}
		// At the end of the input, the scanner can point one line past the last.
		return Problem{Line: min(line, lines), Message: "invalid YAML: " + m[2]}
	}
	return Problem{Message: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// document is one decoded Pipeline document and what validation needs to point into its text.
type document struct {
	index    int // 1-based, counting non-empty documents
	pipeline Pipeline
	// lines maps a YAML path (spec.environments[2].branch) to the line that sets it.
	lines map[string]int
	// suppress holds paths whose problems decoding already reported, so that validation does not
	// add a second, derived one (a misspelt `brnach` already says what `branch: required` would).
	suppress map[string]bool
	problems []Problem
}

// line returns the line of path, or of its nearest ancestor the document sets.
func (d *document) line(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

func (d *document) suppressed(path string) bool {
	for {
		if d.suppress[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = parentPath(path)
	}
}

// maxValues bounds the values decoded from one document, aliases included: a few lines of
// nested aliases can otherwise expand to billions of values.
const maxValues = 100_000

func decodeDocument(root *yaml.Node, index int) *document {
	d := &document{index: index, lines: map[string]int{"": root.Line}, suppress: map[string]bool{}}
	w := walker{doc: d, budget: maxValues}
	w.decode(root, reflect.ValueOf(&d.pipeline).Elem(), "")
	return d
}

// walker decodes a yaml.Node into a Go value by reflection, following the `json` tags that the
// rest of stagegate (and sigs.k8s.io/yaml users) know the types by. It decodes the node itself
// rather than converting YAML to JSON first: converting reads the file as YAML 1.1 (yes and on
// become true) and silently turns an unquoted 1.30 into the string "1.3"; walking the node sees
// what the user wrote, reports every problem with its line, and decodes exactly what it checked.
type walker struct {
	doc    *document
	budget int
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func (w *walker) problem(line int, path, format string, args ...any) {
	w.doc.problems = append(w.doc.problems, Problem{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// mismatch reports a value of the wrong kind and suppresses problems derived from its absence.
func (w *walker) mismatch(n *yaml.Node, path, want string) {
	w.problem(n.Line, path, "want %s, got %s", want, describe(n))
	w.doc.suppress[path] = true
}

// resolve follows an alias and counts the value against the document's budget.
func (w *walker) resolve(n *yaml.Node) (*yaml.Node, bool) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil, false
	}
	return n, w.spend()
}

// spend counts one value or key against the document's budget and reports whether any is left.
func (w *walker) spend() bool {
	w.budget--
	if w.budget == -1 {
		w.problem(w.doc.lines[""], "", "document too large: its aliases expand to more than %d values; write the values out or use fewer aliases", maxValues)
		w.doc.suppress[""] = true
	}
	return w.budget >= 0
}

func (w *walker) decode(n *yaml.Node, v reflect.Value, path string) {
	n, ok := w.resolve(n)
	if !ok {
		return
	}
	t := v.Type()
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		// A key written with no value (`security:`, `drift:`) is present: for an optional block,
		// whose presence enables something, it is the empty block, as `security: {}` is. Leaving
		// the pointer nil would silently turn off what the user switched on. Any other null
		// leaves the zero value: the field counts as not set.
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(t.Elem()))
		}
		return
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		w.decodeUnmarshaler(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		w.decode(n, p.Elem(), path)
		v.Set(p)

	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.mismatch(n, path, "a mapping (key: value)")
			return
		}
		fields, names := jsonFields(t)
		for _, e := range w.entries(n, path) {
			p := joinPath(path, e.key)
			index, ok := fields[e.key]
			if !ok {
				w.unknownField(e, path, names)
				continue
			}
			w.doc.lines[p] = e.keyNode.Line
			w.decode(e.value, v.FieldByIndex(index), p)
		}

	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.mismatch(n, path, "a list (- item)")
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.doc.lines[p] = item.Line
			w.decode(item, s.Index(i), p)
		}
		v.Set(s)

	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.mismatch(n, path, "a mapping (key: value)")
			return
		}
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("config: map key type %s is not supported", t.Key()))
		}
		m := reflect.MakeMap(t)
		for _, e := range w.entries(n, path) {
			p := mapKeyPath(path, e.key)
			w.doc.lines[p] = e.keyNode.Line
			ev := reflect.New(t.Elem()).Elem()
			w.decode(e.value, ev, p)
			m.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), ev)
		}
		v.Set(m)

	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.mismatch(n, path, "a string")
			return
		}
		switch tag := n.ShortTag(); tag {
		case "!!int", "!!float", "!!bool":
			what := "number"
			if tag == "!!bool" {
				what = "boolean"
			}
			reads := ""
			var x any
			if err := n.Decode(&x); err == nil && fmt.Sprint(x) != n.Value {
				reads = fmt.Sprintf(", which YAML reads as %v", x)
			}
			w.problem(n.Line, path, "want a string, got the %s %s%s; quote it: %q", what, n.Value, reads, n.Value)
			w.doc.suppress[path] = true
		default:
			v.SetString(n.Value)
		}

	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			w.mismatch(n, path, "true or false")
			return
		}
		v.SetBool(b)

	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			w.mismatch(n, path, "a whole number")
			return
		}
		if v.OverflowInt(i) {
			w.problem(n.Line, path, "%s is out of range", n.Value)
			return
		}
		v.SetInt(i)

	case reflect.Float32, reflect.Float64:
		var f float64
		if tag := n.ShortTag(); n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			w.mismatch(n, path, "a number")
			return
		}
		v.SetFloat(f)

	default:
		// The config types use none of the other kinds; a new field of one must be taught here.
		panic(fmt.Sprintf("config: field kind %s is not supported", t.Kind()))
	}
}

// decodeUnmarshaler decodes a type that reads itself from JSON (Duration) as a scalar, passing
// a YAML string as a JSON string and anything else as its JSON value.
func (w *walker) decodeUnmarshaler(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		w.mismatch(n, path, "a single value")
		return
	}
	b, _ := json.Marshal(n.Value)
	if n.ShortTag() != "!!str" {
		var x any
		if err := n.Decode(&x); err == nil {
			if j, err := json.Marshal(x); err == nil {
				b = j
			}
		}
	}
	if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
		w.problem(n.Line, path, "%v", err)
		w.doc.suppress[path] = true
	}
}

func (w *walker) unknownField(e entry, parent string, names []string) {
	msg := "unknown field"
	if s := suggest(e.key, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
		w.doc.suppress[joinPath(parent, s)] = true
	} else {
		msg += "; known fields: " + strings.Join(names, ", ")
	}
	w.problem(e.keyNode.Line, joinPath(parent, e.key), "%s", msg)
}

// entry is one key of a mapping, after merge keys (<<: *defaults) are applied.
type entry struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// entries lists the keys of a mapping in order, reporting non-string and duplicate keys. Keys
// merged in with `<<` come after the mapping's own keys, which override them.
func (w *walker) entries(n *yaml.Node, path string) []entry {
	var own, merged []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content) && w.spend(); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, w.merge(val, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.problem(k.Line, path, "a key is %s; keys must be plain strings", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.problem(k.Line, joinPath(path, k.Value), "duplicate key, first set on line %d; keep one", first.Line)
			continue
		}
		seen[k.Value] = k
		own = append(own, entry{key: k.Value, keyNode: k, value: val})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; !ok {
			seen[e.key] = e.keyNode
			own = append(own, e)
		}
	}
	return own
}

// merge returns the entries a merge key brings in: one mapping, or a list of mappings of which
// the earlier win.
func (w *walker) merge(n *yaml.Node, path string) []entry {
	n, ok := w.resolve(n)
	if !ok {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		return w.entries(n, path)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range n.Content {
			m, ok := w.resolve(item)
			if !ok {
				continue
			}
			if m.Kind != yaml.MappingNode {
				w.problem(item.Line, path, "<< merges mappings, got %s; write <<: *name where &name marks a mapping", describe(m))
				continue
			}
			out = append(out, w.entries(m, path)...)
		}
		return out
	default:
		w.problem(n.Line, path, "<< merges mappings, got %s; write <<: *name where &name marks a mapping", describe(n))
		return nil
	}
}

// jsonFields maps the JSON names of t's fields, embedded structs included, to their indexes,
// the way encoding/json sees them; names lists them in declaration order.
func jsonFields(t reflect.Type) (map[string][]int, []string) {
	fields := map[string][]int{}
	var names []string
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			index := append(append([]int(nil), prefix...), i)
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, index)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, dup := fields[name]; !dup {
				fields[name] = index
				names = append(names, name)
			}
		}
	}
	walk(t, nil)
	return fields, names
}

// describe names a node's kind for a message: "a list", "the string \"x\"".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", v)
	case "!!int", "!!float":
		return "the number " + v
	case "!!bool":
		return "the boolean " + v
	case "!!null":
		return "null"
	}
	return fmt.Sprintf("the value %q", v)
}

// suggest returns the known name closest to an unknown one, if one is close enough to be a typo.
func suggest(unknown string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if strings.EqualFold(n, unknown) {
			return n
		}
		if d := editDistance(strings.ToLower(unknown), strings.ToLower(n)); d < bestDist && d < max(len(unknown), 2) {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions, deletions, substitutions
// and swaps of neighbours (brnach → branch) each cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 64 // nobody misspells a field name by that much
	}
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// mapKeyPath writes a map key as .key, or ["key"] when the key would make the path ambiguous.
func mapKeyPath(parent, key string) string {
	if key == "" || strings.ContainsAny(key, `.[]" `) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	return joinPath(parent, key)
}

// parentPath strips the last element of a path: a.b[2] → a.b, a["x.y"] → a, a.b → a.
func parentPath(path string) string {
	if strings.HasSuffix(path, `"]`) {
		if i := strings.LastIndex(path, `["`); i >= 0 {
			return path[:i]
		}
	}
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndex(path, "["); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}
