package sparklive_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/spark-connect-go/spark/sql"
	"github.com/apache/spark-connect-go/spark/sql/types"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/engine/spark"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// cachedNames asks the server, through its cache reaper
// (scripts/spark-reaper), for the names of the relations in its cache
// that hold tag.
func cachedNames(t *testing.T, sess sql.SparkSession, tag string) []string {
	t.Helper()
	ctx := t.Context()
	q := "SELECT reflect('io.medallion.spark.CacheReaper', 'cachedNames')"
	df, err := sess.Sql(ctx, q)
	if err == nil {
		var rows []types.Row
		if rows, err = df.Collect(ctx); err == nil {
			var out []string
			for _, n := range strings.Split(fmt.Sprint(rows[0].Values()[0]), "\n") {
				if strings.Contains(n, tag) {
					out = append(out, n)
				}
			}
			return out
		}
	}
	t.Fatalf("%s: %v (the server needs the cache reaper: start it with scripts/spark-connect.sh)", q, err)
	return nil
}

var (
	sessionLine = regexp.MustCompile(`engine spark session ([0-9a-f-]{36}), views __m_([0-9a-f]{12})_`)
	cacheLine   = regexp.MustCompile("spark sql: CACHE LAZY TABLE `__m_([0-9a-f]{12})_")
)

// tracedRun starts `medallion run --trace -C dir` and reads its trace
// until stop says so (or the trace ends), returning the process, its
// Spark session id and tag, and whether stop said so.
func tracedRun(t *testing.T, dir string, stop func(line string) bool) (cmd *exec.Cmd, id, tag string, stopped bool, rest io.Reader) {
	t.Helper()
	cmd = sparktest.Command(t, []string{sparktest.ShortLease}, "run", "--trace", "-C", dir)
	errs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(errs)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		if m := sessionLine.FindStringSubmatch(line); m != nil && id == "" {
			id, tag = m[1], m[2]
		}
		if stop(line) {
			stopped = true
			break
		}
	}
	return cmd, id, tag, stopped, errs
}

// TestSparkSessionsReleaseTheirCache: the cached relations of a Spark
// Connect session leave the server's cache when the session ends. A
// `medallion run` that ends normally leaves none (it uncaches its own and
// releases its session); runs killed with SIGKILL right after they cached
// a relation leave theirs in the cache (Spark does not uncache with the
// session), until their sessions close — here released with
// spark.ReleaseSession, which closes a session through the same server
// path as its expiry (SparkListenerConnectSessionClosed) — when the
// server's cache reaper uncaches them. The test asks the server for its
// cached relations by name (the session's tag, read from the run's trace).
func TestSparkSessionsReleaseTheirCache(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	ask := sparkserver.Session(t)
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 60, Seed: 5}); err != nil {
		t.Fatal(err)
	}

	// Runs killed right after they cached a relation.
	for i := range 2 {
		dir := filepath.Join(root, fmt.Sprintf("killed%d", i))
		sparktest.SparkProject(t, dir, landing, remote)
		cmd, id, tag, cached, rest := tracedRun(t, dir, func(line string) bool { return cacheLine.MatchString(line) })
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, rest)
		_ = cmd.Wait()
		if id == "" || !cached {
			t.Fatalf("run %d: its trace named no Spark session (%q) or cached relation (%t)", i, id, cached)
		}
		held := cachedNames(t, ask, tag)
		t.Logf("run %d (session %s) killed after its first cached relation: %d cached relations of it on the server: %v", i, id, len(held), held)
		if len(held) == 0 {
			t.Fatalf("run %d: no cached relation of it on the server after the kill: the check below proves nothing", i)
		}
		if err := spark.ReleaseSession(ctx, spark.Settings{Remote: remote}, id); err != nil {
			t.Fatal(err)
		}
		// The reaper runs on the server's listener bus, after the close:
		// wait for its effect, asking the server.
		deadline := time.Now().Add(2 * time.Minute)
		for left := held; len(left) > 0; left = cachedNames(t, ask, tag) {
			if time.Now().After(deadline) {
				t.Fatalf("2 minutes after its session closed, the killed run %d still has %d cached relations on the server: %v", i, len(left), left)
			}
			select {
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}

	// A run that ends normally leaves nothing in the cache.
	dir := filepath.Join(root, "clean")
	sparktest.SparkProject(t, dir, landing, remote)
	cmd, id, tag, _, rest := tracedRun(t, dir, func(string) bool { return false })
	_, _ = io.Copy(io.Discard, rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("medallion run: %v", err)
	}
	if id == "" {
		t.Fatal("the run's trace named no Spark session")
	}
	if left := cachedNames(t, ask, tag); len(left) > 0 {
		t.Errorf("a run that ended normally left %d cached relations on the server: %v", len(left), left)
	}
}
