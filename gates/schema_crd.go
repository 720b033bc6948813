package gates

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/stagegate-dev/stagegate/render"
)

// Custom resources are checked against the CRDs rendered with them, the way the API server
// checks them: values against the openAPIV3Schema (the same validator it uses), and unknown
// fields by pruning (what it would silently drop, or refuse under strict field validation).
// CRDs already installed in the cluster are not known here; the dry-run gate covers those.

// crdValidator checks custom resources of one CRD version.
type crdValidator struct {
	validator  apiservervalidation.SchemaValidator
	structural *structuralschema.Structural
}

type renderedCRDs struct {
	validators map[schema.GroupVersionKind]*crdValidator
	// problems with the CRDs themselves.
	problems []Finding
}

func collectCRDs(objs render.Objects) renderedCRDs {
	out := renderedCRDs{validators: map[schema.GroupVersionKind]*crdValidator{}}
	for _, o := range objs {
		if o.Kind() != "CustomResourceDefinition" || o.APIVersion() != "apiextensions.k8s.io/v1" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		b, err := json.Marshal(o.Content)
		if err == nil {
			err = json.Unmarshal(b, &crd)
		}
		if err != nil {
			continue // the strict decoding of the CRD itself reports what is wrong with it
		}
		for i, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			path := fmt.Sprintf("spec.versions[%d].schema.openAPIV3Schema", i)
			cv, err := newCRDValidator(v.Schema.OpenAPIV3Schema)
			if err != nil {
				out.problems = append(out.problems, Finding{Check: CheckSchemaInvalidCRD, Severity: Error, Object: Ref(o), Path: path,
					Message: fmt.Sprintf("version %s: %v", v.Name, err), Fix: "make the schema structural: give every field a type"})
				continue
			}
			out.validators[schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}] = cv
		}
	}
	return out
}

func newCRDValidator(v1 *apiextensionsv1.JSONSchemaProps) (*crdValidator, error) {
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, &internal, nil); err != nil {
		return nil, err
	}
	st, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, fmt.Errorf("not a structural schema: %w", err)
	}
	if errs := structuralschema.ValidateStructural(nil, st); len(errs) > 0 {
		return nil, fmt.Errorf("not a structural schema: %w", errs.ToAggregate())
	}
	val, _, err := apiservervalidation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &crdValidator{validator: val, structural: st}, nil
}

// validate reports schema violations and unknown fields of one custom resource.
func (cv *crdValidator) validate(content map[string]any) []decodeProblem {
	var out []decodeProblem
	for _, e := range apiservervalidation.ValidateCustomResource(nil, content, cv.validator) {
		p := decodeProblem{path: e.Field, msg: crdMessage(e), invalid: e.Type != field.ErrorTypeTypeInvalid}
		out = append(out, p)
	}
	// Pruning changes what it walks, so it walks a copy.
	cp := runtime.DeepCopyJSON(content)
	unknown := pruning.PruneWithOptions(cp, cv.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		_, last := splitLast(path)
		out = append(out, decodeProblem{path: path, unknown: true, msg: fmt.Sprintf("unknown field %q", last)})
	}
	return out
}

func crdMessage(e *field.Error) string {
	msg := e.ErrorBody()
	// ErrorBody repeats the field path the finding already carries.
	return strings.TrimPrefix(msg, e.Field+": ")
}

func splitLast(path string) (string, string) {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i], path[i+1:]
	}
	return "", path
}
