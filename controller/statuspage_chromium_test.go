package controller_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium (Debian's package is `chromium`). Without one the
// test skips, saying so; STAGEGATE_REQUIRE_CHROMIUM=1 (CI) makes its absence a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const why = "no chromium on PATH (Debian: apt-get install chromium)"
	if os.Getenv("STAGEGATE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(why + ", and STAGEGATE_REQUIRE_CHROMIUM=1")
	}
	t.Skip(why + "; STAGEGATE_REQUIRE_CHROMIUM=1 makes this a failure")
	return ""
}

// headless runs chromium headless on url with args, in a profile of its own.
func headless(t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--no-first-run", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestStatusPageInChromium opens the status page in a real browser: the DOM it builds holds the
// matrix, and a screenshot of it is a real picture (kept in STAGEGATE_SCREENSHOT_DIR when set).
func TestStatusPageInChromium(t *testing.T) {
	bin := chromium(t)
	_, page := statusWorld(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page.Page)
	mux.HandleFunc("GET /api/v1/status", page.API)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dom := string(headless(t, bin, srv.URL+"/", "--dump-dom"))
	for _, want := range []string{`id="matrix"`, "<th>prod</th>", "approvals: pending", "schema: pass", ">#2</a>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("chromium's DOM lacks %q:\n%s", want, dom)
		}
	}

	dir := os.Getenv("STAGEGATE_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "status-matrix.png")
	headless(t, bin, srv.URL+"/", "--screenshot="+shot, "--window-size=1280,720")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", shot, err)
	}
	if b := img.Bounds(); b.Dx() < 640 || b.Dy() < 360 {
		t.Errorf("screenshot is %dx%d, want about the 1280x720 window", b.Dx(), b.Dy())
	}
	// A page that rendered text, borders and colored gates has many colors; a blank or error
	// page has a handful.
	if n := colors(img); n < 16 {
		t.Errorf("screenshot %s has %d colors: blank?", shot, n)
	}
	t.Logf("screenshot: %s", shot)
}

func colors(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}
