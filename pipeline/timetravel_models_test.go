package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/pipeline"
)

// tableSnapshot is a lake table's latest snapshot.
func tableSnapshot(t *testing.T, proj *pipeline.Project, name string) *delta.Snapshot {
	t.Helper()
	lake, err := pipeline.OpenLake(t.Context(), proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(t.Context(), name)
	if err != nil || snap == nil {
		t.Fatalf("%s: %v %v", name, snap, err)
	}
	return snap
}

// writeCommit writes actions as the table's next commit, as another engine
// would.
func writeCommit(t *testing.T, proj *pipeline.Project, table string, snap *delta.Snapshot, acts []delta.Action) {
	t.Helper()
	b, err := delta.MarshalActions(acts)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(append([]string{proj.Resolve(proj.Config.Lake)}, strings.Split(table, ".")...)...)
	if err := os.WriteFile(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", snap.Version()+1)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestModelTimeTravel: a model pinned to version N of a table (VERSION AS
// OF, TIMESTAMP AS OF that version's commit time, and delta_scan of its path
// in both spellings) keeps N's rows while
// the table moves on, is recomputed on every run, and a model next to it
// reading the latest version sees the new rows.
func TestModelTimeTravel(t *testing.T) {
	ctx := context.Background()
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":      shopConfig,
		"landing/items/a.csv": "sku,qty,price\na,1,10\nb,2,20\nc,3,30\n",
	})
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	pinned := tableSnapshot(t, proj, "bronze.items")
	ts := pinned.Timestamp().UTC().Format("2006-01-02 15:04:05.000")
	addFiles(t, dir, map[string]string{
		"models/pinned.sql": fmt.Sprintf(`-- name: gold.pinned
SELECT sku, qty
FROM bronze.items VERSION AS OF %d
`, pinned.Version()),
		"models/at_time.sql": fmt.Sprintf(`-- name: gold.at_time
SELECT count(*) AS n, sum(i.qty) AS qty FROM bronze.items TIMESTAMP AS OF '%s' i
`, ts),
		"models/by_path.sql": fmt.Sprintf(`-- name: gold.by_path
SELECT (SELECT count(*) FROM delta_scan('%[1]s') VERSION AS OF %[2]d) AS n,
       (SELECT sum(qty) FROM delta_scan('%[1]s', version => %[2]d)) AS qty
`, filepath.Join(proj.Resolve(proj.Config.Lake), "bronze", "items"), pinned.Version()),
		"models/latest.sql": `-- name: gold.latest
SELECT count(*) AS n FROM bronze.items
`,
		"landing/items/b.csv": "sku,qty,price\nb,7,20\nd,4,40\n",
	})
	for run := 1; run <= 3; run++ {
		proj, err := pipeline.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for _, name := range []string{"gold.pinned", "gold.at_time", "gold.by_path"} {
			if tr := tableReport(rep, name); tr == nil || tr.Status != pipeline.StatusOK {
				t.Errorf("run %d: %s: %+v, want ok (recomputed every run)", run, name, tr)
			}
		}
		if got := rowsText(query(t, proj, "SELECT sku, qty FROM gold.pinned ORDER BY sku")); got != "a,1 b,2 c,3" {
			t.Errorf("run %d: gold.pinned = %s, want version %d's rows a,1 b,2 c,3", run, got, pinned.Version())
		}
		if got := rowsText(query(t, proj, "SELECT n, qty FROM gold.at_time")); got != "3,6" {
			t.Errorf("run %d: gold.at_time = %s, want 3,6", run, got)
		}
		if got := rowsText(query(t, proj, "SELECT n, qty FROM gold.by_path")); got != "3,6" {
			t.Errorf("run %d: gold.by_path = %s, want 3,6", run, got)
		}
		want := map[int]string{1: "5", 2: "7", 3: "7"}[run] // bronze keeps every row
		if got := rowsText(query(t, proj, "SELECT n FROM gold.latest")); got != want {
			t.Errorf("run %d: gold.latest = %s, want %s", run, got, want)
		}
		if run == 1 {
			addFiles(t, dir, map[string]string{"landing/items/c.csv": "sku,qty,price\na,9,10\ne,5,50\n"})
		}
	}
	if v := tableSnapshot(t, proj, "bronze.items").Version(); v <= pinned.Version() {
		t.Fatalf("bronze.items did not move on (version %d)", v)
	}
}

// TestModelTimeTravelErrors: a pinned version that does not exist stops the
// run before it writes anything, naming the model's file and line; a
// malformed reference, and time travel in a view or an incremental model,
// are refused when the project loads.
func TestModelTimeTravelErrors(t *testing.T) {
	ctx := context.Background()
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":      shopConfig,
		"landing/items/a.csv": "sku,qty,price\na,1,10\n",
	})
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	addFiles(t, dir, map[string]string{
		"models/ok.sql":  "-- name: gold.ok\nSELECT count(*) AS n FROM bronze.items\n",
		"models/bad.sql": "-- name: gold.bad\nSELECT sku\nFROM bronze.items VERSION AS OF 99\n",
	})
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline.Run(ctx, proj, pipeline.RunOptions{})
	var merr *pipeline.ModelError
	if !errors.As(err, &merr) || !strings.HasSuffix(filepath.ToSlash(merr.File), "models/bad.sql") || merr.Line != 3 || !strings.Contains(merr.Msg, "version 99") {
		t.Fatalf("run with a missing pinned version: %v (%+v), want models/bad.sql line 3 naming version 99", err, merr)
	}
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	if snap, err := lake.Snapshot(ctx, "gold.ok"); err != nil || snap != nil {
		t.Errorf("the pre-run check failed, yet gold.ok was written (%v, %v)", snap, err)
	}
	if err := os.Remove(filepath.Join(dir, "models", "bad.sql")); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ model, want string }{
		"view":        {"-- name: silver.v\n-- materialized: view\nSELECT * FROM bronze.items VERSION AS OF 0\n", "a view cannot read"},
		"incremental": {"-- name: silver.inc\n-- incremental_by: [sku]\nSELECT sku FROM bronze.items VERSION AS OF 0\n", "recomputed in full each run"},
		"bad version": {"-- name: silver.x\nSELECT * FROM bronze.items VERSION AS OF latest\n", "VERSION AS OF needs a version number"},
		"bad changes": {"-- name: silver.x\nSELECT * FROM table_changes('bronze.items')\n", "table_changes takes a table name, a start version"},
	} {
		d, _ := writeProject(t, map[string]string{"medallion.yaml": shopConfig})
		addFiles(t, d, map[string]string{"models/m.sql": tc.model})
		_, err := pipeline.Load(d)
		if err == nil || !strings.Contains(err.Error(), "m.sql") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: load: %v, want an error naming m.sql and %q", name, err, tc.want)
		}
	}
}

// TestModelTableChanges: a model reads table_changes('bronze.items', v) of
// a table whose change data feed another engine turned on at version v and
// which it then deleted a file from: the model gets the deleted rows as
// delete changes, with their commit version.
func TestModelTableChanges(t *testing.T) {
	ctx := context.Background()
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":      shopConfig,
		"landing/items/a.csv": "sku,qty,price\na,1,10\nb,2,20\n",
	})
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	addFiles(t, dir, map[string]string{"landing/items/b.csv": "sku,qty,price\nc,3,30\n"})
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	// ALTER TABLE … SET TBLPROPERTIES (delta.enableChangeDataFeed = true).
	snap := tableSnapshot(t, proj, "bronze.items")
	p := *snap.Protocol()
	if p.MinWriterVersion >= 7 {
		p.WriterFeatures = append(slices.Clone(p.WriterFeatures), "changeDataFeed")
	} else {
		p.MinWriterVersion = max(p.MinWriterVersion, 4)
	}
	md := *snap.Metadata()
	md.Configuration = maps.Clone(md.Configuration)
	if md.Configuration == nil {
		md.Configuration = map[string]string{}
	}
	md.Configuration[delta.PropEnableChangeDataFeed] = "true"
	writeCommit(t, proj, "bronze.items", snap, []delta.Action{{CommitInfo: &delta.CommitInfo{Timestamp: time.Now().UnixMilli(), Operation: "SET TBLPROPERTIES"}}, {Protocol: &p}, {MetaData: &md}})
	on := snap.Version() + 1

	// DELETE of the file that holds c.
	snap = tableSnapshot(t, proj, "bronze.items")
	var victim *delta.Add
	skuCol := slices.IndexFunc(snap.Schema().Fields, func(f delta.StructField) bool { return f.Name == "sku" })
	for _, a := range snap.Files() {
		rows, err := snap.ReadFileRows(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0][skuCol] == "c" {
			victim = a
		}
	}
	if victim == nil {
		t.Fatal("no file holds only c")
	}
	size := victim.Size
	writeCommit(t, proj, "bronze.items", snap, []delta.Action{{CommitInfo: &delta.CommitInfo{Timestamp: time.Now().UnixMilli(), Operation: "DELETE"}},
		{Remove: &delta.Remove{Path: victim.Path, DataChange: true, PartitionValues: victim.PartitionValues, Size: &size}}})

	addFiles(t, dir, map[string]string{"models/changes.sql": fmt.Sprintf(`-- name: gold.item_changes
SELECT sku, qty, _change_type, _commit_version FROM table_changes('bronze.items', %d)
`, on)})
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(proj.Model("gold.item_changes").Deps, "bronze.items") {
		t.Errorf("table_changes' table is not among the model's inputs: %v", proj.Model("gold.item_changes").Deps)
	}
	rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Select: []string{"gold.item_changes"}})
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableReport(rep, "gold.item_changes"); tr == nil || tr.Status != pipeline.StatusOK {
		t.Fatalf("gold.item_changes: %+v", tr)
	}
	want := fmt.Sprintf("c,3,delete,%d", on+1)
	if got := rowsText(query(t, proj, "SELECT * FROM gold.item_changes ORDER BY sku")); got != want {
		t.Errorf("gold.item_changes = %s, want %s", got, want)
	}
}
