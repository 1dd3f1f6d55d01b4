package goldref

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxDiffs is how many differences Diff describes.
const maxDiffs = 10

// Diff compares want (e.g. computed by Compute) with got (e.g. read from the
// pipeline's table) and describes the first differences, up to 10; it
// returns "" when they are equal.
//
// Rows are compared as multisets: their order does not matter. Columns are
// matched by name: got may carry more columns than want, which are ignored;
// a column of want missing from got is a difference. Values compare as
// follows: NULL (nil) equals only NULL; numbers of any Go integer or float
// type compare by value, floats equal within 1e-6 absolute or relative;
// time.Time values compare as instants; []byte compares as a string;
// anything else by its printed form. Table names are not compared.
func Diff(want, got *Table) string {
	if want == nil || got == nil {
		if want == got {
			return ""
		}
		return fmt.Sprintf("want table %v, got table %v", describeTable(want), describeTable(got))
	}
	name := want.Name
	if name == "" {
		name = got.Name
	}

	// Project got's rows onto want's columns.
	idx := make([]int, len(want.Columns))
	var missingCols []string
	for i, c := range want.Columns {
		idx[i] = slices.Index(got.Columns, c)
		if idx[i] < 0 {
			missingCols = append(missingCols, c)
		}
	}
	if len(missingCols) > 0 {
		return fmt.Sprintf("%s: got has no column %s (got columns %q)", name, strings.Join(missingCols, ", "), got.Columns)
	}
	var lines []string
	gotRows := make([][]any, 0, len(got.Rows))
	for n, r := range got.Rows {
		p := make([]any, len(idx))
		for i, j := range idx {
			if j >= len(r) {
				lines = append(lines, fmt.Sprintf("got row %d has %d values for %d columns", n, len(r), len(got.Columns)))
				break
			}
			p[i] = r[j]
		}
		gotRows = append(gotRows, p)
	}
	wantRows := make([][]any, 0, len(want.Rows))
	for n, r := range want.Rows {
		if len(r) != len(want.Columns) {
			lines = append(lines, fmt.Sprintf("want row %d has %d values for %d columns", n, len(r), len(want.Columns)))
			continue
		}
		wantRows = append(wantRows, r)
	}

	// Columns holding a float in either table compare approximately; the
	// others form an exact key that buckets the rows.
	approx := make([]bool, len(want.Columns))
	for _, rows := range [][][]any{wantRows, gotRows} {
		for _, r := range rows {
			for i, v := range r {
				switch v.(type) {
				case float32, float64:
					approx[i] = true
				}
			}
		}
	}
	bucketKey := func(r []any) string {
		var b strings.Builder
		for i, v := range r {
			if !approx[i] {
				b.WriteString(canonical(v))
			}
			b.WriteByte(0)
		}
		return b.String()
	}
	buckets := map[string][]int{} // key -> indexes of unmatched got rows
	for j, r := range gotRows {
		k := bucketKey(r)
		buckets[k] = append(buckets[k], j)
	}
	matched := make([]bool, len(gotRows))
	var missing []int // want rows without a match
	for i, r := range wantRows {
		found := false
		for _, j := range buckets[bucketKey(r)] {
			if !matched[j] && rowsEqual(r, gotRows[j]) {
				matched[j], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, i)
		}
	}

	// Describe: a missing row with an unmatched got row of the same exact
	// key is shown as a changed row; the rest as missing or unexpected.
	nUnexpected := 0
	for j := range gotRows {
		if !matched[j] {
			nUnexpected++
		}
	}
	if len(missing) == 0 && nUnexpected == 0 && len(lines) == 0 {
		return ""
	}
	shown := make([]bool, len(gotRows))
	for _, i := range missing {
		r := wantRows[i]
		pair := -1
		for _, j := range buckets[bucketKey(r)] {
			if !matched[j] && !shown[j] {
				pair = j
				break
			}
		}
		if pair >= 0 {
			shown[pair] = true
			lines = append(lines, fmt.Sprintf("differs:    want %s\n            got  %s", formatRow(want.Columns, r), formatRow(want.Columns, gotRows[pair])))
		} else {
			lines = append(lines, "missing:    "+formatRow(want.Columns, r))
		}
	}
	for j, r := range gotRows {
		if !matched[j] && !shown[j] {
			lines = append(lines, "unexpected: "+formatRow(want.Columns, r))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d of %d wanted rows not matched, %d of %d got rows not matched", name, len(missing), len(wantRows), nUnexpected, len(gotRows))
	for n, l := range lines {
		if n == maxDiffs {
			fmt.Fprintf(&b, "\n  ... and %d more", len(lines)-maxDiffs)
			break
		}
		b.WriteString("\n  " + l)
	}
	return b.String()
}

func describeTable(t *Table) string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q with %d rows", t.Name, len(t.Rows))
}

func rowsEqual(a, b []any) bool {
	for i := range a {
		if !valuesEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// valuesEqual compares two values as Diff documents.
func valuesEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && floatsEqual(fa, fb)
	}
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return canonical(a) == canonical(b)
}

// floatsEqual: equal within 1e-6 absolute or relative (NaN equals NaN).
func floatsEqual(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	d := math.Abs(a - b)
	return d <= 1e-6 || d <= 1e-6*math.Max(math.Abs(a), math.Abs(b))
}

// toFloat converts any Go number to float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// canonical prints a value so that values Diff deems exactly equal print
// the same: integral numbers as integers whatever their Go type, strings
// quoted, times as UTC instants.
func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	}
	if f, ok := toFloat(v); ok {
		if f == math.Trunc(f) && math.Abs(f) < 1e18 {
			return strconv.FormatFloat(f, 'f', 0, 64)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []byte:
		return strconv.Quote(string(x))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// formatRow prints a row for a person: (col=value, ...).
func formatRow(cols []string, r []any) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = cols[i] + "=" + formatValue(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.RFC3339Nano)
	case float32, float64:
		f, _ := toFloat(x)
		return strconv.FormatFloat(f, 'g', -1, 64)
	case string:
		return strconv.Quote(x)
	case []byte:
		return strconv.Quote(string(x))
	}
	return fmt.Sprint(v)
}

// sortRows sorts rows by their values, column by column (see compareValues).
func sortRows(rows [][]any) {
	slices.SortStableFunc(rows, func(a, b []any) int {
		for i := range min(len(a), len(b)) {
			if c := compareValues(a[i], b[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(a), len(b))
	})
}

// compareValues orders NULL first, then numbers, strings, times, and
// anything else by its printed form.
func compareValues(a, b any) int {
	rank := func(v any) int {
		if v == nil {
			return 0
		}
		if _, ok := toFloat(v); ok {
			return 1
		}
		switch v.(type) {
		case string:
			return 2
		case time.Time:
			return 3
		}
		return 4
	}
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch ra {
	case 0:
		return 0
	case 1:
		fa, _ := toFloat(a)
		fb, _ := toFloat(b)
		return cmp.Compare(fa, fb)
	case 2:
		return strings.Compare(a.(string), b.(string))
	case 3:
		return a.(time.Time).Compare(b.(time.Time))
	}
	return strings.Compare(canonical(a), canonical(b))
}
