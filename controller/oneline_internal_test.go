package controller

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOneLineFitsAStatusDescription(t *testing.T) {
	for _, in := range []string{
		"short",
		strings.Repeat("a", 200),
		strings.Repeat("ä", 100), // 200 bytes
		"line one\nline two\t tabs",
	} {
		got := oneLine(in)
		if len(got) > 140 || !utf8.ValidString(got) || strings.ContainsAny(got, "\n\t") {
			t.Errorf("oneLine(%q) = %q (%d bytes): want one valid line of at most 140 bytes", in, got, len(got))
		}
		if len(in) <= 140 && !strings.Contains(in, "\n") && got != in {
			t.Errorf("oneLine(%q) = %q, want it unchanged", in, got)
		}
	}
}
