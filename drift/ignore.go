package drift

import (
	"bytes"
	"encoding/json"
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/render"
)

// Ignore is a rule that keeps some differences out of drift. It selects objects by Group, Kind,
// Namespace and Name, each a glob (path.Match syntax; empty matches any), and covers, in those
// objects, the fields under any of Pointers and the fields any of Managers owns in the live
// object's managed fields: an HPA scaling a Deployment owns /spec/replicas as its manager, so
// {Kind: "Deployment", Managers: ["kube-controller-manager"]} stops replica counts from drifting.
type Ignore struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	// Pointers are JSON pointers ("/spec/replicas"); a pointer covers the field and everything
	// under it. A segment may be a glob ("*" matches any one segment); a list item is matched by
	// index ("0") or by key ("name=web").
	Pointers []string `json:"jsonPointers,omitempty"`
	// Managers are field manager names (globs) as they appear in metadata.managedFields.
	Managers []string `json:"managers,omitempty"`
}

// Matches reports whether the rule selects the object.
func (r Ignore) Matches(id render.ID) bool {
	return glob(r.Group, id.Group) && glob(r.Kind, id.Kind) &&
		glob(r.Namespace, id.Namespace) && glob(r.Name, id.Name)
}

func glob(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

func selectRules(rules []Ignore, id render.ID) []Ignore {
	var out []Ignore
	for _, r := range rules {
		if r.Matches(id) {
			out = append(out, r)
		}
	}
	return out
}

// parsePointer splits a JSON pointer into its unescaped segments ("/a~1b/c" → ["a/b", "c"]).
func parsePointer(p string) ([]string, bool) {
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		segs[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
	}
	return segs, true
}

func ignored(c []step, rules []Ignore, owned []fieldpath.Path) bool {
	for _, r := range rules {
		for _, p := range r.Pointers {
			if covers(p, c) {
				return true
			}
		}
	}
	for _, o := range owned {
		if ownedPath(o, c) {
			return true
		}
	}
	return false
}

// covers reports whether pointer p names c or a field above it.
func covers(p string, c []step) bool {
	segs, ok := parsePointer(p)
	if !ok || len(segs) > len(c) {
		return false
	}
	for i, seg := range segs {
		s := c[i]
		switch {
		case s.field != "":
			if !glob(seg, s.field) {
				return false
			}
		case seg == strconv.Itoa(s.index), glob(seg, s.String()):
		default:
			return false
		}
	}
	return true
}

// ownedBy returns the leaf fields that the rules' managers own in live's managed fields.
func ownedBy(live *unstructured.Unstructured, rules []Ignore) []fieldpath.Path {
	var managers []string
	for _, r := range rules {
		managers = append(managers, r.Managers...)
	}
	if len(managers) == 0 || live == nil {
		return nil
	}
	var out []fieldpath.Path
	for _, e := range live.GetManagedFields() {
		if e.FieldsV1 == nil || !anyGlob(managers, e.Manager) {
			continue
		}
		set := &fieldpath.Set{}
		if err := set.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err != nil {
			// A managed-fields entry the server wrote but we cannot read: it covers nothing,
			// so its fields still show as drift rather than being silently hidden.
			continue
		}
		set.Leaves().Iterate(func(p fieldpath.Path) { out = append(out, p.Copy()) })
	}
	return out
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// ownedPath reports whether owned, a leaf of a managed-fields set, is c or above it (an atomic
// field, owned whole).
func ownedPath(owned fieldpath.Path, c []step) bool {
	if len(owned) > len(c) {
		return false
	}
	for i, pe := range owned {
		if !elementMatches(pe, c[i]) {
			return false
		}
	}
	return true
}

func elementMatches(pe fieldpath.PathElement, s step) bool {
	switch {
	case pe.FieldName != nil:
		return s.field != "" && *pe.FieldName == s.field
	case s.field != "":
		return false
	case pe.Index != nil:
		return *pe.Index == s.index
	case pe.Value != nil:
		return sameJSON((*pe.Value).Unstructured(), s.live)
	case pe.Key != nil:
		item, ok := s.live.(map[string]any)
		if !ok {
			return false
		}
		for _, f := range *pe.Key {
			if !sameJSON(f.Value.Unstructured(), item[f.Name]) {
				return false
			}
		}
		return true
	}
	return false
}

// sameJSON compares two decoded values by their JSON, so 80 decoded as int64 by one decoder and
// as float64 by another are equal.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// IgnoreRules turns an environment's configured ignore rules into Ignore values.
func IgnoreRules(rules []config.DriftIgnore) []Ignore {
	out := make([]Ignore, 0, len(rules))
	for _, r := range rules {
		out = append(out, Ignore{
			Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name,
			Pointers: r.JSONPointers, Managers: r.Managers,
		})
	}
	return out
}
