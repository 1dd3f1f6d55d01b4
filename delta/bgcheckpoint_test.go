package delta_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/medallionhq/medallion/delta"
)

// lastCheckpointVersion reads _delta_log/_last_checkpoint's version, or -1
// when the file is missing.
func lastCheckpointVersion(t *testing.T, dir string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "_delta_log", "_last_checkpoint"))
	if os.IsNotExist(err) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	var lc struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(b, &lc); err != nil {
		t.Fatalf("_last_checkpoint %s: %v", b, err)
	}
	return lc.Version
}

func checkpointsIn(t *testing.T, dir string) []int64 {
	t.Helper()
	var out []int64
	for _, f := range logFiles(t, dir) {
		if v, ok := strings.CutSuffix(f, ".checkpoint.parquet"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
	}
	return out
}

// TestBackgroundCheckpointDoesNotBlockCommits holds the checkpoint of
// version 10 before it writes anything: the commits after it (11 to 35)
// return all the same, the checkpoints due at 20 and 30 queue behind it with
// the newer replacing the older, and once released the table holds the
// checkpoints of 10 and 30 (not 20) and reads the same from them as from the
// commits.
func TestBackgroundCheckpointDoesNotBlockCommits(t *testing.T) {
	ctx := context.Background()
	started := make(chan int64, 10)
	release := make(chan struct{})
	delta.SetCheckpointHook(func(v int64, stage string) {
		if stage == "start" {
			started <- v
			if v == 10 {
				<-release
			}
		}
	})
	t.Cleanup(func() { delta.SetCheckpointHook(nil) })
	tbl, dir := newTable(t, nil, nil)
	for i := int64(1); i <= 35; i++ {
		if err := appendRow(tbl, "a", i); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			if v := <-started; v != 10 {
				t.Fatalf("first checkpoint started at version %d, want 10", v)
			}
		}
	}
	// Every commit has returned while the checkpoint of 10 is held.
	if got := checkpointsIn(t, dir); len(got) != 0 {
		t.Fatalf("checkpoints %v written while the writer is held before writing", got)
	}
	if v := lastCheckpointVersion(t, dir); v != -1 {
		t.Fatalf("_last_checkpoint names %d while the writer is held", v)
	}
	close(release)
	if err := tbl.WaitCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if v := <-started; v != 30 {
		t.Fatalf("second checkpoint at version %d, want 30 (the newest due one)", v)
	}
	if got := checkpointsIn(t, dir); !slices.Equal(got, []int64{10, 30}) {
		t.Fatalf("checkpoints %v, want [10 30]", got)
	}
	if v := lastCheckpointVersion(t, dir); v != 30 {
		t.Fatalf("_last_checkpoint names %d, want 30", v)
	}
	fromCheckpoint := mustSnapshot(t, openTable(t, dir, nil))
	if fromCheckpoint.Version() != 35 || fromCheckpoint.NumFiles() != 35 {
		t.Fatalf("reopened: version %d with %d files, want 35 and 35", fromCheckpoint.Version(), fromCheckpoint.NumFiles())
	}
	equalRows(t, rowsOf(t, fromCheckpoint), rowsOf(t, mustSnapshot(t, tbl)))
	if err := delta.WaitCheckpoints(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSyncCheckpoints: with Options.SyncCheckpoints the checkpoint exists
// when the commit that made it due returns.
func TestSyncCheckpoints(t *testing.T) {
	tbl, dir := newTable(t, &delta.Options{SyncCheckpoints: true}, nil)
	for i := int64(1); i <= 10; i++ {
		if err := appendRow(tbl, "a", i); err != nil {
			t.Fatal(err)
		}
	}
	if got := checkpointsIn(t, dir); !slices.Equal(got, []int64{10}) {
		t.Fatalf("checkpoints %v right after commit 10, want [10]", got)
	}
	if v := lastCheckpointVersion(t, dir); v != 10 {
		t.Fatalf("_last_checkpoint names %d, want 10", v)
	}
}

// startHeldChild starts a runChild writer whose background checkpoint
// writer stops for good at stage hold (see MEDALLION_DELTA_HOLD), with its
// stdout to read.
func startHeldChild(t *testing.T, dir string, writer, commits int, hold string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "MEDALLION_DELTA_DIR="+dir,
		"MEDALLION_DELTA_WRITER="+strconv.Itoa(writer), "MEDALLION_DELTA_COMMITS="+strconv.Itoa(commits),
		"MEDALLION_DELTA_HOLD="+hold)
	cmd.Stdin = strings.NewReader("go\n")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

// TestKillDuringBackgroundCheckpoint SIGKILLs a writer process while its
// background checkpoint of version 10 is in flight — before anything is
// written, and between the checkpoint file and _last_checkpoint — after
// commit 10 has returned. The table must read cleanly at version 10 with
// every commit exactly once, and a new writer must carry on and checkpoint.
func TestKillDuringBackgroundCheckpoint(t *testing.T) {
	for _, stage := range []string{"start", "written"} {
		t.Run(stage, func(t *testing.T) {
			_, dir := newTable(t, nil, nil)
			cmd, out := startHeldChild(t, dir, 0, 10, stage)
			committed, held := int64(0), false
			for !held && out.Scan() {
				line := out.Text()
				if _, err := fmt.Sscanf(line, "committed %d", &committed); err == nil {
					continue
				}
				held = line == "checkpoint 10 "+stage
			}
			if !held {
				t.Fatalf("child ended without holding its checkpoint (last commit %d): %v", committed, out.Err())
			}
			if committed != 10 {
				t.Fatalf("checkpoint held after commit %d returned, want 10", committed)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("writer exited on its own: %v", cmd.ProcessState)
			}
			wantCheckpoints := []int64(nil)
			if stage == "written" {
				wantCheckpoints = []int64{10}
			}
			if got := checkpointsIn(t, dir); !slices.Equal(got, wantCheckpoints) {
				t.Fatalf("checkpoints %v after the kill, want %v", got, wantCheckpoints)
			}
			if v := lastCheckpointVersion(t, dir); v != -1 {
				t.Fatalf("_last_checkpoint names %d after a kill before it was written", v)
			}
			if counts := checkTable(t, dir, 1); counts[0] != 10 {
				t.Fatalf("writer 0 has %d commits after the kill, want 10", counts[0])
			}
			// A new writer resumes after the txn and checkpoints at 20.
			cmd2, stdin := startChild(t, dir, 0, 20)
			stdin.Close()
			if err := cmd2.Wait(); err != nil {
				t.Fatal(err)
			}
			if counts := checkTable(t, dir, 1); counts[0] != 20 {
				t.Fatalf("writer 0 has %d commits after resuming, want 20", counts[0])
			}
			if v := lastCheckpointVersion(t, dir); v != 20 {
				t.Fatalf("_last_checkpoint names %d after the resumed writer, want 20", v)
			}
		})
	}
}
