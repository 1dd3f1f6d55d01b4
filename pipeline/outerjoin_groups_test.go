package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/RoaringBitmap/roaring/v2/roaring64"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/pipeline"
)

const outerJoinConfig = `
name: shop
sources:
  orders:
    schema: {qty: long}
  cats:
    mode: upsert
    keys: [sku]
`

// TestIncrementalByLeftJoinEqualsFullRecompute: an incremental_by model
// LEFT JOINs a table that supplies its group column. When a row of that
// table is deleted (a deletion vector, as Spark's DELETE writes) or a row
// arrives that orders already referred to, the orders move to or from the
// NULL group; the incremental run must leave the model equal to its full
// recompute (no stale group).
func TestIncrementalByLeftJoinEqualsFullRecompute(t *testing.T) {
	model := `-- name: gold.by_cat
-- incremental_by: [cat]
SELECT c.cat, count(*) AS n, sum(o.qty) AS qty
FROM bronze.orders o LEFT JOIN bronze.cats c ON o.sku = c.sku
GROUP BY c.cat
`
	full := `SELECT c.cat, count(*) AS n, sum(o.qty) AS qty
FROM bronze.orders o LEFT JOIN bronze.cats c ON o.sku = c.sku
GROUP BY c.cat ORDER BY c.cat NULLS FIRST`
	using := `-- name: gold.by_cat
-- incremental_by: [cat]
SELECT cat, count(*) AS n, sum(qty) AS qty
FROM bronze.orders LEFT JOIN bronze.cats USING (sku)
GROUP BY cat
`
	unqualified := `-- name: gold.by_cat
-- incremental_by: [cat]
SELECT c.cat, count(*) AS n, sum(o.qty) AS qty
FROM bronze.orders o LEFT JOIN bronze.cats c ON o.sku = c.sku AND cat IS NOT NULL
GROUP BY c.cat
`
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, proj *pipeline.Project)
		want   string
		model  string // default: model
		whole  bool   // the run recomputes the model whole (a join it cannot rewrite)
	}{
		{"delete x with a deletion vector", func(t *testing.T, proj *pipeline.Project) {
			deleteRowsDV(t, proj, "bronze.cats", "sku", "x")
		}, "<nil>,3,12 toys,1,1", "", false},
		{"delete every matched row", func(t *testing.T, proj *pipeline.Project) {
			deleteRowsDV(t, proj, "bronze.cats", "sku", "x", "a")
		}, "<nil>,4,13", "", false},
		{"a referenced row arrives", func(t *testing.T, proj *pipeline.Project) {
			addFiles(t, proj.Dir, map[string]string{"landing/cats/b.csv": "sku,cat\nz,food\n"})
		}, "books,2,8 food,1,4 toys,1,1", "", false},
		{"a LEFT JOIN USING is recomputed whole", func(t *testing.T, proj *pipeline.Project) {
			deleteRowsDV(t, proj, "bronze.cats", "sku", "x")
		}, "<nil>,3,12 toys,1,1", using, true},
		{"an unqualified column in ON is recomputed whole", func(t *testing.T, proj *pipeline.Project) {
			deleteRowsDV(t, proj, "bronze.cats", "sku", "x")
		}, "<nil>,3,12 toys,1,1", unqualified, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := model
			if tc.model != "" {
				m = tc.model
			}
			_, proj := writeProject(t, map[string]string{
				"medallion.yaml":       outerJoinConfig,
				"models/gold.sql":      m,
				"landing/cats/a.csv":   "sku,cat\na,toys\nx,books\n",
				"landing/orders/a.csv": "sku,qty\na,1\nx,3\nx,5\n",
			})
			if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			// More orders (one for z, which has no category yet): the
			// model's next run is incremental and records its versions.
			addFiles(t, proj.Dir, map[string]string{"landing/orders/b.csv": "sku,qty\nz,4\n"})
			if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			if got, want := rowsText(query(t, proj, "SELECT cat, n, qty FROM gold.by_cat ORDER BY cat NULLS FIRST")), rowsText(query(t, proj, full)); got != want {
				t.Fatalf("gold before the change: %s, full recompute %s", got, want)
			}

			tc.change(t, proj)
			var mu sync.Mutex
			var log []string
			rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Log: func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }})
			if err != nil {
				t.Fatal(err)
			}
			if tr := tableReport(rep, "gold.by_cat"); tr == nil || tr.Status != pipeline.StatusOK {
				t.Fatalf("gold.by_cat after the change: %+v", tr)
			}
			how := "groups touched by changes"
			if tc.whole {
				how = "recomputing in full"
			}
			if !slices.ContainsFunc(log, func(s string) bool {
				return strings.Contains(s, "gold.by_cat") && strings.Contains(s, how)
			}) {
				t.Errorf("the run's log does not say gold.by_cat: %s:\n%s", how, strings.Join(log, "\n"))
			}
			got := rowsText(query(t, proj, "SELECT cat, n, qty FROM gold.by_cat ORDER BY cat NULLS FIRST"))
			want := rowsText(query(t, proj, full))
			if want != tc.want {
				t.Fatalf("full recompute %s, want %s", want, tc.want)
			}
			if got != want {
				t.Errorf("gold.by_cat after the change: %s, full recompute %s", got, want)
			}
		})
	}
}

// deleteRowsDV deletes the rows of table whose col is among values by committing
// deletion vectors (as Spark's DELETE does; medallion does not write them).
func deleteRowsDV(t *testing.T, proj *pipeline.Project, table, col string, values ...string) {
	t.Helper()
	ctx := context.Background()
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lake.Table(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ci := slices.IndexFunc(snap.Schema().Fields, func(f delta.StructField) bool { return f.Name == col })
	var acts []delta.Action
	for _, a := range snap.Files() {
		rows, err := snap.ReadFileRows(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		bm := roaring64.New()
		if a.DeletionVector != nil {
			t.Fatalf("%s already has a deletion vector", a.Path)
		}
		for i, r := range rows {
			if v, ok := r[ci].(string); ok && slices.Contains(values, v) {
				bm.Add(uint64(i))
			}
		}
		if bm.IsEmpty() {
			continue
		}
		dv, err := delta.InlineDeletionVector(bm)
		if err != nil {
			t.Fatal(err)
		}
		with := *a
		with.DeletionVector = dv
		with.DataChange = true
		acts = append(acts, delta.Action{Remove: &delta.Remove{Path: a.Path, DataChange: true, PartitionValues: a.PartitionValues}}, delta.Action{Add: &with})
	}
	if len(acts) == 0 {
		t.Fatalf("no row of %s has %s in %v", table, col, values)
	}
	p := *snap.Protocol()
	p.MinReaderVersion, p.MinWriterVersion = 3, 7
	if !slices.Contains(p.ReaderFeatures, "deletionVectors") {
		p.ReaderFeatures = append(slices.Clone(p.ReaderFeatures), "deletionVectors")
		p.WriterFeatures = append(slices.Clone(p.WriterFeatures), "deletionVectors")
	}
	acts = append([]delta.Action{{Protocol: &p}, {CommitInfo: &delta.CommitInfo{Timestamp: 1, Operation: "DELETE"}}}, acts...)
	b, err := delta.MarshalActions(acts)
	if err != nil {
		t.Fatal(err)
	}
	layer, name, _ := strings.Cut(table, ".")
	commit := filepath.Join(proj.Resolve(proj.Config.Lake), layer, name, "_delta_log", fmt.Sprintf("%020d.json", snap.Version()+1))
	if err := os.WriteFile(commit, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
