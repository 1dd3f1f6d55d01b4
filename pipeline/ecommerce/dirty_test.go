package ecommerce_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// TestDirtyCountsReconcile generates dirty data (duplicates, NULL keys,
// malformed records, wrong types, re-landed orders), runs the built-in
// project once and checks that every row is accounted for:
//
//	landed records = bronze rows + duplicates collapsed + rows replaced   (per source)
//	bronze rows    = silver rows + quarantined + duplicates removed       (per keyed silver table)
//
// with the landed records counted independently from the CSV files, the
// bronze and silver rows counted with SQL, and the rest taken from the run
// report, which must also be persisted in medallion.runs.
func TestDirtyCountsReconcile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	landing := filepath.Join(dir, "landing")
	gen, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 3000, Seed: 11, Dirty: true})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Log: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if rep.Status != pipeline.StatusOK {
		t.Fatalf("run status %q: %s", rep.Status, rep.Error)
	}
	s := openSession(t, proj)

	// (a) bronze: landed = bronze rows + duplicates + replaced; malformed
	// records and wrong-typed values are kept in _rescued_data.
	for _, src := range proj.Sources {
		if fromClickstream(src.Table) {
			continue // datagen's batch output has no clickstream
		}
		t.Run("bronze/"+src.Name, func(t *testing.T) {
			gs, ok := gen.Source(src.Name)
			if !ok {
				t.Fatalf("datagen wrote no source %s", src.Name)
			}
			landed, files, unparsable := countRecords(t, filepath.Join(landing, filepath.FromSlash(src.Path)))
			if landed != int64(gs.Rows) || files != len(gs.Files) {
				t.Fatalf("CSV files hold %d records in %d files, datagen reports %d in %d", landed, files, gs.Rows, len(gs.Files))
			}
			tr := tableReport(t, rep, src.Table)
			if tr.Status != pipeline.StatusOK {
				t.Fatalf("%s: status %q (%s)", src.Table, tr.Status, tr.Error)
			}
			if tr.Files != files {
				t.Errorf("report: %d files read, want %d", tr.Files, files)
			}
			if tr.RowsIn != landed {
				t.Errorf("report: RowsIn %d, want the %d landed records", tr.RowsIn, landed)
			}
			bronze := queryInt(t, s, "SELECT count(*) FROM "+src.Table)
			if tr.RowsOut != bronze {
				t.Errorf("report: RowsOut %d, table has %d rows", tr.RowsOut, bronze)
			}
			if got := bronze + tr.Duplicates + tr.Replaced; got != landed {
				t.Errorf("bronze %d + duplicates %d + replaced %d = %d, want landed %d", bronze, tr.Duplicates, tr.Replaced, got, landed)
			}
			if src.Mode != pipeline.ModeUpsert && tr.Duplicates+tr.Replaced != 0 {
				t.Errorf("%s source reports %d duplicates and %d replaced", src.Mode, tr.Duplicates, tr.Replaced)
			}
			if src.Name == datagen.SourceOrders {
				// Exact copies and the first row of each re-landed order
				// are collapsed by the upsert; NULL-key copies and
				// malformed records (NULL key) are all kept.
				d := gs.Dirt
				if want := int64(d.Duplicates + d.Relanded); tr.Duplicates != want {
					t.Errorf("orders: %d duplicates collapsed, want %d (%d copies + %d re-landed)", tr.Duplicates, want, d.Duplicates, d.Relanded)
				}
				if n := queryInt(t, s, "SELECT count(*) FROM bronze.orders WHERE order_id IS NULL"); n != int64(d.NullKeys)+unparsable {
					t.Errorf("orders: %d rows without order_id, want %d NULL keys + %d unparsable", n, d.NullKeys, unparsable)
				}
			}

			// Records with the wrong number of fields cannot be parsed:
			// they are kept as _corrupt_record rows. (A quote inside an
			// unquoted field is read as a literal character, as DuckDB
			// and Spark read it; such records are ordinary rows.)
			corrupt := queryInt(t, s, "SELECT count(*) FROM "+src.Table+` WHERE _rescued_data LIKE '%"_corrupt_record"%'`)
			if corrupt != tr.Rejected || corrupt != unparsable || corrupt > int64(gs.Dirt.Malformed) {
				t.Errorf("%d rows hold a _corrupt_record, report rejected %d, %d records have the wrong number of fields, datagen malformed %d", corrupt, tr.Rejected, unparsable, gs.Dirt.Malformed)
			}
			checkCorruptRecords(t, s, src.Table, landing, src.Path)

			rescued := queryInt(t, s, "SELECT count(*) FROM "+src.Table+` WHERE _rescued_data IS NOT NULL AND _rescued_data NOT LIKE '%"_corrupt_record"%'`)
			if rescued != tr.Rescued {
				t.Errorf("%d rows hold rescued values, report says %d", rescued, tr.Rescued)
			}
			if cond, ok := wrongTyped[src.Name]; ok {
				n := queryInt(t, s, "SELECT count(*) FROM "+src.Table+" WHERE "+cond)
				if n != int64(gs.Dirt.WrongTypes) || n == 0 || n != rescued {
					t.Errorf("%d rows rescue a wrong-typed value (%s); datagen wrote %d, %d rows hold rescued values", n, cond, gs.Dirt.WrongTypes, rescued)
				}
			} else if rescued != 0 {
				t.Errorf("%d rows hold rescued values, datagen wrote no wrong types", rescued)
			}
		})
	}

	// (b) silver: bronze rows = silver rows + quarantined + duplicates.
	for _, m := range proj.Models {
		if len(m.Keys) == 0 || m.Materialized != pipeline.Table || pipeline.Layer(m.Name) != "silver" || m.CDC != nil {
			continue // CDC tables hold histories, not a row per bronze row (pipeline/cdc_test.go)
		}
		t.Run(m.Name, func(t *testing.T) {
			if len(m.Deps) != 1 || pipeline.Layer(m.Deps[0]) != "bronze" {
				t.Fatalf("%s reads %v, want one bronze table", m.Name, m.Deps)
			}
			tr := tableReport(t, rep, m.Name)
			if tr.Status != pipeline.StatusOK {
				t.Fatalf("%s: status %q (%s)", m.Name, tr.Status, tr.Error)
			}
			bronze := queryInt(t, s, "SELECT count(*) FROM "+m.Deps[0])
			silver := queryInt(t, s, "SELECT count(*) FROM "+m.Name)
			quarantined := int64(0)
			if tableExists(t, s, pipeline.QuarantineTable(m.Name)) {
				quarantined = queryInt(t, s, "SELECT count(*) FROM "+pipeline.QuarantineTable(m.Name))
				if n := queryInt(t, s, "SELECT count(*) FROM "+pipeline.QuarantineTable(m.Name)+" WHERE _quarantine_rule <> 'keys_not_null' OR _quarantine_batch <> '"+rep.RunID+"'"); n != 0 {
					t.Errorf("%d quarantined rows with another rule or batch", n)
				}
			}
			if tr.Quarantined != quarantined {
				t.Errorf("report: %d quarantined, the quarantine table has %d rows", tr.Quarantined, quarantined)
			}
			if tr.RowsIn != bronze {
				t.Errorf("report: RowsIn %d, want the %d bronze rows", tr.RowsIn, bronze)
			}
			if tr.RowsOut != silver {
				t.Errorf("report: RowsOut %d, table has %d rows", tr.RowsOut, silver)
			}
			if tr.Dropped != 0 {
				t.Errorf("report: %d dropped, the project has no drop expectations", tr.Dropped)
			}
			if got := silver + quarantined + tr.Duplicates; got != bronze {
				t.Errorf("silver %d + quarantined %d + duplicates %d = %d, want bronze %d", silver, quarantined, tr.Duplicates, got, bronze)
			}
			keys := strings.Join(m.Keys, ", ")
			if n := queryInt(t, s, "SELECT count(*) FROM (SELECT "+keys+" FROM "+m.Name+" GROUP BY ALL HAVING count(*) > 1)"); n != 0 {
				t.Errorf("%d keys appear more than once", n)
			}
		})
	}
	// Rows without a key are quarantined, not lost: orders' NULL-key copies
	// and malformed records; items' likewise; payments' NULL-key copies.
	for src, table := range map[string]string{"orders": "silver.orders", "order_items": "silver.order_items", "payments": "silver.payments"} {
		gs, _ := gen.Source(src)
		_, _, unparsable := countRecords(t, filepath.Join(landing, src))
		want := int64(gs.Dirt.NullKeys) + unparsable
		if got := tableReport(t, rep, table).Quarantined; got != want || want == 0 {
			t.Errorf("%s: %d quarantined, want %d (NULL keys %d + unparsable %d)", table, got, want, gs.Dirt.NullKeys, unparsable)
		}
	}
	// Re-landed orders end with their final state, the later row.
	if n := queryInt(t, s, "SELECT count(*) FROM silver.orders WHERE _source_file NOT LIKE "+
		"'orders/order_year=' || order_year || '/order_month=' || order_month || '/%'"); n != int64(gen.Dirt().Relanded) {
		t.Errorf("%d silver orders come from a file of a later month, want the %d re-landed ones", n, gen.Dirt().Relanded)
	}

	// (c) no table fails; the gold tables are those of the independent
	// computation; the report is in medallion.runs.
	for _, tr := range rep.Tables {
		if tr.Status != pipeline.StatusOK && !fromClickstream(tr.Table) {
			t.Errorf("%s: status %q (%s)", tr.Table, tr.Status, tr.Error)
		}
	}
	for _, name := range goldref.Names {
		if tr := tableReport(t, rep, name); tr.RowsOut == 0 {
			t.Errorf("%s: no rows", name)
		}
	}
	checkGold(t, s, landing)
	checkRunsTable(t, s, rep)

	// (d) A later file re-lands 20 orders as canceled, one of them twice:
	// the upsert replaces 20 rows and collapses 1 duplicate, and the counts
	// still add up over both runs.
	first := tableReport(t, rep, "bronze.orders")
	res, err := s.Query(ctx, "SELECT order_id, customer_id, strftime(order_purchase_timestamp AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') "+
		"FROM silver.orders WHERE order_status = 'delivered' ORDER BY order_id LIMIT 20")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 20 {
		t.Fatalf("%d delivered orders, want 20", len(res.Rows))
	}
	orders, _ := gen.Source(datagen.SourceOrders)
	last := orders.Files[len(orders.Files)-1].Path // the last month's file
	w := createCSVFile(t, filepath.Join(landing, filepath.FromSlash(strings.TrimSuffix(last, ".csv")+"_update.csv")),
		"order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_approved_at",
		"order_delivered_carrier_date", "order_delivered_customer_date", "order_estimated_delivery_date")
	var ids []string
	for i, r := range res.Rows {
		row := []string{r[0].(string), r[1].(string), "canceled", r[2].(string), "", "", "", ""}
		w.Write(row)
		if i == 0 {
			w.Write(row) // an exact copy in the same file
		}
		ids = append(ids, r[0].(string))
	}
	w.close()
	rep2, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Log: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	second := tableReport(t, rep2, "bronze.orders")
	if second.RowsIn != 21 || second.Files != 1 || second.Duplicates != 1 || second.Replaced != 20 || second.RowsOut != 0 {
		t.Errorf("bronze.orders, second run: in %d, files %d, duplicates %d, replaced %d, new rows %d; want 21, 1, 1, 20, 0",
			second.RowsIn, second.Files, second.Duplicates, second.Replaced, second.RowsOut)
	}
	s2 := openSession(t, proj)
	landed, _, _ := countRecords(t, filepath.Join(landing, "orders"))
	bronze := queryInt(t, s2, "SELECT count(*) FROM bronze.orders")
	if got := bronze + first.Duplicates + first.Replaced + second.Duplicates + second.Replaced; got != landed {
		t.Errorf("over both runs: bronze %d + duplicates %d+%d + replaced %d+%d = %d, want landed %d",
			bronze, first.Duplicates, second.Duplicates, first.Replaced, second.Replaced, got, landed)
	}
	in := "('" + strings.Join(ids, "', '") + "')"
	if n := queryInt(t, s2, "SELECT count(*) FROM bronze.orders WHERE order_status = 'canceled' AND order_id IN "+in); n != 20 {
		t.Errorf("bronze.orders: %d of the 20 re-landed orders are canceled", n)
	}
	if n := queryInt(t, s2, "SELECT count(*) FROM silver.orders WHERE order_status = 'canceled' AND order_delivered_customer_date IS NULL AND order_id IN "+in); n != 20 {
		t.Errorf("silver.orders: %d of the 20 re-landed orders are canceled", n)
	}
	if before, after := queryInt(t, s, "SELECT count(*) FROM silver.orders"), queryInt(t, s2, "SELECT count(*) FROM silver.orders"); before != after {
		t.Errorf("silver.orders: %d rows → %d; re-landed orders replace theirs", before, after)
	}
	checkRunsTable(t, s2, rep2)
}

// wrongTyped are, per source, the condition on _rescued_data that matches
// the wrong-typed values datagen writes there.
var wrongTyped = map[string]string{
	datagen.SourceOrders: "json_extract_string(_rescued_data, '$.order_approved_at') = 'not-a-date' OR " +
		"json_extract_string(_rescued_data, '$.order_estimated_delivery_date') = 'not-a-date'",
	datagen.SourceOrderItems: "json_extract_string(_rescued_data, '$.price') = 'abc'",
	datagen.SourceReviews:    "json_extract_string(_rescued_data, '$.review_score') IN ('zero', 'one', 'two', 'three', 'four', 'five')",
}

// checkCorruptRecords checks that each malformed record kept in bronze has
// its raw text, error and line: the raw text is that line of the file.
func checkCorruptRecords(t *testing.T, s *pipeline.Session, table, landing, srcPath string) {
	t.Helper()
	res, err := s.Query(t.Context(), "SELECT _source_file, _rescued_data FROM "+table+` WHERE _rescued_data LIKE '%"_corrupt_record"%'`)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string][]string{}
	for _, r := range res.Rows {
		file, _ := r[0].(string)
		var rec struct {
			Raw   string `json:"_corrupt_record"`
			Error string `json:"_error"`
			Line  int    `json:"_line"`
		}
		if err := json.Unmarshal([]byte(r[1].(string)), &rec); err != nil {
			t.Errorf("%s: _rescued_data %q is not JSON: %v", file, r[1], err)
			continue
		}
		if rec.Raw == "" || rec.Error == "" || rec.Line <= 1 {
			t.Errorf("%s: incomplete corrupt record %+v", file, rec)
			continue
		}
		if !strings.HasPrefix(file, srcPath+"/") {
			t.Errorf("_source_file %q is not under %s/", file, srcPath)
			continue
		}
		if _, ok := lines[file]; !ok {
			b, err := os.ReadFile(filepath.Join(landing, filepath.FromSlash(file)))
			if err != nil {
				t.Fatal(err)
			}
			lines[file] = strings.Split(string(b), "\n")
		}
		ls := lines[file]
		if rec.Line > len(ls) || strings.TrimRight(ls[rec.Line-1], "\r") != rec.Raw {
			got := "(past the end)"
			if rec.Line <= len(ls) {
				got = ls[rec.Line-1]
			}
			t.Errorf("%s line %d is %q, the corrupt record says %q", file, rec.Line, got, rec.Raw)
		}
	}
}

// countRecords counts the data records (header excluded) of the CSV files
// under dir, malformed ones included, with a lenient reader, and how many of
// them have a different number of fields than the header (unparsable).
func countRecords(t *testing.T, dir string) (records int64, files int, unparsable int64) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".csv") {
			return err
		}
		files++
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		r := csv.NewReader(bufio.NewReader(f))
		r.LazyQuotes = true
		r.FieldsPerRecord = -1
		width := 0
		for n := 0; ; n++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if n == 0 {
				width = len(rec)
				continue
			}
			records++
			if len(rec) != width {
				unparsable++
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return records, files, unparsable
}

// checkRunsTable checks that the run's report is in medallion.runs, one row
// per table with the report's numbers.
func checkRunsTable(t *testing.T, s *pipeline.Session, rep *pipeline.Report) {
	t.Helper()
	res, err := s.Query(t.Context(), "SELECT table_name, kind, status, rows_in, rows_out, quarantined, dropped, duplicates, replaced, rescued, rejected, files, version, run_status "+
		"FROM medallion.runs WHERE run_id = '"+rep.RunID+"'")
	if err != nil {
		t.Fatal(err)
	}
	logged := 0
	for _, tr := range rep.Tables {
		if tr.Logged() {
			logged++
		}
	}
	if len(res.Rows) != logged {
		t.Fatalf("medallion.runs has %d rows for run %s, the report %d tables that ran", len(res.Rows), rep.RunID, logged)
	}
	byTable := map[string][]any{}
	for _, r := range res.Rows {
		byTable[r[0].(string)] = r
	}
	for _, tr := range rep.Tables {
		r, ok := byTable[tr.Table]
		if ok != tr.Logged() {
			t.Errorf("medallion.runs: %s (%s, %s) has a row: %v, want %v", tr.Table, tr.Kind, tr.Status, ok, tr.Logged())
			continue
		}
		if !ok { // not logged: up to date, or a view
			continue
		}
		want := []any{tr.Table, tr.Kind, tr.Status, tr.RowsIn, tr.RowsOut, tr.Quarantined, tr.Dropped, tr.Duplicates, tr.Replaced, tr.Rescued, tr.Rejected, int64(tr.Files), tr.Version, rep.Status}
		if fmt.Sprint(r) != fmt.Sprint(want) {
			t.Errorf("medallion.runs row %v, report %v", r, want)
		}
	}
}

// Helpers shared by the tests of this package's dirty, fixture and
// incremental runs.

// openSession opens a read-only session over the project's lake, closed at
// the end of the test.
func openSession(t *testing.T, proj *pipeline.Project) *pipeline.Session {
	t.Helper()
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// queryInt runs a query returning one integer.
func queryInt(t *testing.T, s *pipeline.Session, sql string) int64 {
	t.Helper()
	res, err := s.Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("%s: want one value, got %v", sql, res.Rows)
	}
	switch v := res.Rows[0][0].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case uint64:
		return int64(v)
	case nil:
		return 0
	default:
		t.Fatalf("%s: value %v is a %T, not an integer", sql, v, v)
	}
	return 0
}

// tableExists reports whether the lake has the table.
func tableExists(t *testing.T, s *pipeline.Session, name string) bool {
	t.Helper()
	snap, err := s.Lake().Snapshot(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return snap != nil
}

// tableReport returns the run report's entry for table.
func tableReport(t *testing.T, rep *pipeline.Report, table string) *pipeline.TableReport {
	t.Helper()
	for _, tr := range rep.Tables {
		if tr.Table == table {
			return tr
		}
	}
	t.Fatalf("the run report has no entry for %s", table)
	return nil
}

// goldTable reads a table through the session as a goldref table.
func goldTable(t *testing.T, s *pipeline.Session, name string) *goldref.Table {
	t.Helper()
	res, err := s.Query(t.Context(), "SELECT * FROM "+name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := &goldref.Table{Name: name, Rows: res.Rows}
	for _, c := range res.Columns {
		out.Columns = append(out.Columns, c.Name)
	}
	return out
}

// checkGold compares all 18 gold tables with goldref's computation over
// the landing directory.
func checkGold(t *testing.T, s *pipeline.Session, landing string) {
	t.Helper()
	want, err := goldref.Compute(t.Context(), landing, goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Concat(goldref.Names, goldref.Breakdowns) {
		if d := goldref.Diff(want[name], goldTable(t, s, name)); d != "" {
			t.Errorf("%s differs from goldref.Compute:\n%s", name, d)
		}
	}
}

// fromClickstream reports whether a table of the built-in project is fed by
// the clickstream source, which batch-generated landing zones do not have:
// its bronze table stays empty (up-to-date) and its window models wait.
func fromClickstream(table string) bool {
	switch table {
	case "bronze.clickstream", "gold.clickstream_events_1m", "gold.clickstream_conversion_1m", "gold.active_sessions_5m", "gold.clickstream_late_events",
		"gold.clickstream_conversion_1m_late", "gold.active_sessions_5m_late":
		return true
	}
	return false
}
