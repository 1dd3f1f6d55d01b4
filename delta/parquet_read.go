package delta

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/medallionhq/medallion/storage"
)

// Row is one table row: values in the order of the table schema's columns.
// ReadDataFile documents the Go type used for each Delta type.
type Row []any

// ReadDataFile reads every row of one Parquet data file of a table and
// returns the values in the order of schema's columns.
//
// Partition columns (those named in partitionColumns) take their value from
// partitionValues, parsed to the column's schema type, never from the file or
// the folder name; a missing or null partition value, or "" for a non-string
// type, is nil. Data columns are matched to the file's columns by name, case
// insensitively; file columns absent from the schema (for example
// _change_type) are ignored and schema columns absent from the file are nil.
//
// Values have these Go types, nil standing for NULL:
//
//	string                 string
//	binary                 []byte
//	boolean                bool
//	byte, short, integer   int8, int16, int32
//	long                   int64
//	float, double          float32, float64
//	date                   time.Time at midnight UTC
//	timestamp(_ntz)        time.Time in UTC (Parquet INT96, or INT64 millis, micros or nanos)
//	decimal(p,s)           string with exactly s fraction digits, such as "-5.67800"
//	struct                 map[string]any keyed by the schema's field names
//	array                  []any
//	map                    map[string]any; non-string keys are rendered with FormatValue
//
// The file is read column by column; its footer and pages are read through r.
func ReadDataFile(ctx context.Context, r io.ReaderAt, size int64, schema *StructType, partitionColumns []string, partitionValues map[string]*string) ([]Row, error) {
	if schema == nil {
		return nil, errors.New("delta: read data file: nil schema")
	}
	f, err := openParquet(r, size)
	if err != nil {
		return nil, fmt.Errorf("delta: read data file: %w", err)
	}
	nrows := f.NumRows()
	ncols := len(schema.Fields)
	backing := make([]any, int(nrows)*ncols)
	rows := make([]Row, nrows)
	for i := range rows {
		rows[i] = Row(backing[i*ncols : (i+1)*ncols : (i+1)*ncols])
	}
	asm := newAssembler(f)
	nodes := make([]*pqNode, ncols)
	for i, fld := range schema.Fields {
		if slices.ContainsFunc(partitionColumns, func(p string) bool { return strings.EqualFold(p, fld.Name) }) {
			v, err := parsePartitionValue(lookupPartitionValue(partitionValues, fld.Name), fld.Type)
			if err != nil {
				return nil, fmt.Errorf("delta: read data file: partition column %q: %w", fld.Name, err)
			}
			if v != nil {
				for _, row := range rows {
					row[i] = v
				}
			}
			continue
		}
		col := childByName(f.Root(), fld.Name)
		if col == nil {
			continue
		}
		n, err := asm.compile(col, fld.Type, 0, 0, false)
		if err != nil {
			return nil, fmt.Errorf("delta: read data file: column %q: %w", fld.Name, err)
		}
		nodes[i] = n
	}
	if err := asm.load(ctx); err != nil {
		return nil, fmt.Errorf("delta: read data file: %w", err)
	}
	for _, row := range rows {
		for i, n := range nodes {
			if n == nil {
				continue
			}
			v, err := asm.decode(n)
			if err != nil {
				return nil, fmt.Errorf("delta: read data file: column %q: %w", schema.Fields[i].Name, err)
			}
			row[i] = v
		}
	}
	if err := asm.finish(); err != nil {
		return nil, fmt.Errorf("delta: read data file: %w", err)
	}
	return rows, nil
}

// ReadRows reads the rows of every active data file of the snapshot, in the
// order of Files, through ReadDataFile. A missing or unreadable data file is
// an error that names the file.
func (s *Snapshot) ReadRows(ctx context.Context) ([]Row, error) {
	var out []Row
	// Data files, partition values and stats use physical names: the
	// column-mapped names when the table maps columns.
	phys := s.schema.PhysicalSchema()
	parts := s.PhysicalPartitionColumns()
	for _, add := range s.Files() {
		rows, err := s.readFileRows(ctx, add, phys, parts)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// ReadFileRows reads the rows of one data file of the table (active in this
// snapshot or not: a removed file of an older version, say) under the
// snapshot's schema, without the rows its deletion vector deletes.
func (s *Snapshot) ReadFileRows(ctx context.Context, add *Add) ([]Row, error) {
	return s.readFileRows(ctx, add, s.schema.PhysicalSchema(), s.PhysicalPartitionColumns())
}

func (s *Snapshot) readFileRows(ctx context.Context, add *Add, phys *StructType, parts []string) ([]Row, error) {
	rows, err := readAddRows(ctx, s.store, add, phys, parts)
	if err != nil {
		return nil, err
	}
	if add.DeletionVector != nil {
		if rows, err = s.dropDeleted(ctx, add, rows); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// dropDeleted removes the rows of a data file that its deletion vector
// deletes; rows are the file's rows in file order.
func (s *Snapshot) dropDeleted(ctx context.Context, add *Add, rows []Row) ([]Row, error) {
	dv, err := ReadDeletionVector(ctx, s.store, add.DeletionVector)
	if err != nil {
		return nil, fmt.Errorf("delta: data file %s: %w", add.Path, err)
	}
	if m := dv.Maximum(); !dv.IsEmpty() && m >= uint64(len(rows)) {
		return nil, fmt.Errorf("%w: data file %s has %d rows, its deletion vector deletes row %d", ErrBadDeletionVector, add.Path, len(rows), m)
	}
	kept := rows[:0]
	for i, r := range rows {
		if !dv.Contains(uint64(i)) {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// smallFileLimit is the size up to which a data file is read into memory
// whole rather than through storeReaderAt. A variable for tests.
var smallFileLimit int64 = 32 << 20

func readAddRows(ctx context.Context, store *storage.Store, add *Add, schema *StructType, partitionColumns []string) ([]Row, error) {
	key, err := FileKey(add.Path)
	if err != nil {
		return nil, err
	}
	info, err := store.Stat(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("delta: data file %s: %w", add.Path, err)
	}
	var ra io.ReaderAt
	if info.Size <= smallFileLimit {
		b, err := store.ReadAll(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("delta: data file %s: %w", add.Path, err)
		}
		ra = bytes.NewReader(b)
		info.Size = int64(len(b))
	} else {
		ra = &storeReaderAt{ctx: ctx, store: store, key: key, size: info.Size}
	}
	rows, err := ReadDataFile(ctx, ra, info.Size, schema, partitionColumns, add.PartitionValues)
	if err != nil {
		return nil, fmt.Errorf("delta: data file %s: %w", add.Path, err)
	}
	return rows, nil
}

// storeReaderAt is an io.ReaderAt over one stored object of known size.
// Small reads are served from a cached block read with one ranged request,
// so that the many small reads of a Parquet reader do not each become a
// request; a column chunk is read sequentially, block after block.
type storeReaderAt struct {
	ctx   context.Context
	store *storage.Store
	key   string
	size  int64

	mu       sync.Mutex
	blockOff int64
	block    []byte
}

const storeReadBlock = 4 << 20

func (r *storeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if off < 0 || off >= r.size {
		return 0, io.EOF
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if off >= r.blockOff && off+int64(len(p)) <= r.blockOff+int64(len(r.block)) {
		return copy(p, r.block[off-r.blockOff:]), nil
	}
	if len(p) >= storeReadBlock {
		b, err := r.store.ReadRange(r.ctx, r.key, off, int64(len(p)))
		if err != nil {
			return 0, err
		}
		n := copy(p, b)
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	length := min(int64(storeReadBlock), r.size-off)
	b, err := r.store.ReadRange(r.ctx, r.key, off, length)
	if err != nil {
		return 0, err
	}
	r.blockOff, r.block = off, b
	n := copy(p, b)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func lookupPartitionValue(m map[string]*string, name string) *string {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// parsePartitionValue converts a serialized partition value to the Go value
// ReadDataFile returns for t. Timestamps without a zone are taken as UTC.
func parsePartitionValue(s *string, t DataType) (any, error) {
	if s == nil {
		return nil, nil
	}
	v := *s
	if t.Name == TypeString {
		return v, nil
	}
	if v == "" {
		return nil, nil
	}
	switch t.Name {
	case TypeBinary:
		return []byte(v), nil
	case TypeBoolean:
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("invalid boolean %q", v)
	case TypeByte, TypeShort, TypeInteger, TypeLong:
		bits := map[string]int{TypeByte: 8, TypeShort: 16, TypeInteger: 32, TypeLong: 64}[t.Name]
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, bits)
		if err != nil {
			return nil, fmt.Errorf("invalid %s %q", t.Name, v)
		}
		switch t.Name {
		case TypeByte:
			return int8(n), nil
		case TypeShort:
			return int16(n), nil
		case TypeInteger:
			return int32(n), nil
		}
		return n, nil
	case TypeFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 32)
		if err != nil {
			return nil, fmt.Errorf("invalid float %q", v)
		}
		return float32(f), nil
	case TypeDouble:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("invalid double %q", v)
		}
		return f, nil
	case TypeDate:
		d, err := time.Parse("2006-01-02", strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("invalid date %q", v)
		}
		return d, nil
	case TypeTimestamp, TypeTimestampNTZ:
		return parseTimestampValue(v)
	case TypeDecimal:
		return normalizeDecimal(v, t.Scale)
	}
	return nil, fmt.Errorf("type %s cannot be a partition column", t)
}

// parseTimestampValue parses "2023-01-01 00:00:00[.ffffff]" (taken as UTC)
// or an ISO-8601 / RFC 3339 timestamp.
func parseTimestampValue(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02 15:04",
		"2006-01-02",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid timestamp %q", v)
}

// normalizeDecimal renders a decimal literal with exactly scale fraction
// digits, refusing values that would lose digits.
func normalizeDecimal(v string, scale int) (string, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(v))
	if !ok {
		return "", fmt.Errorf("invalid decimal %q", v)
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(scale)))
	if !scaled.IsInt() {
		return "", fmt.Errorf("decimal %q has more than %d fraction digits", v, scale)
	}
	return formatUnscaled(scaled.Num(), scale), nil
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// formatUnscaled renders unscaled·10^-scale with exactly scale fraction
// digits.
func formatUnscaled(u *big.Int, scale int) string {
	digits := new(big.Int).Abs(u).String()
	neg := u.Sign() < 0
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// formatUnscaledInt is formatUnscaled for int64 unscaled values.
func formatUnscaledInt(u int64, scale int) string {
	if scale == 0 {
		return strconv.FormatInt(u, 10)
	}
	return formatUnscaled(big.NewInt(u), scale)
}

// FormatValue renders a value as returned by ReadDataFile as text, following
// the CSV conventions of the golden tables: nil is "", booleans true/false,
// dates YYYY-MM-DD, timestamps YYYY-MM-DDTHH:MM:SS.ffffffZ (timestamp_ntz
// without the Z), binary as lower-case hex, decimals with their scale,
// floating point as the shortest text that round-trips, with ".0" added to
// integral values (10.0), and structs, arrays and maps as compact JSON with
// struct fields in schema order and map keys sorted.
func FormatValue(v any, t DataType) string {
	if v == nil {
		return ""
	}
	switch t.Name {
	case TypeStruct, TypeArray, TypeMap:
		var sb strings.Builder
		appendJSONValue(&sb, v, t)
		return sb.String()
	}
	switch x := v.(type) {
	case string:
		if t.Name == TypeBinary {
			return hex.EncodeToString([]byte(x))
		}
		return x
	case []byte:
		return hex.EncodeToString(x)
	case bool:
		return strconv.FormatBool(x)
	case int8:
		return strconv.FormatInt(int64(x), 10)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float32:
		return formatFloat(float64(x), 32)
	case float64:
		if t.Name == TypeFloat {
			return formatFloat(x, 32)
		}
		return formatFloat(x, 64)
	case time.Time:
		switch t.Name {
		case TypeDate:
			return x.UTC().Format("2006-01-02")
		case TypeTimestampNTZ:
			return x.UTC().Format("2006-01-02T15:04:05.000000")
		}
		return x.UTC().Format("2006-01-02T15:04:05.000000Z")
	case *big.Int:
		return formatUnscaled(x, t.Scale)
	}
	return fmt.Sprint(v)
}

// formatFloat renders f as the shortest text that parses back to the same
// value, like Python's repr: fixed notation with ".0" for integral values,
// exponent notation for very large or small magnitudes.
func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, bits)
	}
	s := strconv.FormatFloat(f, 'f', -1, bits)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

func appendJSONValue(sb *strings.Builder, v any, t DataType) {
	if v == nil {
		sb.WriteString("null")
		return
	}
	switch t.Name {
	case TypeStruct:
		sb.WriteByte('{')
		switch x := v.(type) {
		case map[string]any:
			for i, f := range t.Fields {
				if i > 0 {
					sb.WriteByte(',')
				}
				appendJSONString(sb, f.Name)
				sb.WriteByte(':')
				fv, ok := x[f.Name]
				if !ok {
					for k, kv := range x {
						if strings.EqualFold(k, f.Name) {
							fv = kv
						}
					}
				}
				appendJSONValue(sb, fv, f.Type)
			}
		case []any:
			for i, f := range t.Fields {
				if i > 0 {
					sb.WriteByte(',')
				}
				appendJSONString(sb, f.Name)
				sb.WriteByte(':')
				var fv any
				if i < len(x) {
					fv = x[i]
				}
				appendJSONValue(sb, fv, f.Type)
			}
		}
		sb.WriteByte('}')
	case TypeArray:
		sb.WriteByte('[')
		if x, ok := v.([]any); ok {
			for i, e := range x {
				if i > 0 {
					sb.WriteByte(',')
				}
				appendJSONValue(sb, e, *t.ElementType)
			}
		}
		sb.WriteByte(']')
	case TypeMap:
		sb.WriteByte('{')
		if x, ok := v.(map[string]any); ok {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for i, k := range keys {
				if i > 0 {
					sb.WriteByte(',')
				}
				appendJSONString(sb, k)
				sb.WriteByte(':')
				appendJSONValue(sb, x[k], *t.ValueType)
			}
		}
		sb.WriteByte('}')
	case TypeBoolean, TypeByte, TypeShort, TypeInteger, TypeLong, TypeDecimal:
		sb.WriteString(FormatValue(v, t))
	case TypeFloat, TypeDouble:
		s := FormatValue(v, t)
		if s == "NaN" || strings.HasSuffix(s, "Infinity") {
			appendJSONString(sb, s)
		} else {
			sb.WriteString(s)
		}
	default:
		appendJSONString(sb, FormatValue(v, t))
	}
}

func appendJSONString(sb *strings.Builder, s string) {
	const hexDigits = "0123456789abcdef"
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20:
			sb.WriteString(`\u00`)
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&0xf])
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
}

// ---------------------------------------------------------------------------
// Column-wise Parquet record assembly, shared by ReadDataFile, the checkpoint
// reader and the stats code.
//
// Every needed leaf column is read whole into a stream of values with their
// repetition and definition levels. A compiled node tree, built from the
// file's columns and the wanted Delta type, then rebuilds one value at a time:
// a node is null when the next entry of any leaf below it has a definition
// level below the node's own; lists and maps repeat their element while the
// next entry's repetition level equals theirs.

// openParquet opens a Parquet file, turning panics of the library on
// malformed footers into errors.
func openParquet(r io.ReaderAt, size int64) (f *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("invalid parquet file: %v", p)
		}
	}()
	f, err = parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("invalid parquet file: %w", err)
	}
	return f, nil
}

// childByName finds a child column by exact name, then case-insensitively.
func childByName(col *parquet.Column, name string) *parquet.Column {
	for _, c := range col.Columns() {
		if c.Name() == name {
			return c
		}
	}
	for _, c := range col.Columns() {
		if strings.EqualFold(c.Name(), name) {
			return c
		}
	}
	return nil
}

const (
	pqLeaf = iota
	pqStruct
	pqList
	pqMap
)

// pqNode is one compiled node of the assembly tree.
type pqNode struct {
	kind   int
	def    int   // definition level at which the node is not null
	repDef int   // list, map: definition level at which there is an element
	rep    int   // list, map: repetition level of the repeated group
	stream int   // leaf: stream index
	first  int   // a stream below the node, to look at levels
	leaves []int // all streams below the node

	conv func(parquet.Value) (any, error) // leaf

	children []*pqNode // struct fields (nil: absent from the file), list [elem], map [key, value]
	names    []string  // struct: field names, when the value is a map[string]any
	hidden   []bool    // struct: children decoded only to keep streams aligned
	asMap    bool      // struct: produce map[string]any instead of []any
	strMap   bool      // map: produce map[string]*string (checkpoint maps)
	keyType  DataType  // map: key type, to render non-string keys
}

type pqAssembler struct {
	// slices makes structs decode as []any in field order (hidden fields
	// last) and string maps as map[string]*string, for the checkpoint reader.
	slices  bool
	file    *parquet.File
	cols    []*parquet.Column
	byIndex map[int]int
	streams [][]parquet.Value
	pos     []int
}

func newAssembler(f *parquet.File) *pqAssembler {
	return &pqAssembler{file: f, byIndex: map[int]int{}}
}

func (a *pqAssembler) streamOf(col *parquet.Column) int {
	if i, ok := a.byIndex[col.Index()]; ok {
		return i
	}
	a.cols = append(a.cols, col)
	a.byIndex[col.Index()] = len(a.cols) - 1
	return len(a.cols) - 1
}

func isListColumn(col *parquet.Column) bool {
	if col.Leaf() {
		return false
	}
	if lt := col.Type().LogicalType(); lt != nil {
		if _, ok := lt.Value.(*format.ListType); ok {
			return true
		}
	}
	return false
}

func isMapColumn(col *parquet.Column) bool {
	if col.Leaf() {
		return false
	}
	if lt := col.Type().LogicalType(); lt != nil {
		if _, ok := lt.Value.(*format.MapType); ok {
			return true
		}
	}
	if ct := col.Type().ConvertedType(); ct != nil && (*ct == deprecated.MapKeyValue || *ct == deprecated.Map) {
		return true
	}
	return false
}

// naturalType is the Delta type that best describes a file column, used to
// read columns whose schema is not known in advance (stats_parsed).
func naturalType(col *parquet.Column) (DataType, error) {
	if col.Repeated() {
		et, err := naturalBase(col)
		if err != nil {
			return DataType{}, err
		}
		return DataType{Name: TypeArray, ElementType: &et}, nil
	}
	return naturalBase(col)
}

// naturalBase is naturalType ignoring the column's own repetition.
func naturalBase(col *parquet.Column) (DataType, error) {
	if !col.Leaf() {
		switch {
		case isListColumn(col) && len(col.Columns()) == 1 && col.Columns()[0].Repeated():
			rc := col.Columns()[0]
			var et DataType
			var err error
			if listIsThreeLevel(col, rc) {
				et, err = naturalType(rc.Columns()[0])
			} else {
				et, err = naturalBase(rc)
			}
			if err != nil {
				return DataType{}, err
			}
			return DataType{Name: TypeArray, ElementType: &et, ContainsNull: true}, nil
		case isMapColumn(col) && len(col.Columns()) == 1 && !col.Columns()[0].Leaf():
			kv := col.Columns()[0]
			if len(kv.Columns()) != 2 {
				return DataType{}, fmt.Errorf("map %s: key_value group with %d fields", col.Name(), len(kv.Columns()))
			}
			kt, err := naturalType(kv.Columns()[0])
			if err != nil {
				return DataType{}, err
			}
			vt, err := naturalType(kv.Columns()[1])
			if err != nil {
				return DataType{}, err
			}
			return DataType{Name: TypeMap, KeyType: &kt, ValueType: &vt, ValueContainsNull: true}, nil
		}
		st := DataType{Name: TypeStruct}
		for _, c := range col.Columns() {
			ct, err := naturalType(c)
			if err != nil {
				return DataType{}, err
			}
			st.Fields = append(st.Fields, StructField{Name: c.Name(), Type: ct, Nullable: !c.Required()})
		}
		return st, nil
	}
	typ := col.Type()
	if lt := typ.LogicalType(); lt != nil {
		switch l := lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType:
			if typ.Kind() == parquet.ByteArray || typ.Kind() == parquet.FixedLenByteArray {
				return Primitive(TypeString), nil
			}
		case *format.DateType:
			return Primitive(TypeDate), nil
		case *format.TimestampType:
			if !l.IsAdjustedToUTC {
				return Primitive(TypeTimestampNTZ), nil
			}
			return Primitive(TypeTimestamp), nil
		case *format.DecimalType:
			return Decimal(int(l.Precision), int(l.Scale)), nil
		case *format.IntType:
			switch {
			case l.BitWidth == 8 && l.IsSigned:
				return Primitive(TypeByte), nil
			case l.BitWidth == 16 && l.IsSigned:
				return Primitive(TypeShort), nil
			case l.BitWidth == 32 && l.IsSigned:
				return Primitive(TypeInteger), nil
			default:
				return Primitive(TypeLong), nil
			}
		}
	}
	switch typ.Kind() {
	case parquet.Boolean:
		return Primitive(TypeBoolean), nil
	case parquet.Int32:
		return Primitive(TypeInteger), nil
	case parquet.Int64:
		return Primitive(TypeLong), nil
	case parquet.Int96:
		return Primitive(TypeTimestamp), nil
	case parquet.Float:
		return Primitive(TypeFloat), nil
	case parquet.Double:
		return Primitive(TypeDouble), nil
	}
	return Primitive(TypeBinary), nil
}

// listIsThreeLevel applies the Parquet backward-compatibility rules for
// LIST: the repeated child rc is the element itself (two-level encoding)
// when it is a primitive, has several fields, or is named "array" or
// "<list>_tuple"; otherwise its single field is the element.
func listIsThreeLevel(list, rc *parquet.Column) bool {
	if rc.Leaf() || len(rc.Columns()) != 1 {
		return false
	}
	if rc.Name() == "array" || rc.Name() == list.Name()+"_tuple" {
		return false
	}
	return true
}

// compile builds the node reading col as a value of type t. def and rep are
// the levels of col's parent; asElement compiles a repeated column as one
// element of itself (two-level lists).
func (a *pqAssembler) compile(col *parquet.Column, t DataType, def, rep int, asElement bool) (*pqNode, error) {
	if col.Repeated() && !asElement {
		// A bare repeated field: a non-null list of non-null elements.
		if t.Name != TypeArray {
			return nil, fmt.Errorf("repeated column %s cannot be read as %s", col.Name(), t)
		}
		elem, err := a.compile(col, *t.ElementType, def+1, rep+1, true)
		if err != nil {
			return nil, err
		}
		return a.finishNode(&pqNode{kind: pqList, def: def, repDef: def + 1, rep: rep + 1, children: []*pqNode{elem}}), nil
	}
	d := def
	if col.Optional() {
		d++
	}
	if col.Leaf() {
		if !t.IsPrimitive() {
			return nil, fmt.Errorf("column %s is a primitive (%s), the schema says %s", col.Name(), col.Type(), t)
		}
		conv, err := leafConverter(col, t)
		if err != nil {
			return nil, err
		}
		s := a.streamOf(col)
		return a.finishNode(&pqNode{kind: pqLeaf, def: d, stream: s, conv: conv}), nil
	}
	switch t.Name {
	case TypeArray:
		cols := col.Columns()
		if len(cols) != 1 || !cols[0].Repeated() {
			return nil, fmt.Errorf("column %s is not a list, the schema says %s", col.Name(), t)
		}
		rc := cols[0]
		var elem *pqNode
		var err error
		if listIsThreeLevel(col, rc) {
			elem, err = a.compile(rc.Columns()[0], *t.ElementType, d+1, rep+1, false)
		} else {
			elem, err = a.compile(rc, *t.ElementType, d+1, rep+1, true)
		}
		if err != nil {
			return nil, err
		}
		return a.finishNode(&pqNode{kind: pqList, def: d, repDef: d + 1, rep: rep + 1, children: []*pqNode{elem}}), nil
	case TypeMap:
		cols := col.Columns()
		if len(cols) != 1 || !cols[0].Repeated() || cols[0].Leaf() || len(cols[0].Columns()) == 0 {
			return nil, fmt.Errorf("column %s is not a map, the schema says %s", col.Name(), t)
		}
		kv := cols[0]
		kcol := childByName(kv, "key")
		vcol := childByName(kv, "value")
		if kcol == nil {
			kcol = kv.Columns()[0]
		}
		if vcol == nil && len(kv.Columns()) > 1 {
			vcol = kv.Columns()[1]
		}
		key, err := a.compile(kcol, *t.KeyType, d+1, rep+1, false)
		if err != nil {
			return nil, err
		}
		var val *pqNode
		if vcol != nil {
			if val, err = a.compile(vcol, *t.ValueType, d+1, rep+1, false); err != nil {
				return nil, err
			}
		}
		n := &pqNode{kind: pqMap, def: d, repDef: d + 1, rep: rep + 1, children: []*pqNode{key, val}, keyType: *t.KeyType}
		n.strMap = a.slices && t.KeyType.Name == TypeString && t.ValueType.Name == TypeString
		return a.finishNode(n), nil
	case TypeStruct:
		if isListColumn(col) || isMapColumn(col) {
			return nil, fmt.Errorf("column %s is a list or map, the schema says %s", col.Name(), t)
		}
		n := &pqNode{kind: pqStruct, def: d, asMap: !a.slices}
		found := false
		for _, f := range t.Fields {
			n.names = append(n.names, f.Name)
			n.hidden = append(n.hidden, false)
			c := childByName(col, f.Name)
			if c == nil {
				n.children = append(n.children, nil)
				continue
			}
			cn, err := a.compile(c, f.Type, d, rep, false)
			if err != nil {
				return nil, fmt.Errorf("%s.%w", col.Name(), err)
			}
			n.children = append(n.children, cn)
			found = true
		}
		if !found {
			// None of the wanted fields is in the file: read the first
			// field anyway, to know where the struct is null.
			c := col.Columns()[0]
			ct, err := naturalType(c)
			if err != nil {
				return nil, err
			}
			cn, err := a.compile(c, ct, d, rep, false)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, cn)
			n.names = append(n.names, "")
			n.hidden = append(n.hidden, true)
		}
		return a.finishNode(n), nil
	}
	return nil, fmt.Errorf("column %s is a group, the schema says %s", col.Name(), t)
}

func (a *pqAssembler) finishNode(n *pqNode) *pqNode {
	if n.kind == pqLeaf {
		n.leaves = []int{n.stream}
	}
	for _, c := range n.children {
		if c != nil {
			n.leaves = append(n.leaves, c.leaves...)
		}
	}
	n.first = n.leaves[0]
	return n
}

// load reads every stream's column whole.
func (a *pqAssembler) load(ctx context.Context) error {
	a.streams = make([][]parquet.Value, len(a.cols))
	a.pos = make([]int, len(a.cols))
	// Leaf columns are independent: they are read on up to GOMAXPROCS
	// goroutines (a checkpoint of 10,000 adds has some twenty of them).
	errs := make([]error, len(a.cols))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, col := range a.cols {
		if err := ctx.Err(); err != nil {
			wg.Wait()
			return err
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			vals, err := readColumnValues(a.file, col)
			if err != nil {
				errs[i] = fmt.Errorf("column %s: %w", strings.Join(col.Path(), "."), err)
				return
			}
			a.streams[i] = vals
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err // the first column's, as a sequential read gives
		}
	}
	return nil
}

// readColumnValues reads all values of a leaf column, in every row group,
// with their levels. Byte arrays are copied out of the page buffers, which
// the library reuses.
func readColumnValues(f *parquet.File, col *parquet.Column) (out []parquet.Value, err error) {
	var total int64
	for _, rg := range f.Metadata().RowGroups {
		if i := col.Index(); i < len(rg.Columns) {
			total += rg.Columns[i].MetaData.NumValues
		}
	}
	if total > 0 && total < 1<<28 {
		out = make([]parquet.Value, 0, total)
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("invalid page: %v", p)
		}
	}()
	pages := col.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, 1024)
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		vr := p.Values()
		for {
			var n int
			if room := min(cap(out)-len(out), len(buf)); room > 0 {
				// Straight into out (sized from the footer), then the
				// byte arrays are copied out of the page in place.
				n, err = vr.ReadValues(out[len(out) : len(out)+room])
				out = detachInPlace(out, len(out), len(out)+n)
			} else {
				n, err = vr.ReadValues(buf)
				out = appendDetached(out, buf[:n])
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				parquet.Release(p)
				return nil, err
			}
			if n == 0 {
				parquet.Release(p)
				return nil, errors.New("page reader made no progress")
			}
		}
		parquet.Release(p)
	}
	return out, nil
}

// detachInPlace extends out to out[:to] and copies the byte arrays of the
// values in out[from:to] out of the page buffers into one new arena.
func detachInPlace(out []parquet.Value, from, to int) []parquet.Value {
	out = out[:to]
	vals := out[from:to]
	total := 0
	for i := range vals {
		if k := vals[i].Kind(); !vals[i].IsNull() && (k == parquet.ByteArray || k == parquet.FixedLenByteArray) {
			total += len(vals[i].ByteArray())
		}
	}
	if total == 0 {
		return out
	}
	arena := make([]byte, 0, total)
	for i := range vals {
		v := &vals[i]
		if v.IsNull() {
			continue
		}
		switch v.Kind() {
		case parquet.ByteArray, parquet.FixedLenByteArray:
			start := len(arena)
			arena = append(arena, v.ByteArray()...)
			nb := arena[start:len(arena):len(arena)]
			var nv parquet.Value
			if v.Kind() == parquet.ByteArray {
				nv = parquet.ByteArrayValue(nb)
			} else {
				nv = parquet.FixedLenByteArrayValue(nb)
			}
			*v = nv.Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
		}
	}
	return out
}

func appendDetached(out, vals []parquet.Value) []parquet.Value {
	total := 0
	for _, v := range vals {
		if !v.IsNull() && (v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray) {
			total += len(v.ByteArray())
		}
	}
	if total == 0 {
		return append(out, vals...)
	}
	arena := make([]byte, 0, total)
	for _, v := range vals {
		if v.IsNull() {
			out = append(out, v)
			continue
		}
		switch v.Kind() {
		case parquet.ByteArray, parquet.FixedLenByteArray:
			b := v.ByteArray()
			start := len(arena)
			arena = append(arena, b...)
			nb := arena[start:len(arena):len(arena)]
			var nv parquet.Value
			if v.Kind() == parquet.ByteArray {
				nv = parquet.ByteArrayValue(nb)
			} else {
				nv = parquet.FixedLenByteArrayValue(nb)
			}
			out = append(out, nv.Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column()))
		default:
			out = append(out, v)
		}
	}
	return out
}

var errShortColumn = errors.New("column has fewer values than the file has rows")

// decode rebuilds the next value of node n.
func (a *pqAssembler) decode(n *pqNode) (any, error) {
	s := a.streams[n.first]
	p := a.pos[n.first]
	if p >= len(s) {
		return nil, errShortColumn
	}
	d := s[p].DefinitionLevel()
	if d < n.def {
		a.skip(n)
		return nil, nil
	}
	switch n.kind {
	case pqLeaf:
		a.pos[n.stream]++
		return n.conv(s[p])
	case pqStruct:
		if !n.asMap {
			vals := make([]any, len(n.children))
			for i, c := range n.children {
				if c == nil {
					continue
				}
				v, err := a.decode(c)
				if err != nil {
					return nil, err
				}
				vals[i] = v
			}
			return vals, nil
		}
		m := make(map[string]any, len(n.children))
		for i, c := range n.children {
			if c == nil {
				m[n.names[i]] = nil
				continue
			}
			v, err := a.decode(c)
			if err != nil {
				return nil, err
			}
			if !n.hidden[i] {
				m[n.names[i]] = v
			}
		}
		return m, nil
	case pqList:
		if d < n.repDef {
			a.skip(n)
			return []any{}, nil
		}
		var out []any
		for {
			v, err := a.decode(n.children[0])
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			p := a.pos[n.first]
			if p >= len(s) || s[p].RepetitionLevel() != n.rep {
				break
			}
		}
		return out, nil
	case pqMap:
		if n.strMap {
			if d < n.repDef {
				a.skip(n)
				return map[string]*string{}, nil
			}
			m := map[string]*string{}
			err := a.eachEntry(n, s, func(k, v any) {
				ks, _ := k.(string)
				if vs, ok := v.(string); ok {
					m[ks] = &vs
				} else {
					m[ks] = nil
				}
			})
			return m, err
		}
		if d < n.repDef {
			a.skip(n)
			return map[string]any{}, nil
		}
		m := map[string]any{}
		err := a.eachEntry(n, s, func(k, v any) {
			ks, ok := k.(string)
			if !ok {
				ks = FormatValue(k, n.keyType)
			}
			m[ks] = v
		})
		return m, err
	}
	return nil, fmt.Errorf("unknown node kind %d", n.kind)
}

func (a *pqAssembler) eachEntry(n *pqNode, s []parquet.Value, fn func(k, v any)) error {
	for {
		k, err := a.decode(n.children[0])
		if err != nil {
			return err
		}
		var v any
		if n.children[1] != nil {
			if v, err = a.decode(n.children[1]); err != nil {
				return err
			}
		}
		fn(k, v)
		p := a.pos[n.first]
		if p >= len(s) || s[p].RepetitionLevel() != n.rep {
			return nil
		}
	}
}

// skip consumes the one entry every leaf below n has for a null or empty n.
func (a *pqAssembler) skip(n *pqNode) {
	for _, l := range n.leaves {
		a.pos[l]++
	}
}

// finish checks that every stream was consumed exactly.
func (a *pqAssembler) finish() error {
	for i, s := range a.streams {
		if a.pos[i] != len(s) {
			return fmt.Errorf("column %s: %d values read of %d: levels do not match the row count", strings.Join(a.cols[i].Path(), "."), a.pos[i], len(s))
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Leaf conversion.

// int96Time converts Spark's INT96 timestamp (nanoseconds of the day, then
// the Julian day) without going through int64 nanoseconds, which would
// overflow for years beyond 2262.
func int96Time(v deprecated.Int96) time.Time {
	nanos := int64(uint64(v[1])<<32 | uint64(v[0]))
	julian := int64(int32(v[2]))
	const unixEpochJulianDay = 2440588
	return time.Unix((julian-unixEpochJulianDay)*86400, 0).Add(time.Duration(nanos)).UTC()
}

// timestampUnit is the duration of one INT64 timestamp step of a column
// (micros unless the column says otherwise).
func timestampUnit(col *parquet.Column) time.Duration {
	if lt := col.Type().LogicalType(); lt != nil {
		if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
			return ts.Unit.Value.Duration()
		}
	}
	return time.Microsecond
}

func int64Time(x int64, unit time.Duration) time.Time {
	switch unit {
	case time.Millisecond:
		return time.UnixMilli(x).UTC()
	case time.Nanosecond:
		return time.Unix(0, x).UTC()
	}
	return time.UnixMicro(x).UTC()
}

// fileDecimalScale is the scale a decimal column is stored with, or def.
func fileDecimalScale(col *parquet.Column, def int) int {
	if lt := col.Type().LogicalType(); lt != nil {
		if d, ok := lt.Value.(*format.DecimalType); ok {
			return int(d.Scale)
		}
	}
	return def
}

// bigEndianInt decodes a big-endian two's-complement integer.
func bigEndianInt(b []byte) *big.Int {
	u := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return u
}

// rescale renders unscaled·10^-from with exactly to fraction digits.
func rescale(u *big.Int, from, to int) (string, error) {
	switch {
	case from == to:
	case from < to:
		u = new(big.Int).Mul(u, pow10(to-from))
	default:
		q, m := new(big.Int).QuoRem(u, pow10(from-to), new(big.Int))
		if m.Sign() != 0 {
			return "", fmt.Errorf("decimal with scale %d does not fit scale %d", from, to)
		}
		u = q
	}
	return formatUnscaled(u, to), nil
}

func leafConverter(col *parquet.Column, t DataType) (func(parquet.Value) (any, error), error) {
	kind := col.Type().Kind()
	bad := func() (func(parquet.Value) (any, error), error) {
		return nil, fmt.Errorf("column %s of Parquet type %s cannot be read as %s", col.Name(), col.Type(), t)
	}
	switch t.Name {
	case TypeString:
		if kind != parquet.ByteArray && kind != parquet.FixedLenByteArray {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return string(v.ByteArray()), nil }, nil
	case TypeBinary:
		if kind != parquet.ByteArray && kind != parquet.FixedLenByteArray {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return bytes.Clone(v.ByteArray()), nil }, nil
	case TypeBoolean:
		if kind != parquet.Boolean {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return v.Boolean(), nil }, nil
	case TypeByte:
		if kind != parquet.Int32 {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return int8(v.Int32()), nil }, nil
	case TypeShort:
		if kind != parquet.Int32 {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return int16(v.Int32()), nil }, nil
	case TypeInteger:
		if kind != parquet.Int32 {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return v.Int32(), nil }, nil
	case TypeLong:
		switch kind {
		case parquet.Int64:
			return func(v parquet.Value) (any, error) { return v.Int64(), nil }, nil
		case parquet.Int32:
			return func(v parquet.Value) (any, error) { return int64(v.Int32()), nil }, nil
		}
		return bad()
	case TypeFloat:
		if kind != parquet.Float {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return v.Float(), nil }, nil
	case TypeDouble:
		switch kind {
		case parquet.Double:
			return func(v parquet.Value) (any, error) { return v.Double(), nil }, nil
		case parquet.Float:
			return func(v parquet.Value) (any, error) { return float64(v.Float()), nil }, nil
		case parquet.Int32:
			return func(v parquet.Value) (any, error) { return float64(v.Int32()), nil }, nil
		case parquet.Int64:
			return func(v parquet.Value) (any, error) { return float64(v.Int64()), nil }, nil
		}
		return bad()
	case TypeDate:
		if kind != parquet.Int32 {
			return bad()
		}
		return func(v parquet.Value) (any, error) { return time.Unix(int64(v.Int32())*86400, 0).UTC(), nil }, nil
	case TypeTimestamp, TypeTimestampNTZ:
		switch kind {
		case parquet.Int96:
			return func(v parquet.Value) (any, error) { return int96Time(v.Int96()), nil }, nil
		case parquet.Int64:
			unit := timestampUnit(col)
			return func(v parquet.Value) (any, error) { return int64Time(v.Int64(), unit), nil }, nil
		}
		return bad()
	case TypeDecimal:
		from := fileDecimalScale(col, t.Scale)
		to := t.Scale
		switch kind {
		case parquet.Int32:
			if from == to {
				return func(v parquet.Value) (any, error) { return formatUnscaledInt(int64(v.Int32()), to), nil }, nil
			}
			return func(v parquet.Value) (any, error) { return rescale(big.NewInt(int64(v.Int32())), from, to) }, nil
		case parquet.Int64:
			if from == to {
				return func(v parquet.Value) (any, error) { return formatUnscaledInt(v.Int64(), to), nil }, nil
			}
			return func(v parquet.Value) (any, error) { return rescale(big.NewInt(v.Int64()), from, to) }, nil
		case parquet.ByteArray, parquet.FixedLenByteArray:
			return func(v parquet.Value) (any, error) { return rescale(bigEndianInt(v.ByteArray()), from, to) }, nil
		}
		return bad()
	}
	return bad()
}
