package delta_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/delta/internal/peertables"
)

// Time travel and the change data feed in SQL (`medallion query`, a
// separate OS process), compared with what Spark reads from the same
// tables: versionAsOf, timestampAsOf and readChangeFeed (spark_tables.py
// writes Spark's answers next to the tables).

// lakeProject makes a project folder whose lake holds copies of Spark's
// tables as silver.<name>.
func lakeProject(t *testing.T, tables ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range tables {
		dst := filepath.Join(dir, "lake", "silver", name)
		if err := os.CopyFS(dst, os.DirFS(peerDir(t, "spark", name))); err != nil {
			t.Fatal(err)
		}
		// CopyFS does not keep modification times, which are the commit
		// times of the log: keep them, for TIMESTAMP AS OF.
		src := peerDir(t, "spark", name)
		logs, _ := filepath.Glob(filepath.Join(src, "_delta_log", "*"))
		for _, l := range logs {
			st, err := os.Stat(l)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(filepath.Join(dst, "_delta_log", filepath.Base(l)), st.ModTime(), st.ModTime()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// TestTimeTravelVersionSQL: `layer.table VERSION AS OF n` and
// `delta_scan('path') VERSION AS OF n` read every version of dv_ops (with
// deletion vectors) as Spark's versionAsOf does.
func TestTimeTravelVersionSQL(t *testing.T) {
	dir := lakeProject(t, "dv_ops")
	path := strings.ReplaceAll(peerDir(t, "spark", "dv_ops"), "'", "''")
	for v := 0; v <= 6; v++ {
		spark := sparkCSV(t, fmt.Sprintf("dv_ops.v%d.spark.csv", v))
		for _, sql := range []string{
			fmt.Sprintf("SELECT * FROM silver.dv_ops VERSION AS OF %d", v),
			fmt.Sprintf("SELECT dv_ops.* FROM silver.dv_ops VERSION AS OF %d WHERE dv_ops.id >= 0 OR dv_ops.id IS NULL", v),
			fmt.Sprintf("SELECT * FROM delta_scan('%s') VERSION AS OF %d AS d", path, v),
		} {
			got := queryCLIIn(t, dir, sql)
			if v == 0 {
				got = got[:1] // Spark's header only: no rows
			}
			if !slices.Equal(got, spark) {
				t.Errorf("%s:\n got %q\nSpark %q", sql, got, spark)
			}
		}
	}
	// DuckDB's delta extension spelling, which medallion binds itself.
	if got, spark := queryCLIIn(t, dir, "SELECT * FROM delta_scan('"+path+"', version => 2)"), sparkCSV(t, "dv_ops.v2.spark.csv"); !slices.Equal(got, spark) {
		t.Errorf("delta_scan(…, version => 2):\n got %q\nSpark %q", got, spark)
	}
	// The latest version and an older one in one statement.
	got := queryCLIIn(t, dir, "SELECT (SELECT count(*) FROM silver.dv_ops) AS now, (SELECT count(*) FROM silver.dv_ops VERSION AS OF 1) AS then")
	if want := []string{"now,then", fmt.Sprintf("%d,%d", len(sparkCSV(t, "dv_ops.v6.spark.csv"))-1, len(sparkCSV(t, "dv_ops.v1.spark.csv"))-1)}; !slices.Equal(got, want) {
		t.Errorf("counts %q, want %q", got, want)
	}
}

// TestTimeTravelTimestampSQL: TIMESTAMP AS OF version 3's commit time reads
// what Spark's timestampAsOf reads.
func TestTimeTravelTimestampSQL(t *testing.T) {
	dir := lakeProject(t, "dv_ops")
	b, err := os.ReadFile(filepath.Join(peertables.Spark(t), "dv_ops.ts3.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ts := strings.TrimSpace(string(b))
	spark := sparkCSV(t, "dv_ops.ts3.spark.csv")
	if v3 := sparkCSV(t, "dv_ops.v3.spark.csv"); !slices.Equal(spark, v3) {
		t.Fatalf("Spark's timestampAsOf %s is not version 3: %q", ts, spark)
	}
	got := queryCLIIn(t, dir, "SELECT * FROM silver.dv_ops TIMESTAMP AS OF '"+ts+"'")
	if !slices.Equal(got, spark) {
		t.Errorf("TIMESTAMP AS OF '%s':\n got %q\nSpark %q", ts, got, spark)
	}
}

// TestTimeTravelErrors: a version past the latest, a timestamp before the
// first commit and a table that does not exist are errors naming them;
// text inside strings is not rewritten.
func TestTimeTravelErrors(t *testing.T) {
	dir := lakeProject(t, "dv_ops")
	for sql, want := range map[string]string{
		"SELECT * FROM silver.dv_ops VERSION AS OF 7":               "version 7 does not exist",
		"SELECT * FROM silver.dv_ops TIMESTAMP AS OF '2001-01-01'":  "before the earliest",
		"SELECT * FROM silver.nope VERSION AS OF 1":                 "silver.nope",
		"SELECT * FROM silver.dv_ops TIMESTAMP AS OF 'yesterday'":   "not a timestamp",
		"SELECT * FROM table_changes('silver.dv_ops', 1)":           "change data feed not enabled",
		"SELECT * FROM silver.dv_ops VERSION AS OF 1; DROP TABLE x": "",
		"SELECT * FROM table_changes('silver.dv_ops', 1); SELECT 1": "",
	} {
		_, err := runQueryCLI(t, dir, sql)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one containing %q", sql, err, want)
		}
	}
	got := queryCLIIn(t, dir, "SELECT 'silver.dv_ops VERSION AS OF 1' AS s")
	if want := []string{"s", "silver.dv_ops VERSION AS OF 1"}; !slices.Equal(got, want) {
		t.Errorf("string literal: got %q", got)
	}
}

// TestTableChangesSQL: table_changes('silver.cdf', 0, 6) gives the rows,
// change types, versions and commit times Spark's readChangeFeed gives,
// from cdc files and from the data files of commits without them.
func TestTableChangesSQL(t *testing.T) {
	dir := lakeProject(t, "cdf")
	spark := sparkCSV(t, "cdf.changes.spark.csv")
	got := queryCLIIn(t, dir, "SELECT * EXCLUDE (_commit_timestamp), epoch_ms(_commit_timestamp) AS commit_ms FROM table_changes('silver.cdf', 0, 6)")
	if !slices.Equal(got, spark) {
		t.Errorf("table_changes:\n got %q\nSpark %q", got, spark)
	}
	// A range: the rows of versions 2..3 only, with the end omitted the
	// rows up to the latest.
	var want23, want5 []string
	for _, l := range spark[1:] {
		f := strings.Split(l, ",")
		switch v := f[len(f)-2]; v {
		case "2", "3":
			want23 = append(want23, l)
		}
		if v := f[len(f)-2]; v >= "5" {
			want5 = append(want5, l)
		}
	}
	got = queryCLIIn(t, dir, "SELECT * EXCLUDE (_commit_timestamp), epoch_ms(_commit_timestamp) AS commit_ms FROM table_changes('silver.cdf', 2, 3)")
	if !slices.Equal(got[1:], want23) {
		t.Errorf("table_changes 2..3:\n got %q\nwant %q", got[1:], want23)
	}
	got = queryCLIIn(t, dir, "SELECT * EXCLUDE (_commit_timestamp), epoch_ms(_commit_timestamp) AS commit_ms FROM table_changes('silver.cdf', 5)")
	if !slices.Equal(got[1:], want5) {
		t.Errorf("table_changes 5..:\n got %q\nwant %q", got[1:], want5)
	}
}

// TestInCommitTimestamps: a table with in-commit timestamps (dbx_features)
// travels by the timestamps in its commits, not by the commit files'
// modification times, which a copy or a restore changes: here every commit
// file is touched to now.
func TestInCommitTimestamps(t *testing.T) {
	ctx := context.Background()
	dir := copyPeerTable(t, "spark", "dbx_features")
	ict := map[int64]int64{}
	now := time.Now()
	for v := int64(0); v <= 3; v++ {
		p := commitPath(dir, v)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		acts, err := delta.ParseActions(p, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			if a.CommitInfo != nil && a.CommitInfo.InCommitTimestamp != nil {
				ict[v] = *a.CommitInfo.InCommitTimestamp
			}
		}
		if _, ok := ict[v]; !ok {
			t.Fatalf("version %d has no inCommitTimestamp", v)
		}
		if err := os.Chtimes(p, now, now); err != nil {
			t.Fatal(err)
		}
	}
	tbl := openTable(t, dir, nil)
	for v := int64(0); v <= 3; v++ {
		at, err := tbl.SnapshotAt(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if got := at.Timestamp().UnixMilli(); got != ict[v] {
			t.Errorf("version %d: Timestamp %d, want its inCommitTimestamp %d", v, got, ict[v])
		}
		snap, err := tbl.SnapshotAsOf(ctx, time.UnixMilli(ict[v]))
		if err != nil {
			t.Fatal(err)
		}
		if snap.Version() != v {
			t.Errorf("as of version %d's inCommitTimestamp: version %d", v, snap.Version())
		}
	}
	if _, err := tbl.SnapshotAsOf(ctx, time.UnixMilli(ict[0]-1)); !errors.Is(err, delta.ErrVersionNotFound) {
		t.Errorf("before the first commit: err = %v, want ErrVersionNotFound", err)
	}
}
