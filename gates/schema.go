package gates

import (
	"fmt"
	"reflect"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/stagegate-dev/stagegate/config"
)

// Schema check IDs.
const (
	CheckSchemaMissingType  = "schema/missing-type"
	CheckSchemaMissingName  = "schema/missing-name"
	CheckSchemaUnknownField = "schema/unknown-field"
	CheckSchemaWrongType    = "schema/wrong-type"
	CheckSchemaInvalidValue = "schema/invalid-value"
	CheckSchemaInvalidCRD   = "schema/invalid-crd"
	CheckSchemaUnknownKind  = "schema/unknown-kind"
)

var schemaChecks = []Check{
	{ID: CheckSchemaMissingType, Severity: Error, Title: "Object has no apiVersion or kind",
		Why: "The API server cannot tell what the object is and refuses it.",
		Fix: "Set apiVersion and kind."},
	{ID: CheckSchemaMissingName, Severity: Error, Title: "Object has no name",
		Why: "Every object needs metadata.name to be applied, diffed and pruned.",
		Fix: "Set metadata.name."},
	{ID: CheckSchemaUnknownField, Severity: Error, Title: "Unknown field",
		Why: "The API server's strict field validation refuses it; with lax validation the field is dropped silently, so a misspelt setting (imagePullPolicyy) never takes effect.",
		Fix: "Correct the field name or its indentation, or remove it."},
	{ID: CheckSchemaWrongType, Severity: Error, Title: "Value has the wrong type",
		Why: "The API server refuses the object (replicas: \"3\" is a string where an integer belongs).",
		Fix: "Write the value with the type the field takes; quote strings, unquote numbers."},
	{ID: CheckSchemaInvalidValue, Severity: Error, Title: "Value breaks the CRD's schema",
		Why: "The custom resource's CRD (in the same rendering) refuses it: a required field, an enum, a pattern or a bound.",
		Fix: "Change the value to one the CRD's openAPIV3Schema allows."},
	{ID: CheckSchemaInvalidCRD, Severity: Error, Title: "CRD schema cannot be used",
		Why: "The API server refuses a CRD whose openAPIV3Schema is not a structural schema, and no custom resource of it can be checked.",
		Fix: "Fix the CRD's schema (every field typed, no unsupported keywords)."},
	{ID: CheckSchemaUnknownKind, Severity: Warning, Title: "No schema known for the kind",
		Why: "The kind is neither built into Kubernetes nor defined by a CRD in the rendering, so its fields are not checked; if its CRD is not installed, applying it fails.",
		Fix: "Render the CRD with the objects, or accept the warning (turn it off with severity: {schema/unknown-kind: off})."},
}

// schemaGate checks that every object would pass the API server's strict decoding.
type schemaGate struct{}

func newSchema(config.SchemaGate) Gate { return schemaGate{} }

func (schemaGate) Name() string    { return "schema" }
func (schemaGate) Checks() []Check { return schemaChecks }

// builtinTypes maps every kind client-go knows (plus CustomResourceDefinition) to its Go type.
var builtinTypes = sync.OnceValue(func() map[schema.GroupVersionKind]reflect.Type {
	s := runtime.NewScheme()
	// AddToScheme only fails on conflicting registrations, which would be a bug in the libraries.
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s.AllKnownTypes()
})

// objectMetaShape checks metadata of custom resources, whose Go type we do not have.
var objectMetaShape = sync.OnceValue(func() *shape { return shapeOf(reflect.TypeFor[metav1.ObjectMeta]()) })

func (schemaGate) Evaluate(in Input) Result {
	types := builtinTypes()
	crds := collectCRDs(in.Objects)
	findings := crds.problems
	var problems []decodeProblem
	for _, o := range in.Objects {
		ref := Ref(o)
		add := func(check string, sev Severity, path, msg, fix string) {
			findings = append(findings, Finding{Check: check, Severity: sev, Object: ref, Path: path, Message: msg, Fix: fix})
		}
		if ref.APIVersion == "" || ref.Kind == "" {
			add(CheckSchemaMissingType, Error, "", "object has no apiVersion or kind", "set apiVersion and kind")
			continue
		}
		md, _ := o.Content["metadata"].(map[string]any)
		if name, _ := md["name"].(string); name == "" {
			if gen, _ := md["generateName"].(string); gen == "" {
				add(CheckSchemaMissingName, Error, "metadata.name", "object has no name", "set metadata.name")
			}
		}
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil {
			add(CheckSchemaMissingType, Error, "apiVersion", fmt.Sprintf("apiVersion %q: %v", ref.APIVersion, err), "write apiVersion as group/version (apps/v1) or v1")
			continue
		}
		gvk := gv.WithKind(ref.Kind)
		problems = problems[:0]
		switch t, builtin := types[gvk]; {
		case builtin:
			shapeOf(t).check(o.Content, nil, &problems)
		case crds.validators[gvk] != nil:
			objectMetaShape().check(o.Content["metadata"], &fieldPath{key: "metadata"}, &problems)
			problems = append(problems, crds.validators[gvk].validate(o.Content)...)
		default:
			add(CheckSchemaUnknownKind, Warning, "", fmt.Sprintf("no schema known for %s %s: not a built-in kind and no CRD for it in the rendering", ref.APIVersion, ref.Kind),
				"render the CRD with the objects, or accept the warning")
			continue
		}
		for _, p := range problems {
			switch {
			case p.unknown:
				add(CheckSchemaUnknownField, Error, p.path, p.msg, "correct the field name or its indentation, or remove it")
			case p.invalid:
				add(CheckSchemaInvalidValue, Error, p.path, p.msg, "change the value to one the CRD's schema allows")
			default:
				add(CheckSchemaWrongType, Error, p.path, p.msg, "write the value with the type the field takes")
			}
		}
	}
	return resultOf(findings)
}

// resultOf is the Result of a gate that judges objects only: Fail when it found an error.
func resultOf(findings []Finding) Result {
	for _, f := range findings {
		if f.Severity == Error {
			return Result{Outcome: Fail, Findings: findings}
		}
	}
	return Result{Outcome: Pass, Findings: findings}
}
