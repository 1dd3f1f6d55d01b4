package sparkinterop_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/internal/sparkserver"
)

// TestSparkReadsOptimizedDeletionVectors: Spark writes a table with
// deletion vectors on (three INSERTs, then a DELETE that adds vectors),
// `medallion optimize` (a process of its own) compacts it with the vectors
// applied, and Spark then reads the rows it read before the compaction, at
// the new version and at the old one.
func TestSparkReadsOptimizedDeletionVectors(t *testing.T) {
	s := sparkserver.Session(t)
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "shop")
	path := filepath.Join(dir, "lake", "silver", "dv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte("name: shop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE delta.`" + path + "` (id BIGINT, grp STRING) USING delta TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')",
		"INSERT INTO delta.`" + path + "` SELECT id, CASE WHEN id % 2 = 0 THEN 'a' ELSE 'b' END FROM range(0, 40)",
		"INSERT INTO delta.`" + path + "` SELECT id, 'c' FROM range(40, 60)",
		"INSERT INTO delta.`" + path + "` SELECT id, 'd' FROM range(60, 70)",
		"DELETE FROM delta.`" + path + "` WHERE id % 3 = 0",
	} {
		if _, err := s.Sql(ctx, q); err != nil {
			t.Fatalf("Spark %s: %v", q, err)
		}
	}
	vectors, _ := filepath.Glob(filepath.Join(path, "deletion_vector_*.bin"))
	if len(vectors) == 0 {
		t.Fatal("Spark's DELETE wrote no deletion vector: the test would prove nothing")
	}
	before := deltaTables(t, filepath.Join(dir, "lake"))[path]
	want, err := sparkRows(ctx, s, path, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.rows) != 46 {
		t.Fatalf("Spark reads %d rows before optimize, want 46", len(want.rows))
	}
	out := medallion(t, "optimize", "-C", dir, "silver.dv")
	if !strings.Contains(out, "compacted") {
		t.Fatalf("medallion optimize: %s", out)
	}
	if after := deltaTables(t, filepath.Join(dir, "lake"))[path]; after != before+1 {
		t.Fatalf("optimize committed version %d, want %d", after, before+1)
	}
	for _, v := range []int64{-1, before} {
		got, err := sparkRows(ctx, s, path, v)
		if err != nil {
			t.Fatalf("Spark cannot read the optimized table (version %d): %v", v, err)
		}
		if d := diff(got, want); d != "" {
			t.Errorf("Spark reads version %d differently after optimize: %s", v, d)
		}
	}
	if d := diff(medallionRows(t, dir, path), want); d != "" {
		t.Errorf("medallion reads the optimized table differently from Spark: %s", d)
	}
}
