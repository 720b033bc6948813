package githubtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

// Defaults for an empty Options.
const (
	DefaultOwner = "acme"
	DefaultRepo  = "deploy"
	// DefaultToken authenticates as DefaultLogin when Options.Users is empty.
	DefaultToken = "ghp_stagegatetesttoken"
	DefaultLogin = "stagegate-bot"
	// DefaultRateLimit is GitHub's primary limit for a user token: 5,000 requests an hour.
	DefaultRateLimit = 5000
	// GitUser is the basic-auth user of the smart-HTTP server, as GitHub takes it for a token.
	GitUser = "x-access-token"
)

// Options shape a Server. Every field has a default, so Options{} works.
type Options struct {
	// Owner and Repo name the one repository served (default acme/deploy); any other
	// repository is 404.
	Owner, Repo string
	// Branches seeds the bare repository: branch → path → content, one root commit per branch
	// (gitsourcetest.NewRepo). Default: main with a README.md.
	Branches map[string]map[string]string
	// Users maps tokens to logins (default DefaultToken → DefaultLogin). A request without a
	// known token is 401. The first token in sorted order is also the Git password.
	Users map[string]string
	// RateLimit is each login's primary request budget per RateWindow (default 5,000).
	RateLimit int
	// RateWindow is how long a budget lasts before it refills (default one hour).
	RateWindow time.Duration
}

// Server is a GitHub REST API emulator for one repository, backed by a real bare Git repository
// served over smart HTTP.
type Server struct {
	t       testing.TB
	opts    Options
	srv     *httptest.Server
	mux     *http.ServeMux
	repo    string
	gitURL  string
	gitPass string

	mu        sync.Mutex
	nextID    int64
	userIDs   map[string]int64
	issues    []*issue // issues[n-1] is number n: pull requests are issues, numbered with them
	pulls     []*pull  // in the order opened
	labels    map[string]*label
	statuses  map[string][]*status   // sha → oldest first
	checkRuns map[string][]*checkRun // sha → oldest first
	teams     map[string][]string    // "org/slug" → logins
	logins    map[string]string      // commit email (lower case) → login, see SetLogin
	buckets   map[string]*bucket     // login → primary rate limit
	faults    []fault
	secondary secondaryLimit
	log       []Logged

	// login and prefix ("" or "/api/v3") of the request being served; serve holds mu.
	login, prefix string
	repoCache     map[bool]map[string]any
	serving       bool      // a request is being served: refs may be kept for its length
	refCache      *refState // see refs
	pairs         map[string]pairFacts
}

// New starts an emulator and its Git server on 127.0.0.1; both stop when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Owner == "" {
		opts.Owner = DefaultOwner
	}
	if opts.Repo == "" {
		opts.Repo = DefaultRepo
	}
	if opts.Branches == nil {
		opts.Branches = map[string]map[string]string{"main": {"README.md": "# deploy\n"}}
	}
	if len(opts.Users) == 0 {
		opts.Users = map[string]string{DefaultToken: DefaultLogin}
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.RateWindow == 0 {
		opts.RateWindow = time.Hour
	}
	s := &Server{
		t:         t,
		opts:      opts,
		userIDs:   map[string]int64{},
		labels:    map[string]*label{},
		statuses:  map[string][]*status{},
		checkRuns: map[string][]*checkRun{},
		teams:     map[string][]string{},
		logins:    map[string]string{},
		buckets:   map[string]*bucket{},
		pairs:     map[string]pairFacts{},
	}
	tokens := make([]string, 0, len(opts.Users))
	for tok := range opts.Users {
		tokens = append(tokens, tok)
	}
	sort.Strings(tokens)
	for _, tok := range tokens {
		s.userID(opts.Users[tok])
	}
	s.gitPass = tokens[0]
	// Served as GitHub serves it, at /<owner>/<repo>.git, so clients read owner and name from
	// the clone URL as they do on GitHub.
	root := t.TempDir()
	s.repo = filepath.Join(root, opts.Owner, opts.Repo+".git")
	if err := os.MkdirAll(filepath.Dir(s.repo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(gitsourcetest.NewRepo(t, opts.Branches), s.repo); err != nil {
		t.Fatal(err)
	}
	base, _ := gitsourcetest.NewHTTPServer(t, root, GitUser, s.gitPass)
	s.gitURL = base + "/" + opts.Owner + "/" + opts.Repo + ".git"

	s.mux = http.NewServeMux()
	s.routes()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *Server) routes() {
	repo := "/repos/{owner}/{repo}"
	for pattern, h := range map[string]http.HandlerFunc{
		"GET " + repo + "/pulls":                                  s.listPulls,
		"POST " + repo + "/pulls":                                 s.createPull,
		"GET " + repo + "/pulls/{number}":                         s.getPull,
		"PATCH " + repo + "/pulls/{number}":                       s.updatePull,
		"GET " + repo + "/pulls/{number}/merge":                   s.checkMerged,
		"PUT " + repo + "/pulls/{number}/merge":                   s.mergePull,
		"GET " + repo + "/pulls/{number}/reviews":                 s.listReviews,
		"PUT " + repo + "/pulls/{number}/reviews/{id}/dismissals": s.dismissReview,
		"POST " + repo + "/statuses/{sha}":                        s.createStatus,
		// {ref} may hold slashes (heads/main, env/prod), so the verb is read from its end.
		"GET " + repo + "/commits/{rest...}":         s.commitsRef,
		"GET " + repo + "/issues":                    s.listIssues,
		"POST " + repo + "/issues":                   s.createIssue,
		"GET " + repo + "/issues/{number}":           s.getIssue,
		"PATCH " + repo + "/issues/{number}":         s.updateIssue,
		"GET " + repo + "/issues/{number}/comments":  s.listComments,
		"POST " + repo + "/issues/{number}/comments": s.createComment,
		"GET " + repo + "/issues/{number}/labels":    s.listLabels,
		"POST " + repo + "/issues/{number}/labels":   s.postLabels,
		"GET " + repo + "/git/ref/{ref...}":          s.getRef,
		"GET " + repo + "/branches/{branch...}":      s.getBranch,
		"GET /orgs/{org}/teams/{slug}/members":       s.listTeamMembers,
		"GET /rate_limit":                            s.rateLimit,
	} {
		if strings.HasPrefix(pattern[strings.Index(pattern, " ")+1:], repo) {
			h = s.inRepo(h)
		}
		s.mux.Handle(pattern, h)
	}
}

// URL is the API base URL, with a trailing slash, for go-github's BaseURL. The same API is
// also served under /api/v3/, so WithEnterpriseURLs(URL(), URL()) works too.
func (s *Server) URL() string { return s.srv.URL + "/" }

// GitURL is the repository's smart-HTTP clone URL; authenticate with GitUser and GitPassword.
func (s *Server) GitURL() string { return s.gitURL }

// GitPassword is the Git server's basic-auth password: the first of Options.Users' tokens.
func (s *Server) GitPassword() string { return s.gitPass }

// Repo is the bare repository's path, for gitsourcetest.Commit and friends.
func (s *Server) Repo() string { return s.repo }

// Owner is the owner of the repository served (Options.Owner).
func (s *Server) Owner() string { return s.opts.Owner }

// Name is the name of the repository served (Options.Repo).
func (s *Server) Name() string { return s.opts.Repo }

// serve runs one request through what GitHub does around every endpoint: faults, auth,
// secondary and primary rate limits, the handler, ETags and conditional requests, the log.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path, prefix := r.URL.Path, ""
	if p, ok := strings.CutPrefix(path, "/api/v3"); ok && strings.HasPrefix(p, "/") {
		path, prefix = p, "/api/v3"
		r.URL.Path = p
		r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, "/api/v3")
	}
	entry := Logged{Method: r.Method, Path: path, Query: r.URL.RawQuery, Conditional: r.Header.Get("If-None-Match") != ""}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.serving, s.refCache = true, nil
	defer func() {
		s.serving, s.refCache = false, nil
		entry.Status = rec.status
		s.log = append(s.log, entry)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	}()

	rec.header.Set("X-GitHub-Request-Id", fmt.Sprintf("EMU:%d", len(s.log)+1))
	// ETags depend on who asks and how, as GitHub says with Vary.
	rec.header.Set("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
	if f := s.takeFault(r.Method+" "+path, false); f != 0 {
		writeError(rec, f, "Server Error", "")
		return
	}
	login, ok := s.authenticate(r)
	entry.Login = login
	b := s.bucket(login)
	if !ok {
		b.setHeaders(rec.header)
		msg := "Requires authentication"
		if r.Header.Get("Authorization") != "" {
			msg = "Bad credentials"
		}
		writeError(rec, http.StatusUnauthorized, msg, "https://docs.github.com/rest")
		return
	}
	if s.secondary.remaining > 0 {
		s.secondary.remaining--
		b.setHeaders(rec.header)
		rec.header.Set("Retry-After", strconv.Itoa(int(s.secondary.retryAfter/time.Second)))
		writeError(rec, s.secondary.status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
		return
	}
	free := path == "/rate_limit" // GitHub does not count it
	if b.remaining() == 0 && !free {
		b.setHeaders(rec.header)
		writeError(rec, http.StatusForbidden,
			fmt.Sprintf("API rate limit exceeded for user ID %d. If you reach out to GitHub Support for help, please include the request ID.", s.userID(login)),
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits")
		return
	}

	// Handler only finds the pattern; ServeHTTP sets the path values the handlers read.
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(rec, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	} else {
		s.login, s.prefix, s.repoCache = login, prefix, map[bool]map[string]any{}
		s.mux.ServeHTTP(rec, r)
	}
	if f := s.takeFault(r.Method+" "+path, true); f != 0 {
		rec.body.Reset()
		rec.header.Del("Location")
		rec.header.Del("Link")
		writeError(rec, f, "Server Error", "")
		b.used++ // the request did its work
		b.setHeaders(rec.header)
		return
	}

	if r.Method == http.MethodGet && rec.status == http.StatusOK {
		// Keyed by who asks too: GitHub's ETags vary by Authorization.
		sum := sha256.Sum256(append([]byte(login+"\x00"), rec.body.Bytes()...))
		etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
		rec.header.Set("ETag", etag)
		if matchETag(r.Header.Get("If-None-Match"), etag) {
			rec.status = http.StatusNotModified
			rec.body.Reset()
			rec.header.Del("Content-Type")
			rec.header.Del("Link")
		}
	}
	// A 304 is not counted against the primary limit, as on GitHub.
	if rec.status != http.StatusNotModified && !free {
		b.used++
	}
	b.setHeaders(rec.header)
}

// matchETag reports whether an If-None-Match header names etag; weak and strong forms of the
// same tag match, as GitHub compares them.
func matchETag(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// authenticate reads "token X" or "Bearer X".
func (s *Server) authenticate(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "token", "bearer":
		if login, ok := s.opts.Users[strings.TrimSpace(tok)]; ok {
			return login, true
		}
	}
	return "", false
}

// inRepo refuses (404) any repository but the one served.
func (s *Server) inRepo(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.PathValue("owner"), s.opts.Owner) || !strings.EqualFold(r.PathValue("repo"), s.opts.Repo) {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
			return
		}
		h(w, r)
	}
}

// recorder buffers a response so serve can add ETags and turn it into a 304.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// Logged is one request the emulator answered.
type Logged struct {
	Method string
	Path   string // without the /api/v3 prefix
	Query  string
	Status int
	// Conditional: the request carried If-None-Match.
	Conditional bool
	Login       string // "" when not authenticated
}

func (l Logged) String() string {
	q := ""
	if l.Query != "" {
		q = "?" + l.Query
	}
	return fmt.Sprintf("%s %s%s → %d", l.Method, l.Path, q, l.Status)
}

// Requests returns every request answered since New or ResetLog, in order.
func (s *Server) Requests() []Logged {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Logged(nil), s.log...)
}

// ResetLog forgets the requests logged so far.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// now is GitHub's clock, in UTC. It keeps sub-second precision so that what happened later
// sorts later; timestamps show whole seconds, as GitHub's do.
func now() time.Time { return time.Now().UTC() }

func timestamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// userID gives each login a stable id, in order of first sight.
func (s *Server) userID(login string) int64 {
	if id, ok := s.userIDs[login]; ok {
		return id
	}
	id := int64(len(s.userIDs) + 1)
	s.userIDs[login] = id
	return id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // the emulator's own values always marshal
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes GitHub's basic error body.
func writeError(w http.ResponseWriter, status int, message, docs string) {
	body := map[string]any{"message": message, "status": strconv.Itoa(status)}
	if docs != "" {
		body["documentation_url"] = docs
	}
	writeJSON(w, status, body)
}

// MaxBodyLength is the most characters GitHub takes in a pull request's or comment's body.
const MaxBodyLength = 65536

// tooLong reports whether a body is over GitHub's limit, counted in characters.
func tooLong(body *string) bool { return body != nil && utf8.RuneCountInString(*body) > MaxBodyLength }

// fieldError is one entry of a 422's errors.
type fieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

// writeValidation writes GitHub's 422 "Validation Failed" body.
func writeValidation(w http.ResponseWriter, docs string, errs ...fieldError) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            errs,
		"documentation_url": docs,
		"status":            "422",
	})
}

// decode reads a JSON request body into v; on failure it writes GitHub's 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest")
		return false
	}
	return true
}

// pathInt reads an integer path value; a non-number is 404, as GitHub routes it nowhere.
func pathInt(w http.ResponseWriter, r *http.Request, name string) (int, bool) {
	n, err := strconv.Atoi(r.PathValue(name))
	if err != nil || n <= 0 {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return 0, false
	}
	return n, true
}

// paginate serves page and per_page of items (GitHub: per_page default 30, at most 100) and
// sets the Link header.
func paginate[T any](w http.ResponseWriter, r *http.Request, prefix string, items []T) []T {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(p int, rel string) string {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf(`<http://%s%s%s>; rel="%s"`, r.Host, prefix, u.RequestURI(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*per, len(items))
	end := min(start+per, len(items))
	return items[start:end]
}

// api is the API base URL of the request being served (with /api/v3 when it came that way).
func (s *Server) api() string { return s.srv.URL + s.prefix }

// html is the repository's web page, as GitHub's html_url fields point at it.
func (s *Server) html() string { return s.srv.URL + "/" + s.opts.Owner + "/" + s.opts.Repo }

func (s *Server) repoPath() string { return "/repos/" + s.opts.Owner + "/" + s.opts.Repo }

// nodeID is an opaque GraphQL id, stable for the same kind and key.
func nodeID(kind, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + key))
}

// repoJSON is GitHub's repository object; minimal drops what minimal-repository does not have.
// It is built once per request: pull request lists hold it twice per item.
func (s *Server) repoJSON(minimal bool) map[string]any {
	if m := s.repoCache[minimal]; m != nil {
		return m
	}
	m := s.buildRepoJSON(minimal)
	s.repoCache[minimal] = m
	return m
}

func (s *Server) buildRepoJSON(minimal bool) map[string]any {
	api := s.api() + s.repoPath()
	m := map[string]any{
		"id":          1,
		"node_id":     nodeID("Repository", s.opts.Owner+"/"+s.opts.Repo),
		"name":        s.opts.Repo,
		"full_name":   s.opts.Owner + "/" + s.opts.Repo,
		"owner":       s.userJSON(s.opts.Owner),
		"private":     true,
		"html_url":    s.html(),
		"description": nil,
		"fork":        false,
		"url":         api,
	}
	for _, name := range []string{"contributors", "deployments", "downloads", "events", "forks", "hooks", "languages", "merges", "stargazers", "subscribers", "subscription", "tags", "teams"} {
		m[name+"_url"] = api + "/" + name
	}
	for name, tmpl := range map[string]string{
		"archive": "/{archive_format}{/ref}", "assignees": "/assignees{/user}", "blobs": "/git/blobs{/sha}",
		"branches": "/branches{/branch}", "collaborators": "/collaborators{/collaborator}", "comments": "/comments{/number}",
		"commits": "/commits{/sha}", "compare": "/compare/{base}...{head}", "contents": "/contents/{+path}",
		"git_commits": "/git/commits{/sha}", "git_refs": "/git/refs{/sha}", "git_tags": "/git/tags{/sha}",
		"issue_comment": "/issues/comments{/number}", "issue_events": "/issues/events{/number}", "issues": "/issues{/number}",
		"keys": "/keys{/key_id}", "labels": "/labels{/name}", "milestones": "/milestones{/number}",
		"notifications": "/notifications{?since,all,participating}", "pulls": "/pulls{/number}", "releases": "/releases{/id}",
		"statuses": "/statuses/{sha}", "trees": "/git/trees{/sha}",
	} {
		m[name+"_url"] = api + tmpl
	}
	if minimal {
		return m
	}
	// HEAD of a bare repository is a one-line file; reading it spares a git call per request.
	head, _ := os.ReadFile(filepath.Join(s.repo, "HEAD"))
	def := strings.TrimPrefix(strings.TrimSpace(string(head)), "ref: refs/heads/")
	m["clone_url"] = s.gitURL
	m["git_url"] = strings.Replace(s.gitURL, "http://", "git://", 1)
	m["ssh_url"] = "git@127.0.0.1:" + s.opts.Owner + "/" + s.opts.Repo + ".git"
	m["svn_url"] = s.html()
	m["mirror_url"] = nil
	m["homepage"] = nil
	m["language"] = nil
	m["license"] = nil
	m["default_branch"] = def
	for _, name := range []string{"forks", "forks_count", "open_issues", "open_issues_count", "size", "stargazers_count", "watchers", "watchers_count"} {
		m[name] = 0
	}
	for name, v := range map[string]bool{"has_downloads": true, "has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false, "archived": false, "disabled": false} {
		m[name] = v
	}
	// The newest commit date of any branch stands for the last push, so the object (and
	// every ETag that covers it) changes only when the repository does.
	m["pushed_at"] = timestamp(s.refs().pushed)
	m["created_at"] = timestamp(gitsourcetest.Epoch)
	m["updated_at"] = timestamp(gitsourcetest.Epoch)
	return m
}
