package delta_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
)

// TestVacuumRemovesAbandonedStaging: the files a killed write left in a
// staging folder (engine/spark writes Parquet there, then medallion moves
// and commits them) are orphans vacuum removes once older than the
// retention; other hidden folders stay.
func TestVacuumRemovesAbandonedStaging(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, nil)
	if _, err := tbl.Append(ctx, []*delta.Add{writeFile(t, tbl, "a", testRow{1, "x"})}, nil); err != nil {
		t.Fatal(err)
	}
	staged := filepath.Join(dir, delta.StagingDirPrefix+"0b1c", "part=a", "part-00000-x.c000.snappy.parquet")
	hidden := filepath.Join(dir, "_hidden", "keep.txt")
	for _, p := range []string{staged, hidden} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := tbl.Vacuum(ctx, nil); err != nil || len(res.Files) != 0 {
		t.Fatalf("young staged files must be kept (a write may be running): %+v, %v", res, err)
	}
	later := openTable(t, dir, &delta.Options{Now: func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }})
	res, err := later.Vacuum(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0] != filepath.ToSlash(mustRel(t, dir, staged)) {
		t.Fatalf("vacuum removed %v, want the staged file only", res.Files)
	}
	if _, err := os.Stat(staged); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staged file still there: %v", err)
	}
	if _, err := os.Stat(hidden); err != nil {
		t.Fatalf("vacuum removed a hidden file: %v", err)
	}
}

func mustRel(t *testing.T, base, p string) string {
	t.Helper()
	r, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
