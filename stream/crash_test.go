package stream_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
	"github.com/medallionhq/medallion/stream"
)

const childEnv = "MEDALLION_STREAM_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(m.Run())
}

// runChild streams the built-in project in dir until killed.
func runChild(dir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	proj, err := ecommerce.Project(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	err = stream.Run(ctx, proj, stream.Options{Trigger: stream.Continuous, Interval: 200 * time.Millisecond, MaxFiles: 4})
	if err != nil && err != context.Canceled {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKilledStreamLosesNothing SIGKILLs a streaming process again and again
// while order files keep landing, restarts it, and finally checks that
// every gold table equals the independent computation over all landed
// files: nothing lost, nothing counted twice.
func TestKilledStreamLosesNothing(t *testing.T) {
	src := t.TempDir()
	if _, err := datagen.Generate(t.Context(), src, datagen.Options{Orders: 1500, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	landing := filepath.Join(dir, "landing")
	// Static sources land first; orders and items trickle in.
	var trickle []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if strings.HasPrefix(rel, "orders"+string(filepath.Separator)) || strings.HasPrefix(rel, "order_items"+string(filepath.Separator)) {
			trickle = append(trickle, rel)
			return nil
		}
		return copyFile(filepath.Join(landing, rel), p)
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(trickle)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	next := 0
	for round := 0; next < len(trickle) || round < 4; round++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Land a few files while it runs, then kill it mid-flight.
		for k := 0; k < 3 && next < len(trickle); k++ {
			if err := copyFile(filepath.Join(landing, trickle[next]), filepath.Join(src, trickle[next])); err != nil {
				t.Fatal(err)
			}
			next++
			time.Sleep(time.Duration(50+rng.IntN(150)) * time.Millisecond)
		}
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	// A last, undisturbed pass over whatever is left.
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Run(t.Context(), proj, stream.Options{Trigger: stream.AvailableNow}); err != nil {
		t.Fatal(err)
	}
	want, err := goldref.Compute(t.Context(), landing, goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range goldref.Names {
		res, err := s.Query(t.Context(), "SELECT * FROM "+name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := &goldref.Table{Name: name, Rows: res.Rows}
		for _, c := range res.Columns {
			got.Columns = append(got.Columns, c.Name)
		}
		if d := goldref.Diff(want[name], got); d != "" {
			t.Errorf("%s after the kills differs from the batch computation:\n%s", name, d)
		}
	}
	res, err := s.Query(t.Context(), "SELECT count(*), count(DISTINCT order_id) FROM bronze.orders")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != res.Rows[0][1] {
		t.Fatalf("bronze.orders holds %v rows for %v orders: an order was ingested twice", res.Rows[0][0], res.Rows[0][1])
	}
}

// copyFile copies src to dst atomically (a hidden temporary name, then a
// rename), as a well-behaved producer lands files.
func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
