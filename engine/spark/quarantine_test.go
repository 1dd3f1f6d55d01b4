package spark_test

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
	"github.com/medallionhq/medallion/pipeline"
)

// TestQuarantineOnSpark: the quarantine's de-duplication (pipeline's
// newQuarantined: a window numbering identical rows and a null-safe join
// with the rows held) runs on Spark. A model recomputed run after run, and
// an incremental one through --full-refresh, keep each failing row once in
// their quarantine table, a row that landed twice twice.
func TestQuarantineOnSpark(t *testing.T) {
	remote := sparkserver.Remote(t)
	const rule = "-- expectations:\n--   - {name: has_price, expr: \"price IS NOT NULL\", action: quarantine}\n"
	cases := []struct{ name, model string }{
		{"recomputed whole", "-- name: silver.items\n" + rule + "SELECT sku, qty, price, _ingested_at, _seq FROM bronze.items\n"},
		{"incremental", "-- name: silver.items\n-- incremental: bronze.items\n-- keys: [sku, qty]\n" + rule + "SELECT sku, qty, price, _ingested_at, _seq FROM bronze.items\n"},
	}
	steps := []struct {
		file, csv string
		full      bool
		want      map[string]int64
	}{
		{file: "a.csv", csv: "sku,qty,price\na,1,10\nx,1,\nx,1,\ny,2,\n", want: map[string]int64{"x": 2, "y": 1}},
		{file: "b.csv", csv: "sku,qty,price\nb,1,10\n", want: map[string]int64{"x": 2, "y": 1}},
		{file: "c.csv", csv: "sku,qty,price\nx,1,\nz,3,\n", want: map[string]int64{"x": 3, "y": 1, "z": 1}},
		{full: true, want: map[string]int64{"x": 3, "y": 1, "z": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, text string) {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("medallion.yaml", "name: shop\nengine:\n  kind: spark\n  spark:\n    remote: "+remote+"\nsources:\n  items:\n    schema: {qty: long, price: double}\n")
			write("models/silver.sql", tc.model)
			proj, err := pipeline.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range steps {
				if st.file != "" {
					write("landing/items/"+st.file, st.csv)
				}
				if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Quiet: true, FullRefresh: st.full}); err != nil {
					t.Fatalf("step %d: %v", i+1, err)
				}
				got := map[string]int64{}
				for _, r := range sparktest.QueryLake(t, dir, "SELECT sku, count(*) FROM silver.items_quarantine GROUP BY sku").Rows {
					got[r[0].(string)] = r[1].(int64)
				}
				if !maps.Equal(got, st.want) {
					t.Fatalf("step %d: quarantine holds %v, want %v", i+1, got, st.want)
				}
			}
		})
	}
}
