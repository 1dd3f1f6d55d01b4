// Package enginetest checks that engine backends keep the contracts of
// engine.Engine, the way storage/storagetest serves the storage drivers.
// Every backend runs Run from its own tests:
//
//	func TestConformance(t *testing.T) {
//		enginetest.Run(t, func(t *testing.T) engine.Engine {
//			e, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb"})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { e.Close() })
//			return e
//		})
//	}
//
// The suite's own SQL is portable (VALUES, CAST, count, standard joins);
// what differs between engines goes through the engine's operations and
// dialect methods (Quote, Literal, SQLType, EpochMillis).
package enginetest

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/storage"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

//go:embed testdata
var fixtures embed.FS

// Run runs the conformance tests as subtests of t. open is called once per
// subtest and returns an engine no other subtest uses; it registers the
// engine's Close as cleanup.
func Run(t *testing.T, open func(t *testing.T) engine.Engine) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e engine.Engine)
	}{
		{"LoadCSVKeepsRejects", testLoadCSV},
		{"LoadCSVFileSubset", testLoadCSVSubset},
		{"LoadJSONKeepsRejects", testLoadJSON},
		{"LoadParquet", testLoadParquet},
		{"WriteCompression", testWriteCompression},
		{"LoadErrors", testLoadErrors},
		{"LoadStoreObjects", testLoadStoreObjects},
		{"ProbeCountsFits", testProbe},
		{"TypeTextRescues", testTypeText},
		{"TypeTextDeclaredDoubles", testTypeTextDoubles},
		{"TypeTextTimestampZones", testTypeTextZones},
		{"WriteStatsAndPartitions", testWrite},
		{"WriteCastsToTableSchema", testWriteSchema},
		{"BindSnapshotsAndFileSubsets", testBind},
		{"BindQueryViewsAndTables", testBindQuery},
		{"MatchFilesForMerge", testMatchFiles},
		{"MatchFilesPartitioned", testMatchFilesPartitioned},
		{"SameNamedFilesInPartitions", testSameNamedFiles},
		{"DedupeKeepsNewest", testDedupe},
		{"UnionByName", testUnion},
		{"ExpandWindows", testWindows},
		{"ApplyChangesSCD1And2", testApplyChanges},
		{"ChangeFeed", testChangeFeed},
		{"RelationsReleased", testRelease},
		{"LiteralsRoundTrip", testLiterals},
		{"Errors", testErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// fixture copies a file of testdata into a temporary directory and returns
// its path there.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fixtures, "testdata/"+name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// query runs sql and returns its rows rendered as text, one line per row,
// values separated by "|", NULL as "NULL", whole numbers without type.
func query(t *testing.T, e engine.Engine, sql string) []string {
	t.Helper()
	res, err := e.Query(t.Context(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return render(res.Rows)
}

func render(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			parts[j] = text(v)
		}
		out[i] = strings.Join(parts, "|")
	}
	return out
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case []byte:
		return string(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func count(t *testing.T, e engine.Engine, rel string) int64 {
	t.Helper()
	rows := query(t, e, "SELECT count(*) FROM "+rel)
	n, err := strconv.ParseInt(rows[0], 10, 64)
	if err != nil {
		t.Fatalf("count of %s: %q", rel, rows[0])
	}
	return n
}

func want(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// newStore is an empty local store.
func newStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// table writes the rows of sql as a new Delta table partitioned by parts
// and returns it with its snapshot.
func table(t *testing.T, e engine.Engine, sql string, parts ...string) (*delta.Table, *delta.Snapshot) {
	t.Helper()
	ctx := t.Context()
	tbl, err := delta.OpenTable(ctx, newStore(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Write(ctx, sql, engine.Target{Store: tbl.Store(), PartitionColumns: parts})
	if err != nil {
		t.Fatalf("write %s: %v", sql, err)
	}
	if _, err := tbl.Create(ctx, res.Schema, &delta.CreateOptions{PartitionColumns: parts}); err != nil {
		t.Fatal(err)
	}
	cr, err := tbl.Append(ctx, res.Adds, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tbl, cr.Snapshot
}

// appendRows appends the rows of sql to tbl and returns the new snapshot
// and the files the append added.
func appendRows(t *testing.T, e engine.Engine, tbl *delta.Table, snap *delta.Snapshot, sql string) (*delta.Snapshot, []*delta.Add) {
	t.Helper()
	res, err := e.Write(t.Context(), sql, engine.Target{Store: tbl.Store(), PartitionColumns: snap.PartitionColumns(), Schema: snap.Schema()})
	if err != nil {
		t.Fatalf("write %s: %v", sql, err)
	}
	cr, err := tbl.Append(t.Context(), res.Adds, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cr.Snapshot, res.Adds
}

func testLoadCSV(t *testing.T, e engine.Engine) {
	dirty, more := fixture(t, "dirty.csv"), fixture(t, "more.csv")
	res, err := e.Load(t.Context(), engine.Source{Format: engine.CSV, Objects: local(dirty, more)})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "columns", res.Columns, []string{"id", "name", "amount", "day"})
	// Record 4 has a fifth field: rejected with its file, line and text;
	// every other record is a row, all columns text, nothing lost.
	if len(res.Rejects) != 1 {
		t.Fatalf("rejects %+v, want the record of id 4", res.Rejects)
	}
	rj := res.Rejects[0]
	if len(res.Files) != 2 {
		t.Fatalf("LoadResult.Files %q, want one name per object", res.Files)
	}
	if rj.File != res.Files[0] || rj.Line != 5 || rj.Error == "" || !strings.Contains(rj.Raw, "surplus") {
		t.Fatalf("reject %+v: want file %s, line 5, an error and the raw text", rj, res.Files[0])
	}
	if res.Rows != 5 {
		t.Fatalf("rows %d, want 5", res.Rows)
	}
	r := res.Relation.Name
	want(t, "rows", query(t, e, "SELECT id, name, amount, day FROM "+r+" ORDER BY CAST(id AS INT)"), []string{
		"1|ana|10|2026-01-02", "2|bo, the second|20.5|2026-01-03", "3|cy|x|not a day", "5|NULL|8|NULL", "6|eve|9|2026-02-01",
	})
	want(t, "source files", query(t, e, "SELECT _source_file, count(*) FROM "+r+" GROUP BY _source_file ORDER BY 2 DESC"),
		[]string{res.Files[0] + "|4", res.Files[1] + "|1"})
}

// local is local files as engine objects.
func local(paths ...string) []engine.Object {
	out := make([]engine.Object, len(paths))
	for i, p := range paths {
		out[i] = engine.LocalObject(p)
	}
	return out
}

func testLoadCSVSubset(t *testing.T, e engine.Engine) {
	dirty, more := fixture(t, "dirty.csv"), fixture(t, "more.csv")
	res, err := e.Load(t.Context(), engine.Source{Format: engine.CSV, Objects: local(more)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 1 || len(res.Rejects) != 0 {
		t.Fatalf("got %d rows, rejects %+v; want the one row of more.csv", res.Rows, res.Rejects)
	}
	// A second load is a second relation; the first keeps its rows.
	res2, err := e.Load(t.Context(), engine.Source{Format: engine.CSV, Objects: local(dirty)})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Relation.Name == res.Relation.Name {
		t.Fatalf("two loads share the relation %s", res.Relation.Name)
	}
	if n := count(t, e, res.Relation.Name); n != 1 {
		t.Fatalf("first load has %d rows after the second, want 1", n)
	}
	// A delimiter other than the comma, without a header.
	p := filepath.Join(t.TempDir(), "semi.csv")
	if err := os.WriteFile(p, []byte("7;g\n8;h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res3, err := e.Load(t.Context(), engine.Source{Format: engine.CSV, Objects: local(p), Delimiter: ";", NoHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	if res3.Rows != 2 || len(res3.Columns) != 2 {
		t.Fatalf("headerless load: %d rows, columns %v; want 2 rows of 2 columns", res3.Rows, res3.Columns)
	}
}

func testLoadJSON(t *testing.T, e engine.Engine) {
	p := fixture(t, "events.jsonl")
	res, err := e.Load(t.Context(), engine.Source{Format: engine.JSON, Objects: local(p)})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "columns", res.Columns, []string{"id", "name", "tags"})
	if res.Rows != 2 {
		t.Fatalf("rows %d, want 2", res.Rows)
	}
	var got []string
	for _, r := range res.Rejects {
		got = append(got, fmt.Sprintf("%d:%s", r.Line, r.Raw))
	}
	// Lines count blank lines; a JSON value that is not an object is
	// rejected too.
	want(t, "rejects", got, []string{"2:not json", "5:[1, 2]"})
	want(t, "rows", query(t, e, "SELECT id, name, tags FROM "+res.Relation.Name+" ORDER BY id"), []string{"1|a|NULL", "2|NULL|x"})
}

// testWriteCompression: each codec of engine.Compressions is the codec of
// every column chunk of the files written, partitioned or not, and the
// write reports its rows.
func testWriteCompression(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	for _, c := range engine.Compressions {
		for _, parts := range [][]string{nil, {"p"}} {
			store := newStore(t)
			res, err := e.Write(ctx, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a', 'x'), (CAST(2 AS BIGINT), 'b', 'y')) AS v(id, name, p)",
				engine.Target{Store: store, PartitionColumns: parts, Compression: c})
			if err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			if res.Rows != 2 || len(res.Adds) == 0 {
				t.Fatalf("%s %v: wrote %d rows in %d files, want 2 rows", c, parts, res.Rows, len(res.Adds))
			}
			CheckFilesCodec(t, fmt.Sprintf("%s %v", c, parts), store, res.Adds, c)
		}
	}
}

// CheckFilesCodec reports an error, naming what and the file, unless every
// column chunk of each data file of adds in store is compressed with codec
// (see CheckCodec).
func CheckFilesCodec(t *testing.T, what string, store *storage.Store, adds []*delta.Add, codec string) {
	t.Helper()
	for _, a := range adds {
		key, err := delta.FileKey(a.Path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := store.ReadAll(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		CheckCodec(t, what+": "+key, data, codec)
	}
}

// codecs are the Parquet codecs of engine.Compressions' names.
var codecs = map[string]format.CompressionCodec{"uncompressed": format.Uncompressed, "snappy": format.Snappy, "zstd": format.Zstd}

// CheckCodec reports an error, naming what, unless every column chunk of
// the Parquet file data is compressed with codec (a name of
// engine.Compressions).
func CheckCodec(t *testing.T, what string, data []byte, codec string) {
	t.Helper()
	want, ok := codecs[codec]
	if !ok {
		t.Fatalf("%s: unknown codec %q", what, codec)
	}
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, col := range rg.Columns {
			if col.MetaData.Codec != want {
				t.Errorf("%s: column %v has codec %v, want %v", what, col.MetaData.PathInSchema, col.MetaData.Codec, want)
			}
		}
	}
}

func testLoadParquet(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	store := newStore(t)
	res, err := e.Write(ctx, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a', 1.5), (CAST(2 AS BIGINT), 'b', NULL)) AS v(id, name, score)", engine.Target{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	// The files as storage objects (store and key, no local path): the
	// engine reads them in place or copies them.
	var files []engine.Object
	for _, a := range res.Adds {
		key, err := delta.FileKey(a.Path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, engine.Object{Store: store, Key: key, Size: a.Size, ModTime: time.UnixMilli(a.ModificationTime)})
	}
	cols, err := e.FileColumns(ctx, engine.Source{Format: engine.Parquet, Objects: files})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "file columns", cols, []string{"id", "name", "score"})
	lr, err := e.Load(ctx, engine.Source{Format: engine.Parquet, Objects: files})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "columns", lr.Columns, []string{"id", "name", "score"})
	// Every column is text after Load, whatever its Parquet type.
	want(t, "rows", query(t, e, "SELECT id || '/' || name, score FROM "+lr.Relation.Name+" ORDER BY id"), []string{"1/a|1.5", "2/b|NULL"})
}

// storeObject puts a fixture on store at key and returns it as a storage
// object without a local path, as the pipeline lists landing files.
func storeObject(t *testing.T, store *storage.Store, key, fixtureName string) engine.Object {
	t.Helper()
	b, err := fs.ReadFile(fixtures, "testdata/"+fixtureName)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Write(t.Context(), key, b); err != nil {
		t.Fatal(err)
	}
	info, err := store.Stat(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return engine.Object{Store: store, Key: key, Size: info.Size, ModTime: info.ModTime}
}

// testLoadStoreObjects: landing files given as storage objects (store and
// key, no local path) load like local files; LoadResult.Files names each
// object as _source_file and Reject.File do.
func testLoadStoreObjects(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	store := newStore(t)
	objs := []engine.Object{
		storeObject(t, store, "orders/2026/dirty.csv", "dirty.csv"),
		storeObject(t, store, "orders/2026/more.csv", "more.csv"),
	}
	res, err := e.Load(ctx, engine.Source{Format: engine.CSV, Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0] == res.Files[1] {
		t.Fatalf("LoadResult.Files %q, want a name per object", res.Files)
	}
	if res.Rows != 5 || len(res.Rejects) != 1 || res.Rejects[0].File != res.Files[0] || res.Rejects[0].Line != 5 {
		t.Fatalf("%d rows, rejects %+v; want 5 rows and line 5 of %s rejected", res.Rows, res.Rejects, res.Files[0])
	}
	want(t, "source files", query(t, e, "SELECT _source_file, count(*) FROM "+res.Relation.Name+" GROUP BY _source_file ORDER BY 2 DESC"),
		[]string{res.Files[0] + "|4", res.Files[1] + "|1"})
	js, err := e.Load(ctx, engine.Source{Format: engine.JSON, Objects: []engine.Object{storeObject(t, store, "events/e.jsonl", "events.jsonl")}})
	if err != nil {
		t.Fatal(err)
	}
	if js.Rows != 2 || len(js.Rejects) != 2 || js.Rejects[0].File != js.Files[0] {
		t.Fatalf("JSON object: %d rows, rejects %+v, files %q; want 2 rows and 2 rejects of the object", js.Rows, js.Rejects, js.Files)
	}
	cols, err := e.FileColumns(ctx, engine.Source{Format: engine.CSV, Objects: objs[1:]})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "file columns", cols, []string{"id", "name", "amount", "day"})
}

func testLoadErrors(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	if _, err := e.Load(ctx, engine.Source{Format: engine.CSV}); err == nil {
		t.Fatal("Load of no files succeeded")
	}
	missing := filepath.Join(t.TempDir(), "missing.csv")
	if _, err := e.Load(ctx, engine.Source{Format: engine.CSV, Objects: local(missing)}); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	if _, err := e.Load(ctx, engine.Source{Format: "xml", Objects: local(fixture(t, "more.csv"))}); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Fatalf("Load of an unknown format: %v, want an error naming it", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.parquet")
	if err := os.WriteFile(bad, []byte("not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(ctx, engine.Source{Format: engine.Parquet, Objects: local(bad)}); err == nil {
		t.Fatal("Load of a broken Parquet file succeeded")
	}
}

func testProbe(t *testing.T, e engine.Engine) {
	rel, err := e.View(t.Context(), "SELECT * FROM (VALUES "+
		"('1', '1.5', '2026-01-02', 'true', ' x '), "+
		"('-2', '3', '2026-01-02 10:00:00', 'FALSE', ''), "+
		"('3.5', 'n/a', 'soon', 'yes', NULL), "+
		"(' 4 ', '', '', '', 'y')) AS v(a, b, c, d, e)")
	if err != nil {
		t.Fatal(err)
	}
	probes, err := e.Probe(t.Context(), rel, []string{"a", "b", "c", "d", "e"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(probes))
	for i, p := range probes {
		got[i] = fmt.Sprintf("%d %d %d %d %d %d", p.NonEmpty, p.Long, p.Double, p.Timestamp, p.Date, p.Boolean)
	}
	want(t, "probes (non-empty long double timestamp date boolean)", got, []string{
		"4 3 4 0 0 0", // whole numbers, trimmed; 3.5 is a double only
		"3 1 2 0 0 0",
		"3 0 0 2 1 0", // a date is a timestamp too; only yyyy-mm-dd is a date
		"3 0 0 0 0 2",
		"2 0 0 0 0 0",
	})
	// The sample bounds the rows looked at.
	probes, err = e.Probe(t.Context(), rel, []string{"a"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if probes[0].NonEmpty != 1 {
		t.Fatalf("sample of 1 row: %+v", probes[0])
	}
}

func testTypeText(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	lr, err := e.Load(ctx, engine.Source{Format: engine.CSV, Objects: local(fixture(t, "dirty.csv"), fixture(t, "more.csv"))})
	if err != nil {
		t.Fatal(err)
	}
	spec := engine.TypeSpec{Ordinal: "_seq", Rescue: "_rescued", Columns: []engine.Column{
		{Name: "id", Type: delta.Primitive(delta.TypeLong)},
		{Name: "name", Type: delta.Primitive(delta.TypeString)},
		{Name: "amount", Type: delta.Primitive(delta.TypeLong)},
		{Name: "day", Type: delta.Primitive(delta.TypeDate)},
	}}
	typed, err := e.TypeText(ctx, lr.Relation, spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Query(ctx, "SELECT * FROM "+typed.Name+" ORDER BY _seq")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range res.Columns {
		cols = append(cols, c.Name+" "+c.Type.String())
	}
	want(t, "typed columns", cols, []string{"id long", "name string", "amount long", "day date", "_source_file string", "_seq long", "_rescued string"})
	var got []string
	for _, r := range res.Rows {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s|%s", text(r[0]), text(r[1]), text(r[2]), text(r[3]), text(r[6])))
	}
	// 20.5 is not a whole number and x not a number: both rescued with
	// their text, as is a day that is not a date; empty text is NULL.
	want(t, "typed rows", got, []string{
		"1|ana|10|2026-01-02 00:00:00.000|NULL",
		`2|bo, the second|NULL|2026-01-03 00:00:00.000|{"amount":"20.5"}`,
		`3|cy|NULL|NULL|{"amount":"x","day":"not a day"}`,
		"5|NULL|8|NULL|NULL",
		"6|eve|9|2026-02-01 00:00:00.000|NULL",
	})
	var seqs []string
	for _, r := range res.Rows {
		seqs = append(seqs, text(r[5]))
	}
	want(t, "ordinals (load order, 1-based)", seqs, []string{"1", "2", "3", "4", "5"})
}

// testTypeTextDoubles: columns declared double (Source.Types) type the same
// whether the engine reads them typed or as text: clean files give the
// doubles; a file where a value is no double rescues it with its text, and
// the record with a surplus field is still a reject with its line.
func testTypeTextDoubles(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	clean, dirty := fixture(t, "prices.csv"), fixture(t, "prices_dirty.csv")
	types := map[string]delta.DataType{"id": delta.Primitive(delta.TypeLong), "price": delta.Primitive(delta.TypeDouble)}
	spec := engine.TypeSpec{Ordinal: "_seq", Rescue: "_rescued", Columns: []engine.Column{
		{Name: "id", Type: delta.Primitive(delta.TypeLong)},
		{Name: "price", Type: delta.Primitive(delta.TypeDouble)},
		{Name: "note", Type: delta.Primitive(delta.TypeString)},
	}}
	for _, tc := range []struct {
		name    string
		files   []string
		rows    []string
		rejects []string
	}{
		{"clean", []string{clean}, []string{"1|1.5|a|NULL", "2|2.25|b|NULL", "3|NULL|c|NULL", "4|1000|d|NULL"}, nil},
		{"a value that is no double", []string{clean, dirty}, []string{
			"1|1.5|a|NULL", "2|2.25|b|NULL", "3|NULL|c|NULL", "4|1000|d|NULL",
			`5|NULL|e|{"price":"abc"}`, `6|NULL|f|{"price":"1,5"}`, "8|-0.5|h|NULL",
		}, []string{"prices_dirty.csv:4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lr, err := e.Load(ctx, engine.Source{Format: engine.CSV, Objects: local(tc.files...), Types: types})
			if err != nil {
				t.Fatal(err)
			}
			var rejects []string
			for _, r := range lr.Rejects {
				rejects = append(rejects, fmt.Sprintf("%s:%d", filepath.Base(r.File), r.Line))
			}
			want(t, "rejects", rejects, tc.rejects)
			typed, err := e.TypeText(ctx, lr.Relation, spec)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Query(ctx, "SELECT id, price, note, _rescued FROM "+typed.Name+" ORDER BY _seq")
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Columns[1].Type.String(); got != "double" {
				t.Errorf("price is %s, want double", got)
			}
			var got []string
			for _, r := range res.Rows {
				got = append(got, fmt.Sprintf("%s|%s|%s|%s", text(r[0]), text(r[1]), text(r[2]), text(r[3])))
			}
			want(t, "typed rows", got, tc.rows)
		})
	}
}

// testTypeTextZones types timestamps written with an offset, a zone name or
// neither, mixed over several thousand rows: each value is its own instant
// (a zone named on one row must not shift the rows after it, which DuckDB's
// cast does when one expression sees both), and a zone no one knows is
// rescued, not guessed.
func testTypeTextZones(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	local := func(day int) time.Time { return time.Date(2024, 1, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, day) }
	type value struct{ text, want string }
	at := func(ts time.Time) string { return ts.UTC().Format("2006-01-02 15:04:05.000") }
	forms := []func(day int) value{
		func(d int) value { return value{local(d).Format("2006-01-02 15:04:05"), at(local(d))} },
		func(d int) value {
			l := local(d)
			in := time.Date(l.Year(), l.Month(), l.Day(), 10, 0, 0, 0, paris)
			return value{l.Format("2006-01-02 15:04:05") + " Europe/Paris", at(in)}
		},
		func(d int) value { return value{local(d).Format("2006-01-02T15:04:05"), at(local(d))} },
		func(d int) value {
			l := local(d)
			in := time.Date(l.Year(), l.Month(), l.Day(), 10, 0, 0, 0, newYork)
			return value{l.Format("2006-01-02 15:04:05") + " America/New_York", at(in)}
		},
		func(d int) value {
			return value{local(d).Format("2006-01-02 15:04:05") + "+02:00", at(local(d).Add(-2 * time.Hour))}
		},
		func(d int) value { return value{local(d).Format("2006-01-02 15:04:05") + "Z", at(local(d))} },
		func(d int) value { return value{local(d).Format("2006-01-02 15:04:05") + " UTC", at(local(d))} },
	}
	var csv strings.Builder
	csv.WriteString("id,ts\n")
	var wantRows []string
	const rows = 5000
	for i := range rows {
		v := forms[0](i % 300)
		switch {
		case i%97 == 13:
			v = value{local(i%300).Format("2006-01-02 15:04:05") + " Nowhere/Land", "NULL"}
		case i%7 != 0:
			v = forms[i%len(forms)](i % 300)
		}
		fmt.Fprintf(&csv, "%d,%s\n", i, v.text)
		rescued := "NULL"
		if v.want == "NULL" {
			rescued = `{"ts":"` + v.text + `"}`
		}
		wantRows = append(wantRows, fmt.Sprintf("%d|%s|%s", i, v.want, rescued))
	}
	p := filepath.Join(t.TempDir(), "zones.csv")
	if err := os.WriteFile(p, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	lr, err := e.Load(ctx, engine.Source{Format: engine.CSV, Objects: []engine.Object{engine.LocalObject(p)}})
	if err != nil {
		t.Fatal(err)
	}
	typed, err := e.TypeText(ctx, lr.Relation, engine.TypeSpec{Ordinal: "_seq", Rescue: "_rescued", Columns: []engine.Column{
		{Name: "id", Type: delta.Primitive(delta.TypeLong)},
		{Name: "ts", Type: delta.Primitive(delta.TypeTimestamp)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := query(t, e, "SELECT id, ts, _rescued FROM "+typed.Name+" ORDER BY id")
	if len(got) != rows {
		t.Fatalf("%d typed rows, want %d", len(got), rows)
	}
	for i := range got {
		if got[i] != wantRows[i] {
			t.Fatalf("row %d (%q): got %s, want %s", i, strings.Split(strings.Split(csv.String(), "\n")[i+1], ",")[1], got[i], wantRows[i])
		}
	}
}

func testWrite(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	store := newStore(t)
	q := "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a', 2017), (CAST(2 AS BIGINT), 'b', 2018), (CAST(3 AS BIGINT), NULL, 2017), (CAST(4 AS BIGINT), 'd', NULL)) AS v(id, name, yr)"
	res, err := e.Write(ctx, q, engine.Target{Store: store, PartitionColumns: []string{"yr"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 {
		t.Fatalf("rows %d, want 4", res.Rows)
	}
	byPart := map[string]*delta.Add{}
	for _, a := range res.Adds {
		v := a.PartitionValues["yr"]
		k := "NULL"
		if v != nil {
			k = *v
		}
		if byPart[k] != nil {
			t.Fatalf("two files for partition yr=%s without TargetFileSize", k)
		}
		byPart[k] = a
		if _, err := store.Stat(ctx, mustKey(t, a.Path)); err != nil {
			t.Fatalf("add %s: %v", a.Path, err)
		}
	}
	if len(byPart) != 3 || byPart["2017"] == nil || byPart["2018"] == nil || byPart["NULL"] == nil {
		t.Fatalf("partitions %v, want 2017, 2018 and NULL", keys(byPart))
	}
	st, err := delta.ParseStats(byPart["2017"].Stats)
	if err != nil {
		t.Fatal(err)
	}
	if st.NumRecords != 2 || text(st.MinValues["id"]) != "1" || text(st.MaxValues["id"]) != "3" || text(st.NullCount["name"]) != "1" {
		t.Fatalf("stats of yr=2017: %+v; want 2 records, id 1..3, one NULL name", st)
	}
	if _, ok := st.MinValues["yr"]; ok {
		t.Fatalf("stats hold the partition column: %+v", st)
	}
	if f, ok := res.Schema.Field("id"); !ok || f.Type.Name != delta.TypeLong {
		t.Fatalf("schema %s", res.Schema)
	}
}

func testWriteSchema(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	schema := &delta.StructType{Fields: []delta.StructField{
		{Name: "id", Type: delta.Primitive(delta.TypeLong), Nullable: true},
		{Name: "missing", Type: delta.Primitive(delta.TypeString), Nullable: true},
	}}
	res, err := e.Write(ctx, "SELECT CAST(1 AS INT) AS id", engine.Target{Store: newStore(t), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if res.Schema.String() != schema.String() || res.Rows != 1 {
		t.Fatalf("got schema %s and %d rows, want the table's schema and 1 row", res.Schema, res.Rows)
	}
	_, err = e.Write(ctx, "SELECT 1 AS id, 2 AS surprise", engine.Target{Store: newStore(t), Schema: schema})
	if err == nil || !strings.Contains(err.Error(), "surprise") {
		t.Fatalf("a column the table lacks: %v, want an error naming it", err)
	}
}

func testBind(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	tbl, s1 := table(t, e, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a'), (CAST(2 AS BIGINT), 'b')) AS v(id, name)")
	s2, added := appendRows(t, e, tbl, s1, "SELECT * FROM (VALUES (CAST(3 AS BIGINT), 'c')) AS v(id, name)")
	if err := e.Bind(ctx, "silver.t", s2, nil); err != nil {
		t.Fatal(err)
	}
	want(t, "whole snapshot", query(t, e, "SELECT id, name FROM silver.t ORDER BY id"), []string{"1|a", "2|b", "3|c"})
	// A file subset: the rows of the last append only.
	if err := e.Bind(ctx, "silver.t", s2, added); err != nil {
		t.Fatal(err)
	}
	want(t, "file subset", query(t, e, "SELECT id, name FROM silver.t"), []string{"3|c"})
	// An older snapshot; binding again replaces the name, cached or not.
	if err := e.Bind(ctx, "silver.t", s1, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Cache(ctx, "silver.t"); err != nil {
		t.Fatal(err)
	}
	want(t, "cached version 0", query(t, e, "SELECT count(*) FROM silver.t"), []string{"2"})
	if err := e.Bind(ctx, "silver.t", s2, nil); err != nil {
		t.Fatal(err)
	}
	want(t, "rebound after cache", query(t, e, "SELECT count(*) FROM silver.t"), []string{"3"})
	// An empty file list is an empty relation, not the whole table.
	if err := e.Bind(ctx, "silver.t", s2, []*delta.Add{}); err != nil {
		t.Fatal(err)
	}
	want(t, "no files", query(t, e, "SELECT count(*) FROM silver.t"), []string{"0"})
	rel, err := e.BindRelation(ctx, s2, added)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "bound relation", query(t, e, "SELECT id FROM "+rel.Name), []string{"3"})
	schema := &delta.StructType{Fields: []delta.StructField{{Name: "k", Type: delta.Primitive(delta.TypeLong), Nullable: true}, {Name: "at", Type: delta.Primitive(delta.TypeTimestamp), Nullable: true}}}
	if err := e.BindEmpty(ctx, "gold.empty", schema); err != nil {
		t.Fatal(err)
	}
	res, err := e.Query(ctx, "SELECT * FROM gold.empty")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 0 || len(res.Columns) != 2 || res.Columns[1].Type.Name != delta.TypeTimestamp {
		t.Fatalf("empty binding: %+v", res)
	}
}

func testBindQuery(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	if err := e.Bind(ctx, "silver.src", mustSnap(t, e, "SELECT CAST(1 AS BIGINT) AS v"), nil); err != nil {
		t.Fatal(err)
	}
	if err := e.BindQuery(ctx, "gold.view", "SELECT v * 10 AS w FROM silver.src", false); err != nil {
		t.Fatal(err)
	}
	if err := e.BindQuery(ctx, "gold.table", "SELECT v * 10 AS w FROM silver.src", true); err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(ctx, "silver.src", mustSnap(t, e, "SELECT CAST(2 AS BIGINT) AS v"), nil); err != nil {
		t.Fatal(err)
	}
	// The view reads the new binding; the table kept the rows it computed.
	want(t, "view and table", query(t, e, "SELECT (SELECT w FROM gold.view), (SELECT w FROM gold.table)"), []string{"20|10"})
	// Binding again replaces, also a cached view.
	if err := e.Cache(ctx, "gold.view"); err != nil {
		t.Fatal(err)
	}
	if err := e.BindQuery(ctx, "gold.view", "SELECT v * 100 AS w FROM silver.src", false); err != nil {
		t.Fatal(err)
	}
	want(t, "rebound view", query(t, e, "SELECT w FROM gold.view"), []string{"200"})
	if err := e.BindQuery(ctx, "gold.bad", "SELECT no_such_column\nFROM silver.src", false); err == nil {
		t.Fatal("a view over a bad query was bound")
	}
}

func testMatchFiles(t *testing.T, e engine.Engine) {
	// The same answers whether the files were written with a key index
	// (engine.Target.KeyIndex, which an engine may keep or ignore) or not,
	// and for a table with files of both kinds.
	for _, tc := range []struct {
		name  string
		index [3][]string // KeyIndex of each of the three writes
	}{
		{"no index", [3][]string{}},
		{"indexed", [3][]string{{"id"}, {"id"}, {"id"}}},
		{"partly indexed", [3][]string{nil, {"id"}, nil}},
		{"indexed by another key", [3][]string{{"name"}, {"name"}, {"id", "name"}}},
	} {
		t.Run(tc.name, func(t *testing.T) { testMatchFilesIndexed(t, e, tc.index) })
	}
}

// writeIndexed writes the rows of sql into tbl (created from them when
// snap is nil) with the key index keys, and returns the new snapshot and
// the files it added.
func writeIndexed(t *testing.T, e engine.Engine, tbl *delta.Table, snap *delta.Snapshot, sql string, keys []string) (*delta.Snapshot, []*delta.Add) {
	t.Helper()
	target := engine.Target{Store: tbl.Store(), KeyIndex: keys}
	if snap != nil {
		target.Schema, target.PartitionColumns = snap.Schema(), snap.PartitionColumns()
	}
	res, err := e.Write(t.Context(), sql, target)
	if err != nil {
		t.Fatalf("write %s: %v", sql, err)
	}
	if snap == nil {
		if _, err := tbl.Create(t.Context(), res.Schema, nil); err != nil {
			t.Fatal(err)
		}
	}
	cr, err := tbl.Append(t.Context(), res.Adds, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cr.Snapshot, res.Adds
}

func testMatchFilesIndexed(t *testing.T, e engine.Engine, index [3][]string) {
	ctx := t.Context()
	tbl, err := delta.OpenTable(ctx, newStore(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := writeIndexed(t, e, tbl, nil, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a'), (CAST(2 AS BIGINT), 'b')) AS v(id, name)", index[0])
	s2, f2 := writeIndexed(t, e, tbl, s1, "SELECT * FROM (VALUES (CAST(3 AS BIGINT), 'c'), (CAST(NULL AS BIGINT), 'n')) AS v(id, name)", index[1])
	s3, f3 := writeIndexed(t, e, tbl, s2, "SELECT * FROM (VALUES (CAST(5 AS BIGINT), 'e')) AS v(id, name)", index[2])
	updates, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(3 AS BIGINT), 'C'), (CAST(5 AS BIGINT), 'E'), (CAST(9 AS BIGINT), 'new'), (CAST(NULL AS BIGINT), 'N')) AS v(id, name)")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.MatchFiles(ctx, s3, s3.Files(), []string{"id"}, updates, false)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "files with a matching key", paths(got), paths(append(slices.Clone(f2), f3...)))
	// Only among the files given.
	got, err = e.MatchFiles(ctx, s3, f3, []string{"id"}, updates, false)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "within a subset", paths(got), paths(f3))
	// NULL keys match NULL keys only when null-safe.
	nulls, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(NULL AS BIGINT), 'N')) AS v(id, name)")
	if err != nil {
		t.Fatal(err)
	}
	if got, err = e.MatchFiles(ctx, s3, s3.Files(), []string{"id"}, nulls, false); err != nil || len(got) != 0 {
		t.Fatalf("NULL key, not null-safe: %v %v, want no file", paths(got), err)
	}
	if got, err = e.MatchFiles(ctx, s3, s3.Files(), []string{"id"}, nulls, true); err != nil {
		t.Fatal(err)
	}
	want(t, "NULL key, null-safe", paths(got), paths(f2))
	// Keys of other types than the table's: compared as the table's.
	narrow, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(5 AS INTEGER), 'E')) AS v(id, name)")
	if err != nil {
		t.Fatal(err)
	}
	if got, err = e.MatchFiles(ctx, s3, s3.Files(), []string{"id"}, narrow, false); err != nil {
		t.Fatal(err)
	}
	want(t, "an INTEGER key against BIGINT files", paths(got), paths(f3))
	none, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(7 AS BIGINT), 'g'), (CAST(8 AS BIGINT), 'h')) AS v(id, name)")
	if err != nil {
		t.Fatal(err)
	}
	if got, err = e.MatchFiles(ctx, s3, s3.Files(), []string{"id"}, none, false); err != nil || len(got) != 0 {
		t.Fatalf("keys no file holds: %v %v, want no file", paths(got), err)
	}
	// By two keys.
	pair, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a'), (CAST(5 AS BIGINT), 'x')) AS v(id, name)")
	if err != nil {
		t.Fatal(err)
	}
	if got, err = e.MatchFiles(ctx, s3, s3.Files(), []string{"id", "name"}, pair, false); err != nil {
		t.Fatal(err)
	}
	want(t, "by (id, name)", paths(got), paths(s1.Files()))
}

func testMatchFilesPartitioned(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	// Partitioned by the key: partition values decide.
	_, p1 := table(t, e, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'x'), (CAST(2 AS BIGINT), 'y')) AS v(part, v)", "part")
	sel, err := e.View(ctx, "SELECT CAST(2 AS BIGINT) AS part")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.MatchFiles(ctx, p1, p1.Files(), []string{"part"}, sel, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PartitionValues["part"] == nil || *got[0].PartitionValues["part"] != "2" {
		t.Fatalf("partition match: %v", paths(got))
	}
	// Keyed by a partition column and a data column (a month's orders
	// by id): the same id in another partition is not a match, and a
	// key whose partition holds no file matches nothing.
	_, p2 := table(t, e, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a', 'x'), (CAST(2 AS BIGINT), 'a', 'y'), (CAST(2 AS BIGINT), 'b', 'z'), (CAST(3 AS BIGINT), 'c', 'w')) AS v(part, id, v)", "part")
	keys, err := e.View(ctx, "SELECT * FROM (VALUES (CAST(2 AS BIGINT), 'a'), (CAST(4 AS BIGINT), 'c')) AS v(part, id)")
	if err != nil {
		t.Fatal(err)
	}
	for _, nullSafe := range []bool{false, true} {
		got, err := e.MatchFiles(ctx, p2, p2.Files(), []string{"part", "id"}, keys, nullSafe)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].PartitionValues["part"] == nil || *got[0].PartitionValues["part"] != "2" {
			t.Fatalf("partition and data key match (null-safe %v): %v, want the file of part=2 only", nullSafe, paths(got))
		}
	}
}

func testDedupe(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	rel, err := e.View(ctx, "SELECT * FROM (VALUES "+
		"(CAST(1 AS BIGINT), 'old', CAST(1 AS BIGINT), CAST(9 AS BIGINT)), (CAST(1 AS BIGINT), 'new', CAST(2 AS BIGINT), CAST(0 AS BIGINT)), "+
		"(CAST(2 AS BIGINT), 'b1', CAST(5 AS BIGINT), CAST(1 AS BIGINT)), (CAST(2 AS BIGINT), 'b2', CAST(5 AS BIGINT), CAST(2 AS BIGINT)), "+
		"(CAST(NULL AS BIGINT), 'n1', CAST(1 AS BIGINT), CAST(1 AS BIGINT)), (CAST(NULL AS BIGINT), 'n2', CAST(1 AS BIGINT), CAST(1 AS BIGINT))) AS v(id, name, seq, tie)")
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Dedupe(ctx, rel, []string{"id"}, []string{"seq", "tie"})
	if err != nil {
		t.Fatal(err)
	}
	// The greatest by seq, then tie; rows with a NULL key all kept; the
	// columns as they were.
	want(t, "deduplicated", query(t, e, "SELECT id, name, seq, tie FROM "+d.Name+" ORDER BY id NULLS FIRST, name"), []string{"NULL|n1|1|1", "NULL|n2|1|1", "1|new|2|0", "2|b2|5|2"})
	d2, err := e.Dedupe(ctx, rel, []string{"id", "seq"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, e, d2.Name); n != 5 {
		t.Fatalf("dedupe by (id, seq) without sequence: %d rows, want 5 (one per key, NULL keys kept)", n)
	}
}

func testUnion(t *testing.T, e engine.Engine) {
	u, err := e.UnionByName(t.Context(),
		"SELECT * FROM (VALUES (1, 'a')) AS v(id, name)",
		"SELECT * FROM (VALUES ('b', 2, true)) AS v(name, id, flag)")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Query(t.Context(), "SELECT * FROM "+u.Name+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range res.Columns {
		cols = append(cols, c.Name)
	}
	want(t, "columns", cols, []string{"id", "name", "flag"})
	want(t, "rows", render(res.Rows), []string{"1|a|NULL", "2|b|true"})
}

func testWindows(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var vals []string
	for i, m := range []int{0, 4, 5, 12, 59} {
		lit, err := e.Literal(base.Add(time.Duration(m) * time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, fmt.Sprintf("(%d, %s)", i, lit))
	}
	tsType, err := e.SQLType(delta.Primitive(delta.TypeTimestamp))
	if err != nil {
		t.Fatal(err)
	}
	src, err := e.View(ctx, "SELECT * FROM (VALUES "+strings.Join(vals, ", ")+", (9, CAST(NULL AS "+tsType+"))) AS v(id, ts)")
	if err != nil {
		t.Fatal(err)
	}
	ms := func(m int) int64 { return base.Add(time.Duration(m) * time.Minute).UnixMilli() }
	// Tumbling 10-minute windows ending in (0:00, 0:20].
	tw, err := e.ExpandWindows(ctx, src.Name, engine.Windows{Time: "ts", Size: 10 * time.Minute, Slide: 10 * time.Minute, After: ms(0), Until: ms(20)})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "tumbling", query(t, e, "SELECT id, window_start, window_end FROM "+tw.Name+" ORDER BY id"), []string{
		"0|2026-01-01 00:00:00.000|2026-01-01 00:10:00.000",
		"1|2026-01-01 00:00:00.000|2026-01-01 00:10:00.000",
		"2|2026-01-01 00:00:00.000|2026-01-01 00:10:00.000",
		"3|2026-01-01 00:10:00.000|2026-01-01 00:20:00.000",
	})
	// Sliding: 10 minutes every 5, ends in (0:05, 0:15]: each row in the
	// windows that hold it, once per window.
	sw, err := e.ExpandWindows(ctx, src.Name, engine.Windows{Time: "ts", Size: 10 * time.Minute, Slide: 5 * time.Minute, After: ms(5), Until: ms(15)})
	if err != nil {
		t.Fatal(err)
	}
	want(t, "sliding", query(t, e, "SELECT id, window_end FROM "+sw.Name+" ORDER BY id, window_end"), []string{
		"0|2026-01-01 00:10:00.000",
		"1|2026-01-01 00:10:00.000",
		"2|2026-01-01 00:10:00.000",
		"2|2026-01-01 00:15:00.000",
		"3|2026-01-01 00:15:00.000",
	})
	// Epoch milliseconds agree with Go's.
	want(t, "epoch millis", query(t, e, "SELECT "+e.EpochMillis("ts")+" FROM "+src.Name+" WHERE id = 3"), []string{strconv.FormatInt(ms(12), 10)})
	if _, err := e.ExpandWindows(ctx, src.Name, engine.Windows{Time: "ts", Size: 10 * time.Minute, Slide: 3 * time.Minute, Until: ms(20)}); err == nil {
		t.Fatal("a size that is not a multiple of the slide was accepted")
	}
}

func testRelease(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	a, err := e.Materialize(ctx, "SELECT 1 AS x")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.View(ctx, "SELECT x + 1 AS y FROM "+a.Name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.Materialize(ctx, "SELECT 2 AS x")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name == b.Name || a.Name == c.Name || b.Name == c.Name {
		t.Fatalf("relations share names: %s %s %s", a.Name, b.Name, c.Name)
	}
	want(t, "view over table", query(t, e, "SELECT y FROM "+b.Name), []string{"2"})
	if err := e.Release(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Query(ctx, "SELECT * FROM "+a.Name); err == nil {
		t.Fatalf("%s is readable after Release", a.Name)
	}
	if _, err := e.Query(ctx, "SELECT * FROM "+b.Name); err == nil {
		t.Fatalf("%s is readable after Release", b.Name)
	}
	if err := e.Release(ctx, a); err != nil {
		t.Fatalf("second release: %v", err)
	}
	want(t, "other relation kept", query(t, e, "SELECT x FROM "+c.Name), []string{"2"})
	// A materialized relation keeps its rows when what it read changes.
	if err := e.Bind(ctx, "silver.src", mustSnap(t, e, "SELECT CAST(1 AS BIGINT) AS v"), nil); err != nil {
		t.Fatal(err)
	}
	m, err := e.Materialize(ctx, "SELECT v FROM silver.src")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Bind(ctx, "silver.src", mustSnap(t, e, "SELECT CAST(7 AS BIGINT) AS v"), nil); err != nil {
		t.Fatal(err)
	}
	want(t, "materialized rows", query(t, e, "SELECT v FROM "+m.Name), []string{"1"})
	// A failed operation leaves no relation behind and names nothing.
	if _, err := e.Materialize(ctx, "SELECT no_such_column FROM "+c.Name); err == nil {
		t.Fatal("Materialize of a bad query succeeded")
	}
}

func testLiterals(t *testing.T, e engine.Engine) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	var sel []string
	for _, v := range []any{nil, true, int64(-42), 1.25, "it's ü", at} {
		lit, err := e.Literal(v)
		if err != nil {
			t.Fatalf("Literal(%v): %v", v, err)
		}
		sel = append(sel, lit)
	}
	want(t, "literals", query(t, e, "SELECT "+strings.Join(sel, ", ")), []string{"NULL|true|-42|1.25|it's ü|2026-03-04 05:06:07.890"})
	if _, err := e.Literal(struct{}{}); err == nil {
		t.Fatal("Literal of a struct succeeded")
	}
	q := e.Quote(`odd "name"`)
	want(t, "quoted identifier", query(t, e, "SELECT x AS "+q+" FROM (VALUES (1)) AS v(x)"), []string{"1"})
	res, err := e.Query(t.Context(), "SELECT 1 AS "+q)
	if err != nil || res.Columns[0].Name != `odd "name"` {
		t.Fatalf("column named by Quote: %+v %v", res, err)
	}
}

func testErrors(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	if _, err := e.Query(ctx, "SELEC 1"); err == nil {
		t.Fatal("a syntax error ran")
	}
	if _, err := e.Query(ctx, "SELECT * FROM silver.no_such_table"); err == nil {
		t.Fatal("a missing table was read")
	}
	if err := e.CheckQuery(ctx, "SELECT 1"); err != nil {
		t.Fatalf("CheckQuery(SELECT 1): %v", err)
	}
	for _, q := range []string{"CREATE TABLE x AS SELECT 1", "SELECT 1; SELECT 2", "DROP TABLE x"} {
		if err := e.CheckQuery(ctx, q); err == nil {
			t.Fatalf("CheckQuery(%q) accepted it", q)
		}
	}
	if _, err := e.Write(ctx, "SELECT no_such_column", engine.Target{Store: newStore(t)}); err == nil {
		t.Fatal("Write of a bad query succeeded")
	}
	if _, err := e.SQLType(delta.DataType{Name: "no-such-type"}); err == nil {
		t.Fatal("SQLType of an unknown type succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Query(cancelled, "SELECT 1"); err == nil {
		t.Fatal("a query ran under a cancelled context")
	} else if !errors.Is(err, context.Canceled) && !strings.Contains(strings.ToLower(err.Error()), "cancel") && !strings.Contains(strings.ToLower(err.Error()), "interrupt") {
		t.Fatalf("cancelled query: %v, want a cancellation error", err)
	}
}

func mustSnap(t *testing.T, e engine.Engine, sql string) *delta.Snapshot {
	t.Helper()
	_, s := table(t, e, sql)
	return s
}

func mustKey(t *testing.T, path string) string {
	t.Helper()
	k, err := delta.FileKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func paths(adds []*delta.Add) []string {
	out := make([]string, len(adds))
	for i, a := range adds {
		out[i] = a.Path
	}
	slices.Sort(out)
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// testApplyChanges: change rows out of order, a delete, a delete at the same
// sequence value as an upsert (the delete wins), a duplicate, a change of
// an untracked column (SCD 2: in place) and a truncate.
func testApplyChanges(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	changes, err := e.View(ctx, `SELECT * FROM (VALUES
		(1, 'b', 'n1', 2, 'u'), (1, 'a', 'n1', 1, 'u'), (1, 'b', 'n2', 3, 'u'), (1, 'b', 'n2', 3, 'u'),
		(2, 'x', 'n1', 1, 'u'), (2, 'x', 'n1', 2, 'd'),
		(3, 'y', 'n1', 1, 'u'), (3, 'z', 'n1', 1, 'd'),
		(4, 'w', 'n1', 1, 'u')) AS c(id, v, note, seq, op)`)
	if err != nil {
		t.Fatal(err)
	}
	spec := engine.ChangeSpec{SCD: 1, Keys: []string{"id"}, Sequence: []string{"seq"}, Columns: []string{"id", "v", "note", "seq"}, Delete: "op = 'd'"}
	scd1, err := e.ApplyChanges(ctx, changes, spec)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "scd 1", query(t, e, "SELECT * FROM "+scd1.Name+" ORDER BY id"), []string{"1|b|n2|3", "4|w|n1|1"})
	spec.SCD, spec.Tracked, spec.StartAt, spec.EndAt = 2, []string{"v"}, "start_at", "end_at"
	scd2, err := e.ApplyChanges(ctx, changes, spec)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "scd 2", query(t, e, "SELECT id, v, note, start_at, end_at FROM "+scd2.Name+" ORDER BY id, start_at"), []string{
		"1|a|n1|1|2", "1|b|n2|2|NULL", "2|x|n1|1|2", "4|w|n1|1|NULL"})
	// A truncate at 5 deletes every key as of 5; a later upsert comes back.
	trunc, err := e.View(ctx, "SELECT * FROM "+changes.Name+` UNION ALL SELECT * FROM (VALUES
		(CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 5, 't'), (4, 'w2', 'n1', 6, 'u')) AS t(id, v, note, seq, op)`)
	if err != nil {
		t.Fatal(err)
	}
	spec.Truncate = "op = 't'"
	spec.SCD = 1
	got, err := e.ApplyChanges(ctx, trunc, spec)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "scd 1 truncated", query(t, e, "SELECT * FROM "+got.Name+" ORDER BY id"), []string{"4|w2|n1|6"})
	if _, err := e.ApplyChanges(ctx, changes, engine.ChangeSpec{SCD: 3, Keys: []string{"id"}, Sequence: []string{"seq"}, Columns: []string{"id"}}); err == nil {
		t.Fatal("scd 3 was accepted")
	}
}

// testChangeFeed: BindChanges reads the change data feed delta.Table.ChangeFeed
// lists: inserts for the files an append added, deletes for the files a
// commit removed (read at the version before), the rows of change data
// files with their own _change_type and their partition values, each with
// its commit's version and timestamp; an empty feed is an empty relation
// with the feed's columns.
func testChangeFeed(t *testing.T, e engine.Engine) {
	ctx := t.Context()
	tbl, err := delta.OpenTable(ctx, newStore(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Write(ctx, "SELECT * FROM (VALUES (CAST(1 AS BIGINT), 'a', 'x'), (CAST(2 AS BIGINT), 'b', 'y')) AS v(id, name, p)", engine.Target{Store: tbl.Store(), PartitionColumns: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Create(ctx, res.Schema, &delta.CreateOptions{PartitionColumns: []string{"p"}, Configuration: map[string]string{delta.PropEnableChangeDataFeed: "true"}}); err != nil {
		t.Fatal(err)
	}
	cr, err := tbl.Append(ctx, res.Adds, nil) // version 1: inserts a, b
	if err != nil {
		t.Fatal(err)
	}
	first := res.Adds
	// Version 2: an update of b, described by change data files.
	snap := cr.Snapshot
	upd, err := e.Write(ctx, "SELECT * FROM (VALUES (CAST(2 AS BIGINT), 'B', 'y')) AS v(id, name, p)", engine.Target{Store: tbl.Store(), PartitionColumns: []string{"p"}, Schema: snap.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := tbl.Store().Sub(delta.ChangeDataDir)
	if err != nil {
		t.Fatal(err)
	}
	cdcSchema := &delta.StructType{Fields: append(append([]delta.StructField{}, snap.Schema().Fields...), delta.StructField{Name: delta.ColChangeType, Type: delta.Primitive(delta.TypeString), Nullable: true})}
	cdc, err := e.Write(ctx, "SELECT * FROM (VALUES (CAST(2 AS BIGINT), 'b', 'y', '"+delta.ChangeUpdatePreimage+"'), (CAST(2 AS BIGINT), 'B', 'y', '"+delta.ChangeUpdatePostimage+"')) AS v(id, name, p, "+delta.ColChangeType+")",
		engine.Target{Store: sub, PartitionColumns: []string{"p"}, Schema: cdcSchema})
	if err != nil {
		t.Fatal(err)
	}
	var cdcs []*delta.AddCDCFile
	for _, a := range cdc.Adds {
		cdcs = append(cdcs, &delta.AddCDCFile{Path: delta.ChangeDataDir + "/" + a.Path, PartitionValues: a.PartitionValues, Size: a.Size})
	}
	tx := tbl.Begin(snap)
	tx.AddFiles(upd.Adds...)
	for _, a := range first {
		if a.PartitionValues["p"] != nil && *a.PartitionValues["p"] == "y" {
			tx.RemoveAdd(a, true)
		}
	}
	tx.AddChangeData(cdcs...)
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Version 3: a delete of partition x, without change data files.
	snap, err = tbl.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx = tbl.Begin(snap)
	for _, a := range first {
		if a.PartitionValues["p"] != nil && *a.PartitionValues["p"] == "x" {
			tx.RemoveAdd(a, true)
		}
	}
	cr, err = tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tbl.ChangeFeed(ctx, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.BindChanges(ctx, "silver.t_changes", cr.Snapshot, files); err != nil {
		t.Fatal(err)
	}
	got := query(t, e, "SELECT id, name, p, _change_type, _commit_version FROM silver.t_changes ORDER BY _commit_version, id, _change_type")
	want(t, "change feed of versions 1-3", got, []string{
		"1|a|x|insert|1", "2|b|y|insert|1",
		"2|B|y|update_postimage|2", "2|b|y|update_preimage|2",
		"1|a|x|delete|3",
	})
	ts := map[string]string{}
	for _, f := range files {
		ts[strconv.FormatInt(f.Version, 10)] = f.Timestamp.UTC().Format("2006-01-02 15:04:05.000")
	}
	for _, row := range query(t, e, "SELECT DISTINCT _commit_version, _commit_timestamp FROM silver.t_changes") {
		v, at, _ := strings.Cut(row, "|")
		if ts[v] != at {
			t.Errorf("version %s: _commit_timestamp %s, want the commit's %s", v, at, ts[v])
		}
	}
	// An empty feed: no rows, the same columns.
	if err := e.BindChanges(ctx, "silver.t_changes", cr.Snapshot, nil); err != nil {
		t.Fatal(err)
	}
	r, err := e.Query(ctx, "SELECT * FROM silver.t_changes")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range r.Columns {
		cols = append(cols, c.Name)
	}
	want(t, "empty feed columns", cols, []string{"id", "name", "p", "_change_type", "_commit_version", "_commit_timestamp"})
	if len(r.Rows) != 0 {
		t.Errorf("empty feed: %d rows", len(r.Rows))
	}
}
