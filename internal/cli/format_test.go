package cli

import (
	"bytes"
	"encoding/csv"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// oneTenth is a variable so that oneTenth+0.2 is computed in float64, not folded
// exactly to 0.3 as a constant.
var oneTenth = 0.1

func TestWriteResultFormats(t *testing.T) {
	day := time.Date(2017, 11, 6, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2017, 11, 6, 10, 2, 3, 123456000, time.UTC)
	res := &engine.Result{
		Columns: []engine.Column{
			{Name: "state", Type: delta.Primitive(delta.TypeString)},
			{Name: "revenue", Type: delta.Primitive(delta.TypeDouble)},
			{Name: "orders", Type: delta.Primitive(delta.TypeLong)},
			{Name: "day", Type: delta.Primitive(delta.TypeDate)},
			{Name: "at", Type: delta.Primitive(delta.TypeTimestamp)},
			{Name: "price", Type: delta.Decimal(18, 2)},
		},
		Rows: [][]any{
			{"SP", 14702344.79, int64(96478), day, ts, "1234567.50"},
			{"RJ", 7126637.5, int64(12852), day, ts, "-0.05"},
			{"AC", oneTenth + 0.2, int64(81), nil, nil, nil},
		},
	}
	tests := []struct {
		format string
		want   string
	}{
		{"csv", "state,revenue,orders,day,at,price\n" +
			"SP,14702344.79,96478,2017-11-06,2017-11-06T10:02:03.123456Z,1234567.50\n" +
			"RJ,7126637.5,12852,2017-11-06,2017-11-06T10:02:03.123456Z,-0.05\n" +
			"AC,0.30000000000000004,81,,,\n"},
		{"json", `{"state":"SP","revenue":14702344.79,"orders":96478,"day":"2017-11-06","at":"2017-11-06T10:02:03.123456Z","price":"1234567.50"}` + "\n" +
			`{"state":"RJ","revenue":7126637.5,"orders":12852,"day":"2017-11-06","at":"2017-11-06T10:02:03.123456Z","price":"-0.05"}` + "\n" +
			`{"state":"AC","revenue":0.30000000000000004,"orders":81,"day":null,"at":null,"price":null}` + "\n"},
		{"table", "state  revenue        orders  day         at                          price\n" +
			"SP     14,702,344.79  96,478  2017-11-06  2017-11-06 10:02:03.123456  1,234,567.50\n" +
			"RJ     7,126,637.50   12,852  2017-11-06  2017-11-06 10:02:03.123456  -0.05\n" +
			"AC     0.30           81                                              \n" +
			"(3 rows)\n"},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeResult(&buf, res, tc.format); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestCSVRoundTripsDoubles: every DOUBLE printed as CSV parses back to the
// same value, bit for bit.
func TestCSVRoundTripsDoubles(t *testing.T) {
	vals := []float64{0, -0.0, 1, 0.1, 2344.79, 14702344.79, 1.4702344779e7 + 1e-8, 1e21, 1.5e-7, 123456789012345678,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -987654.321, 1.0 / 3, 100.00000000000001}
	res := &engine.Result{Columns: []engine.Column{{Name: "v", Type: delta.Primitive(delta.TypeDouble)}}}
	for _, v := range vals {
		res.Rows = append(res.Rows, []any{v})
	}
	var buf bytes.Buffer
	if err := writeResult(&buf, res, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		got, err := strconv.ParseFloat(recs[i+1][0], 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(v) {
			t.Errorf("%v printed as %q, reads back as %v (%v)", v, recs[i+1][0], got, err)
		}
		if a := math.Abs(v); a >= 1e-6 && a < 1e21 && strings.ContainsAny(recs[i+1][0], "eE") {
			t.Errorf("%v printed with an exponent: %q", v, recs[i+1][0])
		}
	}
}

func TestGroupDigits(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "999": "999", "1000": "1,000", "-1234567.891": "-1,234,567.891", "123456": "123,456", "NaN": "NaN",
	} {
		if got := groupDigits(in); got != want {
			t.Errorf("groupDigits(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestJSONValuesJSONCannotHold: a MAP with non-string keys (as DuckDB
// returns MAPs) comes out as its text rather than failing the output.
func TestJSONValuesJSONCannotHold(t *testing.T) {
	res := &engine.Result{
		Columns: []engine.Column{{Name: "m"}},
		Rows:    [][]any{{map[any]any{int32(1): "a"}}},
	}
	var buf bytes.Buffer
	if err := writeResult(&buf, res, "json"); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != `{"m":"map[1:a]"}`+"\n" {
		t.Errorf("got %q", got)
	}
}
