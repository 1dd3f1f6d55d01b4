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

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/delta/internal/peertables"
	"github.com/medallionhq/medallion/storage"
)

// Tables written by other engines — Apache Spark with delta-spark, and
// delta-rs — at test time, by the scripts of testdata/peers (see package
// delta/internal/peertables). The expected contents below follow from what
// the scripts write; they are stated here, not read back from the peers.

// peerDir returns the folder of a table a peer wrote.
func peerDir(t testing.TB, engine, name string) string {
	t.Helper()
	var root string
	switch engine {
	case "spark":
		root = peertables.Spark(t)
	case "deltars":
		root = peertables.DeltaRS(t)
	default:
		t.Fatalf("unknown peer engine %q", engine)
	}
	return filepath.Join(root, name)
}

// copyPeerTable copies a peer's table to a fresh temporary folder.
func copyPeerTable(t *testing.T, engine, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(peerDir(t, engine, name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// sortedRows reads a snapshot's rows, rendered and sorted.
func sortedRows(t testing.TB, snap *delta.Snapshot) []string {
	t.Helper()
	rows := rowsOf(t, snap)
	slices.Sort(rows)
	return rows
}

func checkRows(t testing.TB, snap *delta.Snapshot, want []string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	if got := sortedRows(t, snap); !slices.Equal(got, want) {
		t.Errorf("version %d: rows\n got %q\nwant %q", snap.Version(), got, want)
	}
}

func columnNames(snap *delta.Snapshot) string {
	var names []string
	for _, f := range snap.Schema().Fields {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

// TestPeerTables reads every table Spark and delta-rs wrote, at its latest
// version and at earlier ones.
func TestPeerTables(t *testing.T) {
	ctx := context.Background()
	for _, pr := range peertables.Reads {
		t.Run(pr.Engine+"/"+pr.Table, func(t *testing.T) {
			tbl := openTable(t, peerDir(t, pr.Engine, pr.Table), nil)
			snap, err := tbl.Snapshot(ctx)
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			if snap.Version() != pr.Version {
				t.Errorf("version = %d, want %d", snap.Version(), pr.Version)
			}
			if pr.Files >= 0 && snap.NumFiles() != pr.Files {
				t.Errorf("%d active files, want %d", snap.NumFiles(), pr.Files)
			}
			var paths []string
			for _, f := range snap.Files() {
				paths = append(paths, f.Path)
			}
			if !slices.IsSorted(paths) {
				t.Errorf("Files() not sorted by path: %v", paths)
			}
			if got := columnNames(snap); got != pr.Columns {
				t.Errorf("columns = %s, want %s", got, pr.Columns)
			}
			checkRows(t, snap, pr.Rows)
			for v, want := range pr.At {
				at, err := tbl.SnapshotAt(ctx, v)
				if err != nil {
					t.Errorf("SnapshotAt(%d): %v", v, err)
					continue
				}
				if at.Version() != v {
					t.Errorf("SnapshotAt(%d).Version() = %d", v, at.Version())
				}
				checkRows(t, at, want)
			}
			if _, err := tbl.SnapshotAt(ctx, pr.Version+1); !errors.Is(err, delta.ErrVersionNotFound) {
				t.Errorf("SnapshotAt(%d), past the latest: err = %v, want ErrVersionNotFound", pr.Version+1, err)
			}
		})
	}
}

// TestPeerRefusedFeatures: tables needing a reader feature this package
// lacks are refused with an error naming the feature, never read wrong.
func TestPeerRefusedFeatures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		table, feature string
		versions       []int64 // earlier versions that must be refused too
	}{
		{"variant", "variantType", []int64{0}},
	} {
		t.Run(tc.table, func(t *testing.T) {
			tbl := openTable(t, peerDir(t, "spark", tc.table), nil)
			check := func(what string, snap *delta.Snapshot, err error) {
				t.Helper()
				if err == nil {
					rows, rerr := snap.ReadRows(ctx)
					if rerr == nil {
						t.Fatalf("%s: table needing %s was read: version %d, %d rows", what, tc.feature, snap.Version(), len(rows))
					}
					err = rerr
				}
				if !errors.Is(err, delta.ErrUnsupportedFeature) {
					t.Errorf("%s: err = %v, want ErrUnsupportedFeature", what, err)
					return
				}
				if !strings.Contains(err.Error(), tc.feature) {
					t.Errorf("%s: error does not name %s: %v", what, tc.feature, err)
				}
			}
			snap, err := tbl.Snapshot(ctx)
			check("latest", snap, err)
			for _, v := range tc.versions {
				snap, err := tbl.SnapshotAt(ctx, v)
				check(fmt.Sprintf("version %d", v), snap, err)
			}
		})
	}
}

// TestPeerOptionalStats: Spark's last append to the types table collected
// no stats; the reader must not rely on them (TestPeerTables reads it).
func TestPeerOptionalStats(t *testing.T) {
	snap, err := openTable(t, peerDir(t, "spark", "types"), nil).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var with, without int
	for _, f := range snap.Files() {
		st, err := delta.ParseStats(f.Stats)
		switch {
		case err != nil:
			t.Errorf("%s: stats %q: %v", f.Path, f.Stats, err)
		case st == nil:
			without++
		case st.NumRecords == 1:
			with++
		default:
			t.Errorf("%s: stats %q", f.Path, f.Stats)
		}
	}
	if with != 1 || without != 1 {
		t.Errorf("%d files with stats, %d without; want one of each", with, without)
	}
}

// TestPeerUnknownReaderFeature: a protocol no reader can honour (reader
// version 5, a made-up feature) is refused naming the feature. No engine
// writes such a table, so the test rewrites delta-rs's first commit.
func TestPeerUnknownReaderFeature(t *testing.T) {
	dir := copyPeerTable(t, "deltars", "history")
	path := commitPath(dir, 0)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	replaced := false
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, `{"protocol":`) {
			l = `{"protocol":{"minReaderVersion":5,"minWriterVersion":7,"readerFeatures":["deletionVectors","blahabl","timestampNtz"],"writerFeatures":["appendOnly","deletionVectors"]}}`
			replaced = true
		}
		lines = append(lines, l)
	}
	if !replaced {
		t.Fatalf("no protocol action in %s", path)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = openTable(t, dir, nil).Snapshot(context.Background())
	if !errors.Is(err, delta.ErrUnsupportedFeature) || !strings.Contains(err.Error(), "blahabl") {
		t.Fatalf("err = %v, want ErrUnsupportedFeature naming blahabl", err)
	}
	// deletionVectors and timestampNtz are read: the error names only what
	// is missing.
	if strings.Contains(err.Error(), "deletionVectors") || strings.Contains(err.Error(), "timestampNtz") {
		t.Fatalf("err = %v names a supported reader feature", err)
	}
}

// TestPeerCheckpointWithoutCommits proves Spark's checkpoints are read:
// with the commits before a checkpoint gone, the latest rows do not change,
// and the versions before it are reported as gone, not as empty.
func TestPeerCheckpointWithoutCommits(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		table      string
		checkpoint int64
	}{
		{"checkpoint", 10},           // classic single-file checkpoint
		{"multipart", 6},             // multi-part checkpoint
		{"cdf", 4},                   // partitioned, with cdc files in the history
		{"dv_ops", 5},                // deletion vectors in a classic checkpoint
		{"v2_checkpoint", 3},         // v2: JSON checkpoint with a Parquet sidecar
		{"v2_checkpoint_parquet", 3}, // v2: Parquet checkpoint with a sidecar
		{"dbx_features", 2},          // v2, deletion vectors, row tracking, clustering, …
	} {
		t.Run(tc.table, func(t *testing.T) {
			pr := findPeerRead(t, "spark", tc.table)
			// Commits and older checkpoints before the checkpoint go.
			dir := copyWithoutLogBefore(t, peerDir(t, "spark", tc.table), tc.checkpoint)
			for _, dropLast := range []bool{false, true} {
				if dropLast {
					// Without _last_checkpoint, the checkpoint is found by listing.
					if err := os.Remove(filepath.Join(dir, "_delta_log", "_last_checkpoint")); err != nil {
						t.Fatal(err)
					}
				}
				tbl := openTable(t, dir, nil)
				snap, err := tbl.Snapshot(ctx)
				if err != nil {
					t.Fatalf("Snapshot (without _last_checkpoint: %v): %v", dropLast, err)
				}
				if snap.Version() != pr.Version || (pr.Files >= 0 && snap.NumFiles() != pr.Files) {
					t.Errorf("version %d with %d files, want %d with %d", snap.Version(), snap.NumFiles(), pr.Version, pr.Files)
				}
				checkRows(t, snap, pr.Rows)
				at, err := tbl.SnapshotAt(ctx, tc.checkpoint)
				if err != nil {
					t.Fatalf("SnapshotAt(%d), the checkpoint's version: %v", tc.checkpoint, err)
				}
				checkRows(t, at, pr.At[tc.checkpoint])
				for v := range tc.checkpoint {
					if _, err := tbl.SnapshotAt(ctx, v); !errors.Is(err, delta.ErrVersionNotFound) {
						t.Errorf("SnapshotAt(%d) of a version whose commits are gone: err = %v, want ErrVersionNotFound", v, err)
					}
				}
			}
		})
	}
}

func findPeerRead(t *testing.T, engine, table string) peertables.Read {
	t.Helper()
	for _, pr := range peertables.Reads {
		if pr.Engine == engine && pr.Table == table {
			return pr
		}
	}
	t.Fatalf("no expectations for %s/%s", engine, table)
	return peertables.Read{}
}

// TestPeerStaleLastCheckpoint: _last_checkpoint names an older checkpoint
// (as delta-rs 0.17 left it after a failed update); the reader must still
// reach the latest version.
func TestPeerStaleLastCheckpoint(t *testing.T) {
	dir := copyPeerTable(t, "deltars", "two_checkpoints")
	if err := os.WriteFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"), []byte(`{"size":4,"size_in_bytes":23521,"version":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := openTable(t, dir, nil).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != 3 || snap.NumFiles() != 4 {
		t.Errorf("version %d with %d files, want 3 with 4", snap.Version(), snap.NumFiles())
	}
	checkRows(t, snap, peertables.Fives(4))
}

// TestPeerMissingDataFile: a table whose log is fine but whose data file is
// gone, with no _last_checkpoint: the snapshot is read from the listed
// checkpoint, and reading rows fails naming the missing file.
func TestPeerMissingDataFile(t *testing.T) {
	ctx := context.Background()
	dir := copyPeerTable(t, "deltars", "checkpoint_then_more")
	if err := os.Remove(filepath.Join(dir, "_delta_log", "_last_checkpoint")); err != nil {
		t.Fatal(err)
	}
	snap, err := openTable(t, dir, nil).Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	files := snap.Files()
	if snap.Version() != 3 || len(files) != 1 {
		t.Fatalf("version %d with %d files, want 3 with 1", snap.Version(), len(files))
	}
	if n := len(snap.Tombstones()); n != 2 {
		t.Errorf("%d tombstones, want 2 (the files of versions 1 and 2)", n)
	}
	if got := snap.Schema().String(); !strings.Contains(got, `"letter"`) || !strings.Contains(got, `"date"`) {
		t.Errorf("schema = %s", got)
	}
	if err := os.Remove(filepath.Join(dir, files[0].Path)); err != nil {
		t.Fatal(err)
	}
	rows, err := snap.ReadRows(ctx)
	if err == nil {
		t.Fatalf("ReadRows of a table whose data file is missing gave %d rows and no error", len(rows))
	}
	if !strings.Contains(err.Error(), files[0].Path) {
		t.Errorf("error does not name the missing file: %v", err)
	}
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("error does not wrap storage.ErrNotFound: %v", err)
	}
}

// TestPeerIgnoresStrayFiles: an uncommitted commit under _delta_log/.tmp/
// and a Parquet file the log never names are not part of the table.
func TestPeerIgnoresStrayFiles(t *testing.T) {
	dir := copyPeerTable(t, "deltars", "history")
	snap0, err := openTable(t, dir, nil).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	active := snap0.Files()[0].Path
	tmp := filepath.Join(dir, "_delta_log", ".tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	commit := `{"commitInfo":{"timestamp":1,"operation":"WRITE"}}` + "\n" + `{"remove":{"path":"` + active + `","dataChange":true}}` + "\n"
	if err := os.WriteFile(filepath.Join(tmp, "00000000000000000005.json"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	// An orphan: a copy of an active data file under a name the log lacks.
	b, err := os.ReadFile(filepath.Join(dir, active))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-00000-orphan-c001.snappy.parquet"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := openTable(t, dir, nil).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != 4 {
		t.Errorf("version = %d, want 4", snap.Version())
	}
	checkRows(t, snap, []string{"5", "7", "9"})
}

// TestPeerChangeDataFiles: Spark's UPDATEs and DELETE on a change-data-feed
// table write cdc actions and files under _change_data/; a snapshot read
// ignores them (TestPeerTables checks the rows of every version).
func TestPeerChangeDataFiles(t *testing.T) {
	dir := peerDir(t, "spark", "cdf")
	cdc, _ := filepath.Glob(filepath.Join(dir, "_change_data", "*", "*.parquet"))
	if len(cdc) == 0 {
		t.Fatalf("Spark wrote no cdc files under %s/_change_data", dir)
	}
	for v := int64(2); v <= 4; v++ {
		b, err := os.ReadFile(commitPath(dir, v))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `{"cdc":`) {
			t.Errorf("commit %d holds no cdc action", v)
		}
		if _, err := delta.ParseActions(fmt.Sprintf("commit %d", v), b); err != nil {
			t.Errorf("commit %d: %v", v, err)
		}
	}
}
