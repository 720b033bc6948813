package deploy_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
)

func TestConnectUsesTheKubeconfigAndContext(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	kc, err := clientcmd.LoadFromFile(deploytest.Kubeconfig(t, rc))
	if err != nil {
		t.Fatal(err)
	}
	kc.Contexts["dev"] = kc.Contexts["test"]
	kc.Contexts["other"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: "test"}
	kc.CurrentContext = "other"
	home := t.TempDir()
	t.Setenv("HOME", home)
	path := filepath.Join(home, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}

	// "~/" as in the config reference's example.
	c, err := deploy.Connect(context.Background(), config.Cluster{Kubeconfig: "~/kubeconfig", Context: "dev"}, deploy.Options{QPS: 5, Burst: 10})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if c.FieldManager() != "stagegate" {
		t.Errorf("field manager %q, want the default stagegate", c.FieldManager())
	}
	res, err := deploy.Apply(context.Background(), c, objects(t, ns, configMap), deploy.ApplyOptions{Pipeline: "shop", Env: "dev", InventoryNamespace: ns})
	if err != nil || res.Count(deploy.Created) != 1 {
		t.Fatalf("apply through the kubeconfig: %v, %v", res, err)
	}
	cm, _ := get(t, c, "v1", "ConfigMap", ns, "settings")
	if m := cm.GetManagedFields(); len(m) == 0 || m[0].Manager != "stagegate" {
		t.Errorf("managed fields %v, want manager stagegate", m)
	}

	_, err = deploy.Connect(context.Background(), config.Cluster{Kubeconfig: path, Context: "missing"}, deploy.Options{})
	if err == nil || !strings.Contains(err.Error(), `context "missing"`) {
		t.Errorf("Connect with an unknown context: %v, want an error naming it", err)
	}
}
