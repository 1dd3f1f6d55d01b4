package sparkinterop_test

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// sep joins the values of a rendered row.
const sep = "\x1f"

// arrowRows renders every row of an Arrow table the way `medallion query
// --format csv` renders values: numbers as their shortest exact text, DATE
// as YYYY-MM-DD, TIMESTAMP as RFC 3339 in UTC, binary as hex, NULL as "".
// It is written independently of medallion's engines, from Arrow's types.
func arrowRows(tbl arrow.Table) (cols []string, rows []string, err error) {
	for _, f := range tbl.Schema().Fields() {
		cols = append(cols, f.Name)
	}
	n := int(tbl.NumRows())
	cells := make([][]string, n)
	for i := range cells {
		cells[i] = make([]string, len(cols))
	}
	for c := range cols {
		row := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				s, err := arrowValue(chunk, i)
				if err != nil {
					return nil, nil, fmt.Errorf("column %s: %w", cols[c], err)
				}
				cells[row][c] = s
				row++
			}
		}
	}
	for _, r := range cells {
		rows = append(rows, strings.Join(r, sep))
	}
	slices.Sort(rows)
	return cols, rows, nil
}

func arrowValue(a arrow.Array, i int) (string, error) {
	if a.IsNull(i) {
		return "", nil
	}
	switch x := a.(type) {
	case *array.String:
		return x.Value(i), nil
	case *array.LargeString:
		return x.Value(i), nil
	case *array.Boolean:
		return strconv.FormatBool(x.Value(i)), nil
	case *array.Int8:
		return strconv.FormatInt(int64(x.Value(i)), 10), nil
	case *array.Int16:
		return strconv.FormatInt(int64(x.Value(i)), 10), nil
	case *array.Int32:
		return strconv.FormatInt(int64(x.Value(i)), 10), nil
	case *array.Int64:
		return strconv.FormatInt(x.Value(i), 10), nil
	case *array.Float32:
		return exactFloat(float64(x.Value(i)), 32), nil
	case *array.Float64:
		return exactFloat(x.Value(i), 64), nil
	case *array.Binary:
		return hex.EncodeToString(x.Value(i)), nil
	case *array.Date32:
		return x.Value(i).ToTime().UTC().Format(time.DateOnly), nil
	case *array.Timestamp:
		typ := x.DataType().(*arrow.TimestampType)
		t := tsTime(int64(x.Value(i)), typ.Unit)
		if typ.TimeZone == "" { // TIMESTAMP_NTZ
			return t.Format("2006-01-02T15:04:05.999999999"), nil
		}
		return t.Format(time.RFC3339Nano), nil
	case *array.Decimal128:
		typ := x.DataType().(*arrow.Decimal128Type)
		v := x.Value(i)
		r := new(big.Rat).SetFrac(v.BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Scale)), nil))
		return r.FloatString(int(typ.Scale)), nil
	}
	return "", fmt.Errorf("no rendering for Arrow type %s", a.DataType())
}

func tsTime(v int64, unit arrow.TimeUnit) time.Time {
	switch unit {
	case arrow.Second:
		return time.Unix(v, 0).UTC()
	case arrow.Millisecond:
		return time.UnixMilli(v).UTC()
	case arrow.Microsecond:
		return time.UnixMicro(v).UTC()
	}
	return time.Unix(0, v).UTC()
}

// exactFloat is the shortest text that parses back to f, in fixed
// notation for ordinary magnitudes (as medallion's CSV output has it).
func exactFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}
