package gitsource_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/gitsource"
	"github.com/stagegate-dev/stagegate/gitsource/gitsourcetest"
)

const recordsRef = "refs/stagegate/forge"

// A ref other than a branch is written, pushed with a lease, synced into another mirror and
// read back, over every transport.
func TestRecordsRefRoundTrip(t *testing.T) {
	ctx := context.Background()
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {"a.txt": "a\n"}})
	for name, r := range remotes(t, repo) {
		t.Run(name, func(t *testing.T) {
			gitsourcetest.Git(t, repo, "update-ref", "-d", recordsRef)
			e := env{"TOKEN": "s3cret"}
			writer, reader := open(t, r, e, nil), open(t, r, e, nil)
			if sha, err := reader.SyncRef(ctx, recordsRef); err != nil || sha != "" {
				t.Fatalf("SyncRef of a ref the remote lacks = %q, %v; want \"\", nil", sha, err)
			}
			files := map[string][]byte{"next": []byte("2\n"), "requests/1.json": []byte("{}\n"), "statuses/ab.json": []byte("[]\n")}
			first, err := writer.WriteCommit(ctx, gitsource.NewCommit{Files: files, Message: "open request #1\n", Author: gitsource.Signature{Name: "alice"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := writer.PushRef(ctx, recordsRef, first, ""); err != nil {
				t.Fatal(err)
			}
			sha, err := reader.SyncRef(ctx, recordsRef)
			if err != nil || sha != first {
				t.Fatalf("SyncRef = %s, %v; want %s", sha, err, first)
			}
			got, err := reader.Files(recordsRef)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(files, got); diff != "" {
				t.Errorf("files read back (-want +got):\n%s", diff)
			}
			if author := strings.TrimSpace(gitsourcetest.Git(t, repo, "log", "-1", "--format=%an", recordsRef)); author != "alice" {
				t.Errorf("record commit by %q, want alice", author)
			}

			// A writer that did not see first loses the lease and changes nothing.
			stale, _ := reader.WriteCommit(ctx, gitsource.NewCommit{Files: map[string][]byte{"next": []byte("9\n")}, Message: "stale\n"})
			var lease *gitsource.LeaseError
			if err := reader.PushRef(ctx, recordsRef, stale, ""); !errors.As(err, &lease) || lease.Actual != first {
				t.Errorf("push expecting no ref over an existing one: %v; want a LeaseError naming %s", err, first)
			}
			second, _ := reader.WriteCommit(ctx, gitsource.NewCommit{Files: map[string][]byte{"next": []byte("3\n")}, Parents: []string{first}, Message: "next\n"})
			if err := reader.PushRef(ctx, recordsRef, second, first); err != nil {
				t.Fatal(err)
			}
			if err := writer.PushRef(ctx, recordsRef, first, first); !errors.As(err, &lease) {
				t.Errorf("push with a stale lease: %v; want a LeaseError", err)
			}
			if head := gitsourcetest.Head(t, repo, recordsRef); head != second {
				t.Errorf("remote ref at %s, want %s", head, second)
			}
			if ok, err := reader.IsAncestor(ctx, first, second); err != nil || !ok {
				t.Errorf("IsAncestor(first, second) = %v, %v", ok, err)
			}
			if ok, _ := reader.IsAncestor(ctx, second, first); ok {
				t.Error("IsAncestor(second, first) = true")
			}
		})
	}
}

func TestWriteCommitRefusesBadPaths(t *testing.T) {
	repo := gitsourcetest.NewRepo(t, map[string]map[string]string{"env/dev": {"a.txt": "a\n"}})
	m := open(t, remotes(t, repo)["file"], nil, nil)
	for _, p := range []string{"../x", "/abs", "a//b", ""} {
		if _, err := m.WriteCommit(context.Background(), gitsource.NewCommit{Files: map[string][]byte{p: nil}, Message: "x\n"}); err == nil {
			t.Errorf("WriteCommit with path %q: no error", p)
		}
	}
}
