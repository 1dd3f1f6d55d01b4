package pipeline_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestRescuedCountedOnWrittenFiles: a source batch's rescued rows (values
// that did not fit, and rejected records) are counted from the null counts
// of _rescued_data in the files written when they hold the whole batch (an
// append; an overwrite or a merge into no existing file that removed no
// duplicate), without reading the batch again; a merge that rewrites
// files holding other rows too, or a batch with duplicate keys, counts
// them on the batch. Either way the report and the commit's provenance say the
// same numbers.
func TestRescuedCountedOnWrittenFiles(t *testing.T) {
	countQuery := regexp.MustCompile(`count\(_rescued_data\)`)
	for _, tc := range []struct {
		name   string
		source string
		runs   []map[string]string
		// per run: rescued rows, rejected records, and whether the
		// batch is read again to count them
		rescued, rejected []int64
		recount           []bool
	}{
		{name: "append", source: "  items:\n    schema: {sku: string, qty: long}\n",
			runs: []map[string]string{
				{"landing/items/a.csv": "sku,qty\na,1\nb,x\nc,2.5\nd,4\n"},
				{"landing/items/b.csv": "sku,qty\ne,5\nf,6,7\n"},
			},
			rescued: []int64{2, 0}, rejected: []int64{0, 1}, recount: []bool{false, false}},
		{name: "replace", source: "  items:\n    mode: replace\n    schema: {sku: string, qty: long}\n",
			runs: []map[string]string{
				{"landing/items/a.csv": "sku,qty\na,1\nb,x\n"},
			},
			rescued: []int64{1}, rejected: []int64{0}, recount: []bool{false}},
		{name: "upsert", source: "  items:\n    mode: upsert\n    keys: [sku]\n    schema: {sku: string, qty: long}\n",
			runs: []map[string]string{
				{"landing/items/a.csv": "sku,qty\na,1\nb,x\nc,y\n"},
				{"landing/items/b.csv": "sku,qty\nb,2\nd,z\n"},
			},
			rescued: []int64{2, 1}, rejected: []int64{0, 0}, recount: []bool{false, true}},
		{name: "upsert with duplicates", source: "  items:\n    mode: upsert\n    keys: [sku]\n    schema: {sku: string, qty: long}\n",
			runs: []map[string]string{
				{"landing/items/a.csv": "sku,qty\na,x\na,1\nb,y\n"},
			},
			rescued: []int64{2}, rejected: []int64{0}, recount: []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, proj := writeProject(t, map[string]string{"medallion.yaml": "name: rescue\nsources:\n" + tc.source})
			for i, files := range tc.runs {
				addFiles(t, dir, files)
				var trace bytes.Buffer
				rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Trace: &trace})
				if err != nil {
					t.Fatal(err)
				}
				tr := tableReport(rep, "bronze.items")
				if tr.Rescued != tc.rescued[i] || tr.Rejected != tc.rejected[i] {
					t.Errorf("run %d: rescued %d, rejected %d; want %d, %d", i, tr.Rescued, tr.Rejected, tc.rescued[i], tc.rejected[i])
				}
				if got := countQuery.MatchString(trace.String()); got != tc.recount[i] {
					t.Errorf("run %d: batch read again to count rescued rows: %v, want %v", i, got, tc.recount[i])
				}
				lake, err := pipeline.OpenLake(t.Context(), filepath.Join(dir, "lake"), nil)
				if err != nil {
					t.Fatal(err)
				}
				tbl, err := lake.Table(t.Context(), "bronze.items")
				if err != nil {
					t.Fatal(err)
				}
				hist, err := tbl.History(t.Context(), 1)
				if err != nil {
					t.Fatal(err)
				}
				var info struct{ Rescued, Rejected int64 }
				if err := json.Unmarshal(hist[0].CommitInfo.Extra["medallion"], &info); err != nil {
					t.Fatal(err)
				}
				if info.Rescued != tc.rescued[i] || info.Rejected != tc.rejected[i] {
					t.Errorf("run %d: commit info rescued %d, rejected %d; want %d, %d", i, info.Rescued, info.Rejected, tc.rescued[i], tc.rejected[i])
				}
			}
		})
	}
}

// TestCommittedTableBoundWhenRead: a table is not bound again right after
// its commit; the model that reads it binds it when it runs, at the
// version committed. gold.total, which no model reads, is never bound by
// the run (its check makes an empty table, not a view); silver.items is
// bound for gold.total, and the gold table holds the new rows.
func TestCommittedTableBoundWhenRead(t *testing.T) {
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: bind\nsources:\n  items:\n    schema: {sku: string, qty: long}\n",
		"models/silver.sql":   "-- name: silver.items\nSELECT sku, qty FROM bronze.items\n",
		"models/gold.sql":     "-- name: gold.total\nSELECT sum(qty) AS qty FROM silver.items\n",
		"landing/items/a.csv": "sku,qty\na,1\nb,2\n",
	})
	bindOf := func(table string) *regexp.Regexp {
		layer, name, _ := strings.Cut(table, ".")
		return regexp.MustCompile(`CREATE OR REPLACE VIEW "` + layer + `"\."` + name + `" AS`)
	}
	for i, want := range []int64{3, 7} {
		if i > 0 {
			addFiles(t, dir, map[string]string{"landing/items/b.csv": "sku,qty\nc,4\n"})
		}
		var trace bytes.Buffer
		if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Trace: &trace, Parallelism: 1}); err != nil {
			t.Fatal(err)
		}
		if bindOf("gold.total").MatchString(trace.String()) {
			t.Errorf("run %d: gold.total was bound after its commit", i)
		}
		if n := len(bindOf("silver.items").FindAllString(trace.String(), -1)); n != 1 {
			t.Errorf("run %d: silver.items bound %d times, want once (for gold.total)", i, n)
		}
		if got := query(t, proj, "SELECT CAST(qty AS BIGINT) FROM gold.total"); len(got) != 1 || got[0][0] != want {
			t.Errorf("run %d: gold.total %v, want %d", i, got, want)
		}
	}
}

// TestCleanResultWrittenAsComputed: a model's rows are counted in the
// pass that counts its expectations' failures, and when no row fails a
// quarantine or drop rule (keys_not_null included) the result is written
// as computed: no quarantine table is computed and no filtered view made.
// Rows that fail are still quarantined and dropped, and counted.
func TestCleanResultWrittenAsComputed(t *testing.T) {
	quarantineStmt := regexp.MustCompile(`AS _quarantine_rule`)
	filterView := regexp.MustCompile(`CREATE TEMP VIEW __rel_\d+_ AS SELECT \* FROM __rel_\d+_ WHERE true AND`)
	for _, tc := range []struct {
		name                          string
		rows                          string
		in, out, quarantined, dropped int64
		warned                        int64
	}{
		{name: "clean", rows: "sku,qty\na,1\nb,2\nc,-3\n", in: 3, out: 3, warned: 1},
		{name: "null key", rows: "sku,qty\na,1\n,2\nc,3\n", in: 3, out: 2, quarantined: 1},
		{name: "dropped", rows: "sku,qty\na,1\nb,0\nc,3\n", in: 3, out: 2, dropped: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, proj := writeProject(t, map[string]string{
				"medallion.yaml": "name: clean\nsources:\n  items:\n    schema: {sku: string, qty: long}\n",
				"models/silver.sql": `-- name: silver.items
-- keys: [sku]
-- expectations:
--   - {name: positive, expr: "qty >= 0", action: warn}
--   - {name: not_zero, expr: "qty <> 0", action: drop}
SELECT sku, qty FROM bronze.items
`,
				"landing/items/a.csv": tc.rows,
			})
			var trace bytes.Buffer
			rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Trace: &trace})
			if err != nil {
				t.Fatal(err)
			}
			tr := tableReport(rep, "silver.items")
			if tr.RowsIn != tc.in || tr.RowsOut != tc.out || tr.Quarantined != tc.quarantined || tr.Dropped != tc.dropped {
				t.Errorf("in %d out %d quarantined %d dropped %d; want %d %d %d %d", tr.RowsIn, tr.RowsOut, tr.Quarantined, tr.Dropped, tc.in, tc.out, tc.quarantined, tc.dropped)
			}
			for _, e := range tr.Expectations {
				if e.Name == "positive" && e.Failed != tc.warned {
					t.Errorf("warn expectation failed for %d rows, want %d", e.Failed, tc.warned)
				}
			}
			if got := quarantineStmt.MatchString(trace.String()); got != (tc.quarantined > 0) {
				t.Errorf("quarantined rows computed: %v, want %v", got, tc.quarantined > 0)
			}
			if got := filterView.MatchString(trace.String()); got != (tc.quarantined+tc.dropped > 0) {
				t.Errorf("rows filtered through a view: %v, want %v", got, tc.quarantined+tc.dropped > 0)
			}
			if got := query(t, proj, "SELECT count(*) FROM silver.items"); got[0][0] != tc.out {
				t.Errorf("silver.items holds %v rows, want %d", got[0][0], tc.out)
			}
		})
	}
}

// TestRowsInFromWrittenFiles: a model with no keys and no expectations is
// not counted before its write: its rows in are what the files written
// hold when they hold exactly its rows (a full computation), and counted
// when the write also keeps other rows (touched groups replaced among
// the table's files).
func TestRowsInFromWrittenFiles(t *testing.T) {
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: rowsin\nsources:\n  items:\n    schema: {day: string, qty: long}\n",
		"models/gold.sql":     "-- name: gold.daily\n-- incremental_by: [day]\nSELECT day, sum(qty) AS qty FROM bronze.items GROUP BY day\n",
		"landing/items/a.csv": "day,qty\nd1,1\nd2,2\nd3,3\nd1,4\n",
	})
	modelCount := regexp.MustCompile(`SELECT count\(\*\) FROM __rel_\d+_\s*$`)
	for i, tc := range []struct {
		file      map[string]string
		in        int64
		recounted bool
	}{
		{in: 3},
		{file: map[string]string{"landing/items/b.csv": "day,qty\nd2,5\nd4,1\n"}, in: 2, recounted: true},
	} {
		addFiles(t, dir, tc.file)
		var trace bytes.Buffer
		rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Trace: &trace, Parallelism: 1})
		if err != nil {
			t.Fatal(err)
		}
		if tr := tableReport(rep, "gold.daily"); tr.RowsIn != tc.in {
			t.Errorf("run %d: rows in %d, want %d", i, tr.RowsIn, tc.in)
		}
		counted := false
		for _, line := range strings.Split(trace.String(), "\n") {
			counted = counted || modelCount.MatchString(line)
		}
		if counted != tc.recounted {
			t.Errorf("run %d: result counted by a query: %v, want %v", i, counted, tc.recounted)
		}
	}
	if got := query(t, proj, "SELECT day, CAST(qty AS BIGINT) FROM gold.daily ORDER BY day"); fmt.Sprint(got) != "[[d1 5] [d2 7] [d3 3] [d4 1]]" {
		t.Errorf("gold.daily: %v", got)
	}
}
