package sparklive_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// killAfter starts `medallion run -C dir` as a process of its own and
// SIGKILLs it once it has reported n tables done (or when it ends first),
// returning how many it reported.
func killAfter(t *testing.T, dir string, n int) int {
	t.Helper()
	cmd := sparktest.Command(t, []string{sparktest.ShortLease}, "run", "-C", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := 0
	sc := bufio.NewScanner(out)
	for done < n && sc.Scan() {
		if strings.Contains(sc.Text(), " ok ") {
			done++
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return done
}

// TestKilledSparkRunLosesNothing SIGKILLs `medallion run` on engine kind
// spark at several points (after the first table, in the middle of silver
// and gold), reruns it, and compares every table with a DuckDB run over
// the same files: nothing lost, nothing twice. Then new orders land and
// the incremental run is killed and rerun too.
func TestKilledSparkRunLosesNothing(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 150, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	sparktest.WriteProject(t, duckDir, landing)
	sparktest.SparkProject(t, sparkDir, landing, remote)
	sparktest.Medallion(t, "run", "-C", duckDir)

	for _, n := range []int{1, 12} {
		got := killAfter(t, sparkDir, n)
		t.Logf("killed the spark run after %d tables", got)
	}
	sparktest.Medallion(t, "run", "-C", sparkDir)
	sparktest.SameLakes(t, duckDir, sparkDir, "after kills of the first run")

	inc, err := datagen.NewOrders(filepath.Join(duckDir, "landing"), 30, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{duckDir, sparkDir} {
		if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
			t.Fatal(err)
		}
	}
	sparktest.Medallion(t, "run", "-C", duckDir)
	got := killAfter(t, sparkDir, 3)
	t.Logf("killed the incremental spark run after %d tables", got)
	sparktest.Medallion(t, "run", "-C", sparkDir)
	sparktest.SameLakes(t, duckDir, sparkDir, fmt.Sprintf("after a kill of the incremental run (after %d tables)", got))
}
