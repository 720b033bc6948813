// Package deploytest starts a real kube-apiserver and etcd (controller-runtime's envtest, with the
// binaries hack/kube-assets.sh builds) for tests of packages that talk to a cluster. One control
// plane serves a whole test binary; each test gets its own namespace.
//
//	func TestMain(m *testing.M) { os.Exit(deploytest.Main(m)) }
//
//	func TestApply(t *testing.T) {
//		rc := deploytest.Start(t)
//		ns := deploytest.Namespace(t, rc)
//		...
//	}
//
// StartProxy puts a loopback proxy in front of the API server that a test can cut and restore,
// to see what a client does when the API server goes away and comes back.
//
// Without KUBEBUILDER_ASSETS (export KUBEBUILDER_ASSETS="$(hack/kube-assets.sh)") the tests
// skip, unless STAGEGATE_REQUIRE_KUBE=1, where they fail: the Makefile and CI set it so a missing
// API server can never pass silently.
package deploytest

import (
	"path/filepath"

	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Environment variables this package reads.
const (
	// AssetsEnv names the folder holding kube-apiserver and etcd.
	AssetsEnv = "KUBEBUILDER_ASSETS"
	// RequireEnv set to "1" turns a missing AssetsEnv from a skip into a failure.
	RequireEnv = "STAGEGATE_REQUIRE_KUBE"
)

var (
	once     sync.Once
	env      *envtest.Environment
	config   *rest.Config
	startErr error
)

// Main runs the package's tests and stops the control plane afterwards, if one started.
func Main(m *testing.M) int {
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "deploytest: stop control plane: %v\n", err)
		}
	}
	return code
}

// Start returns a config for the test binary's API server, starting it on first use (about
// 3 s). It skips t (or fails it, with STAGEGATE_REQUIRE_KUBE=1) when KUBEBUILDER_ASSETS is unset.
// Call Main from TestMain so the control plane stops when the tests end.
func Start(t testing.TB) *rest.Config {
	t.Helper()
	if os.Getenv(AssetsEnv) == "" {
		msg := AssetsEnv + ` is unset: no kube-apiserver to test against; run export ` + AssetsEnv + `="$(hack/kube-assets.sh)"`
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal(msg + " (" + RequireEnv + "=1 makes this a failure)")
		}
		t.Skip(msg)
	}
	once.Do(func() {
		e := &envtest.Environment{BinaryAssetsDirectory: os.Getenv(AssetsEnv)}
		// envtest's defaults are not hermetic: the API server looks for a default route for its
		// advertise address, and 1.37 refuses a loopback one unless no endpoint reconciler runs.
		e.ControlPlane.GetAPIServer().Configure().
			Set("advertise-address", "127.0.0.1").
			Set("endpoint-reconciler-type", "none")
		config, startErr = e.Start()
		if startErr == nil {
			env = e
		}
	})
	if startErr != nil {
		t.Fatalf("start kube-apiserver and etcd from %s=%s: %v", AssetsEnv, os.Getenv(AssetsEnv), startErr)
	}
	return rest.CopyConfig(config)
}

// Namespace creates a namespace unique to t ("t-<test name>-<random>") and deletes it when t
// ends. Deletion only marks it terminating: envtest runs no namespace controller.
func Namespace(t testing.TB, rc *rest.Config) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "t-" + dnsLabel(t.Name(), 50) + "-" + hex.EncodeToString(b)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// dnsLabel lowercases s and keeps letters and digits, others becoming "-", at most n long.
func dnsLabel(s string, n int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > n {
		out = out[:n]
	}
	return strings.Trim(out, "-")
}

// Kubeconfig writes a kubeconfig whose current context reaches rc, for code that connects the
// way users do (deploy.Connect, the CLI), and returns its path.
func Kubeconfig(t testing.TB, rc *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData, Token: rc.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
