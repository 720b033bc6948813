package controller_test

import (
	"strings"
	"testing"

	"github.com/stagegate-dev/stagegate/controller"
	"github.com/stagegate-dev/stagegate/gitsource"
)

func TestResolveRollback(t *testing.T) {
	sha := func(c byte) string { return strings.Repeat(string(c), 40) }
	// env/prod's first-parent history, newest first: two promotions over an initial commit.
	history := []gitsource.Commit{
		{SHA: "aaaa1" + sha('1')[5:], Message: "Promote 3333333 to prod (#2)\n\nStagegate-Source: env/staging@" + sha('3') + "\n"},
		{SHA: "aaaa2" + sha('2')[5:], Message: "Promote 4444444 to prod (#1)\n\nStagegate-Source: env/staging@" + sha('4') + "\n"},
		{SHA: sha('5'), Message: "init\n"},
	}
	for _, tc := range []struct {
		name, rev string
		want      int
		err       string // a part of the error; "" for none
	}{
		{"HEAD~1 is one commit back", "HEAD~1", 1, ""},
		{"~2 is two back", "~2", 2, ""},
		{"HEAD~ is one back, as in git", "HEAD~", 1, ""},
		{"head~1 in lower case", "head~1", 1, ""},
		{"a full sha on the history", sha('5'), 2, ""},
		{"a short sha on the history", "aaaa2", 1, ""},
		{"upper-case hex", "AAAA2", 1, ""},
		{"a promoted source sha names the commit that promoted it", "4444444", 1, ""},
		{"the head is nothing to roll back", "aaaa1", 0, "head already"},
		{"HEAD itself is nothing to roll back", "HEAD", 0, "head already"},
		{"HEAD~0 is the head", "HEAD~0", 0, "head already"},
		{"the head's promoted source is the head", "3333333", 0, "head already"},
		{"further back than the history", "HEAD~3", 0, "only 3 commits"},
		{"an ambiguous prefix", "aaaa", 0, "several commits"},
		{"a commit not on the history", "9999999", 0, "not on env/prod's first-parent history"},
		{"too short to be a sha", "abc", 0, "not a commit"},
		{"not hex", "main", 0, "not a commit"},
		{"a bad relative rev", "HEAD~x", 0, "HEAD~N"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := controller.ResolveRollback(tc.rev, "env/prod", history)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("ResolveRollback(%q) = %v", tc.rev, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("ResolveRollback(%q) = %d, %v; want an error saying %q", tc.rev, got, err, tc.err)
			case tc.err == "" && got != tc.want:
				t.Errorf("ResolveRollback(%q) = %d, want %d", tc.rev, got, tc.want)
			}
		})
	}
}
