package pgwire

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/medallionhq/medallion/delta"
)

// typeMap is pgx's codec registry: binary encodings come from it.
var typeMap = pgtype.NewMap()

// oidOf is the Postgres type a result column of Delta type t is sent as.
// Delta's timestamp is an instant (timestamptz); timestamp_ntz is a
// timestamp; nested types are json.
func oidOf(t delta.DataType) uint32 {
	switch t.Name {
	case delta.TypeLong:
		return pgtype.Int8OID
	case delta.TypeInteger:
		return pgtype.Int4OID
	case delta.TypeShort, delta.TypeByte:
		return pgtype.Int2OID
	case delta.TypeFloat:
		return pgtype.Float4OID
	case delta.TypeDouble:
		return pgtype.Float8OID
	case delta.TypeDecimal:
		return pgtype.NumericOID
	case delta.TypeBoolean:
		return pgtype.BoolOID
	case delta.TypeBinary:
		return pgtype.ByteaOID
	case delta.TypeDate:
		return pgtype.DateOID
	case delta.TypeTimestamp:
		return pgtype.TimestamptzOID
	case delta.TypeTimestampNTZ:
		return pgtype.TimestampOID
	case delta.TypeStruct, delta.TypeArray, delta.TypeMap:
		return pgtype.JSONOID
	}
	return pgtype.TextOID
}

// typeSize is the fixed size of a type in RowDescription (-1: variable).
func typeSize(oid uint32) int16 {
	switch oid {
	case pgtype.Int2OID:
		return 2
	case pgtype.Int4OID, pgtype.Float4OID, pgtype.DateOID:
		return 4
	case pgtype.Int8OID, pgtype.Float8OID, pgtype.TimestampOID, pgtype.TimestamptzOID:
		return 8
	case pgtype.BoolOID:
		return 1
	}
	return -1
}

// engineOID is the Postgres type of a parameter whose type the engine
// inferred (DuckDB's type name).
func engineOID(name string) uint32 {
	switch name {
	case "BOOLEAN":
		return pgtype.BoolOID
	case "TINYINT", "SMALLINT":
		return pgtype.Int2OID
	case "INTEGER":
		return pgtype.Int4OID
	case "BIGINT":
		return pgtype.Int8OID
	case "DECIMAL", "HUGEINT":
		return pgtype.NumericOID
	case "FLOAT":
		return pgtype.Float4OID
	case "DOUBLE":
		return pgtype.Float8OID
	case "DATE":
		return pgtype.DateOID
	case "TIMESTAMP":
		return pgtype.TimestampOID
	case "TIMESTAMPTZ":
		return pgtype.TimestamptzOID
	case "BLOB":
		return pgtype.ByteaOID
	}
	return pgtype.TextOID
}

// castType is the engine type a parameter of Postgres type oid is cast
// to ("" leaves the literal untyped, for the engine to coerce: unknown,
// text-like and numeric parameters, whose precision the column decides).
func castType(oid uint32) string {
	switch oid {
	case pgtype.BoolOID:
		return "BOOLEAN"
	case pgtype.Int2OID:
		return "SMALLINT"
	case pgtype.Int4OID:
		return "INTEGER"
	case pgtype.Int8OID:
		return "BIGINT"
	case pgtype.Float4OID:
		return "FLOAT"
	case pgtype.Float8OID:
		return "DOUBLE"
	case pgtype.DateOID:
		return "DATE"
	case pgtype.TimestampOID:
		return "TIMESTAMP"
	case pgtype.TimestamptzOID:
		return "TIMESTAMPTZ"
	case pgtype.ByteaOID:
		return "BLOB"
	}
	return ""
}

// literal renders a bound parameter as an engine literal. raw is the
// parameter as sent (nil: NULL) in format (0 text, 1 binary) for type
// oid. Text parameters become quoted strings cast to the parameter's
// type; binary ones are decoded by pgx's codecs first.
func literal(oid uint32, format int16, raw []byte) (string, error) {
	cast := castType(oid)
	wrap := func(s string) string {
		if cast == "" {
			return s
		}
		return "CAST(" + s + " AS " + cast + ")"
	}
	if raw == nil {
		return wrap("NULL"), nil
	}
	if format == 0 {
		if oid == pgtype.ByteaOID {
			b, err := decodeByteaText(string(raw))
			if err != nil {
				return "", err
			}
			return blobLiteral(b), nil
		}
		return wrap(quoteString(string(raw))), nil
	}
	typ, ok := typeMap.TypeForOID(oid)
	if !ok {
		return "", fmt.Errorf("binary parameters of type OID %d are not supported; send it as text", oid)
	}
	v, err := typ.Codec.DecodeValue(typeMap, oid, format, raw)
	if err != nil {
		return "", fmt.Errorf("decoding a binary %s parameter: %w", typ.Name, err)
	}
	switch x := v.(type) {
	case nil:
		return wrap("NULL"), nil
	case []byte:
		if oid == pgtype.ByteaOID {
			return blobLiteral(x), nil
		}
		return wrap(quoteString(string(x))), nil
	case string:
		return wrap(quoteString(x)), nil
	case time.Time:
		switch oid {
		case pgtype.DateOID:
			return "DATE " + quoteString(x.Format("2006-01-02")), nil
		case pgtype.TimestampOID:
			return "TIMESTAMP " + quoteString(x.Format("2006-01-02 15:04:05.999999")), nil
		}
		return "TIMESTAMPTZ " + quoteString(x.UTC().Format("2006-01-02 15:04:05.999999")+"+00"), nil
	case pgtype.Numeric:
		b, err := x.MarshalJSON()
		if err != nil {
			return "", err
		}
		return wrap(quoteString(strings.Trim(string(b), `"`))), nil
	case pgtype.Date, pgtype.Timestamp, pgtype.Timestamptz:
		return "", fmt.Errorf("infinite dates and timestamps are not supported")
	case float32:
		return wrap(quoteString(strconv.FormatFloat(float64(x), 'g', -1, 32))), nil
	case float64:
		return wrap(quoteString(strconv.FormatFloat(x, 'g', -1, 64))), nil
	case bool, int16, int32, int64:
		return wrap(fmt.Sprint(x)), nil
	}
	return wrap(quoteString(fmt.Sprint(v))), nil
}

func blobLiteral(b []byte) string {
	var s strings.Builder
	s.WriteString("'")
	for _, c := range b {
		fmt.Fprintf(&s, "\\x%02X", c)
	}
	s.WriteString("'::BLOB")
	return s.String()
}

func decodeByteaText(s string) ([]byte, error) {
	if h, ok := strings.CutPrefix(s, `\x`); ok {
		return hex.DecodeString(h)
	}
	return []byte(s), nil
}

// encode renders a result value of Postgres type oid in format (0 text,
// 1 binary); nil is NULL.
func encode(oid uint32, format int16, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if format == 0 {
		return append([]byte{}, textValue(oid, v)...), nil
	}
	switch oid {
	case pgtype.TextOID, pgtype.JSONOID:
		return []byte(textValue(oid, v)), nil
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		n, ok := toInt64(v)
		if !ok {
			return nil, fmt.Errorf("value %v (%T) is not an integer", v, v)
		}
		v = n
	case pgtype.NumericOID:
		var n pgtype.Numeric
		if err := n.ScanScientific(textValue(oid, v)); err != nil {
			return nil, err
		}
		v = n
	case pgtype.Float4OID, pgtype.Float8OID:
		if f, ok := v.(float32); ok {
			v = float64(f)
		}
	}
	return typeMap.Encode(oid, 1, v, nil)
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// textValue is v in Postgres' text output format for type oid (dates
// ISO, timestamps in UTC, bytea hex, floats shortest exact).
func textValue(oid uint32, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "t"
		}
		return "f"
	case float64:
		return formatFloat(x, 64)
	case float32:
		return formatFloat(float64(x), 32)
	case []byte:
		return `\x` + hex.EncodeToString(x)
	case *big.Int:
		return x.String()
	case time.Time:
		switch oid {
		case pgtype.DateOID:
			return x.Format("2006-01-02")
		case pgtype.TimestampOID:
			return x.Format("2006-01-02 15:04:05.999999")
		}
		return x.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
	}
	if n, ok := toInt64(v); ok {
		return strconv.FormatInt(n, 10)
	}
	if oid == pgtype.JSONOID {
		b, err := json.Marshal(jsonable(v))
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// jsonable turns the engine's nested values (maps with non-string keys,
// named map types) into values encoding/json takes.
func jsonable(v any) any {
	switch x := v.(type) {
	case nil, string, bool, float64, float32, int64, int32, int16, int8:
		return v
	case []byte:
		return `\x` + hex.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case *big.Int:
		return json.Number(x.String())
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = jsonable(it.Value().Interface())
		}
		return out
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = jsonable(rv.Index(i).Interface())
		}
		return out
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return v
}
