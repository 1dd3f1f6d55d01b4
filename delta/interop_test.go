package delta_test

import (
	"bytes"
	"context"
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

// Interop tests: delta-rs (the Python deltalake package) and this package
// read each other's tables. The peers are the scripts in testdata/interop,
// run with the repository's .venv Python; scripts/requirements-test.txt pins
// the Python packages they need (`make test-deps` installs them).

const (
	interopDir     = "testdata/interop"
	interopTimeout = 2 * time.Minute
)

// peerTable is what read_table.py prints: the table as delta-rs reads it.
type peerTable struct {
	Version          int64       `json:"version"`
	NumFiles         int         `json:"num_files"`
	Rows             [][]*string `json:"rows"`
	Schema           []peerField `json:"schema"`
	PartitionColumns []string    `json:"partition_columns"`
	History          []peerEntry `json:"history"`
	Protocol         struct {
		MinReaderVersion int `json:"min_reader_version"`
		MinWriterVersion int `json:"min_writer_version"`
	} `json:"protocol"`
	Txns map[string]*int64 `json:"txns"`
}

type peerField struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type peerEntry struct {
	Version   int64  `json:"version"`
	Operation string `json:"operation"`
}

// peerWritten is what write_table.py prints: the table it must have written.
type peerWritten struct {
	Version  int64       `json:"version"`
	NumFiles int         `json:"num_files"`
	Rows     [][]*string `json:"rows"`
}

// interopPython returns the Python that can run the peers: the
// repository's .venv (made by `make test-deps`), else python3 from PATH.
// When deltalake is missing the test is skipped, except in CI (CI=true),
// where a missing peer fails loudly.
func interopPython(t *testing.T) string {
	t.Helper()
	return peertables.Python(t, "deltalake", "pyarrow")
}

// runPeer runs a script of testdata/interop and returns its stdout; on
// failure (or after the timeout) it fails the test showing stderr.
func runPeer(t *testing.T, py, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join(interopDir, script)}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (timed out after %s)", err, interopTimeout)
		}
		t.Fatalf("%s %s: %v\n--- stderr ---\n%s\n--- stdout ---\n%s", script, strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.Bytes()
}

func decodePeer[T any](t *testing.T, script string, out []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s printed output that is not the expected JSON: %v\n%s", script, err, out)
	}
	return v
}

// readPeer reads the table at dir with delta-rs, at version (latest when
// negative), reporting the txn versions of appIDs.
func readPeer(t *testing.T, py, dir string, version int64, appIDs ...string) peerTable {
	t.Helper()
	args := []string{dir}
	if version >= 0 {
		args = append(args, "--version", fmt.Sprint(version))
	}
	for _, id := range appIDs {
		args = append(args, "--app-id", id)
	}
	return decodePeer[peerTable](t, "read_table.py", runPeer(t, py, "read_table.py", args...))
}

// peerRows renders the peer's rows as rowsOf does: "id,name,part", NULL as
// the empty string, sorted.
func peerRows(rows [][]*string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			if v != nil {
				parts[j] = *v
			}
		}
		out[i] = strings.Join(parts, ",")
	}
	slices.Sort(out)
	return out
}

// tableModel tracks the rows a test table must hold, by partition.
type tableModel map[string][]string

func (m tableModel) add(part string, rows ...testRow) {
	for _, r := range rows {
		m[part] = append(m[part], fmt.Sprintf("%d,%s,%s", r.ID, r.Name, part))
	}
}

func (m tableModel) replace(part string, rows ...testRow) {
	delete(m, part)
	m.add(part, rows...)
}

func (m tableModel) rows() []string {
	var out []string
	for _, part := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[part]...)
	}
	slices.Sort(out)
	return out
}

// copyWithoutLogBefore copies the table at src to a new directory, leaving
// out the commits and checkpoints of versions before v: a reader of the copy
// can only start from the checkpoint at v.
func copyWithoutLogBefore(t *testing.T, src string, v int64) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, name := range logFiles(t, dst) {
		var fv int64
		if len(name) < 21 || name[20] != '.' {
			continue
		}
		if _, err := fmt.Sscanf(name[:20], "%d", &fv); err != nil || fv >= v {
			continue
		}
		if err := os.Remove(filepath.Join(dst, "_delta_log", name)); err != nil {
			t.Fatal(err)
		}
		removed++
	}
	if removed == 0 {
		t.Fatalf("no log files before version %d in %v", v, logFiles(t, src))
	}
	return dst
}

// ourHistory is the table's history up to version, oldest first.
func ourHistory(t *testing.T, tbl *delta.Table, version int64) []peerEntry {
	t.Helper()
	h, err := tbl.History(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []peerEntry
	for _, e := range h {
		if e.Version > version {
			continue
		}
		op := ""
		if e.CommitInfo != nil {
			op = e.CommitInfo.Operation
		}
		out = append(out, peerEntry{Version: e.Version, Operation: op})
	}
	slices.SortFunc(out, func(a, b peerEntry) int { return int(a.Version - b.Version) })
	return out
}

// comparePeer checks that delta-rs's view of a version equals our snapshot
// of it and the model's rows.
func comparePeer(t *testing.T, tbl *delta.Table, snap *delta.Snapshot, peer peerTable, wantRows []string) {
	t.Helper()
	v := snap.Version()
	t.Logf("delta-rs read version %d: %d files, %d rows, history %v", peer.Version, peer.NumFiles, len(peer.Rows), peer.History)
	if peer.Version != v {
		t.Errorf("version %d: delta-rs loaded version %d", v, peer.Version)
	}
	ours := rowsOf(t, snap)
	if !slices.Equal(ours, wantRows) {
		t.Errorf("version %d: our rows differ from the expected ones\n ours: %v\n want: %v", v, ours, wantRows)
	}
	if got := peerRows(peer.Rows); !slices.Equal(got, wantRows) {
		t.Errorf("version %d: delta-rs rows differ\ndelta-rs: %v\n    want: %v", v, got, wantRows)
	}
	if peer.NumFiles != snap.NumFiles() {
		t.Errorf("version %d: delta-rs sees %d active files, we see %d", v, peer.NumFiles, snap.NumFiles())
	}
	var fields []peerField
	for _, f := range snap.Schema().Fields {
		fields = append(fields, peerField{Name: f.Name, Type: f.Type.String()})
	}
	if !slices.Equal(peer.Schema, fields) {
		t.Errorf("version %d: delta-rs schema %v, ours %v", v, peer.Schema, fields)
	}
	if !slices.Equal(peer.PartitionColumns, snap.PartitionColumns()) {
		t.Errorf("version %d: delta-rs partition columns %v, ours %v", v, peer.PartitionColumns, snap.PartitionColumns())
	}
	if p := snap.Protocol(); peer.Protocol.MinReaderVersion != p.MinReaderVersion || peer.Protocol.MinWriterVersion != p.MinWriterVersion {
		t.Errorf("version %d: delta-rs protocol %d/%d, ours %d/%d", v, peer.Protocol.MinReaderVersion, peer.Protocol.MinWriterVersion, p.MinReaderVersion, p.MinWriterVersion)
	}
	if want := ourHistory(t, tbl, v); !slices.Equal(peer.History, want) {
		t.Errorf("version %d: delta-rs history %v, ours %v", v, peer.History, want)
	}
	for app, got := range peer.Txns {
		want, ok := snap.TxnVersion(app)
		switch {
		case !ok && got != nil:
			t.Errorf("version %d: delta-rs sees txn %s at version %d, we see none", v, app, *got)
		case ok && got == nil:
			t.Errorf("version %d: delta-rs sees no txn for %s, we see version %d", v, app, want)
		case ok && *got != want:
			t.Errorf("version %d: delta-rs sees txn %s at version %d, we see %d", v, app, *got, want)
		}
	}
}

// TestInteropDeltaRsReadsOurs builds a partitioned table with our writer
// (appends, idempotent appends, a partition overwrite, an optimize, a
// checkpoint) and checks that delta-rs reads every kind of version of it as
// we do: one replayed from JSON commits only, the checkpoint's, and the
// latest (checkpoint plus later commits).
func TestInteropDeltaRsReadsOurs(t *testing.T) {
	py := interopPython(t)
	ctx := context.Background()
	tbl, dir := newTable(t, nil, nil) // version 0
	model := tableModel{}
	models := map[int64][]string{0: nil}
	commit := func(res delta.CommitResult, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if res.Skipped {
			t.Fatalf("commit unexpectedly skipped at version %d", res.Version)
		}
		models[res.Version] = model.rows()
		return res.Version
	}
	appendRows := func(part string, opts *delta.WriteOptions, rows ...testRow) int64 {
		t.Helper()
		add := writeFile(t, tbl, part, rows...)
		model.add(part, rows...)
		return commit(tbl.Append(ctx, []*delta.Add{add}, opts))
	}
	const spaced = "c d"                                                                                     // a partition value that needs escaping in paths
	appendRows("a", nil, testRow{1, "alice"})                                                                // 1
	appendRows("b", nil, testRow{2, "bob"})                                                                  // 2
	appendRows(spaced, &delta.WriteOptions{Txn: &delta.Txn{AppID: "ingest", Version: 1}}, testRow{3, "zoë"}) // 3
	appendRows("a", nil, testRow{4, "dave"}, testRow{5, "erin"})                                             // 4
	const early = int64(5)
	appendRows("b", &delta.WriteOptions{Txn: &delta.Txn{AppID: "ingest", Version: 2}}, testRow{6, "frank"}) // 5
	appendRows("a", nil, testRow{7, "grace"})                                                               // 6
	appendRows(spaced, nil, testRow{8, "heidi"})                                                            // 7
	// One commit adding files in two partitions.
	a9, b9 := writeFile(t, tbl, "a", testRow{9, "ivan"}), writeFile(t, tbl, "b", testRow{10, "judy"})
	model.add("a", testRow{9, "ivan"})
	model.add("b", testRow{10, "judy"})
	commit(tbl.Append(ctx, []*delta.Add{a9, b9}, nil)) // 8
	appendRows("b", nil, testRow{11, "mallory"})       // 9

	// 10: replace partition b; the checkpoint is written after this commit.
	newB := []testRow{{12, "niaj"}, {13, "olivia"}}
	addB := writeFile(t, tbl, "b", newB...)
	model.replace("b", newB...)
	const checkpointed = int64(10)
	if v := commit(tbl.Overwrite(ctx, []*delta.Add{addB}, delta.Eq("part", "b"), nil)); v != checkpointed {
		t.Fatalf("overwrite committed version %d, want %d", v, checkpointed)
	}
	if err := tbl.WaitCheckpoint(ctx); err != nil { // written in the background
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.checkpoint.parquet", checkpointed))); err != nil {
		t.Fatalf("no checkpoint at version %d: %v (log: %v)", checkpointed, err, logFiles(t, dir))
	}

	// 11: compact partition a (4 files) into one file.
	opt, err := tbl.Optimize(ctx, &delta.OptimizeOptions{Where: delta.Eq("part", "a")})
	if err != nil {
		t.Fatal(err)
	}
	if opt.Version != 11 || opt.FilesRemoved != 4 || opt.FilesAdded != 1 {
		t.Fatalf("optimize: %+v, want version 11 compacting 4 files into 1", opt)
	}
	models[opt.Version] = model.rows()

	// 12: an idempotent append after the checkpoint; its retry is skipped.
	retry := &delta.WriteOptions{Txn: &delta.Txn{AppID: "ingest", Version: 3}}
	appendRows(spaced, retry, testRow{14, "peggy"}) // 12
	res, err := tbl.Append(ctx, []*delta.Add{writeFile(t, tbl, spaced, testRow{14, "peggy"})}, retry)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Skipped {
		t.Fatalf("retried txn committed version %d, want skipped", res.Version)
	}
	latest := appendRows("a", &delta.WriteOptions{Txns: []delta.Txn{{AppID: "other", Version: 7}}}, testRow{15, "rupert"}) // 13
	if latest != 13 {
		t.Fatalf("latest version %d, want 13", latest)
	}

	for _, v := range []int64{latest, checkpointed, early} {
		t.Run(fmt.Sprintf("version%d", v), func(t *testing.T) {
			snap, err := tbl.SnapshotAt(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			version := v
			if v == latest {
				version = -1 // let delta-rs find the latest version itself
			}
			peer := readPeer(t, py, dir, version, "ingest", "other", "never")
			comparePeer(t, tbl, snap, peer, models[v])
		})
	}

	// Without the commits before it, the table can only be read through
	// our checkpoint: delta-rs must make sense of it on its own.
	t.Run("fromOurCheckpoint", func(t *testing.T) {
		cp := copyWithoutLogBefore(t, dir, checkpointed)
		cpTbl := openTable(t, cp, nil)
		snap, err := cpTbl.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		peer := readPeer(t, py, cp, -1, "ingest", "other", "never")
		comparePeer(t, cpTbl, snap, peer, models[latest])
	})
}

// TestInteropWeReadDeltaRs has delta-rs write a partitioned table (appends,
// a partition overwrite, a checkpoint) and checks that we read it as
// write_table.py says it must be; then it commits on top of delta-rs's log
// with our writer and checks that delta-rs reads our commits and our
// checkpoint.
func TestInteropWeReadDeltaRs(t *testing.T) {
	py := interopPython(t)
	ctx := context.Background()
	dir := t.TempDir()
	written := decodePeer[peerWritten](t, "write_table.py", runPeer(t, py, "write_table.py", dir))
	t.Logf("delta-rs wrote version %d with %d files; log: %v", written.Version, written.NumFiles, logFiles(t, dir))

	tbl := openTable(t, dir, nil)
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Version() != written.Version {
		t.Fatalf("we read version %d, delta-rs wrote %d", snap.Version(), written.Version)
	}
	if snap.NumFiles() != written.NumFiles {
		t.Errorf("we see %d active files, delta-rs %d", snap.NumFiles(), written.NumFiles)
	}
	wantRows := peerRows(written.Rows)
	equalRows(t, rowsOf(t, snap), wantRows)

	// Every delta-rs version, as delta-rs itself reads it.
	for v := int64(0); v <= written.Version; v++ {
		s, err := tbl.SnapshotAt(ctx, v)
		if err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		peer := readPeer(t, py, dir, v)
		comparePeer(t, tbl, s, peer, peerRows(peer.Rows))
	}

	// Without delta-rs's commits before its checkpoint, we must read the
	// table through that checkpoint.
	t.Run("fromTheirCheckpoint", func(t *testing.T) {
		cp := copyWithoutLogBefore(t, dir, written.Version)
		cpTbl := openTable(t, cp, nil)
		s, err := cpTbl.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Version() != written.Version || s.NumFiles() != written.NumFiles {
			t.Errorf("from delta-rs's checkpoint: version %d with %d files, want %d with %d", s.Version(), s.NumFiles(), written.Version, written.NumFiles)
		}
		equalRows(t, rowsOf(t, s), wantRows)
	})

	// Our commits on top of delta-rs's log: an idempotent append to an
	// existing partition and a new one, then an overwrite of partition a
	// (removing delta-rs's files), then our checkpoint.
	model := tableModel{}
	for _, r := range wantRows {
		f := strings.SplitN(r, ",", 3)
		model[f[2]] = append(model[f[2]], r)
	}
	txn := &delta.WriteOptions{Txn: &delta.Txn{AppID: "medallion-interop", Version: 1}}
	addCD, addE := writeFile(t, tbl, "c d", testRow{100, "victor"}), writeFile(t, tbl, "e", testRow{101, "walter"}, testRow{102, "xavier"})
	res, err := tbl.Append(ctx, []*delta.Add{addCD, addE}, txn)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Version != written.Version+1 {
		t.Fatalf("append: %+v, want version %d", res, written.Version+1)
	}
	model.add("c d", testRow{100, "victor"})
	model.add("e", testRow{101, "walter"}, testRow{102, "xavier"})
	appended, appendedRows := res.Version, model.rows()

	newA := []testRow{{103, "yvonne"}}
	res, err = tbl.Overwrite(ctx, []*delta.Add{writeFile(t, tbl, "a", newA...)}, delta.Eq("part", "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	model.replace("a", newA...)
	latest := res.Version
	if err := tbl.Checkpoint(ctx, res.Snapshot); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		version int64
		rows    []string
	}{{appended, appendedRows}, {latest, model.rows()}} {
		t.Run(fmt.Sprintf("version%d", c.version), func(t *testing.T) {
			s, err := tbl.SnapshotAt(ctx, c.version)
			if err != nil {
				t.Fatal(err)
			}
			version := c.version
			if version == latest {
				version = -1 // latest: from our checkpoint
			}
			peer := readPeer(t, py, dir, version, "medallion-interop")
			comparePeer(t, tbl, s, peer, c.rows)
			if got := peer.Txns["medallion-interop"]; got == nil || *got != 1 {
				t.Errorf("delta-rs txn version for medallion-interop: %v, want 1", got)
			}
		})
	}

	// Without the commits before it, delta-rs must read the table through
	// our checkpoint of its table.
	t.Run("fromOurCheckpoint", func(t *testing.T) {
		cp := copyWithoutLogBefore(t, dir, latest)
		cpTbl := openTable(t, cp, nil)
		s, err := cpTbl.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		peer := readPeer(t, py, cp, -1, "medallion-interop")
		comparePeer(t, cpTbl, s, peer, model.rows())
		if got := peer.Txns["medallion-interop"]; got == nil || *got != 1 {
			t.Errorf("delta-rs txn version for medallion-interop: %v, want 1", got)
		}
	})
}
