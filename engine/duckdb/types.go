package duckdb

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/delta"
)

// SQLType renders a Delta type as a DuckDB type.
func SQLType(t delta.DataType) (string, error) {
	switch t.Name {
	case delta.TypeString:
		return "VARCHAR", nil
	case delta.TypeLong:
		return "BIGINT", nil
	case delta.TypeInteger:
		return "INTEGER", nil
	case delta.TypeShort:
		return "SMALLINT", nil
	case delta.TypeByte:
		return "TINYINT", nil
	case delta.TypeFloat:
		return "FLOAT", nil
	case delta.TypeDouble:
		return "DOUBLE", nil
	case delta.TypeBoolean:
		return "BOOLEAN", nil
	case delta.TypeBinary:
		return "BLOB", nil
	case delta.TypeDate:
		return "DATE", nil
	case delta.TypeTimestamp:
		return "TIMESTAMPTZ", nil
	case delta.TypeTimestampNTZ:
		return "TIMESTAMP", nil
	case delta.TypeDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case delta.TypeArray:
		el, err := SQLType(*t.ElementType)
		if err != nil {
			return "", err
		}
		return el + "[]", nil
	case delta.TypeMap:
		k, err := SQLType(*t.KeyType)
		if err != nil {
			return "", err
		}
		v, err := SQLType(*t.ValueType)
		if err != nil {
			return "", err
		}
		return "MAP(" + k + ", " + v + ")", nil
	case delta.TypeStruct:
		parts := make([]string, len(t.Fields))
		for i, f := range t.Fields {
			ft, err := SQLType(f.Type)
			if err != nil {
				return "", err
			}
			parts[i] = quoteIdent(f.Name) + " " + ft
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	}
	return "", fmt.Errorf("duckdb: no DuckDB type for Delta type %s", t)
}

// deltaType parses a DuckDB type name (as DESCRIBE or the driver reports
// it) into the Delta type its values are stored as. cast is the DuckDB type
// to cast to before writing when it differs (naive timestamps become
// TIMESTAMPTZ, unsigned integers widen, …).
func deltaType(s string) (t delta.DataType, cast string, err error) {
	s = strings.TrimSpace(s)
	u := strings.ToUpper(s)
	if strings.HasSuffix(u, "[]") {
		el, elCast, err := deltaType(s[:len(s)-2])
		if err != nil {
			return t, "", err
		}
		c := ""
		if elCast != "" {
			c = elCast + "[]"
		}
		return delta.DataType{Name: delta.TypeArray, ElementType: &el, ContainsNull: true}, c, nil
	}
	switch {
	case strings.HasPrefix(u, "DECIMAL(") || strings.HasPrefix(u, "NUMERIC("):
		inner := s[strings.Index(s, "(")+1 : len(s)-1]
		ps, ss, _ := strings.Cut(inner, ",")
		p, err1 := strconv.Atoi(strings.TrimSpace(ps))
		sc, err2 := strconv.Atoi(strings.TrimSpace(ss))
		if err1 != nil || err2 != nil {
			return t, "", fmt.Errorf("duckdb: bad decimal type %q", s)
		}
		return delta.Decimal(p, sc), "", nil
	case strings.HasPrefix(u, "STRUCT("):
		fields, err := splitTop(s[len("STRUCT(") : len(s)-1])
		if err != nil {
			return t, "", err
		}
		st := delta.DataType{Name: delta.TypeStruct}
		needCast := false
		var casts []string
		for _, f := range fields {
			name, typ := splitField(f)
			ft, fc, err := deltaType(typ)
			if err != nil {
				return t, "", err
			}
			if fc != "" {
				needCast = true
			} else {
				fc = typ
			}
			casts = append(casts, quoteIdent(name)+" "+fc)
			st.Fields = append(st.Fields, delta.StructField{Name: name, Type: ft, Nullable: true})
		}
		c := ""
		if needCast {
			c = "STRUCT(" + strings.Join(casts, ", ") + ")"
		}
		return st, c, nil
	case strings.HasPrefix(u, "MAP("):
		kv, err := splitTop(s[len("MAP(") : len(s)-1])
		if err != nil || len(kv) != 2 {
			return t, "", fmt.Errorf("duckdb: bad map type %q", s)
		}
		k, kc, err := deltaType(kv[0])
		if err != nil {
			return t, "", err
		}
		v, vc, err := deltaType(kv[1])
		if err != nil {
			return t, "", err
		}
		c := ""
		if kc != "" || vc != "" {
			c = "MAP(" + or(kc, kv[0]) + ", " + or(vc, kv[1]) + ")"
		}
		return delta.DataType{Name: delta.TypeMap, KeyType: &k, ValueType: &v, ValueContainsNull: true}, c, nil
	}
	switch u {
	case "VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR":
		return delta.Primitive(delta.TypeString), "", nil
	case "UUID", "JSON", "ENUM":
		return delta.Primitive(delta.TypeString), "VARCHAR", nil
	case "BIGINT", "INT8", "LONG":
		return delta.Primitive(delta.TypeLong), "", nil
	case "INTEGER", "INT4", "INT", "SIGNED":
		return delta.Primitive(delta.TypeInteger), "", nil
	case "SMALLINT", "INT2", "SHORT":
		return delta.Primitive(delta.TypeShort), "", nil
	case "TINYINT", "INT1":
		return delta.Primitive(delta.TypeByte), "", nil
	case "UTINYINT":
		return delta.Primitive(delta.TypeShort), "SMALLINT", nil
	case "USMALLINT":
		return delta.Primitive(delta.TypeInteger), "INTEGER", nil
	case "UINTEGER":
		return delta.Primitive(delta.TypeLong), "BIGINT", nil
	case "UBIGINT", "HUGEINT", "UHUGEINT":
		return delta.Decimal(38, 0), "DECIMAL(38,0)", nil
	case "DOUBLE", "FLOAT8":
		return delta.Primitive(delta.TypeDouble), "", nil
	case "FLOAT", "FLOAT4", "REAL":
		return delta.Primitive(delta.TypeFloat), "", nil
	case "BOOLEAN", "BOOL":
		return delta.Primitive(delta.TypeBoolean), "", nil
	case "BLOB", "BYTEA", "VARBINARY":
		return delta.Primitive(delta.TypeBinary), "", nil
	case "DATE":
		return delta.Primitive(delta.TypeDate), "", nil
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ":
		return delta.Primitive(delta.TypeTimestamp), "", nil
	case "TIMESTAMP", "DATETIME", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP_US":
		// Naive timestamps are stored as UTC instants (the engine runs
		// with TimeZone=UTC), readable by every Delta reader.
		return delta.Primitive(delta.TypeTimestamp), "TIMESTAMPTZ", nil
	case "DECIMAL", "NUMERIC":
		return delta.Decimal(18, 3), "", nil
	case "\"NULL\"", "NULL":
		return delta.Primitive(delta.TypeString), "VARCHAR", nil
	}
	return t, "", fmt.Errorf("duckdb: type %s cannot be stored in a Delta table", s)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// splitTop splits a comma-separated list at the top nesting level.
func splitTop(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("duckdb: unbalanced type %q", s)
			}
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(s[start:])), nil
}

// splitField splits "name TYPE" (name possibly quoted).
func splitField(f string) (name, typ string) {
	if strings.HasPrefix(f, "\"") {
		end := 1
		for end < len(f) {
			if f[end] == '"' {
				if end+1 < len(f) && f[end+1] == '"' {
					end += 2
					continue
				}
				break
			}
			end++
		}
		return strings.ReplaceAll(f[1:end], `""`, `"`), strings.TrimSpace(f[end+1:])
	}
	name, typ, _ = strings.Cut(f, " ")
	return name, strings.TrimSpace(typ)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// qualified quotes "layer.table" as "layer"."table".
func qualified(name string) (schema, table, full string) {
	schema, table, ok := strings.Cut(name, ".")
	if !ok {
		return "", name, quoteIdent(name)
	}
	return schema, table, quoteIdent(schema) + "." + quoteIdent(table)
}
