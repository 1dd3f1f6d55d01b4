package cli_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/cli"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
)

// medallion runs the command line with args and returns its exit code,
// stdout and stderr.
func medallion(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Main(t.Context(), args, &stdout, &stderr)
	t.Logf("medallion %s → %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

// mustRun runs the command line and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := medallion(t, args...)
	if code != 0 {
		t.Fatalf("medallion %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

var sources = []string{"orders", "order_items", "customers", "payments", "products", "sellers", "geolocation", "category_translation", "reviews", "clickstream"}

var summaryLine = regexp.MustCompile(`(?m)^run \S+: (\d+) tables updated in \S+$`)

// TestCLI drives every command over one project: init, generate, run,
// query in three formats and over delta_scan, tables, history, optimize and
// vacuum, and the refusals.
func TestCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")

	// init writes the project and refuses to write it twice.
	out := mustRun(t, "init", dir)
	if !strings.Contains(out, "wrote the e-commerce project to "+dir) {
		t.Errorf("init printed %q", out)
	}
	for _, f := range []string{pipeline.ConfigFile, "models/silver/orders.sql", "models/gold/total_revenue.sql", "models/gold/cohort_retention.sql"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	gold, _ := filepath.Glob(filepath.Join(dir, "models", "gold", "*.sql"))
	// The 18 tables of the gold contract, the 3 clickstream windows and
	// gold.order_status_durations.
	if len(gold) != len(goldref.Names)+len(goldref.Breakdowns)+4 {
		t.Errorf("init wrote %d gold models, want %d", len(gold), len(goldref.Names)+len(goldref.Breakdowns)+4)
	}
	for _, s := range sources {
		if st, err := os.Stat(filepath.Join(dir, "landing", s)); err != nil || !st.IsDir() {
			t.Errorf("init did not create landing/%s/: %v", s, err)
		}
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatalf("the project init wrote does not load: %v", err)
	}
	if len(proj.Sources) != len(sources) {
		t.Errorf("the project has %d sources, want %d", len(proj.Sources), len(sources))
	}
	before, _ := os.ReadFile(filepath.Join(dir, pipeline.ConfigFile))
	if code, _, errOut := medallion(t, "init", dir); code == 0 || !strings.Contains(errOut, "already has a "+pipeline.ConfigFile) {
		t.Errorf("a second init: exit %d, stderr %q; want a refusal", code, errOut)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, pipeline.ConfigFile)); !bytes.Equal(before, after) {
		t.Error("the second init changed medallion.yaml")
	}

	// generate into the landing zone.
	landing := filepath.Join(dir, "landing")
	out = mustRun(t, "generate", "--out", landing, "--orders", "300")
	if !strings.Contains(out, "generated 300 orders") {
		t.Errorf("generate printed %q", out)
	}
	if files, _ := filepath.Glob(filepath.Join(landing, "orders", "order_year=*", "order_month=*", "*.csv")); len(files) == 0 {
		t.Error("generate wrote no orders files")
	}

	// run: the summary line and the headline KPIs.
	out = mustRun(t, "run", "-C", dir)
	m := summaryLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("run printed no summary line:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n != 47 { // 9 bronze (clickstream has no files), 18 silver tables (geo_revenue is a view), 18 gold + gold.daily_by_state + gold.order_status_durations
		t.Errorf("run updated %d tables, want 47", n)
	}
	if !regexp.MustCompile(`(?m)^revenue\s+orders\s+items\s+aov\s+cancellation_rate_pct\s*$`).MatchString(out) || !strings.Contains(out, "(1 row)") {
		t.Errorf("run did not print the summary query:\n%s", out)
	}
	out = mustRun(t, "run", "-C", dir)
	if m := summaryLine.FindStringSubmatch(out); m == nil || m[1] != "0" {
		t.Errorf("a run with nothing new: want 0 tables updated, got:\n%s", out)
	}

	want, err := goldref.Compute(t.Context(), landing, goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	wantRow := want["gold.total_revenue"].Rows[0] // revenue, orders, items
	wantRevenue := wantRow[0].(float64)
	const q = "SELECT revenue, orders, items FROM gold.total_revenue"

	t.Run("query/csv", func(t *testing.T) {
		out := mustRun(t, "query", "-C", dir, "--format", "csv", q)
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("not CSV: %v\n%s", err, out)
		}
		if len(recs) != 2 || strings.Join(recs[0], ",") != "revenue,orders,items" {
			t.Fatalf("CSV %q, want a header and one row", recs)
		}
		rev, err := strconv.ParseFloat(recs[1][0], 64)
		if err != nil || math.Abs(rev-wantRevenue) > 1e-9*wantRevenue || strings.ContainsAny(recs[1][0], "eE") {
			t.Errorf("revenue %q, want %v without an exponent", recs[1][0], wantRevenue)
		}
		// The CSV text is the exact value: the engine's own shortest text of
		// the same DOUBLE parses to the same bits.
		exact := mustRun(t, "query", "-C", dir, "--format", "csv", "SELECT CAST(revenue AS VARCHAR) AS text FROM gold.total_revenue")
		text := strings.TrimSpace(strings.TrimPrefix(exact, "text\n"))
		if want, err := strconv.ParseFloat(text, 64); err != nil || math.Float64bits(want) != math.Float64bits(rev) {
			t.Errorf("CSV revenue %q is not the stored DOUBLE %q", recs[1][0], text)
		}
		if recs[1][1] != strconv.FormatInt(wantRow[1].(int64), 10) || recs[1][2] != strconv.FormatInt(wantRow[2].(int64), 10) {
			t.Errorf("orders, items = %s, %s; want %v, %v", recs[1][1], recs[1][2], wantRow[1], wantRow[2])
		}
	})
	t.Run("query/json", func(t *testing.T) {
		out := mustRun(t, "query", "-C", dir, "--format", "json", q)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], `{"revenue":`) || !strings.Contains(lines[0], `,"orders":`) {
			t.Fatalf("want one JSON line with the columns in order, got %q", out)
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &row); err != nil {
			t.Fatalf("not JSON: %v: %s", err, lines[0])
		}
		rev, _ := row["revenue"].(float64)
		if len(row) != 3 || math.Abs(rev-wantRevenue) > 1e-9*wantRevenue ||
			row["orders"] != float64(wantRow[1].(int64)) || row["items"] != float64(wantRow[2].(int64)) {
			t.Errorf("JSON row %v, want revenue %v orders %v items %v", row, wantRevenue, wantRow[1], wantRow[2])
		}
	})
	t.Run("query/table", func(t *testing.T) {
		out := mustRun(t, "query", "-C", dir, q) // table is the default
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "revenue orders items" || lines[2] != "(1 row)" {
			t.Fatalf("table output %q", out)
		}
		f := strings.Fields(lines[1])
		ungroup := func(s string) string { return strings.ReplaceAll(s, ",", "") }
		if len(f) != 3 || ungroup(f[1]) != strconv.FormatInt(wantRow[1].(int64), 10) || ungroup(f[2]) != strconv.FormatInt(wantRow[2].(int64), 10) {
			t.Errorf("row %q, want orders %v items %v", lines[1], wantRow[1], wantRow[2])
		}
		// Revenue for people: grouped, no exponent, whole cents.
		if len(f) == 3 {
			rev, err := strconv.ParseFloat(ungroup(f[0]), 64)
			if err != nil || !strings.Contains(f[0], ",") || strings.ContainsAny(f[0], "eE") || math.Abs(rev-wantRevenue) > 0.006 {
				t.Errorf("revenue shown as %q, want %.2f grouped", f[0], wantRevenue)
			}
		}
		if code, _, errOut := medallion(t, "query", "-C", dir, "--format", "xml", q); code == 0 || !strings.Contains(errOut, `unknown --format "xml"`) {
			t.Errorf("--format xml: exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("query/read-only", func(t *testing.T) {
		for _, stmt := range []string{
			"DELETE FROM gold.total_revenue",
			"DROP TABLE gold.total_revenue",
			"CREATE TABLE x AS SELECT 1",
			"COPY gold.total_revenue TO 'out.csv'",
			"SELECT 1; DROP TABLE gold.total_revenue",
			"INSERT INTO gold.total_revenue VALUES (1, 1, 1)",
		} {
			code, out, errOut := medallion(t, "query", "-C", dir, stmt)
			if code == 0 || !strings.Contains(errOut, "only read-only statements") {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want a refusal", stmt, code, out, errOut)
			}
		}
		out := mustRun(t, "query", "-C", dir, "--format", "csv", "SELECT count(*) AS n FROM gold.total_revenue")
		if out != "n\n1\n" {
			t.Errorf("gold.total_revenue after the refusals: %q", out)
		}
	})
	t.Run("query/delta_scan", func(t *testing.T) {
		path := filepath.Join(dir, "lake", "gold", "daily_revenue")
		byPath := mustRun(t, "query", "-C", dir, "--format", "csv", "SELECT count(*) AS n, round(sum(revenue), 2) AS revenue FROM delta_scan('"+path+"')")
		byName := mustRun(t, "query", "-C", dir, "--format", "csv", "SELECT count(*) AS n, round(sum(revenue), 2) AS revenue FROM gold.daily_revenue")
		if byPath != byName || !strings.HasPrefix(byPath, "n,revenue\n") || byPath == "n,revenue\n0,\n" {
			t.Errorf("delta_scan gives %q, the table by name %q", byPath, byName)
		}
		if n := len(want["gold.daily_revenue"].Rows); !strings.HasPrefix(byPath, "n,revenue\n"+strconv.Itoa(n)+",") {
			t.Errorf("delta_scan gives %q, want %d rows", byPath, n)
		}
	})
	t.Run("tables", func(t *testing.T) {
		out := mustRun(t, "tables", "-C", dir)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if strings.Join(strings.Fields(lines[0]), " ") != "TABLE VERSION FILES ROWS SIZE UPDATED" {
			t.Errorf("header %q", lines[0])
		}
		rows := map[string][]string{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			rows[f[0]] = f
		}
		for _, name := range append([]string{"bronze.orders", "silver.orders", pipeline.RunsTable}, goldref.Names...) {
			if _, ok := rows[name]; !ok {
				t.Errorf("tables does not list %s", name)
			}
		}
		if f := rows["gold.total_revenue"]; len(f) < 4 || f[3] != "1" {
			t.Errorf("gold.total_revenue: %q, want 1 row", f)
		}
		if f := rows["silver.orders"]; len(f) < 4 || f[3] != strconv.Itoa(300) {
			t.Errorf("silver.orders: %q, want 300 rows", f)
		}
	})
	t.Run("history", func(t *testing.T) {
		out := mustRun(t, "history", "-C", dir, "gold.daily_revenue")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(strings.Join(strings.Fields(lines[0]), " "), "VERSION TIMESTAMP OPERATION PARAMETERS METRICS") {
			t.Errorf("header %q", lines[0])
		}
		if len(lines) < 2 || !strings.HasPrefix(lines[len(lines)-1], "0 ") {
			t.Errorf("history does not end with version 0:\n%s", out)
		}
		if !strings.Contains(out, "WRITE") {
			t.Errorf("history shows no WRITE:\n%s", out)
		}
		if out := mustRun(t, "history", "-C", dir, "--limit", "1", "gold.daily_revenue"); len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
			t.Errorf("--limit 1 gives\n%s", out)
		}
		if code, _, errOut := medallion(t, "history", "-C", dir, "gold.nope"); code == 0 || !strings.Contains(errOut, "table gold.nope does not exist") {
			t.Errorf("history of a missing table: exit %d, stderr %q", code, errOut)
		}
		if code, _, errOut := medallion(t, "history", "-C", dir, "daily_revenue"); code == 0 || !strings.Contains(errOut, "layer.table") {
			t.Errorf("history of a bare name: exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("optimize", func(t *testing.T) {
		// Two more orders in an existing month: that partition of
		// bronze.orders gets a second file, which optimize compacts.
		part := landExtraOrders(t, landing)
		out := mustRun(t, "run", "-C", dir)
		if m := summaryLine.FindStringSubmatch(out); m == nil || m[1] == "0" {
			t.Fatalf("the run after new orders updated nothing:\n%s", out)
		}
		count := "SELECT count(*) AS n, count(DISTINCT order_id) AS ids FROM bronze.orders"
		before := mustRun(t, "query", "-C", dir, "--format", "csv", count)
		if before != "n,ids\n302,302\n" {
			t.Errorf("bronze.orders: %q, want 302 orders", before)
		}
		out = mustRun(t, "optimize", "-C", dir, "bronze.orders")
		if !regexp.MustCompile(`^bronze\.orders: version \d+: 2 files \(.*\) compacted into 1 \(.*\) in 1 partitions\n$`).MatchString(out) {
			t.Errorf("optimize printed %q, want the 2 files of %s compacted", out, part)
		}
		if after := mustRun(t, "query", "-C", dir, "--format", "csv", count); after != before {
			t.Errorf("bronze.orders before optimize %q, after %q", before, after)
		}
		if out := mustRun(t, "optimize", "-C", dir, "bronze.orders"); out != "bronze.orders: nothing to compact\n" {
			t.Errorf("a second optimize printed %q", out)
		}
	})
	t.Run("vacuum", func(t *testing.T) {
		out := mustRun(t, "vacuum", "-C", dir, "bronze.orders", "--dry-run")
		if out != "bronze.orders: would delete 0 files (0 B)\n" {
			t.Errorf("vacuum --dry-run within the retention printed %q", out)
		}
		// --retention 0s asks for no retention at all: every file the
		// latest version does not reference goes, with its key index
		// (bronze.orders is an upsert source: engine/duckdb's
		// _medallion_keys).
		out = mustRun(t, "vacuum", "-C", dir, "bronze.orders", "--dry-run", "--retention", "0s", "--force")
		if !regexp.MustCompile(`(?m)^bronze\.orders: would delete 4 files \(.*\)$`).MatchString(out) {
			t.Errorf("vacuum --dry-run --retention 0s --force printed %q, want the 2 files optimize replaced and their key indexes", out)
		}
		out = mustRun(t, "vacuum", "-C", dir, "bronze.orders", "--dry-run", "--retention", "1ms", "--force")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if last := lines[len(lines)-1]; !regexp.MustCompile(`^bronze\.orders: would delete 4 files \(.*\)$`).MatchString(last) || len(lines) != 5 {
			t.Fatalf("vacuum --dry-run --retention 1ms --force printed %q, want the 2 files optimize replaced and their key indexes", out)
		}
		var data, indexes []string
		for _, f := range lines[:4] {
			if k, ok := strings.CutPrefix(f, "_medallion_keys/"); ok {
				_, k, _ = strings.Cut(k, "/")
				indexes = append(indexes, k)
			} else {
				data = append(data, f)
			}
		}
		if slices.Sort(data); !slices.Equal(data, slices.Sorted(slices.Values(indexes))) {
			t.Fatalf("vacuum would delete data files %q and the indexes of %q, want each data file's index", data, indexes)
		}
		table := filepath.Join(dir, "lake", "bronze", "orders")
		for _, f := range lines[:4] {
			if _, err := os.Stat(filepath.Join(table, filepath.FromSlash(f))); err != nil {
				t.Errorf("a dry run deleted %s: %v", f, err)
			}
		}
		out = mustRun(t, "vacuum", "-C", dir, "bronze.orders", "--retention", "1ms", "--force")
		if !strings.Contains(out, "bronze.orders: deleted 4 files") {
			t.Errorf("vacuum printed %q", out)
		}
		for _, f := range lines[:4] {
			if _, err := os.Stat(filepath.Join(table, filepath.FromSlash(f))); err == nil {
				t.Errorf("vacuum kept %s", f)
			}
		}
		if out := mustRun(t, "query", "-C", dir, "--format", "csv", "SELECT count(*) AS n FROM bronze.orders"); out != "n\n302\n" {
			t.Errorf("bronze.orders after vacuum: %q", out)
		}
	})
}

// TestCLIRunBrokenModel: a model whose SQL does not compile fails the run
// (exit 1) naming the model, its file and line; no model table is written
// (on a first run the sources still create the bronze tables the models are
// checked against).
func TestCLIRunBrokenModel(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "init", dir)
	if _, err := datagen.Generate(t.Context(), filepath.Join(dir, "landing"), datagen.Options{Orders: 300, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	broken := "-- name: gold.total_revenue\nSELECT sum(revenue) AS revenue, count(DISTINCT order_id) AS orders, count(*) AS items\nFROM silver.orders_items\nWHERE has_item AND\n"
	if err := os.WriteFile(filepath.Join(dir, "models", "gold", "total_revenue.sql"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := medallion(t, "run", "-C", dir)
	if code != 1 {
		t.Fatalf("run with a broken model: exit %d, want 1", code)
	}
	for _, w := range []string{"gold.total_revenue", filepath.ToSlash(filepath.Join("models", "gold", "total_revenue.sql")) + ":4:"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr does not name %s:\n%s", w, errOut)
		}
	}
	if strings.Contains(out, "revenue  orders") {
		t.Errorf("a failed run printed the summary:\n%s", out)
	}
	tables := mustRun(t, "tables", "-C", dir)
	if !strings.Contains(tables, "bronze.orders") || strings.Contains(tables, "silver.") || strings.Contains(tables, "gold.") {
		t.Errorf("after the failed run, tables lists:\n%s", tables)
	}
}

// TestCLIBuiltinProject: in a directory without medallion.yaml, run uses
// the built-in project with ./landing and ./lake.
func TestCLIBuiltinProject(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "generate", "--out", filepath.Join(dir, "landing"), "--orders", "300", "--seed", "9")
	t.Chdir(dir)
	out := mustRun(t, "run")
	if m := summaryLine.FindStringSubmatch(out); m == nil || m[1] != "47" {
		t.Errorf("run in a directory without %s printed:\n%s", pipeline.ConfigFile, out)
	}
	if _, err := os.Stat(filepath.Join(dir, pipeline.ConfigFile)); err == nil {
		t.Errorf("run wrote a %s", pipeline.ConfigFile)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "gold", "total_revenue", "_delta_log")); err != nil {
		t.Errorf("no gold table in ./lake: %v", err)
	}
	out = mustRun(t, "query", "--format", "csv", "SELECT count(*) AS n FROM silver.orders")
	if out != "n\n300\n" {
		t.Errorf("silver.orders: %q, want 300 rows", out)
	}
}

// landExtraOrders writes two new orders (copies of a landed order under new
// ids) into the folder of the first orders file in path order, beside that
// file, and returns the folder.
func landExtraOrders(t *testing.T, landing string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(landing, "orders", "order_year=*", "order_month=*", "*.csv"))
	if len(files) == 0 {
		t.Fatal("no orders files")
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) < 2 {
		t.Fatalf("%s: %v (%d records)", files[0], err, len(recs))
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(recs[0])
	for i, id := range []string{"fffffffffffffffffffffffffffffff1", "fffffffffffffffffffffffffffffff2"} {
		r := append([]string(nil), recs[1]...) // the month's first order, under a new id
		r[0] = id
		r[2] = []string{"delivered", "canceled"}[i]
		w.Write(r)
	}
	w.Flush()
	dir := filepath.Dir(files[0])
	if err := os.WriteFile(filepath.Join(dir, "olist_orders_dataset_late.csv"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCLIRunRefusals: a run that cannot start says why and what to do,
// and creates nothing: in an empty folder, and with an unknown --select
// name (for which it suggests the nearest tables).
func TestCLIRunRefusals(t *testing.T) {
	entries := func(dir string) []string {
		var names []string
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	empty := t.TempDir()
	withData := t.TempDir()
	mustRun(t, "generate", "--out", filepath.Join(withData, "landing"), "--orders", "50")
	for _, tc := range []struct {
		name string
		dir  string
		args []string
		want []string
	}{
		{"empty folder", empty, []string{"run"}, []string{"nothing to run in " + empty, "no files in " + filepath.Join(empty, "landing"), "medallion demo", "medallion generate --out landing"}},
		{"empty folder, unknown table", empty, []string{"run", "--select", "nonexistent.table"}, []string{`select "nonexistent.table": no source or model writes nonexistent.table`}},
		{"near name", withData, []string{"run", "--select", "gold.daily_revenu"}, []string{"did you mean gold.daily_revenue?"}},
		{"near name without layer", withData, []string{"run", "--select", "revenue_by_state+"}, []string{"did you mean gold.revenue_by_state?"}},
		{"negative parallelism", withData, []string{"run", "--parallelism", "-1"}, []string{"--parallelism -1: want 1 or more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := entries(tc.dir)
			code, _, errOut := medallion(t, append(tc.args, "-C", tc.dir)...)
			if code == 0 {
				t.Fatalf("exit 0, want a refusal")
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
			if strings.Contains(errOut, "Catalog Error") {
				t.Errorf("stderr shows a raw engine error: %q", errOut)
			}
			if after := entries(tc.dir); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("the refused run created files: %v, before %v", after, before)
			}
		})
	}
}
