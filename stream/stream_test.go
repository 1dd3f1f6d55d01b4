package stream_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/stream"
)

const project = `name: events
sources:
  events:
    schema: {id: long, v: long}
`

const model = `-- name: silver.events
-- keys: [id]
-- incremental: bronze.events
SELECT id, v, _ingested_at, _seq FROM bronze.events
`

const gold = `-- name: gold.totals
SELECT count(*) AS n, sum(v) AS v FROM silver.events
`

func newProject(t *testing.T) (string, *pipeline.Project) {
	t.Helper()
	dir := t.TempDir()
	for p, c := range map[string]string{"medallion.yaml": project, "models/silver.sql": model, "models/gold.sql": gold} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "landing", "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, proj
}

// land writes file i (ids i*100 .. i*100+rows-1, v = 1) atomically, under
// a folder per ten files to exercise new-folder notifications.
func land(t *testing.T, dir string, i, rows int) {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("id,v\n")
	for r := range rows {
		fmt.Fprintf(&sb, "%d,1\n", i*100+r)
	}
	folder := filepath.Join(dir, "landing", "events", fmt.Sprintf("batch=%d", i/10))
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Error(err)
		return
	}
	tmp := filepath.Join(folder, fmt.Sprintf(".f%d.tmp", i))
	if err := os.WriteFile(tmp, []byte(sb.String()), 0o644); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(folder, fmt.Sprintf("f%03d.csv", i))); err != nil {
		t.Error(err)
	}
}

func totals(t *testing.T, proj *pipeline.Project) (n, v int64) {
	t.Helper()
	s, err := pipeline.OpenSession(context.Background(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Query(context.Background(), "SELECT n, v FROM gold.totals")
	if err != nil {
		return -1, -1
	}
	if len(res.Rows) == 0 {
		return 0, 0
	}
	return res.Rows[0][0].(int64), toInt(res.Rows[0][1])
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		var n int64
		fmt.Sscan(x, &n)
		return n
	}
	return 0
}

// TestContinuousPicksUpFilesAsTheyLand lands files while a continuous
// stream runs, in new folders too, and waits for gold to count them all.
func TestContinuousPicksUpFilesAsTheyLand(t *testing.T) {
	dir, proj := newProject(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var batches []*pipeline.Report
	var mu sync.Mutex
	done := make(chan error, 1)
	go func() {
		// The polling fallback is a day away: whatever is picked up, file
		// notifications picked up.
		done <- stream.Run(ctx, proj, stream.Options{Trigger: stream.Continuous, Interval: 24 * time.Hour, OnBatch: func(r *pipeline.Report) {
			mu.Lock()
			batches = append(batches, r)
			mu.Unlock()
		}})
	}()
	const files, rows = 25, 20
	for i := range files {
		land(t, dir, i, rows)
		time.Sleep(20 * time.Millisecond)
	}
	// No deadline: files that are never picked up hang the test until go
	// test's -timeout fails it.
	for {
		n, v := totals(t, proj)
		if n == files*rows && v == files*rows {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("stream returned %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) < 2 {
		t.Fatalf("%d batches: the files should have arrived over several", len(batches))
	}
}

// TestAvailableNowInBoundedBatches processes a backlog three files at a
// time and stops when it is done.
func TestAvailableNowInBoundedBatches(t *testing.T) {
	dir, proj := newProject(t)
	for i := range 10 {
		land(t, dir, i, 5)
	}
	var sizes []int
	err := stream.Run(t.Context(), proj, stream.Options{Trigger: stream.AvailableNow, MaxFiles: 3, OnBatch: func(r *pipeline.Report) {
		for _, tr := range r.Tables {
			if tr.Table == "bronze.events" && tr.Status == pipeline.StatusOK {
				sizes = append(sizes, tr.Files)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[3 3 3 1]" {
		t.Fatalf("batches of %v files, want [3 3 3 1]", sizes)
	}
	if n, _ := totals(t, proj); n != 50 {
		t.Fatalf("gold counts %d rows, want 50", n)
	}
}

// TestCompactionBoundsSmallFiles appends one small file per batch and checks
// that background compaction keeps the bronze table's file count bounded
// without changing its rows.
func TestCompactionBoundsSmallFiles(t *testing.T) {
	dir, proj := newProject(t)
	metrics := stream.NewMetrics(nil)
	for i := range 12 {
		land(t, dir, i, 3)
		if err := stream.Run(t.Context(), proj, stream.Options{Trigger: stream.AvailableNow, CompactAfter: 4, Metrics: metrics}); err != nil {
			t.Fatal(err)
		}
	}
	lake, err := pipeline.OpenLake(t.Context(), filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(t.Context(), "bronze.events")
	if err != nil {
		t.Fatal(err)
	}
	if snap.NumFiles() > 4 {
		t.Fatalf("bronze.events has %d files, want compaction to keep it at 4 or fewer", snap.NumFiles())
	}
	if n, v := totals(t, proj); n != 36 || v != 36 {
		t.Fatalf("gold = %d rows, sum %d, want 36 and 36", n, v)
	}
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Query(t.Context(), "SELECT count(*), count(DISTINCT id) FROM bronze.events")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != int64(36) || res.Rows[0][1] != int64(36) {
		t.Fatalf("bronze rows %v after compaction", res.Rows[0])
	}
}
