package delta

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/medallionhq/medallion/delta/internal/peertables"
	"github.com/medallionhq/medallion/storage"
)

// goldenState replays a golden table's log without the Snapshot code: the
// newest checkpoint found by listing, then the JSON commits after it.
// It returns the metaData and the active adds at the latest version.
func goldenState(t *testing.T, table string) (*Metadata, []*Add) {
	t.Helper()
	logDir := goldenPath(t, table, "_delta_log")
	ents, err := os.ReadDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	var commits []string
	ckpt, ckptVersion := "", int64(-1)
	for _, e := range ents {
		name := e.Name()
		v, err := strconv.ParseInt(strings.SplitN(name, ".", 2)[0], 10, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".checkpoint.parquet") && v > ckptVersion:
			ckpt, ckptVersion = name, v
		case strings.HasSuffix(name, ".json") && strings.Count(name, ".") == 1:
			commits = append(commits, name)
		}
	}
	sort.Strings(commits)
	var meta *Metadata
	files := map[string]*Add{}
	apply := func(acts []Action) {
		for _, a := range acts {
			switch {
			case a.MetaData != nil:
				meta = a.MetaData
			case a.Add != nil:
				files[a.Add.Path+"\x00"+a.Add.DeletionVector.UniqueID()] = a.Add
			case a.Remove != nil:
				delete(files, a.Remove.Path+"\x00"+a.Remove.DeletionVector.UniqueID())
			}
		}
	}
	if ckpt != "" {
		apply(readCheckpointFile(t, filepath.Join(logDir, ckpt)))
	}
	for _, c := range commits {
		v, _ := strconv.ParseInt(strings.TrimSuffix(c, ".json"), 10, 64)
		if v <= ckptVersion {
			continue
		}
		b, err := os.ReadFile(filepath.Join(logDir, c))
		if err != nil {
			t.Fatal(err)
		}
		acts, err := ParseActions(c, b)
		if err != nil {
			t.Fatal(err)
		}
		apply(acts)
	}
	if meta == nil {
		t.Fatalf("%s: no metaData", table)
	}
	adds := make([]*Add, 0, len(files))
	for _, a := range files {
		adds = append(adds, a)
	}
	slices.SortFunc(adds, func(a, b *Add) int { return strings.Compare(a.Path, b.Path) })
	return meta, adds
}

func readGoldenFile(t *testing.T, table string, schema *StructType, meta *Metadata, add *Add) []Row {
	t.Helper()
	key, err := url.PathUnescape(add.Path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(goldenPath(t, table, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	// Files and partition values use physical names (column mapping).
	parts := make([]string, len(meta.PartitionColumns))
	for i, c := range meta.PartitionColumns {
		parts[i] = schema.PhysicalColumn(c)
	}
	rows, err := ReadDataFile(context.Background(), bytes.NewReader(b), int64(len(b)), schema.PhysicalSchema(), parts, add.PartitionValues)
	if err != nil {
		t.Fatalf("%s/%s: %v", table, add.Path, err)
	}
	return rows
}

// formatRows renders rows with FormatValue and sorts them.
func formatRows(rows []Row, schema *StructType) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		rec := make([]string, len(r))
		for j, v := range r {
			rec[j] = FormatValue(v, schema.Fields[j].Type)
		}
		out[i] = rec
	}
	sortRecords(out)
	return out
}

func sortRecords(recs [][]string) {
	slices.SortFunc(recs, func(a, b []string) int { return slices.Compare(a, b) })
}

// TestReadDataFileGolden reads every active file of the tables Spark and
// delta-rs wrote, with the log replayed by the test itself, and compares
// with the expected rows.
func TestReadDataFileGolden(t *testing.T) {
	for _, pr := range peertables.Reads {
		table := pr.Engine + "/" + pr.Table
		t.Run(table, func(t *testing.T) {
			meta, adds := goldenState(t, table)
			schema, err := meta.Schema()
			if err != nil {
				t.Fatal(err)
			}
			var rows []Row
			for _, a := range adds {
				fileRows := readGoldenFile(t, table, schema, meta, a)
				if a.DeletionVector != nil {
					// Rows a deletion vector deletes are not in the table.
					store, err := storage.Open(context.Background(), goldenPath(t, table))
					if err != nil {
						t.Fatal(err)
					}
					dv, err := ReadDeletionVector(context.Background(), store, a.DeletionVector)
					if err != nil {
						t.Fatal(err)
					}
					var kept []Row
					for i, r := range fileRows {
						if !dv.Contains(uint64(i)) {
							kept = append(kept, r)
						}
					}
					fileRows = kept
				}
				rows = append(rows, fileRows...)
			}
			got := formatRows(rows, schema)
			var names []string
			for _, f := range schema.Fields {
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != pr.Columns {
				t.Fatalf("schema columns %v, want %s", names, pr.Columns)
			}
			var want [][]string
			for _, r := range pr.Rows {
				want = append(want, strings.Split(r, ","))
			}
			sortRecords(want)
			if pr.Table == "types" {
				// Nested values hold commas: compare whole rows.
				want = nil
				for _, r := range pr.Rows {
					want = append(want, []string{r})
				}
				for i := range got {
					got[i] = []string{strings.Join(got[i], ",")}
				}
				sortRecords(want)
				sortRecords(got)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("rows differ\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestReadDataFileEdgeTimestamps(t *testing.T) {
	meta, adds := goldenState(t, "spark/edge_timestamps")
	schema, _ := meta.Schema()
	var got []time.Time
	for _, a := range adds {
		// Spark stores them as INT96, whose int64-nanosecond conversion
		// overflows for the year 9999.
		b, err := os.ReadFile(goldenPath(t, "spark/edge_timestamps", a.Path))
		if err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if c := f.Root().Column("BIG_DATE"); c == nil || c.Type().Kind() != parquet.Int96 {
			t.Fatalf("%s: BIG_DATE is not INT96", a.Path)
		}
		for _, r := range readGoldenFile(t, "spark/edge_timestamps", schema, meta, a) {
			tm, ok := r[0].(time.Time)
			if !ok {
				t.Fatalf("BIG_DATE is %T", r[0])
			}
			if tm.Location() != time.UTC {
				t.Errorf("BIG_DATE not in UTC: %v", tm.Location())
			}
			got = append(got, tm)
		}
	}
	slices.SortFunc(got, func(a, b time.Time) int { return a.Compare(b) })
	want := []time.Time{time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("BIG_DATE = %v, want %v (1816 would mean int64-nanosecond overflow)", got, want)
	}
}

func TestReadDataFileGoTypes(t *testing.T) {
	meta, adds := goldenState(t, "spark/types")
	schema, _ := meta.Schema()
	var row Row
	for _, a := range adds {
		for _, r := range readGoldenFile(t, "spark/types", schema, meta, a) {
			if r[0] == int32(0) {
				row = r
			}
		}
	}
	if row == nil {
		t.Fatal("no row with integer 0")
	}
	want := Row{
		int32(0), nil, true, int8(-7), int16(-300), int64(9007199254740993), float32(1.5), 1.234, "-5.67800", "string", []byte("bytes"),
		time.Date(2022, 10, 24, 0, 0, 0, 0, time.UTC), time.Date(2022, 10, 24, 22, 59, 32, 846706000, time.UTC),
		map[string]any{"struct_element": "struct_value"},
		map[string]any{"map_key": "map_value"},
		[]any{"array_value"},
		map[string]any{"struct_element": map[string]any{"nested_struct_element": "nested_struct_value"}},
		map[string]any{"struct_element": []any{map[string]any{"map_key": "map_value"}}},
	}
	if !reflect.DeepEqual(row, want) {
		t.Errorf("row\n got %#v\nwant %#v", row, want)
	}
}

func TestReadDataFileIgnoresExtraColumns(t *testing.T) {
	meta, adds := goldenState(t, "spark/cdf")
	schema, _ := meta.Schema()
	seen := false
	for _, a := range adds {
		key, _ := url.PathUnescape(a.Path)
		b, err := os.ReadFile(goldenPath(t, "spark/cdf", key))
		if err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if f.Root().Column("_change_type") == nil {
			continue
		}
		seen = true
		for _, r := range readGoldenFile(t, "spark/cdf", schema, meta, a) {
			if len(r) != 3 {
				t.Fatalf("row has %d values, want 3", len(r))
			}
			d, ok := r[2].(time.Time)
			if !ok || d.Format("2006-01-02") != *a.PartitionValues["birthday"] {
				t.Errorf("birthday = %v, partition value %s", r[2], *a.PartitionValues["birthday"])
			}
		}
	}
	if !seen {
		t.Fatal("no active file with a _change_type column")
	}
}

// writeFlat writes a Parquet file with the given top-level columns and rows
// of values (nil for null), every column optional.
func writeFlat(t *testing.T, cols []string, nodes []parquet.Node, rows [][]parquet.Value) []byte {
	t.Helper()
	g := parquet.Group{}
	for i, c := range cols {
		g[c] = parquet.Optional(nodes[i])
	}
	schema := parquet.NewSchema("test", g)
	// Columns are sorted by name in a parquet.Group.
	order := make([]int, len(cols))
	for i, p := range schema.Columns() {
		order[i] = slices.Index(cols, p[0])
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema)
	for _, r := range rows {
		row := make(parquet.Row, len(cols))
		for ci, src := range order {
			v := r[src]
			if v.IsNull() {
				row[ci] = parquet.NullValue().Level(0, 0, ci)
			} else {
				row[ci] = v.Level(0, 1, ci)
			}
		}
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func mustParseSchema(t *testing.T, s string) *StructType {
	t.Helper()
	st, err := ParseSchema(s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func schemaOf(fields ...StructField) *StructType { return &StructType{Fields: fields} }

func fieldOf(name string, typ DataType) StructField {
	return StructField{Name: name, Type: typ, Nullable: true}
}

func int96Of(tm time.Time) deprecated.Int96 {
	days := tm.Unix()/86400 + 2440588
	if tm.Unix()%86400 < 0 {
		days--
	}
	midnight := time.Unix((days-2440588)*86400, 0)
	nanos := uint64(tm.Sub(midnight))
	return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(days)}
}

func TestReadDataFileTimestamps(t *testing.T) {
	tm := time.Date(2023, 5, 6, 7, 8, 9, 123456789, time.UTC)
	old := time.Date(1900, 1, 2, 3, 4, 5, 600000000, time.UTC)
	data := writeFlat(t,
		[]string{"ms", "us", "ns", "i96", "ntz", "plain"},
		[]parquet.Node{
			parquet.Timestamp(parquet.Millisecond), parquet.Timestamp(parquet.Microsecond), parquet.Timestamp(parquet.Nanosecond),
			parquet.Leaf(parquet.Int96Type), parquet.TimestampAdjusted(parquet.Microsecond, false), parquet.Leaf(parquet.Int64Type),
		},
		[][]parquet.Value{
			{parquet.Int64Value(tm.UnixMilli()), parquet.Int64Value(tm.UnixMicro()), parquet.Int64Value(tm.UnixNano()),
				parquet.Int96Value(int96Of(tm)), parquet.Int64Value(tm.UnixMicro()), parquet.Int64Value(tm.UnixMicro())},
			{parquet.Int64Value(old.UnixMilli()), parquet.Int64Value(old.UnixMicro()), parquet.NullValue(),
				parquet.Int96Value(int96Of(old)), parquet.NullValue(), parquet.NullValue()},
		})
	ts := Primitive(TypeTimestamp)
	schema := schemaOf(fieldOf("ms", ts), fieldOf("US", ts), fieldOf("ns", ts), fieldOf("i96", ts),
		fieldOf("ntz", Primitive(TypeTimestampNTZ)), fieldOf("plain", ts), fieldOf("absent", ts))
	rows, err := ReadDataFile(context.Background(), bytes.NewReader(data), int64(len(data)), schema, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"2023-05-06T07:08:09.123000Z", "2023-05-06T07:08:09.123456Z", "2023-05-06T07:08:09.123456Z", "2023-05-06T07:08:09.123456Z",
			"2023-05-06T07:08:09.123456", "2023-05-06T07:08:09.123456Z", ""},
		{"1900-01-02T03:04:05.600000Z", "1900-01-02T03:04:05.600000Z", "", "1900-01-02T03:04:05.600000Z", "", "", ""},
	}
	for i, r := range rows {
		for j, v := range r {
			if got := FormatValue(v, schema.Fields[j].Type); got != want[i][j] {
				t.Errorf("row %d %s = %q, want %q", i, schema.Fields[j].Name, got, want[i][j])
			}
		}
	}
	if ns := rows[0][2].(time.Time); ns.Nanosecond() != 123456789 {
		t.Errorf("nanosecond timestamp lost precision: %v", ns)
	}
}

func decimalBytes(unscaled int64, n int) []byte {
	b := make([]byte, n)
	u := uint64(unscaled)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(u)
		u >>= 8
		if unscaled < 0 && i < n-8 {
			b[i] = 0xff
		}
	}
	return b
}

func TestReadDataFileDecimals(t *testing.T) {
	data := writeFlat(t,
		[]string{"d32", "d64", "flba", "ba", "wider"},
		[]parquet.Node{
			parquet.Decimal(5, 8, parquet.Int32Type), parquet.Decimal(2, 18, parquet.Int64Type),
			parquet.Decimal(3, 20, parquet.FixedLenByteArrayType(9)), parquet.Decimal(4, 30, parquet.ByteArrayType),
			parquet.Decimal(1, 9, parquet.Int32Type),
		},
		[][]parquet.Value{
			{parquet.Int32Value(-567800), parquet.Int64Value(12345), parquet.FixedLenByteArrayValue(decimalBytes(-1, 9)),
				parquet.ByteArrayValue(decimalBytes(123456789012345, 7)), parquet.Int32Value(15)},
			{parquet.Int32Value(5), parquet.Int64Value(-1), parquet.FixedLenByteArrayValue(decimalBytes(1000, 9)),
				parquet.ByteArrayValue([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0}), parquet.NullValue()},
		})
	schema := schemaOf(fieldOf("d32", Decimal(8, 5)), fieldOf("d64", Decimal(18, 2)), fieldOf("flba", Decimal(20, 3)),
		fieldOf("ba", Decimal(30, 4)), fieldOf("wider", Decimal(10, 3)))
	rows, err := ReadDataFile(context.Background(), bytes.NewReader(data), int64(len(data)), schema, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{"-5.67800", "123.45", "-0.001", "12345678901.2345", "1.500"},
		{"0.00005", "-0.01", "1.000", "-236118324143482260.6848", nil},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %#v\nwant %#v", rows, want)
	}
}

func TestReadDataFilePrimitivesAndMissingColumns(t *testing.T) {
	data := writeFlat(t,
		[]string{"b", "s", "i", "l", "f", "d", "bin", "str", "day", "_change_type"},
		[]parquet.Node{
			parquet.Leaf(parquet.BooleanType), parquet.Int(16), parquet.Int(32), parquet.Int(64),
			parquet.Leaf(parquet.FloatType), parquet.Leaf(parquet.DoubleType), parquet.Leaf(parquet.ByteArrayType),
			parquet.String(), parquet.Date(), parquet.String(),
		},
		[][]parquet.Value{
			{parquet.BooleanValue(true), parquet.Int32Value(-3), parquet.Int32Value(7), parquet.Int64Value(1 << 40),
				parquet.FloatValue(1.5), parquet.DoubleValue(10), parquet.ByteArrayValue([]byte{0xca, 0xfe}),
				parquet.ByteArrayValue([]byte("héllo")), parquet.Int32Value(19358), parquet.ByteArrayValue([]byte("insert"))},
			{parquet.NullValue(), parquet.NullValue(), parquet.NullValue(), parquet.NullValue(), parquet.NullValue(),
				parquet.DoubleValue(math.Inf(-1)), parquet.NullValue(), parquet.NullValue(), parquet.NullValue(), parquet.NullValue()},
		})
	schema := schemaOf(fieldOf("B", Primitive(TypeBoolean)), fieldOf("s", Primitive(TypeShort)), fieldOf("i", Primitive(TypeInteger)),
		fieldOf("l", Primitive(TypeLong)), fieldOf("f", Primitive(TypeFloat)), fieldOf("d", Primitive(TypeDouble)),
		fieldOf("bin", Primitive(TypeBinary)), fieldOf("str", Primitive(TypeString)), fieldOf("day", Primitive(TypeDate)),
		fieldOf("missing", Primitive(TypeString)), fieldOf("widened", Primitive(TypeLong)))
	rows, err := ReadDataFile(context.Background(), bytes.NewReader(data), int64(len(data)), schema, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{true, int16(-3), int32(7), int64(1 << 40), float32(1.5), 10.0, []byte{0xca, 0xfe}, "héllo",
			time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), nil, nil},
		{nil, nil, nil, nil, nil, math.Inf(-1), nil, nil, nil, nil, nil},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %#v\nwant %#v", rows, want)
	}
	var got []string
	for j, v := range rows[0] {
		got = append(got, FormatValue(v, schema.Fields[j].Type))
	}
	wantText := []string{"true", "-3", "7", "1099511627776", "1.5", "10.0", "cafe", "héllo", "2023-01-01", "", ""}
	if !slices.Equal(got, wantText) {
		t.Errorf("formatted = %q, want %q", got, wantText)
	}

	// A schema type the file cannot give is an error, not a silent nil.
	bad := schemaOf(fieldOf("str", Primitive(TypeLong)))
	if _, err := ReadDataFile(context.Background(), bytes.NewReader(data), int64(len(data)), bad, nil, nil); err == nil || !strings.HasPrefix(err.Error(), "delta: ") {
		t.Errorf("reading a string column as long: err = %v", err)
	}
}

type nestedInner struct {
	A *int32  `parquet:"a,optional"`
	B *string `parquet:"b,optional"`
}

type nestedRow struct {
	ID      int64             `parquet:"id"`
	Tags    []string          `parquet:"tags,list"`
	Bare    []int32           `parquet:"bare"`
	Props   map[string]string `parquet:"props"`
	Inner   *nestedInner      `parquet:"inner,optional"`
	Structs []nestedInner     `parquet:"structs,list"`
}

func TestReadDataFileNested(t *testing.T) {
	rows := []nestedRow{
		{ID: 1, Tags: []string{"x", "y"}, Bare: []int32{1, 2, 3}, Props: map[string]string{"k": "v", "a": "b"},
			Inner: &nestedInner{A: ptrTo(int32(5))}, Structs: []nestedInner{{B: ptrTo("s1")}, {A: ptrTo(int32(2))}}},
		{ID: 2},
		{ID: 3, Tags: []string{}, Inner: &nestedInner{}, Structs: []nestedInner{{}}},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	schema := mustParseSchema(t, `{"type":"struct","fields":[
		{"name":"id","type":"long","nullable":false,"metadata":{}},
		{"name":"tags","type":{"type":"array","elementType":"string","containsNull":true},"nullable":true,"metadata":{}},
		{"name":"bare","type":{"type":"array","elementType":"integer","containsNull":false},"nullable":true,"metadata":{}},
		{"name":"props","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":true,"metadata":{}},
		{"name":"inner","type":{"type":"struct","fields":[
			{"name":"b","type":"string","nullable":true,"metadata":{}},
			{"name":"a","type":"integer","nullable":true,"metadata":{}},
			{"name":"c","type":"double","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}},
		{"name":"structs","type":{"type":"array","elementType":{"type":"struct","fields":[
			{"name":"a","type":"integer","nullable":true,"metadata":{}},
			{"name":"b","type":"string","nullable":true,"metadata":{}}]},"containsNull":true},"nullable":true,"metadata":{}}]}`)
	got, err := ReadDataFile(context.Background(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), schema, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var text [][]string
	for _, r := range got {
		var rec []string
		for j, v := range r {
			rec = append(rec, FormatValue(v, schema.Fields[j].Type))
		}
		text = append(text, rec)
	}
	want := [][]string{
		{"1", `["x","y"]`, `[1,2,3]`, `{"a":"b","k":"v"}`, `{"b":null,"a":5,"c":null}`, `[{"a":null,"b":"s1"},{"a":2,"b":null}]`},
		{"2", `[]`, `[]`, `{}`, ``, `[]`},
		{"3", `[]`, `[]`, `{}`, `{"b":null,"a":null,"c":null}`, `[{"a":null,"b":null}]`},
	}
	if !reflect.DeepEqual(text, want) {
		t.Errorf("rows\n got %q\nwant %q", text, want)
	}
}

// TestReadDataFileStructWithoutKnownFields reads a struct none of whose
// schema fields is in the file: nulls must still line up with rows.
func TestReadDataFileStructWithoutKnownFields(t *testing.T) {
	rows := []nestedRow{{ID: 1, Inner: &nestedInner{A: ptrTo(int32(1))}}, {ID: 2}, {ID: 3, Inner: &nestedInner{}}}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	schema := mustParseSchema(t, `{"type":"struct","fields":[
		{"name":"inner","type":{"type":"struct","fields":[{"name":"zzz","type":"string","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}},
		{"name":"id","type":"long","nullable":false,"metadata":{}}]}`)
	got, err := ReadDataFile(context.Background(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), schema, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{map[string]any{"zzz": nil}, int64(1)}, {nil, int64(2)}, {map[string]any{"zzz": nil}, int64(3)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %#v\nwant %#v", got, want)
	}
}

func TestReadDataFilePartitionValues(t *testing.T) {
	data := writeFlat(t, []string{"v"}, []parquet.Node{parquet.Int(32)},
		[][]parquet.Value{{parquet.Int32Value(1)}, {parquet.Int32Value(2)}})
	schema := schemaOf(fieldOf("s", Primitive(TypeString)), fieldOf("v", Primitive(TypeInteger)), fieldOf("l", Primitive(TypeLong)),
		fieldOf("d", Primitive(TypeDouble)), fieldOf("b", Primitive(TypeBoolean)), fieldOf("day", Primitive(TypeDate)),
		fieldOf("ts", Primitive(TypeTimestamp)), fieldOf("ts2", Primitive(TypeTimestamp)), fieldOf("ts3", Primitive(TypeTimestamp)),
		fieldOf("dec", Decimal(6, 3)), fieldOf("nul", Primitive(TypeLong)), fieldOf("empty", Primitive(TypeInteger)),
		fieldOf("emptys", Primitive(TypeString)), fieldOf("by", Primitive(TypeByte)), fieldOf("absent", Primitive(TypeString)))
	parts := []string{"s", "L", "d", "b", "day", "ts", "ts2", "ts3", "dec", "nul", "empty", "emptys", "by", "absent"}
	pv := map[string]*string{
		"s": ptrTo("0012"), "l": ptrTo("-42"), "d": ptrTo("10"), "b": ptrTo("TRUE"), "day": ptrTo("2023-01-01"),
		"ts": ptrTo("2023-01-01 00:00:00"), "ts2": ptrTo("2023-01-01 12:30:45.123456"), "ts3": ptrTo("2023-01-01T12:30:45.5Z"),
		"dec": ptrTo("-5.6"), "nul": nil, "empty": ptrTo(""), "emptys": ptrTo(""), "by": ptrTo("-7"),
	}
	rows, err := ReadDataFile(context.Background(), bytes.NewReader(data), int64(len(data)), schema, parts, pv)
	if err != nil {
		t.Fatal(err)
	}
	want := Row{"0012", int32(1), int64(-42), 10.0, true, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 1, 1, 12, 30, 45, 123456000, time.UTC),
		time.Date(2023, 1, 1, 12, 30, 45, 500000000, time.UTC), "-5.600", nil, nil, "", int8(-7), nil}
	if len(rows) != 2 || !reflect.DeepEqual(rows[0], want) || rows[1][1] != int32(2) || rows[1][0] != "0012" {
		t.Errorf("rows = %#v\nwant %#v", rows, want)
	}

	for _, bad := range []struct {
		typ DataType
		v   string
	}{{Primitive(TypeInteger), "x"}, {Primitive(TypeBoolean), "yes"}, {Decimal(4, 1), "1.25"}, {Primitive(TypeDate), "01/02/2023"}, {Primitive(TypeByte), "300"}} {
		schema := schemaOf(fieldOf("p", bad.typ))
		_, err := ReadDataFile(context.Background(), bytes.NewReader(data), int64(len(data)), schema, []string{"p"}, map[string]*string{"p": ptrTo(bad.v)})
		if err == nil || !strings.Contains(err.Error(), `"p"`) {
			t.Errorf("partition value %q as %s: err = %v", bad.v, bad.typ, err)
		}
	}
}

func TestReadDataFileCorrupt(t *testing.T) {
	data := []byte("PAR1 definitely not a parquet file PAR1")
	_, err := ReadDataFile(context.Background(), bytes.NewReader(data), int64(len(data)), schemaOf(fieldOf("a", Primitive(TypeLong))), nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "delta: ") {
		t.Fatalf("err = %v", err)
	}
}

func TestFormatValue(t *testing.T) {
	a, b := 0.1, 0.2
	point3 := a + b
	arr := Primitive(TypeInteger)
	str := Primitive(TypeString)
	for _, tc := range []struct {
		v    any
		t    DataType
		want string
	}{
		{nil, Primitive(TypeString), ""},
		{true, Primitive(TypeBoolean), "true"},
		{int8(-1), Primitive(TypeByte), "-1"},
		{int64(9007199254740993), Primitive(TypeLong), "9007199254740993"},
		{10.0, Primitive(TypeDouble), "10.0"},
		{9.9, Primitive(TypeDouble), "9.9"},
		{-0.5, Primitive(TypeDouble), "-0.5"},
		{1e20, Primitive(TypeDouble), "1e+20"},
		{1.5e-7, Primitive(TypeDouble), "1.5e-07"},
		{point3, Primitive(TypeDouble), "0.30000000000000004"},
		{math.NaN(), Primitive(TypeDouble), "NaN"},
		{float32(1.1), Primitive(TypeFloat), "1.1"},
		{float32(3), Primitive(TypeFloat), "3.0"},
		{"-5.67800", Decimal(8, 5), "-5.67800"},
		{[]byte("bytes"), Primitive(TypeBinary), "6279746573"},
		{time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC), Primitive(TypeDate), "2021-01-02"},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), Primitive(TypeTimestamp), "9999-12-31T00:00:00.000000Z"},
		{time.Date(2022, 10, 24, 22, 59, 32, 846706999, time.FixedZone("x", 3600)), Primitive(TypeTimestamp), "2022-10-24T21:59:32.846706Z"},
		{[]any{int32(1), nil}, DataType{Name: TypeArray, ElementType: &arr}, "[1,null]"},
		{map[string]any{"b": "x\"y", "a": nil}, DataType{Name: TypeMap, KeyType: &str, ValueType: &str}, `{"a":null,"b":"x\"y"}`},
		{map[string]any{"z": 1.0, "a": []byte{1}}, DataType{Name: TypeStruct, Fields: []StructField{
			fieldOf("z", Primitive(TypeDouble)), fieldOf("a", Primitive(TypeBinary))}}, `{"z":1.0,"a":"01"}`},
	} {
		if got := FormatValue(tc.v, tc.t); got != tc.want {
			t.Errorf("FormatValue(%#v, %s) = %q, want %q", tc.v, tc.t, got, tc.want)
		}
	}
}

func BenchmarkReadDataFile(b *testing.B) {
	type rec struct {
		ID    int64   `parquet:"id"`
		Name  string  `parquet:"name"`
		Score float64 `parquet:"score"`
	}
	rows := make([]rec, 100000)
	for i := range rows {
		rows[i] = rec{int64(i), "name-" + strconv.Itoa(i%1000), float64(i) / 3}
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		b.Fatal(err)
	}
	schema := schemaOf(fieldOf("id", Primitive(TypeLong)), fieldOf("name", Primitive(TypeString)), fieldOf("score", Primitive(TypeDouble)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := ReadDataFile(context.Background(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), schema, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadDataFileDeltaRS reads the data files of the delta-rs 1.6.6
// fixture: INT64 microsecond timestamps with a UTC zone, a partition value
// with a space in a percent-encoded folder.
func TestReadDataFileDeltaRS(t *testing.T) {
	root := filepath.Join("testdata", "parquet", "deltars-1.6.6-table")
	acts := readCheckpointFile(t, filepath.Join(root, "_delta_log", "00000000000000000002.checkpoint.parquet"))
	var meta *Metadata
	var adds []*Add
	for _, a := range acts {
		if a.MetaData != nil {
			meta = a.MetaData
		}
		if a.Add != nil {
			adds = append(adds, a.Add)
		}
	}
	schema, err := meta.Schema()
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for _, a := range adds {
		key, err := url.PathUnescape(a.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(key)))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ReadDataFile(context.Background(), bytes.NewReader(b), int64(len(b)), schema, meta.PartitionColumns, a.PartitionValues)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	got := formatRows(rows, schema)
	want := [][]string{{"1", "a", "2023-01-01T00:00:00.000000Z"}, {"3", "b b", "2023-01-01T00:00:00.000000Z"}, {"4", "a", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestStoreReaderAt(t *testing.T) {
	ctx := context.Background()
	store := storage.NewMemory()
	data := make([]byte, 2*storeReadBlock+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	if err := store.Write(ctx, "obj", data); err != nil {
		t.Fatal(err)
	}
	ra := &storeReaderAt{ctx: ctx, store: store, key: "obj", size: int64(len(data))}
	for _, tc := range []struct {
		off int64
		n   int
	}{{0, 4}, {10, 100}, {storeReadBlock - 3, 10}, {storeReadBlock + 1, storeReadBlock}, {int64(len(data)) - 5, 5}, {100, 50}} {
		p := make([]byte, tc.n)
		n, err := ra.ReadAt(p, tc.off)
		if err != nil || n != tc.n || !bytes.Equal(p, data[tc.off:tc.off+int64(tc.n)]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", tc.off, tc.n, n, err)
		}
	}
	p := make([]byte, 10)
	if n, err := ra.ReadAt(p, int64(len(data))-4); n != 4 || err != io.EOF || !bytes.Equal(p[:4], data[len(data)-4:]) {
		t.Errorf("short read at the end = %d, %v", n, err)
	}
}

// TestReadAddRowsFromStore reads a data file from a store through the
// ranged reader (as for large files) and reports missing files by name.
func TestReadAddRowsFromStore(t *testing.T) {
	ctx := context.Background()
	store := storage.NewMemory()
	data := writeFlat(t, []string{"v"}, []parquet.Node{parquet.Int(64)},
		[][]parquet.Value{{parquet.Int64Value(1)}, {parquet.Int64Value(2)}})
	if err := store.Write(ctx, "p=a b/f.parquet", data); err != nil {
		t.Fatal(err)
	}
	schema := schemaOf(fieldOf("v", Primitive(TypeLong)), fieldOf("p", Primitive(TypeString)))
	add := &Add{Path: "p=a%20b/f.parquet", PartitionValues: map[string]*string{"p": ptrTo("a b")}, Size: int64(len(data))}
	for _, limit := range []int64{smallFileLimit, 0} {
		saved := smallFileLimit
		smallFileLimit = limit
		rows, err := readAddRows(ctx, store, add, schema, []string{"p"})
		smallFileLimit = saved
		if err != nil {
			t.Fatal(err)
		}
		if want := []Row{{int64(1), "a b"}, {int64(2), "a b"}}; !reflect.DeepEqual(rows, want) {
			t.Errorf("limit %d: rows = %v, want %v", limit, rows, want)
		}
	}
	missing := &Add{Path: "p=a%20b/gone.parquet"}
	_, err := readAddRows(ctx, store, missing, schema, []string{"p"})
	if err == nil || !strings.Contains(err.Error(), "p=a%20b/gone.parquet") || !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("missing file: err = %v", err)
	}
}
