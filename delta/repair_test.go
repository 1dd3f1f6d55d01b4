package delta_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/medallionhq/medallion/delta"
)

// TestRepairRemovesMissingFiles deletes an active file behind the table's
// back: MissingFiles names it, a dry run changes nothing, and Repair
// commits its removal (operation FSCK) so the table reads again with the
// other files' rows.
func TestRepairRemovesMissingFiles(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, nil)
	for i, part := range []string{"a", "b", "a"} {
		if err := appendRow(tbl, part, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := tbl.MissingFiles(ctx, snap); err != nil || len(m) != 0 {
		t.Fatalf("intact table: missing %v, %v", m, err)
	}
	var lost *delta.Add
	for _, f := range snap.Files() {
		if f.PartitionValues["part"] != nil && *f.PartitionValues["part"] == "b" {
			lost = f
		}
	}
	key, err := delta.FileKey(lost.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
		t.Fatal(err)
	}
	if _, err := snap.ReadRows(ctx); err == nil {
		t.Fatal("reading a table with a missing file succeeded: the test does not exercise a damaged table")
	}
	dry, err := tbl.Repair(ctx, true)
	if err != nil || len(dry.Removed) != 1 || dry.Removed[0].Path != lost.Path || dry.Version != -1 || dry.Rows != 1 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	res, err := tbl.Repair(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.Version != snap.Version()+1 {
		t.Fatalf("repair: %+v", res)
	}
	after, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rowsOf(t, after), want("0,w,a", "2,w,a"))
	hist, err := tbl.History(ctx, 1)
	if err != nil || hist[0].CommitInfo.Operation != "FSCK" {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	again, err := tbl.Repair(ctx, false)
	if err != nil || len(again.Removed) != 0 || again.Version != -1 {
		t.Fatalf("second repair: %+v, %v", again, err)
	}
}
