package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestUpsertsWithKeyIndexes: an upsert source and a model with keys keep
// a key index beside their files (engine/duckdb's, on local disk), and
// every run's merge still replaces each landed key's row — also when a
// file's index is gone (a lake written before indexes) or damaged.
func TestUpsertsWithKeyIndexes(t *testing.T) {
	ctx := t.Context()
	items := func(from, to, qty int) string {
		var b strings.Builder
		b.WriteString("sku,qty\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "s%d,%d\n", i, qty)
		}
		return b.String()
	}
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml": `
name: shop
sources:
  items:
    mode: upsert
    keys: [sku]
    schema: {sku: string, qty: long}
`,
		"models/stock.sql":    "-- name: silver.stock\n-- keys: [sku]\n-- incremental: bronze.items\nSELECT sku, qty * 10 AS units FROM bronze.items\n",
		"landing/items/a.csv": items(0, 100, 1),
	})
	indexes := func(table string) []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(dir, "lake", table, "_medallion_keys", "*", "*.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for i, step := range []struct {
		files  map[string]string
		damage func()
	}{
		{},
		{files: map[string]string{"landing/items/b.csv": items(50, 150, 2)}},
		{files: map[string]string{"landing/items/c.csv": items(90, 110, 3)}, damage: func() {
			// bronze's indexes removed, silver's damaged.
			for _, p := range indexes("bronze/items") {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range indexes("silver/stock") {
				if err := os.WriteFile(p, []byte("damaged"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{files: map[string]string{"landing/items/d.csv": items(0, 5, 4)}},
	} {
		if step.damage != nil {
			step.damage()
		}
		addFiles(t, dir, step.files)
		rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		for _, name := range []string{"bronze.items", "silver.stock"} {
			if tr := tableReport(rep, name); tr == nil || tr.Status != pipeline.StatusOK {
				t.Fatalf("run %d: %s: %+v", i, name, tr)
			}
		}
		if i == 0 && (len(indexes("bronze/items")) == 0 || len(indexes("silver/stock")) == 0) {
			t.Fatalf("run 0: no key index: bronze %v, silver %v", indexes("bronze/items"), indexes("silver/stock"))
		}
	}
	// One row per key, the last landed quantity: s0-s4 4, s5-s49 1,
	// s50-s89 2, s90-s109 3, s110-s149 2.
	const qty = 4*5 + 1*45 + 2*40 + 3*20 + 2*40
	for _, q := range []string{
		"SELECT count(*), count(DISTINCT sku), sum(qty) FROM bronze.items",
		"SELECT count(*), count(DISTINCT sku), sum(units) / 10 FROM silver.stock",
	} {
		if got, want := rowsText(query(t, proj, q)), fmt.Sprintf("150,150,%d", qty); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}
