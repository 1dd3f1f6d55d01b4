package pipeline

import (
	"fmt"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
)

// TestOuterJoinForGroupsHashesTheJoin: the group query's form of "LEFT JOIN
// changes" yields, for each row matching a changed row, the joined row and
// the unmatched one, and its condition stays an equality between the two
// sides that DuckDB hashes: "ON __d0.__keep AND (cond)" compared every pair
// of rows instead (a blockwise nested-loop join, quadratic in the change).
func TestOuterJoinForGroupsHashesTheJoin(t *testing.T) {
	ctx := t.Context()
	eng, err := engine.Open(ctx, &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, s := range []string{
		"CREATE TABLE orders AS SELECT i AS id, i % 12 AS m FROM range(1000) t(i)",
		"CREATE TABLE chg AS SELECT i * 2 AS order_id, i AS price FROM range(500) t(i)",
		"CREATE VIEW chg_keep AS SELECT *, true AS __keep FROM chg",
	} {
		if _, err := eng.Query(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, sql string }{
		{"aliased", "SELECT o.m, i.price FROM orders o LEFT JOIN chg i ON i.order_id = o.id"},
		{"unaliased", "SELECT o.m, chg.price FROM orders o LEFT OUTER JOIN chg ON chg.order_id = o.id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sql, ok := outerJoinForGroups(tc.sql, "chg", "chg_keep")
			if !ok {
				t.Fatalf("outerJoinForGroups refused %q", tc.sql)
			}
			res, err := eng.Query(ctx, "SELECT count(*), count(price), count(DISTINCT price) FROM ("+sql+") AS g")
			if err != nil {
				t.Fatalf("%v\n%s", err, sql)
			}
			// The 500 orders with a changed row (even ids), once joined and
			// once unmatched; the other 500 orders not at all.
			if got := fmt.Sprint(res.Rows[0]); got != "[1000 500 500]" {
				t.Errorf("rows, prices, distinct prices = %s, want [1000 500 500]\n%s", got, sql)
			}
			plan, err := eng.Query(ctx, "EXPLAIN "+sql)
			if err != nil {
				t.Fatal(err)
			}
			text := fmt.Sprint(plan.Rows)
			if strings.Contains(text, "NL_JOIN") || strings.Contains(text, "NESTED_LOOP") || strings.Count(text, "HASH_JOIN") < 2 {
				t.Errorf("the group query's joins are not hashed:\n%s\n%s", sql, text)
			}
		})
	}
}
