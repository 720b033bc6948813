package gitsourcetest

import (
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
)

// HTTPBackend is git's smart-HTTP CGI program.
const HTTPBackend = "/usr/lib/git-core/git-http-backend"

// NewHTTPServer serves the bare repositories under projectRoot over smart HTTP on 127.0.0.1,
// with git's own git-http-backend, so clients speak the real protocol. The repository
// projectRoot/repo.git is at baseURL + "/repo.git"; pushes are allowed.
//
// With user or pass set, every request must carry them as basic auth, or it gets a 401 with
// WWW-Authenticate, as a forge answers. requests returns every request so far as
// "METHOD /path?query", in order, so a test can assert what was transferred (a fetch is a POST to
// .../git-upload-pack; a probe only a GET of .../info/refs?service=git-upload-pack).
func NewHTTPServer(t testing.TB, projectRoot, user, pass string) (baseURL string, requests func() []string) {
	t.Helper()
	if _, err := os.Stat(HTTPBackend); err != nil {
		t.Skipf("git-http-backend not installed: %v", err)
	}
	var mu sync.Mutex
	var log []string
	backend := &cgi.Handler{
		Path: HTTPBackend,
		Env: []string{
			"GIT_PROJECT_ROOT=" + projectRoot,
			"GIT_HTTP_EXPORT_ALL=1",
			// http.receivepack=true, given as environment config so no repository needs editing.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		},
		// git-http-backend complains on stderr about every missing repository a test asks for
		// on purpose; the HTTP status already tells the client.
		Stderr: io.Discard,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			line += "?" + r.URL.RawQuery
		}
		mu.Lock()
		log = append(log, line)
		mu.Unlock()
		if user != "" || pass != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="stagegate test"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), log...)
	}
}
