package spark

import (
	"strings"
	"testing"
)

// TestDialect: DuckDB-dialect SQL becomes Spark SQL: bound layer.table
// names become their views, "quoted" names `quoted`, regexp_replace's 'g'
// goes; strings, comments and unbound names stay as written.
func TestDialect(t *testing.T) {
	bound := map[string]string{"silver.orders": "__m_silver__orders", "gold.x y": "__m_gold__x y", "__delta_scan_1": "__m___delta_scan_1"}
	resolve := func(n string) (string, error) { return bound[n], nil }
	for _, tc := range []struct{ in, want, err string }{
		{"SELECT * FROM silver.orders o", "SELECT * FROM `__m_silver__orders` o", ""},
		{`SELECT * FROM "silver"."orders"`, "SELECT * FROM `__m_silver__orders`", ""},
		{`SELECT * FROM Silver.Orders`, "SELECT * FROM `__m_silver__orders`", ""},
		{`SELECT * FROM "gold"."x y"`, "SELECT * FROM `__m_gold__x y`", ""},
		{"SELECT o.order_id, \"Weird\" FROM silver.orders AS o", "SELECT o.order_id, `Weird` FROM `__m_silver__orders` AS o", ""},
		{"SELECT 'silver.orders', x -- silver.orders\nFROM bronze.y", "SELECT 'silver.orders', x -- silver.orders\nFROM bronze.y", ""},
		{`SELECT regexp_replace(lower(x), '\s+', ' ', 'g') FROM silver.orders`, "SELECT regexp_replace(lower(x), '\\s+', ' ') FROM `__m_silver__orders`", ""},
		{`SELECT regexp_replace(x, 'a', 'b') FROM t`, `SELECT regexp_replace(x, 'a', 'b') FROM t`, ""},
		{`SELECT regexp_replace(x, 'a', 'b', 'i') FROM t`, "", "option 'i'"},
		{`SELECT 'it''s' FROM t`, `SELECT concat('it', chr(39), 's') FROM t`, ""}, // Spark reads literals verbatim
		{"SELECT count(*) FROM __delta_scan_1 d JOIN silver.orders USING (id)", "SELECT count(*) FROM `__m___delta_scan_1` d JOIN `__m_silver__orders` USING (id)", ""},
		{"SELECT __delta_scan_1.x, __delta_scan_1(1) FROM t", "SELECT __delta_scan_1.x, __delta_scan_1(1) FROM t", ""},
	} {
		toks, err := lex(tc.in)
		if err != nil {
			t.Fatalf("lex(%q): %v", tc.in, err)
		}
		out, err := dialect(toks, resolve)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("dialect(%q) = %v, want an error saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("dialect(%q): %v", tc.in, err)
			continue
		}
		if got := render(out); got != tc.want {
			t.Errorf("dialect(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestAccentTables: strip_accents' translate() tables map the letters a
// Brazilian city name has, and leave letters without a decomposition.
func TestAccentTables(t *testing.T) {
	from, to := accentTables()
	if len([]rune(from)) != len([]rune(to)) {
		t.Fatalf("tables of %d and %d letters", len([]rune(from)), len([]rune(to)))
	}
	m := map[rune]rune{}
	tr := []rune(to)
	for i, r := range []rune(from) {
		m[r] = tr[i]
	}
	for in, want := range map[rune]rune{'ã': 'a', 'Ç': 'C', 'é': 'e', 'ô': 'o', 'ü': 'u', 'ñ': 'n', 'ő': 'o', 'ž': 'z', 'ệ': 'e'} {
		if m[in] != want {
			t.Errorf("%c maps to %q, want %c", in, m[in], want)
		}
	}
	for _, r := range "æøßđłœ" {
		if _, ok := m[r]; ok {
			t.Errorf("%c has no canonical decomposition but is mapped", r)
		}
	}
}

// TestDialectLiteralsAndVarchar: a doubled quote in a literal survives
// Spark's verbatim literals, and VARCHAR without a length is STRING.
func TestDialectLiteralsAndVarchar(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 'it''s'", "SELECT concat('it', chr(39), 's')"},
		{"SELECT CAST(x AS VARCHAR), x::varchar", "SELECT CAST(x AS STRING), x::STRING"},
		{"SELECT CAST(x AS VARCHAR(3))", "SELECT CAST(x AS VARCHAR(3))"},
		{"SELECT 'plain'", "SELECT 'plain'"},
	} {
		toks, err := lex(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := dialect(toks, func(string) (string, error) { return "", nil })
		if err != nil {
			t.Fatal(err)
		}
		if got := render(out); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
