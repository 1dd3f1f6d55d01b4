package delta_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
)

// TestVacuumRemovesAnIndexWithItsDataFile: an index file (delta.IndexDir,
// an engine's key index) goes when vacuum deletes its data file, stays
// while the data file stays, and one whose data file was never committed
// (a write killed before its commit, or its unrenamed temporary) goes once
// older than the retention.
func TestVacuumRemovesAnIndexWithItsDataFile(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, nil)
	old := writeFile(t, tbl, "a", testRow{1, "x"})
	if _, err := tbl.Append(ctx, []*delta.Add{old}, nil); err != nil {
		t.Fatal(err)
	}
	live := writeFile(t, tbl, "b", testRow{2, "y"})
	if _, err := tbl.Overwrite(ctx, []*delta.Add{live}, nil, nil); err != nil {
		t.Fatal(err)
	}
	index := func(data string) string {
		return filepath.Join(dir, delta.IndexDir, "v1-0123456789abcdef", filepath.FromSlash(data))
	}
	paths := map[string]string{
		"removed":   index(old.Path),
		"live":      index(live.Path),
		"orphan":    index("part=c/part-00000-never-committed.c000.snappy.parquet"),
		"temporary": index(live.Path) + ".tmp",
	}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	later := openTable(t, dir, &delta.Options{Now: func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }})
	res, err := later.Vacuum(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range paths {
		_, err := os.Stat(p)
		gone := errors.Is(err, os.ErrNotExist)
		// A temporary of a live file's index is the live file's: kept.
		if want := name == "removed" || name == "orphan"; gone != want {
			t.Errorf("%s index %s: gone %v, want %v (vacuum removed %v)", name, p, gone, want, res.Files)
		}
	}
	if !slices.Contains(res.Files, old.Path) {
		t.Fatalf("vacuum removed %v, want the removed data file %s among them", res.Files, old.Path)
	}
}
