package duckdb_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/internal/filecache"
	"github.com/medallionhq/medallion/storage"
)

// localObjects are local files as engine objects.
func localObjects(paths ...string) []engine.Object {
	out := make([]engine.Object, len(paths))
	for i, p := range paths {
		out[i] = engine.LocalObject(p)
	}
	return out
}

// TestLoadRemoteObjectsThroughCache: landing files on a store DuckDB cannot
// read (mem://, standing for ADLS/S3/GCS) are copied through the file
// cache: a second load reads the cached copy, a rewritten object is
// fetched again, and without a cache the error names the object.
func TestLoadRemoteObjectsThroughCache(t *testing.T) {
	ctx := t.Context()
	store, err := storage.Open(ctx, "mem://objects-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	put := func(key, body string) engine.Object {
		if err := store.Write(ctx, key, []byte(body)); err != nil {
			t.Fatal(err)
		}
		info, err := store.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return engine.Object{Store: store, Key: key, Size: info.Size, ModTime: info.ModTime}
	}
	obj := put("landing/items/a.csv", "sku,qty\na,1\nb,2\n")
	cache, err := filecache.New(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	e, err := duckdb.Open(ctx, &duckdb.Options{MemoryLimit: "1GB", TempDir: t.TempDir(), Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	load := func(o engine.Object) *engine.LoadResult {
		t.Helper()
		lr, err := e.Load(ctx, engine.Source{Format: engine.CSV, Objects: []engine.Object{o}})
		if err != nil {
			t.Fatal(err)
		}
		return lr
	}
	lr := load(obj)
	if lr.Rows != 2 || len(lr.Files) != 1 || !strings.HasPrefix(lr.Files[0], cache.Dir()) {
		t.Fatalf("%d rows read from %q, want 2 rows from a copy in the cache %s", lr.Rows, lr.Files, cache.Dir())
	}
	if _, misses := cache.Stats(); misses != 1 {
		t.Fatalf("%d cache misses after the first load, want 1", misses)
	}
	load(obj)
	if hits, misses := cache.Stats(); hits != 1 || misses != 1 {
		t.Fatalf("second load of the same object: %d hits, %d misses; want the cached copy read", hits, misses)
	}
	// Rewritten with a third row: a new version, fetched again.
	obj2 := put("landing/items/a.csv", "sku,qty\na,1\nb,2\nc,3\n")
	if lr := load(obj2); lr.Rows != 3 {
		t.Fatalf("rewritten object: %d rows, want 3", lr.Rows)
	}
	// A local copy given with the object is read as it is.
	p := filepath.Join(t.TempDir(), "copy.csv")
	if err := os.WriteFile(p, []byte("sku,qty\nz,9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withLocal := obj2
	withLocal.Local = p
	if lr := load(withLocal); lr.Rows != 1 || lr.Files[0] != p {
		t.Fatalf("object with a local copy: %d rows from %q, want 1 row from %s", lr.Rows, lr.Files, p)
	}
	// No cache: the object cannot be read, and the error says which.
	bare := open(t)
	_, err = bare.Load(ctx, engine.Source{Format: engine.CSV, Objects: []engine.Object{obj2}})
	if !errors.Is(err, engine.ErrNotLocal) || !strings.Contains(err.Error(), obj2.URL()) {
		t.Fatalf("load of a remote object without a cache: %v, want ErrNotLocal naming %s", err, obj2.URL())
	}
}
