package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagegate-dev/stagegate/gitsource/githubtest"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// githubConfig writes a config for a dev → staging pipeline on the emulator.
func githubConfig(t *testing.T, gh *githubtest.Server) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "stagegate.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`apiVersion: stagegate.dev/v1alpha1
kind: Pipeline
metadata: {name: shop}
spec:
  repo: {url: %q, tokenEnv: STAGEGATE_TEST_TOKEN}
  forge: {type: github, baseURL: %q}
  environments:
    - {name: dev, branch: env/dev, path: app}
    - {name: staging, branch: env/staging, path: app, promote: {auto: true}, gates: {schema: {}}}
`, gh.GitURL(), gh.URL())), 0o644)
	return cfg
}

func emulator(t *testing.T) *githubtest.Server {
	gh := githubtest.New(t, githubtest.Options{Owner: "acme", Repo: "shop", Branches: map[string]map[string]string{"env/dev": {
		"app/kustomization.yaml": "resources: [cm.yaml]\n",
		"app/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop}\ndata: {color: blue}\n",
	}}})
	gitsourcetest.Branch(t, gh.Repo(), "env/staging", "env/dev")
	t.Setenv("STAGEGATE_TEST_TOKEN", githubtest.DefaultToken)
	return gh
}

func TestRunOncePromotes(t *testing.T) {
	gh := emulator(t)
	gitsourcetest.Commit(t, gh.Repo(), "env/dev", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop}\ndata: {color: green}\n"}, "green")
	code, _, errs := stagegate(t, "run", "--once", "--config", githubConfig(t, gh), "--cache-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("run --once: exit %d, stderr %q", code, errs)
	}
	if gh.PRs() != 1 || !gh.PR(1).Merged {
		t.Fatalf("run --once: %d requests; want one, merged (staging promotes automatically)", gh.PRs())
	}
}

func TestRunTakesSignedWebhooksAndStopsOnSignal(t *testing.T) {
	gh := emulator(t)
	cfg := githubConfig(t, gh)
	os.WriteFile(cfg, bytes.Replace(must(os.ReadFile(cfg)), []byte("environments:"), []byte("interval: 1h\n  environments:"), 1), 0o644)
	t.Setenv("STAGEGATE_WEBHOOK_SECRET", "s3cret")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"run", "--config", cfg, "--cache-dir", t.TempDir(), "--listen", addr}, &bytes.Buffer{}, &stderr)
	}()
	waitFor(t, func() bool {
		r, err := http.Get("http://" + addr + "/healthz")
		return err == nil && r.StatusCode == 200
	})
	// The start-up cycle lists staging's requests last (there is nothing to promote): once the
	// emulator has seen that, the cycle is over, and the push below is news to the agent.
	waitFor(t, func() bool { return len(gh.Requests()) > 0 })
	time.Sleep(100 * time.Millisecond)

	// The start-up cycle found nothing to promote; a push arrives with a webhook.
	sha := gitsourcetest.Commit(t, gh.Repo(), "env/dev", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop}\ndata: {color: red}\n"}, "red")
	body := []byte(`{"ref":"refs/heads/env/dev","after":"` + sha + `","repository":{"full_name":"acme/shop"}}`)
	if code := deliver(t, addr, body, "wrong secret"); code != http.StatusUnauthorized {
		t.Errorf("a delivery signed with the wrong secret got %d, want 401", code)
	}
	time.Sleep(200 * time.Millisecond)
	if gh.PRs() != 0 {
		t.Fatal("an unverified delivery started a cycle")
	}
	if code := deliver(t, addr, body, "s3cret"); code != http.StatusAccepted {
		t.Fatalf("a signed delivery got %d, want 202", code)
	}
	waitFor(t, func() bool { return gh.PRs() == 1 && gh.PR(1).Merged })

	// The statuses' links lead to the gate report.
	resp, err := http.Get("http://" + addr + "/pipelines/shop/staging")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "schema") {
		t.Errorf("GET /pipelines/shop/staging: %d\n%s", resp.StatusCode, page)
	}

	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "go_goroutines") {
		t.Errorf("GET /metrics: %d\n%.300s", resp.StatusCode, page)
	}

	// Warm after its cycles: ready, and the status verb reads the agent's matrix.
	waitFor(t, func() bool {
		r, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	if code, out, errs := stagegate(t, "status", "--url", "http://"+addr); code != 0 || !strings.Contains(out, "agent: ready") || !strings.Contains(out, "shop      staging") {
		t.Errorf("stagegate status: exit %d\n%s%s", code, out, errs)
	}
	for _, path := range []string{"/", "/api/v1/status"} {
		r, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("GET %s: %s", path, r.Status)
		}
	}

	cancel() // SIGTERM
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d after the signal, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after the signal")
	}
}

func deliver(t *testing.T, addr string, body []byte, secret string) int {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest("POST", "http://"+addr+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for start := time.Now(); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatal("timed out")
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
