package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/enginetest"
	"github.com/medallionhq/medallion/storage"
)

// TestSessionConformance runs the conformance suite on sessions of one
// shared database, all open at once: a session is a whole engine.
func TestSessionConformance(t *testing.T) {
	d, err := OpenDatabase(t.Context(), &Options{MemoryLimit: "512MB", TempDir: t.TempDir(), Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		e, err := d.Session(t.Context(), engine.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	})
}

// oneRowTable writes a one-row Delta table whose column v holds value.
func oneRowTable(t *testing.T, e engine.Engine, value int) *delta.Snapshot {
	t.Helper()
	ctx := t.Context()
	store, err := storage.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := delta.OpenTable(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Write(ctx, "SELECT CAST("+strconv.Itoa(value)+" AS BIGINT) AS v", engine.Target{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Create(ctx, res.Schema, nil); err != nil {
		t.Fatal(err)
	}
	cr, err := tbl.Append(ctx, res.Adds, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cr.Snapshot
}

// TestSessionsAreIsolated: sessions of one database bind the same names
// to different snapshots, cache and release relations, concurrently, and
// each reads only its own; closing one leaves the others working.
func TestSessionsAreIsolated(t *testing.T) {
	ctx := t.Context()
	d, err := OpenDatabase(ctx, &Options{MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const n = 4
	sessions := make([]engine.Engine, n)
	snaps := make([]*delta.Snapshot, n)
	for i := range sessions {
		if sessions[i], err = d.Session(ctx, engine.SessionOptions{}); err != nil {
			t.Fatal(err)
		}
		snaps[i] = oneRowTable(t, sessions[i], i*10)
	}
	if got := d.Sessions(); got != n {
		t.Fatalf("%d sessions open, want %d", got, n)
	}
	var wg sync.WaitGroup
	errs := make(chan string, n*50)
	for i, e := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 25 {
				if err := e.Bind(ctx, "silver.t", snaps[i], nil); err != nil {
					errs <- err.Error()
					return
				}
				if err := e.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS gold; CREATE OR REPLACE VIEW gold.v AS SELECT v + 1 AS w FROM silver.t"); err != nil {
					errs <- err.Error()
					return
				}
				if round%5 == 0 {
					if err := e.Cache(ctx, "silver.t"); err != nil {
						errs <- err.Error()
						return
					}
				}
				rel, err := e.Materialize(ctx, "SELECT w FROM gold.v")
				if err != nil {
					errs <- err.Error()
					return
				}
				res, err := e.Query(ctx, "SELECT w FROM "+rel.Name)
				if err != nil {
					errs <- err.Error()
					return
				}
				if got := res.Rows[0][0]; got != int64(i*10+1) {
					errs <- fmt.Sprintf("session %d read %v, want %d", i, got, i*10+1)
					return
				}
				if err := e.Release(ctx, rel); err != nil {
					errs <- err.Error()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err := sessions[0].Close(); err != nil {
		t.Fatal(err)
	}
	res, err := sessions[1].Query(ctx, "SELECT count(*) FROM duckdb_databases() WHERE database_name LIKE 'session_%'")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0][0]; got != int64(n-1) {
		t.Fatalf("%v session catalogs after closing one, want %d", got, n-1)
	}
	if res, err := sessions[1].Query(ctx, "SELECT v FROM silver.t"); err != nil || res.Rows[0][0] != int64(10) {
		t.Fatalf("another session after one closed: %v %v", res, err)
	}
	for _, e := range sessions[1:] {
		e.Close()
	}
	if got := d.Sessions(); got != 0 {
		t.Fatalf("%d sessions open after closing all", got)
	}
}

// TestSandboxHoldsInSessions: every session of a sandboxed database is
// confined from its first statement, exactly as a sandboxed engine; a
// session may confirm the database's directories but never widen them.
func TestSandboxHoldsInSessions(t *testing.T) {
	root := t.TempDir()
	lake, secret, out := filepath.Join(root, "lake"), filepath.Join(root, "secret.txt"), filepath.Join(root, "out")
	for _, dir := range []string{lake, out} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(secret, []byte(canary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plain, err := Open(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Exec(t.Context(), "COPY (SELECT 1 AS x) TO "+quoteString(filepath.Join(lake, "t.parquet"))+" (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	plain.Close()
	d, err := OpenDatabase(t.Context(), &Options{MemoryLimit: "256MB", Threads: 1, Sandbox: &Sandbox{AllowedDirs: []string{lake}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range 2 {
		s, err := d.Session(t.Context(), engine.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e := s.(*Engine)
		if err := e.Sandbox(t.Context(), []string{lake}); err != nil {
			t.Fatalf("session %d confirming the lake: %v", i, err)
		}
		if err := e.Sandbox(t.Context(), []string{lake, out}); err == nil {
			t.Fatalf("session %d widened the sandbox to %s", i, out)
		}
		sandboxHolds(t, e, lake, secret, out)
		s.Close()
	}
}
