package delta_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/delta/internal/peertables"
)

// cmTables are the column-mapped tables Spark writes: mode name (protocol
// 2/5) and mode id (protocol 2/7 with writerFeatures), each with renamed
// data and partition columns, a dropped column and a re-added one of the
// same name, and a checkpoint.
var cmTables = []string{"cm_name", "cm_id"}

// TestColumnMappingPhysicalNames: the Spark tables really use physical
// names (the test would prove nothing if Spark wrote logical names), and
// the snapshot exposes them.
func TestColumnMappingPhysicalNames(t *testing.T) {
	ctx := context.Background()
	for _, name := range cmTables {
		t.Run(name, func(t *testing.T) {
			snap, err := openTable(t, peerDir(t, "spark", name), nil).Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := snap.Metadata().ColumnMappingMode(), strings.TrimPrefix(name, "cm_"); got != want {
				t.Errorf("mode = %s, want %s", got, want)
			}
			ids := map[int64]bool{}
			for _, f := range snap.Schema().Fields {
				if !strings.HasPrefix(f.PhysicalName(), "col-") {
					t.Errorf("column %q has physical name %q, want col-<uuid>", f.Name, f.PhysicalName())
				}
				id, ok := f.ColumnID()
				if !ok || ids[id] {
					t.Errorf("column %q: column id %d (ok %v) missing or repeated", f.Name, id, ok)
				}
				ids[id] = true
			}
			part := snap.PhysicalPartitionColumns()
			if len(part) != 1 || part[0] == "Part Col" || !strings.HasPrefix(part[0], "col-") {
				t.Fatalf("physical partition columns %v", part)
			}
			for _, a := range snap.Files() {
				if _, ok := a.PartitionValues[part[0]]; !ok {
					t.Errorf("file %s: partitionValues %v not keyed by the physical name %s", a.Path, a.PartitionValues, part[0])
				}
				st, err := delta.ParseStats(a.Stats)
				if err != nil || st == nil {
					t.Fatalf("file %s: stats %v", a.Path, err)
				}
				idCol, _ := snap.Schema().Field("id")
				if _, ok := st.NullCount[idCol.PhysicalName()]; !ok {
					t.Errorf("file %s: stats %s not keyed by physical name %s", a.Path, a.Stats, idCol.PhysicalName())
				}
			}
		})
	}
}

// TestColumnMappingSparkReadsBack: Spark's own answer for the tables (written
// by spark_tables.py after the last commit) is the expected rows, so the
// expectations this package is held to are Spark's.
func TestColumnMappingSparkReadsBack(t *testing.T) {
	for _, name := range cmTables {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(peertables.Spark(t), name+".spark.csv"))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSpace(string(b)), "\n")
			pr := findPeerRead(t, "spark", name)
			want := append([]string{pr.Columns}, pr.Rows...)
			if !slices.Equal(got, want) {
				t.Errorf("Spark reads\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestColumnMappingWritesRefused: every write into a column-mapped table is
// refused naming columnMapping, and the log is left as it was.
func TestColumnMappingWritesRefused(t *testing.T) {
	ctx := context.Background()
	for _, name := range cmTables {
		t.Run(name, func(t *testing.T) {
			dir := copyPeerTable(t, "spark", name)
			before := logFiles(t, dir)
			tbl := openTable(t, dir, nil)
			snap, err := tbl.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			part := snap.PhysicalPartitionColumns()[0]
			v := "P9"
			add := &delta.Add{Path: "x.parquet", PartitionValues: map[string]*string{part: &v}, Size: 1, DataChange: true}
			md := *snap.Metadata()
			md.Configuration = map[string]string{} // would drop the mapping
			for what, write := range map[string]func() error{
				"append":    func() error { _, err := tbl.Append(ctx, []*delta.Add{add}, nil); return err },
				"overwrite": func() error { _, err := tbl.Overwrite(ctx, []*delta.Add{add}, nil, nil); return err },
				"optimize":  func() error { _, err := tbl.Optimize(ctx, &delta.OptimizeOptions{}); return err },
				"metadata": func() error {
					tx := tbl.Begin(snap)
					tx.SetMetadata(&md)
					_, err := tx.Commit(ctx)
					return err
				},
			} {
				err := write()
				if !errors.Is(err, delta.ErrUnsupportedFeature) || !strings.Contains(err.Error(), "columnMapping") {
					t.Errorf("%s: err = %v, want ErrUnsupportedFeature naming columnMapping", what, err)
				}
			}
			if after := logFiles(t, dir); !slices.Equal(before, after) {
				t.Errorf("refused writes changed the log:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

var (
	cliOnce sync.Once
	cliBin  string
	cliErr  error
)

// medallionBin builds the medallion binary once for this test process.
func medallionBin(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		root, err := peertables.Root()
		if err != nil {
			cliErr = err
			return
		}
		dir, err := os.MkdirTemp("", "medallion-bin-")
		if err != nil {
			cliErr = err
			return
		}
		cliBin = filepath.Join(dir, "medallion")
		cmd := exec.Command("go", "build", "-o", cliBin, "./cmd/medallion")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = errors.New("go build ./cmd/medallion: " + err.Error() + "\n" + string(out))
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliBin
}

// TestColumnMappingQueryCLI: `medallion query` over delta_scan of the
// column-mapped tables, a separate OS process through the DuckDB engine,
// gives the logical column names and the rows Spark wrote (renamed columns
// under their new names, the dropped column gone, the re-added one NULL in
// old files), at the latest version.
func TestColumnMappingQueryCLI(t *testing.T) {
	for _, name := range append(slices.Clone(cmTables), "column_mapping") {
		t.Run(name, func(t *testing.T) {
			path := peerDir(t, "spark", name)
			pr := findPeerRead(t, "spark", name)
			bin := medallionBin(t)
			cmd := exec.Command(bin, "query", "-C", t.TempDir(), "--format", "csv",
				"SELECT * FROM delta_scan('"+strings.ReplaceAll(path, "'", "''")+"')")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("medallion query: %v\n%s", err, stderr.String())
			}
			recs, err := csv.NewReader(&stdout).ReadAll()
			if err != nil || len(recs) == 0 {
				t.Fatalf("csv output: %v\n%s", err, stdout.String())
			}
			if got := strings.Join(recs[0], ","); got != pr.Columns {
				t.Errorf("columns %s, want %s", got, pr.Columns)
			}
			var got []string
			for _, r := range recs[1:] {
				got = append(got, strings.Join(r, ","))
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(pr.Rows))
			if !slices.Equal(got, want) {
				t.Errorf("rows\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestColumnMappingProtocols: column mapping under table features (reader
// version 3 listing columnMapping) reads like the legacy reader version 2;
// a mode the protocol does not back, or an unknown mode, is an error, never
// a read by logical names. The cases rewrite the protocol or configuration
// of cm_name's first commit and read version 3 (before the checkpoint), or
// version 1 for the configuration (the ALTERs of versions 2 and 3 write new
// metadata).
func TestColumnMappingProtocols(t *testing.T) {
	ctx := context.Background()
	const features = `{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["columnMapping"],"writerFeatures":["columnMapping"]}}`
	for _, tc := range []struct {
		name, protocol, from, to string
		version                  int64
		wantErr                  error
	}{
		{name: "reader 3 with readerFeatures", protocol: features, version: 3},
		{name: "reader 3 without the feature", protocol: `{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":[],"writerFeatures":["columnMapping"]}}`, version: 3, wantErr: delta.ErrCorruptLog},
		{name: "reader 1", protocol: `{"protocol":{"minReaderVersion":1,"minWriterVersion":5}}`, version: 3, wantErr: delta.ErrCorruptLog},
		{name: "unknown mode", from: `"delta.columnMapping.mode":"name"`, to: `"delta.columnMapping.mode":"label"`, version: 1, wantErr: delta.ErrCorruptLog},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyPeerTable(t, "spark", "cm_name")
			path := commitPath(dir, 0)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			changed := false
			for i, l := range lines {
				if tc.protocol != "" && strings.HasPrefix(l, `{"protocol":`) {
					lines[i], changed = tc.protocol, true
				}
				if tc.from != "" && strings.HasPrefix(l, `{"metaData":`) && strings.Contains(l, tc.from) {
					lines[i], changed = strings.Replace(l, tc.from, tc.to, 1), true
				}
			}
			if !changed {
				t.Fatalf("nothing to rewrite in %s", path)
			}
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			snap, err := openTable(t, dir, nil).SnapshotAt(ctx, tc.version)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			equalRows(t, rowsOf(t, snap), want(findPeerRead(t, "spark", "cm_name").At[tc.version]...))
		})
	}
}
