package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/storage"
)

// cdfProject is cdcProject with the change data feed on for both CDC
// tables (a model header property).
func cdfProject() map[string]string {
	p := maps.Clone(cdcProject)
	for _, f := range []string{"models/customers_latest.sql", "models/customers_history.sql"} {
		p[f] = strings.Replace(p[f], "-- cdc:", "-- properties: {delta.enableChangeDataFeed: \"true\"}\n-- cdc:", 1)
	}
	return p
}

// cdfTables are the CDC tables of cdfProject with their columns.
var cdfTables = []struct {
	name string
	cols []string
}{
	{"customers_latest", []string{"id", "name", "city", "note", "ts_ms"}},
	{"customers_history", []string{"id", "name", "city", "note", "ts_ms", "__start_at", "__end_at"}},
}

// renderSQL renders cols as one "a|b|NULL" text column.
func renderSQL(cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = `coalesce(CAST("` + c + `" AS VARCHAR), 'NULL')`
	}
	return strings.Join(parts, " || '|' || ")
}

// feedRow is one row change: "version|change_type|row".
func feedRow(v int64, typ, row string) string { return fmt.Sprintf("%d|%s|%s", v, typ, row) }

// ourFeed reads the table's change data feed as the Delta protocol defines
// it, with delta.Table.ChangeFeed and the engine reading each file: the
// rows of a commit's cdc files with their _change_type, or of its added
// and removed files as inserts and deletes.
func ourFeed(t *testing.T, eng engine.Engine, tbl *delta.Table, dir string, cols []string, to int64) []string {
	t.Helper()
	files, err := tbl.ChangeFeed(t.Context(), 0, to)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		p, err := url.PathUnescape(f.File.Path)
		if err != nil {
			t.Fatal(err)
		}
		typ := "_change_type"
		if f.ChangeType != "" {
			typ = "'" + f.ChangeType + "'"
		}
		res, err := eng.Query(t.Context(), "SELECT "+typ+", "+renderSQL(cols)+" FROM read_parquet('"+filepath.Join(dir, p)+"')")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			out = append(out, feedRow(f.Version, r[0].(string), r[1].(string)))
		}
	}
	slices.Sort(out)
	return out
}

func openLakeTable(t *testing.T, dir string) *delta.Table {
	t.Helper()
	store, err := storage.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := delta.OpenTable(t.Context(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// landCDF runs cdfProject over change files, one run per file.
func landCDF(t *testing.T, seed uint64, files int) string {
	t.Helper()
	dir, proj := writeProject(t, cdfProject())
	var landed []arrived
	for f, cs := range genChanges(seed, files) {
		landed = append(landed, writeChanges(t, dir, f, cs)...)
		if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	checkCDC(t, proj, landed, "with the change data feed on")
	return dir
}

// TestChangeDataFeedReplaysEveryVersion: for every version of both CDC
// tables, the previous version's rows minus the feed's deletes and update
// preimages plus its inserts and update postimages are exactly the
// version's rows; updates come as preimage/postimage pairs of one key.
func TestChangeDataFeedReplaysEveryVersion(t *testing.T) {
	dir := landCDF(t, 4, 5)
	eng, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, tc := range cdfTables {
		tdir := filepath.Join(dir, "lake", "silver", tc.name)
		tbl := openLakeTable(t, tdir)
		latest, err := tbl.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !delta.ChangeDataFeedEnabled(latest.Metadata()) || latest.Protocol().MinWriterVersion < 4 {
			t.Fatalf("%s: change data feed not enabled: %+v %v", tc.name, latest.Protocol(), latest.Metadata().Configuration)
		}
		feed := ourFeed(t, eng, tbl, tdir, tc.cols, latest.Version())
		kinds := map[string]int{}
		held := map[string]int{}
		for v := int64(0); v <= latest.Version(); v++ {
			for _, f := range feed {
				parts := strings.SplitN(f, "|", 3)
				if parts[0] != fmt.Sprint(v) {
					continue
				}
				kinds[parts[1]]++
				switch parts[1] {
				case delta.ChangeInsert, delta.ChangeUpdatePostimage:
					held[parts[2]]++
				case delta.ChangeDelete, delta.ChangeUpdatePreimage:
					if held[parts[2]] == 0 {
						t.Errorf("%s v%d: the feed removes a row the table did not hold: %s", tc.name, v, f)
					}
					held[parts[2]]--
				default:
					t.Errorf("%s v%d: unknown _change_type in %s", tc.name, v, f)
				}
			}
			snap, err := tbl.SnapshotAt(t.Context(), v)
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.Bind(t.Context(), "__t", snap, nil); err != nil {
				t.Fatal(err)
			}
			res, err := eng.Query(t.Context(), "SELECT "+renderSQL(tc.cols)+" FROM __t")
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, r := range res.Rows {
				want = append(want, r[0].(string))
			}
			for row, n := range held {
				for range n {
					got = append(got, row)
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s v%d: replaying the feed gives\n%v\nthe table holds\n%v", tc.name, v, got, want)
			}
		}
		if kinds[delta.ChangeUpdatePreimage] == 0 || kinds[delta.ChangeUpdatePreimage] != kinds[delta.ChangeUpdatePostimage] || kinds[delta.ChangeInsert] == 0 {
			t.Errorf("%s: feed kinds %v: want inserts and paired update pre/postimages", tc.name, kinds)
		}
	}
}

// repoRoot is the folder of go.mod above the working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			t.Fatal("no go.mod above the working directory")
		}
		d = up
	}
}

// sparkPeer finds .venv's python with pyspark and the delta-spark jars, or
// skips the test (fails it under CI=true).
func sparkPeer(t *testing.T) (py, jars string) {
	t.Helper()
	root := repoRoot(t)
	py = filepath.Join(root, ".venv", "bin", "python")
	jars = os.Getenv("MEDALLION_SPARK_JARS")
	if jars == "" {
		jars = filepath.Join(root, ".cache", "spark-jars")
	}
	var missing string
	if m, _ := filepath.Glob(filepath.Join(jars, "delta-spark_*.jar")); len(m) == 0 {
		missing = "no delta-spark jar in " + jars
	} else if err := exec.Command(py, "-c", "import pyspark").Run(); err != nil {
		missing = py + " cannot import pyspark: " + err.Error()
	} else if _, err := exec.LookPath("java"); err != nil {
		missing = "no java in PATH"
	}
	if missing != "" {
		msg := "Spark peer unavailable: " + missing + "; run `make test-deps` from the repository root"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py, jars
}

// TestSparkReadsOurChangeFeed: Spark's readChangeFeed over both CDC tables
// returns exactly the row changes of every version that the Delta protocol
// defines for our log (ourFeed), and Spark reads the same latest rows.
func TestSparkReadsOurChangeFeed(t *testing.T) {
	py, jars := sparkPeer(t)
	dir := landCDF(t, 6, 4)
	eng, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var args []string
	for _, tc := range cdfTables {
		args = append(args, filepath.Join(dir, "lake", "silver", tc.name))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join(repoRoot(t), "pipeline", "testdata", "cdf", "read_change_feed.py")}, args...)...)
	cmd.Env = append(os.Environ(), "SPARK_JARS="+jars, "SPARK_LOCAL_IP=127.0.0.1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read_change_feed.py: %v\n%s", err, stderr.Bytes())
	}
	spark := map[string][]string{}
	sparkSnap := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Table   string `json:"table"`
			Version int64  `json:"version"`
			Type    string `json:"type"`
			Row     string `json:"row"`
		}
		if !strings.HasPrefix(sc.Text(), "{") {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		if r.Type == "snapshot" {
			sparkSnap[r.Table] = append(sparkSnap[r.Table], r.Row)
		} else {
			spark[r.Table] = append(spark[r.Table], feedRow(r.Version, r.Type, r.Row))
		}
	}
	for i, tc := range cdfTables {
		tbl := openLakeTable(t, args[i])
		latest, err := tbl.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := ourFeed(t, eng, tbl, args[i], tc.cols, latest.Version())
		got := spark[args[i]]
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Spark's change feed\n%v\nour log's\n%v", tc.name, got, want)
		}
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "|update_preimage|") }) {
			t.Errorf("%s: Spark read no update_preimage rows: %v", tc.name, got)
		}
		if err := eng.Bind(t.Context(), "__t", latest, nil); err != nil {
			t.Fatal(err)
		}
		res, err := eng.Query(t.Context(), "SELECT "+renderSQL(tc.cols)+" FROM __t")
		if err != nil {
			t.Fatal(err)
		}
		var ours []string
		for _, r := range res.Rows {
			ours = append(ours, r[0].(string))
		}
		slices.Sort(ours)
		theirs := sparkSnap[args[i]]
		slices.Sort(theirs)
		if !slices.Equal(ours, theirs) {
			t.Errorf("%s: Spark reads\n%v\nwe read\n%v", tc.name, theirs, ours)
		}
	}
}
