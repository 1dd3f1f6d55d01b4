// Package sparktest holds the helpers the spark engine's tests share
// (engine/spark, engine/spark/sparkruns, engine/spark/sparklive): it runs
// medallion commands as OS processes of the test binary (see
// internal/clitest), writes the built-in project with engine kind spark,
// reads every table of a lake through DuckDB and compares two lakes, the
// gold tables with goldref's independent computation, and gives a test the
// local S3 server (moto) for lakes on S3.
package sparktest

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/filecache"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// Volatile are columns whose values differ between two runs of the same
// files at different times: when and by which run a row was ingested (and
// the SCD 2 versions dated by it).
var Volatile = []string{"_ingested_at", "_batch_id", "_quarantine_batch", "__start_at", "__end_at"}

// ShortLease is the environment setting of the medallion processes of
// Medallion: a writer lease of 10 s (the default is 30 s), so that a run
// after a killed one waits less for the dead holder's lease. Not 1 s: a
// holder renews every third of the expiry with a LIST and a synced write
// on the lake's store and stops its work once a renewal comes back past
// the expiry, and on the shared, loaded test machine a local lake's fsync
// alone took longer than the 0.67 s 1 s leaves (a Spark run that lasts
// minutes lost its lease mid-run).
const ShortLease = pipeline.LeaseExpiryEnv + "=10s"

// Medallion runs the command line in a process of its own (with
// ShortLease) and fails the test with its output when it fails; it
// returns the combined output.
func Medallion(t testing.TB, args ...string) string {
	t.Helper()
	return MedallionEnv(t, []string{ShortLease}, args...)
}

// MedallionEnv is Medallion with extra environment settings ("KEY=value")
// instead of ShortLease.
func MedallionEnv(t testing.TB, env []string, args ...string) string {
	t.Helper()
	cmd := Command(t, env, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("medallion %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command is the medallion command line args as a process of the test
// binary (whose TestMain calls clitest.RunIfChild), not started.
func Command(t testing.TB, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = clitest.ChildEnv(env...)
	return cmd
}

// WriteProject writes the built-in project into dir (engine duckdb) and
// copies the landing files of landing into it.
func WriteProject(t testing.TB, dir, landing string) {
	t.Helper()
	if err := ecommerce.Init(dir); err != nil {
		t.Fatal(err)
	}
	if err := fstree.Copy(landing, filepath.Join(dir, "landing")); err != nil {
		t.Fatal(err)
	}
}

// SparkProject writes the built-in project into dir with the engine block
// set to kind spark on remote, and copies the landing files of landing.
func SparkProject(t testing.TB, dir, landing, remote string) {
	t.Helper()
	WriteProject(t, dir, landing)
	// The whole engine block: the duckdb keys (threads, memory_limit, …)
	// are refused under kind spark.
	block := regexp.MustCompile(`(?m)^engine:\n((  .*)?\n)+`)
	editConfig(t, dir, "engine block", block, "engine:\n  kind: spark\n  spark:\n    remote: "+remote+"\n\n")
}

// UseSpark turns the project in dir, whose medallion.yaml says
// "engine:\n  kind: duckdb\n" and nothing else of the engine, into one of
// engine kind spark on remote.
func UseSpark(t testing.TB, dir, remote string) {
	t.Helper()
	duck := regexp.MustCompile(regexp.QuoteMeta("engine:\n  kind: duckdb\n"))
	editConfig(t, dir, `"engine:\n  kind: duckdb\n" block`, duck, "engine:\n  kind: spark\n  spark:\n    remote: "+remote+"\n")
}

// UseLake sets the lake of the project in dir (a `lake: lake` line) to
// location.
func UseLake(t testing.TB, dir, location string) {
	t.Helper()
	editConfig(t, dir, "`lake: lake` line", regexp.MustCompile(`\nlake: lake\n`), "\nlake: "+location+"\n")
}

// editConfig replaces the first match of re in the medallion.yaml of dir
// with repl (taken literally), failing the test when there is none (what
// names the text looked for).
func editConfig(t testing.TB, dir, what string, re *regexp.Regexp, repl string) {
	t.Helper()
	cfg := filepath.Join(dir, pipeline.ConfigFile)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	loc := re.FindIndex(b)
	if loc == nil {
		t.Fatalf("%s has no %s to replace", cfg, what)
	}
	b = append(append(append([]byte{}, b[:loc[0]]...), repl...), b[loc[1]:]...)
	if err := os.WriteFile(cfg, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FileCache is a file cache in a folder of the test's, through which
// DuckDB reads the tables of a lake on an object store.
func FileCache(t testing.TB) *filecache.Cache {
	t.Helper()
	c, err := filecache.New(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Canon renders a result as sorted rows of text, integers of every width
// alike, floats to 12 significant digits (sums add up in another order on
// another engine), times in UTC.
func Canon(res *engine.Result) []string {
	var out []string
	for _, r := range res.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			switch x := v.(type) {
			case nil:
				cells[i] = "NULL"
			case float64:
				cells[i] = canonFloat(x)
			case float32:
				cells[i] = canonFloat(float64(x))
			case time.Time:
				cells[i] = x.UTC().Format(time.RFC3339Nano)
			case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
				cells[i] = fmt.Sprint(x)
			default:
				cells[i] = fmt.Sprintf("%v", x)
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	slices.Sort(out)
	return out
}

func canonFloat(f float64) string {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return fmt.Sprintf("%.12g", f)
}

// LakeRows reads every table of the lake of the project in dir (bronze,
// silver, gold) through DuckDB: table name → its rows, canonical and
// sorted, without the Volatile columns and the columns of also.
func LakeRows(t testing.TB, dir string, also ...string) map[string][]string {
	t.Helper()
	return LakeRowsAt(t, filepath.Join(dir, "lake"), also...)
}

// LakeRowsAt is LakeRows for the lake at location (a folder or a URL).
func LakeRowsAt(t testing.TB, location string, also ...string) map[string][]string {
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
	eng, err := duckdb.Open(ctx, &duckdb.Options{Cache: FileCache(t)})
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
			if !slices.Contains(Volatile, f.Name) && !slices.Contains(also, f.Name) {
				cols = append(cols, `"`+f.Name+`"`)
			}
		}
		res, err := eng.Query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+n)
		if err != nil {
			t.Fatalf("read %s: %v", n, err)
		}
		out[n] = append([]string{"columns: " + strings.Join(cols, ", ")}, Canon(res)...)
	}
	return out
}

// SameLakes fails unless the lakes of the duckdb and spark projects hold
// the same tables with the same rows, every layer present.
func SameLakes(t testing.TB, duckDir, sparkDir, when string) {
	t.Helper()
	SameRows(t, LakeRows(t, duckDir), LakeRows(t, sparkDir), when)
}

// SameRows fails unless the tables of two lakes (as LakeRows reads them)
// are the same with the same rows, with bronze, silver and gold tables
// and no table empty but bronze's side tables: want from duckdb, got
// from spark.
func SameRows(t testing.TB, want, got map[string][]string, when string) {
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

// LakesEqual fails unless the lakes of the two projects hold the same
// tables with the same rows (the Volatile columns and those of also
// aside), and each table of required has rows.
func LakesEqual(t testing.TB, duckDir, sparkDir string, required []string, when string, also ...string) {
	t.Helper()
	want, got := LakeRows(t, duckDir, also...), LakeRows(t, sparkDir, also...)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range required {
		if len(want[n]) <= 1 {
			t.Errorf("%s: %s has no rows on duckdb: the comparison proves nothing", when, n)
		}
	}
	for _, n := range names {
		w, g := want[n], got[n]
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
	if len(got) != len(want) {
		t.Errorf("%s: %d tables on spark, %d on duckdb", when, len(got), len(want))
	}
	t.Logf("%s: tables compared: %v", when, names)
}

// QueryLake runs sql on DuckDB over every table of the lake of the
// project in dir.
func QueryLake(t testing.TB, dir, sql string) *engine.Result {
	t.Helper()
	ctx := t.Context()
	lake, err := pipeline.OpenLake(ctx, filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	names, err := lake.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := duckdb.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, n := range names {
		snap, err := lake.Snapshot(ctx, n)
		if err != nil || snap == nil {
			t.Fatalf("table %s: %v", n, err)
		}
		if err := eng.Bind(ctx, n, snap, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := eng.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return res
}

// GoldMatchesReference compares the gold tables of the project in dir
// with goldref's independent computation from its landing files.
func GoldMatchesReference(t testing.TB, dir, when string) {
	t.Helper()
	GoldMatchesReferenceAt(t, filepath.Join(dir, "landing"), filepath.Join(dir, "lake"), when)
}

// GoldMatchesReferenceAt is GoldMatchesReference for the landing folder
// and the lake at location (a folder or a URL).
func GoldMatchesReferenceAt(t testing.TB, landing, location, when string) {
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
	eng, err := duckdb.Open(ctx, &duckdb.Options{Cache: FileCache(t)})
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

// CopyLanding lands src at dst atomically (a hidden name, then a rename),
// the way a producer drops a file into the landing folder.
func CopyLanding(dst, src string) error {
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
