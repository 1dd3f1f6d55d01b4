package duckdb_test

import (
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// TestUnionByNameOnlyWhenFilesDiffer: a table binds its files without
// union_by_name (which reads every file's footer on each bind) only when
// every file holds every column as the schema types it — the files' stats
// say so and the table has no type widening. A column added after a file
// was written, a file without stats, or type widening keep union_by_name,
// and every case reads its rows back (NULL where a file lacks the column).
func TestUnionByNameOnlyWhenFilesDiffer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		second    string // the second file's query
		noStats   bool   // the second file's stats are dropped
		widening  bool   // the table has the typeWidening feature
		wantUnion bool
		want      string // count(*), count(name), sum(id)
	}{
		{"the same columns", "SELECT 3::BIGINT AS id, 'c' AS name", false, false, false, "3 3 6"},
		{"a column added after the first file", "SELECT 3::BIGINT AS id, 'c' AS name, 1.5 AS score", false, false, true, "3 3 6"},
		{"a file without stats", "SELECT 3::BIGINT AS id, 'c' AS name", true, false, true, "3 3 6"},
		{"type widening", "SELECT 3::BIGINT AS id, 'c' AS name", false, true, true, "3 3 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			e := open(t)
			tbl := newTable(t, ctx)
			first, err := e.Write(ctx, "SELECT i AS id, chr(97 + i::INTEGER) AS name FROM range(1, 3) r(i)", engine.Target{Store: tbl.Store()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.Create(ctx, first.Schema, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := tbl.Append(ctx, first.Adds, nil); err != nil {
				t.Fatal(err)
			}
			second, err := e.Write(ctx, tc.second, engine.Target{Store: tbl.Store()})
			if err != nil {
				t.Fatal(err)
			}
			if tc.noStats {
				for _, a := range second.Adds {
					a.Stats = ""
				}
			}
			snap, err := tbl.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			opts := &delta.WriteOptions{}
			md := *snap.Metadata()
			md.SchemaString = second.Schema.String()
			opts.Metadata = &md
			if tc.widening {
				p := *snap.Protocol()
				p.MinReaderVersion, p.MinWriterVersion = 3, 7
				p.ReaderFeatures = append(p.ReaderFeatures, "typeWidening")
				p.WriterFeatures = append(p.WriterFeatures, "typeWidening")
				opts.Protocol = &p
			}
			cr, err := tbl.Append(ctx, second.Adds, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Bind(ctx, "silver.t", cr.Snapshot, nil); err != nil {
				t.Fatal(err)
			}
			view, err := e.Query(ctx, "SELECT sql FROM duckdb_views() WHERE schema_name = 'silver' AND view_name = 't'")
			if err != nil || len(view.Rows) != 1 {
				t.Fatalf("view: %v %v", view, err)
			}
			sql := view.Rows[0][0].(string)
			if union := strings.Contains(sql, "union_by_name"); union != tc.wantUnion {
				t.Errorf("union_by_name: %v, want %v:\n%s", union, tc.wantUnion, sql)
			}
			got, err := e.Query(ctx, "SELECT count(*), count(name), sum(id) FROM silver.t")
			if err != nil {
				t.Fatal(err)
			}
			if r := got.Rows[0]; fmtAny(r[0])+" "+fmtAny(r[1])+" "+fmtAny(r[2]) != tc.want {
				t.Errorf("read back %v, want %s", r, tc.want)
			}
		})
	}
}
