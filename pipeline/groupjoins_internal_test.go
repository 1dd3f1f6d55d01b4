package pipeline

import (
	"strings"
	"testing"
)

// TestPruneLeftJoinsForGroups: the group query drops (empties) exactly the
// LEFT JOINs no group column, WHERE condition or inner join reads, and
// leaves every form it does not recognize as written.
func TestPruneLeftJoinsForGroups(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    string
		groups []string
		want   []string // emptied aliases
	}{
		{"orders_items: customers, products, translation", `SELECT o.order_id, c.customer_state, i.price, coalesce(t.name, p.cat, 'unknown') AS category, o.order_year, o.order_month
FROM silver.orders o
LEFT JOIN __chg_items i ON i.order_id = o.order_id
LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
LEFT JOIN silver.products p ON p.product_id = i.product_id
LEFT JOIN silver.category_translation t ON t.product_category_name = p.product_category_name`, []string{"order_year", "order_month"}, []string{"c", "p", "t"}},
		{"aggregate grouped by the joined column", `SELECT o.order_year, o.order_month, c.customer_state, count(*) FILTER (WHERE c.x > 1) AS n
FROM __chg o LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
WHERE o.order_status = 'delivered' AND o.d IS NOT NULL
GROUP BY o.order_year, o.order_month, c.customer_state`, []string{"order_year", "order_month"}, []string{"c"}},
		{"the group column comes from the join", `SELECT c.cat, count(*) AS n FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku GROUP BY c.cat`, []string{"cat"}, nil},
		{"a group column renamed from the join", `SELECT c.cat AS category, o.sku FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku`, []string{"category"}, nil},
		{"WHERE reads the join", `SELECT o.m, c.cat FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku WHERE c.cat IS NOT NULL`, []string{"m"}, nil},
		{"an unqualified column in WHERE", `SELECT o.m, c.cat FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku WHERE cat IS NOT NULL`, []string{"m"}, nil},
		{"an inner join reads the join", `SELECT o.m FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku JOIN bronze.x x ON x.cat = c.cat`, []string{"m"}, nil},
		{"a LEFT JOIN feeding a group reads the join", `SELECT o.m, x.g FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku LEFT JOIN bronze.x x ON x.cat = c.cat`, []string{"g"}, nil},
		{"a chain of LEFT JOINs not feeding groups", `SELECT o.m, x.g FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku LEFT JOIN bronze.x x ON x.cat = c.cat`, []string{"m"}, []string{"c", "x"}},
		{"a computed group column", `SELECT CAST(o.ts AS DATE) AS d FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku`, []string{"d"}, nil},
		{"a subquery", `SELECT o.m FROM (SELECT * FROM __chg) o LEFT JOIN bronze.cats c ON o.sku = c.sku`, []string{"m"}, nil},
		{"a CTE", `WITH o AS (SELECT * FROM __chg) SELECT o.m FROM o LEFT JOIN bronze.cats c ON o.sku = c.sku`, []string{"m"}, nil},
		{"USING", `SELECT o.m FROM __chg o LEFT JOIN bronze.cats c USING (sku)`, []string{"m"}, nil},
		{"a join without an alias", `SELECT o.m FROM __chg o LEFT JOIN bronze.cats ON o.sku = cats.sku`, []string{"m"}, nil},
		{"a comment and a string are not SQL", `SELECT o.m -- LEFT JOIN bronze.z z ON z.a = o.a
FROM __chg o LEFT JOIN bronze.cats c ON o.sku = c.sku AND c.kind = 'x WHERE c.cat'`, []string{"m"}, []string{"c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, names := pruneLeftJoinsForGroups(tc.sql, tc.groups)
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("emptied %v, want %v:\n%s", names, tc.want, got)
			}
			if len(tc.want) == 0 && got != tc.sql {
				t.Fatalf("changed SQL it emptied nothing in:\n%s", got)
			}
			if n := strings.Count(got, "WHERE false)"); n != len(tc.want) {
				t.Fatalf("%d emptied relations, want %d:\n%s", n, len(tc.want), got)
			}
		})
	}
}
