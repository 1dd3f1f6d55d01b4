package cli_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/pipeline"
)

// medallionProc runs the command line in a new process and returns its exit
// code, stdout and stderr.
func medallionProc(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = clitest.ChildEnv() // an OS process of its own (TestMain)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("medallion %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("medallion %s → %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

func mustProc(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := medallionProc(t, args...)
	if code != 0 {
		t.Fatalf("medallion %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// modelsProject copies testdata/models into a new directory.
func modelsProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir("testdata/models", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/models", p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// lakeVersions are the versions of the project's bronze, silver and gold
// tables.
func lakeVersions(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	lake, err := pipeline.OpenLake(t.Context(), filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	names, err := lake.Tables(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		if pipeline.Layer(n) == "medallion" {
			continue
		}
		snap, err := lake.Snapshot(t.Context(), n)
		if err != nil || snap == nil {
			t.Fatalf("%s: %v", n, err)
		}
		out[n] = snap.Version()
	}
	return out
}

// editFile replaces old by new in the project file, which must hold it.
func editFile(t *testing.T, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not hold %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// queryCSV runs a query through the CLI and returns its CSV output.
func queryCSV(t *testing.T, dir, sql string) string {
	t.Helper()
	return mustProc(t, "query", "-C", dir, "--format", "csv", sql)
}

// TestEditedModelsAreRecomputed: an edit of a model's SQL, of a var it uses,
// of a view it reads or of its header is reflected by the next `medallion
// run` with no new data: the model is recomputed in full (an incremental
// model too: rows its new SQL drops disappear) with everything downstream,
// and nothing else; the run after that has nothing to do.
func TestEditedModelsAreRecomputed(t *testing.T) {
	dir := modelsProject(t)
	mustProc(t, "run", "-C", dir)
	if out := mustProc(t, "run", "-C", dir); !strings.Contains(out, ": 0 tables updated") {
		t.Fatalf("a second run with nothing new updated tables:\n%s", out)
	}
	steps := []struct {
		name      string
		file      string
		old, new  string
		recompute []string // the tables whose version must grow; every other stays
		query     string
		want      string
	}{
		{
			name: "SQL of an incremental model", file: "models/silver/orders.sql",
			old: "WHERE status <> 'test'", new: "WHERE status NOT IN ('test', 'canceled')",
			recompute: []string{"silver.orders", "gold.daily", "gold.total"},
			query:     "SELECT count(*) AS canceled FROM silver.orders WHERE status = 'canceled'", want: "canceled\n0\n",
		},
		{
			name: "a var the SQL uses", file: pipeline.ConfigFile,
			old: "fx: 1", new: "fx: 2",
			recompute: []string{"silver.orders", "gold.daily", "gold.total"},
			query:     "SELECT revenue, orders FROM gold.total", want: "revenue,orders\n30,2\n",
		},
		{
			name: "a downstream model only", file: "models/gold/total.sql",
			old: "sum(orders) AS orders", new: "sum(orders) AS orders, max(revenue) AS best_day",
			recompute: []string{"gold.total"},
			query:     "SELECT revenue, orders, best_day FROM gold.total", want: "revenue,orders,best_day\n30,2,20\n",
		},
		{
			name: "a view the models read", file: "models/silver/paid_orders.sql",
			old: "WHERE status = 'paid'", new: "WHERE status = 'paid' AND amount > 10",
			recompute: []string{"gold.daily", "gold.total"},
			query:     "SELECT revenue, orders FROM gold.total", want: "revenue,orders\n20,1\n",
		},
		{
			name: "SQL of a window model", file: "models/gold/events_10m.sql",
			old: "count(*) AS events", new: "count(*) FILTER (WHERE kind = 'click') AS clicks",
			recompute: []string{"gold.events_10m"},
			query:     "SELECT strftime(window_start, '%H:%M') AS w, clicks FROM gold.events_10m ORDER BY 1", want: "w,clicks\n00:00,1\n00:10,1\n",
		},
		{
			name: "a window model's lateness", file: "models/gold/events_10m.sql",
			old: "lateness: 1m", new: "lateness: 20m",
			recompute: []string{"gold.events_10m"},
			query:     "SELECT strftime(window_start, '%H:%M') AS w, clicks FROM gold.events_10m ORDER BY 1", want: "w,clicks\n00:00,1\n",
		},
		{
			name: "a header setting", file: "models/silver/products.sql",
			old: "-- keys: [product_id]", new: "-- keys: [product_id]\n-- expectations:\n--   - {name: named, expr: name IS NOT NULL, action: drop}",
			recompute: []string{"silver.products"},
			query:     "SELECT count(*) AS n FROM silver.products", want: "n\n2\n",
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := lakeVersions(t, dir)
			editFile(t, dir, s.file, s.old, s.new)
			out := mustProc(t, "run", "-C", dir)
			if want := fmt.Sprintf(": %d tables updated", len(s.recompute)); !strings.Contains(out, want) {
				t.Errorf("the run after the edit: want %q in\n%s", want, out)
			}
			after := lakeVersions(t, dir)
			for name, v := range before {
				grew := after[name] > v
				if want := contains(s.recompute, name); grew != want {
					t.Errorf("%s: version %d → %d; want recomputed: %v", name, v, after[name], want)
				}
			}
			if got := queryCSV(t, dir, s.query); got != s.want {
				t.Errorf("%s:\n got %q\nwant %q", s.query, got, s.want)
			}
			if out := mustProc(t, "run", "-C", dir); !strings.Contains(out, ": 0 tables updated") {
				t.Errorf("the run after the recompute updated tables again:\n%s", out)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBrokenModelsFailBeforeWriting: every kind of broken model fails the
// run (non-zero exit) naming models/<file>.sql:<line> of the user's own file
// (header lines and blank lines counted, the runner's rewriting undone, no
// internal relation names), and the run writes nothing: a landing file that
// waits is not ingested, no table gets a new version. Once the model is
// fixed, the next run goes on.
func TestBrokenModelsFailBeforeWriting(t *testing.T) {
	dir := modelsProject(t)
	mustProc(t, "run", "-C", dir)
	// New data waits in the landing zone during the broken runs.
	if err := os.WriteFile(filepath.Join(dir, "landing", "orders", "orders_001.csv"), []byte("order_id,day,amount,status\no5,2026-01-03,8,paid\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := lakeVersions(t, dir)
	cases := []struct {
		name     string
		file     string
		old, new string
		where    string // file:line the error must name
		say      string // and a word of the message
	}{
		{"syntax error", "models/silver/orders.sql", "SELECT order_id, day", "SELECT order_id,, day", "models/silver/orders.sql:7:", "syntax error"},
		{"syntax error at the end", "models/gold/total.sql", "FROM gold.daily", "FROM gold.daily WHERE", "models/gold/total.sql:2:", "syntax error"},
		{"unknown column after a blank line", "models/gold/daily.sql", "sum(amount)", "sum(amont)", "models/gold/daily.sql:4:", "amont"},
		{"unknown column in an incremental model", "models/silver/orders.sql", "WHERE status <> 'test'", "WHERE statu <> 'test'", "models/silver/orders.sql:9:", "statu"},
		{"unknown column in a view", "models/silver/paid_orders.sql", "status = 'paid'", "state = 'paid'", "models/silver/paid_orders.sql:3:", "state"},
		{"a column the upstream model's new SQL drops", "models/silver/orders.sql", "amount * ${fx} AS amount, status", "amount * ${fx} AS amount", "models/silver/paid_orders.sql:3:", "status"},
		{"bad expectation", "models/silver/orders.sql", "expr: amount IS NOT NULL", "expr: amont IS NOT NULL", "models/silver/orders.sql:6:", "amount_known"},
		{"expectation syntax", "models/silver/orders.sql", "expr: amount IS NOT NULL", "expr: amount IS NOT", "models/silver/orders.sql:6:", "amount_known"},
		{"missing key column", "models/silver/orders.sql", "keys: [order_id]", "keys: [order_no]", "models/silver/orders.sql:2:", "order_no"},
		{"missing incremental_by column", "models/gold/daily.sql", "incremental_by: [day]", "incremental_by: [date]", "models/gold/daily.sql:2:", "date"},
		{"unknown column in a window model", "models/gold/events_10m.sql", "count(*) AS events", "count(knd) AS events", "models/gold/events_10m.sql:3:", "knd"},
		{"missing window time column", "models/gold/events_10m.sql", "time: ts", "time: tss", "models/gold/events_10m.sql:2:", "tss"},
		{"a second statement", "models/silver/orders.sql", "WHERE status <> 'test'", "WHERE status <> 'test'; DROP TABLE bronze.orders", "models/silver/orders.sql:9:", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.file)
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(p, orig, 0o644)
			editFile(t, dir, c.file, c.old, c.new)
			code, out, errOut := medallionProc(t, "run", "-C", dir)
			if code == 0 {
				t.Fatalf("a run with a broken model exited 0:\n%s", out)
			}
			if !strings.Contains(errOut, c.where) {
				t.Errorf("stderr does not name %s:\n%s", c.where, errOut)
			}
			if !strings.Contains(errOut, c.say) {
				t.Errorf("stderr does not say %q:\n%s", c.say, errOut)
			}
			if strings.Contains(out+errOut, "__") {
				t.Errorf("the output shows internal names:\n%s%s", out, errOut)
			}
			if after := lakeVersions(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("the failed run wrote: versions %v, before %v", after, before)
			}
		})
	}
	// A run that selects some tables checks them and their upstream models
	// only: a model broken elsewhere does not block it.
	orig, err := os.ReadFile(filepath.Join(dir, "models/gold/total.sql"))
	if err != nil {
		t.Fatal(err)
	}
	editFile(t, dir, "models/gold/total.sql", "FROM gold.daily", "FROM gold.daily WHERE")
	mustProc(t, "run", "-C", dir, "--select", "+silver.orders")
	if code, _, errOut := medallionProc(t, "run", "-C", dir); code == 0 || !strings.Contains(errOut, "models/gold/total.sql:2:") {
		t.Errorf("a run of every table with gold.total broken: exit %d\n%s", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "models/gold/total.sql"), orig, 0o644); err != nil {
		t.Fatal(err)
	}
	mustProc(t, "run", "-C", dir)
	if got := queryCSV(t, dir, "SELECT count(*) AS n FROM bronze.orders"); got != "n\n5\n" {
		t.Errorf("after the fix, bronze.orders: %q, want the waiting file's row too", got)
	}
	// A model edited to read a column that only a waiting file brings fails
	// the check; ingesting the source first (a run selecting it checks no
	// model) lets the next run go on.
	if err := os.WriteFile(filepath.Join(dir, "landing", "orders", "orders_002.csv"), []byte("order_id,day,amount,status,channel\no6,2026-01-04,9,paid,web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	editFile(t, dir, "models/silver/orders.sql", "AS amount, status", "AS amount, status, channel")
	if code, _, errOut := medallionProc(t, "run", "-C", dir); code == 0 || !strings.Contains(errOut, "models/silver/orders.sql:7:") {
		t.Errorf("a model reading a column no table has yet: exit %d\n%s", code, errOut)
	}
	mustProc(t, "run", "-C", dir, "--select", "bronze.orders")
	mustProc(t, "run", "-C", dir)
	if got := queryCSV(t, dir, "SELECT order_id, channel FROM silver.orders WHERE channel IS NOT NULL"); got != "order_id,channel\no6,web\n" {
		t.Errorf("silver.orders after the source's new column: %q", got)
	}
	// The failed runs are in the run log, each naming the file and line.
	if got := queryCSV(t, dir, "SELECT count(*) AS n FROM medallion.runs WHERE status = 'failed' AND error LIKE '%models/silver/orders.sql:6:%'"); got != "n\n2\n" {
		t.Errorf("medallion.runs rows of the failed expectation runs: %q, want 2", got)
	}
}

// TestStreamRunLogStaysBounded: a stream of micro-batches records in
// medallion.runs only the tables each batch changed (no up-to-date rows, no
// views), and the run log is compacted like any table, so its file count
// stays bounded.
func TestStreamRunLogStaysBounded(t *testing.T) {
	dir := modelsProject(t)
	const batches = 24
	for i := 1; i < batches; i++ {
		line := fmt.Sprintf("order_id,day,amount,status\nn%d,2026-02-%02d,%d,paid\n", i, 1+i%28, i)
		if err := os.WriteFile(filepath.Join(dir, "landing", "orders", fmt.Sprintf("orders_%03d.csv", i)), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustProc(t, "stream", "-C", dir, "--trigger", "available-now", "--max-files", "1")
	// Per batch: bronze.orders, silver.orders, gold.daily and gold.total
	// changed; the first batch also loaded the products and the events
	// (bronze and silver.products, bronze.events and gold.events_10m).
	want := fmt.Sprintf("runs,rows,noise\n%d,%d,0\n", batches, 4*batches+4)
	if got := queryCSV(t, dir, "SELECT count(DISTINCT run_id) AS runs, count(*) AS rows, count(*) FILTER (WHERE status = 'up-to-date' OR kind = 'view') AS noise FROM medallion.runs"); got != want {
		t.Errorf("medallion.runs after %d batches: %q, want %q", batches, got, want)
	}
	lake, err := pipeline.OpenLake(t.Context(), filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(t.Context(), pipeline.RunsTable)
	if err != nil || snap == nil {
		t.Fatalf("medallion.runs: %v", err)
	}
	if n := snap.NumFiles(); n > pipeline.InternalCompactFiles {
		t.Errorf("medallion.runs holds %d files after %d runs, want at most %d", n, batches, pipeline.InternalCompactFiles)
	}
}
