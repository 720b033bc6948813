//go:build unix

package gates

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/stagegate-dev/stagegate/render"
)

// kubeconform is the CLI the static gates are measured against, with JSON Schemas made locally
// from Kubernetes' OpenAPI description: env $(hack/kubeconform.sh) go test -bench Kubeconform.
type kubeconform struct {
	bin, location string
}

func kubeconformEnv(tb testing.TB) kubeconform {
	tb.Helper()
	bin, dir := os.Getenv("KUBECONFORM_BIN"), os.Getenv("KUBECONFORM_SCHEMAS")
	if bin == "" || dir == "" {
		tb.Skip("KUBECONFORM_BIN and KUBECONFORM_SCHEMAS unset; run with env $(hack/kubeconform.sh)")
	}
	return kubeconform{bin: bin, location: filepath.Join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json")}
}

// kubeconformRun is one kubeconform process: its summary and the CPU time it used.
type kubeconformRun struct {
	exitCode                          int
	resources, valid, invalid, errors int
	skipped                           int
	cpu                               time.Duration
	output                            string
}

// summaryRE matches the line kubeconform -summary ends with.
var summaryRE = regexp.MustCompile(`^Summary: (\d+) resources? found in \d+ files? - Valid: (\d+), Invalid: (\d+), Errors: (\d+),? Skipped: (\d+)`)

// run validates dir strictly. procs > 0 pins the process to that many cores (GOMAXPROCS) and
// that many validating workers (-n); 0 leaves kubeconform's defaults.
func (k kubeconform) run(tb testing.TB, dir string, procs int) kubeconformRun {
	tb.Helper()
	args := []string{"-strict", "-summary", "-schema-location", k.location}
	cmd := exec.Command(k.bin)
	if procs > 0 {
		args = append(args, "-n", fmt.Sprint(procs))
		cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
	}
	cmd.Args = append(cmd.Args, append(args, dir)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := kubeconformRun{output: out.String()}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			tb.Fatalf("kubeconform: %v", err)
		}
	}
	r.exitCode = cmd.ProcessState.ExitCode()
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	i := bytes.LastIndex(out.Bytes(), []byte("Summary: "))
	if i < 0 {
		tb.Fatalf("kubeconform printed no summary (exit %d):\n%s", r.exitCode, r.output)
	}
	m := summaryRE.FindStringSubmatch(out.String()[i:])
	if m == nil {
		tb.Fatalf("kubeconform's summary is not as expected (exit %d):\n%s", r.exitCode, r.output)
	}
	for i, p := range []*int{&r.resources, &r.valid, &r.invalid, &r.errors, &r.skipped} {
		*p, _ = strconv.Atoi(m[i+1])
	}
	return r
}

// writeObjects writes objects as YAML streams, one file per Source as render found them, into a
// new directory under dir.
func writeObjects(tb testing.TB, dir string, objs render.Objects) string {
	tb.Helper()
	dir, err := os.MkdirTemp(dir, "objects")
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string]*bytes.Buffer{}
	var order []string
	for _, o := range objs {
		b, err := yaml.Marshal(o.Content)
		if err != nil {
			tb.Fatal(err)
		}
		f := files[o.Source]
		if f == nil {
			f = &bytes.Buffer{}
			files[o.Source] = f
			order = append(order, o.Source)
		} else {
			f.WriteString("---\n")
		}
		f.Write(b)
	}
	for _, name := range order {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, files[name].Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// processCPU is the CPU time this process has used, all threads (the garbage collector's too).
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkKubeconform measures kubeconform on the objects BenchmarkStaticGates evaluates, and the
// static gates again in the same run, so the ratio compares like with like. Per size:
//
//   - stagegate: the static gates (schema, apis, security, resources) on one goroutine;
//   - kubeconform-1core: kubeconform -n 1 with GOMAXPROCS=1, the whole process on one core;
//   - kubeconform-default: kubeconform's default workers and all cores.
//
// objects/s is wall-clock; objects/cpu-s divides by the CPU time used (for stagegate this process's,
// for kubeconform the child's), the per-core figure that does not depend on how busy the machine
// is. x-faster-than-kubeconform is stagegate's objects/cpu-s over kubeconform's. kubeconform's runs
// include reading the files and loading its ten schemas, as a CI job would; stagegate's do not
// include decoding YAML (render's work), and the schema gate does what kubeconform does and more.
func BenchmarkKubeconform(b *testing.B) {
	k := kubeconformEnv(b)
	tmp := b.TempDir()
	for _, n := range []int{1500, 15000} {
		objs := benchObjects(b, n)
		dir := writeObjects(b, tmp, objs)
		set := staticGates(b)
		in := Input{Objects: objs, KubernetesVersion: "1.33"}
		if v, _ := Verdict(set.Evaluate(in)); v != Pass {
			b.Fatalf("the benchmark's objects should pass the static gates (%d objects)", n)
		}

		var gatesPerCPU, gatesPerSec float64
		b.Run(fmt.Sprintf("stagegate/objects=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				set.Evaluate(in)
			}
			cpu := processCPU(b) - cpu0
			gatesPerSec = float64(n) * float64(b.N) / b.Elapsed().Seconds()
			gatesPerCPU = float64(n) * float64(b.N) / cpu.Seconds()
			b.ReportMetric(gatesPerSec, "objects/s")
			b.ReportMetric(gatesPerCPU, "objects/cpu-s")
		})

		for _, c := range []struct {
			name  string
			procs int
		}{{"kubeconform-1core", 1}, {"kubeconform-default", 0}} {
			b.Run(fmt.Sprintf("%s/objects=%d", c.name, n), func(b *testing.B) {
				var cpu time.Duration
				for b.Loop() {
					r := k.run(b, dir, c.procs)
					if r.exitCode != 0 || r.valid != n || r.resources != n {
						b.Fatalf("kubeconform should find all %d objects valid; exit %d, %d resources, %d valid, %d invalid, %d errors, %d skipped:\n%.2000s",
							n, r.exitCode, r.resources, r.valid, r.invalid, r.errors, r.skipped, r.output)
					}
					cpu += r.cpu
				}
				perSec := float64(n) * float64(b.N) / b.Elapsed().Seconds()
				perCPU := float64(n) * float64(b.N) / cpu.Seconds()
				b.ReportMetric(perSec, "objects/s")
				b.ReportMetric(perCPU, "objects/cpu-s")
				if gatesPerCPU > 0 { // 0 when -bench filtered the stagegate run out
					b.ReportMetric(gatesPerCPU/perCPU, "x-faster-than-kubeconform")
					b.Logf("%d objects: stagegate static gates %.0f objects/cpu-s (%.0f objects/s on one goroutine), %s %.0f objects/cpu-s (%.0f objects/s wall): %.1fx per core, %.1fx wall",
						n, gatesPerCPU, gatesPerSec, c.name, perCPU, perSec, gatesPerCPU/perCPU, gatesPerSec/perSec)
				}
			})
		}
	}
}

// TestKubeconformSchemasWork checks that the locally made schemas make kubeconform validate: the
// benchmark's objects pass, and objects broken in ways a schema catches fail (and fail stagegate's
// schema gate too), so the benchmark does not time a kubeconform that skips or accepts everything.
func TestKubeconformSchemasWork(t *testing.T) {
	k := kubeconformEnv(t)
	good := benchObjects(t, 10)
	if r := k.run(t, writeObjects(t, t.TempDir(), good), 1); r.exitCode != 0 || r.valid != len(good) {
		t.Fatalf("the benchmark's objects should be valid; exit %d, %d of %d valid:\n%s", r.exitCode, r.valid, len(good), r.output)
	}

	for _, tc := range []struct {
		name   string
		mutate func(deploy map[string]any)
	}{
		{"unknown field in a container", func(d map[string]any) {
			secSet(t, d, "spec.template.spec.containers[0].imagePullPolicyy", "Always")
		}},
		{"unknown top-level field", func(d map[string]any) { d["specs"] = map[string]any{} }},
		{"string where an integer goes", func(d map[string]any) { secSet(t, d, "spec.replicas", "three") }},
		{"boolean where int-or-string goes", func(d map[string]any) {
			secSet(t, d, "spec.strategy.rollingUpdate.maxSurge", true)
		}},
		{"object where a quantity goes", func(d map[string]any) {
			secSet(t, d, "spec.template.spec.containers[0].resources.limits.cpu", map[string]any{"cores": int64(1)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := benchObjects(t, 10)
			var deploy map[string]any
			for _, o := range objs {
				if o.Content["kind"] == "Deployment" {
					deploy = o.Content
				}
			}
			tc.mutate(deploy)
			r := k.run(t, writeObjects(t, t.TempDir(), objs), 1)
			if r.exitCode == 0 || r.invalid != 1 || r.valid != len(objs)-1 {
				t.Errorf("kubeconform should find the Deployment invalid; exit %d, %d valid, %d invalid, %d errors:\n%s",
					r.exitCode, r.valid, r.invalid, r.errors, r.output)
			}
			in := Input{Objects: objs, KubernetesVersion: "1.33"}
			if v, _ := Verdict(staticGates(t).Evaluate(in)); v == Pass {
				t.Errorf("stagegate's static gates should fail the same objects")
			}
		})
	}
}
