package duckdb_test

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// TestPartitionedTableBindsAsOneScan: a partitioned table whose files lie
// in folders naming their partition values binds as one hive-partitioned
// read_parquet (not a UNION ALL branch per partition); one with a file
// elsewhere binds per partition. Either way the rows, their partition
// values (a string value that reads as a number included) and a filter on
// the partition columns read back the same.
func TestPartitionedTableBindsAsOneScan(t *testing.T) {
	for _, tc := range []struct {
		name string
		// move puts the first file at the table's root.
		move     bool
		wantHive bool
	}{
		{"files in their partition folders", false, true},
		{"a file outside its partition folder", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			e := open(t)
			tbl := newTable(t, ctx)
			res, err := e.Write(ctx, "SELECT i AS id, CAST(2017 + i % 3 AS INTEGER) AS yr, '00' || (i % 2) AS region FROM range(30) r(i)",
				engine.Target{Store: tbl.Store(), PartitionColumns: []string{"yr", "region"}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.move {
				a := res.Adds[0]
				root, _ := tbl.Store().LocalPath("")
				to := path.Base(a.Path)
				if err := os.Rename(filepath.Join(root, filepath.FromSlash(a.Path)), filepath.Join(root, to)); err != nil {
					t.Fatal(err)
				}
				a.Path = to
			}
			if _, err := tbl.Create(ctx, res.Schema, &delta.CreateOptions{PartitionColumns: []string{"yr", "region"}}); err != nil {
				t.Fatal(err)
			}
			cr, err := tbl.Append(ctx, res.Adds, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Bind(ctx, "silver.t", cr.Snapshot, nil); err != nil {
				t.Fatal(err)
			}
			view, err := e.Query(ctx, "SELECT sql FROM duckdb_views() WHERE schema_name = 'silver' AND view_name = 't'")
			if err != nil || len(view.Rows) != 1 {
				t.Fatalf("view: %v %v", view, err)
			}
			sql := view.Rows[0][0].(string)
			if hive := strings.Contains(sql, "hive_partitioning") && !strings.Contains(sql, "UNION"); hive != tc.wantHive {
				t.Errorf("bound as one hive-partitioned scan: %v, want %v:\n%s", hive, tc.wantHive, sql)
			}
			got, err := e.Query(ctx, "SELECT count(*), count(DISTINCT id), sum(CASE WHEN yr = 2017 + id % 3 AND region = '00' || (id % 2) THEN 1 END), "+
				"(SELECT count(*) FROM silver.t WHERE yr = 2018 AND region = '001') FROM silver.t")
			if err != nil {
				t.Fatal(err)
			}
			if r := got.Rows[0]; fmtAny(r[0]) != "30" || fmtAny(r[1]) != "30" || fmtAny(r[2]) != "30" || fmtAny(r[3]) != "5" {
				t.Fatalf("read back %v, want 30 rows, 30 ids, 30 with their partition values, 5 in yr=2018/region=001", r)
			}
		})
	}
}
