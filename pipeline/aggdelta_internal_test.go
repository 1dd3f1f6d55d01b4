package pipeline

import (
	"fmt"
	"strings"
	"testing"
)

// TestAggShape: the models aggregate maintenance takes (their output
// columns and how each combines) and the forms it leaves to the recompute,
// with the reason it gives.
func TestAggShape(t *testing.T) {
	const table = "silver.items"
	for _, tc := range []struct {
		name  string
		sql   string
		by    []string
		want  string // the columns as name:kind, or the reason's start
		taken bool
	}{
		{"top products", `SELECT product_id, category, count(*) AS items_sold, sum(revenue) AS revenue
FROM silver.items WHERE has_item GROUP BY product_id, category;`, []string{"product_id"}, "product_id:0 category:0 items_sold:1 revenue:2", true},
		{"a dimension LEFT JOINed", `SELECT i.seller_id, s.seller_city, count(*) AS n, min(i.price) lo, MAX(i.price) AS hi, count(i.x) AS xs
FROM silver.items i LEFT JOIN silver.sellers s ON s.seller_id = i.seller_id
GROUP BY i.seller_id, s.seller_city`, []string{"seller_id"}, "seller_id:0 seller_city:0 n:1 lo:3 hi:4 xs:1", true},
		{"renamed group column, GROUP BY its alias", `SELECT i.sku AS item, sum(CASE WHEN i.q > 0 THEN i.q ELSE 0 END) AS q FROM silver.items i GROUP BY item`, []string{"item"}, "item:0 q:2", true},
		{"aggregates with FILTER", `SELECT o.y, o.m, c.state, count(*) AS n, count(*) FILTER (WHERE CAST(o.d AS DATE) > CAST(o.e AS DATE)) AS late,
  sum(o.v) filter(where o.s = 'x)') tagged
FROM silver.items o LEFT JOIN silver.customers c ON c.id = o.cid WHERE o.s = 'delivered' GROUP BY o.y, o.m, c.state`, []string{"y", "m"}, "y:0 m:0 state:0 n:1 late:1 tagged:2", true},
		{"an aggregate with FILTER in an expression", `SELECT k, coalesce(sum(a) FILTER (WHERE b), 0) AS s FROM silver.items GROUP BY k`, []string{"k"}, `"coalesce(sum(a) FILTER (WHERE b), 0) AS s" is neither`, false},
		{"FILTER without WHERE", `SELECT k, sum(a) FILTER (b) AS s FROM silver.items GROUP BY k`, []string{"k"}, `"sum(a) FILTER (b) AS s" is neither`, false},
		{"inner join after the changed table", `SELECT d.k, sum(i.q) AS q FROM silver.items i JOIN silver.dims d ON d.id = i.id GROUP BY d.k`, []string{"k"}, "k:0 q:2", true},
		{"changed table on the optional side", `SELECT d.k, count(i.q) AS n FROM silver.dims d LEFT JOIN silver.items i ON d.id = i.id GROUP BY d.k`, []string{"k"}, "silver.items is the optional side of a LEFT JOIN", false},
		{"read twice", `SELECT a.k, count(*) AS n FROM silver.items a JOIN silver.items b ON a.id = b.id GROUP BY a.k`, []string{"k"}, "it reads silver.items 2 times", false},
		{"aggregate in an expression", `SELECT k, sum(a) / count(*) AS avg FROM silver.items GROUP BY k`, []string{"k"}, `"sum(a) / count(*) AS avg" is neither`, false},
		{"aggregate added to", `SELECT k, sum(a) + 1 AS s FROM silver.items GROUP BY k`, []string{"k"}, `"sum(a) + 1 AS s" is neither`, false},
		{"unnamed aggregate", `SELECT k, count(*) FROM silver.items GROUP BY k`, []string{"k"}, `"count(*)" is neither`, false},
		{"avg", `SELECT k, avg(a) AS a FROM silver.items GROUP BY k`, []string{"k"}, `"avg(a) AS a" is neither`, false},
		{"count distinct", `SELECT k, count(DISTINCT a) AS n FROM silver.items GROUP BY k`, []string{"k"}, "its SQL has DISTINCT", false},
		{"having", `SELECT k, count(*) AS n FROM silver.items GROUP BY k HAVING count(*) > 1`, []string{"k"}, "its SQL has HAVING", false},
		{"subquery", `SELECT k, count(*) AS n FROM (SELECT * FROM silver.items) t GROUP BY k`, []string{"k"}, "its SQL has SELECT", false},
		{"CTE", `WITH t AS (SELECT * FROM silver.items) SELECT k, count(*) AS n FROM t GROUP BY k`, []string{"k"}, "its SQL has WITH", false},
		{"window", `SELECT k, count(*) AS n, rank() OVER (ORDER BY k) AS r FROM silver.items GROUP BY k`, []string{"k"}, "its SQL has", false},
		{"no GROUP BY", `SELECT count(*) AS n FROM silver.items`, nil, "it has no GROUP BY", false},
		{"computed group column", `SELECT CAST(ts AS DATE) AS d, count(*) AS n FROM silver.items GROUP BY CAST(ts AS DATE)`, []string{"d"}, `"CAST(ts AS DATE) AS d" is neither`, false},
		{"GROUP BY a column not in the output", `SELECT k, count(*) AS n FROM silver.items GROUP BY k, j`, []string{"k"}, "GROUP BY j is not one output column", false},
		{"incremental_by not a group column", `SELECT k, count(*) AS n FROM silver.items GROUP BY k`, []string{"m"}, "incremental_by column m", false},
		{"two outputs with one name", `SELECT k, count(*) AS n, sum(a) AS n FROM silver.items GROUP BY k`, []string{"k"}, "two outputs are named n", false},
		{"sum of star", `SELECT k, sum(*) AS n FROM silver.items GROUP BY k`, []string{"k"}, "it has sum(*)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cols, why := aggShape(tc.sql, table, tc.by)
			if (cols != nil) != tc.taken {
				t.Fatalf("taken %v (%q), want %v", cols != nil, why, tc.taken)
			}
			if !tc.taken {
				if !strings.HasPrefix(why, tc.want) {
					t.Errorf("reason %q, want it to start with %q", why, tc.want)
				}
				return
			}
			var got []string
			for _, c := range cols {
				got = append(got, fmt.Sprintf("%s:%d", c.name, c.kind))
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("columns %s, want %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}
