package delta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Stats are the per-file statistics of an add action (the stats JSON of
// PROTOCOL.md, "Per-file Statistics"), keyed by column name; nested struct
// fields are nested maps.
type Stats struct {
	// NumRecords is the number of rows in the file, or -1 when the stats do
	// not say.
	NumRecords int64
	// MinValues and MaxValues hold lower and upper bounds of the non-null
	// values of each column. Columns without known bounds are absent.
	MinValues, MaxValues map[string]any
	// NullCount holds the number of null values of each column (for
	// arrays and maps: the number of rows where the column is null).
	NullCount map[string]any
}

// JSON renders the stats as the stats string of an add action:
// {"numRecords":N,"minValues":{…},"maxValues":{…},"nullCount":{…}}, with
// numRecords left out when unknown and keys of the value maps sorted.
func (s Stats) JSON() string {
	var sb strings.Builder
	sb.WriteByte('{')
	if s.NumRecords >= 0 {
		sb.WriteString(`"numRecords":`)
		sb.WriteString(strconv.FormatInt(s.NumRecords, 10))
		sb.WriteByte(',')
	}
	for i, part := range []struct {
		name string
		m    map[string]any
	}{{"minValues", s.MinValues}, {"maxValues", s.MaxValues}, {"nullCount", s.NullCount}} {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"` + part.name + `":`)
		sb.WriteString(statsMapJSON(part.m))
	}
	sb.WriteByte('}')
	return sb.String()
}

func statsMapJSON(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		// Only values that cannot be JSON (NaN) fail; StatsFromParquet
		// never produces them. Drop the offending entries.
		clean := map[string]any{}
		for k, v := range m {
			if _, err := json.Marshal(v); err == nil {
				clean[k] = v
			}
		}
		buf.Reset()
		if enc.Encode(clean) != nil {
			return "{}"
		}
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// ParseStats parses the stats JSON of an add action. An empty string gives
// nil stats and no error. Values are decoded as with encoding/json into any,
// except that numbers are json.Number so that long values keep every digit;
// a missing numRecords gives NumRecords -1.
func ParseStats(s string) (*Stats, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var raw struct {
		NumRecords *json.Number   `json:"numRecords"`
		MinValues  map[string]any `json:"minValues"`
		MaxValues  map[string]any `json:"maxValues"`
		NullCount  map[string]any `json:"nullCount"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: stats: %w", ErrCorruptLog, err)
	}
	st := &Stats{NumRecords: -1, MinValues: raw.MinValues, MaxValues: raw.MaxValues, NullCount: raw.NullCount}
	if raw.NumRecords != nil {
		n, err := raw.NumRecords.Int64()
		if err != nil {
			return nil, fmt.Errorf("%w: stats: numRecords %s: %w", ErrCorruptLog, *raw.NumRecords, err)
		}
		st.NumRecords = n
	}
	return st, nil
}

// statsStringPrefix is how many characters of a string Spark keeps in
// min/max stats.
const statsStringPrefix = 32

// StatsFromParquet computes a data file's stats from the column-chunk
// statistics of its Parquet footer, without reading the data pages (except
// the levels of top-level array and map columns that may hold nulls).
//
// Columns are those of schema found in the file by name (case-insensitive);
// schema columns absent from the file, such as partition columns, get no
// stats. Min and max are given for primitive columns other than binary when
// every row group with values has statistics for the column (INT96
// timestamps never have usable ones): strings are cut to 32 characters,
// a cut max getting Spark's U+FFFD tie-breaker so that it stays an upper
// bound; timestamps are ISO-8601 with milliseconds and "Z" (the min rounded
// down, the max up to the millisecond); dates are YYYY-MM-DD; decimals are
// JSON numbers with the column's scale. Null counts are given for every
// leaf, nested struct fields nested in objects; top-level arrays and maps get
// a null count only. A column whose statistics are missing is left out.
func StatsFromParquet(r io.ReaderAt, size int64, schema *StructType) (Stats, error) {
	if schema == nil {
		return Stats{}, fmt.Errorf("delta: stats: nil schema")
	}
	f, err := openParquet(r, size)
	if err != nil {
		return Stats{}, fmt.Errorf("delta: stats: %w", err)
	}
	st := Stats{NumRecords: f.NumRows(), MinValues: map[string]any{}, MaxValues: map[string]any{}, NullCount: map[string]any{}}
	for _, fld := range schema.Fields {
		col := childByName(f.Root(), fld.Name)
		if col == nil {
			continue
		}
		if err := collectStats(f, col, fld.Type, fld.Name, st.MinValues, st.MaxValues, st.NullCount, true); err != nil {
			return Stats{}, fmt.Errorf("delta: stats: column %q: %w", fld.Name, err)
		}
	}
	return st, nil
}

func collectStats(f *parquet.File, col *parquet.Column, t DataType, name string, mins, maxs, nulls map[string]any, top bool) error {
	switch {
	case t.Name == TypeArray || t.Name == TypeMap || col.Repeated() || isListColumn(col) || isMapColumn(col):
		if !top {
			return nil
		}
		n, ok, err := containerNullCount(f, col)
		if err != nil {
			return err
		}
		if ok {
			nulls[name] = n
		}
		return nil
	case t.Name == TypeStruct:
		if col.Leaf() {
			return nil
		}
		smin, smax, snull := map[string]any{}, map[string]any{}, map[string]any{}
		for _, sf := range t.Fields {
			c := childByName(col, sf.Name)
			if c == nil {
				continue
			}
			if err := collectStats(f, c, sf.Type, sf.Name, smin, smax, snull, false); err != nil {
				return err
			}
		}
		if len(smin) > 0 {
			mins[name] = smin
		}
		if len(smax) > 0 {
			maxs[name] = smax
		}
		if len(snull) > 0 {
			nulls[name] = snull
		}
		return nil
	}
	if !col.Leaf() {
		return nil
	}
	lo, hi, nullCount, ok := chunkStats(f, col)
	if nullCount >= 0 {
		nulls[name] = nullCount
	}
	if !ok || t.Name == TypeBinary {
		return nil
	}
	if v, ok := statsValue(col, t, lo, false); ok {
		mins[name] = v
	}
	if v, ok := statsValue(col, t, hi, true); ok {
		maxs[name] = v
	}
	return nil
}

// rawStat is a decoded statistics bound: int64, float64, bool or []byte.
type rawStat any

// chunkStats combines the statistics of a leaf column over all row groups.
// nullCount is -1 when some row group lacks statistics; ok says whether lo
// and hi bound every non-null value.
func chunkStats(f *parquet.File, col *parquet.Column) (lo, hi rawStat, nullCount int64, ok bool) {
	kind := col.Type().Kind()
	idx := col.Index()
	signedLegacy := false
	switch kind {
	case parquet.Boolean, parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
		signedLegacy = true
		if lt := col.Type().LogicalType(); lt != nil {
			if it, isInt := lt.Value.(*format.IntType); isInt && !it.IsSigned {
				signedLegacy = false
			}
		}
	}
	ok = kind != parquet.Int96
	haveBounds := false
	for _, rg := range f.Metadata().RowGroups {
		if idx >= len(rg.Columns) {
			return nil, nil, -1, false
		}
		md := rg.Columns[idx].MetaData
		s := md.Statistics
		minB, maxB := s.MinValue, s.MaxValue
		if len(minB) == 0 && len(maxB) == 0 && signedLegacy {
			minB, maxB = s.Min, s.Max
		}
		present := len(minB) > 0 || len(maxB) > 0 || len(s.Min) > 0 || len(s.Max) > 0 || s.NullCount > 0
		if !present {
			if md.NumValues == 0 {
				continue
			}
			nullCount = -1
			ok = false
			continue
		}
		if nullCount >= 0 {
			nullCount += s.NullCount
		}
		if s.NullCount >= md.NumValues {
			continue // only nulls: no bounds needed
		}
		if !ok {
			continue
		}
		l, lok := decodeStat(kind, minB)
		h, hok := decodeStat(kind, maxB)
		if !lok || !hok {
			ok = false
			continue
		}
		if !haveBounds {
			lo, hi, haveBounds = l, h, true
			continue
		}
		if compareStat(l, lo) < 0 {
			lo = l
		}
		if compareStat(h, hi) > 0 {
			hi = h
		}
	}
	return lo, hi, nullCount, ok && haveBounds
}

// decodeStat decodes a PLAIN-encoded statistics value.
func decodeStat(kind parquet.Kind, b []byte) (rawStat, bool) {
	switch kind {
	case parquet.Boolean:
		if len(b) < 1 {
			return nil, false
		}
		return b[0]&1 == 1, true
	case parquet.Int32:
		if len(b) != 4 {
			return nil, false
		}
		return int64(int32(binary.LittleEndian.Uint32(b))), true
	case parquet.Int64:
		if len(b) != 8 {
			return nil, false
		}
		return int64(binary.LittleEndian.Uint64(b)), true
	case parquet.Float:
		if len(b) != 4 {
			return nil, false
		}
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		return v, !math.IsNaN(v)
	case parquet.Double:
		if len(b) != 8 {
			return nil, false
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(b))
		return v, !math.IsNaN(v)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if b == nil {
			return nil, false
		}
		return bytes.Clone(b), true
	}
	return nil, false
}

func compareStat(a, b rawStat) int {
	switch x := a.(type) {
	case int64:
		y := b.(int64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case float64:
		y := b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case []byte:
		return bytes.Compare(x, b.([]byte))
	}
	return 0
}

// statsValue converts a bound to its stats JSON value for a column of type
// t; isMax selects rounding that keeps it an upper bound.
func statsValue(col *parquet.Column, t DataType, v rawStat, isMax bool) (any, bool) {
	switch t.Name {
	case TypeByte, TypeShort, TypeInteger, TypeLong:
		x, ok := v.(int64)
		return x, ok
	case TypeFloat:
		x, ok := v.(float64)
		if !ok || math.IsInf(x, 0) {
			return nil, false
		}
		return float32(x), true
	case TypeDouble:
		x, ok := v.(float64)
		if !ok || math.IsInf(x, 0) {
			return nil, false
		}
		return x, true
	case TypeBoolean:
		x, ok := v.(bool)
		return x, ok
	case TypeString:
		b, ok := v.([]byte)
		if !ok || !utf8.Valid(b) {
			return nil, false
		}
		if isMax {
			return truncateMaxString(string(b), statsStringPrefix), true
		}
		return truncateMinString(string(b), statsStringPrefix), true
	case TypeDate:
		x, ok := v.(int64)
		if !ok {
			return nil, false
		}
		return time.Unix(x*86400, 0).UTC().Format("2006-01-02"), true
	case TypeTimestamp, TypeTimestampNTZ:
		x, ok := v.(int64)
		if !ok || col.Type().Kind() != parquet.Int64 {
			return nil, false
		}
		tm := int64Time(x, timestampUnit(col))
		tr := tm.Truncate(time.Millisecond)
		if isMax && !tr.Equal(tm) {
			tr = tr.Add(time.Millisecond)
		}
		if t.Name == TypeTimestampNTZ {
			return tr.Format("2006-01-02T15:04:05.000"), true
		}
		return tr.Format("2006-01-02T15:04:05.000Z"), true
	case TypeDecimal:
		from := fileDecimalScale(col, t.Scale)
		var s string
		var err error
		switch x := v.(type) {
		case int64:
			s, err = rescale(big.NewInt(x), from, t.Scale)
		case []byte:
			s, err = rescale(bigEndianInt(x), from, t.Scale)
		default:
			return nil, false
		}
		if err != nil {
			return nil, false
		}
		return json.Number(s), true
	}
	return nil, false
}

// truncateMinString keeps the first n characters: a prefix is never greater
// than the string.
func truncateMinString(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// truncateMaxString keeps the first n characters, then (as Spark's
// truncateMaxStringAgg) any following characters that are not below U+FFFD,
// and appends U+FFFD so that the result stays an upper bound.
func truncateMaxString(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	const tieBreaker = '\ufffd'
	var sb strings.Builder
	i := 0
	for _, r := range s {
		if i < n {
			sb.WriteRune(r)
			i++
			continue
		}
		if r < tieBreaker {
			break
		}
		sb.WriteRune(r)
	}
	sb.WriteRune(tieBreaker)
	return sb.String()
}

// containerNullCount counts the rows where a top-level array or map column is
// null, from the levels of its first leaf. ok is false when it cannot tell.
func containerNullCount(f *parquet.File, col *parquet.Column) (int64, bool, error) {
	if !col.Optional() {
		return 0, true, nil
	}
	leaf := col
	for !leaf.Leaf() {
		cs := leaf.Columns()
		if len(cs) == 0 {
			return 0, false, nil
		}
		leaf = cs[0]
	}
	if _, _, n, _ := chunkStats(f, leaf); n == 0 {
		return 0, true, nil
	}
	vals, err := readColumnValues(f, leaf)
	if err != nil {
		return 0, false, err
	}
	var n int64
	for _, v := range vals {
		if v.RepetitionLevel() == 0 && v.DefinitionLevel() < 1 {
			n++
		}
	}
	return n, true, nil
}
