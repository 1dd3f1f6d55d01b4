package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
)

// bin is the medallion binary TestMain builds once for every test here:
// the tests run it as separate OS processes, as a team runs it.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "medallion-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "medallion")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build medallion:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one medallion process did.
type result struct {
	args           []string
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("medallion %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.err, r.stdout, r.stderr)
}

// command prepares a medallion process with extra environment variables.
func command(ctx context.Context, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// medallion runs a medallion process to its end.
func medallion(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := command(t.Context(), env, args...)
	err := cmd.Run()
	return result{args: args, stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustMedallion runs a medallion process that must succeed.
func mustMedallion(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := medallion(t, env, args...)
	if r.err != nil {
		t.Fatal(r)
	}
	return r
}

// landingFiles lists the files under dir (relative paths, sorted): the
// static sources, and the order and item files that arrive over time.
func landingFiles(t *testing.T, dir string) (static, trickle []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "orders"+string(filepath.Separator)) || strings.HasPrefix(rel, "order_items"+string(filepath.Separator)) {
			trickle = append(trickle, rel)
		} else {
			static = append(static, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(static)
	slices.Sort(trickle)
	return static, trickle
}

// land copies files from src to dst atomically (a hidden temporary name,
// then a rename), as a well-behaved producer lands them.
func land(t *testing.T, dst, src string, files []string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(filepath.Dir(to), "."+filepath.Base(to)+".tmp")
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, to); err != nil {
			t.Fatal(err)
		}
	}
}

// compareLakes compares every table of the given layers in two projects'
// lakes, row for row (as multisets, floats within 1e-6), leaving out the columns whose names
// start with "_" (ingestion time, batch and source file, which differ
// between runs by nature). It returns one line per difference.
func compareLakes(t *testing.T, gotDir, wantDir string, layers ...string) []string {
	t.Helper()
	ctx := t.Context()
	open := func(dir string) *pipeline.Lake {
		l, err := pipeline.OpenLake(ctx, filepath.Join(dir, "lake"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	gotLake, wantLake := open(gotDir), open(wantDir)
	inLayers := func(names []string) []string {
		var out []string
		for _, n := range names {
			if slices.Contains(layers, pipeline.Layer(n)) {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return out
	}
	gotNames, err := gotLake.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantNames, err := wantLake.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gotNames, wantNames = inLayers(gotNames), inLayers(wantNames)
	var diffs []string
	if !slices.Equal(gotNames, wantNames) {
		diffs = append(diffs, fmt.Sprintf("tables: %v, want %v", gotNames, wantNames))
	}
	eng, err := duckdb.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, name := range wantNames {
		if !slices.Contains(gotNames, name) {
			continue
		}
		gs, err := gotLake.Snapshot(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := wantLake.Snapshot(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Bind(ctx, "got_t", gs, nil); err != nil {
			t.Fatal(err)
		}
		if err := eng.Bind(ctx, "want_t", ws, nil); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, f := range ws.Schema().Fields {
			if !strings.HasPrefix(f.Name, "_") {
				cols = append(cols, `"`+f.Name+`"`)
			}
		}
		list := strings.Join(cols, ", ")
		read := func(rel string) *goldref.Table {
			res, err := eng.Query(ctx, "SELECT "+list+" FROM "+rel)
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			tbl := &goldref.Table{Name: name, Rows: res.Rows}
			for _, c := range res.Columns {
				tbl.Columns = append(tbl.Columns, c.Name)
			}
			return tbl
		}
		// Rows compare as multisets, floats within 1e-6 (sums computed
		// incrementally differ from one pass in the last bits).
		if d := goldref.Diff(read("want_t"), read("got_t")); d != "" {
			diffs = append(diffs, fmt.Sprintf("%s differs from the clean run:\n%s", name, d))
		}
	}
	return diffs
}

// checkGoldref compares the project's gold tables with the independent
// computation over its landing files.
func checkGoldref(t *testing.T, dir string) {
	t.Helper()
	ctx := t.Context()
	want, err := goldref.Compute(ctx, filepath.Join(dir, "landing"), goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pipeline.OpenSession(ctx, proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range goldref.Names {
		res, err := s.Query(ctx, "SELECT * FROM "+name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := &goldref.Table{Name: name, Rows: res.Rows}
		for _, c := range res.Columns {
			got.Columns = append(got.Columns, c.Name)
		}
		if d := goldref.Diff(want[name], got); d != "" {
			t.Errorf("%s differs from the independent computation:\n%s", name, d)
		}
	}
}

// runLoops starts each command in its own goroutine, each as a loop of
// processes until stop is closed (and then once more), and returns their
// results when all have ended. Every finished process is announced on done.
func runLoops(t *testing.T, env []string, stop <-chan struct{}, done chan<- struct{}, loops ...[]string) []result {
	t.Helper()
	var mu sync.Mutex
	var out []result
	var wg sync.WaitGroup
	for _, args := range loops {
		wg.Go(func() {
			for last := false; !last; {
				select {
				case <-stop:
					last = true
				default:
				}
				cmd, stdout, stderr := command(t.Context(), env, args...)
				err := cmd.Run()
				mu.Lock()
				out = append(out, result{args: args, stdout: stdout.String(), stderr: stderr.String(), err: err})
				mu.Unlock()
				if done != nil {
					select {
					case done <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	wg.Wait()
	return out
}
