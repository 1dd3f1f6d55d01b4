package duckdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/storage"
)

func open(t *testing.T) *duckdb.Engine {
	t.Helper()
	e, err := duckdb.Open(t.Context(), &duckdb.Options{MemoryLimit: "1GB", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newTable(t *testing.T, ctx context.Context) *delta.Table {
	t.Helper()
	store, err := storage.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := delta.OpenTable(ctx, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// TestWriteBindRoundTrip writes a partitioned query result as a Delta
// table, binds it back and reads it, and checks that delta's own reader
// sees the same rows.
func TestWriteBindRoundTrip(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	tbl := newTable(t, ctx)
	q := `SELECT i AS id, 'n' || i AS name, TIMESTAMP '2017-03-01 10:00:00' + INTERVAL (i) DAY AS ts,
	        CAST(2017 + i % 2 AS INTEGER) AS yr, CASE WHEN i = 3 THEN NULL ELSE i % 2 = 0 END AS even,
	        CAST(i * 1.5 AS DECIMAL(10,2)) AS price
	      FROM range(5) r(i)`
	res, err := e.Write(ctx, q, engine.Target{Store: tbl.Store(), PartitionColumns: []string{"yr", "even"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 5 || len(res.Adds) != 3 {
		t.Fatalf("got %d rows in %d files, want 5 in 3 (yr×even partitions)", res.Rows, len(res.Adds))
	}
	wantTypes := map[string]string{"id": "long", "name": "string", "ts": "timestamp", "yr": "integer", "even": "boolean", "price": "decimal(10,2)"}
	for _, f := range res.Schema.Fields {
		if f.Type.String() != wantTypes[f.Name] {
			t.Errorf("column %s: type %s, want %s", f.Name, f.Type, wantTypes[f.Name])
		}
	}
	if _, err := tbl.Create(ctx, res.Schema, &delta.CreateOptions{PartitionColumns: []string{"yr", "even"}}); err != nil {
		t.Fatal(err)
	}
	cr, err := tbl.Append(ctx, res.Adds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(ctx, "silver.t", cr.Snapshot, nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.Query(ctx, `SELECT id, name, strftime(ts, '%Y-%m-%d %H:%M'), yr, even, price FROM silver.t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range got.Rows {
		lines = append(lines, strings.TrimSpace(strings.ReplaceAll(strings.Trim(fmtRow(r), "[]"), "<nil>", "NULL")))
	}
	want := []string{
		"0 n0 2017-03-01 10:00 2017 true 0.00",
		"1 n1 2017-03-02 10:00 2018 false 1.50",
		"2 n2 2017-03-03 10:00 2017 true 3.00",
		"3 n3 2017-03-04 10:00 2018 NULL 4.50",
		"4 n4 2017-03-05 10:00 2017 true 6.00",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("engine read back\n%q\nwant\n%q", lines, want)
	}
	// The files are ordinary Delta data: delta's own reader agrees.
	rows, err := cr.Snapshot.ReadRows(ctx)
	if err != nil || len(rows) != 5 {
		t.Fatalf("delta reader: %d rows, %v", len(rows), err)
	}
	// Stats carry min/max for a data column.
	st, err := delta.ParseStats(cr.Snapshot.Files()[0].Stats)
	if err != nil || st.NumRecords == 0 || st.MinValues["id"] == nil {
		t.Fatalf("stats: %+v %v", st, err)
	}
}

func fmtRow(r []any) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = strings.TrimSpace(strings.ReplaceAll(fmtAny(v), "\n", " "))
	}
	return strings.Join(parts, " ")
}

func fmtAny(v any) string {
	if v == nil {
		return "<nil>"
	}
	return strings.TrimSpace(strings.Trim(strings.ReplaceAll(strings.ReplaceAll(sprint(v), "[", ""), "]", ""), " "))
}

func TestWriteToExistingSchemaCastsAndRejectsUnknownColumns(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	tbl := newTable(t, ctx)
	schema := &delta.StructType{Fields: []delta.StructField{
		{Name: "id", Type: delta.Primitive(delta.TypeLong), Nullable: true},
		{Name: "missing", Type: delta.Primitive(delta.TypeString), Nullable: true},
	}}
	res, err := e.Write(ctx, "SELECT 1::INTEGER AS id", engine.Target{Store: tbl.Store(), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if res.Schema != schema || res.Rows != 1 {
		t.Fatalf("got %+v", res)
	}
	_, err = e.Write(ctx, "SELECT 1 AS id, 2 AS surprise", engine.Target{Store: tbl.Store(), Schema: schema})
	if err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Fatalf("unknown column: got %v", err)
	}
}

func TestLoadCSVKeepsRejects(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	files := []string{filepath.Join("testdata", "dirty.csv"), filepath.Join("testdata", "more.csv")}
	res, err := e.Load(ctx, engine.Source{Format: engine.CSV, Objects: localObjects(files...)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Columns, []string{"id", "name", "note", "extra"}) {
		t.Fatalf("columns %v", res.Columns)
	}
	got, err := e.Query(ctx, "SELECT id, name, note FROM "+res.Relation.Name+" WHERE id IN ('1','2','4') ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 3 || got.Rows[0][1] != "são paulo" || got.Rows[0][2] != "multi\nline, with comma" {
		t.Fatalf("rows %v", got.Rows)
	}
	if res.Rows+int64(len(res.Rejects)) != 5 {
		t.Fatalf("loaded %d rows and %d rejects, want 5 records in all: %+v", res.Rows, len(res.Rejects), res.Rejects)
	}
	for _, r := range res.Rejects {
		if r.File == "" || r.Line == 0 || r.Error == "" {
			t.Fatalf("reject lacks file, line or error: %+v", r)
		}
	}
}

func TestLoadJSONLines(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	res, err := e.Load(ctx, engine.Source{Format: engine.JSON, Objects: localObjects(filepath.Join("testdata", "events.jsonl"))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 || len(res.Rejects) != 1 || res.Rejects[0].Raw != "not json" || res.Rejects[0].Line != 2 {
		t.Fatalf("got %+v", res)
	}
	if !slices.Equal(res.Columns, []string{"id", "name", "tags"}) {
		t.Fatalf("columns %v", res.Columns)
	}
}

// TestLoadJSONRejectLines: rejected JSON lines carry their line in their
// file, counting blank lines, with repeated texts told apart by order.
func TestLoadJSONRejectLines(t *testing.T) {
	e := open(t)
	files := []string{filepath.Join("testdata", "events.jsonl"), filepath.Join("testdata", "events_rejects.jsonl")}
	res, err := e.Load(t.Context(), engine.Source{Format: engine.JSON, Objects: localObjects(files...)})
	if err != nil {
		t.Fatal(err)
	}
	type at struct {
		file string
		line int64
	}
	var got []at
	for _, r := range res.Rejects {
		got = append(got, at{filepath.Base(r.File), r.Line})
	}
	slices.SortFunc(got, func(a, b at) int { return strings.Compare(a.file, b.file)*100 + int(a.line-b.line) })
	want := []at{{"events.jsonl", 2}, {"events_rejects.jsonl", 3}, {"events_rejects.jsonl", 5}, {"events_rejects.jsonl", 6}}
	if !slices.Equal(got, want) {
		t.Fatalf("rejects at %v, want %v", got, want)
	}
}

// TestWritePartitionsInOnePass covers partitions whose values DuckDB can
// write with a single PARTITION_BY copy.
func TestWritePartitionsInOnePass(t *testing.T) {
	ctx := t.Context()
	e := open(t)
	tbl := newTable(t, ctx)
	res, err := e.Write(ctx, "SELECT i AS id, CAST(2017 + i % 3 AS INTEGER) AS yr, 'r' || (i % 2) AS region FROM range(30) r(i)",
		engine.Target{Store: tbl.Store(), PartitionColumns: []string{"yr", "region"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 30 || len(res.Adds) != 6 {
		t.Fatalf("got %d rows in %d files, want 30 in 6", res.Rows, len(res.Adds))
	}
	for _, a := range res.Adds {
		want := "yr=" + *a.PartitionValues["yr"] + "/region=" + *a.PartitionValues["region"] + "/"
		if !strings.HasPrefix(a.Path, want) {
			t.Fatalf("file %s is not under %s", a.Path, want)
		}
	}
	if _, err := tbl.Create(ctx, res.Schema, &delta.CreateOptions{PartitionColumns: []string{"yr", "region"}}); err != nil {
		t.Fatal(err)
	}
	cr, err := tbl.Append(ctx, res.Adds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(ctx, "t", cr.Snapshot, nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.Query(ctx, "SELECT count(*), count(DISTINCT id), sum(CASE WHEN yr = 2017 + id % 3 AND region = 'r' || (id % 2) THEN 1 END) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows[0][0] != int64(30) || got.Rows[0][1] != int64(30) || fmtAny(got.Rows[0][2]) != "30" {
		t.Fatalf("read back %v", got.Rows[0])
	}
}

// TestWritePartitionsNamedByTheirFolders covers integer and date partition
// columns, whose partitions a write reads from the folders its one
// PARTITION_BY copy made: NULLs (DuckDB's __HIVE_DEFAULT_PARTITION__),
// negative numbers, one partition, none. Each file's partition values and
// folder are those of its rows, and the table reads back every row.
func TestWritePartitionsNamedByTheirFolders(t *testing.T) {
	cases := []struct {
		name, query string
		parts       []string
		rows, files int
	}{
		{"integers and dates with NULLs", `SELECT i AS id,
			CASE WHEN i % 5 = 0 THEN NULL ELSE CAST(i % 3 - 1 AS INTEGER) END AS k,
			CASE WHEN i % 7 = 0 THEN NULL ELSE DATE '2018-01-30' + CAST(i % 2 AS INTEGER) END AS d
			FROM range(30) r(i)`, []string{"k", "d"}, 30, 0},
		{"a BIGINT, one partition", "SELECT i AS id, CAST(-7 AS BIGINT) AS k FROM range(5) r(i)", []string{"k"}, 5, 1},
		{"a SMALLINT, no row", "SELECT i AS id, CAST(i AS SMALLINT) AS k FROM range(0) r(i)", []string{"k"}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			e := open(t)
			tbl := newTable(t, ctx)
			res, err := e.Write(ctx, c.query, engine.Target{Store: tbl.Store(), PartitionColumns: c.parts})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != int64(c.rows) || c.files > 0 && len(res.Adds) != c.files {
				t.Fatalf("got %d rows in %d files, want %d rows (%d files)", res.Rows, len(res.Adds), c.rows, c.files)
			}
			if _, err := tbl.Create(ctx, res.Schema, &delta.CreateOptions{PartitionColumns: c.parts}); err != nil {
				t.Fatal(err)
			}
			cr, err := tbl.Append(ctx, res.Adds, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range res.Adds {
				if dir := delta.PartitionPath(c.parts, a.PartitionValues) + "/"; !strings.HasPrefix(a.Path, dir) {
					t.Errorf("file %s is not under %s", a.Path, dir)
				}
			}
			if err := e.Bind(ctx, "t", cr.Snapshot, nil); err != nil {
				t.Fatal(err)
			}
			want, err := e.Query(ctx, "SELECT * FROM ("+c.query+") ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Query(ctx, "SELECT * FROM t ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.Rows) != fmt.Sprint(want.Rows) {
				t.Fatalf("read back %v, want %v", got.Rows, want.Rows)
			}
			// Each file holds the rows of its partition values only.
			for _, a := range res.Adds {
				if err := e.Bind(ctx, "f", cr.Snapshot, []*delta.Add{a}); err != nil {
					t.Fatal(err)
				}
				conds := make([]string, len(c.parts))
				for i, p := range c.parts {
					conds[i] = p + " IS NULL"
					if v := a.PartitionValues[p]; v != nil {
						conds[i] = "CAST(" + p + " AS VARCHAR) = '" + *v + "'"
					}
				}
				n, err := e.Query(ctx, "SELECT count(*), count(*) FILTER (WHERE NOT ("+strings.Join(conds, " AND ")+")) FROM f")
				if err != nil {
					t.Fatal(err)
				}
				if n.Rows[0][0] == int64(0) || n.Rows[0][1] != int64(0) {
					t.Errorf("file %s (%v): %v rows, %v of another partition", a.Path, a.PartitionValues, n.Rows[0][0], n.Rows[0][1])
				}
			}
		})
	}
}
