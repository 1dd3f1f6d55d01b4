package delta_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/delta/internal/peertables"
	"github.com/medallionhq/medallion/storage"
)

const benchCommits = 10_000

var (
	benchOnce sync.Once
	benchDir  string
	benchErr  error
)

// benchTable builds, once per process, a table of 10,000 commits (one add
// each, with stats) checkpointed every 10 commits as writers leave it: the
// checkpoint at 9,990 and nine commits after it. The commit files are
// written directly to keep set-up short; the checkpoint is ours.
func benchTable(b *testing.B) string {
	benchOnce.Do(func() {
		benchDir, benchErr = os.MkdirTemp("", "medallion-delta-bench")
		if benchErr != nil {
			return
		}
		ctx := context.Background()
		store, err := storage.Open(ctx, benchDir)
		if err != nil {
			benchErr = err
			return
		}
		tbl, err := delta.OpenTable(ctx, store, nil)
		if err != nil {
			benchErr = err
			return
		}
		if _, err := tbl.Create(ctx, testSchema, &delta.CreateOptions{PartitionColumns: []string{"part"}}); err != nil {
			benchErr = err
			return
		}
		for v := int64(1); v < benchCommits; v++ {
			part := fmt.Sprintf("p%d", v%16)
			add := &delta.Add{
				Path:            fmt.Sprintf("part=%s/part-00000-%08d-c000.snappy.parquet", part, v),
				PartitionValues: map[string]*string{"part": &part},
				Size:            1024 + v, ModificationTime: 1700000000000 + v, DataChange: true,
				Stats: fmt.Sprintf(`{"numRecords":100,"minValues":{"id":%d,"name":"a"},"maxValues":{"id":%d,"name":"z"},"nullCount":{"id":0,"name":0}}`, v*100, v*100+99),
			}
			ci := &delta.CommitInfo{Timestamp: 1700000000000 + v, Operation: "WRITE"}
			data, err := delta.MarshalActions([]delta.Action{{CommitInfo: ci}, {Add: add}})
			if err != nil {
				benchErr = err
				return
			}
			if err := os.WriteFile(filepath.Join(benchDir, "_delta_log", fmt.Sprintf("%020d.json", v)), data, 0o644); err != nil {
				benchErr = err
				return
			}
		}
		snap, err := tbl.SnapshotAt(ctx, benchCommits-10)
		if err != nil {
			benchErr = err
			return
		}
		benchErr = tbl.Checkpoint(ctx, snap)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDir
}

// reportCPU makes a benchmark also report the process's CPU time (user +
// system, all threads) per operation as cpu-ms/op: on a shared machine the
// wall time per op (ns/op) includes waiting for a core, the CPU time does
// not. Use it as defer reportCPU(b)() before the loop.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOpenSnapshot opens the latest snapshot of a 10,000-commit table
// from a checkpoint plus nine commits, with a fresh Table each time (no
// cache). Target: under 50 ms (issue 17); BenchmarkOpenSnapshotVsDeltaRS
// measures it against delta-rs in the same run.
func BenchmarkOpenSnapshot(b *testing.B) {
	dir := benchTable(b)
	ctx := context.Background()
	defer reportCPU(b)()
	for b.Loop() {
		snap := mustSnapshot(b, openTable(b, dir, nil))
		if snap.NumFiles() != benchCommits-1 {
			b.Fatalf("got %d files", snap.NumFiles())
		}
	}
	_ = ctx
}

// BenchmarkOpenSnapshotNoCheckpoint is the reference for
// BenchmarkOpenSnapshot: the same table replayed from its 10,000 JSON
// commits, as a reader without checkpoints must (delta-rs users report
// about 30 s for 6,000 commits).
func BenchmarkOpenSnapshotNoCheckpoint(b *testing.B) {
	src := benchTable(b)
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		b.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "_delta_log", "*checkpoint*"))
	for _, m := range matches {
		os.Remove(m)
	}
	for b.Loop() {
		snap := mustSnapshot(b, openTable(b, dir, nil))
		if snap.NumFiles() != benchCommits-1 {
			b.Fatalf("got %d files", snap.NumFiles())
		}
	}
}

// BenchmarkAppendCommit commits one add to the 10,000-commit table per
// iteration through a long-lived Table, checkpoints every 10 commits
// included: they are written in the background, and the benchmark waits for
// the last one before it stops, so ns/op and cpu-ms/op carry their cost;
// commit-p50-ms and commit-p90-ms are the latency of the Append calls
// themselves. Target: a commit under 10 ms. Its reference, in the same run,
// is BenchmarkAppendCommitSyncCheckpoint.
func BenchmarkAppendCommit(b *testing.B) { benchAppend(b, nil) }

// BenchmarkAppendCommitSyncCheckpoint is BenchmarkAppendCommit with the
// checkpoint written inside the commit that makes it due
// (Options.SyncCheckpoints), as every commit did before checkpoints moved to
// the background.
func BenchmarkAppendCommitSyncCheckpoint(b *testing.B) {
	benchAppend(b, &delta.Options{SyncCheckpoints: true})
}

func benchAppend(b *testing.B, opts *delta.Options) {
	src := benchTable(b)
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		b.Fatal(err)
	}
	tbl := openTable(b, dir, opts)
	ctx := context.Background()
	mustSnapshot(b, tbl)
	part := "p0"
	i := 0
	var lat []time.Duration
	defer reportCPU(b)()
	for b.Loop() {
		i++
		add := &delta.Add{Path: fmt.Sprintf("part=p0/bench-%d.parquet", i), PartitionValues: map[string]*string{"part": &part}, Size: 1000, DataChange: true,
			Stats: `{"numRecords":1}`}
		start := time.Now()
		if _, err := tbl.Append(ctx, []*delta.Add{add}, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	if err := tbl.WaitCheckpoint(ctx); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "commit-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "commit-p90-ms")
	}
}

// BenchmarkOpenSnapshotVsDeltaRS opens the 10,000-commit table alternately
// with a fresh Table and with delta-rs (deltalake.DeltaTable in the
// project's .venv, one long-lived Python process running
// testdata/peers/deltars_open.py, listing the active files), one each per
// iteration, and reports both medians and their ratios: ms/open and
// cpu-ms/open for each, and ours/delta-rs for wall and CPU time.
func BenchmarkOpenSnapshotVsDeltaRS(b *testing.B) {
	dir := benchTable(b)
	py := peertables.Python(b, "deltalake")
	cmd := exec.Command(py, filepath.Join("testdata", "peers", "deltars_open.py"))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	out := bufio.NewScanner(outPipe)
	deltars := func() (wall, cpu time.Duration) {
		if _, err := fmt.Fprintln(in, dir); err != nil {
			b.Fatal(err)
		}
		if !out.Scan() {
			b.Fatalf("delta-rs reference ended: %v", out.Err())
		}
		var w, c int64
		var n int
		if _, err := fmt.Sscan(out.Text(), &w, &c, &n); err != nil {
			b.Fatalf("delta-rs reference said %q: %v", out.Text(), err)
		}
		if n != benchCommits-1 {
			b.Fatalf("delta-rs opened %d files, want %d", n, benchCommits-1)
		}
		return time.Duration(w), time.Duration(c)
	}
	deltars() // warm-up: imports, first read of the log
	var oursW, oursC, rsW, rsC []time.Duration
	for b.Loop() {
		c0, w0 := cpuTime(b), time.Now()
		snap := mustSnapshot(b, openTable(b, dir, nil))
		oursW, oursC = append(oursW, time.Since(w0)), append(oursC, cpuTime(b)-c0)
		if snap.NumFiles() != benchCommits-1 {
			b.Fatalf("got %d files", snap.NumFiles())
		}
		w, c := deltars()
		rsW, rsC = append(rsW, w), append(rsC, c)
	}
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	ow, oc, rw, rc := med(oursW), med(oursC), med(rsW), med(rsC)
	b.ReportMetric(ow, "ms/open")
	b.ReportMetric(oc, "cpu-ms/open")
	b.ReportMetric(rw, "deltars-ms/open")
	b.ReportMetric(rc, "deltars-cpu-ms/open")
	b.ReportMetric(ow/rw, "x-deltars-wall")
	b.ReportMetric(oc/rc, "x-deltars-cpu")
}

// BenchmarkCreateIfAbsent is the reference for BenchmarkAppendCommit: the
// storage floor of a commit, one atomic create of a commit-sized file.
func BenchmarkCreateIfAbsent(b *testing.B) {
	ctx := context.Background()
	store, err := storage.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 600)
	i := 0
	defer reportCPU(b)()
	for b.Loop() {
		i++
		if err := store.CreateIfAbsent(ctx, fmt.Sprintf("_delta_log/%020d.json", i), data); err != nil {
			b.Fatal(err)
		}
	}
}
