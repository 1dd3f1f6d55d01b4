package pipeline_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

// writeProject writes files (path → content) under a fresh directory and
// loads the project there.
func writeProject(t *testing.T, files map[string]string) (string, *pipeline.Project) {
	t.Helper()
	dir := t.TempDir()
	addFiles(t, dir, files)
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, proj
}

func addFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func query(t *testing.T, proj *pipeline.Project, sql string) [][]any {
	t.Helper()
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Query(t.Context(), sql)
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows
}

func tableReport(rep *pipeline.Report, table string) *pipeline.TableReport {
	for _, t := range rep.Tables {
		if t.Table == table {
			return t
		}
	}
	return nil
}

const shopConfig = `
name: shop
sources:
  items:
    keys: [sku]
    schema: {qty: long, price: double}
`

func TestExpectationActions(t *testing.T) {
	model := `-- name: silver.items
-- keys: [sku]
-- expectations:
--   - {name: expensive, expr: "price < 100", action: warn}
--   - {name: positive_qty, expr: "qty > 0", action: drop}
--   - {name: has_price, expr: "price IS NOT NULL", action: quarantine}
SELECT sku, qty, price, _ingested_at, _seq FROM bronze.items
`
	gold := `-- name: gold.stock
SELECT count(*) AS skus, sum(qty) AS qty FROM silver.items
`
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      shopConfig,
		"models/silver.sql":   model,
		"models/gold.sql":     gold,
		"landing/items/a.csv": "sku,qty,price\na,1,10\nb,0,20\nc,2,\nd,3,150\n,4,5\na,5,11\n",
	})
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr := tableReport(rep, "silver.items")
	// 6 rows: the NULL sku and c (no price) are quarantined, b (qty 0) is
	// dropped, a appears twice (the later row wins), d is kept with a warning.
	if tr.RowsIn != 6 || tr.Quarantined != 2 || tr.Dropped != 1 || tr.Duplicates != 1 || tr.RowsOut != 2 {
		t.Fatalf("report: in %d quarantined %d dropped %d duplicates %d out %d", tr.RowsIn, tr.Quarantined, tr.Dropped, tr.Duplicates, tr.RowsOut)
	}
	failed := map[string]int64{}
	for _, e := range tr.Expectations {
		failed[e.Name] = e.Failed
	}
	// expensive: d (150) and c (NULL price: a rule that is not true fails).
	if failed["expensive"] != 2 || failed["positive_qty"] != 1 || failed["has_price"] != 1 || failed["keys_not_null"] != 1 {
		t.Fatalf("expectation counts: %v", failed)
	}
	rows := query(t, proj, "SELECT sku, qty FROM silver.items ORDER BY sku")
	if len(rows) != 2 || rows[0][0] != "a" || rows[0][1] != int64(5) || rows[1][0] != "d" {
		t.Fatalf("silver rows: %v", rows)
	}
	q := query(t, proj, "SELECT coalesce(sku, '<null>'), _quarantine_rule, _quarantine_batch = '"+rep.RunID+"' FROM silver.items_quarantine ORDER BY 1")
	if len(q) != 2 || q[0][0] != "<null>" || q[0][1] != "keys_not_null" || q[1][0] != "c" || q[1][1] != "has_price" || q[1][2] != true {
		t.Fatalf("quarantine rows: %v", q)
	}
	// Runs are persisted.
	runs := query(t, proj, "SELECT count(*) FROM medallion.runs WHERE run_id = '"+rep.RunID+"' AND table_name = 'silver.items' AND quarantined = 2")
	if runs[0][0] != int64(1) {
		t.Fatalf("medallion.runs: %v", runs)
	}
}

func TestFailExpectationStopsTheModelAndItsDownstream(t *testing.T) {
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": shopConfig,
		"models/silver.sql": `-- name: silver.items
-- expectations:
--   - {name: cheap, expr: "price < 100", action: fail}
SELECT sku, qty, price FROM bronze.items
`,
		"models/gold.sql":     "-- name: gold.stock\nSELECT count(*) AS n FROM silver.items\n",
		"landing/items/a.csv": "sku,qty,price\na,1,10\nd,3,150\n",
	})
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err == nil {
		t.Fatal("run succeeded; want the fail expectation to stop it")
	}
	for _, s := range []string{"silver.items", "models/silver.sql", `"cheap"`, "1 rows", "sku=d"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if s := tableReport(rep, "gold.stock").Status; s != pipeline.StatusSkipped {
		t.Fatalf("downstream status %q, want skipped", s)
	}
	if s := tableReport(rep, "bronze.items").Status; s != pipeline.StatusOK {
		t.Fatalf("bronze status %q, want ok", s)
	}
}

func TestSchemaEvolutionAndRescue(t *testing.T) {
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":       "name: evo\nsources:\n  events: {}\n",
		"landing/events/1.csv": "id,amount\n1,10.5\n2,11\n",
	})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	addFiles(t, dir, map[string]string{"landing/events/2.csv": "id,amount,channel\n3,abc,web\n4,12,app\n"})
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableReport(rep, "bronze.events"); tr.RowsIn != 2 || tr.Rescued != 1 || tr.Version != 2 {
		t.Fatalf("second ingest: %+v", tr)
	}
	rows := query(t, proj, "SELECT id, amount, channel, _rescued_data, _source_file FROM bronze.events ORDER BY id")
	if len(rows) != 4 {
		t.Fatalf("rows: %v", rows)
	}
	if rows[0][2] != nil || rows[2][1] != nil || rows[2][2] != "web" || rows[2][3] != `{"amount":"abc"}` || rows[3][4] != "events/2.csv" {
		t.Fatalf("evolved rows: %v", rows)
	}
	// No rewrite: the first file's data is still the file added at version 1.
	hist := query(t, proj, "SELECT count(*) FROM bronze.events WHERE _source_file = 'events/1.csv'")
	if hist[0][0] != int64(2) {
		t.Fatalf("old rows: %v", hist)
	}
	types := query(t, proj, "SELECT column_name, column_type FROM (DESCRIBE bronze.events) WHERE column_name IN ('id', 'amount', 'channel') ORDER BY column_name")
	if types[0][1] != "DOUBLE" || types[1][1] != "VARCHAR" || types[2][1] != "BIGINT" {
		t.Fatalf("types: %v", types)
	}
}

func TestJSONSourceKeepsBadLines(t *testing.T) {
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":         "name: js\nsources:\n  clicks: {format: json}\n",
		"landing/clicks/a.jsonl": "{\"id\": 1, \"page\": \"/a\"}\nnot json at all\n{\"id\": 2, \"page\": \"/b\", \"ref\": \"x\"}\n",
	})
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableReport(rep, "bronze.clicks"); tr.RowsIn != 3 || tr.Rejected != 1 || tr.RowsOut != 3 {
		t.Fatalf("report: %+v", tr)
	}
	rows := query(t, proj, "SELECT id, page, ref, _rescued_data LIKE '%not json at all%' FROM bronze.clicks ORDER BY id NULLS LAST")
	if len(rows) != 3 || rows[0][0] != int64(1) || rows[1][2] != "x" || rows[2][0] != nil || rows[2][3] != true {
		t.Fatalf("rows: %v", rows)
	}
}

// TestExactlyOnceWhenRunsAreInterrupted cancels runs at many points and
// then lets one finish: every landed row is in bronze exactly once.
func TestExactlyOnceWhenRunsAreInterrupted(t *testing.T) {
	files := map[string]string{"medallion.yaml": "name: once\nsources:\n  rows: {}\n"}
	var sb strings.Builder
	for f := range 20 {
		sb.Reset()
		sb.WriteString("id,v\n")
		for i := range 50 {
			sb.WriteString(itoa(f*1000+i) + ",1\n")
		}
		files["landing/rows/part-"+itoa(f)+".csv"] = sb.String()
	}
	_, proj := writeProject(t, files)
	interrupted := 0
	for i := range 12 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(1+i*7)*time.Millisecond)
		_, err := pipeline.Run(ctx, proj, pipeline.RunOptions{})
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "context deadline exceeded") && !strings.Contains(err.Error(), "INTERRUPT") && !strings.Contains(strings.ToLower(err.Error()), "interrupt") {
				t.Fatalf("run %d: unexpected error: %v", i, err)
			}
			interrupted++
		}
	}
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	rows := query(t, proj, "SELECT count(*), count(DISTINCT id) FROM bronze.rows")
	if rows[0][0] != int64(1000) || rows[0][1] != int64(1000) {
		t.Fatalf("bronze has %v rows (%v distinct), want 1000 once each (after %d interrupted runs)", rows[0][0], rows[0][1], interrupted)
	}
	t.Logf("%d of 12 runs were interrupted", interrupted)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestIncrementalListing resumes the landing listing after the newest file
// ingested: files whose names grow are all picked up, one that sorts before
// is (by design, as documented) not.
func TestIncrementalListing(t *testing.T) {
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":         "name: l\nsources:\n  logs: {listing: incremental}\n",
		"landing/logs/f-001.csv": "id\n1\n",
		"landing/logs/f-002.csv": "id\n2\n",
	})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	addFiles(t, dir, map[string]string{"landing/logs/f-003.csv": "id\n3\n", "landing/logs/f-000.csv": "id\n0\n"})
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableReport(rep, "bronze.logs"); tr.Files != 1 || tr.RowsIn != 1 {
		t.Fatalf("second run read %d files, %d rows; want only f-003", tr.Files, tr.RowsIn)
	}
	rows := query(t, proj, "SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM bronze.logs")
	if rows[0][0] != "1,2,3" {
		t.Fatalf("ids %v, want 1,2,3", rows[0][0])
	}
}

func TestSelectors(t *testing.T) {
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      shopConfig,
		"models/silver.sql":   "-- name: silver.items\n-- keys: [sku]\nSELECT sku, qty, price, _ingested_at, _seq FROM bronze.items\n",
		"models/gold.sql":     "-- name: gold.stock\nSELECT count(*) AS n FROM silver.items\n",
		"models/gold2.sql":    "-- name: gold.value\nSELECT sum(price) AS v FROM silver.items\n",
		"landing/items/a.csv": "sku,qty,price\na,1,10\n",
	})
	tests := []struct {
		sel  []string
		want []string
	}{
		{[]string{"bronze.items"}, []string{"bronze.items"}},
		{[]string{"silver.items+"}, []string{"gold.stock", "gold.value", "silver.items"}},
		{[]string{"+gold.stock"}, []string{"bronze.items", "gold.stock", "silver.items"}},
		{[]string{"gold.value", "gold.stock"}, []string{"gold.stock", "gold.value"}},
	}
	for _, tc := range tests {
		got, err := proj.Selection(tc.sel)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range got {
			names = append(names, n)
		}
		slices.Sort(names)
		if !slices.Equal(names, tc.want) {
			t.Errorf("Selection(%v) = %v, want %v", tc.sel, names, tc.want)
		}
	}
	// An unknown table is named, with the nearest tables when some are near.
	for _, tc := range []struct{ sel, want string }{
		{"gold.nope+", `select "gold.nope+": no source or model writes gold.nope`},
		{"gold.stok", "(did you mean gold.stock?)"},
		{"+silver.item", "(did you mean silver.items?)"},
		{"stock", "(did you mean gold.stock?)"},
		{"gold.valeu", "(did you mean gold.value?)"},
		{"bronze.itemz", "(did you mean bronze.items?)"},
		{"gold.stockk", "(did you mean gold.stock?)"},
	} {
		_, err := proj.Selection([]string{tc.sel})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Selection(%q): %v, want it to say %q", tc.sel, err, tc.want)
		}
	}
	if _, err := proj.Selection([]string{"nonexistent.table"}); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a name near nothing: %v, want no suggestion", err)
	}
	// A run of +gold.stock leaves gold.value alone.
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Select: []string{"+gold.stock"}})
	if err != nil {
		t.Fatal(err)
	}
	if tableReport(rep, "gold.value") != nil || tableReport(rep, "gold.stock").Status != pipeline.StatusOK {
		t.Fatalf("selected run: %+v", rep.Tables)
	}
}

// TestBronzeRowsKeepTheirLandingFile lands batches of a few files and of
// more files than typed bronze maps with a CASE (it joins then): every row
// must carry the landing key of the file it came from, and its line number.
func TestBronzeRowsKeepTheirLandingFile(t *testing.T) {
	for _, n := range []int{1, 3, 64, 65, 150} {
		t.Run(itoa(n), func(t *testing.T) {
			files := map[string]string{"medallion.yaml": "name: f\nsources:\n  logs: {}\n"}
			for i := range n {
				files["landing/logs/day="+itoa(i%7)+"/f-"+itoa(i)+".csv"] = "id,line\n" + itoa(i) + ",1\n" + itoa(i) + ",2\n"
			}
			_, proj := writeProject(t, files)
			rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tr := tableReport(rep, "bronze.logs"); tr.Files != n || tr.RowsIn != int64(2*n) {
				t.Fatalf("read %d files, %d rows; want %d, %d", tr.Files, tr.RowsIn, n, 2*n)
			}
			rows := query(t, proj, "SELECT count(*), count(*) FILTER (WHERE _source_file = 'logs/day=' || (id % 7)::VARCHAR || '/f-' || id::VARCHAR || '.csv'), count(DISTINCT _source_file) FROM bronze.logs")
			if got := rows[0]; got[0] != int64(2*n) || got[1] != int64(2*n) || got[2] != int64(n) {
				t.Fatalf("rows, rows with their own file's key, distinct files = %v, want %d, %d, %d", got, 2*n, 2*n, n)
			}
		})
	}
}

// TestQuarantineHoldsEachFailingRowOnce: a model recomputed run after run
// (a whole recompute, or --full-refresh of an incremental one) meets the
// failing rows of earlier runs again; the quarantine table keeps each
// failing row once — a row that really landed twice twice — while an
// incremental model quarantines only the rows new to the run.
func TestQuarantineHoldsEachFailingRowOnce(t *testing.T) {
	const config = `
name: shop
sources:
  items:
    schema: {qty: long, price: double}
`
	const rule = `-- expectations:
--   - {name: has_price, expr: "price IS NOT NULL", action: quarantine}
`
	cases := []struct {
		name  string
		model string
	}{
		{"recomputed whole", "-- name: silver.items\n" + rule + "SELECT sku, qty, price, _ingested_at, _seq FROM bronze.items\n"},
		{"recomputed whole without lineage columns", "-- name: silver.items\n" + rule + "SELECT sku, qty, price FROM bronze.items\n"},
		{"incremental", "-- name: silver.items\n-- incremental: bronze.items\n-- keys: [sku, qty]\n" + rule + "SELECT sku, qty, price, _ingested_at, _seq FROM bronze.items\n"},
	}
	// Each step lands a file (or runs --full-refresh) and expects the
	// quarantine table to hold these rows: sku → copies.
	steps := []struct {
		file, csv string
		full      bool
		want      map[string]int64
		report    int64 // the run's quarantined count for a recomputed model
	}{
		{file: "a.csv", csv: "sku,qty,price\na,1,10\nx,1,\nx,1,\ny,2,\n", want: map[string]int64{"x": 2, "y": 1}, report: 3},
		{file: "b.csv", csv: "sku,qty,price\nb,1,10\n", want: map[string]int64{"x": 2, "y": 1}, report: 3},
		{file: "c.csv", csv: "sku,qty,price\nx,1,\nz,3,\n", want: map[string]int64{"x": 3, "y": 1, "z": 1}, report: 5},
		{full: true, want: map[string]int64{"x": 3, "y": 1, "z": 1}, report: 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, proj := writeProject(t, map[string]string{"medallion.yaml": config, "models/silver.sql": tc.model})
			for i, st := range steps {
				if st.file != "" {
					addFiles(t, dir, map[string]string{"landing/items/" + st.file: st.csv})
				}
				rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{FullRefresh: st.full})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]int64{}
				for _, r := range query(t, proj, "SELECT sku, count(*) FROM silver.items_quarantine GROUP BY sku") {
					got[r[0].(string)] = r[1].(int64)
				}
				if !maps.Equal(got, st.want) {
					t.Fatalf("step %d: quarantine holds %v, want %v", i+1, got, st.want)
				}
				tr := tableReport(rep, "silver.items")
				want := st.report
				if tc.name == "incremental" && !st.full {
					want = map[int]int64{0: 3, 1: 0, 2: 2}[i] // the new rows only
				}
				if tr == nil || tr.Quarantined != want {
					t.Fatalf("step %d: run reports %+v quarantined, want %d", i+1, tr, want)
				}
			}
		})
	}
}
