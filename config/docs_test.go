package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const docsFile = "../docs/config.md"

// tableRows maps the first cell of each row of the tables whose first column is named first to
// the row's cells, by the table's column names.
func tableRows(t *testing.T, first string) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]map[string]string{}
	var header []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "|") {
			header = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "---") || header[0] != first:
		default:
			row := map[string]string{}
			for i, c := range cells {
				if i < len(header) {
					row[header[i]] = c
				}
			}
			rows[strings.Trim(cells[0], "`")] = row
		}
	}
	return rows
}

// The defaults docs/config.md lists are the ones the code applies.
func TestDocsDefaultsMatchCode(t *testing.T) {
	rows := tableRows(t, "Field")
	defaultOf := func(field string) string {
		t.Helper()
		row, ok := rows[field]
		if !ok {
			t.Fatalf("docs/config.md has no row for %s", field)
		}
		return strings.Trim(row["Default"], "`")
	}
	interval, err := time.ParseDuration(defaultOf("spec.interval"))
	if err != nil || interval != DefaultInterval {
		t.Errorf("docs: spec.interval default %q, code: %s", defaultOf("spec.interval"), DefaultInterval)
	}
	for field, code := range map[string]string{
		"spec.forge.type":                         string(DefaultForge),
		"spec.environments[].promote.mergeMethod": string(DefaultMergeMethod),
		"spec.environments[].drift.mode":          string(DefaultDriftMode),
		"spec.environments[].promote.auto":        "false",
		"spec.environments[].promote.approvals":   "0",
		"spec.environments[].render.helm":         "false",
		"spec.environments[].rollback.auto":       "false",
		"spec.environments[].rollback.approvals":  "0",
	} {
		if got := defaultOf(field); got != code {
			t.Errorf("docs: %s default %q, code: %q", field, got, code)
		}
	}
	// The summary table repeats the reference's defaults.
	summary := tableRows(t, "Setting")
	if len(summary) == 0 {
		t.Error("docs/config.md has no defaults summary table (first column Setting)")
	}
	for field, row := range summary {
		if got, want := row["Default"], rows[field]["Default"]; got != want {
			t.Errorf("docs: defaults summary says %s is %s, the reference says %s", field, got, want)
		}
	}
	if row := rows["spec.interval"]; !strings.Contains(row["Description"], "`"+fmtDuration(MinInterval)+"`") {
		t.Errorf("docs: spec.interval does not state the minimum %s", fmtDuration(MinInterval))
	}
}

// Every field of the config types has a row in the reference; gate options are documented in
// docs/gates.md.
func TestDocsCoverEveryField(t *testing.T) {
	rows := tableRows(t, "Field")
	var missing []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Slice {
			t, path = t.Elem(), path+"[]"
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeFor[Duration]() || t == reflect.TypeFor[Gates]() {
			return
		}
		fields, names := jsonFields(t)
		for _, name := range names {
			p := joinPath(path, name)
			if _, ok := rows[p]; !ok {
				missing = append(missing, p)
			}
			walk(t.FieldByIndex(fields[name]).Type, p)
		}
	}
	walk(reflect.TypeFor[Pipeline](), "")
	if len(missing) > 0 {
		t.Errorf("%s has no reference row for:\n%s", filepath.Clean(docsFile), strings.Join(missing, "\n"))
	}
}
