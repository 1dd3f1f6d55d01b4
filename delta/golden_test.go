package delta_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/storage"
)

// The golden tables are Delta tables written by Spark and delta-rs, with
// expected contents worked out independently (see EXPECTED.md in the
// folder). These tests read them through the public API only.

// goldenTablesRoot is the shared folder of golden tables beside the
// repository.
const goldenTablesRoot = "../../shared/delta-golden"

type goldenSummary struct {
	Tables map[string]goldenTable `json:"tables"`
}

type goldenVersion struct {
	Version int64 `json:"version"`
	Files   int   `json:"files"`
	Rows    *int  `json:"rows"`
}

type goldenTable struct {
	Behaviour     string `json:"behaviour"`
	LatestVersion int64  `json:"latest_version"`
	ActiveFiles   []struct {
		PathInLog    string `json:"path_in_log"`
		RelativePath string `json:"relative_path"`
	} `json:"active_files"`
	RowCount                  *int            `json:"row_count"`
	Versions                  []goldenVersion `json:"versions"`
	UnreconstructableVersions []int64         `json:"unreconstructable_versions"`
	RefuseBecause             string          `json:"refuse_because"`
	ExpectedCSV               string          `json:"expected_csv"`
}

// goldenRoot returns the absolute path of the golden folder, failing the
// test when it is missing.
func goldenRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs(goldenTablesRoot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "expected", "summary.json")); err != nil {
		t.Fatalf("golden tables missing: %s must hold the delta-golden folder with expected/summary.json: %v", abs, err)
	}
	return abs
}

func loadGoldenSummary(t testing.TB) goldenSummary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenRoot(t), "expected", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s goldenSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if len(s.Tables) != 20 {
		t.Fatalf("summary.json lists %d tables, want 20", len(s.Tables))
	}
	return s
}

func openGoldenTable(t testing.TB, dir string) *delta.Table {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	tbl, err := delta.OpenTable(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// goldenRows reads a snapshot's rows as sorted CSV records.
func goldenRows(t testing.TB, snap *delta.Snapshot) [][]string {
	t.Helper()
	rows, err := snap.ReadRows(context.Background())
	if err != nil {
		t.Fatalf("ReadRows at version %d: %v", snap.Version(), err)
	}
	fields := snap.Schema().Fields
	out := make([][]string, len(rows))
	for i, r := range rows {
		if len(r) != len(fields) {
			t.Fatalf("row %d has %d values, schema has %d columns", i, len(r), len(fields))
		}
		rec := make([]string, len(r))
		for j, v := range r {
			rec[j] = delta.FormatValue(v, fields[j].Type)
		}
		out[i] = rec
	}
	sortGoldenRecords(out)
	return out
}

func sortGoldenRecords(recs [][]string) {
	sort.Slice(recs, func(i, j int) bool { return slices.Compare(recs[i], recs[j]) < 0 })
}

// expectedGoldenCSV reads an expected CSV: header and sorted records.
func expectedGoldenCSV(t testing.TB, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no header", path)
	}
	body := recs[1:]
	sortGoldenRecords(body)
	return recs[0], body
}

// checkGoldenRows compares a snapshot's rows and column names with a CSV.
func checkGoldenRows(t testing.TB, snap *delta.Snapshot, csvPath string) {
	t.Helper()
	header, want := expectedGoldenCSV(t, csvPath)
	var names []string
	for _, f := range snap.Schema().Fields {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, header) {
		t.Errorf("version %d: columns %v, %s has %v", snap.Version(), names, filepath.Base(csvPath), header)
	}
	got := goldenRows(t, snap)
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("version %d: rows differ from %s\n got %q\nwant %q", snap.Version(), filepath.Base(csvPath), got, want)
	}
}

func TestGoldenTables(t *testing.T) {
	root := goldenRoot(t)
	summary := loadGoldenSummary(t)
	names := make([]string, 0, len(summary.Tables))
	for name := range summary.Tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		gt := summary.Tables[name]
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(root, name)
			switch gt.Behaviour {
			case "read":
				checkGoldenRead(t, root, name, dir, gt)
			case "log-only":
				checkGoldenLogOnly(t, dir, gt)
			case "refuse":
				checkGoldenRefuse(t, dir, gt)
			default:
				t.Fatalf("unknown behaviour %q in summary.json", gt.Behaviour)
			}
		})
	}
}

func checkGoldenRead(t *testing.T, root, name, dir string, gt goldenTable) {
	ctx := context.Background()
	tbl := openGoldenTable(t, dir)
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if snap.Version() != gt.LatestVersion {
		t.Errorf("version = %d, want %d", snap.Version(), gt.LatestVersion)
	}
	var gotPaths, wantPaths []string
	for _, f := range snap.Files() {
		gotPaths = append(gotPaths, f.Path)
	}
	for _, f := range gt.ActiveFiles {
		wantPaths = append(wantPaths, f.PathInLog)
	}
	slices.Sort(wantPaths)
	if !slices.IsSorted(gotPaths) {
		t.Errorf("Files() not sorted by path: %v", gotPaths)
	}
	slices.Sort(gotPaths)
	if !slices.Equal(gotPaths, wantPaths) {
		t.Errorf("active files\n got %v\nwant %v", gotPaths, wantPaths)
	}
	if gt.ExpectedCSV == "" {
		t.Fatal("summary.json gives no expected CSV for a read table")
	}
	checkGoldenRows(t, snap, filepath.Join(root, gt.ExpectedCSV))

	for _, v := range gt.Versions {
		if v.Version == gt.LatestVersion {
			continue
		}
		at, err := tbl.SnapshotAt(ctx, v.Version)
		if err != nil {
			t.Errorf("SnapshotAt(%d): %v", v.Version, err)
			continue
		}
		if at.Version() != v.Version {
			t.Errorf("SnapshotAt(%d).Version() = %d", v.Version, at.Version())
		}
		if len(at.Files()) != v.Files {
			t.Errorf("version %d: %d files, want %d", v.Version, len(at.Files()), v.Files)
		}
		csvPath := filepath.Join(root, "expected", "versions", fmt.Sprintf("%s@v%d.csv", name, v.Version))
		if _, err := os.Stat(csvPath); err == nil {
			checkGoldenRows(t, at, csvPath)
		} else if v.Rows != nil {
			if got := goldenRows(t, at); len(got) != *v.Rows {
				t.Errorf("version %d: %d rows, want %d", v.Version, len(got), *v.Rows)
			}
		}
	}
	// Every expected per-version CSV of the table must have been used.
	matches, _ := filepath.Glob(filepath.Join(root, "expected", "versions", name+"@v*.csv"))
	for _, m := range matches {
		var v int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(filepath.Base(m), name+"@v"), "%d.csv", &v); err != nil {
			t.Errorf("unexpected file name %s", m)
			continue
		}
		if !slices.ContainsFunc(gt.Versions, func(x goldenVersion) bool { return x.Version == v }) {
			t.Errorf("%s is not covered: summary.json lists no version %d", filepath.Base(m), v)
		}
	}

	if name == "checkpoint-cdf-table" && !slices.Equal(gt.UnreconstructableVersions, []int64{0, 1, 2}) {
		t.Errorf("summary.json lists unreconstructable versions %v, EXPECTED.md says 0, 1, 2", gt.UnreconstructableVersions)
	}
	for _, v := range gt.UnreconstructableVersions {
		_, err := tbl.SnapshotAt(ctx, v)
		if !errors.Is(err, delta.ErrVersionNotFound) {
			t.Errorf("SnapshotAt(%d) of a version whose commits are gone: err = %v, want ErrVersionNotFound", v, err)
		}
	}
}

func checkGoldenLogOnly(t *testing.T, dir string, gt goldenTable) {
	ctx := context.Background()
	snap, err := openGoldenTable(t, dir).Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	if snap.Version() != gt.LatestVersion || gt.LatestVersion != 3 {
		t.Errorf("version = %d, want 3", snap.Version())
	}
	const wantPath = "part-00000-70b1dcdf-0236-4f63-a072-124cdbafd8a0-c000.snappy.parquet"
	files := snap.Files()
	if len(files) != 1 || files[0].Path != wantPath {
		var paths []string
		for _, f := range files {
			paths = append(paths, f.Path)
		}
		t.Fatalf("files = %v, want [%s]", paths, wantPath)
	}
	if files[0].Size != 1010 {
		t.Errorf("size = %d, want 1010", files[0].Size)
	}
	if n := len(snap.Tombstones()); n != 2 {
		t.Errorf("%d tombstones, want 2", n)
	}
	var cols []string
	for _, f := range snap.Schema().Fields {
		cols = append(cols, f.Name+":"+f.Type.String())
	}
	if got := strings.Join(cols, ","); got != "letter:string,int:long,date:date" {
		t.Errorf("schema = %s", got)
	}
	rows, err := snap.ReadRows(ctx)
	if err == nil {
		t.Fatalf("ReadRows of a table whose data file is missing gave %d rows and no error", len(rows))
	}
	if !strings.Contains(err.Error(), wantPath) {
		t.Errorf("error does not name the missing file: %v", err)
	}
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("error does not wrap storage.ErrNotFound: %v", err)
	}
}

func checkGoldenRefuse(t *testing.T, dir string, gt goldenTable) {
	ctx := context.Background()
	if gt.RefuseBecause == "" {
		t.Fatal("summary.json names no feature to refuse")
	}
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, delta.ErrUnsupportedFeature) {
			t.Errorf("%s: err = %v, want ErrUnsupportedFeature", what, err)
			return
		}
		if !strings.Contains(err.Error(), gt.RefuseBecause) {
			t.Errorf("%s: error does not name %s: %v", what, gt.RefuseBecause, err)
		}
	}
	tbl := openGoldenTable(t, dir)
	snap, err := tbl.Snapshot(ctx)
	if err == nil {
		rows, rerr := snap.ReadRows(ctx)
		if rerr == nil {
			t.Fatalf("table needing %s was read: version %d, %d rows", gt.RefuseBecause, snap.Version(), len(rows))
		}
		err = rerr
	}
	check("latest", err)
	if gt.RefuseBecause == "deletionVectors" {
		// The protocol demands deletion vectors from version 0 on.
		_, err := tbl.SnapshotAt(ctx, 0)
		if err == nil {
			t.Fatal("SnapshotAt(0) of a deletion-vector table succeeded")
		}
		check("version 0", err)
	}
}

// copyGoldenTable copies a golden table to a fresh temporary directory.
func copyGoldenTable(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(goldenRoot(t), name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func latestGoldenRows(t *testing.T, dir string) (*delta.Snapshot, [][]string) {
	t.Helper()
	snap, err := openGoldenTable(t, dir).Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return snap, goldenRows(t, snap)
}

// TestGoldenCheckpointWithoutCommits proves the checkpoint is read: with
// commits 0..9 gone, version 10 still has the same rows.
func TestGoldenCheckpointWithoutCommits(t *testing.T) {
	dir := copyGoldenTable(t, "simple_table_with_checkpoint")
	for v := range 10 {
		if err := os.Remove(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v))); err != nil {
			t.Fatal(err)
		}
	}
	snap, got := latestGoldenRows(t, dir)
	if snap.Version() != 10 || len(snap.Files()) != 11 {
		t.Errorf("version %d with %d files, want 10 with 11", snap.Version(), len(snap.Files()))
	}
	_, want := expectedGoldenCSV(t, filepath.Join(goldenRoot(t), "expected", "simple_table_with_checkpoint.csv"))
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("rows\n got %q\nwant %q", got, want)
	}
	_, err := openGoldenTable(t, dir).SnapshotAt(context.Background(), 5)
	if !errors.Is(err, delta.ErrVersionNotFound) {
		t.Errorf("SnapshotAt(5) with commit 5 gone: err = %v, want ErrVersionNotFound", err)
	}
}

// TestGoldenWithoutLastCheckpoint deletes _last_checkpoint: the checkpoint
// must be found by listing, and the rows do not change.
func TestGoldenWithoutLastCheckpoint(t *testing.T) {
	for _, name := range []string{"simple_table_with_checkpoint", "checkpoint-cdf-table"} {
		t.Run(name, func(t *testing.T) {
			dir := copyGoldenTable(t, name)
			if err := os.Remove(filepath.Join(dir, "_delta_log", "_last_checkpoint")); err != nil {
				t.Fatal(err)
			}
			_, got := latestGoldenRows(t, dir)
			_, want := expectedGoldenCSV(t, filepath.Join(goldenRoot(t), "expected", name+".csv"))
			if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
				t.Errorf("rows\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestGoldenIgnoresTmpCommit puts an uncommitted commit file under
// _delta_log/.tmp/, as upstream's simple_table carries: it is not a version.
func TestGoldenIgnoresTmpCommit(t *testing.T) {
	dir := copyGoldenTable(t, "simple_table")
	tmp := filepath.Join(dir, "_delta_log", ".tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	commit := `{"commitInfo":{"timestamp":1,"operation":"WRITE"}}` + "\n" + `{"remove":{"path":"part-00000-2befed33-c358-4768-a43c-3eda0d2a499d-c000.snappy.parquet","dataChange":true}}` + "\n"
	if err := os.WriteFile(filepath.Join(tmp, "00000000000000000005.json"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, got := latestGoldenRows(t, dir)
	if snap.Version() != 4 {
		t.Errorf("version = %d, want 4", snap.Version())
	}
	_, want := expectedGoldenCSV(t, filepath.Join(goldenRoot(t), "expected", "simple_table.csv"))
	if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
		t.Errorf("rows\n got %q\nwant %q", got, want)
	}
}
