package render

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// ChangeType says how an object differs between two renderings.
type ChangeType string

// Change types.
const (
	Added   ChangeType = "added"
	Removed ChangeType = "removed"
	Changed ChangeType = "changed"
)

// Change is one object that differs between two renderings.
type Change struct {
	ID   ID         `json:"-"`
	Type ChangeType `json:"type"`
	// Diff is a unified diff of the object's canonical YAML, Secret values masked.
	Diff string `json:"diff"`
	// Added and Removed count the diff's + and - lines.
	Added   int `json:"added"`
	Removed int `json:"removed"`
	// Source is the file the object came from in the newer rendering (the older one for removals).
	Source string `json:"source,omitempty"`
	// RenamedFrom is the old name of an object whose kustomize hash suffix changed with its content.
	RenamedFrom string `json:"renamedFrom,omitempty"`
}

// Masked stands in for every Secret value in a diff. A changed value shows as a changed line
// without revealing either value.
const (
	Masked        = "<masked>"
	MaskedBefore  = "<masked-old>"
	MaskedAfter   = "<masked-new>"
	contextLines  = 3
	lastAppliedAn = "kubectl.kubernetes.io/last-applied-configuration"
)

// Diff compares two renderings object by object: objects only in to are Added, only in from
// Removed, in both with different content Changed. An added and a removed object whose names
// differ only by kustomize's content-hash suffix (configMapGenerator, secretGenerator) are one
// Changed object with RenamedFrom set, so a one-value edit reads as one. The result follows to's
// canonical order, with removals after, in from's order. Secret values are masked in every diff.
func Diff(from, to Objects) []Change {
	old := from.Index()
	cur := to.Index()
	renamed := renames(from, to, old, cur) // new ID → old object
	var changes []Change
	for _, o := range to {
		id := o.ID()
		prev, ok := old[id]
		if !ok {
			prev, ok = renamed[id]
		}
		if !ok {
			changes = append(changes, change(id, Added, "", string(masked(o).YAML()), o.Source))
			continue
		}
		a, b := maskPair(prev, o)
		before, after := string(a.YAML()), string(b.YAML())
		if before == after {
			continue
		}
		c := change(id, Changed, before, after, o.Source)
		if prev.Name() != o.Name() {
			c.RenamedFrom = prev.Name()
		}
		changes = append(changes, c)
	}
	pairedOld := make(map[ID]bool, len(renamed))
	for _, o := range renamed {
		pairedOld[o.ID()] = true
	}
	for _, o := range from {
		id := o.ID()
		if _, ok := cur[id]; ok || pairedOld[id] {
			continue
		}
		changes = append(changes, change(id, Removed, string(masked(o).YAML()), "", o.Source))
	}
	return changes
}

// hashSuffix matches a name with kustomize's 10-character content hash appended (api/hasher:
// hex digits with 0, 1, 3, a and e replaced by g, h, k, m and t).
var hashSuffix = regexp.MustCompile(`^(.+)-[245-9bcdfghkmt]{10}$`)

// renames pairs objects that exist only in to with objects that exist only in from when both
// carry a hash suffix on the same base name, group, kind and namespace, and the pair is unique.
func renames(from, to Objects, old, cur map[ID]Object) map[ID]Object {
	type key struct {
		group, kind, namespace, base string
	}
	keyOf := func(id ID) (key, bool) {
		m := hashSuffix.FindStringSubmatch(id.Name)
		if m == nil {
			return key{}, false
		}
		return key{id.Group, id.Kind, id.Namespace, m[1]}, true
	}
	gone := map[key][]Object{}
	for _, o := range from {
		if _, ok := cur[o.ID()]; ok {
			continue
		}
		if k, ok := keyOf(o.ID()); ok {
			gone[k] = append(gone[k], o)
		}
	}
	came := map[key][]Object{}
	for _, o := range to {
		if _, ok := old[o.ID()]; ok {
			continue
		}
		if k, ok := keyOf(o.ID()); ok {
			came[k] = append(came[k], o)
		}
	}
	out := map[ID]Object{}
	for k, news := range came {
		if olds := gone[k]; len(news) == 1 && len(olds) == 1 {
			out[news[0].ID()] = olds[0]
		}
	}
	return out
}

func change(id ID, t ChangeType, before, after, source string) Change {
	c := Change{ID: id, Type: t, Source: source}
	c.Diff = unified(id.String(), before, after)
	for _, line := range strings.Split(c.Diff, "\n") {
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
		case strings.HasPrefix(line, "+"):
			c.Added++
		case strings.HasPrefix(line, "-"):
			c.Removed++
		}
	}
	return c
}

// unified returns a unified diff of two YAML texts labelled with the object's ID.
func unified(label, before, after string) string {
	d := difflib.UnifiedDiff{
		A:        splitLines(before),
		B:        splitLines(after),
		FromFile: "a/" + label,
		ToFile:   "b/" + label,
		Context:  contextLines,
	}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		// difflib only fails when its writer fails; a strings.Builder never does.
		panic("render: diff: " + err.Error())
	}
	return s
}

// masked returns o with a Secret's values masked; other kinds as they are.
func masked(o Object) Object {
	if !isSecret(o) {
		return o
	}
	return maskSecret(o, nil, Masked)
}

// maskPair returns copies of two versions of an object with a Secret's data and stringData
// values replaced: equal values by Masked on both sides, differing ones by MaskedBefore and
// MaskedAfter, so the diff shows which keys changed and nothing of their values.
func maskPair(prev, cur Object) (Object, Object) {
	if !isSecret(cur) && !isSecret(prev) {
		return prev, cur
	}
	return maskSecret(prev, cur.Content, MaskedBefore), maskSecret(cur, prev.Content, MaskedAfter)
}

func isSecret(o Object) bool { return o.Group() == "" && o.Kind() == "Secret" }

// maskSecret copies o with every value under data and stringData masked: Masked where other holds
// the same value under the same key, differ otherwise. The last-applied annotation, which repeats
// the values, is masked whole.
func maskSecret(o Object, other map[string]any, differ string) Object {
	out := Object{Source: o.Source, Content: shallowCopy(o.Content)}
	for _, field := range []string{"data", "stringData"} {
		vals, ok := o.Content[field].(map[string]any)
		if !ok {
			continue
		}
		otherVals, _ := other[field].(map[string]any)
		masked := make(map[string]any, len(vals))
		for k, v := range vals {
			ov, found := otherVals[k]
			if other == nil || (found && reflect.DeepEqual(ov, v)) {
				masked[k] = Masked
			} else {
				masked[k] = differ
			}
		}
		out.Content[field] = masked
	}
	if md, ok := o.Content["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			if _, has := ann[lastAppliedAn]; has {
				md = shallowCopy(md)
				ann = shallowCopy(ann)
				ann[lastAppliedAn] = Masked
				md["annotations"] = ann
				out.Content["metadata"] = md
			}
		}
	}
	return out
}

func shallowCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// splitLines splits after each newline; unlike difflib.SplitLines it adds no empty last line,
// which would count as a changed line when one side is empty.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
