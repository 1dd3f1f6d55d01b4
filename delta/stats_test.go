package delta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// writeColumns writes a Parquet file of optional top-level columns, rows
// given column-wise-agnostic as in writeFlat, with writer options.
func writeColumns(t *testing.T, cols []string, nodes []parquet.Node, rows [][]parquet.Value, opts ...parquet.WriterOption) []byte {
	t.Helper()
	g := parquet.Group{}
	for i, c := range cols {
		g[c] = parquet.Optional(nodes[i])
	}
	schema := parquet.NewSchema("test", g)
	order := make([]int, len(cols))
	for i, p := range schema.Columns() {
		for j, c := range cols {
			if c == p[0] {
				order[i] = j
			}
		}
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, append([]parquet.WriterOption{schema}, opts...)...)
	for _, r := range rows {
		row := make(parquet.Row, len(cols))
		for ci, src := range order {
			if v := r[src]; v.IsNull() {
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

func statsOf(t *testing.T, data []byte, schema *StructType) Stats {
	t.Helper()
	st, err := StatsFromParquet(bytes.NewReader(data), int64(len(data)), schema)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// normJSON re-encodes JSON so that two documents compare equal whatever
// their key order.
func normJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("invalid JSON %q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestStatsFromParquetPrimitives(t *testing.T) {
	long := strings.Repeat("z", 40)
	ts1 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	ts2 := time.Date(2023, 6, 30, 12, 0, 0, 123456000, time.UTC)
	rows := [][]parquet.Value{
		{parquet.Int64Value(5), parquet.ByteArrayValue([]byte("m")), parquet.DoubleValue(2.5), parquet.BooleanValue(true),
			parquet.Int32Value(19358), parquet.Int64Value(ts1.UnixMicro()), parquet.Int32Value(-5678), parquet.ByteArrayValue([]byte{1}),
			parquet.NullValue(), parquet.FloatValue(1.5), parquet.Int32Value(3)},
		{parquet.Int64Value(-3), parquet.ByteArrayValue([]byte(long)), parquet.NullValue(), parquet.BooleanValue(false),
			parquet.Int32Value(19400), parquet.Int64Value(ts2.UnixMicro()), parquet.Int32Value(12000), parquet.ByteArrayValue([]byte{2}),
			parquet.NullValue(), parquet.FloatValue(-0.25), parquet.Int32Value(-1)},
		{parquet.Int64Value(100), parquet.ByteArrayValue([]byte("a")), parquet.DoubleValue(-1), parquet.NullValue(),
			parquet.Int32Value(19000), parquet.NullValue(), parquet.NullValue(), parquet.NullValue(),
			parquet.NullValue(), parquet.NullValue(), parquet.NullValue()},
	}
	cols := []string{"id", "name", "score", "flag", "day", "ts", "dec", "bin", "allnull", "f", "small"}
	nodes := []parquet.Node{parquet.Leaf(parquet.Int64Type), parquet.String(), parquet.Leaf(parquet.DoubleType),
		parquet.Leaf(parquet.BooleanType), parquet.Date(), parquet.Timestamp(parquet.Microsecond),
		parquet.Decimal(3, 8, parquet.Int32Type), parquet.Leaf(parquet.ByteArrayType), parquet.String(),
		parquet.Leaf(parquet.FloatType), parquet.Int(16)}
	schema := schemaOf(fieldOf("id", Primitive(TypeLong)), fieldOf("NAME", Primitive(TypeString)), fieldOf("score", Primitive(TypeDouble)),
		fieldOf("flag", Primitive(TypeBoolean)), fieldOf("day", Primitive(TypeDate)), fieldOf("ts", Primitive(TypeTimestamp)),
		fieldOf("dec", Decimal(8, 3)), fieldOf("bin", Primitive(TypeBinary)), fieldOf("allnull", Primitive(TypeString)),
		fieldOf("f", Primitive(TypeFloat)), fieldOf("small", Primitive(TypeShort)), fieldOf("part", Primitive(TypeString)))
	want := `{"numRecords":3,` +
		`"minValues":{"NAME":"a","day":"2022-01-08","dec":-5.678,"f":-0.25,"flag":false,"id":-3,"score":-1.0,"small":-1,"ts":"2023-01-01T00:00:00.000Z"},` +
		`"maxValues":{"NAME":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\ufffd","day":"2023-02-12","dec":12.000,"f":1.5,"flag":true,"id":100,"score":2.5,"small":3,"ts":"2023-06-30T12:00:00.124Z"},` +
		`"nullCount":{"NAME":0,"allnull":3,"bin":1,"day":0,"dec":1,"f":1,"flag":1,"id":0,"score":1,"small":1,"ts":1}}`
	for name, opts := range map[string][]parquet.WriterOption{
		"one row group":   nil,
		"row group a row": {parquet.MaxRowsPerRowGroup(1)},
	} {
		t.Run(name, func(t *testing.T) {
			data := writeColumns(t, cols, nodes, rows, opts...)
			st := statsOf(t, data, schema)
			if got := st.JSON(); normJSON(t, got) != normJSON(t, want) {
				t.Errorf("stats\n got %s\nwant %s", got, want)
			}
			if name == "row group a row" {
				f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
				if err != nil || len(f.RowGroups()) != 3 {
					t.Fatalf("want 3 row groups: %v", err)
				}
			}
		})
	}
}

func TestStatsFromParquetNested(t *testing.T) {
	rows := []nestedRow{
		{ID: 1, Tags: []string{"x", "y"}, Inner: &nestedInner{A: ptrTo(int32(5)), B: ptrTo("q")}},
		{ID: 2, Bare: []int32{1}},
		{ID: 3, Tags: []string{}, Props: map[string]string{"k": "v"}, Inner: &nestedInner{A: ptrTo(int32(-2))}},
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
			{"name":"a","type":"integer","nullable":true,"metadata":{}},
			{"name":"b","type":"string","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}}]}`)
	st := statsOf(t, buf.Bytes(), schema)
	// tags is a LIST whose rows are [x y], null (Go nil slice) and [];
	// parquet-go writes a nil slice as an empty list, so no row is null.
	want := `{"numRecords":3,"minValues":{"id":1,"inner":{"a":-2,"b":"q"}},"maxValues":{"id":3,"inner":{"a":5,"b":"q"}},` +
		`"nullCount":{"bare":0,"id":0,"inner":{"a":1,"b":2},"props":0,"tags":0}}`
	if got := st.JSON(); normJSON(t, got) != normJSON(t, want) {
		t.Errorf("stats\n got %s\nwant %s", got, want)
	}
}

// TestStatsFromParquetNullArrays counts null top-level arrays from levels.
func TestStatsFromParquetNullArrays(t *testing.T) {
	// Written with the checkpoint writer's shredder: an optional LIST of
	// optional strings, rows ["a"], null, [], null.
	root := &wNode{kind: wStruct, fields: []*wNode{wStrList("l")}}
	next := 0
	root.assign(&next, 0)
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, parquet.NewSchema("t", root.node()))
	for _, v := range []any{[]string{"a"}, nil, []string{}, nil} {
		sh := &shredder{cols: make([][]parquet.Value, len(root.leaves))}
		if err := sh.shred(root.fields[0], v, 0, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteRows([]parquet.Row{sh.cols[0]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e := Primitive(TypeString)
	schema := schemaOf(fieldOf("l", DataType{Name: TypeArray, ElementType: &e, ContainsNull: true}))
	st := statsOf(t, buf.Bytes(), schema)
	if n := st.NullCount["l"]; n != int64(2) {
		t.Errorf("null count of l = %v, want 2 (stats %s)", n, st.JSON())
	}
	rows, err := ReadDataFile(t.Context(), bytes.NewReader(buf.Bytes()), int64(buf.Len()), schema, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Row{{[]any{"a"}}, {nil}, {[]any{}}, {nil}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %#v, want %#v", rows, want)
	}
}

// stripStatistics rewrites a file's footer without any column-chunk
// statistics, as old or minimal writers leave it.
func stripStatistics(t *testing.T, data []byte, keep func(path []string) bool) []byte {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	footer := data[len(data)-8-n : len(data)-8]
	var md format.FileMetaData
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), footer, &md); err != nil {
		t.Fatal(err)
	}
	for i := range md.RowGroups {
		for j := range md.RowGroups[i].Columns {
			c := &md.RowGroups[i].Columns[j]
			if !keep(c.MetaData.PathInSchema) {
				c.MetaData.Statistics = format.Statistics{}
			}
		}
	}
	md.ColumnOrders = nil
	nf, err := thrift.Marshal(new(thrift.CompactProtocol), &md)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, data[:len(data)-8-n]...)
	out = append(out, nf...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(nf)))
	return append(out, "PAR1"...)
}

func TestStatsFromParquetMissingStatistics(t *testing.T) {
	data := writeColumns(t, []string{"a", "b"}, []parquet.Node{parquet.Leaf(parquet.Int64Type), parquet.String()},
		[][]parquet.Value{{parquet.Int64Value(1), parquet.ByteArrayValue([]byte("x"))}, {parquet.Int64Value(2), parquet.NullValue()}},
		parquet.MaxRowsPerRowGroup(1))
	// Statistics gone for b in every row group: b gets nothing, a is intact.
	stripped := stripStatistics(t, data, func(p []string) bool { return p[0] == "a" })
	schema := schemaOf(fieldOf("a", Primitive(TypeLong)), fieldOf("b", Primitive(TypeString)))
	st := statsOf(t, stripped, schema)
	want := `{"numRecords":2,"minValues":{"a":1},"maxValues":{"a":2},"nullCount":{"a":0}}`
	if got := st.JSON(); got != want {
		t.Errorf("stats = %s, want %s", got, want)
	}
	// The stripped file is still readable.
	rows, err := ReadDataFile(t.Context(), bytes.NewReader(stripped), int64(len(stripped)), schema, nil, nil)
	if err != nil || len(rows) != 2 || rows[1][1] != nil {
		t.Fatalf("rows = %v, %v", rows, err)
	}
}

// TestStatsFromParquetGolden compares with the stats Spark and delta-rs
// wrote into their logs (tables written at test time): every value we produce must equal theirs.
func TestStatsFromParquetGolden(t *testing.T) {
	for _, tc := range []struct {
		table string
		// columns whose min/max we must produce (others may be absent,
		// such as INT96 timestamps).
		need []string
	}{
		{"spark/partitioned", []string{"value"}},
		{"deltars/two_checkpoints", []string{"id", "price", "sold"}},
		{"spark/types", []string{"integer", "byte", "short", "long", "float", "double", "decimal", "string", "date"}},
		{"spark/edge_timestamps", []string{"SOME_VALUE"}},
		{"deltars/checkpoint_then_more", []string{"letter", "int", "date"}},
		{"spark/cdf", []string{"id", "name"}},
		{"deltars/string_partitions", []string{"id", "value"}},
	} {
		t.Run(tc.table, func(t *testing.T) {
			meta, adds := goldenState(t, tc.table)
			schema, _ := meta.Schema()
			checked := 0
			for _, a := range adds {
				logStats, err := ParseStats(a.Stats)
				if err != nil {
					t.Fatal(err)
				}
				if logStats == nil || logStats.NumRecords <= 0 {
					continue
				}
				key, err := url.PathUnescape(a.Path)
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(goldenPath(t, tc.table, key))
				if err != nil {
					t.Fatal(err)
				}
				st, err := StatsFromParquet(bytes.NewReader(b), int64(len(b)), schema)
				if err != nil {
					t.Fatal(err)
				}
				checked++
				if st.NumRecords != logStats.NumRecords {
					t.Errorf("%s: numRecords %d, log says %d", a.Path, st.NumRecords, logStats.NumRecords)
				}
				ours, _ := ParseStats(st.JSON())
				compareStats(t, a.Path+" minValues", ours.MinValues, logStats.MinValues)
				compareStats(t, a.Path+" maxValues", ours.MaxValues, logStats.MaxValues)
				compareStats(t, a.Path+" nullCount", ours.NullCount, logStats.NullCount)
				for _, c := range tc.need {
					if _, ok := ours.MinValues[c]; !ok && logStats.MinValues[c] != nil {
						t.Errorf("%s: no min for %s (stats %s)", a.Path, c, st.JSON())
					}
				}
			}
			if checked == 0 {
				t.Fatal("no file with stats checked")
			}
		})
	}
}

// compareStats checks that every value in ours equals the log's, numbers
// compared by value.
func compareStats(t *testing.T, what string, ours, log map[string]any) {
	t.Helper()
	for k, v := range ours {
		lv, ok := log[k]
		if !ok {
			continue // the log may omit columns (e.g. stats limited to some columns)
		}
		if om, ok := v.(map[string]any); ok {
			lm, _ := lv.(map[string]any)
			compareStats(t, what+"."+k, om, lm)
			continue
		}
		if !statsEqual(v, lv) {
			t.Errorf("%s[%s] = %v, log says %v", what, k, v, lv)
		}
	}
}

func statsEqual(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		af, err1 := an.Float64()
		bf, err2 := bn.Float64()
		return err1 == nil && err2 == nil && af == bf
	}
	return reflect.DeepEqual(a, b)
}

func TestParseStats(t *testing.T) {
	st, err := ParseStats("")
	if err != nil || st != nil {
		t.Fatalf("empty stats: %v, %v", st, err)
	}
	st, err = ParseStats(`{"minValues":{"a":9007199254740993,"s":"x","n":{"b":1.5}},"nullCount":{"a":0}}`)
	if err != nil {
		t.Fatal(err)
	}
	if st.NumRecords != -1 {
		t.Errorf("missing numRecords = %d, want -1", st.NumRecords)
	}
	if st.MinValues["a"] != json.Number("9007199254740993") || st.MinValues["s"] != "x" {
		t.Errorf("minValues = %#v", st.MinValues)
	}
	if n, ok := st.MinValues["n"].(map[string]any); !ok || n["b"] != json.Number("1.5") {
		t.Errorf("nested = %#v", st.MinValues["n"])
	}
	if st.MaxValues != nil {
		t.Errorf("maxValues = %#v, want nil", st.MaxValues)
	}
	if got := st.JSON(); got != `{"minValues":{"a":9007199254740993,"n":{"b":1.5},"s":"x"},"maxValues":{},"nullCount":{"a":0}}` {
		t.Errorf("JSON() = %s", got)
	}
	st, err = ParseStats(`{"numRecords":7}`)
	if err != nil || st.NumRecords != 7 {
		t.Errorf("numRecords: %+v, %v", st, err)
	}
	for _, bad := range []string{`{"numRecords":`, `{"numRecords":1.5}`, `[1]`} {
		if _, err := ParseStats(bad); !errors.Is(err, ErrCorruptLog) || !strings.HasPrefix(err.Error(), "delta: ") {
			t.Errorf("ParseStats(%q) err = %v", bad, err)
		}
	}
}

func TestStatsJSON(t *testing.T) {
	st := Stats{NumRecords: 2, MinValues: map[string]any{"a": int64(1), "s": "<&>", "f": float32(0.1)},
		MaxValues: map[string]any{"a": int64(2), "bad": math.NaN()}, NullCount: map[string]any{"a": int64(0)}}
	want := `{"numRecords":2,"minValues":{"a":1,"f":0.1,"s":"<&>"},"maxValues":{"a":2},"nullCount":{"a":0}}`
	if got := st.JSON(); got != want {
		t.Errorf("JSON() = %s, want %s", got, want)
	}
	if got := (Stats{}).JSON(); got != `{"numRecords":0,"minValues":{},"maxValues":{},"nullCount":{}}` {
		t.Errorf("zero Stats JSON() = %s", got)
	}
}

func TestTruncateStatsStrings(t *testing.T) {
	s32 := strings.Repeat("a", 32)
	for _, tc := range []struct{ in, min, max string }{
		{"short", "short", "short"},
		{s32, s32, s32},
		{s32 + "b", s32, s32 + "\ufffd"},
		{s32 + "\U0001F600x", s32, s32 + "\U0001F600\ufffd"},
		{strings.Repeat("é", 40), strings.Repeat("é", 32), strings.Repeat("é", 32) + "\ufffd"},
	} {
		if got := truncateMinString(tc.in, 32); got != tc.min {
			t.Errorf("min(%q) = %q, want %q", tc.in, got, tc.min)
		}
		got := truncateMaxString(tc.in, 32)
		if got != tc.max {
			t.Errorf("max(%q) = %q, want %q", tc.in, got, tc.max)
		}
		if got < tc.in {
			t.Errorf("max(%q) = %q is not an upper bound", tc.in, got)
		}
	}
}
