package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Object is one rendered Kubernetes object.
type Object struct {
	// Content is the object as decoded from YAML (maps, slices, strings, float64/int64, bools).
	Content map[string]any
	// Source is the file in the repository the object came from, relative to the repository
	// root ("base/deployment.yaml"). For an object kustomize generated (configMapGenerator,
	// secretGenerator, helmCharts) it is the kustomization that configured the generator
	// ("base/kustomization.yaml"); empty when unknown.
	Source string
}

// ID identifies an object within a rendering: group, kind, namespace and name.
type ID struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// String reads like "apps/Deployment shop/web" or "Namespace shop".
func (id ID) String() string {
	var b strings.Builder
	if id.Group != "" {
		b.WriteString(id.Group)
		b.WriteByte('/')
	}
	b.WriteString(id.Kind)
	b.WriteByte(' ')
	if id.Namespace != "" {
		b.WriteString(id.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(id.Name)
	return b.String()
}

// APIVersion is the object's apiVersion ("apps/v1").
func (o Object) APIVersion() string { return str(o.Content, "apiVersion") }

// Kind is the object's kind ("Deployment").
func (o Object) Kind() string { return str(o.Content, "kind") }

// Name is metadata.name.
func (o Object) Name() string { return str(meta(o.Content), "name") }

// Namespace is metadata.namespace ("" for cluster-scoped objects or when unset).
func (o Object) Namespace() string { return str(meta(o.Content), "namespace") }

// Group is the API group of apiVersion ("" for the core group).
func (o Object) Group() string {
	g, _, ok := strings.Cut(o.APIVersion(), "/")
	if !ok {
		return ""
	}
	return g
}

// ID identifies the object.
func (o Object) ID() ID {
	return ID{Group: o.Group(), Kind: o.Kind(), Namespace: o.Namespace(), Name: o.Name()}
}

// Labels returns metadata.labels (nil when none).
func (o Object) Labels() map[string]string { return strMap(meta(o.Content), "labels") }

// Annotations returns metadata.annotations (nil when none).
func (o Object) Annotations() map[string]string { return strMap(meta(o.Content), "annotations") }

// YAML is the object's canonical YAML: keys sorted, two-space indent, no document separator.
func (o Object) YAML() []byte {
	b, err := yaml.Marshal(o.Content)
	if err != nil {
		// Content came from YAML decoding, so it always marshals; a failure is a bug.
		panic("render: object does not marshal: " + err.Error())
	}
	return b
}

// Objects is a rendering: objects in canonical order.
type Objects []Object

// YAML is the whole rendering as a canonical YAML stream ("---" between objects).
func (objs Objects) YAML() []byte {
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(o.YAML())
	}
	return b.Bytes()
}

// Digest is "sha256:<hex>" of the canonical YAML stream: the same objects give the same digest
// on any machine, whatever order or formatting the sources used.
func (objs Objects) Digest() string {
	sum := sha256.Sum256(objs.YAML())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Index maps each object's ID to the object.
func (objs Objects) Index() map[ID]Object {
	m := make(map[ID]Object, len(objs))
	for _, o := range objs {
		m[o.ID()] = o
	}
	return m
}

// Sort puts objects in canonical order: the order in which they can be applied (namespaces and
// CRDs first, kustomize's legacy kind order), then by group, kind, namespace and name.
func (objs Objects) Sort() {
	sort.SliceStable(objs, func(i, j int) bool {
		a, b := objs[i].ID(), objs[j].ID()
		if a == b {
			// The same object in two versions (autoscaling/v1 and v2): order must not depend
			// on the order of the sources, or the digest would.
			return objs[i].APIVersion() < objs[j].APIVersion()
		}
		return less(a, b)
	})
}

func less(a, b ID) bool {
	if ra, rb := kindRank(a.Kind), kindRank(b.Kind); ra != rb {
		return ra < rb
	}
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// applyOrder is kustomize's legacy order (api/resid/gvk.go): kinds others depend on come first,
// kinds that act on others come last. Kinds not listed sort between the two groups.
var applyOrder = []string{
	"Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
	"ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
	"ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
	"PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment", "StatefulSet",
	"CronJob", "PodDisruptionBudget",
}

var applyLast = []string{
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

func kindRank(kind string) int {
	for i, k := range applyOrder {
		if k == kind {
			return i
		}
	}
	for i, k := range applyLast {
		if k == kind {
			return len(applyOrder) + 1 + i
		}
	}
	return len(applyOrder)
}

func meta(m map[string]any) map[string]any {
	v, _ := m["metadata"].(map[string]any)
	return v
}

func str(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}

func strMap(m map[string]any, key string) map[string]string {
	raw, _ := m[key].(map[string]any)
	if raw == nil {
		return nil
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		s, _ := v.(string)
		out[k] = s
	}
	return out
}
