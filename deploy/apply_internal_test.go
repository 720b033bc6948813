package deploy

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The API server may quote a submitted value in a validation message; for a Secret, objectError
// must not pass it on, whether the value came as stringData or base64 data.
func TestObjectErrorRedactsSecretValues(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata":   map[string]any{"name": "creds", "namespace": "shop"},
		"data":       map[string]any{"token": "czNjcjN0LXRva2Vu"}, // s3cr3t-token
		"stringData": map[string]any{"password": "hunter2"},
	}}
	echo := apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "creds", field.ErrorList{
		field.Invalid(field.NewPath("data", "token"), "s3cr3t-token", "bad"),
		field.Invalid(field.NewPath("stringData", "password"), "hunter2", "bad"),
		field.Invalid(field.NewPath("data", "token"), "czNjcjN0LXRva2Vu", "bad"),
	})
	msg := objectError(secret, echo).Error()
	for _, v := range []string{"s3cr3t-token", "hunter2", "czNjcjN0LXRva2Vu"} {
		if strings.Contains(msg, v) {
			t.Errorf("error shows %q: %s", v, msg)
		}
	}
	if !strings.Contains(msg, "Secret shop/creds") || !strings.Contains(msg, "data.token") {
		t.Errorf("error %q does not name the object and field", msg)
	}

	// Other kinds keep the API server's error to unwrap.
	cm := secret.DeepCopy()
	cm.SetKind("ConfigMap")
	if err := objectError(cm, echo); !apierrors.IsInvalid(errors.Unwrap(err)) {
		t.Errorf("ConfigMap error %v does not wrap the API error", err)
	}
}
