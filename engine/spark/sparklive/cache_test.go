package sparklive_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/spark-connect-go/spark/sql"
	"github.com/apache/spark-connect-go/spark/sql/types"
	"github.com/google/uuid"

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

// tagOf is the tag engine/spark puts in the names of the relations a
// session of this id caches.
func tagOf(id string) string { return strings.ReplaceAll(id, "-", "")[:12] }

// TestSparkSessionsReleaseTheirCache: the cached relations of a Spark
// Connect session leave the server's cache when the session ends. A
// `medallion run` that ends normally uncaches its own before it releases
// its session; one killed with SIGKILL mid-run leaves them in the cache
// (Spark does not uncache with the session), and the server's cache
// reaper uncaches them once the session closes — here released by the
// test, the way the server expires an abandoned session (both close it
// through the same path, which posts SparkListenerConnectSessionClosed).
// The test asks the server for its cached relations by name.
func TestSparkSessionsReleaseTheirCache(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	ask := sparkserver.Session(t)
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 120, Seed: 5}); err != nil {
		t.Fatal(err)
	}

	killed := 0
	// A run that ends normally leaves nothing in the cache.
	id := uuid.NewString()
	clean := filepath.Join(root, "clean")
	sparktest.SparkProject(t, clean, landing, remote+"/;session_id="+id)
	sparktest.Medallion(t, "run", "-C", clean)
	if left := cachedNames(t, ask, tagOf(id)); len(left) > 0 {
		t.Errorf("a run that ended normally left %d cached relations on the server: %v", len(left), left)
	}

	// Runs killed mid-run, as soon as the server holds a cached relation
	// of theirs: their cached relations stay until their sessions close.
	for i := range 2 {
		id := uuid.NewString()
		dir := filepath.Join(root, fmt.Sprintf("killed%d", i))
		sparktest.SparkProject(t, dir, landing, remote+"/;session_id="+id)
		cmd := sparktest.Command(t, []string{sparktest.ShortLease}, "run", "-C", dir)
		exited := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { exited <- cmd.Wait() }()
		var held []string
	wait:
		for {
			if held = cachedNames(t, ask, tagOf(id)); len(held) > 0 {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("run %d ended (%v) before the server held a cached relation of it", i, err)
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-time.After(100 * time.Millisecond):
				continue wait
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		<-exited
		held = cachedNames(t, ask, tagOf(id))
		t.Logf("run %d killed: %d cached relations of its session on the server: %v", i, len(held), held)
		if len(held) == 0 {
			t.Fatalf("run %d: its cached relations left the server with the kill: the check below proves nothing", i)
		}
		killed++
		// Close the dead run's session as the server's expiry does.
		e, err := spark.Open(ctx, spark.Settings{Remote: remote + "/;session_id=" + id})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		// The reaper runs on the server's listener bus, after the close:
		// wait for its effect, asking the server.
		deadline := time.Now().Add(2 * time.Minute)
		for {
			left := cachedNames(t, ask, tagOf(id))
			if len(left) == 0 {
				break
			}
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
	if killed == 0 {
		t.Fatal("no killed run held a cached relation when killed: the test proves nothing")
	}
}
