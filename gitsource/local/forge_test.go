package local_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
	"github.com/stagegate-dev/stagegate/gitsource/local"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixture is a repository served over smart HTTP with env/prod and a promotion branch on it.
type fixture struct {
	t         *testing.T
	repo, url string
	base      string // env/prod's head
	promotion string // stagegate/promote/prod's head, a child of base
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/prod": {"app.yaml": "color: blue\n"}})
	base := gitsourcetest.Head(t, repo, "env/prod")
	gitsourcetest.Branch(t, repo, "stagegate/promote/prod", "env/prod")
	promotion := gitsourcetest.Commit(t, repo, "stagegate/promote/prod", map[string]string{"app.yaml": "color: green\n"}, "Promote abc to prod")
	root := filepath.Dir(repo)
	url, _ := gitsourcetest.NewHTTPServer(t, root, "", "")
	return &fixture{t: t, repo: repo, url: url + "/repo.git", base: base, promotion: promotion}
}

// forge opens a mirror of its own (another agent, or a person's CLI) and a forge on it.
func (fx *fixture) forge(actor string) *local.Forge {
	fx.t.Helper()
	m, err := gitsource.Open(context.Background(), config.Repo{URL: fx.url}, gitsource.Options{CacheDir: fx.t.TempDir(), Log: quiet})
	if err != nil {
		fx.t.Fatal(err)
	}
	return local.New(m, local.Options{Actor: actor, Log: quiet})
}

func (fx *fixture) git(args ...string) string {
	return strings.TrimSpace(gitsourcetest.Git(fx.t, fx.repo, args...))
}

// records counts the commits on the forge's ref: one per change.
func (fx *fixture) records() int {
	var n int
	fmt.Sscan(fx.git("rev-list", "--count", local.Ref), &n)
	return n
}

func (fx *fixture) open(f *local.Forge) gitsource.Request {
	fx.t.Helper()
	r, err := f.OpenRequest(context.Background(), gitsource.NewRequest{Head: "stagegate/promote/prod", Base: "env/prod", Title: "Promote abc to prod", Body: "body", Labels: []string{"stagegate"}})
	if err != nil {
		fx.t.Fatal(err)
	}
	return r
}

func TestARequestIsRecordedInTheRepository(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	agent, alice := fx.forge("stagegate"), fx.forge("alice")
	r := fx.open(agent)
	if r.Number != 1 || r.HeadSHA != fx.promotion || r.State != gitsource.RequestOpen || r.Author != "stagegate" {
		t.Fatalf("opened %+v; want #1, open, at the promotion commit, by stagegate", r)
	}
	var exists *gitsource.RequestExistsError
	if _, err := alice.OpenRequest(ctx, gitsource.NewRequest{Head: "stagegate/promote/prod", Base: "env/prod", Title: "again"}); !errors.As(err, &exists) {
		t.Fatalf("a second open request for the same branches: %v; want RequestExistsError", err)
	}
	if err := agent.EditRequest(ctx, 1, "Promote def to prod", "new body"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Review(ctx, 1, gitsource.Approved, "lgtm"); err != nil {
		t.Fatal(err)
	}
	if err := agent.SetStatus(ctx, fx.promotion, gitsource.Status{Context: "stagegate", State: gitsource.StatusSuccess, Description: "all pass"}); err != nil {
		t.Fatal(err)
	}

	// Another mirror reads what was written.
	got, err := fx.forge("bob").Request(ctx, 1)
	if err != nil || got.Title != "Promote def to prod" || got.Body != "new body" || got.Labels[0] != "stagegate" {
		t.Fatalf("request #1 read back = %+v, %v", got, err)
	}
	reviews, _ := agent.Reviews(ctx, 1)
	if len(reviews) != 1 || reviews[0].User != "alice" || reviews[0].State != gitsource.Approved || reviews[0].CommitSHA != fx.promotion {
		t.Errorf("reviews = %+v; want alice's approval of the promotion commit", reviews)
	}
	st, _ := agent.Statuses(ctx, fx.promotion)
	if len(st) != 1 || st[0].State != gitsource.StatusSuccess || st[0].Kind != gitsource.CommitStatus {
		t.Errorf("statuses = %+v", st)
	}

	// Nothing that changes nothing writes a record.
	before := fx.records()
	agent.SetStatus(ctx, fx.promotion, gitsource.Status{Context: "stagegate", State: gitsource.StatusSuccess, Description: "all pass"})
	agent.EditRequest(ctx, 1, "Promote def to prod", "new body")
	agent.AddLabels(ctx, 1, "stagegate")
	if after := fx.records(); after != before {
		t.Errorf("unchanged writes made %d record commits", after-before)
	}
	if log := fx.git("log", "--format=%an: %s", local.Ref); !strings.Contains(log, "alice: review #1: APPROVED by alice") {
		t.Errorf("the ref's history does not record alice's approval:\n%s", log)
	}

	// A new head: the request follows the branch; the old approval names the old commit.
	moved := gitsourcetest.Commit(t, fx.repo, "stagegate/promote/prod", map[string]string{"app.yaml": "color: red\n"}, "moved")
	open, _ := agent.Requests(ctx, "stagegate/promote/prod", "env/prod", gitsource.RequestOpen)
	if len(open) != 1 || open[0].HeadSHA != moved {
		t.Errorf("open requests = %+v; want #1 at %s", open, moved)
	}
	if err := agent.CloseRequest(ctx, 1, "superseded"); err != nil {
		t.Fatal(err)
	}
	if open, _ := agent.Requests(ctx, "stagegate/promote/prod", "env/prod", gitsource.RequestOpen); len(open) != 0 {
		t.Errorf("a closed request is still listed as open")
	}
	comments, _ := agent.Comments(ctx, 1)
	if len(comments) != 1 || comments[0].Body != "superseded" {
		t.Errorf("comments = %+v", comments)
	}
	var notOpen *local.NotOpenError
	if _, err := alice.Review(ctx, 1, gitsource.Approved, ""); !errors.As(err, &notOpen) {
		t.Errorf("approving a closed request: %v; want NotOpenError", err)
	}
}

func TestTwoWritersRacingLoseNoUpdate(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	a, b := fx.forge("agent-a"), fx.forge("agent-b")
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		for _, f := range []*local.Forge{a, b} {
			wg.Go(func() {
				errs <- f.SetStatus(ctx, fx.promotion, gitsource.Status{Context: fmt.Sprintf("%s/%d", f.Actor(), i), State: gitsource.StatusSuccess})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	st, err := fx.forge("reader").Statuses(ctx, fx.promotion)
	if err != nil || len(st) != 2*n {
		t.Fatalf("%d statuses after %d racing writes (%v); every write must survive", len(st), 2*n, err)
	}
	if got := fx.records(); got != 2*n {
		t.Errorf("%d record commits for %d changes", got, 2*n)
	}
}

func TestMergeMethods(t *testing.T) {
	ctx := context.Background()
	for _, method := range []string{"merge", "squash", "rebase"} {
		t.Run(method, func(t *testing.T) {
			fx := newFixture(t)
			f := fx.forge("stagegate")
			fx.open(f)
			sha, err := f.Merge(ctx, 1, gitsource.MergeOptions{SHA: fx.promotion, Method: gitsource.MergeMethod(method), Title: "Promote abc to prod (#1)", Message: "env/dev → env/prod\n\nStagegate-Request: #1"})
			if err != nil {
				t.Fatal(err)
			}
			if head := fx.git("rev-parse", "env/prod"); head != sha {
				t.Fatalf("env/prod at %s, Merge returned %s", head, sha)
			}
			if fx.git("rev-parse", "env/prod^{tree}") != fx.git("rev-parse", fx.promotion+"^{tree}") {
				t.Error("env/prod's tree is not the promotion's")
			}
			parents := strings.Fields(fx.git("log", "-1", "--format=%P", "env/prod"))
			msg := fx.git("log", "-1", "--format=%B", "env/prod")
			switch method {
			case "merge":
				if len(parents) != 2 || parents[0] != fx.base || parents[1] != fx.promotion || !strings.Contains(msg, "Stagegate-Request: #1") {
					t.Errorf("merge commit parents %v, message %q", parents, msg)
				}
			case "squash":
				if len(parents) != 1 || parents[0] != fx.base || !strings.HasPrefix(msg, "Promote abc to prod (#1)") || !strings.Contains(msg, "Stagegate-Request: #1") {
					t.Errorf("squash commit parents %v, message %q", parents, msg)
				}
			case "rebase":
				if sha != fx.promotion {
					t.Errorf("rebase of one promotion onto its parent made %s, want the promotion commit %s", sha, fx.promotion)
				}
			}
			r, _ := f.Request(ctx, 1)
			if !r.Merged || r.State != gitsource.RequestClosed || r.MergeSHA != sha || r.MergedBy != "stagegate" {
				t.Errorf("request after the merge = %+v", r)
			}
			if again, err := f.Merge(ctx, 1, gitsource.MergeOptions{SHA: fx.promotion, Method: gitsource.MergeMethod(method)}); err != nil || again != sha {
				t.Errorf("merging again: %s, %v; want the same merge, no error", again, err)
			}
		})
	}
}

func TestMergeIsGuarded(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	f := fx.forge("stagegate")
	fx.open(f)
	var moved *gitsource.HeadMovedError
	if _, err := f.Merge(ctx, 1, gitsource.MergeOptions{SHA: fx.base, Method: "merge"}); !errors.As(err, &moved) {
		t.Errorf("merge guarded by a sha that is not the head: %v; want HeadMovedError", err)
	}
	hotfix := gitsourcetest.Commit(t, fx.repo, "env/prod", map[string]string{"hotfix": "x"}, "hotfix")
	var refused *gitsource.NotMergeableError
	if _, err := f.Merge(ctx, 1, gitsource.MergeOptions{SHA: fx.promotion, Method: "merge"}); !errors.As(err, &refused) {
		t.Errorf("merge after the base moved: %v; want NotMergeableError", err)
	}
	if head := fx.git("rev-parse", "env/prod"); head != hotfix {
		t.Errorf("env/prod moved to %s by a refused merge", head)
	}
	if r, _ := f.Request(ctx, 1); r.Merged || r.State != gitsource.RequestOpen {
		t.Errorf("a refused merge changed the request: %+v", r)
	}
}

func TestIssues(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	f := fx.forge("stagegate")
	fx.open(f) // requests and issues share numbers
	i, err := f.OpenIssue(ctx, "drift in prod", "body", []string{"stagegate-drift"})
	if err != nil || i.Number != 2 {
		t.Fatalf("issue %+v, %v; want #2", i, err)
	}
	f.EditIssue(ctx, 2, "drift in prod (2 objects)", "body 2")
	list, _ := f.Issues(ctx, "stagegate-drift", gitsource.RequestOpen)
	if len(list) != 1 || list[0].Title != "drift in prod (2 objects)" {
		t.Fatalf("open issues = %+v", list)
	}
	if err := f.CloseIssue(ctx, 2, "in sync again"); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.Issues(ctx, "stagegate-drift", gitsource.RequestOpen); len(list) != 0 {
		t.Errorf("closed issue still open: %+v", list)
	}
	if _, err := f.TeamMembers(ctx, "acme/platform"); err == nil || !strings.Contains(err.Error(), "no teams") {
		t.Errorf("TeamMembers: %v; want an error saying the local forge has no teams", err)
	}
	if _, err := f.Merge(ctx, 1, gitsource.MergeOptions{SHA: fx.promotion}); err != nil { // syncs the commit
		t.Fatal(err)
	}
	if a, err := f.CommitAuthor(ctx, fx.promotion); err != nil || a != gitsourcetest.AuthorEmail {
		t.Errorf("CommitAuthor = %q, %v; want the author's email", a, err)
	}
}
