package pipeline_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

// TestBackfillReplacesOnlyTheRange recomputes part of a month after the
// model changed: rows in the range change, rows of other dates in the same
// partition and other partitions stay as they were.
func TestBackfillReplacesOnlyTheRange(t *testing.T) {
	model := "-- name: silver.events\n-- partition_by: [month]\n-- backfill_date: CAST(ts AS DATE)\nSELECT id, ts, CAST(month(ts) AS INTEGER) AS month, v * ${mult} AS v FROM bronze.events\n"
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":       "name: b\nvars: {mult: 1}\nsources:\n  events:\n    schema: {ts: timestamp, v: long}\n",
		"models/silver.sql":    model,
		"landing/events/a.csv": "id,ts,v\n1,2026-01-05 10:00:00,1\n2,2026-01-20 10:00:00,2\n3,2026-01-25 10:00:00,3\n4,2026-02-03 10:00:00,4\n5,2026-02-10 10:00:00,5\n",
	})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	lake, err := pipeline.OpenLake(t.Context(), filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := lake.Snapshot(t.Context(), "silver.events")
	if err != nil {
		t.Fatal(err)
	}
	febFiles := map[string]bool{}
	for _, f := range before.Files() {
		if *f.PartitionValues["month"] == "2" {
			febFiles[f.Path] = true
		}
	}
	// The model changes; backfill 15–31 January.
	if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte("name: b\nvars: {mult: 10}\nsources:\n  events:\n    schema: {ts: timestamp, v: long}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	proj, err = pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	tr, err := pipeline.Backfill(t.Context(), proj, "silver.events", from, to, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.RowsIn != 2 {
		t.Fatalf("recomputed %d rows, want the 2 of the range", tr.RowsIn)
	}
	rows := query(t, proj, "SELECT id, v FROM silver.events ORDER BY id")
	want := [][]any{{int64(1), int64(1)}, {int64(2), int64(20)}, {int64(3), int64(30)}, {int64(4), int64(4)}, {int64(5), int64(5)}}
	for i := range want {
		if rows[i][0] != want[i][0] || rows[i][1] != want[i][1] {
			t.Fatalf("rows after backfill %v, want %v", rows, want)
		}
	}
	after, err := lake.Snapshot(t.Context(), "silver.events")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range after.Files() {
		if *f.PartitionValues["month"] == "2" && !febFiles[f.Path] {
			t.Fatalf("February's files were rewritten: %s", f.Path)
		}
	}
	if _, err := pipeline.Backfill(t.Context(), proj, "bronze.events", from, to, pipeline.RunOptions{}); err == nil {
		t.Fatal("backfilling a source table succeeded")
	}
}
