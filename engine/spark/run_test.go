package spark_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// volatile are columns whose values differ between two runs of the same
// files at different times: when and by which run a row was ingested (and
// the SCD 2 versions dated by it).
var volatile = []string{"_ingested_at", "_batch_id", "_quarantine_batch", "__start_at", "__end_at"}

// sparkProject writes the built-in project into dir with the engine block
// set to kind spark on remote, and copies the landing files of landing.
func sparkProject(t *testing.T, dir, landing, remote string) {
	t.Helper()
	writeProject(t, dir, landing)
	cfg := filepath.Join(dir, pipeline.ConfigFile)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The whole engine block: the duckdb keys (threads, memory_limit, …)
	// are refused under kind spark.
	block := regexp.MustCompile(`(?m)^engine:\n((  .*)?\n)+`)
	if !block.Match(b) {
		t.Fatalf("%s has no engine block to replace", cfg)
	}
	b = block.ReplaceAll(b, []byte("engine:\n  kind: spark\n  spark:\n    remote: "+remote+"\n\n"))
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeProject(t *testing.T, dir, landing string) {
	t.Helper()
	if err := ecommerce.Init(dir); err != nil {
		t.Fatal(err)
	}
	if err := fstree.Copy(landing, filepath.Join(dir, "landing")); err != nil {
		t.Fatal(err)
	}
}

// medallion runs the command line in a process of its own and fails the
// test with its output when it fails.
func medallion(t *testing.T, args ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = clitest.ChildEnv(pipeline.LeaseExpiryEnv + "=1s")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("medallion %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// lakeRows reads every table of the lake in dir (bronze, silver, gold)
// through DuckDB: table name → its rows, canonical and sorted, without the
// volatile columns and the columns of also.
func lakeRows(t *testing.T, dir string, also ...string) map[string][]string {
	t.Helper()
	return lakeRowsAt(t, filepath.Join(dir, "lake"), also...)
}

// lakeRowsAt is lakeRows for the lake at location (a folder or a URL).
func lakeRowsAt(t *testing.T, location string, also ...string) map[string][]string {
	t.Helper()
	ctx := t.Context()
	lake, err := pipeline.OpenLake(ctx, location, nil)
	if err != nil {
		t.Fatal(err)
	}
	names, err := lake.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := duckdb.Open(ctx, &duckdb.Options{Cache: fileCache(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	out := map[string][]string{}
	for _, n := range names {
		if strings.HasPrefix(n, "medallion.") {
			continue // run reports and job history: times and durations
		}
		snap, err := lake.Snapshot(ctx, n)
		if err != nil || snap == nil {
			t.Fatalf("table %s: %v", n, err)
		}
		if err := eng.Bind(ctx, n, snap, nil); err != nil {
			t.Fatal(err)
		}
		var cols []string
		for _, f := range snap.Schema().Fields {
			if !slices.Contains(volatile, f.Name) && !slices.Contains(also, f.Name) {
				cols = append(cols, `"`+f.Name+`"`)
			}
		}
		res, err := eng.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+n)
		if err != nil {
			t.Fatalf("read %s: %v", n, err)
		}
		out[n] = append([]string{"columns: " + strings.Join(cols, ", ")}, canon(res)...)
	}
	return out
}

// sameLakes fails unless the lakes of the duckdb and spark projects hold
// the same tables with the same rows.
func sameLakes(t *testing.T, duckDir, sparkDir, when string) {
	t.Helper()
	sameRows(t, lakeRows(t, duckDir), lakeRows(t, sparkDir), when)
}

// sameRows fails unless the tables of two lakes (as lakeRows reads them)
// are the same with the same rows: want from duckdb, got from spark.
func sameRows(t *testing.T, want, got map[string][]string, when string) {
	t.Helper()
	var wn, gn []string
	for n := range want {
		wn = append(wn, n)
	}
	for n := range got {
		gn = append(gn, n)
	}
	slices.Sort(wn)
	slices.Sort(gn)
	if !slices.Equal(wn, gn) {
		t.Fatalf("%s: tables on spark %v, on duckdb %v", when, gn, wn)
	}
	layers := map[string]int{}
	for _, n := range wn {
		w, g := want[n], got[n]
		layers[strings.SplitN(n, ".", 2)[0]]++
		if len(w) <= 1 && !strings.HasPrefix(n, "bronze._") {
			t.Errorf("%s: %s has no rows: the comparison proves nothing", when, n)
		}
		if len(w) != len(g) {
			t.Errorf("%s: %s has %d rows on spark, %d on duckdb", when, n, len(g)-1, len(w)-1)
			continue
		}
		for i := range w {
			if w[i] != g[i] {
				t.Errorf("%s: %s differs (sorted row %d):\n  spark  %s\n  duckdb %s", when, n, i, g[i], w[i])
				break
			}
		}
	}
	if layers["bronze"] == 0 || layers["silver"] == 0 || layers["gold"] == 0 {
		t.Fatalf("%s: tables per layer %v", when, layers)
	}
	t.Logf("%s: %d tables compared (%v)", when, len(wn), layers)
}

// goldMatchesReference compares the gold tables of the spark project with
// goldref's independent computation from its landing files.
func goldMatchesReference(t *testing.T, dir, when string) {
	t.Helper()
	goldMatchesReferenceAt(t, filepath.Join(dir, "landing"), filepath.Join(dir, "lake"), when)
}

// goldMatchesReferenceAt is goldMatchesReference for the landing folder
// and the lake at location (a folder or a URL).
func goldMatchesReferenceAt(t *testing.T, landing, location, when string) {
	t.Helper()
	ctx := t.Context()
	want, err := goldref.Compute(ctx, landing, goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	lake, err := pipeline.OpenLake(ctx, location, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := duckdb.Open(ctx, &duckdb.Options{Cache: fileCache(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, name := range slices.Concat(goldref.Names, goldref.Breakdowns) {
		snap, err := lake.Snapshot(ctx, name)
		if err != nil || snap == nil {
			t.Fatalf("%s: table %s: %v", when, name, err)
		}
		if err := eng.Bind(ctx, name, snap, nil); err != nil {
			t.Fatal(err)
		}
		res, err := eng.Query(ctx, "SELECT * FROM "+name)
		if err != nil {
			t.Fatal(err)
		}
		got := &goldref.Table{Name: name, Rows: res.Rows}
		for _, c := range res.Columns {
			got.Columns = append(got.Columns, c.Name)
		}
		if d := goldref.Diff(want[name], got); d != "" {
			t.Errorf("%s: %s on spark differs from the independent computation:\n%s", when, name, d)
		}
	}
}

// TestRunOnSparkEqualsDuckDB runs the built-in project with `medallion
// run` (a process of its own) on engine kind spark and on duckdb over
// copies of the same landing files: bronze, silver and gold are equal, and
// gold equals goldref's independent computation; again after new orders
// land (an incremental run), and again after --full-refresh.
func TestRunOnSparkEqualsDuckDB(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 300, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	writeProject(t, duckDir, landing)
	sparkProject(t, sparkDir, landing, remote)

	for _, dir := range []string{duckDir, sparkDir} {
		medallion(t, "run", "-C", dir)
	}
	sameLakes(t, duckDir, sparkDir, "first run")
	goldMatchesReference(t, sparkDir, "first run")

	inc, err := datagen.NewOrders(filepath.Join(duckDir, "landing"), 40, 11)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{duckDir, sparkDir} {
		if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
			t.Fatal(err)
		}
		medallion(t, "run", "-C", dir)
	}
	sameLakes(t, duckDir, sparkDir, "incremental run")
	goldMatchesReference(t, sparkDir, "incremental run")

	for _, dir := range []string{duckDir, sparkDir} {
		medallion(t, "run", "-C", dir, "--full-refresh")
	}
	sameLakes(t, duckDir, sparkDir, "full refresh")
	goldMatchesReference(t, sparkDir, "full refresh")
}
