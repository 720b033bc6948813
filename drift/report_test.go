package drift

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// fixtureReport compares every fixture the way Detect would and collects the results.
func fixtureReport(t *testing.T) Report {
	t.Helper()
	var r Report
	for _, dir := range []string{"in-sync", "replicas-by-hpa", "image", "secret-value", "missing", "extra"} {
		r.Objects = append(r.Objects, Compare(fixture(t, dir, "desired"), fixture(t, dir, "live"),
			[]Ignore{{Kind: "Deployment", Name: "web", Managers: []string{"kube-controller-manager"}}}))
	}
	r.Objects = append(r.Objects, ObjectReport{
		APIVersion: "batch/v1", Kind: "Job", Namespace: "shop", Name: "migrate", Status: Failed,
		Reason: `dry-run apply: Job.batch "migrate" is invalid: spec.template: field is immutable`,
	})
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./drift/ -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

func TestReportText(t *testing.T) {
	var b bytes.Buffer
	if err := fixtureReport(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", b.Bytes())
	for _, secret := range []string{"aHVudGVyMg==", "c3dvcmRmaXNo", "c2hvcA=="} {
		if bytes.Contains(b.Bytes(), []byte(secret)) {
			t.Errorf("text report shows Secret value %s", secret)
		}
	}
}

func TestReportJSON(t *testing.T) {
	var b bytes.Buffer
	if err := fixtureReport(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", b.Bytes())
	var got struct {
		Summary Summary
		Objects []ObjectReport
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := Summary{InSync: 2, Drifted: 2, Missing: 1, Extra: 1, Failed: 1}
	if d := cmp.Diff(want, got.Summary); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
}

func TestReportInSync(t *testing.T) {
	tests := []struct {
		name   string
		status []Status
		want   bool
	}{
		{"an empty environment is in sync", nil, true},
		{"only in-sync objects are in sync", []Status{InSync, InSync}, true},
		{"one drifted object is not", []Status{InSync, Drifted}, false},
		{"one missing object is not", []Status{Missing}, false},
		{"one extra object is not", []Status{Extra}, false},
		{"an object that could not be compared is not", []Status{Failed}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Report
			for _, s := range tt.status {
				r.Objects = append(r.Objects, ObjectReport{Status: s})
			}
			if got := r.InSync(); got != tt.want {
				t.Errorf("InSync() = %v, want %v", got, tt.want)
			}
		})
	}
}
