package delta_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/medallionhq/medallion/delta"
)

// cdcRow is a row of a change data file of the test table.
type cdcRow struct {
	ID         int64  `parquet:"id"`
	Name       string `parquet:"name"`
	ChangeType string `parquet:"_change_type"`
}

// TestChangeDataFiles: a table created with delta.enableChangeDataFeed gets
// a protocol that declares it (writer version 4); a commit with change data
// files writes cdc actions (dataChange false) under _change_data/, and
// ChangeFeed lists a commit's cdc files when it has some and its added and
// removed data files otherwise, as the protocol defines the feed; once
// VACUUM deleted a change file, reading its version is ErrChangeDataGone.
func TestChangeDataFiles(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, map[string]string{delta.PropEnableChangeDataFeed: "true"})
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := snap.Protocol(); p.MinWriterVersion < 4 {
		t.Fatalf("protocol %+v: a change data feed needs writer version 4", p)
	}
	a := writeFile(t, tbl, "x", testRow{1, "a"}, testRow{2, "b"})
	if _, err := tbl.Append(ctx, []*delta.Add{a}, nil); err != nil {
		t.Fatal(err)
	}
	// Version 2: row 2 renamed; the file is rewritten.
	b := writeFile(t, tbl, "x", testRow{1, "a"}, testRow{2, "B"})
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[cdcRow](&buf)
	if _, err := w.Write([]cdcRow{{2, "b", delta.ChangeUpdatePreimage}, {2, "B", delta.ChangeUpdatePostimage}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	key := delta.ChangeDataDir + "/part=x/cdc-00000.snappy.parquet"
	if err := tbl.Store().Write(ctx, key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	snap, err = tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := tbl.Begin(snap)
	tx.SetOperation("MERGE", nil)
	tx.RemoveAdd(a, true)
	tx.AddFiles(b)
	part := "x"
	tx.AddChangeData(&delta.AddCDCFile{Path: key, PartitionValues: map[string]*string{"part": &part}, Size: int64(buf.Len())})
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(commitPath(dir, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `{"cdc":{"path":"_change_data/part=x/cdc-00000.snappy.parquet","partitionValues":{"part":"x"},"size":`) || !strings.Contains(string(log), `"dataChange":false}}`) {
		t.Errorf("commit 2 holds no cdc action as the protocol writes it:\n%s", log)
	}
	files, err := tbl.ChangeFeed(ctx, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, strings.Join([]string{strconv.FormatInt(f.Version, 10), f.ChangeType, f.File.Path}, " "))
	}
	wantFiles := []string{"1 insert " + a.Path, "2  " + key}
	if strings.Join(got, "\n") != strings.Join(wantFiles, "\n") {
		t.Errorf("change files:\n got %q\nwant %q", got, wantFiles)
	}
	// The snapshot ignores change data files.
	equalRows(t, rowsOf(t, mustSnapshot(t, tbl)), want("1,a,x", "2,B,x"))
	// Vacuum deletes change data files older than the retention, and only
	// those.
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, key), old, old); err != nil {
		t.Fatal(err)
	}
	res, err := tbl.Vacuum(ctx, &delta.VacuumOptions{Retention: ptr(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Files, []string{key}) {
		t.Errorf("vacuum deleted %v, want only the expired change data file %s", res.Files, key)
	}
	if _, err := os.Stat(filepath.Join(dir, "_delta_log")); err != nil {
		t.Errorf("vacuum touched the log: %v", err)
	}
	// The feed of version 2 is gone with its file: reading it says so.
	if _, err := tbl.ChangeFeed(ctx, 1, 2); !errors.Is(err, delta.ErrChangeDataGone) || !strings.Contains(err.Error(), key) {
		t.Errorf("ChangeFeed after the vacuum: %v, want ErrChangeDataGone naming %s", err, key)
	}
}
