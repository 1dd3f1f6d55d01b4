package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/pipeline"
)

// feedConfig: an upsert source (a merged table) with the change data feed
// on for every table.
const feedConfig = `
name: feed
tables:
  properties: {delta.enableChangeDataFeed: "true"}
sources:
  items:
    mode: upsert
    keys: [id]
    schema: {id: long, grp: string, v: long}
`

// feedSilver reads bronze.items as a stream (merged by key).
const feedSilver = `-- name: silver.items
-- keys: [id]
-- incremental: bronze.items
SELECT id, grp, v * 10 AS v10 FROM bronze.items
`

const feedGold = `-- name: gold.by_grp
-- incremental_by: [grp]
SELECT grp, sum(v) AS v, count(*) AS n FROM bronze.items GROUP BY grp
`

// fullGroups is gold.by_grp computed in full from bronze.items now.
const fullGroups = "SELECT grp, sum(v) AS v, count(*) AS n FROM bronze.items GROUP BY grp ORDER BY grp"

// runLogged runs the project and returns the run's log lines.
func runLogged(t *testing.T, proj *pipeline.Project) []string {
	t.Helper()
	log, _ := runReport(t, proj)
	return log
}

// runReport runs the project and returns the run's log lines and report.
func runReport(t *testing.T, proj *pipeline.Project) ([]string, *pipeline.Report) {
	t.Helper()
	var mu sync.Mutex
	var log []string
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Log: func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range rep.Tables {
		if tr.Error != "" {
			t.Fatalf("%s: %s", tr.Table, tr.Error)
		}
	}
	return log, rep
}

// logHas reports whether a log line holds every part.
func logHas(log []string, parts ...string) bool {
	return slices.ContainsFunc(log, func(s string) bool {
		for _, p := range parts {
			if !strings.Contains(s, p) {
				return false
			}
		}
		return true
	})
}

// deleteWithFeed deletes the rows of table matching where as Spark's DELETE
// does on a change-data-feed table: it rewrites each file holding such rows
// without them and writes their deletes to a _change_data file, in one
// commit with cdc actions.
func deleteWithFeed(t *testing.T, proj *pipeline.Project, table, where string) {
	t.Helper()
	ctx := t.Context()
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
	eng, err := engine.Open(ctx, &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sub, err := tbl.Store().Sub(delta.ChangeDataDir)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, f := range snap.Schema().Fields {
		cols = append(cols, eng.Quote(f.Name))
	}
	sel := strings.Join(cols, ", ")
	cdcSchema := &delta.StructType{Fields: append(slices.Clone(snap.Schema().Fields), delta.StructField{Name: delta.ColChangeType, Type: delta.Primitive(delta.TypeString), Nullable: true})}
	tx := tbl.Begin(snap)
	tx.SetOperation("DELETE", map[string]any{"predicate": `["` + where + `"]`})
	deleted := 0
	for _, f := range snap.Files() {
		rel, err := eng.BindRelation(ctx, snap, []*delta.Add{f})
		if err != nil {
			t.Fatal(err)
		}
		res, err := eng.Query(ctx, "SELECT count(*) FROM "+rel.Name+" WHERE "+where)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Rows[0][0]) == "0" {
			continue
		}
		deleted++
		kept, err := eng.Write(ctx, "SELECT "+sel+" FROM "+rel.Name+" WHERE NOT ("+where+")", engine.Target{Store: tbl.Store(), Schema: snap.Schema()})
		if err != nil {
			t.Fatal(err)
		}
		cdc, err := eng.Write(ctx, "SELECT "+sel+", 'delete' AS _change_type FROM "+rel.Name+" WHERE "+where, engine.Target{Store: sub, Schema: cdcSchema})
		if err != nil {
			t.Fatal(err)
		}
		tx.RemoveAdd(f, true)
		tx.AddFiles(kept.Adds...)
		for _, a := range cdc.Adds {
			tx.AddChangeData(&delta.AddCDCFile{Path: delta.ChangeDataDir + "/" + a.Path, PartitionValues: a.PartitionValues, Size: a.Size})
		}
	}
	if deleted == 0 {
		t.Fatalf("no row of %s matches %s", table, where)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalModelReadsChangeFeed: an incremental_by model downstream of
// a merged table with the change data feed takes the changed rows from the
// feed: after merges that update rows and move them between groups and a
// DELETE (as Spark writes it, with a change data file), only the groups of
// the changed rows — their old and new groups — are recomputed, although
// every merge rewrote the one file holding every group (the old way, which
// reads the rewritten files, touches them all). When the feed's files are
// gone (vacuumed) the run says so and falls back to the rewritten files.
// After each run the model equals its full recompute. An incremental model
// reading the table as a stream merges only the new rows of the feed
// (inserts and update post-images), not every row of the rewritten file.
func TestIncrementalModelReadsChangeFeed(t *testing.T) {
	var rows strings.Builder
	rows.WriteString("id,grp,v\n")
	grps := []string{"a", "b", "c", "d", "e", "f"}
	for id := 1; id <= 30; id++ {
		fmt.Fprintf(&rows, "%d,%s,%d\n", id, grps[(id-1)%len(grps)], id)
	}
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      feedConfig,
		"models/gold.sql":     feedGold,
		"models/silver.sql":   feedSilver,
		"landing/items/1.csv": rows.String(),
	})
	check := func(step string) {
		t.Helper()
		got := rowsText(query(t, proj, "SELECT grp, v, n FROM gold.by_grp ORDER BY grp"))
		if want := rowsText(query(t, proj, fullGroups)); got != want {
			t.Errorf("%s: gold.by_grp is\n%s\nits full recompute is\n%s", step, got, want)
		}
	}
	runLogged(t, proj)
	check("first run")

	land := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(proj.Dir, "landing", "items", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		change  func()
		groups  int   // groups touched
		feed    bool  // read from the change data feed
		newRows int64 // rows silver.items merges (-1: not checked)
	}{
		// id 1 moves a -> b, id 2 (b) changes value, id 31 is new in f:
		// groups a, b, f.
		{"update and move", func() { land("2.csv", "id,grp,v\n1,b,100\n2,b,200\n31,f,31\n") }, 3, true, 3},
		// id 5 lands again (same values, new ingestion columns: group e)
		// and id 9 moves c -> d.
		{"same row again and move", func() { land("3.csv", "id,grp,v\n5,e,5\n9,d,9\n") }, 3, true, 2},
		// DELETE of id 4 (group d), with a change data file.
		{"delete", func() { deleteWithFeed(t, proj, "bronze.items", "id = 4") }, 1, true, 0},
	}
	for _, s := range steps {
		s.change()
		log, rep := runReport(t, proj)
		if tr := tableReport(rep, "silver.items"); s.newRows > 0 && (tr == nil || tr.RowsIn != s.newRows) {
			t.Errorf("%s: silver.items merged %+v rows, want the %d new rows of the feed", s.name, tr, s.newRows)
		}
		if s.newRows > 0 {
			got := rowsText(query(t, proj, "SELECT id, grp, v10 FROM silver.items ORDER BY id"))
			if want := rowsText(query(t, proj, "SELECT id, grp, v * 10 FROM bronze.items ORDER BY id")); got != want {
				t.Errorf("%s: silver.items is\n%s\nits full recompute is\n%s", s.name, got, want)
			}
		}
		if s.feed && !logHas(log, "gold.by_grp: changed rows of bronze.items", "from its change data feed") {
			t.Errorf("%s: the run did not read the change data feed:\n%s", s.name, strings.Join(log, "\n"))
		}
		if want := fmt.Sprintf("gold.by_grp: %d groups touched by changes", s.groups); !logHas(log, want) {
			t.Errorf("%s: want %q in the run log:\n%s", s.name, want, strings.Join(log, "\n"))
		}
		check(s.name)
	}

	// Two merges of one key before the models run: they merge the key's
	// last post-image only.
	for i, v := range []int{70, 700} {
		land(fmt.Sprintf("twice%d.csv", i), fmt.Sprintf("id,grp,v\n7,a,%d\n", v))
		if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Select: []string{"bronze.items"}}); err != nil {
			t.Fatal(err)
		}
	}
	_, rep := runReport(t, proj)
	if tr := tableReport(rep, "silver.items"); tr == nil || tr.RowsIn != 1 {
		t.Errorf("two merges of id 7: silver.items merged %+v rows, want 1", tr)
	}
	if got := rowsText(query(t, proj, "SELECT v10 FROM silver.items WHERE id = 7")); got != "7000" {
		t.Errorf("two merges of id 7: silver.items has v10 = %s, want 7000", got)
	}
	check("two merges of one key")

	// The feed's files of the next change are vacuumed before the model
	// reads them: the run says so and finds the changed rows in the
	// rewritten files, every group of the one file.
	land("4.csv", "id,grp,v\n6,a,60\n")
	lakeDir := proj.Resolve(proj.Config.Lake)
	// Ingest only, so that the model has not yet read the change.
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Select: []string{"bronze.items"}}); err != nil {
		t.Fatal(err)
	}
	cdc, _ := filepath.Glob(filepath.Join(lakeDir, "bronze", "items", delta.ChangeDataDir, "*.parquet"))
	if len(cdc) == 0 {
		t.Fatal("the merges wrote no change data files")
	}
	for _, f := range cdc {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	log := runLogged(t, proj)
	if !logHas(log, "gold.by_grp: the change data feed of bronze.items does not cover", "reading its changed files instead") {
		t.Errorf("the run did not say it fell back from the vacuumed feed:\n%s", strings.Join(log, "\n"))
	}
	all := len(query(t, proj, "SELECT DISTINCT grp FROM bronze.items"))
	if want := fmt.Sprintf("gold.by_grp: %d groups touched by changes", all); !logHas(log, want) {
		t.Errorf("fallback: want %q (the rewritten file holds every group):\n%s", want, strings.Join(log, "\n"))
	}
	check("fallback after vacuum")
}
