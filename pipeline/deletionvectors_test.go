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

// TestDeletionVectorReachesIncrementalModel: another engine deletes a row of
// a source table with a deletion vector (as Spark's DELETE does, here written
// into the log by hand); the next run sees the file's change, recomputes the
// incremental model's touched groups without the deleted row, and the row
// is gone from queries of the source.
func TestDeletionVectorReachesIncrementalModel(t *testing.T) {
	ctx := context.Background()
	model := `-- name: gold.by_sku
-- incremental_by: [sku]
SELECT sku, sum(qty) AS qty, count(*) AS n FROM bronze.items GROUP BY sku
`
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      shopConfig,
		"models/gold.sql":     model,
		"landing/items/a.csv": "sku,qty,price\na,1,10\nb,2,20\nc,3,30\n",
	})
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	// A second landing file: the model's next run is incremental.
	if err := os.WriteFile(filepath.Join(proj.Dir, "landing", "items", "b.csv"), []byte("sku,qty,price\nd,4,40\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rowsText(query(t, proj, "SELECT sku, qty, n FROM gold.by_sku ORDER BY sku")); got != "a,1,1 b,2,1 c,3,1 d,4,1" {
		t.Fatalf("gold before the DELETE: %s", got)
	}

	// DELETE FROM bronze.items WHERE sku = 'b', with a deletion vector.
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lake.Table(ctx, "bronze.items")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	skuCol := slices.IndexFunc(snap.Schema().Fields, func(f delta.StructField) bool { return f.Name == "sku" })
	var acts []delta.Action
	for _, a := range snap.Files() {
		rows, err := snap.ReadFileRows(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rows {
			if r[skuCol] != "b" {
				continue
			}
			dv, err := delta.InlineDeletionVector(roaring64.BitmapOf(uint64(i)))
			if err != nil {
				t.Fatal(err)
			}
			with := *a
			with.DeletionVector = dv
			with.DataChange = true
			acts = append(acts, delta.Action{Remove: &delta.Remove{Path: a.Path, DataChange: true, PartitionValues: a.PartitionValues}}, delta.Action{Add: &with})
		}
	}
	if len(acts) != 2 {
		t.Fatalf("sku b is in %d files, want 1", len(acts)/2)
	}
	p := *snap.Protocol()
	p.MinReaderVersion, p.MinWriterVersion = 3, 7
	p.ReaderFeatures = append(slices.Clone(p.ReaderFeatures), "deletionVectors")
	p.WriterFeatures = append(slices.Clone(p.WriterFeatures), "deletionVectors")
	acts = append([]delta.Action{{Protocol: &p}, {CommitInfo: &delta.CommitInfo{Timestamp: 1, Operation: "DELETE"}}}, acts...)
	b, err := delta.MarshalActions(acts)
	if err != nil {
		t.Fatal(err)
	}
	commit := filepath.Join(proj.Resolve(proj.Config.Lake), "bronze", "items", "_delta_log", fmt.Sprintf("%020d.json", snap.Version()+1))
	if err := os.WriteFile(commit, b, 0o644); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var log []string
	rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Log: func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableReport(rep, "gold.by_sku"); tr == nil || tr.Status != pipeline.StatusOK {
		t.Fatalf("gold.by_sku after the DELETE: %+v", tr)
	}
	if !slices.ContainsFunc(log, func(s string) bool {
		return strings.Contains(s, "gold.by_sku") && strings.Contains(s, "groups touched by changes")
	}) {
		t.Errorf("the run did not recompute gold.by_sku by touched groups:\n%s", strings.Join(log, "\n"))
	}
	if got := rowsText(query(t, proj, "SELECT sku, qty, n FROM gold.by_sku ORDER BY sku")); got != "a,1,1 c,3,1 d,4,1" {
		t.Errorf("gold after the DELETE: %s, want b gone", got)
	}
	if got := rowsText(query(t, proj, "SELECT sku FROM bronze.items ORDER BY sku")); got != "a c d" {
		t.Errorf("bronze after the DELETE: %s, want b gone", got)
	}

	// medallion does not write deletion vectors: ingesting into the table
	// now is refused naming the feature, and the table keeps its rows.
	if err := os.WriteFile(filepath.Join(proj.Dir, "landing", "items", "c.csv"), []byte("sku,qty,price\nb,9,90\ne,5,50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = pipeline.Run(ctx, proj, pipeline.RunOptions{})
	msg := fmt.Sprint(err)
	if tr := tableReport(rep, "bronze.items"); tr != nil {
		msg += " " + tr.Error
	}
	if !strings.Contains(msg, "deletionVectors") {
		t.Errorf("ingest into a table with deletion vectors: err %v, report %q; want a refusal naming deletionVectors", err, msg)
	}
	if got := rowsText(query(t, proj, "SELECT sku FROM bronze.items ORDER BY sku")); got != "a c d" {
		t.Errorf("bronze after the refused ingest: %s, want a c d", got)
	}
}

// rowsText renders rows as "v,v v,v" for comparisons.
func rowsText(rows [][]any) string {
	var out []string
	for _, r := range rows {
		var f []string
		for _, v := range r {
			f = append(f, fmt.Sprint(v))
		}
		out = append(out, strings.Join(f, ","))
	}
	return strings.Join(out, " ")
}
