package pgwire

import "testing"

// TestApplySearchPath: with search_path silver, gold every unqualified
// relation of a FROM clause resolves in the first schema holding it, and
// nothing else in the statement changes.
func TestApplySearchPath(t *testing.T) {
	tr := &translator{lake: &lakeState{
		settings: &settings{vals: map[string]string{"search_path": `"$user", silver, gold`}},
		relations: func() []string {
			return []string{"silver.orders", "silver.customers", "gold.daily_revenue", "silver.daily_revenue"}
		},
	}}
	for _, tc := range []struct{ name, in, want string }{
		{"one table", "SELECT * FROM orders", "SELECT * FROM silver.orders"},
		{"comma list", "SELECT * FROM orders o, customers AS c WHERE o.customer_id = c.customer_id",
			"SELECT * FROM silver.orders o, silver.customers AS c WHERE o.customer_id = c.customer_id"},
		{"join", "select 1 from orders join customers using (customer_id) left join daily_revenue d on true",
			"select 1 from silver.orders join silver.customers using (customer_id) left join silver.daily_revenue d on true"},
		{"quoted", `SELECT * FROM "orders", "Orders"`, `SELECT * FROM silver."orders", "Orders"`},
		{"qualified stays", "SELECT * FROM gold.daily_revenue, orders", "SELECT * FROM gold.daily_revenue, silver.orders"},
		{"unknown stays", "SELECT * FROM nowhere, orders", "SELECT * FROM nowhere, silver.orders"},
		{"select list commas", "SELECT a, orders FROM customers", "SELECT a, orders FROM silver.customers"},
		{"extract is no clause", "SELECT extract(year FROM orders) FROM orders", "SELECT extract(year FROM orders) FROM silver.orders"},
		{"subquery and list", "SELECT * FROM (SELECT * FROM orders, customers) x, customers WHERE x.a IN (SELECT 1 FROM orders)",
			"SELECT * FROM (SELECT * FROM silver.orders, silver.customers) x, silver.customers WHERE x.a IN (SELECT 1 FROM silver.orders)"},
		{"cte", "WITH orders AS (SELECT 1) SELECT * FROM orders, customers", "WITH orders AS (SELECT 1) SELECT * FROM orders, silver.customers"},
		{"table function", "SELECT * FROM range(3), orders", "SELECT * FROM range(3), silver.orders"},
		{"lateral", "SELECT * FROM orders, LATERAL (SELECT 1) l", "SELECT * FROM silver.orders, LATERAL (SELECT 1) l"},
		{"comments and strings", "SELECT 'FROM orders' FROM /* c */ orders -- FROM customers\n, customers",
			"SELECT 'FROM orders' FROM /* c */ silver.orders -- FROM customers\n, silver.customers"},
		{"where ends the list", "SELECT * FROM orders WHERE f(a, customers) > 0", "SELECT * FROM silver.orders WHERE f(a, customers) > 0"},
		{"union", "SELECT 1 FROM orders UNION ALL SELECT 2 FROM customers, orders",
			"SELECT 1 FROM silver.orders UNION ALL SELECT 2 FROM silver.customers, silver.orders"},
		{"alias columns", "SELECT * FROM orders o (a, b), customers", "SELECT * FROM silver.orders o (a, b), silver.customers"},
		{"first schema wins", "SELECT * FROM daily_revenue", "SELECT * FROM silver.daily_revenue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tr.applySearchPath(tc.in); got != tc.want {
				t.Errorf("applySearchPath(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}
