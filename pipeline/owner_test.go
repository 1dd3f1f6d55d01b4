package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/scheduler"
)

// projectOwners are the engine owners open for the project in dir.
func projectOwners(dir string) []*duckdb.Database {
	owners.Lock()
	defer owners.Unlock()
	var out []*duckdb.Database
	for k, o := range owners.m {
		if strings.HasPrefix(k, dir+"\x00") {
			out = append(out, o.Owner.(*duckdb.Database))
		}
	}
	return out
}

// TestOneEngineOwnerPerProject: runs, a job-history write, the schema
// check and query sessions (one of them while a run writes) of a project
// all take sessions of one work database and one sandboxed query database;
// every session is closed when its work ends.
func TestOneEngineOwnerPerProject(t *testing.T) {
	dir := t.TempDir()
	write := func(p, c string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("medallion.yaml", "name: owners\nsources:\n  items:\n    keys: [sku]\n")
	write("models/silver.sql", "-- name: silver.items\n-- keys: [sku]\nSELECT sku, CAST(qty AS BIGINT) AS qty, _ingested_at, _seq FROM bronze.items\n")
	write("models/gold.sql", "-- name: gold.total\nSELECT sum(qty) AS qty FROM silver.items\n")
	write("landing/items/a.csv", "sku,qty\na,1\nb,2\n")
	proj, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := Run(ctx, proj, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := len(projectOwners(dir)); got != 1 {
		t.Fatalf("%d engine owners after a run, want 1", got)
	}
	total := func() int64 {
		s, err := OpenSession(ctx, proj)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		res, err := s.Query(ctx, "SELECT qty FROM gold.total")
		if err != nil {
			t.Fatal(err)
		}
		return engine.Int64(res.Rows[0][0])
	}
	if got := total(); got != 3 {
		t.Fatalf("gold.total %d, want 3", got)
	}
	// A second run while query sessions read: each sees a whole version.
	write("landing/items/b.csv", "sku,qty\nc,4\na,5\n")
	var wg sync.WaitGroup
	wg.Add(1)
	var runErr error
	go func() {
		defer wg.Done()
		_, runErr = Run(ctx, proj, RunOptions{})
	}()
	for range 5 {
		if got := total(); got != 3 && got != 11 {
			t.Errorf("gold.total %d during the run, want 3 or 11", got)
		}
	}
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	if got := total(); got != 11 {
		t.Fatalf("gold.total %d after the second run, want 11", got)
	}
	h := NewJobHistory(proj)
	if err := h.Append(ctx, scheduler.Run{Job: "nightly", Trigger: "manual", Attempt: 1, Start: time.Unix(100, 0), End: time.Unix(160, 0), Status: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	runs, err := h.List(ctx, "nightly", 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("job history: %v %v", runs, err)
	}
	dbs := projectOwners(dir)
	if len(dbs) != 2 {
		t.Fatalf("%d engine owners, want 2: the project's and its sandboxed query owner", len(dbs))
	}
	for _, d := range dbs {
		if n := d.Sessions(); n != 0 {
			t.Errorf("%d sessions left open", n)
		}
	}
}

// TestIdleOwnersAreBounded: a process going through many projects keeps at
// most maxIdleOwners owners without sessions, closing the least recently
// used; an owner with an open session is never closed.
func TestIdleOwnersAreBounded(t *testing.T) {
	ctx := t.Context()
	var busy func()
	var dirs []string
	for i := range maxIdleOwners + 3 {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte("name: p\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		proj, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		eng, err := openEngine(ctx, proj, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			busy = func() { eng.Close() } // the first stays in use throughout
		} else {
			eng.Close()
		}
		dirs = append(dirs, dir)
	}
	idle := 0
	owners.Lock()
	for _, w := range owners.m {
		if w.sessions == 0 {
			idle++
		}
	}
	owners.Unlock()
	if idle > maxIdleOwners {
		t.Fatalf("%d idle owners, want at most %d", idle, maxIdleOwners)
	}
	if len(projectOwners(dirs[0])) != 1 {
		t.Fatal("the owner with an open session was closed")
	}
	if len(projectOwners(dirs[1])) != 0 {
		t.Fatal("the least recently used idle owner is still open")
	}
	if len(projectOwners(dirs[len(dirs)-1])) != 1 {
		t.Fatal("the most recently used owner was closed")
	}
	busy()
}

// TestProjectCloseClosesOwners: Project.Close closes the project's idle
// engine owner at once and one with a session in progress when the session
// closes (the session keeps working until then); the next session opens a
// new owner.
func TestProjectCloseClosesOwners(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte("name: p\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proj, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := openEngine(ctx, proj, nil)
	if err != nil {
		t.Fatal(err)
	}
	dbs := projectOwners(dir)
	if len(dbs) != 1 {
		t.Fatalf("%d owners, want 1", len(dbs))
	}
	if err := proj.Close(); err != nil {
		t.Fatal(err)
	}
	if len(projectOwners(dir)) != 0 {
		t.Fatal("a closed project's owner is still handed out")
	}
	if _, err := eng.Query(ctx, "SELECT 1"); err != nil {
		t.Fatalf("a session in progress failed when its project closed: %v", err)
	}
	eng.Close()
	if _, err := dbs[0].Session(ctx, engine.SessionOptions{}); err == nil {
		t.Fatal("the owner is open after its last session closed")
	}
	eng2, err := openEngine(ctx, proj, nil)
	if err != nil {
		t.Fatalf("a session after Project.Close: %v", err)
	}
	eng2.Close()
	if len(projectOwners(dir)) != 1 {
		t.Fatal("no new owner after Project.Close")
	}
	if err := proj.Close(); err != nil {
		t.Fatal(err)
	}
}
