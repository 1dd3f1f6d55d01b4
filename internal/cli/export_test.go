package cli_test

import (
	"bytes"
	"encoding/json"
	"html"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/internal/cli"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/web"
)

// TestDashboardExportNeedsChromium: without a browser, export says how to
// install one.
func TestDashboardExportNeedsChromium(t *testing.T) {
	t.Setenv("CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	var out, errb bytes.Buffer
	code := cli.Main(t.Context(), []string{"dashboard", "export", "-C", t.TempDir(), "--out", t.TempDir()}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "apt-get install chromium") {
		t.Fatalf("exit %d, want an error naming apt-get install chromium: %s", code, errb.String())
	}
}

// TestDashboardExport exports a small project's dashboard and pipeline
// pages: the screenshots are PNGs of the window's size with something on
// them, and index.html has every panel's title and data.
func TestDashboardExport(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
		if p, err := exec.LookPath("chromium"); err == nil {
			chromium = p
		}
	}
	if _, err := os.Stat(chromium); err != nil {
		msg := "no Chromium at " + chromium + " (apt-get install chromium, or set CHROMIUM)"
		if os.Getenv("CI") == "true" {
			t.Fatal("dashboard export test cannot run under CI: " + msg)
		}
		t.Skip("dashboard export test skipped: " + msg)
	}
	t.Setenv("CHROMIUM", chromium)
	dir := t.TempDir()
	main := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := cli.Main(t.Context(), args, &out, &errb); code != 0 {
			t.Fatalf("medallion %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	main("init", dir)
	main("generate", "--out", filepath.Join(dir, "landing"), "--orders", "200", "--seed", "1")
	main("run", "-C", dir)

	var out, errb bytes.Buffer
	if code := cli.Main(t.Context(), []string{"dashboard", "export", "-C", dir, "--out", t.TempDir(), "--dashboard", "nope"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), `no dashboard named "nope"`) {
		t.Fatalf("unknown dashboard: exit %d: %s", code, errb.String())
	}

	exp := filepath.Join(t.TempDir(), "snapshot")
	const w, h = 1000, 1200
	main("dashboard", "export", "-C", dir, "--out", exp, "--width", "1000", "--height", "1200")
	for _, name := range []string{"ecommerce.png", "pipeline.png"} {
		f, err := os.Open(filepath.Join(exp, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Errorf("%s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), w, h)
		}
		if n := colours(img); n < 20 {
			t.Errorf("%s looks blank: %d distinct colours", name, n)
		}
	}

	// The panels' data, as the API serves it.
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(proj, web.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/api/dashboards/ecommerce")
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Title  string
		Panels []struct {
			Title string
			Type  string
			Error string
			Rows  [][]any
		}
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	err = dec.Decode(&data)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(exp, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	index := string(b)
	for _, want := range []string{"<h2 id=\"ecommerce\">" + html.EscapeString(data.Title) + "</h2>", `src="ecommerce.png"`, `src="pipeline.png"`, "Snapshot taken "} {
		if !strings.Contains(index, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if len(data.Panels) < 4 {
		t.Fatalf("the dashboard has %d panels", len(data.Panels))
	}
	for _, p := range data.Panels {
		if !strings.Contains(index, html.EscapeString(p.Title)) {
			t.Errorf("index.html lacks the panel title %q", p.Title)
		}
		if p.Error != "" {
			t.Errorf("panel %q: %s", p.Title, p.Error)
			continue
		}
		if len(p.Rows) == 0 {
			continue
		}
		for _, v := range p.Rows[0] {
			if n, ok := v.(json.Number); ok && !strings.Contains(index, ">"+n.String()+"</td>") {
				t.Errorf("index.html lacks %s, of panel %q", n, p.Title)
			}
		}
	}
}

// colours counts the distinct colours of img (up to 1000).
func colours(img image.Image) int {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[r>>8<<16|g>>8<<8|bl>>8] = true
			if len(seen) >= 1000 {
				return len(seen)
			}
		}
	}
	return len(seen)
}
