package pipeline_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

// snapshotRun replaces the customers file of a snapshot project with body,
// ingested at (the file's modification time and the run's clock), runs the
// project and returns the run's log.
func snapshotRun(t *testing.T, proj *pipeline.Project, body string, at time.Time) []string {
	t.Helper()
	file := filepath.Join(proj.Dir, "landing", "customers", "customers.csv")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(file, at, at); err != nil {
		t.Fatal(err)
	}
	var log []string
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Now: func() time.Time { return at }, Log: func(s string) { log = append(log, s) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range rep.Tables {
		if tr.Error != "" {
			t.Fatalf("%s: %s", tr.Table, tr.Error)
		}
	}
	return log
}

// tableFiles lists the data files of a lake table now.
func tableFiles(t *testing.T, proj *pipeline.Project, table string) []string {
	t.Helper()
	lake, err := pipeline.OpenLake(t.Context(), proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(t.Context(), table)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range snap.Files() {
		out = append(out, f.Path)
	}
	slices.Sort(out)
	return out
}

const (
	currentSQL = "SELECT id, city, note FROM silver.customers_current"
	snapHist   = `SELECT id, city, note, strftime(__start_at AT TIME ZONE 'UTC', '%H'), coalesce(strftime(__end_at AT TIME ZONE 'UTC', '%H'), 'NULL') FROM silver.customers_history`
)

// TestCDCSnapshotSCD1SkipsStale: an SCD 1 snapshot model (whose table does
// not keep the sequence column) skips a snapshot older than the last one it
// applied, with a warning, as SCD 2 does; a newer one applies.
func TestCDCSnapshotSCD1SkipsStale(t *testing.T) {
	_, proj := writeProject(t, snapshotProject)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snapshotRun(t, proj, "id,city,note\n1,rio,a\n2,sao,b\n", base.Add(time.Hour))
	snapshotRun(t, proj, "id,city,note\n1,rio,a\n2,bh,b\n3,sao,c\n", base.Add(2*time.Hour))
	want := []string{"1|rio|a", "2|bh|b", "3|sao|c"}
	if got := tableRows(t, proj, currentSQL); !slices.Equal(got, want) {
		t.Fatalf("current: %v, want %v", got, want)
	}
	log := snapshotRun(t, proj, "id,city,note\n1,old,old\n", base.Add(90*time.Minute))
	if got := tableRows(t, proj, currentSQL); !slices.Equal(got, want) {
		t.Errorf("the older snapshot changed silver.customers_current: %v, want %v", got, want)
	}
	if !logHas(log, "warning: silver.customers_current: the snapshot's _ingested_at is not after the last one applied; skipped") {
		t.Errorf("no warning for the stale snapshot:\n%s", strings.Join(log, "\n"))
	}
	snapshotRun(t, proj, "id,city,note\n1,new,n\n", base.Add(3*time.Hour))
	if got, want := tableRows(t, proj, currentSQL), []string{"1|new|n"}; !slices.Equal(got, want) {
		t.Errorf("a newer snapshot after the stale one: %v, want %v", got, want)
	}
}

// TestCDCSnapshotGainsColumn: a snapshot with a new column adds it to both
// the SCD 1 and the SCD 2 table (schema evolution): rows before it hold
// NULL, an open row whose tracked columns are unchanged takes the new
// column's value in place (no new version), a changed one opens a version
// with it.
func TestCDCSnapshotGainsColumn(t *testing.T) {
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": snapshotProject["medallion.yaml"],
		"models/customers_history.sql": `-- name: silver.customers_history
-- keys: [id]
-- sequence_by: [_ingested_at]
-- cdc: {scd: 2, snapshot: true, except_columns: [_source_file, _batch_id, _seq, _rescued_data]}
SELECT * FROM bronze.customers
`,
		"models/customers_current.sql": `-- name: silver.customers_current
-- keys: [id]
-- sequence_by: [_ingested_at]
-- cdc: {scd: 1, snapshot: true, except_columns: [_ingested_at, _source_file, _batch_id, _seq, _rescued_data]}
SELECT * FROM bronze.customers
`,
	})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snapshotRun(t, proj, "id,city,note\n1,rio,a\n2,sao,b\n", base.Add(time.Hour))
	log := snapshotRun(t, proj, "id,city,note,tier\n1,rio,a,gold\n2,bh,b,silver\n", base.Add(2*time.Hour))
	if !logHas(log, "silver.customers_history: the snapshot adds the column(s) tier") {
		t.Errorf("the run did not say the snapshot added tier:\n%s", strings.Join(log, "\n"))
	}
	if got, want := tableRows(t, proj, "SELECT id, city, note, tier FROM silver.customers_current"), []string{"1|rio|a|gold", "2|bh|b|silver"}; !slices.Equal(got, want) {
		t.Errorf("SCD 1: %v, want %v", got, want)
	}
	got := tableRows(t, proj, `SELECT id, city, coalesce(tier, 'NULL'), strftime(__start_at AT TIME ZONE 'UTC', '%H'), coalesce(strftime(__end_at AT TIME ZONE 'UTC', '%H'), 'NULL') FROM silver.customers_history`)
	want := []string{"1|rio|gold|01|NULL", "2|bh|silver|02|NULL", "2|sao|NULL|01|02"}
	if !slices.Equal(got, want) {
		t.Errorf("SCD 2: %v, want %v", got, want)
	}
}

// TestCDCSnapshotUnchangedCommitsNothing: a snapshot replaced by the same
// rows rewrites no file of the SCD 1 or SCD 2 table (no delete and insert
// of the same rows); the next changed snapshot applies as usual.
func TestCDCSnapshotUnchangedCommitsNothing(t *testing.T) {
	_, proj := writeProject(t, snapshotProject)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	body := "id,city,note\n1,rio,a\n2,sao,b\n"
	snapshotRun(t, proj, body, base.Add(time.Hour))
	snapshotRun(t, proj, "id,city,note\n1,rio,a\n2,bh,b\n", base.Add(2*time.Hour))
	tables := []string{"silver.customers_history", "silver.customers_current"}
	before := map[string][]string{}
	for _, tab := range tables {
		before[tab] = tableFiles(t, proj, tab)
	}
	hist, cur := tableRows(t, proj, snapHist), tableRows(t, proj, currentSQL)
	log := snapshotRun(t, proj, "id,city,note\n1,rio,a\n2,bh,b\n", base.Add(3*time.Hour))
	for _, tab := range tables {
		if got := tableFiles(t, proj, tab); !slices.Equal(got, before[tab]) {
			t.Errorf("%s: the unchanged snapshot rewrote the table's files:\n got %v\nwant %v", tab, got, before[tab])
		}
		if !logHas(log, tab+": the snapshot changes no row") {
			t.Errorf("%s: the run did not say the snapshot changes no row:\n%s", tab, strings.Join(log, "\n"))
		}
	}
	if got := tableRows(t, proj, snapHist); !slices.Equal(got, hist) {
		t.Errorf("history changed: %v, want %v", got, hist)
	}
	if got := tableRows(t, proj, currentSQL); !slices.Equal(got, cur) {
		t.Errorf("current changed: %v, want %v", got, cur)
	}
	// A run with nothing new: up to date (the skipped snapshot's input
	// version was recorded).
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Now: func() time.Time { return base.Add(4 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tab := range tables {
		if tr := tableReport(rep, tab); tr == nil || tr.Status != pipeline.StatusUpToDate {
			t.Errorf("%s on a run with nothing new: %+v, want up to date", tab, tr)
		}
	}
	snapshotRun(t, proj, "id,city,note\n1,bh,a\n2,bh,b\n", base.Add(5*time.Hour))
	if got, want := tableRows(t, proj, snapHist), []string{"1|bh|a|05|NULL", "1|rio|a|01|05", "2|bh|b|02|NULL", "2|sao|b|01|02"}; !slices.Equal(got, want) {
		t.Errorf("history after a changed snapshot: %v, want %v", got, want)
	}
}
