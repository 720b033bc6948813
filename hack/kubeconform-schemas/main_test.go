package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFileNameIsKubeconformsKindSuffix(t *testing.T) {
	for _, tc := range []struct{ group, version, kind, want string }{
		{"", "v1", "Service", "service-v1.json"},
		{"apps", "v1", "Deployment", "deployment-apps-v1.json"},
		{"networking.k8s.io", "v1", "Ingress", "ingress-networking-v1.json"},
		{"rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebinding-rbac-v1.json"},
		{"internal.apiserver.k8s.io", "v1alpha1", "StorageVersion", "storageversion-internal-v1alpha1.json"},
	} {
		if got := fileName(tc.group, tc.version, tc.kind); got != tc.want {
			t.Errorf("fileName(%q, %q, %q) = %q, want %q", tc.group, tc.version, tc.kind, got, tc.want)
		}
	}
}

func TestConvert(t *testing.T) {
	var defs map[string]map[string]any
	if err := json.Unmarshal([]byte(`{
	  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
	  "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
	  "io.k8s.api.example.v1.Props": {"type": "object", "properties": {
	    "items": {"$ref": "#/definitions/io.k8s.api.example.v1.Props"}}},
	  "io.k8s.api.example.v1.Spec": {"type": "object", "required": ["port"], "properties": {
	    "port": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
	    "cpu": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
	    "schema": {"$ref": "#/definitions/io.k8s.api.example.v1.Props"},
	    "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
	  "io.k8s.api.example.v1.Thing": {
	    "x-kubernetes-group-version-kind": [{"group": "example.k8s.io", "kind": "Thing", "version": "v1"}],
	    "properties": {
	      "apiVersion": {"type": "string"},
	      "spec": {"description": "the field's own", "$ref": "#/definitions/io.k8s.api.example.v1.Spec"}}}
	}`), &defs); err != nil {
		t.Fatal(err)
	}
	files, err := convert(defs)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(`{
	  "$schema": "http://json-schema.org/draft-04/schema#",
	  "type": "object",
	  "additionalProperties": false,
	  "x-kubernetes-group-version-kind": [{"group": "example.k8s.io", "kind": "Thing", "version": "v1"}],
	  "properties": {
	    "apiVersion": {"type": ["string", "null"]},
	    "spec": {"description": "the field's own", "type": ["object", "null"], "required": ["port"],
	      "additionalProperties": false,
	      "properties": {
	        "port": {"oneOf": [{"type": ["string", "null"]}, {"type": ["integer", "null"]}]},
	        "cpu": {"oneOf": [{"type": ["string", "null"]}, {"type": ["number", "null"]}]},
	        "schema": {"type": "object", "additionalProperties": false,
	          "properties": {"items": {"$ref": "#/definitions/io.k8s.api.example.v1.Props"}}},
	        "labels": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}}}},
	  "definitions": {
	    "io.k8s.api.example.v1.Props": {"type": ["object", "null"], "additionalProperties": false,
	      "properties": {"items": {"$ref": "#/definitions/io.k8s.api.example.v1.Props"}}}}
	}`), &want); err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("files: %v, want thing-example-v1.json only", len(files))
	}
	if diff := cmp.Diff(want, files["thing-example-v1.json"]); diff != "" {
		t.Errorf("thing-example-v1.json (-want +got):\n%s", diff)
	}
}
