package delta_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
)

func TestCreateAppendRead(t *testing.T) {
	ctx := context.Background()
	tbl, _ := newTable(t, nil, nil)
	if _, err := tbl.Create(ctx, testSchema, nil); !errors.Is(err, delta.ErrTableExists) {
		t.Fatalf("second create: got %v, want ErrTableExists", err)
	}
	for i, part := range []string{"a", "b", "a"} {
		res, err := tbl.Append(ctx, []*delta.Add{writeFile(t, tbl, part, testRow{int64(i), fmt.Sprint("n", i)})}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Version != int64(i+1) || res.Skipped {
			t.Fatalf("append %d: got version %d skipped %v", i, res.Version, res.Skipped)
		}
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != 3 || snap.NumFiles() != 3 {
		t.Fatalf("got version %d with %d files, want 3 and 3", snap.Version(), snap.NumFiles())
	}
	equalRows(t, rowsOf(t, snap), want("0,n0,a", "1,n1,b", "2,n2,a"))
	// Stats were written and parse back.
	st, err := delta.ParseStats(snap.Files()[0].Stats)
	if err != nil || st.NumRecords != 1 {
		t.Fatalf("stats: %+v, %v", st, err)
	}
	// A second handle on the same directory sees the same state.
	other := openTable(t, tbl.Store().URL(), nil)
	snap2, err := other.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rowsOf(t, snap2), rowsOf(t, snap))
}

func TestTimeTravel(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, nil)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		if _, err := tbl.Append(ctx, []*delta.Add{writeFile(t, tbl, "a", testRow{int64(i), "x"})}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Commit v at base + v hours.
	for v := int64(0); v <= 3; v++ {
		ts := base.Add(time.Duration(v) * time.Hour)
		if err := os.Chtimes(commitPath(dir, v), ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		at      func() (*delta.Snapshot, error)
		version int64
		rows    int
		err     error
	}{
		{"version 0", func() (*delta.Snapshot, error) { return tbl.SnapshotAt(ctx, 0) }, 0, 0, nil},
		{"version 2", func() (*delta.Snapshot, error) { return tbl.SnapshotAt(ctx, 2) }, 2, 2, nil},
		{"version 9", func() (*delta.Snapshot, error) { return tbl.SnapshotAt(ctx, 9) }, 0, 0, delta.ErrVersionNotFound},
		{"exact commit time", func() (*delta.Snapshot, error) { return tbl.SnapshotAsOf(ctx, base.Add(time.Hour)) }, 1, 1, nil},
		{"between commits", func() (*delta.Snapshot, error) { return tbl.SnapshotAsOf(ctx, base.Add(150*time.Minute)) }, 2, 2, nil},
		{"after last", func() (*delta.Snapshot, error) { return tbl.SnapshotAsOf(ctx, base.Add(48*time.Hour)) }, 3, 3, nil},
		{"before first", func() (*delta.Snapshot, error) { return tbl.SnapshotAsOf(ctx, base.Add(-time.Hour)) }, 0, 0, delta.ErrVersionNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := tc.at()
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if snap.Version() != tc.version || len(rowsOf(t, snap)) != tc.rows {
				t.Fatalf("got version %d with %d rows, want %d with %d", snap.Version(), len(rowsOf(t, snap)), tc.version, tc.rows)
			}
		})
	}
}

func TestTxnMakesWritesIdempotent(t *testing.T) {
	ctx := context.Background()
	tbl, _ := newTable(t, nil, nil)
	add := func(app string, v int64) delta.CommitResult {
		t.Helper()
		res, err := tbl.Append(ctx, []*delta.Add{writeFile(t, tbl, "a", testRow{v, app})}, &delta.WriteOptions{Txn: &delta.Txn{AppID: app, Version: v}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if r := add("loader", 1); r.Skipped || r.Version != 1 {
		t.Fatalf("first: %+v", r)
	}
	if r := add("loader", 1); !r.Skipped || r.Version != 1 {
		t.Fatalf("replay of version 1 must be skipped: %+v", r)
	}
	if r := add("loader", 0); !r.Skipped {
		t.Fatalf("older version must be skipped: %+v", r)
	}
	if r := add("other", 1); r.Skipped || r.Version != 2 {
		t.Fatalf("another app: %+v", r)
	}
	if r := add("loader", 2); r.Skipped || r.Version != 3 {
		t.Fatalf("next version: %+v", r)
	}
	snap, _ := tbl.Snapshot(ctx)
	if v, ok := snap.TxnVersion("loader"); !ok || v != 2 {
		t.Fatalf("TxnVersion(loader) = %d, %v", v, ok)
	}
	if got := len(rowsOf(t, snap)); got != 3 {
		t.Fatalf("got %d rows, want 3", got)
	}
}

func TestOverwrite(t *testing.T) {
	ctx := context.Background()
	tbl, _ := newTable(t, nil, nil)
	for i, p := range []string{"a", "b", "c"} {
		if _, err := tbl.Append(ctx, []*delta.Add{writeFile(t, tbl, p, testRow{int64(i), p})}, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := tbl.Overwrite(ctx, []*delta.Add{writeFile(t, tbl, "b", testRow{10, "new"})}, delta.Eq("part", "b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rowsOf(t, res.Snapshot), want("0,a,a", "10,new,b", "2,c,c"))
	if _, err := tbl.Overwrite(ctx, []*delta.Add{writeFile(t, tbl, "c", testRow{11, "x"})}, delta.Eq("part", "b"), nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("file outside the predicate: got %v", err)
	}
	if _, err := tbl.Overwrite(ctx, nil, delta.Eq("name", "b"), nil); err == nil || !strings.Contains(err.Error(), "not a partition column") {
		t.Fatalf("predicate on a data column: got %v", err)
	}
	res, err = tbl.Overwrite(ctx, []*delta.Add{writeFile(t, tbl, "z", testRow{20, "all"})}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRows(t, rowsOf(t, res.Snapshot), want("20,all,z"))
	if n := len(res.Snapshot.Tombstones()); n != 4 {
		t.Fatalf("got %d tombstones, want 4", n)
	}
	hist, err := tbl.History(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Version != 5 || hist[0].CommitInfo.Operation != "WRITE" || hist[0].CommitInfo.OperationParameters["mode"] != "Overwrite" {
		t.Fatalf("history: %+v", hist)
	}
}

// TestConflicts races two transactions: the first is begun, the second
// commits, then the first commits on top of it.
func TestConflicts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		loser    func(tx *delta.Transaction, tbl *delta.Table, snap *delta.Snapshot)
		winner   func(tbl *delta.Table) error
		conflict string // "" = must succeed on the next version
		skipped  bool
	}{
		{
			name: "blind appends never conflict",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				tx.AddFiles(writeFile(t, tbl, "a", testRow{1, "l"}))
			},
			winner: func(tbl *delta.Table) error { return appendRow(tbl, "a", 2) },
		},
		{
			name: "overwrite vs concurrent append",
			loser: func(tx *delta.Transaction, tbl *delta.Table, snap *delta.Snapshot) {
				tx.ReadAll()
				for _, f := range snap.Files() {
					tx.RemoveAdd(f, true)
				}
			},
			winner:   func(tbl *delta.Table) error { return appendRow(tbl, "b", 3) },
			conflict: "added file",
		},
		{
			name: "read partition a vs append to b",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				if err := tx.ReadWhere(delta.Eq("part", "a")); err != nil {
					t.Fatal(err)
				}
				tx.AddFiles(writeFile(t, tbl, "a", testRow{4, "l"}))
			},
			winner: func(tbl *delta.Table) error { return appendRow(tbl, "b", 5) },
		},
		{
			name: "read partition a vs append to a",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				if err := tx.ReadWhere(delta.Eq("part", "a")); err != nil {
					t.Fatal(err)
				}
			},
			winner:   func(tbl *delta.Table) error { return appendRow(tbl, "a", 6) },
			conflict: "in partitions this transaction read",
		},
		{
			name: "compaction vs concurrent delete of the same file",
			loser: func(tx *delta.Transaction, _ *delta.Table, snap *delta.Snapshot) {
				tx.RemoveAdd(snap.Files()[0], false)
			},
			winner:   func(tbl *delta.Table) error { _, err := tbl.Overwrite(context.Background(), nil, nil, nil); return err },
			conflict: "also removed file",
		},
		{
			name: "a read file removed with a data change",
			loser: func(tx *delta.Transaction, tbl *delta.Table, snap *delta.Snapshot) {
				tx.ReadFiles(snap.Files()...)
				tx.AddFiles(writeFile(t, tbl, "b", testRow{8, "l"}))
			},
			winner: func(tbl *delta.Table) error {
				_, err := tbl.Overwrite(context.Background(), nil, delta.Eq("part", "a"), nil)
				return err
			},
			conflict: "that this transaction read",
		},
		{
			name: "a merge that read the whole table beside a compaction",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				tx.ReadAll()
				tx.AddFiles(writeFile(t, tbl, "a", testRow{9, "l"}))
			},
			winner: func(tbl *delta.Table) error { return compactAll(t, tbl) },
		},
		{
			name: "a txn writer (window model) beside a compaction",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				tx.SetTxn("medallion/model/gold.w/bronze.c", 5)
				tx.SetTxn("medallion/watermark/gold.w", 100)
				tx.AddFiles(writeFile(t, tbl, "a", testRow{10, "l"}))
			},
			winner: func(tbl *delta.Table) error { return compactAll(t, tbl) },
		},
		{
			name: "a compaction beside a txn writer",
			loser: func(tx *delta.Transaction, tbl *delta.Table, snap *delta.Snapshot) {
				for _, f := range snap.Files() {
					tx.RemoveAdd(f, false)
				}
				add := writeFile(t, tbl, "a", testRow{0, "w"})
				add.DataChange = false
				tx.AddFiles(add)
			},
			winner: func(tbl *delta.Table) error {
				_, err := tbl.Append(context.Background(), []*delta.Add{writeFile(t, tbl, "a", testRow{11, "w"})}, &delta.WriteOptions{Txns: []delta.Txn{{AppID: "m/in", Version: 4}, {AppID: "wm", Version: 9}}})
				return err
			},
		},
		{
			name: "the same progress txn committed by the winner at a lower version",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				tx.SetTxn("model/in", 9)
				tx.AddFiles(writeFile(t, tbl, "a", testRow{12, "l"}))
			},
			winner: func(tbl *delta.Table) error {
				_, err := tbl.Append(context.Background(), []*delta.Add{writeFile(t, tbl, "a", testRow{13, "w"})}, &delta.WriteOptions{Txn: &delta.Txn{AppID: "model/in", Version: 8}})
				return err
			},
			conflict: "re-plan",
		},
		{
			name: "the same progress txn committed by the winner at a higher version",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				tx.SetTxn("model/in", 9)
				tx.AddFiles(writeFile(t, tbl, "a", testRow{14, "l"}))
			},
			winner: func(tbl *delta.Table) error {
				_, err := tbl.Append(context.Background(), []*delta.Add{writeFile(t, tbl, "a", testRow{15, "w"})}, &delta.WriteOptions{Txn: &delta.Txn{AppID: "model/in", Version: 10}})
				return err
			},
			skipped: true,
		},
		{
			name: "metadata change",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) {
				tx.AddFiles(writeFile(t, tbl, "a", testRow{7, "l"}))
			},
			winner: func(tbl *delta.Table) error {
				snap, err := tbl.Snapshot(context.Background())
				if err != nil {
					return err
				}
				md := *snap.Metadata()
				md.Configuration = map[string]string{"delta.appendOnly": "false"}
				tx := tbl.Begin(snap)
				tx.SetMetadata(&md)
				_, err = tx.Commit(context.Background())
				return err
			},
			conflict: "metadata",
		},
		{
			name:  "same txn committed by the winner",
			loser: func(tx *delta.Transaction, tbl *delta.Table, _ *delta.Snapshot) { tx.SetTxn("job", 7) },
			winner: func(tbl *delta.Table) error {
				_, err := tbl.Append(context.Background(), nil, &delta.WriteOptions{Txn: &delta.Txn{AppID: "job", Version: 7}})
				return err
			},
			skipped: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, dir := newTable(t, nil, nil)
			if err := appendRow(tbl, "a", 0); err != nil {
				t.Fatal(err)
			}
			snap, err := tbl.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tx := tbl.Begin(snap)
			tc.loser(tx, tbl, snap)
			if err := tc.winner(openTable(t, dir, nil)); err != nil {
				t.Fatal(err)
			}
			res, err := tx.Commit(ctx)
			switch {
			case tc.conflict != "":
				if !errors.Is(err, delta.ErrConcurrentModification) || !strings.Contains(err.Error(), tc.conflict) {
					t.Fatalf("got %v, want a conflict mentioning %q", err, tc.conflict)
				}
				if !strings.Contains(err.Error(), "version 2") {
					t.Fatalf("conflict error should name the winning version: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			case res.Skipped != tc.skipped:
				t.Fatalf("skipped = %v, want %v", res.Skipped, tc.skipped)
			case !tc.skipped && (res.Version != 3 || res.Attempts != 2):
				t.Fatalf("got version %d after %d attempts, want 3 after 2", res.Version, res.Attempts)
			}
		})
	}
}

// compactAll rewrites every file of tbl as one file with dataChange=false,
// as OPTIMIZE does.
func compactAll(t *testing.T, tbl *delta.Table) error {
	ctx := context.Background()
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		return err
	}
	tx := tbl.Begin(snap)
	tx.SetOperation("OPTIMIZE", nil)
	for _, f := range snap.Files() {
		tx.RemoveAdd(f, false)
	}
	add := writeFile(t, tbl, "a", testRow{0, "w"})
	add.DataChange = false
	tx.AddFiles(add)
	_, err = tx.Commit(ctx)
	return err
}

func appendRow(tbl *delta.Table, part string, id int64) error {
	add, err := writeDataFile(context.Background(), tbl, part, []testRow{{id, "w"}})
	if err != nil {
		return err
	}
	_, err = tbl.Append(context.Background(), []*delta.Add{add}, nil)
	return err
}

func TestCheckpointsAndLogCleanup(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, map[string]string{delta.PropCheckpointInterval: "3"})
	for i := range 7 {
		if err := appendRow(tbl, "a", int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tbl.WaitCheckpoint(ctx); err != nil { // written in the background
		t.Fatal(err)
	}
	files := logFiles(t, dir)
	for _, name := range []string{"00000000000000000003.checkpoint.parquet", "00000000000000000006.checkpoint.parquet", "_last_checkpoint"} {
		if !slices.Contains(files, name) {
			t.Fatalf("missing %s in %v", name, files)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"))
	if err != nil || !strings.Contains(string(b), `"version":6`) {
		t.Fatalf("_last_checkpoint = %s, %v", b, err)
	}
	wantRows := rowsOf(t, mustSnapshot(t, openTable(t, dir, nil)))

	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string)
	}{
		{"commits before the checkpoint deleted", func(t *testing.T, dir string) {
			for v := int64(0); v <= 5; v++ {
				if err := os.Remove(commitPath(dir, v)); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"no _last_checkpoint", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "_delta_log", "_last_checkpoint")); err != nil {
				t.Fatal(err)
			}
		}},
		{"stale _last_checkpoint", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"), []byte(`{"version":3,"size":5}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"_last_checkpoint names a missing checkpoint", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"), []byte(`{"version":99,"size":5}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"newest checkpoint incomplete", func(t *testing.T, dir string) {
			// A multi-part checkpoint with a missing part must be ignored.
			p := filepath.Join(dir, "_delta_log", "00000000000000000007.checkpoint.0000000001.0000000002.parquet")
			if err := os.WriteFile(p, []byte("garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"uncommitted temp file in _delta_log/.tmp", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "_delta_log", ".tmp"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "_delta_log", ".tmp", "00000000000000000008.json"), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cp := t.TempDir()
			if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
				t.Fatal(err)
			}
			tc.break_(t, cp)
			snap := mustSnapshot(t, openTable(t, cp, nil))
			if snap.Version() != 7 {
				t.Fatalf("version %d, want 7", snap.Version())
			}
			equalRows(t, rowsOf(t, snap), wantRows)
		})
	}

	// Log cleanup: a writer whose clock is 40 days ahead sees every existing
	// log file as expired; its next checkpoint (version 9) removes the log
	// before it.
	future := openTable(t, dir, &delta.Options{Now: func() time.Time { return time.Now().Add(40 * 24 * time.Hour) }})
	for i := range 2 {
		if err := appendRow(future, "a", int64(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := future.WaitCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	files = logFiles(t, dir)
	for _, f := range files {
		if strings.HasPrefix(f, "0000000000000000000") && f < "00000000000000000009" {
			t.Fatalf("expired log file %s survived cleanup: %v", f, files)
		}
	}
	if _, err := openTable(t, dir, nil).SnapshotAt(ctx, 5); !errors.Is(err, delta.ErrVersionNotFound) {
		t.Fatalf("version 5 after cleanup: got %v, want ErrVersionNotFound", err)
	}
	if got := len(rowsOf(t, mustSnapshot(t, openTable(t, dir, nil)))); got != 9 {
		t.Fatalf("got %d rows after cleanup, want 9", got)
	}
}

// TestLogCleanupOnceTheClockPasses keeps one Table (and so its memory of
// the oldest checkpoint, which lets clean-ups skip listing the log while no
// checkpoint can have expired) across a clock that moves 40 days ahead: its
// next checkpoint must still remove the expired log.
func TestLogCleanupOnceTheClockPasses(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	tbl, dir := newTable(t, &delta.Options{Now: func() time.Time { return time.Unix(0, now.Load()) }},
		map[string]string{delta.PropCheckpointInterval: "3"})
	for i := range 7 { // checkpoints at 3 and 6, each followed by a clean-up that deletes nothing
		if err := appendRow(tbl, "a", int64(i)); err != nil {
			t.Fatal(err)
		}
		if err := tbl.WaitCheckpoint(t.Context()); err != nil { // one at a time: each clean-up runs
			t.Fatal(err)
		}
	}
	if files := logFiles(t, dir); !slices.Contains(files, "00000000000000000000.json") {
		t.Fatalf("log cleaned up before its retention: %v", files)
	}
	now.Add(int64(40 * 24 * time.Hour))
	for i := range 2 { // version 9 checkpoints and cleans up
		if err := appendRow(tbl, "a", int64(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tbl.WaitCheckpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	files := logFiles(t, dir)
	for _, f := range files {
		if strings.HasPrefix(f, "0000000000000000000") && f < "00000000000000000009" {
			t.Fatalf("expired log file %s survived cleanup: %v", f, files)
		}
	}
	if got := len(rowsOf(t, mustSnapshot(t, openTable(t, dir, nil)))); got != 9 {
		t.Fatalf("got %d rows after cleanup, want 9", got)
	}
}

func mustSnapshot(t testing.TB, tbl *delta.Table) *delta.Snapshot {
	t.Helper()
	snap, err := tbl.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestVacuum(t *testing.T) {
	ctx := context.Background()
	tbl, dir := newTable(t, nil, nil)
	old := writeFile(t, tbl, "a", testRow{1, "old"})
	if _, err := tbl.Append(ctx, []*delta.Add{old}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Overwrite(ctx, []*delta.Add{writeFile(t, tbl, "a", testRow{2, "new"})}, nil, nil); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, "part=a", "orphan.parquet")
	if err := os.WriteFile(orphan, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	hidden := filepath.Join(dir, "_hidden", "keep.txt")
	if err := os.MkdirAll(filepath.Dir(hidden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hidden, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	res, err := tbl.Vacuum(ctx, &delta.VacuumOptions{DryRun: true})
	if err != nil || len(res.Files) != 0 {
		t.Fatalf("young files must be kept: %+v, %v", res, err)
	}
	if _, err := tbl.Vacuum(ctx, &delta.VacuumOptions{Retention: ptr(time.Hour)}); err == nil || !strings.Contains(err.Error(), "shorter than the table's") {
		t.Fatalf("short retention without force: got %v", err)
	}
	later := openTable(t, dir, &delta.Options{Now: func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }})
	res, err = later.Vacuum(ctx, &delta.VacuumOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	oldKey, _ := delta.FileKey(old.Path)
	wantFiles := want(oldKey, "part=a/orphan.parquet")
	if !slices.Equal(res.Files, wantFiles) {
		t.Fatalf("dry run: got %v, want %v", res.Files, wantFiles)
	}
	if _, err := os.Stat(orphan); err != nil {
		t.Fatalf("dry run deleted a file: %v", err)
	}
	if res, err = later.Vacuum(ctx, nil); err != nil || len(res.Files) != 2 {
		t.Fatalf("vacuum: %+v, %v", res, err)
	}
	for _, p := range []string{orphan, filepath.Join(dir, filepath.FromSlash(oldKey))} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s should be deleted: %v", p, err)
		}
	}
	if _, err := os.Stat(hidden); err != nil {
		t.Fatalf("hidden file deleted: %v", err)
	}
	equalRows(t, rowsOf(t, mustSnapshot(t, openTable(t, dir, nil))), want("2,new,a"))
}

func TestOptimize(t *testing.T) {
	ctx := context.Background()
	tbl, _ := newTable(t, nil, nil)
	var wantRows []string
	for i := range 5 {
		if err := appendRow(tbl, "a", int64(i)); err != nil {
			t.Fatal(err)
		}
		wantRows = append(wantRows, fmt.Sprintf("%d,w,a", i))
	}
	if err := appendRow(tbl, "b", 9); err != nil {
		t.Fatal(err)
	}
	wantRows = want(append(wantRows, "9,w,b")...)
	res, err := tbl.Optimize(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesRemoved != 5 || res.FilesAdded != 1 || res.PartitionsOptimized != 1 || res.Version != 7 {
		t.Fatalf("optimize: %+v", res)
	}
	snap := mustSnapshot(t, tbl)
	if snap.NumFiles() != 2 {
		t.Fatalf("got %d files after optimize, want 2", snap.NumFiles())
	}
	equalRows(t, rowsOf(t, snap), wantRows)
	for _, f := range snap.Files() {
		if f.PartitionValues["part"] != nil && *f.PartitionValues["part"] == "a" {
			st, err := delta.ParseStats(f.Stats)
			if err != nil || st.NumRecords != 5 {
				t.Fatalf("compacted file stats: %+v %v", st, err)
			}
		}
	}
	hist, _ := tbl.History(ctx, 1)
	if hist[0].CommitInfo.Operation != "OPTIMIZE" || hist[0].CommitInfo.OperationMetrics["numRemovedFiles"] != "5" {
		t.Fatalf("history: %+v", hist[0].CommitInfo)
	}
	// Nothing left to compact: no commit.
	if res, err := tbl.Optimize(ctx, nil); err != nil || res.Version != -1 {
		t.Fatalf("second optimize: %+v %v", res, err)
	}
}

func TestRefusesUnsupportedWrites(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		protocol string
		config   string
		feature  string
	}{
		{"check constraints", `{"minReaderVersion":1,"minWriterVersion":3}`, `{"delta.constraints.positive":"id > 0"}`, "checkConstraints"},
		{"writer feature", `{"minReaderVersion":1,"minWriterVersion":7,"writerFeatures":["rowTracking"]}`, `{}`, "rowTracking"},
		{"reader feature", `{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}`, `{}`, "deletionVectors"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "_delta_log"), 0o755); err != nil {
				t.Fatal(err)
			}
			commit := `{"protocol":` + tc.protocol + "}\n" +
				`{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},{\"name\":\"part\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":["part"],"configuration":` + tc.config + "}}\n"
			if err := os.WriteFile(commitPath(dir, 0), []byte(commit), 0o644); err != nil {
				t.Fatal(err)
			}
			tbl := openTable(t, dir, nil)
			_, err := tbl.Append(ctx, nil, nil)
			if !errors.Is(err, delta.ErrUnsupportedFeature) || !strings.Contains(err.Error(), tc.feature) {
				t.Fatalf("got %v, want an unsupported-feature error naming %s", err, tc.feature)
			}
		})
	}
}

// TestVariantColumnRefused: a variant column is a valid Delta type this
// package cannot read. Whatever the protocol says (Spark declares the
// variantType reader feature, a hand-made or preview table may not), the
// table is refused naming variantType, never reported as a corrupt log.
func TestVariantColumnRefused(t *testing.T) {
	ctx := context.Background()
	for name, protocol := range map[string]string{
		"reader feature":  `{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["variantType"],"writerFeatures":["variantType"]}`,
		"legacy protocol": `{"minReaderVersion":1,"minWriterVersion":2}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "_delta_log"), 0o755); err != nil {
				t.Fatal(err)
			}
			commit := `{"protocol":` + protocol + "}\n" +
				`{"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"v\",\"type\":\"variant\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{}}}` + "\n"
			if err := os.WriteFile(commitPath(dir, 0), []byte(commit), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := openTable(t, dir, nil).Snapshot(ctx)
			if !errors.Is(err, delta.ErrUnsupportedFeature) || errors.Is(err, delta.ErrCorruptLog) || !strings.Contains(err.Error(), "variantType") {
				t.Fatalf("got %v, want an unsupported-feature error naming variantType", err)
			}
		})
	}
	_, err := delta.ParseSchema(`{"type":"struct","fields":[{"name":"v","type":"variant","nullable":true,"metadata":{}}]}`)
	if !errors.Is(err, delta.ErrUnsupportedFeature) || !strings.Contains(err.Error(), "variantType") {
		t.Fatalf("ParseSchema: %v, want an unsupported-feature error naming variantType", err)
	}
}

func TestCorruptCommitNamesFileAndLine(t *testing.T) {
	tbl, dir := newTable(t, nil, nil)
	if err := appendRow(tbl, "a", 1); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(commitPath(dir, 1), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(must(os.ReadFile(commitPath(dir, 1)))), "\n")
	if _, err := f.WriteString(`{"add":{"path":` + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = openTable(t, dir, nil).Snapshot(context.Background())
	if !errors.Is(err, delta.ErrCorruptLog) {
		t.Fatalf("got %v, want ErrCorruptLog", err)
	}
	for _, s := range []string{"00000000000000000001.json", "version 1", fmt.Sprintf("line %d", lines+1)} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not mention %q", err, s)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }
