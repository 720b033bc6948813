package render

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a rendering failure caused by the repository's content: a malformed file, a missing
// file, a refused remote base, a kustomize error. Retrying does not help; the fix is a change to
// the file it names. Match it with errors.As to tell it from a cancelled context.
type Error struct {
	// Path is the directory that was being rendered ("overlays/prod").
	Path string
	// File is the repository-relative file at fault ("overlays/prod/kustomization.yaml"), or ""
	// when kustomize did not say (its own message, in Err, often names it).
	File string
	// Line is the 1-based line in File, 0 when unknown.
	Line int
	// Entry is the offending kustomization entry ("../../../etc"), "" when there is none.
	Entry string
	// Err says what is wrong.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("render ")
	b.WriteString(e.Path)
	b.WriteString(": ")
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Entry != "" {
		fmt.Fprintf(&b, "entry %q: ", e.Entry)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// lineOf is the 1-based line of the first occurrence of s in data, 0 when absent. Kustomize's
// parsed kustomization carries no positions, so this finds an entry the way a reader would.
func lineOf(data []byte, s string) int {
	i := strings.Index(string(data), s)
	if i < 0 || s == "" {
		return 0
	}
	return strings.Count(string(data[:i]), "\n") + 1
}
