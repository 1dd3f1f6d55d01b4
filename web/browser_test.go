package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// ecommerceProject writes the built-in project into a temporary directory
// (medallion init), generates orders into its landing zone and runs it.
func ecommerceProject(t *testing.T, orders int) *pipeline.Project {
	t.Helper()
	dir := t.TempDir()
	if err := ecommerce.Init(dir); err != nil {
		t.Fatal(err)
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := datagen.Generate(t.Context(), proj.Resolve(proj.Config.Landing), datagen.Options{Orders: orders, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	return proj
}

// landMoreOrders generates n more orders (another seed, so new ids) and
// lands their orders, items, customers and payments files under new names.
func landMoreOrders(ctx context.Context, proj *pipeline.Project, n int, seed int64) error {
	tmp, err := os.MkdirTemp("", "medallion-more-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	rep, err := datagen.Generate(ctx, tmp, datagen.Options{Orders: n, Seed: seed})
	if err != nil {
		return err
	}
	landing := proj.Resolve(proj.Config.Landing)
	for _, src := range rep.Sources {
		switch src.Name {
		case datagen.SourceOrders, datagen.SourceOrderItems, datagen.SourceCustomers, datagen.SourcePayments:
		default:
			continue
		}
		for _, f := range src.Files {
			b, err := os.ReadFile(filepath.Join(tmp, filepath.FromSlash(f.Path)))
			if err != nil {
				return err
			}
			dst := filepath.Join(landing, filepath.FromSlash(path.Dir(f.Path)), fmt.Sprintf("live-%d-%s", seed, path.Base(f.Path)))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			// Write then rename: the file appears complete.
			if err := os.WriteFile(dst+".tmp", b, 0o644); err != nil {
				return err
			}
			if err := os.Rename(dst+".tmp", dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// fakeJobs is a scheduler with one job that records its triggers.
type fakeJobs struct {
	mu        sync.Mutex
	triggered []string
}

func (f *fakeJobs) List(context.Context) ([]JobStatus, error) {
	return []JobStatus{{Name: "refresh", Select: []string{"gold.daily_revenue+"}, Schedule: "@every 1h", Runs: []any{}}}, nil
}

func (f *fakeJobs) Trigger(name string) error {
	if name != "refresh" {
		return fmt.Errorf("no job named %q", name)
	}
	f.mu.Lock()
	f.triggered = append(f.triggered, name)
	f.mu.Unlock()
	return nil
}

// TestBrowserUI drives the UI in headless Chromium (web/ui/test/
// browser.test.mjs through node --test and playwright-core) against a real
// server over a real lake, landing data while the dashboard is open.
// Screenshots are kept in $ARTIFACTS_DIR/medallion-ui (or a folder under the
// temporary directory), whose path is logged.
func TestBrowserUI(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...) + " (install: make test-deps)"
		if os.Getenv("CI") == "true" {
			t.Fatal("browser test cannot run under CI: " + msg)
		}
		t.Skip("browser test skipped: " + msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no Chromium at %s (apt-get install -y chromium, or set CHROMIUM)", chromium)
	}
	if _, err := os.Stat(filepath.Join("ui", "node_modules", "playwright-core", "package.json")); err != nil {
		missing("web/ui/node_modules/playwright-core is missing (npm ci --prefix web/ui)")
	}

	proj := ecommerceProject(t, 300)
	jobs := &fakeJobs{}
	const token = "ui-test-token"
	srv, err := New(proj, Options{Addr: "127.0.0.1:0", Token: token, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	srv.heartbeat = time.Second
	var landMu sync.Mutex
	seed := int64(100)
	mux := http.NewServeMux()
	// The node test calls these (outside the token check).
	mux.HandleFunc("POST /__test/land", func(w http.ResponseWriter, r *http.Request) {
		landMu.Lock()
		defer landMu.Unlock()
		seed++
		if err := landMoreOrders(r.Context(), proj, 40, seed); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		rep, err := pipeline.Run(r.Context(), proj, pipeline.RunOptions{Quiet: true})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		var notified []string
		for _, tr := range rep.Tables {
			if tr.Status == pipeline.StatusOK && tr.Kind != "view" {
				srv.Notify(tr.Table, tr.Version)
				notified = append(notified, tr.Table)
			}
		}
		t.Logf("landed 40 orders (seed %d), notified %d tables", seed, len(notified))
		json.NewEncoder(w).Encode(notified)
	})
	mux.HandleFunc("GET /__test/triggered", func(w http.ResponseWriter, r *http.Request) {
		jobs.mu.Lock()
		defer jobs.mu.Unlock()
		fmt.Fprint(w, strings.Join(jobs.triggered, ","))
	})
	mux.Handle("/", srv.Handler())
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.shutdownStreams() // end SSE streams first: Close waits for them

	artifacts := filepath.Join(os.TempDir(), "medallion-ui-artifacts")
	if d := os.Getenv("ARTIFACTS_DIR"); d != "" {
		artifacts = filepath.Join(d, "medallion-ui")
	}
	os.RemoveAll(artifacts)
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", artifacts)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", filepath.Join("ui", "test", "browser.test.mjs"))
	cmd.Env = append(os.Environ(), "URL="+ts.URL, "TOKEN="+token, "ARTIFACTS="+artifacts, "CHROMIUM="+chromium)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node --test ui/test/browser.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v (screenshots in %s)", err, artifacts)
	}
	shots, _ := fs.Glob(os.DirFS(artifacts), "*.png")
	if len(shots) < 6 {
		t.Errorf("expected screenshots of every page in %s, got %v", artifacts, shots)
	}
}
