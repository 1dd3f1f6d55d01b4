package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/pipeline"
)

// TestCDCSnapshotLosesColumn: a snapshot without a column the table has
// (the file dropped it) applies to both the SCD 1 and the SCD 2 table: the
// table keeps the column, NULL for the snapshot's rows (SCD 2: the open
// rows and new versions; closed rows keep their values; the loss alone
// closes no row), and the run warns naming the column.
func TestCDCSnapshotLosesColumn(t *testing.T) {
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
	snapshotRun(t, proj, "id,city,note,tier\n1,rio,a,gold\n2,sao,b,silver\n", base.Add(time.Hour))
	// Another engine drops tier from bronze.customers (ALTER TABLE … DROP
	// COLUMN: a new schema in the log, the data files untouched), and the
	// next file has no tier: the snapshot the models see has lost it.
	dropColumn(t, proj, "bronze.customers", "tier")
	at := base.Add(2 * time.Hour)
	log := snapshotRun(t, proj, "id,city,note\n1,rio,a\n2,bh,b\n3,rec,c\n", at)
	for _, m := range []string{"silver.customers_current", "silver.customers_history"} {
		if !logHas(log, "warning: "+m+": the snapshot lost the column(s) tier") {
			t.Errorf("no warning that %s's snapshot lost tier:\n%s", m, strings.Join(log, "\n"))
		}
	}
	if got, want := tableRows(t, proj, "SELECT id, city, note, coalesce(tier, 'NULL') FROM silver.customers_current"), []string{"1|rio|a|NULL", "2|bh|b|NULL", "3|rec|c|NULL"}; !slices.Equal(got, want) {
		t.Errorf("SCD 1: %v, want %v", got, want)
	}
	hist := `SELECT id, city, coalesce(tier, 'NULL'), strftime(__start_at AT TIME ZONE 'UTC', '%H'), coalesce(strftime(__end_at AT TIME ZONE 'UTC', '%H'), 'NULL') FROM silver.customers_history`
	want := []string{"1|rio|NULL|01|NULL", "2|bh|NULL|02|NULL", "2|sao|silver|01|02", "3|rec|NULL|02|NULL"}
	if got := tableRows(t, proj, hist); !slices.Equal(got, want) {
		t.Errorf("SCD 2: %v, want %v", got, want)
	}
	// The next snapshot without the column applies as usual.
	snapshotRun(t, proj, "id,city,note\n1,rio,z\n3,rec,c\n", base.Add(3*time.Hour))
	if got, want := tableRows(t, proj, "SELECT id, city, note, coalesce(tier, 'NULL') FROM silver.customers_current"), []string{"1|rio|z|NULL", "3|rec|c|NULL"}; !slices.Equal(got, want) {
		t.Errorf("SCD 1 after another snapshot: %v, want %v", got, want)
	}
	want = []string{"1|rio|NULL|01|03", "1|rio|NULL|03|NULL", "2|bh|NULL|02|03", "2|sao|silver|01|02", "3|rec|NULL|02|NULL"}
	if got := tableRows(t, proj, hist); !slices.Equal(got, want) {
		t.Errorf("SCD 2 after another snapshot: %v, want %v", got, want)
	}
}

// dropColumn commits a schema without col to the table, as another
// engine's ALTER TABLE DROP COLUMN does (the data files stay as they are).
func dropColumn(t *testing.T, proj *pipeline.Project, table, col string) {
	t.Helper()
	snap := tableSnapshot(t, proj, table)
	schema := *snap.Schema()
	n := len(schema.Fields)
	schema.Fields = slices.DeleteFunc(slices.Clone(schema.Fields), func(f delta.StructField) bool { return f.Name == col })
	if len(schema.Fields) == n {
		t.Fatalf("%s has no column %s", table, col)
	}
	md := *snap.Metadata()
	md.SchemaString = schema.String()
	b, err := delta.MarshalActions([]delta.Action{{CommitInfo: &delta.CommitInfo{Timestamp: 1, Operation: "DROP COLUMNS"}}, {MetaData: &md}})
	if err != nil {
		t.Fatal(err)
	}
	layer, name, _ := strings.Cut(table, ".")
	commit := filepath.Join(proj.Resolve(proj.Config.Lake), layer, name, "_delta_log", fmt.Sprintf("%020d.json", snap.Version()+1))
	if err := os.WriteFile(commit, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
