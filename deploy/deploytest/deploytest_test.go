package deploytest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/stagegate-dev/stagegate/deploy/deploytest"
)

func TestMain(m *testing.M) { os.Exit(deploytest.Main(m)) }

// TestStartWithoutAssets runs itself in a child process with KUBEBUILDER_ASSETS unset: the test
// skips, unless STAGEGATE_REQUIRE_KUBE=1, where it fails.
func TestStartWithoutAssets(t *testing.T) {
	if os.Getenv("DEPLOYTEST_CHILD") == "1" {
		deploytest.Start(t)
		return
	}
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStartWithoutAssets$", "-test.v")
		cmd.Env = append(os.Environ(), "DEPLOYTEST_CHILD=1", "KUBEBUILDER_ASSETS=", "STAGEGATE_REQUIRE_KUBE="+require)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, "hack/kube-assets.sh") {
		t.Errorf("without KUBEBUILDER_ASSETS: err %v, output:\n%s\nwant a skip that says how to get the binaries", err, out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "STAGEGATE_REQUIRE_KUBE=1") {
		t.Errorf("with STAGEGATE_REQUIRE_KUBE=1: err %v, output:\n%s\nwant a failure", err, out)
	}
}

func TestStartSharesOneAPIServerAndNamespacesDiffer(t *testing.T) {
	a, b := deploytest.Start(t), deploytest.Start(t)
	if a.Host != b.Host {
		t.Errorf("two API servers: %s and %s", a.Host, b.Host)
	}
	if n1, n2 := deploytest.Namespace(t, a), deploytest.Namespace(t, a); n1 == n2 {
		t.Errorf("Namespace returned %s twice", n1)
	}
}

func TestProxyCutRefusesAndRestoreServesAgain(t *testing.T) {
	rc, proxy := deploytest.StartProxy(t, deploytest.Start(t))
	rc.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	version := func() error { _, err := cs.Discovery().ServerVersion(); return err }
	if err := version(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	proxy.Cut()
	if err := version(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("while cut: %v, want connection refused", err)
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := version(); err != nil {
		t.Errorf("after restore: %v", err)
	}
}
