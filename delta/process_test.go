package delta_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/delta/internal/peertables"
)

// Child processes of the multi-process tests are this test binary started
// again with MEDALLION_DELTA_CHILD set; TestMain runs them instead of the
// tests.
const childEnv = "MEDALLION_DELTA_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	code := m.Run()
	peertables.Cleanup() // the tables Spark and delta-rs wrote
	os.Exit(code)
}

// runChild appends commits to the table in MEDALLION_DELTA_DIR as writer
// MEDALLION_DELTA_WRITER: commit i holds one row (writer*1e6+i) and the txn
// (writer, i). It resumes after the last txn version the table holds, so a
// killed child restarted continues exactly once. COMMITS bounds the count
// (0 = forever). Each commit is announced on stdout after it returns.
func runChild() int {
	ctx := context.Background()
	dir := os.Getenv("MEDALLION_DELTA_DIR")
	writer, _ := strconv.Atoi(os.Getenv("MEDALLION_DELTA_WRITER"))
	commits, _ := strconv.Atoi(os.Getenv("MEDALLION_DELTA_COMMITS"))
	app := fmt.Sprintf("writer-%d", writer)
	if hold := os.Getenv("MEDALLION_DELTA_HOLD"); hold != "" {
		// Stop the background checkpoint writer for good at stage hold,
		// after saying so, for the parent to kill this process there.
		delta.SetCheckpointHook(func(v int64, stage string) {
			if stage == hold {
				fmt.Printf("checkpoint %d %s\n", v, stage)
				for { // asleep, not deadlocked: the runtime must not end the process
					time.Sleep(time.Hour)
				}
			}
		})
	}
	tbl := openTable(&childTB{}, dir, nil)
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	start, _ := snap.TxnVersion(app)
	// Wait for the go signal (stdin closed) so that all children race.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for i := start + 1; commits == 0 || i <= int64(commits); i++ {
		add, err := writeDataFile(ctx, tbl, fmt.Sprintf("w%d", writer%3), []testRow{{int64(writer)*1_000_000 + i, app}})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child write:", err)
			return 1
		}
		res, err := tbl.Append(ctx, []*delta.Add{add}, &delta.WriteOptions{Txn: &delta.Txn{AppID: app, Version: i}})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child commit:", err)
			return 1
		}
		fmt.Printf("committed %d %d\n", i, res.Version)
	}
	if err := delta.WaitCheckpoints(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// childTB lets the test helpers run in a child process.
type childTB struct{ testing.TB }

func (childTB) Helper()                      {}
func (childTB) Fatal(args ...any)            { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (childTB) Fatalf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...); os.Exit(1) }
func (childTB) TempDir() string              { d, _ := os.MkdirTemp("", "child"); return d }

func startChild(t *testing.T, dir string, writer, commits int) (*exec.Cmd, *os.File) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "MEDALLION_DELTA_DIR="+dir,
		"MEDALLION_DELTA_WRITER="+strconv.Itoa(writer), "MEDALLION_DELTA_COMMITS="+strconv.Itoa(commits))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f, ok := stdin.(*os.File)
	if !ok {
		t.Fatal("stdin pipe is not a file")
	}
	return cmd, f
}

// checkTable verifies a table written by children: every version from 0 to
// the latest exists exactly once, every data file the log names exists, and
// each writer's rows are exactly 1..n once each, matching its txn version.
func checkTable(t *testing.T, dir string, writers int) map[int]int64 {
	t.Helper()
	ctx := context.Background()
	snap := mustSnapshot(t, openTable(t, dir, nil))
	for v := int64(0); v <= snap.Version(); v++ {
		if _, err := os.Stat(commitPath(dir, v)); err != nil {
			t.Fatalf("version %d of %d missing: %v", v, snap.Version(), err)
		}
	}
	for _, f := range snap.Files() {
		key, _ := delta.FileKey(f.Path)
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key))); err != nil {
			t.Fatalf("data file named in the log is missing: %v", err)
		}
	}
	rows, err := snap.ReadRows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	perWriter := map[int][]int64{}
	for _, r := range rows {
		id := r[0].(int64)
		seen[id]++
		perWriter[int(id/1_000_000)] = append(perWriter[int(id/1_000_000)], id%1_000_000)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("row %d appears %d times", id, n)
		}
	}
	counts := map[int]int64{}
	total := int64(0)
	for w := range writers {
		seqs := perWriter[w]
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("writer %d: rows %v have a gap at %d", w, seqs, i+1)
			}
		}
		txn, _ := snap.TxnVersion(fmt.Sprintf("writer-%d", w))
		if txn != int64(len(seqs)) {
			t.Fatalf("writer %d: txn version %d but %d rows", w, txn, len(seqs))
		}
		counts[w] = int64(len(seqs))
		total += int64(len(seqs))
	}
	if snap.Version() != total || int64(snap.NumFiles()) != total {
		t.Fatalf("version %d and %d files, want %d of each (one per commit)", snap.Version(), snap.NumFiles(), total)
	}
	return counts
}

// TestConcurrentProcessAppends starts several OS processes appending to one
// table at once.
func TestConcurrentProcessAppends(t *testing.T) {
	const writers, commits = 4, 25
	_, dir := newTable(t, nil, nil)
	var cmds []*exec.Cmd
	var gos []*os.File
	for w := range writers {
		cmd, stdin := startChild(t, dir, w, commits)
		cmds, gos = append(cmds, cmd), append(gos, stdin)
	}
	for _, g := range gos {
		g.Close()
	}
	for w, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	counts := checkTable(t, dir, writers)
	for w, n := range counts {
		if n != commits {
			t.Fatalf("writer %d committed %d times, want %d", w, n, commits)
		}
	}
	// Checkpoints were written along the way (every 10 commits).
	if !strings.Contains(strings.Join(logFiles(t, dir), " "), "00000000000000000100.checkpoint.parquet") {
		t.Fatalf("no checkpoint at version 100: %v", logFiles(t, dir))
	}
}

// TestCrashSafety SIGKILLs writer processes at random points, many times,
// and restarts them; the table must always read cleanly and hold only whole
// commits, each exactly once.
func TestCrashSafety(t *testing.T) {
	const writers, kills = 2, 12
	_, dir := newTable(t, nil, map[string]string{delta.PropCheckpointInterval: "5"})
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for round := range kills {
		var cmds []*exec.Cmd
		for w := range writers {
			cmd, stdin := startChild(t, dir, w, 0)
			stdin.Close()
			cmds = append(cmds, cmd)
		}
		time.Sleep(time.Duration(20+rng.IntN(150)) * time.Millisecond)
		for _, cmd := range cmds {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		for _, cmd := range cmds {
			err := cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("round %d: writer exited on its own: %v", round, err)
			}
		}
		checkTable(t, dir, writers)
	}
	counts := checkTable(t, dir, writers)
	total := int64(0)
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		t.Fatal("no commit survived: the writers never got to run")
	}
	t.Logf("%d commits survived %d kill rounds", total, kills)
}
