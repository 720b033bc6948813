package gitsource_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/config"
	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

const digest = "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

func TestParseRecord(t *testing.T) {
	promo := "Promote 0123456 to prod (#7)\n\nenv/staging → env/prod\n\n"
	tests := []struct {
		name     string
		msg      string
		want     gitsource.Record
		wantOK   bool
		problems []string // a phrase of each problem, in order
	}{
		{"a plain commit is no promotion", "Fix typo\n\nSigned-off-by: Bob <bob@example.com>\n", gitsource.Record{}, false, nil},
		{"a merge's full trailers", promo +
			"Stagegate-Source: env/staging@" + sha + "\nStagegate-Rendered: " + digest +
			"\nStagegate-Gate: security=pass\nStagegate-Gate: window=pending\nStagegate-Break-Glass: incident 42" +
			"\nStagegate-Approved-By: alice\nStagegate-Approved-By: bob\nStagegate-Request: #7\n",
			gitsource.Record{SourceBranch: "env/staging", SourceSHA: sha, Rendered: digest,
				Gates:      []gitsource.Verdict{{"security", "pass"}, {"window", "pending"}},
				BreakGlass: []string{"incident 42"}, ApprovedBy: []string{"alice", "bob"}, Request: 7},
			true, nil},
		{"keys are matched case-insensitively, other trailers ignored", "P\n\nstagegate-source: env/dev@" + sha + "\nSTAGEGATE-RENDERED: " + digest + "\nSigned-off-by: x\nStagegate-Future: y\n",
			gitsource.Record{SourceBranch: "env/dev", SourceSHA: sha, Rendered: digest}, true, nil},
		{"a short source sha", "P\n\nStagegate-Source: env/dev@0123456\nStagegate-Rendered: " + digest + "\n",
			gitsource.Record{Rendered: digest}, true, []string{`Stagegate-Source "env/dev@0123456": want <branch>@<40-hex sha>`}},
		{"a source without a branch", "P\n\nStagegate-Source: @" + sha + "\nStagegate-Rendered: " + digest + "\n",
			gitsource.Record{Rendered: digest}, true, []string{"want <branch>@<40-hex sha>"}},
		{"a digest that is not sha256 hex", "P\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Rendered: md5:abc\n",
			gitsource.Record{SourceBranch: "env/dev", SourceSHA: sha}, true, []string{`Stagegate-Rendered "md5:abc": want sha256:<64 lowercase hex>`}},
		{"two sources and two renderings", "P\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Source: env/qa@" + sha + "\nStagegate-Rendered: " + digest + "\nStagegate-Rendered: " + digest + "\n",
			gitsource.Record{SourceBranch: "env/dev", SourceSHA: sha, Rendered: digest}, true,
			[]string{"Stagegate-Source appears more than once", "Stagegate-Rendered appears more than once"}},
		{"bad gates, request and approver", "P\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Rendered: " + digest +
			"\nStagegate-Gate: security\nStagegate-Gate: soak=ok\nStagegate-Approved-By:\nStagegate-Request: 12\n",
			gitsource.Record{SourceBranch: "env/dev", SourceSHA: sha, Rendered: digest}, true,
			[]string{`Stagegate-Gate "security": want <gate>=<pass|fail|pending>`, `Stagegate-Gate "soak=ok"`, "Stagegate-Approved-By is empty", `Stagegate-Request "12": want one #<number>`}},
		{"gate trailers without a source or rendering", "P\n\nStagegate-Gate: schema=pass\n",
			gitsource.Record{Gates: []gitsource.Verdict{{"schema", "pass"}}}, true,
			[]string{"no Stagegate-Source trailer", "no Stagegate-Rendered trailer"}},
		{"trailers in the body, not the last paragraph, do not count", "P\n\nStagegate-Source: env/dev@" + sha + "\n\nSome prose at the end.\n",
			gitsource.Record{}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, problems := gitsource.ParseRecord(tt.msg)
			if diff := cmp.Diff(tt.want, got); diff != "" || ok != tt.wantOK {
				t.Errorf("ParseRecord ok=%v, want %v; record (-want +got):\n%s", ok, tt.wantOK, diff)
			}
			if len(problems) != len(tt.problems) {
				t.Fatalf("ParseRecord problems %v; want %d: %q", problems, len(tt.problems), tt.problems)
			}
			for i, p := range problems {
				if !strings.Contains(p.Error(), tt.problems[i]) {
					t.Errorf("problem %d = %q; want it to say %q", i, p, tt.problems[i])
				}
			}
		})
	}
}

// FuzzParseRecord: any message parses without a panic; a record read without problems, written
// back with FormatMessage, reads back the same.
func FuzzParseRecord(f *testing.F) {
	f.Add("Promote\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Rendered: " + digest + "\nStagegate-Gate: a=pass\nStagegate-Approved-By: al\nStagegate-Request: #3")
	f.Add("P\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Source: x@y\nStagegate-Rendered: sha256:00")
	f.Add("P\n\nStagegate-Break-Glass: \nStagegate-Drift-Acknowledged: a\n  b\nStagegate-Request: #0")
	f.Add("P\r\n\r\nstagegate-gate: dry-run=fail\r\nStagegate-Request: #99999999999")
	f.Add("\n\n\n:")
	f.Fuzz(func(t *testing.T, msg string) {
		rec, ok, problems := gitsource.ParseRecord(msg)
		if !ok && (len(problems) > 0 || !cmp.Equal(rec, gitsource.Record{})) {
			t.Fatalf("no Stagegate trailers, yet record %+v and problems %v", rec, problems)
		}
		if !ok || len(problems) > 0 {
			return
		}
		if len(rec.SourceSHA) != 40 || !strings.HasPrefix(rec.Rendered, "sha256:") || rec.Request < 0 {
			t.Fatalf("accepted a record that does not read as stagegate writes it: %+v", rec)
		}
		out, err := gitsource.FormatMessage("Promote", "", rec.Trailers())
		if err != nil {
			return // a value FormatMessage refuses to write (a lone \r): nothing to round-trip
		}
		again, ok, problems := gitsource.ParseRecord(out)
		if !ok || len(problems) > 0 {
			t.Fatalf("the record written back reads with problems %v:\n%s", problems, out)
		}
		if diff := cmp.Diff(rec, again); diff != "" {
			t.Fatalf("round trip through FormatMessage (-read +reread):\n%s\n%s", diff, out)
		}
	})
}

// TestFirstParents: a merge stands for what it merged, since bounds the walk by commit time and
// limit by count.
func TestFirstParents(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/prod": {"a": "1\n"}})
	root := gitsourcetest.Head(t, repo, "env/prod")
	gitsourcetest.Branch(t, repo, "side", "env/prod")
	c1 := gitsourcetest.Commit(t, repo, "env/prod", map[string]string{"a": "2\n"}, "two")
	side := gitsourcetest.Commit(t, repo, "side", map[string]string{"b": "1\n"}, "side")
	tree, _, _ := strings.Cut(gitsourcetest.Git(t, repo, "merge-tree", "--write-tree", c1, side), "\n")
	merge := strings.TrimSpace(gitsourcetest.Git(t, repo, "commit-tree", tree, "-p", c1, "-p", side, "-m", "Merge side"))
	gitsourcetest.Git(t, repo, "update-ref", "refs/heads/env/prod", merge)

	m := open(t, config.Repo{URL: repo}, nil, nil)
	if _, err := m.Sync(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		head     string
		since    time.Time
		limit    int
		want     []string
		wantMore bool
	}{
		{"whole chain, without the merged side", "env/prod", time.Time{}, 0, []string{merge, c1, root}, false},
		{"limit", "env/prod", time.Time{}, 2, []string{merge, c1}, true},
		{"since a time after the root's", "side", gitsourcetest.Epoch.Add(time.Minute), 0, []string{side}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, more, err := m.FirstParents(context.Background(), tt.head, tt.since, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range log {
				got = append(got, c.SHA)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || more != tt.wantMore {
				t.Errorf("FirstParents more=%v, want %v; (-want +got):\n%s", more, tt.wantMore, diff)
			}
		})
	}
	if _, _, err := m.FirstParents(context.Background(), "env/nope", time.Time{}, 0); err == nil {
		t.Error("FirstParents of an unknown branch: no error")
	}
}
