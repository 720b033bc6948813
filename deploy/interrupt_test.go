package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/stagegate-dev/stagegate/deploy"
	"github.com/stagegate-dev/stagegate/deploy/deploytest"
)

// cutter is a loopback TCP proxy in front of the API server that a test can cut and restore:
// to the client, a cut looks exactly like the server stopping (connections reset, then refused).
type cutter struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newCutter(t *testing.T, target string) *cutter {
	t.Helper()
	c := &cutter{target: target, conns: map[net.Conn]bool{}}
	c.listen(t, "127.0.0.1:0")
	t.Cleanup(c.cut)
	return c
}

func (c *cutter) listen(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.ln, c.addr = ln, ln.Addr().String()
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns[in], c.conns[out] = true, true
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
}

// cut closes the listener and every connection through it.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ln.Close()
	for conn := range c.conns {
		conn.Close()
	}
	clear(c.conns)
}

// restore listens again on the same address.
func (c *cutter) restore(t *testing.T) { c.listen(t, c.addr) }

// The API server stops in the middle of an apply: a clear error that says it is transient,
// results that say which objects went through, an inventory that claims nothing that was not
// applied, and the next apply converges.
func TestApplyWhenTheAPIServerStopsMidway(t *testing.T) {
	rc := deploytest.Start(t)
	ns := deploytest.Namespace(t, rc)
	direct, err := deploy.New(rc, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(rc.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutter(t, u.Host)
	via := rest.CopyConfig(rc)
	via.Host = "https://" + proxy.addr
	var requests atomic.Int64
	const cutAfter = 25
	via.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if requests.Add(1) == cutAfter {
				proxy.cut()
			}
			return rt.RoundTrip(r)
		})
	})
	c, err := deploy.New(via, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := deploy.ApplyOptions{Pipeline: "shop", Env: "dev", InventoryNamespace: ns}

	var docs []string
	for i := range 60 {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d, namespace: NS}\ndata: {i: %q}\n", i, fmt.Sprint(i)))
	}
	objs := objects(t, ns, docs...)

	res, err := deploy.Apply(context.Background(), c, objs, opts)
	if err == nil {
		t.Fatal("apply succeeded although the API server went away midway")
	}
	t.Logf("error: %.400s", err)
	if !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "retry") {
		t.Errorf("error %.300q does not say the API server is unreachable and that retrying is the fix", err)
	}
	applied := map[string]bool{}
	for _, o := range res.Objects {
		switch o.Action {
		case deploy.Created:
			applied[o.ID.Name] = true
		case deploy.Failed:
			var u *deploy.UnreachableError
			if !errors.As(o.Err, &u) {
				t.Errorf("%s failed with %v, want an UnreachableError", o.ID, o.Err)
			}
		case deploy.Skipped:
		default:
			t.Errorf("%s: %s, want created, failed or skipped", o.ID, o.Action)
		}
	}
	for name := range applied {
		if _, ok := get(t, direct, "v1", "ConfigMap", ns, name); !ok {
			t.Errorf("%s reported created but is not in the cluster", name)
		}
	}
	inv, err := deploy.Inventory(context.Background(), direct, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range inv {
		if _, ok := get(t, direct, "v1", "ConfigMap", ns, e.Name); !ok {
			t.Errorf("the inventory claims %s, which is not in the cluster", e.Name)
		}
	}
	if rev, _ := deploy.Revision(context.Background(), direct, opts); rev != "" {
		t.Errorf("the inventory names revision %q after a partial apply", rev)
	}

	// The server is back: the next apply converges, and the one after changes nothing.
	proxy.restore(t)
	opts.Revision, opts.Prune = "abc123", true
	res, err = deploy.Apply(context.Background(), c, objs, opts)
	if err != nil {
		t.Fatalf("apply after the server came back: %v", err)
	}
	for _, o := range res.Objects {
		if o.Action == deploy.Deleted || o.Action == deploy.Failed {
			t.Errorf("%s: %s after the server came back", o.ID, o.Action)
		}
	}
	for i := range 60 {
		if _, ok := get(t, direct, "v1", "ConfigMap", ns, fmt.Sprintf("cm-%02d", i)); !ok {
			t.Errorf("cm-%02d missing after the apply that converged", i)
		}
	}
	if rev, _ := deploy.Revision(context.Background(), direct, opts); rev != "abc123" {
		t.Errorf("revision after a complete apply = %q, want abc123", rev)
	}
	res = apply(t, c, objs, opts)
	if n := res.Count(deploy.Unchanged); n != 60 {
		t.Errorf("third apply: %d unchanged of 60", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
