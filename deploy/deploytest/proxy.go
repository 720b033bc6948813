package deploytest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
)

// Proxy is a loopback TCP proxy in front of the API server that a test can cut and restore.
// While cut, a client sees what it sees when the API server stops: its connections reset, new
// ones refused. Restore listens again on the same address, as a restarted API server would.
//
// A proxy rather than stopping the shared kube-apiserver: that one serves every test of the
// binary, and envtest gives a restarted server new ports and certificates, which a client
// configured before the stop would not reach. What the client meets is the same.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
}

// StartProxy starts a proxy to rc's API server and returns a copy of rc that goes through it.
// The proxy stops when t ends.
func StartProxy(t testing.TB, rc *rest.Config) (*rest.Config, *Proxy) {
	t.Helper()
	u, err := url.Parse(rc.Host)
	if err != nil {
		t.Fatalf("API server address %q: %v", rc.Host, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{target: u.Host, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.Cut)
	out := rest.CopyConfig(rc)
	u.Host = p.addr // the certificate names 127.0.0.1, whatever the port
	out.Host = u.String()
	return out, p
}

// Cut closes the listener and every open connection; it is a no-op when already cut.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Restore listens again on the proxy's address.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serveLocked(ln)
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveLocked(ln)
}

func (p *Proxy) serveLocked(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return // cut
			}
			go p.pipe(in)
		}
	}()
}

// pipe copies between in and a new connection to the API server until either side closes.
func (p *Proxy) pipe(in net.Conn) {
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = in.Close()
		return
	}
	if !p.track(in, out) {
		return
	}
	var wg sync.WaitGroup
	for _, pair := range [][2]net.Conn{{out, in}, {in, out}} {
		wg.Go(func() {
			_, _ = io.Copy(pair[0], pair[1]) // ends when either side closes, or Cut closes both
			_ = pair[0].Close()
			_ = pair[1].Close()
		})
	}
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}

// track records in and out so Cut closes them, or closes them now if the proxy was cut meanwhile.
func (p *Proxy) track(in, out net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		_ = in.Close()
		_ = out.Close()
		return false
	}
	p.conns[in], p.conns[out] = struct{}{}, struct{}{}
	return true
}
