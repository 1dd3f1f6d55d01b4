package sparkinterop_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/spark-connect-go/spark/sql"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/sparkserver"
)

func TestMain(m *testing.M) {
	clitest.RunIfChild()
	code := m.Run()
	sparkserver.Release()
	os.Exit(code)
}

// medallion runs the command line as a process of its own and returns its
// standard output, failing the test unless it exits 0.
func medallion(t *testing.T, args ...string) string {
	t.Helper()
	out, err := medallionErr(t.Context(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// medallionErr is medallion for other goroutines than the test's: it
// returns the failure.
func medallionErr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = clitest.ChildEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("medallion %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// answer is a table's rows as medallion's own query prints them, each
// row's values joined by sep, sorted.
type answer struct {
	cols []string
	rows []string
}

// medallionRows is medallion's answer to SELECT * over the Delta table at
// path, from a `medallion query --format json` process (JSON lines keep
// a value's text exactly, CR LF inside strings included).
func medallionRows(t *testing.T, project, path string) answer {
	t.Helper()
	out := medallion(t, "query", "-C", project, "--format", "json", "SELECT * FROM delta_scan('"+path+"')")
	a := answer{}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	for n := 0; dec.More(); n++ {
		cols, vals, err := jsonRow(dec)
		if err != nil {
			t.Fatalf("medallion query of %s: JSON line %d: %v", path, n+1, err)
		}
		if n == 0 {
			a.cols = cols
		}
		a.rows = append(a.rows, strings.Join(vals, sep))
	}
	if a.cols == nil {
		// No rows: the columns from a query that returns none.
		cols := medallion(t, "query", "-C", project, "--format", "csv", "SELECT * FROM delta_scan('"+path+"') LIMIT 0")
		recs, err := csv.NewReader(strings.NewReader(cols)).ReadAll()
		if err != nil || len(recs) != 1 {
			t.Fatalf("medallion query of %s: want a CSV header, got %q (%v)", path, cols, err)
		}
		a.cols = recs[0]
	}
	slices.Sort(a.rows)
	return a
}

// jsonRow reads one JSON object, keeping its keys' order; values render
// as their text (strings unquoted, null as "").
func jsonRow(dec *json.Decoder) (cols, vals []string, err error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("want an object, got %v (%v)", tok, err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		cols = append(cols, k.(string))
		switch x := v.(type) {
		case nil:
			vals = append(vals, "")
		case string:
			vals = append(vals, x)
		case json.Number:
			vals = append(vals, x.String())
		case bool:
			vals = append(vals, strconv.FormatBool(x))
		default:
			return nil, nil, fmt.Errorf("column %s: nested value %v", k, v)
		}
	}
	_, err = dec.Token() // '}'
	return cols, vals, err
}

// sparkRows is Spark's answer to SELECT * over the Delta table at path
// (at version, when version >= 0).
func sparkRows(ctx context.Context, s sql.SparkSession, path string, version int64) (answer, error) {
	q := "SELECT * FROM delta.`" + path + "`"
	if version >= 0 {
		q += " VERSION AS OF " + strconv.FormatInt(version, 10)
	}
	df, err := s.Sql(ctx, q)
	if err != nil {
		return answer{}, err
	}
	tbl, err := df.ToArrow(ctx)
	if err != nil {
		return answer{}, err
	}
	defer (*tbl).Release()
	cols, rows, err := arrowRows(*tbl)
	return answer{cols: cols, rows: rows}, err
}

// deltaTables lists the Delta tables under lake: folder → latest version.
func deltaTables(t *testing.T, lake string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(lake, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() != "_delta_log" {
			return err
		}
		commits, _ := filepath.Glob(filepath.Join(p, "*.json"))
		last := int64(-1)
		for _, c := range commits {
			if v, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(c), ".json"), 10, 64); err == nil {
				last = max(last, v)
			}
		}
		out[filepath.Dir(p)] = last
		return filepath.SkipDir
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diff says how two answers differ ("" when equal).
func diff(got, want answer) string {
	if !slices.Equal(got.cols, want.cols) {
		return fmt.Sprintf("columns %q, want %q", got.cols, want.cols)
	}
	if len(got.rows) != len(want.rows) {
		return fmt.Sprintf("%d rows, want %d", len(got.rows), len(want.rows))
	}
	for i := range got.rows {
		if got.rows[i] != want.rows[i] {
			return fmt.Sprintf("row %d (sorted) is\n  %q\nwant\n  %q", i, strings.ReplaceAll(got.rows[i], sep, "|"), strings.ReplaceAll(want.rows[i], sep, "|"))
		}
	}
	return ""
}

// travelled are the tables whose first version Spark reads again after the
// second run (which adds an orders file) changed them.
var travelled = []string{"bronze/orders", "silver/orders", "gold/total_revenue"}

// TestSparkReadsEveryMedallionTable runs the built-in e-commerce project
// twice (the second time over one more orders file), then has Spark read
// every Delta table medallion wrote — bronze, silver, gold and medallion's
// own run tables — over Spark Connect: the rows equal `medallion query`'s
// answer, Spark's DESCRIBE HISTORY lists each commit medallion made, and
// VERSION AS OF the first run's version gives the first run's rows.
func TestSparkReadsEveryMedallionTable(t *testing.T) {
	s := sparkserver.Session(t)
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "shop")
	medallion(t, "init", dir)
	landing := filepath.Join(dir, "landing")
	medallion(t, "generate", "--out", landing, "--orders", "300", "--seed", "3")
	medallion(t, "run", "-C", dir)
	lake := filepath.Join(dir, "lake")
	first := deltaTables(t, lake)
	if len(first) < 37 { // 9 bronze, 8 silver tables (CDC: customers_history, order_status_history), 20 gold (order_status_durations); medallion.runs
		t.Fatalf("the run wrote %d Delta tables, want at least 37: %v", len(first), first)
	}
	// Time travel is checked on tables the second run changes.
	before := map[string]answer{}
	for _, rel := range travelled {
		path := filepath.Join(lake, rel)
		if _, ok := first[path]; !ok {
			t.Fatalf("the run wrote no table %s", rel)
		}
		before[path] = medallionRows(t, dir, path)
	}

	// One more orders file: the second run commits new versions.
	orders, _ := filepath.Glob(filepath.Join(landing, "orders", "*", "*", "*.csv"))
	if len(orders) == 0 {
		t.Fatal("generate wrote no orders files")
	}
	data, err := os.ReadFile(orders[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(orders[0], ".csv")+"-again.csv", data, 0o644); err != nil {
		t.Fatal(err)
	}
	medallion(t, "run", "-C", dir)
	latest := deltaTables(t, lake)

	changed := 0
	for path, v := range latest {
		rel, _ := filepath.Rel(lake, path)
		t.Run(rel, func(t *testing.T) {
			want := medallionRows(t, dir, path)
			got, err := sparkRows(ctx, s, path, -1)
			if err != nil {
				t.Fatalf("Spark cannot read %s: %v", rel, err)
			}
			if d := diff(got, want); d != "" {
				t.Errorf("Spark reads %s (version %d) differently from medallion: %s", rel, v, d)
			}

			df, err := s.Sql(ctx, "DESCRIBE HISTORY delta.`"+path+"`")
			if err != nil {
				t.Fatalf("Spark DESCRIBE HISTORY %s: %v", rel, err)
			}
			hist, err := df.Collect(ctx)
			if err != nil {
				t.Fatalf("Spark DESCRIBE HISTORY %s: %v", rel, err)
			}
			var versions []int64
			for _, h := range hist {
				versions = append(versions, h.At(0).(int64))
			}
			var wantVersions []int64
			for i := v; i >= 0; i-- {
				wantVersions = append(wantVersions, i)
			}
			if !slices.Equal(versions, wantVersions) {
				t.Errorf("Spark's history of %s lists versions %v, want %v", rel, versions, wantVersions)
			}

			if _, ok := before[path]; ok {
				old := first[path]
				if old == v {
					t.Fatalf("the second run did not change %s (version %d)", rel, v)
				}
				changed++
				got, err := sparkRows(ctx, s, path, old)
				if err != nil {
					t.Fatalf("Spark cannot read %s VERSION AS OF %d: %v", rel, old, err)
				}
				if d := diff(got, before[path]); d != "" {
					t.Errorf("Spark reads %s VERSION AS OF %d differently from medallion's answer then: %s", rel, old, d)
				}
			}
		})
	}
	if changed != len(travelled) {
		t.Errorf("time travel checked on %d tables, want %d", changed, len(travelled))
	}
	t.Logf("%d tables read by Spark, %d of them also at the first run's version", len(latest), changed)
}
