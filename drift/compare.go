package drift

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stagegate-dev/stagegate/render"
)

// Status is how a live object stands against its rendered one.
type Status string

// Statuses, in the order a report lists them.
const (
	// Drifted: the live object differs from what applying the rendered one would make it.
	Drifted Status = "drifted"
	// Missing: the object is rendered but not in the cluster.
	Missing Status = "missing"
	// Extra: the object is in the environment's inventory and the cluster but no longer rendered.
	Extra Status = "extra"
	// Failed: the object could not be compared (the dry-run or the read failed); Reason says why.
	Failed Status = "failed"
	// InSync: applying the rendered object would change nothing (ignored fields aside).
	InSync Status = "in-sync"
)

var statusOrder = []Status{Drifted, Missing, Extra, Failed, InSync}

// ObjectReport is the comparison of one object.
type ObjectReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Status     Status `json:"status"`
	// Paths are the fields that differ, as JSON pointers ("/spec/replicas"). A list item is
	// named by its name where every item of the list has a distinct one
	// ("/spec/template/spec/containers/name=web/image"), by its index otherwise.
	Paths []string `json:"paths,omitempty"`
	// Ignored are the fields that differ but that an ignore rule covers; they do not count as
	// drift and are left out of Diff.
	Ignored []string `json:"ignored,omitempty"`
	// Diff is a unified diff from the live object (-) to the rendered one as the cluster would
	// store it (+), server-set fields left out and Secret values masked.
	Diff string `json:"diff,omitempty"`
	// Reason says why a Failed object could not be compared.
	Reason string `json:"reason,omitempty"`
}

// ID identifies the object the report is about.
func (r ObjectReport) ID() render.ID {
	g, _, ok := strings.Cut(r.APIVersion, "/")
	if !ok {
		g = ""
	}
	return render.ID{Group: g, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// Compare compares the live object with desired, the result of a server-side dry-run apply of
// the rendered object. The dry-run result is the live object with the rendered fields applied
// and server defaults filled in, so every difference is a field that applying would change;
// fields only the cluster sets (status, managed fields, resourceVersion, uid …) are left out.
// live nil means Missing, desired nil Extra. Differences an ignore rule covers are reported as
// Ignored and do not make the object Drifted.
func Compare(desired, live *unstructured.Unstructured, ignore []Ignore) ObjectReport {
	switch {
	case desired == nil && live == nil:
		return ObjectReport{Status: InSync}
	case live == nil:
		r := header(desired, Missing)
		r.Diff = objectDiff(nil, strip(desired.Object))
		return r
	case desired == nil:
		r := header(live, Extra)
		r.Diff = objectDiff(strip(live.Object), nil)
		return r
	}
	r := header(desired, InSync)
	want, got := strip(desired.Object), strip(live.Object)
	var changes [][]step
	walk(got, want, nil, &changes)
	rules := selectRules(ignore, r.ID())
	owned := ownedBy(live, rules)
	for _, c := range changes {
		if ignored(c, rules, owned) {
			r.Ignored = append(r.Ignored, pointer(c))
			want = put(want, got, c).(map[string]any)
			continue
		}
		r.Paths = append(r.Paths, pointer(c))
	}
	if len(r.Paths) > 0 {
		r.Status = Drifted
		r.Diff = objectDiff(got, want)
	}
	return r
}

func header(u *unstructured.Unstructured, s Status) ObjectReport {
	return ObjectReport{
		APIVersion: u.GetAPIVersion(), Kind: u.GetKind(),
		Namespace: u.GetNamespace(), Name: u.GetName(), Status: s,
	}
}

// objectDiff is render.Diff's unified diff of one object, so Secret values are masked the same
// way as in promotion diffs.
func objectDiff(live, desired map[string]any) string {
	var from, to render.Objects
	if live != nil {
		from = render.Objects{{Content: live}}
	}
	if desired != nil {
		to = render.Objects{{Content: desired}}
	}
	changes := render.Diff(from, to)
	if len(changes) == 0 {
		return ""
	}
	return changes[0].Diff
}

// serverMetadata are the metadata fields the API server sets; a rendered object never sets them
// and they change without anyone changing the object.
var serverMetadata = []string{
	"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink",
	"deletionTimestamp", "deletionGracePeriodSeconds",
}

// serverAnnotations are annotations that tools and controllers write on their own.
var serverAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
}

// strip returns a copy of obj without status and server-set metadata.
func strip(obj map[string]any) map[string]any {
	out := runtimeCopy(obj)
	delete(out, "status")
	md, _ := out["metadata"].(map[string]any)
	if md == nil {
		return out
	}
	for _, f := range serverMetadata {
		delete(md, f)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		for _, a := range serverAnnotations {
			delete(ann, a)
		}
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	return out
}

func runtimeCopy(obj map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: obj}).DeepCopy().Object
}

// step is one element of a field path: a map key, or a list item named by key or by index.
type step struct {
	field string // map key; "" for a list item
	// For a list item: the merge key ("name") and its value, or listKey "" for an index.
	listKey, keyValue string
	index             int
	// live is the item in the live list (nil when only desired has it); managed fields match
	// against it.
	live any
}

func (s step) String() string {
	switch {
	case s.field != "":
		return strings.NewReplacer("~", "~0", "/", "~1").Replace(s.field)
	case s.listKey != "":
		return s.listKey + "=" + s.keyValue
	default:
		return strconv.Itoa(s.index)
	}
}

func pointer(path []step) string {
	var b strings.Builder
	for _, s := range path {
		b.WriteByte('/')
		b.WriteString(s.String())
	}
	return b.String()
}

// walk appends to out the path of every field where live and desired differ, as deep as both
// sides have the same shape.
func walk(live, desired any, path []step, out *[][]step) {
	switch l := live.(type) {
	case map[string]any:
		d, ok := desired.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(l)+len(d))
		for k := range l {
			keys = append(keys, k)
		}
		for k := range d {
			if _, dup := l[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			lv, lok := l[k]
			dv, dok := d[k]
			p := appendStep(path, step{field: k})
			if lok && dok {
				walk(lv, dv, p, out)
			} else {
				*out = append(*out, p)
			}
		}
		return
	case []any:
		d, ok := desired.([]any)
		if !ok {
			break
		}
		if key := mergeKey(l, d); key != "" {
			walkKeyed(l, d, key, path, out)
			return
		}
		if len(l) != len(d) {
			break
		}
		for i := range l {
			walk(l[i], d[i], appendStep(path, step{index: i, live: l[i]}), out)
		}
		return
	}
	if !reflect.DeepEqual(live, desired) {
		*out = append(*out, path)
	}
}

func walkKeyed(l, d []any, key string, path []step, out *[][]step) {
	dByKey := map[string]any{}
	for _, it := range d {
		dByKey[keyOf(it, key)] = it
	}
	seen := map[string]bool{}
	for i, it := range l {
		k := keyOf(it, key)
		seen[k] = true
		p := appendStep(path, step{listKey: key, keyValue: k, index: i, live: it})
		if dv, ok := dByKey[k]; ok {
			walk(it, dv, p, out)
		} else {
			*out = append(*out, p)
		}
	}
	for i, it := range d {
		if k := keyOf(it, key); !seen[k] {
			*out = append(*out, appendStep(path, step{listKey: key, keyValue: k, index: i}))
		}
	}
}

// mergeKeys are the fields Kubernetes lists are most often merged by (containers, env, ports,
// volumes by name; volumeMounts by mountPath). Without the schema, a field is taken as the key
// when every item on both sides has it with a distinct scalar value.
var mergeKeys = []string{"name", "mountPath", "containerPort", "devicePath"}

func mergeKey(lists ...[]any) string {
	for _, key := range mergeKeys {
		ok := true
		for _, list := range lists {
			seen := map[string]bool{}
			for _, it := range list {
				m, isMap := it.(map[string]any)
				v, has := m[key]
				if !isMap || !has || !scalar(v) || seen[keyOf(it, key)] {
					ok = false
					break
				}
				seen[keyOf(it, key)] = true
			}
		}
		if ok && (len(lists[0]) > 0 || len(lists[1]) > 0) {
			return key
		}
	}
	return ""
}

func scalar(v any) bool {
	switch v.(type) {
	case string, int64, float64, bool, int:
		return true
	}
	return false
}

func keyOf(item any, key string) string {
	m, _ := item.(map[string]any)
	return fmt.Sprint(m[key])
}

func appendStep(path []step, s step) []step {
	out := make([]step, len(path), len(path)+1)
	copy(out, path)
	return append(out, s)
}

// put returns desired with the value at path replaced by live's (removed where live has none),
// so that an ignored difference leaves the diff.
func put(desired, live any, path []step) any {
	if len(path) == 0 {
		return live
	}
	s := path[0]
	if s.field != "" {
		d, _ := desired.(map[string]any)
		l, _ := live.(map[string]any)
		lv, lok := l[s.field]
		if d == nil {
			return desired
		}
		if len(path) == 1 && !lok {
			delete(d, s.field)
			return d
		}
		d[s.field] = put(d[s.field], lv, path[1:])
		return d
	}
	d, _ := desired.([]any)
	l, _ := live.([]any)
	di, li := find(d, s), find(l, s)
	switch {
	case di < 0 && li >= 0:
		return append(d, l[li])
	case di >= 0 && li < 0:
		return append(d[:di:di], d[di+1:]...)
	case di >= 0:
		d[di] = put(d[di], l[li], path[1:])
	}
	return d
}

func find(list []any, s step) int {
	if s.listKey == "" {
		if s.index < len(list) {
			return s.index
		}
		return -1
	}
	for i, it := range list {
		if m, ok := it.(map[string]any); ok {
			if _, has := m[s.listKey]; has && keyOf(it, s.listKey) == s.keyValue {
				return i
			}
		}
	}
	return -1
}
