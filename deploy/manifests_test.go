package deploy_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
	"github.com/stagegate-dev/stagegate/gates"
	"github.com/stagegate-dev/stagegate/render"
)

// The install manifests in deploy/manifests: the cluster-wide mode at its root, the namespaced
// mode in namespaced/ (docs/install.md).
var installModes = []struct{ name, dir string }{
	{"cluster-wide", "."},
	{"namespaced", "namespaced"},
}

// agentUser is the agent's ServiceAccount as the API server names it.
const agentUser = "system:serviceaccount:stagegate:stagegate"

func renderInstall(t *testing.T, dir string) render.Objects {
	t.Helper()
	objs, err := render.Build(context.Background(), os.DirFS("manifests"), dir, render.Options{})
	if err != nil {
		t.Fatalf("render deploy/manifests/%s: %v", dir, err)
	}
	return objs
}

// The gates `stagegate gate -f deploy/manifests` runs pass, and the only warning left is the
// token the agent needs to talk to its own cluster: a securityContext loosened, a probe or a
// limit removed would add a finding here.
func TestInstallManifestsPassTheGates(t *testing.T) {
	for _, mode := range installModes {
		t.Run(mode.name, func(t *testing.T) {
			objs := renderInstall(t, mode.dir)
			env := config.Environment{Path: "deploy/manifests/" + mode.dir, Gates: config.Gates{
				Schema:    &config.SchemaGate{},
				APIs:      &config.APIsGate{},
				Security:  &config.SecurityGate{},
				Resources: &config.ResourcesGate{},
			}}
			set, err := gates.For(env)
			if err != nil {
				t.Fatal(err)
			}
			var unwaived []string
			for _, r := range set.Evaluate(gates.Input{Env: env, Objects: objs, Now: time.Now()}) {
				if r.Outcome != gates.Pass {
					t.Errorf("gate %s: %s, want pass: %s", r.Gate, r.Outcome, r.Summary)
				}
				for _, f := range r.Findings {
					if f.Waived != "" {
						continue
					}
					t.Logf("%s %s on %s %s: %s", f.Severity, f.Check, f.Object.Kind, f.Object.Name, f.Message)
					unwaived = append(unwaived, string(f.Severity)+" "+f.Check+" "+f.Object.Kind+"/"+f.Object.Name)
				}
			}
			want := []string{"warning security/automount-service-account-token Deployment/stagegate"}
			if diff := cmp.Diff(want, unwaived); diff != "" {
				t.Errorf("findings not waived (-want +got):\n%s", diff)
			}
		})
	}
}

// The config the ConfigMap mounts is one stagegate loads.
func TestInstallManifestsConfigLoads(t *testing.T) {
	for _, o := range renderInstall(t, ".") {
		if o.Kind() != "ConfigMap" || o.Name() != "stagegate-config" {
			continue
		}
		data, _ := o.Content["data"].(map[string]any)
		cfg, _ := data["stagegate.yaml"].(string)
		if _, err := config.Parse([]byte(cfg), "stagegate.yaml"); err != nil {
			t.Fatalf("ConfigMap stagegate-config: %v", err)
		}
		return
	}
	t.Fatal("no ConfigMap stagegate-config in deploy/manifests")
}

// rule is one RBAC rule with the role that holds it, for messages.
type rule struct {
	role                        string // "ClusterRole stagegate-apply", "Role apps/stagegate-apply"
	apiGroups, resources, verbs []string
}

func rbacRules(objs render.Objects) []rule {
	var out []rule
	for _, o := range objs {
		if o.Kind() != "Role" && o.Kind() != "ClusterRole" {
			continue
		}
		rules, _ := o.Content["rules"].([]any)
		for _, r := range rules {
			m, _ := r.(map[string]any)
			out = append(out, rule{
				role:      strings.TrimSpace(o.Kind() + " " + strings.TrimPrefix(o.Namespace()+"/"+o.Name(), "/")),
				apiGroups: strs(m["apiGroups"]), resources: strs(m["resources"]), verbs: strs(m["verbs"]),
			})
		}
	}
	return out
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// Least privilege, as a reviewer would check it: no wildcards, no Secrets (the kubelet, not the
// agent, reads the token Secret), no RBAC or escalation rights, leases only in the agent's own
// namespace, and in the namespaced mode nothing cluster-wide at all.
func TestInstallManifestsRBACIsLeastPrivilege(t *testing.T) {
	for _, mode := range installModes {
		t.Run(mode.name, func(t *testing.T) {
			objs := renderInstall(t, mode.dir)
			for _, r := range rbacRules(objs) {
				for _, field := range [][]string{r.apiGroups, r.resources, r.verbs} {
					if slices.Contains(field, "*") {
						t.Errorf("%s: a rule grants *: %v %v %v", r.role, r.apiGroups, r.resources, r.verbs)
					}
				}
				if slices.Contains(r.resources, "secrets") {
					t.Errorf("%s grants %v on secrets; the agent reads no Secret", r.role, r.verbs)
				}
				if slices.Contains(r.apiGroups, "rbac.authorization.k8s.io") {
					t.Errorf("%s grants RBAC resources %v", r.role, r.resources)
				}
				for _, v := range []string{"escalate", "bind", "impersonate", "watch", "deletecollection"} {
					if slices.Contains(r.verbs, v) {
						t.Errorf("%s grants %s", r.role, v)
					}
				}
				if slices.Contains(r.resources, "leases") && r.role != "Role stagegate/stagegate-agent" {
					t.Errorf("%s grants leases; only the agent's own namespace holds its lease", r.role)
				}
				if mode.name == "namespaced" && slices.Contains(r.resources, "namespaces") {
					t.Errorf("%s grants namespaces in the namespaced mode", r.role)
				}
			}
			if mode.name != "namespaced" {
				return
			}
			for _, o := range objs {
				if o.Kind() == "ClusterRole" || o.Kind() == "ClusterRoleBinding" {
					t.Errorf("namespaced mode renders %s %s", o.Kind(), o.Name())
				}
			}
		})
	}
}

// The manifests apply cleanly to a real API server, and the ServiceAccount they create can do
// what the agent does (apply, dry-run, prune, write its inventory) where it is meant to, and no
// more: not outside its namespaces in the namespaced mode, and never read a Secret.
func TestInstallManifestsApply(t *testing.T) {
	rc := deploytest.Start(t)
	admin, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx := context.Background()
	for _, ns := range []string{"apps", "elsewhere"} {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, ns := range []string{"apps", "elsewhere", "stagegate"} {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), "stagegate-apply", metav1.DeleteOptions{})
		_ = cs.RbacV1().ClusterRoles().Delete(context.Background(), "stagegate-apply", metav1.DeleteOptions{})
	})
	_, err = cs.CoreV1().Secrets("apps").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": "hunter2"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	as := rest.CopyConfig(rc)
	as.Impersonate = rest.ImpersonationConfig{UserName: agentUser}
	agent, err := deploy.New(as, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	agentCS := kubernetes.NewForConfigOrDie(as)

	// The namespaced mode first: the cluster-wide one's ClusterRoleBinding would grant it all.
	for _, mode := range []struct {
		name, dir      string
		outsideAllowed bool
	}{
		{"namespaced", "namespaced", false},
		{"cluster-wide", ".", true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			res, err := deploy.Apply(ctx, admin, renderInstall(t, mode.dir), deploy.ApplyOptions{
				Pipeline: "install", Env: mode.name, InventoryNamespace: "stagegate",
			})
			if err != nil {
				t.Fatalf("apply deploy/manifests/%s: %v", mode.dir, err)
			}
			for _, o := range res.Objects {
				if o.Action == deploy.Failed || o.Action == deploy.Skipped {
					t.Errorf("%s %s: %s %s", o.ID.Kind, o.ID.Name, o.Action, o.Err)
				}
			}

			// What the agent does to an environment, as the agent.
			app := objects(t, "apps", configMapYAML("web-config"), configMapYAML("web-extra"), deploymentYAML("web"))
			opts := deploy.ApplyOptions{Pipeline: "shop", Env: mode.name, InventoryNamespace: "stagegate", Prune: true}
			if _, err := deploy.Apply(ctx, agent, app, withDryRun(opts)); err != nil {
				t.Errorf("as the agent, dry-run into apps: %v", err)
			}
			if _, err := deploy.Apply(ctx, agent, app, opts); err != nil {
				t.Fatalf("as the agent, apply into apps: %v", err)
			}
			res, err = deploy.Apply(ctx, agent, app[1:], opts)
			if err != nil {
				t.Fatalf("as the agent, prune in apps: %v", err)
			}
			if got := actions(res)["ConfigMap web-config"]; got != deploy.Deleted {
				t.Errorf("as the agent, pruning ConfigMap web-config: %s, want deleted", got)
			}

			_, err = deploy.Apply(ctx, agent, objects(t, "elsewhere", configMapYAML("stray")), deploy.ApplyOptions{
				Pipeline: "shop", Env: mode.name + "-elsewhere", InventoryNamespace: "stagegate",
			})
			if mode.outsideAllowed && err != nil {
				t.Errorf("as the agent, apply into another namespace in the %s mode: %v", mode.name, err)
			}
			if !mode.outsideAllowed && err == nil {
				t.Errorf("as the agent, apply into a namespace without the Role succeeded in the %s mode", mode.name)
			}

			if _, err := agentCS.CoreV1().Secrets("apps").Get(ctx, "db", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("as the agent, read Secret apps/db: %v, want forbidden", err)
			}
			if _, err := agentCS.CoreV1().Secrets("stagegate").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
				t.Errorf("as the agent, list Secrets in stagegate: %v, want forbidden", err)
			}
		})
	}
}

func withDryRun(o deploy.ApplyOptions) deploy.ApplyOptions {
	o.DryRun = true
	return o
}

func configMapYAML(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: NS}\ndata: {k: v}\n"
}

func deploymentYAML(name string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ` + name + `, namespace: NS}
spec:
  selector: {matchLabels: {app: ` + name + `}}
  template:
    metadata: {labels: {app: ` + name + `}}
    spec:
      containers: [{name: app, image: "registry.example.com/web:1.0"}]
`
}
