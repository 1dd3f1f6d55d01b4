package ecommerce_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// TestParallelRunEqualsSerial runs the built-in project over the same dirty
// landing zone twice, one table at a time (parallelism 1) and four at a time,
// then lands the same 300 new orders (orders, items and payments files) in
// both and runs again (the incremental paths: merges, touched groups, SCD2).
// Every table of every layer, its quarantine and medallion.bad_files, holds
// the same rows in both lakes, and the reports say the same per table.
func TestParallelRunEqualsSerial(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	serial, parallel := filepath.Join(root, "serial"), filepath.Join(root, "parallel")
	if _, err := datagen.Generate(ctx, filepath.Join(serial, "landing"), datagen.Options{Orders: 1500, Seed: 9, Dirty: true}); err != nil {
		t.Fatal(err)
	}
	if err := fstree.Copy(filepath.Join(serial, "landing"), filepath.Join(parallel, "landing")); err != nil {
		t.Fatal(err)
	}
	inc, err := datagen.NewOrders(filepath.Join(serial, "landing"), 300, 9)
	if err != nil {
		t.Fatal(err)
	}
	projects := map[string]*pipeline.Project{}
	for _, dir := range []string{serial, parallel} {
		if projects[dir], err = ecommerce.Project(dir); err != nil {
			t.Fatal(err)
		}
	}
	run := func(dir string, parallelism int) *pipeline.Report {
		t.Helper()
		rep, err := pipeline.Run(ctx, projects[dir], pipeline.RunOptions{Parallelism: parallelism, Log: func(s string) { t.Log(s) }})
		if err != nil {
			t.Fatalf("run with parallelism %d: %v", parallelism, err)
		}
		return rep
	}
	for round, land := range []bool{false, true} {
		if land {
			for _, dir := range []string{serial, parallel} {
				if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
					t.Fatal(err)
				}
			}
		}
		a, b := run(serial, 1), run(parallel, 4)
		if got, want := reportLines(b), reportLines(a); !slices.Equal(got, want) {
			t.Errorf("round %d: reports differ (parallelism 4 vs 1):\n%s", round, firstDiffs(got, want))
		}
		tables := lakeTables(t, serial)
		if got := lakeTables(t, parallel); !slices.Equal(got, tables) {
			t.Fatalf("round %d: tables %v with parallelism 4, %v with 1", round, got, tables)
		}
		if !slices.Contains(tables, "gold.total_revenue") || !slices.Contains(tables, "silver.orders_quarantine") {
			t.Fatalf("round %d: the lake lacks gold or quarantine tables: %v", round, tables)
		}
		for _, name := range tables {
			if name == pipeline.RunsTable {
				continue // run ids, times and durations differ by nature
			}
			q := "SELECT " + stableColumns(t, projects[serial], name) + " FROM " + name
			want, got := stableRows(t, projects[serial], q), stableRows(t, projects[parallel], q)
			if !slices.Equal(got, want) {
				t.Errorf("round %d: %s: %d rows with parallelism 4, %d with 1:\n%s", round, name, len(got), len(want), firstDiffs(got, want))
			}
		}
	}
}

// reportLines renders what a run's report says of each table that does not
// depend on timing, sorted.
func reportLines(rep *pipeline.Report) []string {
	var out []string
	for _, t := range rep.Tables {
		out = append(out, fmt.Sprintf("%s %s %s in=%d out=%d q=%d d=%d dup=%d repl=%d files=%d v=%d err=%q",
			t.Table, t.Kind, t.Status, t.RowsIn, t.RowsOut, t.Quarantined, t.Dropped, t.Duplicates, t.Replaced, t.Files, t.Version, t.Error))
	}
	slices.Sort(out)
	return out
}

// lakeTables lists the lake's tables, sorted.
func lakeTables(t *testing.T, dir string) []string {
	t.Helper()
	lake, err := pipeline.OpenLake(t.Context(), filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	names, err := lake.Tables(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// stableColumns selects the columns of a table but those whose values are
// the time or id of the run that wrote them.
func stableColumns(t *testing.T, proj *pipeline.Project, table string) string {
	t.Helper()
	var volatile []string
	if table == "silver.customers_history" {
		// Its versions start when the customers file was ingested.
		volatile = append(volatile, pipeline.ColStartAt, pipeline.ColEndAt)
	}
	for _, c := range rowsOf(t, proj, "SELECT column_name FROM (DESCRIBE "+table+")") {
		switch c {
		case pipeline.ColIngestedAt, pipeline.ColBatchID, "_quarantine_batch", "_quarantined_at", "first_seen", "last_seen", "resolved_at", "run_id", "modified_at":
			volatile = append(volatile, c)
		}
	}
	if len(volatile) == 0 {
		return "*"
	}
	return "* EXCLUDE (" + strings.Join(volatile, ", ") + ")"
}
