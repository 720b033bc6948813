package gates

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
)

// Strict decoding without decoding.
//
// The API server decodes a manifest strictly: an unknown field, a value of the wrong type or an
// integer out of range is refused. Doing that here by marshalling each object to JSON and
// decoding it into its k8s.io/api type costs about 40µs for a Deployment, which is most of the
// time budget of all the gates together. Instead, shapeOf turns each Go type once into a shape
// (which fields exist, what JSON kind each value must be), and check walks the decoded map
// against it, allocating nothing unless it finds a problem. schema_decode_test.go holds the walk
// to the same verdicts as sigs.k8s.io/json's strict decoder, the one the API server uses.

// valueKind is the JSON value a shape accepts.
type valueKind uint8

const (
	kindAny         valueKind = iota // interface{}, RawExtension-like: anything
	kindObject                       // a struct: known fields only
	kindMap                          // map[string]T
	kindList                         // []T
	kindString                       // string
	kindBytes                        // []byte: a base64 string
	kindBool                         // bool
	kindInt                          // signed integer of bits
	kindUint                         // unsigned integer of bits
	kindFloat                        // any number
	kindQuantity                     // resource.Quantity: a quantity string or a number
	kindIntOrString                  // intstr.IntOrString: int32 or string
	kindTime                         // metav1.Time: RFC 3339 string
	kindMicroTime                    // metav1.MicroTime: RFC 3339 with microseconds
	kindCustom                       // another json.Unmarshaler: decoded through JSON (rare)
)

// shape is what a JSON value must look like to decode into one Go type.
type shape struct {
	kind   valueKind
	fields map[string]*shape // kindObject
	elem   *shape            // kindMap, kindList
	bits   int               // kindInt, kindUint
	goType reflect.Type      // kindCustom; and the type name in messages
}

var (
	shapeMu    sync.Mutex
	shapeCache = map[reflect.Type]*shape{}

	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	specialKinds        = map[reflect.Type]valueKind{
		reflect.TypeFor[resource.Quantity]():  kindQuantity,
		reflect.TypeFor[intstr.IntOrString](): kindIntOrString,
		reflect.TypeFor[metav1.Time]():        kindTime,
		reflect.TypeFor[metav1.MicroTime]():   kindMicroTime,
		reflect.TypeFor[json.RawMessage]():    kindAny,
		reflect.TypeFor[map[string]any]():     kindAny,
		reflect.TypeFor[metav1.FieldsV1]():    kindAny,
		reflect.TypeFor[metav1.Duration]():    kindCustom,
	}
)

// shapeOf returns the shape of t, building and caching it on first use.
func shapeOf(t reflect.Type) *shape {
	shapeMu.Lock()
	defer shapeMu.Unlock()
	return buildShape(t)
}

func buildShape(t reflect.Type) *shape {
	if s, ok := shapeCache[t]; ok {
		return s
	}
	s := &shape{goType: t}
	// Cache before filling in, so recursive types (JSONSchemaProps) end.
	shapeCache[t] = s
	if k, ok := specialKinds[t]; ok {
		s.kind = k
		return s
	}
	if t.Kind() != reflect.Pointer &&
		(t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)) {
		// RawExtension, JSONSchemaPropsOrBool and friends decide for themselves what they accept.
		s.kind = kindCustom
		if t.Kind() == reflect.Struct && t.NumField() == 1 && t.Field(0).Type == reflect.TypeFor[[]byte]() {
			s.kind = kindAny // RawExtension, apiextensions JSON: raw bytes of anything
		}
		return s
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s.kind = kindCustom
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		e := buildShape(t.Elem())
		*s = *e
	case reflect.Struct:
		s.kind = kindObject
		s.fields = map[string]*shape{}
		addFields(s.fields, t)
	case reflect.Map:
		s.kind = kindMap
		s.elem = buildShape(t.Elem())
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s.kind = kindBytes
			break
		}
		s.kind = kindList
		s.elem = buildShape(t.Elem())
	case reflect.String:
		s.kind = kindString
	case reflect.Bool:
		s.kind = kindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.kind, s.bits = kindInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s.kind, s.bits = kindUint, t.Bits()
	case reflect.Float32, reflect.Float64:
		s.kind = kindFloat
	default:
		s.kind = kindAny
	}
	return s
}

// addFields adds t's JSON fields to fields, following encoding/json: embedded structs without a
// name are inlined (TypeMeta), "-" is skipped, an untagged field goes by its Go name.
func addFields(fields map[string]*shape, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(fields, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := fields[name]; !dup {
			fields[name] = buildShape(f.Type)
		}
	}
}

// fieldPath is a field path built only when a problem is reported: checking never allocates.
type fieldPath struct {
	parent *fieldPath
	key    string
	index  int // for list items; key is "" then
}

func (p *fieldPath) String() string {
	if p == nil {
		return ""
	}
	var parts []*fieldPath
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		q := parts[i]
		switch {
		case q.key == "":
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(q.index))
			b.WriteByte(']')
		case isPlainKey(q.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(q.key)
		default:
			// Map keys such as label names or ConfigMap keys: foo["app.kubernetes.io/name"].
			b.WriteString("[" + strconv.Quote(q.key) + "]")
		}
	}
	return b.String()
}

func isPlainKey(k string) bool {
	for _, r := range k {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return k != ""
}

// decodeProblem is one reason strict decoding would fail.
type decodeProblem struct {
	path    string
	unknown bool   // an unknown field
	invalid bool   // a value a CRD's schema refuses (enum, pattern, required…)
	msg     string // else a value of the wrong type
}

// maxDecodeProblems bounds what one object reports: a wrong apiVersion can make every field
// unknown, and a hundred lines saying so help nobody.
const maxDecodeProblems = 20

// check walks v against s and appends what strict decoding would refuse.
func (s *shape) check(v any, path *fieldPath, out *[]decodeProblem) {
	if v == nil || len(*out) >= maxDecodeProblems {
		return // JSON null decodes into anything, leaving the zero value
	}
	switch s.kind {
	case kindAny:
	case kindObject:
		m, ok := v.(map[string]any)
		if !ok {
			s.wrong(v, "an object", path, out)
			return
		}
		for k, fv := range m {
			child := &fieldPath{parent: path, key: k}
			fs := s.fields[k]
			if fs == nil {
				*out = append(*out, decodeProblem{path: child.String(), unknown: true,
					msg: fmt.Sprintf("unknown field %q", k)})
				continue
			}
			fs.check(fv, child, out)
		}
	case kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			s.wrong(v, "an object", path, out)
			return
		}
		for k, ev := range m {
			s.elem.check(ev, &fieldPath{parent: path, key: k}, out)
		}
	case kindList:
		l, ok := v.([]any)
		if !ok {
			s.wrong(v, "a list", path, out)
			return
		}
		for i, ev := range l {
			s.elem.check(ev, &fieldPath{parent: path, index: i}, out)
		}
	case kindString:
		if _, ok := v.(string); !ok {
			s.wrong(v, "a string", path, out)
		}
	case kindBytes:
		str, ok := v.(string)
		if !ok {
			s.wrong(v, "a base64 string", path, out)
		} else if _, err := base64.StdEncoding.DecodeString(str); err != nil {
			*out = append(*out, decodeProblem{path: path.String(), msg: "want base64-encoded data: " + err.Error()})
		}
	case kindBool:
		if _, ok := v.(bool); !ok {
			s.wrong(v, "true or false", path, out)
		}
	case kindInt, kindUint:
		n, ok := integer(v)
		if !ok {
			s.wrong(v, "an integer", path, out)
		} else if !s.fits(n) {
			*out = append(*out, decodeProblem{path: path.String(), msg: fmt.Sprintf("%d does not fit in a %d-bit integer", n, s.bits)})
		}
	case kindFloat:
		switch v.(type) {
		case int64, float64, int:
		default:
			s.wrong(v, "a number", path, out)
		}
	case kindQuantity:
		switch q := v.(type) {
		case int64, float64, int:
		case string:
			if _, err := resource.ParseQuantity(q); err != nil {
				*out = append(*out, decodeProblem{path: path.String(),
					msg: fmt.Sprintf("%q is not a quantity (like 500m, 2, 128Mi)", q)})
			}
		default:
			s.wrong(v, "a quantity", path, out)
		}
	case kindIntOrString:
		switch x := v.(type) {
		case string:
		default:
			n, ok := integer(x)
			if !ok || n < math.MinInt32 || n > math.MaxInt32 {
				s.wrong(v, "an integer or a string", path, out)
			}
		}
	case kindTime, kindMicroTime:
		str, ok := v.(string)
		if !ok {
			s.wrong(v, "an RFC 3339 time string", path, out)
			return
		}
		layout := time.RFC3339
		if s.kind == kindMicroTime {
			layout = metav1.RFC3339Micro
		}
		if _, err := time.Parse(layout, str); err != nil {
			*out = append(*out, decodeProblem{path: path.String(), msg: fmt.Sprintf("%q is not an RFC 3339 time", str)})
		}
	case kindCustom:
		b, err := json.Marshal(v)
		if err == nil {
			_, err = kjson.UnmarshalStrict(b, reflect.New(s.goType).Interface())
		}
		if err != nil {
			*out = append(*out, decodeProblem{path: path.String(), msg: fmt.Sprintf("not a valid %s: %v", s.goType.Name(), err)})
		}
	}
}

// fits reports whether n fits the shape's integer type.
func (s *shape) fits(n int64) bool {
	if s.kind == kindUint {
		return n >= 0 && (s.bits == 64 || uint64(n) < 1<<s.bits)
	}
	return s.bits == 64 || (n >= -(1<<(s.bits-1)) && n < 1<<(s.bits-1))
}

func (s *shape) wrong(v any, want string, path *fieldPath, out *[]decodeProblem) {
	*out = append(*out, decodeProblem{path: path.String(), msg: fmt.Sprintf("want %s, got %s", want, describe(v))})
}

// integer reads an integral JSON number; YAML and JSON decoders hand out int64 or float64.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == math.Trunc(n) && n >= math.MinInt64 && n <= math.MaxInt64 {
			return int64(n), true
		}
	}
	return 0, false
}

// describe names a decoded value's type for a message, with the value when it is short.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return "string " + strconv.Quote(x)
	case bool:
		return "bool " + strconv.FormatBool(x)
	case int64, int, float64:
		return fmt.Sprintf("number %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}
