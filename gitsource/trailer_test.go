package gitsource_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stagegate-dev/stagegate/gitsource"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func TestTrailers(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want []gitsource.Trailer
	}{
		{"a subject alone has no trailers", "Stagegate-Source: env/dev@" + sha, nil},
		{"the last paragraph of key-value lines is the trailer block",
			"Promote 0123456 to staging\n\nBody text.\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Gate: security=pass\n",
			[]gitsource.Trailer{{"Stagegate-Source", "env/dev@" + sha}, {"Stagegate-Gate", "security=pass"}}},
		{"a paragraph with prose is not a trailer block", "Subject\n\nSigned-off-by: a\nand some prose\n", nil},
		{"continuation lines join the previous value", "Subject\n\nKey: one\n  two\n", []gitsource.Trailer{{"Key", "one two"}}},
		{"CRLF line endings are read", "Subject\r\n\r\nKey: v\r\n", []gitsource.Trailer{{"Key", "v"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, gitsource.Trailers(tt.msg)); diff != "" {
				t.Errorf("Trailers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSource(t *testing.T) {
	branch, got, ok, err := gitsource.Source("Promote\n\nStagegate-Source: env/dev@" + sha)
	if err != nil || !ok || branch != "env/dev" || got != sha {
		t.Errorf("Source = %q, %q, %v, %v; want env/dev, %s, true, nil", branch, got, ok, err, sha)
	}
	if _, _, ok, err := gitsource.Source("Promote\n\nStagegate-Source: env/dev@abc"); !ok || err == nil || !strings.Contains(err.Error(), "40-hex") {
		t.Errorf("short sha: ok=%v err=%v; want a malformed-trailer error", ok, err)
	}
	if _, _, ok, err := gitsource.Source("Fix typo\n\nSigned-off-by: x"); ok || err != nil {
		t.Errorf("no trailer: ok=%v err=%v; want false, nil", ok, err)
	}
}

func FuzzTrailers(f *testing.F) {
	f.Add("Promote\n\nStagegate-Source: env/dev@" + sha + "\nStagegate-Gate: a=pass")
	f.Add("x\n\n k: v")
	f.Add("\n\n\n:")
	f.Fuzz(func(t *testing.T, msg string) {
		for _, tr := range gitsource.Trailers(msg) {
			if tr.Key == "" || strings.Contains(tr.Key, "\n") || strings.Contains(tr.Value, "\n") {
				t.Fatalf("bad trailer %+v from %q", tr, msg)
			}
		}
		if _, s, ok, err := gitsource.Source(msg); ok && err == nil && len(s) != 40 {
			t.Fatalf("Source accepted %q", s)
		}
	})
}
