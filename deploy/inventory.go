package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The inventory is a ConfigMap per environment listing, in apply order, the objects the last
// apply left in the cluster. Pruning trusts it (and the labels) rather than listing every kind.
// Beside the list, it records what each object was last sent (see sent).
const (
	inventoryKey = "objects.json"
	sentKey      = "sent.json"
)

// inventory is what the environment's last apply left in the cluster.
type inventory struct {
	entries []Entry
	sent    map[string]sent   // by Entry.key
	data    map[string]string // the ConfigMap's data, to write it only when it changes
	// revision is the AnnotationRevision of the last complete apply, "" after a partial one.
	revision string
	exists   bool
}

// sent is what an apply sent for one object (a digest) and the object's resourceVersion right
// after. While the object keeps that resourceVersion nobody has written it since, so sending the
// same content again would change nothing: Apply reports it unchanged without asking the server.
type sent struct {
	Digest          string `json:"digest"`
	ResourceVersion string `json:"resourceVersion"`
}

// digestOf identifies what an apply under fieldManager sends as body. Bodies are JSON encoded
// from maps, so with their keys sorted.
func digestOf(body []byte, fieldManager string) string {
	h := sha256.New()
	h.Write([]byte(fieldManager + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// InventoryName is the name of the environment's inventory ConfigMap.
func InventoryName(pipeline, env string) string {
	return "stagegate-inventory-" + pipeline + "-" + env
}

// Entry is one object an inventory records, with the version to address it by.
type Entry struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

// key ignores the version: the same object served at another version is the same object.
func (e Entry) key() string {
	group, _, _ := strings.Cut(e.APIVersion, "/")
	if !strings.Contains(e.APIVersion, "/") {
		group = "" // core group: apiVersion "v1"
	}
	return group + "/" + e.Kind + "/" + e.Namespace + "/" + e.Name
}

func (e Entry) unstructured() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(e.APIVersion)
	u.SetKind(e.Kind)
	u.SetNamespace(e.Namespace)
	u.SetName(e.Name)
	return u
}

// keyOf is Entry.key of u's entry.
func keyOf(u *unstructured.Unstructured) string {
	return liveKey(u.GroupVersionKind().GroupKind(), u.GetNamespace(), u.GetName())
}

func entriesOf(objs []*unstructured.Unstructured) []Entry {
	out := make([]Entry, 0, len(objs))
	for _, u := range objs {
		out = append(out, Entry{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()})
	}
	return out
}

// merge is a followed by the entries of b that a lacks.
func merge(a, b []Entry) []Entry {
	seen := make(map[string]bool, len(a))
	out := slices.Clone(a)
	for _, e := range a {
		seen[e.key()] = true
	}
	for _, e := range b {
		if !seen[e.key()] {
			out = append(out, e)
		}
	}
	return out
}

// subtract is the entries of a that b lacks, in a's order.
func subtract(a, b []Entry) []Entry {
	in := make(map[string]bool, len(b))
	for _, e := range b {
		in[e.key()] = true
	}
	var out []Entry
	for _, e := range a {
		if !in[e.key()] {
			out = append(out, e)
		}
	}
	return out
}

// AnnotationRevision on the inventory names the revision (ApplyOptions.Revision) of the last
// apply that succeeded in full; absent after a partial one.
const AnnotationRevision = "stagegate.dev/revision"

// Revision returns what the inventory says the environment's last complete apply was
// (ApplyOptions.Revision): "" before the first, after a partial apply, or when none was named.
// Only opts.Pipeline, Env and InventoryNamespace are read.
func Revision(ctx context.Context, cluster *Cluster, opts ApplyOptions) (string, error) {
	cm, _, err := getInventory(ctx, cluster, opts)
	if cm == nil {
		return "", err
	}
	return cm.GetAnnotations()[AnnotationRevision], nil
}

// Inventory returns what the environment's last apply left in the cluster, in apply order;
// none before the first apply. Only opts.Pipeline, Env and InventoryNamespace are read.
func Inventory(ctx context.Context, cluster *Cluster, opts ApplyOptions) ([]Entry, error) {
	inv, err := readInventory(ctx, cluster, opts)
	return inv.entries, err
}

// readInventory returns what the previous apply left, or nothing when there was none.
func readInventory(ctx context.Context, cluster *Cluster, opts ApplyOptions) (inventory, error) {
	cm, key, err := getInventory(ctx, cluster, opts)
	if cm == nil {
		return inventory{}, err
	}
	inv := inventory{exists: true, revision: cm.GetAnnotations()[AnnotationRevision]}
	inv.data, _, _ = unstructured.NestedStringMap(cm.Object, "data")
	raw := inv.data[inventoryKey]
	if raw == "" {
		return inv, nil
	}
	if err := json.Unmarshal([]byte(raw), &inv.entries); err != nil {
		return inventory{}, fmt.Errorf("read inventory %s: %s is not a JSON list of objects (delete the ConfigMap to start over; nothing will be pruned once): %w", key, inventoryKey, err)
	}
	// What was sent only saves requests: without it (older inventories, or unreadable) every
	// object is sent again.
	if err := json.Unmarshal([]byte(inv.data[sentKey]), &inv.sent); err != nil {
		inv.sent = nil
	}
	return inv, nil
}

// getInventory reads the environment's inventory ConfigMap: nil and no error when there is none.
func getInventory(ctx context.Context, cluster *Cluster, opts ApplyOptions) (*unstructured.Unstructured, client.ObjectKey, error) {
	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	key := client.ObjectKey{Namespace: opts.InventoryNamespace, Name: InventoryName(opts.Pipeline, opts.Env)}
	if err := cluster.client.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, key, nil
		}
		return nil, key, fmt.Errorf("read inventory %s: %w", key, err)
	}
	return cm, key, nil
}

// writeInventory server-side-applies the inventory ConfigMap with entries and, for those among
// them, what was sent: from this apply, else from the previous one. It sends nothing when that
// is what prev holds already.
func writeInventory(ctx context.Context, cluster *Cluster, opts ApplyOptions, entries []Entry, now map[string]sent, prev inventory) error {
	if entries == nil {
		entries = []Entry{}
	}
	raw, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	s := make(map[string]sent, len(entries))
	for _, e := range entries {
		if v, ok := now[e.key()]; ok {
			s[e.key()] = v
		} else if v, ok := prev.sent[e.key()]; ok {
			s[e.key()] = v
		}
	}
	rawSent, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	if prev.exists && prev.revision == opts.Revision && len(prev.data) == 2 && prev.data[inventoryKey] == string(raw) && prev.data[sentKey] == string(rawSent) {
		return nil
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata": map[string]any{
			"name":      InventoryName(opts.Pipeline, opts.Env),
			"namespace": opts.InventoryNamespace,
			"labels":    map[string]any{LabelPipeline: opts.Pipeline, LabelEnv: opts.Env},
			// Always present, so a partial apply clears what the last complete one named.
			"annotations": map[string]any{AnnotationRevision: opts.Revision},
		},
		"data": map[string]any{inventoryKey: string(raw), sentKey: string(rawSent)},
	}}
	body, err := cm.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	if _, _, err := cluster.serverApply(ctx, cm, body, false); err != nil {
		return fmt.Errorf("write inventory %s/%s: %w", opts.InventoryNamespace, cm.GetName(), err)
	}
	return nil
}
