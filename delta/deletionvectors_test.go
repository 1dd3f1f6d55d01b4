package delta_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/delta/internal/peertables"
)

// Deletion vectors, as Spark writes them (spark_tables.py): DELETE, UPDATE
// and MERGE on dv_ops, a table whose vectors were purged (dv_purge) and a
// vector with every kind of roaring container (dv_big). TestPeerTables
// compares the rows of every version with the expectations; the tests here
// hold them to Spark's own reading and cover what surrounds the vectors.

var dvTables = []string{"deletion_vectors", "dv_ops", "dv_purge", "dv_big"}

// sparkCSV reads what Spark read back from a table (header and sorted rows).
func sparkCSV(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(peertables.Spark(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestDeletionVectorsSparkVersions: every version of dv_ops reads as Spark
// reads it with versionAsOf.
func TestDeletionVectorsSparkVersions(t *testing.T) {
	ctx := context.Background()
	tbl := openTable(t, peerDir(t, "spark", "dv_ops"), nil)
	for v := int64(0); v <= 6; v++ {
		spark := sparkCSV(t, fmt.Sprintf("dv_ops.v%d.spark.csv", v))
		snap, err := tbl.SnapshotAt(ctx, v)
		if err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		got := append([]string{columnNames(snap)}, sortedRows(t, snap)...)
		// Spark sorts its lines as strings; so does sortedRows.
		if !slices.Equal(got, spark) {
			t.Errorf("version %d:\n got %q\nSpark %q", v, got, spark)
		}
	}
}

// TestDeletionVectorsInLog: the tables carry what the tests claim — vectors
// on disk after DELETE, none before it or after REORG … APPLY (PURGE) —
// so that the reads above prove what they name.
func TestDeletionVectorsInLog(t *testing.T) {
	ctx := context.Background()
	count := func(name string, v int64) int {
		snap, err := openTable(t, peerDir(t, "spark", name), nil).SnapshotAt(ctx, v)
		if err != nil {
			t.Fatalf("%s@%d: %v", name, v, err)
		}
		if !slices.Contains(snap.Protocol().ReaderFeatures, "deletionVectors") {
			t.Fatalf("%s@%d: protocol %+v lacks deletionVectors", name, v, snap.Protocol())
		}
		n := 0
		for _, a := range snap.Files() {
			if a.DeletionVector != nil {
				if a.DeletionVector.StorageType != delta.DVUUID {
					t.Errorf("%s@%d: vector of storage type %q", name, v, a.DeletionVector.StorageType)
				}
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		table string
		v     int64
		some  bool
	}{
		{"dv_purge", 1, false}, {"dv_purge", 2, true}, {"dv_purge", 3, false},
		{"dv_ops", 2, true}, {"dv_ops", 5, true}, {"dv_big", 2, true},
	} {
		if n := count(tc.table, tc.v); (n > 0) != tc.some {
			t.Errorf("%s@%d: %d files with a vector, want some: %v", tc.table, tc.v, n, tc.some)
		}
	}
}

// TestDeletionVectorsInline: the same vectors stored inline in the log
// (storage type "i") read the same. Spark writes on-disk vectors; the test
// moves the one of deletion_vectors into its commit and deletes the file.
func TestDeletionVectorsInline(t *testing.T) {
	ctx := context.Background()
	dir := copyPeerTable(t, "spark", "deletion_vectors")
	snap, err := openTable(t, dir, nil).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := commitPath(dir, snap.Version())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var dvFiles []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		var a struct {
			Add *delta.Add `json:"add"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatal(err)
		}
		if a.Add != nil && a.Add.DeletionVector != nil {
			bm, err := delta.ReadDeletionVector(ctx, snap.Store(), a.Add.DeletionVector)
			if err != nil {
				t.Fatal(err)
			}
			k, err := delta.DVFileKey(a.Add.DeletionVector)
			if err != nil {
				t.Fatal(err)
			}
			dvFiles = append(dvFiles, k)
			if a.Add.DeletionVector, err = delta.InlineDeletionVector(bm); err != nil {
				t.Fatal(err)
			}
			nb, err := json.Marshal(map[string]any{"add": a.Add})
			if err != nil {
				t.Fatal(err)
			}
			l = string(nb)
		}
		out = append(out, l)
	}
	if len(dvFiles) == 0 {
		t.Fatalf("no deletion vector in %s", path)
	}
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, k := range dvFiles {
		if err := os.Remove(filepath.Join(dir, k)); err != nil {
			t.Fatal(err)
		}
	}
	snap, err = openTable(t, dir, nil).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dv := snap.Files()[0].DeletionVector; dv == nil || dv.StorageType != delta.DVInline {
		t.Fatalf("vector %+v, want inline", dv)
	}
	checkRows(t, snap, findPeerRead(t, "spark", "deletion_vectors").Rows)
}

// TestDeletionVectorsDamaged: a missing or damaged vector file is an error
// naming the file, never the rows read without their deletions.
func TestDeletionVectorsDamaged(t *testing.T) {
	ctx := context.Background()
	for name, damage := range map[string]func(string) error{
		"missing": os.Remove,
		"flipped byte": func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x55
			return os.WriteFile(p, b, 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := copyPeerTable(t, "spark", "deletion_vectors")
			snap, err := openTable(t, dir, nil).Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			k, err := delta.DVFileKey(snap.Files()[0].DeletionVector)
			if err != nil {
				t.Fatal(err)
			}
			if err := damage(filepath.Join(dir, k)); err != nil {
				t.Fatal(err)
			}
			_, err = snap.ReadRows(ctx)
			if err == nil || !strings.Contains(err.Error(), k) {
				t.Fatalf("err = %v, want an error naming %s", err, k)
			}
		})
	}
}

// TestDeletionVectorsVacuum: vacuum with no retention deletes the vector
// files no version needs any more and keeps the ones in use; the table
// reads the same after.
func TestDeletionVectorsVacuum(t *testing.T) {
	ctx := context.Background()
	dir := copyPeerTable(t, "spark", "dv_ops")
	tbl := openTable(t, dir, &delta.Options{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inUse := map[string]bool{}
	for _, a := range snap.Files() {
		if a.DeletionVector != nil {
			k, err := delta.DVFileKey(a.DeletionVector)
			if err != nil {
				t.Fatal(err)
			}
			inUse[k] = true
		}
	}
	all, _ := filepath.Glob(filepath.Join(dir, "deletion_vector_*.bin"))
	if len(inUse) == 0 || len(all) <= len(inUse) {
		t.Fatalf("%d vector files, %d in use: the table should have old vectors too", len(all), len(inUse))
	}
	zero := time.Duration(0)
	res, err := tbl.Vacuum(ctx, &delta.VacuumOptions{Retention: &zero, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if inUse[f] {
			t.Errorf("vacuum deleted %s, a vector in use", f)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "deletion_vector_*.bin"))
	if len(left) != len(inUse) {
		t.Errorf("%d vector files left, want the %d in use", len(left), len(inUse))
	}
	snap, err = openTable(t, dir, nil).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, snap, findPeerRead(t, "spark", "dv_ops").Rows)
}

// TestDeletionVectorsWritesRefused: medallion does not write deletion
// vectors; every write into a table with the feature is refused naming it,
// and the log is left as it was (optimize, which applies the vectors, is
// TestDeletionVectorsOptimize).
func TestDeletionVectorsWritesRefused(t *testing.T) {
	ctx := context.Background()
	dir := copyPeerTable(t, "spark", "dv_ops")
	before := logFiles(t, dir)
	tbl := openTable(t, dir, nil)
	v := "a"
	add := &delta.Add{Path: "x.parquet", PartitionValues: map[string]*string{"grp": &v}, Size: 1, DataChange: true}
	for what, write := range map[string]func() error{
		"append":    func() error { _, err := tbl.Append(ctx, []*delta.Add{add}, nil); return err },
		"overwrite": func() error { _, err := tbl.Overwrite(ctx, []*delta.Add{add}, nil, nil); return err },
	} {
		err := write()
		if !errors.Is(err, delta.ErrUnsupportedFeature) || !strings.Contains(err.Error(), "deletionVectors") {
			t.Errorf("%s: err = %v, want ErrUnsupportedFeature naming deletionVectors", what, err)
		}
	}
	if after := logFiles(t, dir); !slices.Equal(before, after) {
		t.Errorf("refused writes changed the log:\nbefore %v\nafter  %v", before, after)
	}
}

// TestDeletionVectorsQueryCLI: `medallion query` over delta_scan, a separate
// OS process through the DuckDB engine, reads the rows Spark reads.
func TestDeletionVectorsQueryCLI(t *testing.T) {
	for _, name := range dvTables {
		t.Run(name, func(t *testing.T) {
			pr := findPeerRead(t, "spark", name)
			got := queryCLI(t, "SELECT * FROM delta_scan('"+strings.ReplaceAll(peerDir(t, "spark", name), "'", "''")+"')")
			want := append([]string{pr.Columns}, slices.Sorted(slices.Values(pr.Rows))...)
			if !slices.Equal(got, want) {
				t.Errorf("rows\n got %.400q\nwant %.400q", got, want)
			}
		})
	}
}

// queryCLI runs `medallion query` in a fresh project folder and returns the
// header and the sorted rows of its CSV output.
func queryCLI(t *testing.T, sql string) []string {
	t.Helper()
	return queryCLIIn(t, t.TempDir(), sql)
}

// queryCLIIn runs `medallion query` in the project folder dir.
func queryCLIIn(t *testing.T, dir, sql string) []string {
	t.Helper()
	out, err := runQueryCLI(t, dir, sql)
	if err != nil {
		t.Fatalf("medallion query %s: %v", sql, err)
	}
	return out
}

// runQueryCLI is queryCLIIn returning the command's failure (with its
// stderr) instead of failing the test.
func runQueryCLI(t *testing.T, dir, sql string) ([]string, error) {
	t.Helper()
	cmd := exec.Command(medallionBin(t), "query", "-C", dir, "--format", "csv", sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	recs, err := csv.NewReader(&stdout).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("csv output: %v\n%s", err, stdout.String())
	}
	var rows []string
	for _, r := range recs[1:] {
		rows = append(rows, strings.Join(r, ","))
	}
	slices.Sort(rows)
	return append([]string{strings.Join(recs[0], ",")}, rows...), nil
}

// TestDeletionVectorsChanges: a DELETE that adds a vector to a file is a
// change: Changes reports the file with its new vector as added and with
// its old one as removed, and the rows of the two differ by exactly the
// deleted rows (what incremental models recompute their groups from).
func TestDeletionVectorsChanges(t *testing.T) {
	ctx := context.Background()
	dir := peerDir(t, "spark", "dv_ops")
	tbl := openTable(t, dir, nil)
	snap, err := tbl.SnapshotAt(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	added, removed, err := tbl.Changes(ctx, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) == 0 || len(added) != len(removed) {
		t.Fatalf("DELETE: %d added, %d removed, want the same files on both sides", len(added), len(removed))
	}
	read := func(files []*delta.Add) []string {
		var out []string
		for _, a := range files {
			rows, err := snap.ReadFileRows(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				out = append(out, formatRow(snap, r))
			}
		}
		slices.Sort(out)
		return out
	}
	var olds []*delta.Add
	for _, r := range removed {
		if r.DeletionVector != nil {
			t.Errorf("removed %s had no vector before the first DELETE, got %+v", r.Path, r.DeletionVector)
		}
		olds = append(olds, &delta.Add{Path: r.Path, PartitionValues: r.PartitionValues, DeletionVector: r.DeletionVector})
	}
	for _, a := range added {
		if a.DeletionVector == nil {
			t.Errorf("added %s has no vector", a.Path)
		}
	}
	before, after := read(olds), read(added)
	var gone []string
	for _, r := range before {
		if !slices.Contains(after, r) {
			gone = append(gone, r)
		}
	}
	if want := []string{"0,a,0", "10,a,10", "15,b,15", "5,b,5"}; !slices.Equal(gone, want) {
		t.Errorf("rows the DELETE removed: %q, want %q", gone, want)
	}
	if len(after) != len(before)-4 {
		t.Errorf("%d rows after, %d before", len(after), len(before))
	}
}

// TestDatabricksFeaturesQueryCLI: tables with v2 checkpoints, type widening
// and what a Databricks table carries (clustering, domain metadata, row
// tracking, in-commit timestamps, timestamp_ntz, deletion vectors) read
// through `medallion query` as Spark reads them.
func TestDatabricksFeaturesQueryCLI(t *testing.T) {
	for _, tc := range []struct{ table, sql string }{
		{"type_widening", "SELECT s, i, f FROM delta_scan('%s')"},
		{"dbx_features", "SELECT id, strftime(ts, '%%Y-%%m-%%d %%H:%%M:%%S') AS ts, s FROM delta_scan('%s')"},
		{"v2_checkpoint", "SELECT id, name FROM delta_scan('%s')"},
		{"v2_checkpoint_parquet", "SELECT id, name FROM delta_scan('%s')"},
	} {
		t.Run(tc.table, func(t *testing.T) {
			path := strings.ReplaceAll(peerDir(t, "spark", tc.table), "'", "''")
			got := queryCLI(t, fmt.Sprintf(tc.sql, path))
			var want []string
			if _, err := os.Stat(filepath.Join(peertables.Spark(t), tc.table+".spark.csv")); err == nil {
				want = sparkCSV(t, tc.table+".spark.csv")
			} else {
				pr := findPeerRead(t, "spark", tc.table)
				want = []string{"id,name"}
				for _, r := range slices.Sorted(slices.Values(pr.Rows)) {
					f := strings.Split(r, ",")
					want = append(want, f[0]+","+f[1])
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("rows\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestDeletionVectorsLiveRows: the row counts the stats give (`medallion
// tables`, the API's table list) leave out the rows vectors delete.
func TestDeletionVectorsLiveRows(t *testing.T) {
	for _, name := range dvTables {
		snap, err := openTable(t, peerDir(t, "spark", name), nil).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, a := range snap.Files() {
			n, ok := a.LiveRows()
			if !ok {
				t.Fatalf("%s: %s has no numRecords", name, a.Path)
			}
			total += n
		}
		if want := int64(len(findPeerRead(t, "spark", name).Rows)); total != want {
			t.Errorf("%s: %d live rows by the stats, want %d", name, total, want)
		}
	}
}

// TestDeletionVectorsOptimize: optimize compacts the small files of Spark's
// dv_ops, whose files carry deletion vectors: the rows the vectors delete
// are not copied, each removed file's remove action carries its vector, the
// new files carry none, the table reads as Spark reads it, and a later
// vacuum drops the vector files no file uses any more.
func TestDeletionVectorsOptimize(t *testing.T) {
	ctx := context.Background()
	dir := copyPeerTable(t, "spark", "dv_ops")
	tbl := openTable(t, dir, nil)
	before, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vectors := map[string]*delta.DeletionVector{}
	for _, a := range before.Files() {
		if a.DeletionVector != nil {
			vectors[a.Path] = a.DeletionVector
		}
	}
	res, err := tbl.Optimize(ctx, &delta.OptimizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version < 0 || res.FilesRemoved < 2 {
		t.Fatalf("optimize did nothing: %+v", res)
	}
	b, err := os.ReadFile(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", res.Version)))
	if err != nil {
		t.Fatal(err)
	}
	removedVectors := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		var a delta.Action
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		switch {
		case a.Remove != nil:
			want := vectors[a.Remove.Path]
			got := a.Remove.DeletionVector
			if (want == nil) != (got == nil) || want != nil && got.UniqueID() != want.UniqueID() {
				t.Errorf("remove %s carries vector %+v, want the file's %+v", a.Remove.Path, got, want)
			}
			if got != nil {
				k, err := delta.DVFileKey(got)
				if err != nil {
					t.Fatal(err)
				}
				removedVectors[k] = true
			}
		case a.Add != nil && a.Add.DeletionVector != nil:
			t.Errorf("optimize added %s with a deletion vector", a.Add.Path)
		}
	}
	if len(removedVectors) == 0 {
		t.Fatalf("optimize compacted no file with a deletion vector (vectors %v): the test proves nothing", slices.Collect(maps.Keys(vectors)))
	}
	after, err := openTable(t, dir, nil).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := findPeerRead(t, "spark", "dv_ops").Rows
	checkRows(t, after, want)
	var records int64
	for _, a := range after.Files() {
		n, ok := a.LiveRows()
		if !ok {
			t.Fatalf("%s: no row count in its stats", a.Path)
		}
		records += n
	}
	if records != int64(len(want)) {
		t.Errorf("the files' stats count %d live rows, want %d", records, len(want))
	}

	inUse := map[string]bool{}
	for _, a := range after.Files() {
		if a.DeletionVector != nil {
			k, err := delta.DVFileKey(a.DeletionVector)
			if err != nil {
				t.Fatal(err)
			}
			inUse[k] = true
		}
	}
	zero := time.Duration(0)
	later := openTable(t, dir, &delta.Options{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if _, err := later.Vacuum(ctx, &delta.VacuumOptions{Retention: &zero, Force: true}); err != nil {
		t.Fatal(err)
	}
	for k := range removedVectors {
		if _, err := os.Stat(filepath.Join(dir, k)); !inUse[k] && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("vacuum left %s, the vector of a compacted file (%v)", k, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "deletion_vector_*.bin"))
	if len(left) != len(inUse) {
		t.Errorf("%d vector files left, want the %d in use", len(left), len(inUse))
	}
	snap, err := openTable(t, dir, nil).Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, snap, want)
}

// TestDeletionVectorsOptimizeCLI: `medallion optimize` on Spark's dv_ops in
// a project's lake, a separate OS process, compacts it; `medallion query`,
// another process, then reads the rows Spark reads, at the new version and
// at the version before the compaction.
func TestDeletionVectorsOptimizeCLI(t *testing.T) {
	dir := lakeProject(t, "dv_ops")
	before, err := openTable(t, filepath.Join(dir, "lake", "silver", "dv_ops"), nil).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(medallionBin(t), "optimize", "-C", dir, "silver.dv_ops").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "compacted") {
		t.Fatalf("medallion optimize: %v\n%s", err, out)
	}
	pr := findPeerRead(t, "spark", "dv_ops")
	want := append([]string{pr.Columns}, slices.Sorted(slices.Values(pr.Rows))...)
	for _, sql := range []string{
		"SELECT * FROM silver.dv_ops",
		fmt.Sprintf("SELECT * FROM silver.dv_ops VERSION AS OF %d", before.Version()),
	} {
		if got := queryCLIIn(t, dir, sql); !slices.Equal(got, want) {
			t.Errorf("%s after optimize:\n got %.400q\nwant %.400q", sql, got, want)
		}
	}
}
