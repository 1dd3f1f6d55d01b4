package delta

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Comparison operators of a partition Condition.
const (
	OpEq        = "="
	OpNe        = "!="
	OpLt        = "<"
	OpLe        = "<="
	OpGt        = ">"
	OpGe        = ">="
	OpIn        = "IN"
	OpIsNull    = "IS NULL"
	OpIsNotNull = "IS NOT NULL"
)

// Condition compares one partition column with literal values, typed by the
// column's schema type. Values are written as in partitionValues ("2017",
// "2017-03-01", "true"); a NULL partition value matches only IS NULL.
type Condition struct {
	Column string
	Op     string
	Values []string
}

// Predicate selects partitions: a file matches when all conditions hold. The
// empty predicate matches every file.
type Predicate []Condition

// Eq is shorthand for a one-condition equality predicate.
func Eq(column, value string) Predicate {
	return Predicate{{Column: column, Op: OpEq, Values: []string{value}}}
}

// String renders the predicate as SQL, for commitInfo and messages.
func (p Predicate) String() string {
	if len(p) == 0 {
		return "true"
	}
	parts := make([]string, len(p))
	for i, c := range p {
		quoted := make([]string, len(c.Values))
		for j, v := range c.Values {
			quoted[j] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		switch c.Op {
		case OpIsNull, OpIsNotNull:
			parts[i] = c.Column + " " + c.Op
		case OpIn:
			parts[i] = c.Column + " IN (" + strings.Join(quoted, ", ") + ")"
		default:
			parts[i] = c.Column + " " + c.Op + " " + strings.Join(quoted, ", ")
		}
	}
	return strings.Join(parts, " AND ")
}

// Validate checks the predicate against a schema and partition columns.
func (p Predicate) Validate(schema *StructType, partitionColumns []string) error {
	for _, c := range p {
		found := false
		for _, pc := range partitionColumns {
			if strings.EqualFold(pc, c.Column) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("delta: predicate: %q is not a partition column (partition columns: %v)", c.Column, partitionColumns)
		}
		f, _ := schema.Field(c.Column)
		switch c.Op {
		case OpIsNull, OpIsNotNull:
		case OpIn:
			if len(c.Values) == 0 {
				return fmt.Errorf("delta: predicate: %s IN needs values", c.Column)
			}
		case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
			if len(c.Values) != 1 {
				return fmt.Errorf("delta: predicate: %s %s needs one value", c.Column, c.Op)
			}
		default:
			return fmt.Errorf("delta: predicate: unknown operator %q", c.Op)
		}
		for _, v := range c.Values {
			if _, err := comparePartition(f.Type, v, v); err != nil {
				return fmt.Errorf("delta: predicate: %s: %w", c.Column, err)
			}
		}
	}
	return nil
}

// Match reports whether a file with these partition values satisfies the
// predicate.
func (p Predicate) Match(schema *StructType, values map[string]*string) (bool, error) {
	for _, c := range p {
		var val *string
		for k, v := range values {
			if strings.EqualFold(k, c.Column) {
				val = v
			}
		}
		f, ok := schema.Field(c.Column)
		if !ok {
			return false, fmt.Errorf("delta: predicate: unknown column %q", c.Column)
		}
		if val != nil && *val == "" && f.Type.Name != TypeString {
			val = nil
		}
		switch c.Op {
		case OpIsNull:
			if val != nil {
				return false, nil
			}
			continue
		case OpIsNotNull:
			if val == nil {
				return false, nil
			}
			continue
		}
		if val == nil {
			return false, nil
		}
		ok, err := matchCondition(f.Type, c, *val)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func matchCondition(t DataType, c Condition, val string) (bool, error) {
	if c.Op == OpIn {
		for _, v := range c.Values {
			cmp, err := comparePartition(t, val, v)
			if err != nil {
				return false, err
			}
			if cmp == 0 {
				return true, nil
			}
		}
		return false, nil
	}
	cmp, err := comparePartition(t, val, c.Values[0])
	if err != nil {
		return false, err
	}
	switch c.Op {
	case OpEq:
		return cmp == 0, nil
	case OpNe:
		return cmp != 0, nil
	case OpLt:
		return cmp < 0, nil
	case OpLe:
		return cmp <= 0, nil
	case OpGt:
		return cmp > 0, nil
	case OpGe:
		return cmp >= 0, nil
	}
	return false, fmt.Errorf("delta: predicate: unknown operator %q", c.Op)
}

// comparePartition compares two serialized partition values as type t.
func comparePartition(t DataType, a, b string) (int, error) {
	switch t.Name {
	case TypeByte, TypeShort, TypeInteger, TypeLong:
		x, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
		y, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("not an integer: %q / %q", a, b)
		}
		return cmpOrdered(x, y), nil
	case TypeFloat, TypeDouble, TypeDecimal:
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("not a number: %q / %q", a, b)
		}
		return cmpOrdered(x, y), nil
	case TypeDate, TypeTimestamp, TypeTimestampNTZ:
		x, err1 := ParsePartitionTime(a)
		y, err2 := ParsePartitionTime(b)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("not a date/timestamp: %q / %q", a, b)
		}
		return x.Compare(y), nil
	case TypeBoolean:
		x, err1 := strconv.ParseBool(a)
		y, err2 := strconv.ParseBool(b)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("not a boolean: %q / %q", a, b)
		}
		return cmpOrdered(boolInt(x), boolInt(y)), nil
	}
	return strings.Compare(a, b), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpOrdered[T int | int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ParsePartitionTime parses a date or timestamp partition value as Delta
// writes them ("2023-01-01", "2023-01-01 10:00:00", with optional fraction,
// or RFC 3339), in UTC.
func ParsePartitionTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("delta: invalid date/timestamp %q", s)
}
