package delta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/medallionhq/medallion/storage"
)

// TestMultiPartCheckpoint splits a checkpoint into three parts (as Spark
// writes large ones) and checks that the table opens from them alone, and
// that an incomplete set of parts is ignored.
func TestMultiPartCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := OpenTable(ctx, store, &Options{CheckpointInterval: 1000})
	if err != nil {
		t.Fatal(err)
	}
	schema := &StructType{Fields: []StructField{{Name: "id", Type: Primitive(TypeLong), Nullable: true}}}
	if _, err := tbl.Create(ctx, schema, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		add := &Add{Path: fmt.Sprintf("f%d.parquet", i), PartitionValues: map[string]*string{}, Size: 10, DataChange: true}
		if _, err := tbl.Append(ctx, []*Add{add}, nil); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	actions := []Action{{Protocol: snap.protocol}, {MetaData: snap.metadata}}
	for _, a := range snap.Files() {
		actions = append(actions, Action{Add: a})
	}
	parts := [][]Action{actions[:3], actions[3:5], actions[5:]}
	for i, p := range parts {
		var buf bytes.Buffer
		if err := writeCheckpointParquet(&buf, p); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%020d.checkpoint.%010d.%010d.parquet", snap.Version(), i+1, len(parts))
		if err := os.WriteFile(filepath.Join(dir, logDir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Only the parts and nothing before them: the commits are gone.
	for v := int64(0); v <= snap.Version(); v++ {
		if err := os.Remove(filepath.Join(dir, logDir, fmt.Sprintf("%020d.json", v))); err != nil {
			t.Fatal(err)
		}
	}
	open := func() (*Snapshot, error) {
		t2, err := OpenTable(ctx, store, nil)
		if err != nil {
			t.Fatal(err)
		}
		return t2.Snapshot(ctx)
	}
	got, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if got.Version() != snap.Version() || got.NumFiles() != 6 {
		t.Fatalf("from multi-part checkpoint: version %d with %d files, want %d with 6", got.Version(), got.NumFiles(), snap.Version())
	}
	// Remove one part: the checkpoint is incomplete and, with the commits
	// gone, the version cannot be rebuilt.
	if err := os.Remove(filepath.Join(dir, logDir, fmt.Sprintf("%020d.checkpoint.%010d.%010d.parquet", snap.Version(), 2, 3))); err != nil {
		t.Fatal(err)
	}
	if _, err := open(); !errors.Is(err, ErrNotATable) {
		t.Fatalf("an incomplete multi-part checkpoint alone: got %v, want ErrNotATable", err)
	}
}
