package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// writeResult prints a query result as an aligned table, CSV or JSON lines.
//
// CSV and JSON are for machines: every number comes out exactly (the
// shortest text that parses back to the same float), DATE as YYYY-MM-DD,
// TIMESTAMP as RFC 3339 in UTC. The table is for people: grouped digits, no
// exponent for ordinary magnitudes, and per DOUBLE column the decimals its
// values have (so money, whole cents, shows 2 places throughout).
func writeResult(w io.Writer, res *engine.Result, format string) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		head := make([]string, len(res.Columns))
		for i, c := range res.Columns {
			head[i] = c.Name
		}
		if err := cw.Write(head); err != nil {
			return err
		}
		for _, r := range res.Rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = exactValue(v, columnType(res, i))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		return writeJSONLines(w, res)
	}
	head := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		head[i] = c.Name
	}
	decimals := make([]int, len(res.Columns))
	for i := range res.Columns {
		decimals[i] = -1
		for _, r := range res.Rows {
			if f, ok := asFloat(r[i]); ok {
				decimals[i] = max(decimals[i], floatDecimals(f))
			}
		}
	}
	tw := newTable(w, head...)
	for _, r := range res.Rows {
		vals := make([]any, len(r))
		for i, v := range r {
			vals[i] = humanValue(v, columnType(res, i), decimals[i])
		}
		tw.row(vals...)
	}
	if err := tw.flush(); err != nil {
		return err
	}
	noun := "rows"
	if len(res.Rows) == 1 {
		noun = "row"
	}
	_, err := fmt.Fprintf(w, "(%d %s)\n", len(res.Rows), noun)
	return err
}

// columnType is the type of result column i (zero when unknown).
func columnType(res *engine.Result, i int) delta.DataType {
	if i < len(res.Columns) {
		return res.Columns[i].Type
	}
	return delta.DataType{}
}

// writeJSONLines prints one JSON object per row, keys in column order.
func writeJSONLines(w io.Writer, res *engine.Result) error {
	bw := bufio.NewWriter(w)
	for _, r := range res.Rows {
		bw.WriteByte('{')
		for i, v := range r {
			if i > 0 {
				bw.WriteByte(',')
			}
			k, err := json.Marshal(res.Columns[i].Name)
			if err != nil {
				return err
			}
			bw.Write(k)
			bw.WriteByte(':')
			b, err := jsonValue(v, columnType(res, i))
			if err != nil {
				return fmt.Errorf("cli: column %s: %w", res.Columns[i].Name, err)
			}
			bw.Write(b)
		}
		bw.WriteString("}\n")
	}
	return bw.Flush()
}

func jsonValue(v any, t delta.DataType) ([]byte, error) {
	switch x := v.(type) {
	case time.Time:
		return json.Marshal(timeText(x, t, time.RFC3339Nano))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return json.Marshal(exactFloat(x, 64)) // JSON has no NaN/Infinity
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return json.Marshal(exactFloat(float64(x), 32))
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Engine values JSON cannot hold as they are (a MAP with non-string
		// keys): their text, as the table shows it.
		return json.Marshal(fmt.Sprint(v))
	}
	return b, nil
}

// timeText renders a DATE as YYYY-MM-DD and a timestamp in UTC with layout.
func timeText(x time.Time, t delta.DataType, layout string) string {
	if t.Name == delta.TypeDate {
		return x.UTC().Format(time.DateOnly)
	}
	if t.Name == delta.TypeTimestampNTZ {
		return x.UTC().Format(strings.TrimSuffix(layout, "Z07:00"))
	}
	return x.UTC().Format(layout)
}

// exactValue renders a value for CSV: numbers exactly, times in UTC.
func exactValue(v any, t delta.DataType) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return timeText(x, t, time.RFC3339Nano)
	case float64:
		return exactFloat(x, 64)
	case float32:
		return exactFloat(float64(x), 32)
	case []byte:
		return fmt.Sprintf("%x", x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// exactFloat is the shortest text that parses back to f: fixed notation
// for ordinary magnitudes, an exponent only below 1e-6 or from 1e21 on.
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

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x), !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	}
	return 0, false
}

// humanSignificant is how many significant digits the table shows of a
// DOUBLE: enough for any value a person reads, few enough to hide the
// binary noise of sums (2344.7900000000004 shows as 2,344.79).
const humanSignificant = 15

// floatDecimals is the number of decimals f has at humanSignificant
// significant digits.
func floatDecimals(f float64) int {
	s := strconv.FormatFloat(roundSignificant(f), 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func roundSignificant(f float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', humanSignificant, 64), 64)
	if err != nil {
		return f
	}
	return r
}

// humanValue renders a value for the table: grouped digits, floats with
// decimals places (-1: as many as the value has), no exponent for
// ordinary magnitudes.
func humanValue(v any, t delta.DataType, decimals int) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		if t.Name == delta.TypeDate || (t.Name == "" && x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0) {
			return x.UTC().Format(time.DateOnly)
		}
		return timeText(x, t, "2006-01-02 15:04:05.999999")
	case float64, float32:
		f, ok := asFloat(x)
		if !ok {
			return exactValue(x, t)
		}
		if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
			return strconv.FormatFloat(f, 'g', humanSignificant, 64)
		}
		if decimals < 0 {
			decimals = floatDecimals(f)
		}
		return groupDigits(strconv.FormatFloat(roundSignificant(f), 'f', decimals, 64))
	case int64:
		return groupDigits(strconv.FormatInt(x, 10))
	case int32:
		return groupDigits(strconv.FormatInt(int64(x), 10))
	case int16:
		return groupDigits(strconv.FormatInt(int64(x), 10))
	case int:
		return groupDigits(strconv.Itoa(x))
	case string:
		if t.Name == delta.TypeDecimal {
			return groupDigits(x)
		}
		return x
	}
	return exactValue(v, t)
}

// groupDigits puts thousands separators into the integer part of a
// plain decimal number ("-1234567.5" → "-1,234,567.5").
func groupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		sign, s = s[:1], s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) <= 3 || strings.ContainsFunc(intPart, func(r rune) bool { return r < '0' || r > '9' }) {
		return sign + s
	}
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return sign + b.String()
}

type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, head ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	fmt.Fprintln(t.tw, strings.Join(head, "\t"))
	return t
}

func (t *table) row(vals ...any) {
	parts := make([]string, len(vals))
	for i, v := range vals {
		s := fmt.Sprint(v)
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\t", " "), "\n", " ")
		parts[i] = s
	}
	fmt.Fprintln(t.tw, strings.Join(parts, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func compactMap(m map[string]any) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func compactStrings(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}
