package delta_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/storage"
)

// testRow is the row type of the test tables: (id, name, part), partitioned
// by part.
type testRow struct {
	ID   int64  `parquet:"id"`
	Name string `parquet:"name"`
}

var testSchema = &delta.StructType{Fields: []delta.StructField{
	{Name: "id", Type: delta.Primitive(delta.TypeLong), Nullable: true},
	{Name: "name", Type: delta.Primitive(delta.TypeString), Nullable: true},
	{Name: "part", Type: delta.Primitive(delta.TypeString), Nullable: true},
}}

// newTable creates a partitioned test table in a fresh local directory.
func newTable(t testing.TB, opts *delta.Options, config map[string]string) (*delta.Table, string) {
	t.Helper()
	dir := t.TempDir()
	return createTableAt(t, dir, opts, config), dir
}

func createTableAt(t testing.TB, dir string, opts *delta.Options, config map[string]string) *delta.Table {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := delta.OpenTable(ctx, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	waitCheckpointsAtCleanup(t, tbl)
	if _, err := tbl.Create(ctx, testSchema, &delta.CreateOptions{PartitionColumns: []string{"part"}, Configuration: config}); err != nil {
		t.Fatal(err)
	}
	return tbl
}

func openTable(t testing.TB, dir string, opts *delta.Options) *delta.Table {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := delta.OpenTable(ctx, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	waitCheckpointsAtCleanup(t, tbl)
	return tbl
}

// waitCheckpointsAtCleanup lets the table's background checkpoints finish
// before the test's temporary folders (registered earlier) are removed.
func waitCheckpointsAtCleanup(t testing.TB, tbl *delta.Table) {
	if _, child := t.(*childTB); child {
		return
	}
	t.Cleanup(func() { _ = tbl.WaitCheckpoint(context.Background()) })
}

// writeFile writes rows as one Parquet data file of partition part and
// returns its add action (not yet committed).
func writeFile(t testing.TB, tbl *delta.Table, part string, rows ...testRow) *delta.Add {
	t.Helper()
	add, err := writeDataFile(context.Background(), tbl, part, rows)
	if err != nil {
		t.Fatal(err)
	}
	return add
}

func writeDataFile(ctx context.Context, tbl *delta.Table, part string, rows []testRow) (*delta.Add, error) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[testRow](&buf, parquet.Compression(&parquet.Snappy))
	if _, err := w.Write(rows); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	pv := map[string]*string{"part": &part}
	key := delta.PartitionPath([]string{"part"}, pv) + "/part-00000-" + uuid.NewString() + "-c000.snappy.parquet"
	data := buf.Bytes()
	stats, err := delta.StatsFromParquet(bytes.NewReader(data), int64(len(data)), testSchema)
	if err != nil {
		return nil, err
	}
	if err := tbl.Store().Write(ctx, key, data); err != nil {
		return nil, err
	}
	return &delta.Add{
		Path: delta.EncodePath(key), PartitionValues: pv, Size: int64(len(data)),
		ModificationTime: time.Now().UnixMilli(), DataChange: true, Stats: stats.JSON(),
	}, nil
}

// rowsOf reads a snapshot and renders each row as "id,name,part", sorted.
func rowsOf(t testing.TB, snap *delta.Snapshot) []string {
	t.Helper()
	rows, err := snap.ReadRows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			parts[j] = delta.FormatValue(v, snap.Schema().Fields[j].Type)
		}
		out[i] = strings.Join(parts, ",")
	}
	slices.Sort(out)
	return out
}

func want(rows ...string) []string {
	slices.Sort(rows)
	return rows
}

func equalRows(t testing.TB, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("rows differ\n got: %v\nwant: %v", got, want)
	}
}

// logFiles lists the names in a table's _delta_log.
func logFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "_delta_log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func commitPath(dir string, v int64) string {
	return filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v))
}

// formatRow renders a row as rowsOf does.
func formatRow(snap *delta.Snapshot, r delta.Row) string {
	parts := make([]string, len(r))
	for j, v := range r {
		parts[j] = delta.FormatValue(v, snap.Schema().Fields[j].Type)
	}
	return strings.Join(parts, ",")
}
