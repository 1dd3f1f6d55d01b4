package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

// TestQueryTimeTravel: POST /api/query takes VERSION AS OF and TIMESTAMP AS
// OF on layer.table names; every version of a table the pipeline wrote twice
// reads as the Delta log's own snapshot of it does, and bad references are
// 400s naming the problem.
func TestQueryTimeTravel(t *testing.T) {
	ctx := context.Background()
	dir, proj := runShop(t)
	if err := os.WriteFile(filepath.Join(dir, "landing", "items", "b.csv"), []byte("sku,qty,price\nf,7,1\ng,8,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lake.Table(ctx, "bronze.items")
	if err != nil {
		t.Fatal(err)
	}
	latest, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Version() < 1 {
		t.Fatalf("bronze.items has only version %d", latest.Version())
	}
	h := newServer(t, proj, Options{QueryMaxRows: 1000, QueryTimeout: 30 * time.Second}).Handler()
	count := func(sql string) float64 {
		t.Helper()
		var res QueryResult
		b, _ := json.Marshal(map[string]string{"sql": sql})
		code, body := do(t, h, "POST", "/api/query", string(b), &res)
		wantStatus(t, code, body, 200)
		return res.Rows[0][0].(float64)
	}
	counts := map[float64]bool{}
	for v := int64(0); v <= latest.Version(); v++ {
		snap, err := tbl.SnapshotAt(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := snap.ReadRows(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := float64(len(rows))
		counts[want] = true
		if got := count(fmt.Sprintf("SELECT count(*) FROM bronze.items VERSION AS OF %d", v)); got != want {
			t.Errorf("VERSION AS OF %d: %v rows, the log's snapshot has %v", v, got, want)
		}
		ts := snap.Timestamp().UTC().Format("2006-01-02T15:04:05.000Z")
		if got := count("SELECT count(*) FROM bronze.items TIMESTAMP AS OF '" + ts + "' AS b WHERE b.sku IS NOT NULL OR b.sku IS NULL"); got != want {
			t.Errorf("TIMESTAMP AS OF '%s' (version %d): %v rows, want %v", ts, v, got, want)
		}
	}
	if len(counts) < 2 {
		t.Fatalf("every version has the same row count %v: the test would not tell versions apart", counts)
	}
	for sql, want := range map[string]string{
		fmt.Sprintf("SELECT * FROM bronze.items VERSION AS OF %d", latest.Version()+1): fmt.Sprintf("version %d does not exist", latest.Version()+1),
		"SELECT * FROM table_changes('bronze.items', 0)":                               "change data feed not enabled",
		"SELECT * FROM bronze.items VERSION AS OF 0; DELETE FROM bronze.items":         "read-only",
	} {
		b, _ := json.Marshal(map[string]string{"sql": sql})
		code, body := do(t, h, "POST", "/api/query", string(b), nil)
		wantStatus(t, code, body, 400)
		wantError(t, body, want)
	}
}
