package spark

import (
	"fmt"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medallionhq/medallion/delta"
)

// columnType is the Delta type of an Arrow type as Spark Connect sends
// it. NULL-typed columns (a bare NULL literal) read as string.
func columnType(t arrow.DataType) (delta.DataType, error) {
	switch x := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.NullType:
		return delta.Primitive(delta.TypeString), nil
	case *arrow.BooleanType:
		return delta.Primitive(delta.TypeBoolean), nil
	case *arrow.Int8Type:
		return delta.Primitive(delta.TypeByte), nil
	case *arrow.Int16Type:
		return delta.Primitive(delta.TypeShort), nil
	case *arrow.Int32Type:
		return delta.Primitive(delta.TypeInteger), nil
	case *arrow.Int64Type:
		return delta.Primitive(delta.TypeLong), nil
	case *arrow.Float32Type:
		return delta.Primitive(delta.TypeFloat), nil
	case *arrow.Float64Type:
		return delta.Primitive(delta.TypeDouble), nil
	case *arrow.BinaryType, *arrow.LargeBinaryType:
		return delta.Primitive(delta.TypeBinary), nil
	case *arrow.Date32Type:
		return delta.Primitive(delta.TypeDate), nil
	case *arrow.TimestampType:
		if x.TimeZone == "" {
			return delta.Primitive(delta.TypeTimestampNTZ), nil
		}
		return delta.Primitive(delta.TypeTimestamp), nil
	case *arrow.Decimal128Type:
		return delta.Decimal(int(x.Precision), int(x.Scale)), nil
	case *arrow.ListType:
		e, err := columnType(x.Elem())
		if err != nil {
			return delta.DataType{}, err
		}
		return delta.DataType{Name: delta.TypeArray, ElementType: &e, ContainsNull: true}, nil
	case *arrow.MapType:
		k, err := columnType(x.KeyType())
		if err != nil {
			return delta.DataType{}, err
		}
		v, err := columnType(x.ItemType())
		if err != nil {
			return delta.DataType{}, err
		}
		return delta.DataType{Name: delta.TypeMap, KeyType: &k, ValueType: &v, ValueContainsNull: true}, nil
	case *arrow.StructType:
		st := delta.DataType{Name: delta.TypeStruct}
		for _, f := range x.Fields() {
			ft, err := columnType(f.Type)
			if err != nil {
				return delta.DataType{}, err
			}
			st.Fields = append(st.Fields, delta.StructField{Name: f.Name, Type: ft, Nullable: true})
		}
		return st, nil
	case *arrow.DayTimeIntervalType, *arrow.MonthIntervalType, *arrow.DurationType, *arrow.MonthDayNanoIntervalType:
		return delta.Primitive(delta.TypeString), nil // rendered as text
	}
	return delta.DataType{}, fmt.Errorf("spark: result column of Arrow type %s has no Delta type", t)
}

// value is the Go value of row i of a: nil, bool, int8…int64, float32,
// float64, string, []byte, time.Time (DATE and TIMESTAMP in UTC), a
// decimal as its exact text with the type's scale, []any for arrays,
// map[string]any for structs, map[any]any for maps; intervals as text.
func value(a arrow.Array, i int) (any, error) {
	if a.IsNull(i) {
		return nil, nil
	}
	switch x := a.(type) {
	case *array.Null:
		return nil, nil
	case *array.String:
		return x.Value(i), nil
	case *array.LargeString:
		return x.Value(i), nil
	case *array.Boolean:
		return x.Value(i), nil
	case *array.Int8:
		return x.Value(i), nil
	case *array.Int16:
		return x.Value(i), nil
	case *array.Int32:
		return x.Value(i), nil
	case *array.Int64:
		return x.Value(i), nil
	case *array.Float32:
		return x.Value(i), nil
	case *array.Float64:
		return x.Value(i), nil
	case *array.Binary:
		return append([]byte(nil), x.Value(i)...), nil
	case *array.LargeBinary:
		return append([]byte(nil), x.Value(i)...), nil
	case *array.Date32:
		return x.Value(i).ToTime().UTC(), nil
	case *array.Timestamp:
		unit := x.DataType().(*arrow.TimestampType).Unit
		v := int64(x.Value(i))
		switch unit {
		case arrow.Second:
			return time.Unix(v, 0).UTC(), nil
		case arrow.Millisecond:
			return time.UnixMilli(v).UTC(), nil
		case arrow.Microsecond:
			return time.UnixMicro(v).UTC(), nil
		}
		return time.Unix(0, v).UTC(), nil
	case *array.Decimal128:
		// Spark Connect hands the unscaled integer; the scale is the type's.
		scale := x.DataType().(*arrow.Decimal128Type).Scale
		r := new(big.Rat).SetFrac(x.Value(i).BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
		return r.FloatString(int(scale)), nil
	case *array.List:
		from, to := x.ValueOffsets(i)
		out := make([]any, 0, to-from)
		for j := from; j < to; j++ {
			v, err := value(x.ListValues(), int(j))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *array.Map:
		from, to := x.ValueOffsets(i)
		out := make(map[any]any, to-from)
		for j := from; j < to; j++ {
			k, err := value(x.Keys(), int(j))
			if err != nil {
				return nil, err
			}
			v, err := value(x.Items(), int(j))
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case *array.Struct:
		st := x.DataType().(*arrow.StructType)
		out := make(map[string]any, x.NumField())
		for f := 0; f < x.NumField(); f++ {
			v, err := value(x.Field(f), i)
			if err != nil {
				return nil, err
			}
			out[st.Field(f).Name] = v
		}
		return out, nil
	case *array.DayTimeInterval, *array.MonthInterval, *array.Duration, *array.MonthDayNanoInterval:
		return x.ValueStr(i), nil
	}
	return nil, fmt.Errorf("spark: no Go value for Arrow type %s", a.DataType())
}
