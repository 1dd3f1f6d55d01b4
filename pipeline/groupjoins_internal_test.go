package pipeline

import (
	"fmt"
	"slices"
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

// TestChangedTableGroups: the groups of a changed table's rows are read
// from the rows alone exactly when the model reads the table once, first in
// its FROM clause, and takes every group column from it unchanged.
func TestChangedTableGroups(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    string
		groups []string
		want   []string // nil: not applicable
	}{
		{"orders_items: LEFT JOINs after the changed orders", `SELECT o.order_id, c.customer_state, i.price, o.order_year, o.order_month
FROM CHG o
LEFT JOIN silver.customers c ON c.customer_id = o.customer_id
LEFT JOIN silver.order_items i ON i.order_id = o.order_id`, []string{"order_year", "order_month"}, []string{"order_year", "order_month"}},
		{"an inner join and a WHERE on the joined table", `SELECT o.order_year, o.order_month, c.customer_unique_id, count(DISTINCT o.order_id) AS orders
FROM CHG AS o JOIN silver.customers c ON c.customer_id = o.customer_id
WHERE c.customer_unique_id IS NOT NULL
GROUP BY o.order_year, o.order_month, c.customer_unique_id`, []string{"order_year", "order_month"}, []string{"order_year", "order_month"}},
		{"one table, unqualified", `SELECT date, sum(revenue) AS revenue FROM CHG WHERE has_item GROUP BY date`, []string{"date"}, []string{"date"}},
		{"renamed", `SELECT o.d AS day, count(*) AS n FROM CHG o GROUP BY o.d`, []string{"day"}, []string{"d"}},
		{"qualified by the relation's name", `SELECT CHG.m FROM CHG WHERE CHG.x > 1`, []string{"m"}, []string{"m"}},
		{"the group column comes from a joined table", `SELECT c.cat, count(*) AS n FROM CHG o LEFT JOIN bronze.cats c ON o.sku = c.sku GROUP BY c.cat`, []string{"cat"}, nil},
		{"the changed table on the optional side", `SELECT o.m, i.price FROM silver.orders o LEFT JOIN CHG i ON i.id = o.id`, []string{"m"}, nil},
		{"a computed group column", `SELECT CAST(o.ts AS DATE) AS d FROM CHG o`, []string{"d"}, nil},
		{"unqualified with a join", `SELECT m FROM CHG o JOIN bronze.x x ON x.id = o.id`, []string{"m"}, nil},
		{"unqualified with a comma join", `SELECT m FROM CHG, bronze.x`, []string{"m"}, nil},
		{"read twice", `SELECT a.m FROM CHG a JOIN CHG b ON a.id = b.id`, []string{"m"}, nil},
		{"a window", `SELECT o.m, sum(o.x) OVER () AS total FROM CHG o`, []string{"m"}, nil},
		{"HAVING: a filter on the group's own rows", `SELECT o.m, count(*) AS n FROM CHG o GROUP BY o.m HAVING count(*) > 1`, []string{"m"}, []string{"m"}},
		{"a subquery", `SELECT o.m FROM CHG o WHERE o.id IN (SELECT id FROM bronze.x)`, []string{"m"}, nil},
		{"a CTE", `WITH c AS (SELECT * FROM CHG) SELECT c.m FROM c`, []string{"m"}, nil},
		{"a star", `SELECT * FROM CHG`, []string{"m"}, nil},
		{"a missing group column", `SELECT o.m FROM CHG o`, []string{"n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := changedTableGroups(tc.sql, "CHG", tc.groups)
			if ok != (tc.want != nil) || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("changedTableGroups = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestReducibleJoins(t *testing.T) {
	const itemsCustomers = `SELECT o.order_id, c.customer_state, i.price + i.freight_value AS revenue, CAST(o.ts AS DATE) AS date
FROM first o
LEFT JOIN silver.order_items i ON i.order_id = o.order_id
LEFT JOIN silver.customers c ON c.customer_id = o.customer_id AND c.active
LEFT JOIN silver.products p ON p.product_id = i.product_id`
	tests := []struct {
		name, sql string
		want      []string // table col=firstCol [cols]
	}{
		{"two joins on the first table, a third on another", itemsCustomers, []string{
			"silver.order_items order_id=order_id [price freight_value order_id product_id]",
			"silver.customers customer_id=customer_id [customer_state customer_id active]",
		}},
		{"one join", "SELECT o.a, c.b FROM first o JOIN silver.c c ON c.id = o.cid", nil},
		{"an OR in the condition", "SELECT o.a FROM first o JOIN silver.c c ON c.id = o.cid OR c.id IS NULL JOIN silver.d d ON d.id = o.did", []string{"silver.d id=did [id]"}},
		{"reversed equality, INNER, AS", "SELECT o.a, c.b FROM first o INNER JOIN silver.c AS c ON o.cid = c.id JOIN silver.d d ON o.x = d.x", []string{"silver.c id=cid [b id]", "silver.d x=x [x]"}},
		{"a right join", "SELECT o.a FROM first o JOIN silver.c c ON c.id = o.cid RIGHT JOIN silver.d d ON d.id = o.did", nil},
		{"a subquery", "SELECT o.a FROM first o JOIN silver.c c ON c.id = o.cid JOIN silver.d d ON d.id IN (SELECT 1)", nil},
		{"an unqualified column: every column read", "SELECT o.a, b FROM first o JOIN silver.c c ON c.id = o.cid JOIN silver.d d ON d.id = o.did", []string{"silver.c id=cid []", "silver.d id=did []"}},
		{"a star: every column read", "SELECT * FROM first o JOIN silver.c c ON c.id = o.cid JOIN silver.d d ON d.id = o.did", []string{"silver.c id=cid []", "silver.d id=did []"}},
		{"a quoted column: every column read", `SELECT o.a, c."B" FROM first o JOIN silver.c c ON c.id = o.cid JOIN silver.d d ON d.id = o.did`, []string{"silver.c id=cid []", "silver.d id=did []"}},
		{"a join in a comment", "SELECT o.a, c.b FROM first o -- JOIN silver.x x ON x.id = o.id\nJOIN silver.c c ON c.id = o.cid", nil},
		{"a computed side", "SELECT o.a, c.b FROM first o JOIN silver.c c ON c.id = o.cid + 1 JOIN silver.d d ON lower(d.id) = o.did", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, j := range reducibleJoins(tt.sql, "o") {
				got = append(got, fmt.Sprintf("%s %s=%s [%s]", j.table, j.col, j.firstCol, strings.Join(j.cols, " ")))
				if tt.sql[j.start:j.end] != j.table {
					t.Errorf("%s: position %d–%d holds %q", j.table, j.start, j.end, tt.sql[j.start:j.end])
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("reducibleJoins = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJoinedOnKeys(t *testing.T) {
	tests := []struct {
		name, sql, table string
		keys             []string
		want             []string // nil: not ok
	}{
		{"the key", "SELECT o.m FROM silver.orders o LEFT JOIN silver.items i ON i.oid = o.id", "silver.items", []string{"id"}, []string{"oid"}},
		{"a two-column key and another term", "SELECT o.m FROM silver.orders o JOIN silver.items i ON o.b = i.ib AND i.x > 0 AND i.ia = o.a", "silver.items", []string{"a", "b"}, []string{"ia", "ib"}},
		{"part of the key", "SELECT o.m FROM silver.orders o JOIN silver.items i ON i.ia = o.a", "silver.items", []string{"a", "b"}, nil},
		{"another column", "SELECT o.m FROM silver.orders o JOIN silver.items i ON i.oid = o.other", "silver.items", []string{"id"}, nil},
		{"read twice", "SELECT o.m FROM silver.orders o JOIN silver.items i ON i.oid = o.id JOIN silver.items j ON j.oid = o.id", "silver.items", []string{"id"}, nil},
		{"joined to another table", "SELECT o.m FROM silver.orders o JOIN silver.x x ON x.id = o.id JOIN silver.items i ON i.oid = x.id", "silver.items", []string{"id"}, nil},
		{"an OR", "SELECT o.m FROM silver.orders o JOIN silver.items i ON i.oid = o.id OR i.oid IS NULL", "silver.items", []string{"id"}, nil},
		{"a full join", "SELECT o.m FROM silver.orders o FULL JOIN silver.items i ON i.oid = o.id", "silver.items", []string{"id"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := joinedOnKeys(tt.sql, "o", tt.table, tt.keys)
			if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
				t.Errorf("joinedOnKeys = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}
