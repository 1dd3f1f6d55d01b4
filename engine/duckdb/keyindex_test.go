package duckdb_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/storage"
)

// TestKeyIndexDecidesWhichFilesAreRead: a file written with a key index is
// read for its keys only when its index holds the hash of a key looked
// up — an index emptied by hand hides the file's keys, which proves the
// keys were not read — and a file whose index is gone or damaged is read
// as before.
func TestKeyIndexDecidesWhichFilesAreRead(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	dir := t.TempDir()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := delta.OpenTable(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	var snap *delta.Snapshot
	var files [][]*delta.Add
	for i, rows := range []string{"('a', 1), ('b', 2)", "('c', 3)"} {
		target := engine.Target{Store: store, KeyIndex: []string{"id"}}
		if snap != nil {
			target.Schema = snap.Schema()
		}
		res, err := e.Write(ctx, "SELECT * FROM (VALUES "+rows+") AS v(id, n)", target)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := tbl.Create(ctx, res.Schema, nil); err != nil {
				t.Fatal(err)
			}
		}
		cr, err := tbl.Append(ctx, res.Adds, nil)
		if err != nil {
			t.Fatal(err)
		}
		snap, files = cr.Snapshot, append(files, res.Adds)
	}
	// Every data file has its index, under the hidden folder.
	var indexes []string
	for _, a := range snap.Files() {
		m, err := filepath.Glob(filepath.Join(dir, duckdb.KeyIndexDir, "*", a.Path))
		if err != nil || len(m) != 1 {
			t.Fatalf("the index of %s: %v %v", a.Path, m, err)
		}
		indexes = append(indexes, m[0])
	}
	first := indexes[slices.IndexFunc(snap.Files(), func(a *delta.Add) bool { return a.Path == files[0][0].Path })]
	batch, err := e.View(ctx, "SELECT * FROM (VALUES ('b', 20), ('z', 0)) AS v(id, n)")
	if err != nil {
		t.Fatal(err)
	}
	match := func() []string {
		t.Helper()
		got, err := e.MatchFiles(ctx, snap, snap.Files(), []string{"id"}, batch, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range got {
			out = append(out, a.Path)
		}
		return out
	}
	if got := match(); !slices.Equal(got, []string{files[0][0].Path}) {
		t.Fatalf("indexed: %v, want the first file", got)
	}
	// An index with no hash: the file's keys are not read.
	if err := e.Exec(ctx, "COPY (SELECT CAST(1 AS UBIGINT) AS h WHERE false) TO '"+first+"' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	if got := match(); len(got) != 0 {
		t.Fatalf("the index emptied: %v, want no file (the index decides)", got)
	}
	// Damaged: the keys are read.
	if err := os.WriteFile(first, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := match(); !slices.Equal(got, []string{files[0][0].Path}) {
		t.Fatalf("the index damaged: %v, want the first file", got)
	}
	// Gone: the keys are read.
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	if got := match(); !slices.Equal(got, []string{files[0][0].Path}) {
		t.Fatalf("the index removed: %v, want the first file", got)
	}
}

// TestNoKeyIndexOffLocalDisk: a table on an object store gets no index
// files (only local tables are indexed) and its keys are read.
func TestNoKeyIndexOffLocalDisk(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	store, err := storage.Open(ctx, "mem://keyindex-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Write(ctx, "SELECT * FROM (VALUES ('a', 1)) AS v(id, n)", engine.Target{Store: store, KeyIndex: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := store.List(ctx, duckdb.KeyIndexDir+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 || len(res.Adds) != 1 {
		t.Fatalf("objects under %s: %v (adds %d), want none", duckdb.KeyIndexDir, objs, len(res.Adds))
	}
}
