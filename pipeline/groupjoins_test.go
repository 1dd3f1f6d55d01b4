package pipeline_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestGroupQueryWithoutLeftJoinsEqualsFullRecompute: finding the groups
// that new orders touch leaves out a LEFT JOIN that no group column or
// WHERE condition reads (the run's log says so), keeps one that the WHERE
// reads, and either way each model equals its full recompute after new
// orders (new and existing groups) and after a category arrives for
// orders that had none. The orders are joined to their shop first, so the
// groups are not read from the changed orders alone (changedTableGroups).
func TestGroupQueryWithoutLeftJoinsEqualsFullRecompute(t *testing.T) {
	const pruned = `-- name: gold.by_m
-- incremental_by: [m]
SELECT o.m, count(*) AS n, count(c.cat) AS with_cat, sum(o.qty) AS qty
FROM bronze.shops s JOIN bronze.orders o ON o.shop = s.shop LEFT JOIN bronze.cats c ON o.sku = c.sku
GROUP BY o.m
`
	const kept = `-- name: gold.by_m_cat
-- incremental_by: [m]
SELECT o.m, count(*) AS n
FROM bronze.shops s JOIN bronze.orders o ON o.shop = s.shop LEFT JOIN bronze.cats c ON o.sku = c.sku
WHERE c.cat IS NOT NULL
GROUP BY o.m
`
	fullRecompute := map[string]string{
		"gold.by_m":     "SELECT o.m, count(*), count(c.cat), sum(o.qty) FROM bronze.shops s JOIN bronze.orders o ON o.shop = s.shop LEFT JOIN bronze.cats c ON o.sku = c.sku GROUP BY o.m ORDER BY o.m",
		"gold.by_m_cat": "SELECT o.m, count(*) FROM bronze.shops s JOIN bronze.orders o ON o.shop = s.shop LEFT JOIN bronze.cats c ON o.sku = c.sku WHERE c.cat IS NOT NULL GROUP BY o.m ORDER BY o.m",
	}
	stored := map[string]string{
		"gold.by_m":     "SELECT m, n, with_cat, qty FROM gold.by_m ORDER BY m",
		"gold.by_m_cat": "SELECT m, n FROM gold.by_m_cat ORDER BY m",
	}
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": `
name: shop
sources:
  orders:
    schema: {qty: long, m: long}
  cats:
    mode: upsert
    keys: [sku]
  shops:
    mode: replace
`,
		"models/by_m.sql":      pruned,
		"models/by_m_cat.sql":  kept,
		"landing/cats/a.csv":   "sku,cat\na,toys\nx,books\n",
		"landing/shops/a.csv":  "shop\ns1\n",
		"landing/orders/a.csv": "sku,qty,m,shop\na,1,1,s1\nx,3,1,s1\nz,5,2,s1\n",
	})
	steps := []struct {
		name  string
		files map[string]string
		// prunedLog: the run finds by_m's groups without its join.
		prunedLog bool
	}{
		{"first run", nil, false},
		{"new orders in an old and a new month", map[string]string{"landing/orders/b.csv": "sku,qty,m,shop\nz,2,1,s1\na,4,3,s1\nq,1,3,s1\n"}, true},
		{"a category arrives for z", map[string]string{"landing/cats/b.csv": "sku,cat\nz,food\n"}, false},
	}
	for _, st := range steps {
		log := runEqualsFullRecompute(t, proj, st.name, st.files, stored, fullRecompute, false)
		saysPruned := func(model string) bool {
			return slices.ContainsFunc(log, func(s string) bool {
				return strings.HasPrefix(s, model+": finding the groups") && strings.Contains(s, "without its LEFT JOINs c")
			})
		}
		if saysPruned("gold.by_m") != st.prunedLog {
			t.Errorf("%s: the log says gold.by_m's group query leaves out its join: %v, want %v:\n%s", st.name, !st.prunedLog, st.prunedLog, strings.Join(log, "\n"))
		}
		if saysPruned("gold.by_m_cat") {
			t.Errorf("%s: gold.by_m_cat's group query left out the join its WHERE reads:\n%s", st.name, strings.Join(log, "\n"))
		}
	}
}

// TestGroupsOfChangedRowsEqualFullRecompute: a model that takes its group
// column from the changed table, read first, finds the touched groups from
// the changed rows alone (the run's log says so) even where its inner join
// and WHERE drop some of those rows — recomputing a group that did not
// change is harmless — and equals its full recompute after new orders,
// orders that move to another group (an upsert's old and new rows), an
// order whose customer is unknown, and new customers arriving (a replaced
// input: recomputed whole). So does one whose HAVING keeps a customer once
// a second order arrives. A model whose group column comes from the
// joined table does not take that path, and with a HAVING it is
// recomputed whole: the model over the changed rows alone would test the
// HAVING on them alone.
func TestGroupsOfChangedRowsEqualFullRecompute(t *testing.T) {
	models := map[string]string{
		"gold.by_m": `-- name: gold.by_m
-- incremental_by: [m]
SELECT o.m, c.region, count(*) AS n, sum(o.qty) AS qty
FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid
WHERE o.qty > 0 AND c.region IS NOT NULL
GROUP BY o.m, c.region
`,
		"gold.by_region": `-- name: gold.by_region
-- incremental_by: [region]
SELECT c.region, count(*) AS n
FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid
GROUP BY c.region
`,
		"gold.repeat": `-- name: gold.repeat
-- incremental_by: [cid]
SELECT cid, count(*) AS n FROM bronze.orders GROUP BY cid HAVING count(*) > 1
`,
		"gold.busy_regions": `-- name: gold.busy_regions
-- incremental_by: [region]
SELECT c.region, count(*) AS n
FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid
GROUP BY c.region
HAVING count(*) > 1
`,
	}
	fullRecompute := map[string]string{
		"gold.by_m":         "SELECT o.m, c.region, count(*), sum(o.qty) FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid WHERE o.qty > 0 AND c.region IS NOT NULL GROUP BY o.m, c.region ORDER BY ALL",
		"gold.by_region":    "SELECT c.region, count(*) FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid GROUP BY c.region ORDER BY ALL",
		"gold.repeat":       "SELECT cid, count(*) FROM bronze.orders GROUP BY cid HAVING count(*) > 1 ORDER BY ALL",
		"gold.busy_regions": "SELECT c.region, count(*) FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid GROUP BY c.region HAVING count(*) > 1 ORDER BY ALL",
	}
	stored := map[string]string{
		"gold.by_m":         "SELECT m, region, n, qty FROM gold.by_m ORDER BY ALL",
		"gold.by_region":    "SELECT region, n FROM gold.by_region ORDER BY ALL",
		"gold.repeat":       "SELECT cid, n FROM gold.repeat ORDER BY ALL",
		"gold.busy_regions": "SELECT region, n FROM gold.busy_regions ORDER BY ALL",
	}
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": `
name: shop
sources:
  orders:
    mode: upsert
    keys: [id]
    schema: {id: long, qty: long, m: long}
  customers:
    mode: replace
`,
		"models/by_m.sql":         models["gold.by_m"],
		"models/by_region.sql":    models["gold.by_region"],
		"models/repeat.sql":       models["gold.repeat"],
		"models/busy.sql":         models["gold.busy_regions"],
		"landing/customers/a.csv": "cid,region\nc1,north\nc2,south\nc3,\n",
		"landing/orders/a.csv":    "id,cid,qty,m\n1,c1,1,1\n2,c2,3,1\n3,c3,5,2\n4,c1,0,2\n",
	})
	steps := []struct {
		name  string
		files map[string]string
		own   bool // the run reads gold.by_m's groups from the changed orders
	}{
		{"first run", nil, false},
		{"new orders, one dropped by the WHERE, one of an unknown customer", map[string]string{
			"landing/orders/b.csv": "id,cid,qty,m\n5,c2,2,1\n6,c1,0,3\n7,c9,4,4\n8,c3,1,5\n"}, true},
		{"orders move to another month", map[string]string{
			"landing/orders/c.csv": "id,cid,qty,m\n1,c1,1,3\n3,c3,5,1\n5,c2,2,6\n"}, true},
		{"customers replaced", map[string]string{
			"landing/customers/b.csv": "cid,region\nc1,north\nc2,south\nc3,west\nc9,east\n"}, false},
	}
	for _, st := range steps {
		log := runEqualsFullRecompute(t, proj, st.name, st.files, stored, fullRecompute, true)
		says := func(model, what string) bool {
			return slices.ContainsFunc(log, func(s string) bool { return strings.HasPrefix(s, model+": "+what) })
		}
		own := func(model string) bool {
			return says(model, "the groups changes of bronze.orders touch read from the changed rows alone")
		}
		for _, model := range []string{"gold.by_m", "gold.repeat"} {
			if own(model) != st.own {
				t.Errorf("%s: the log says %s's groups are read from the changed orders: %v, want %v:\n%s", st.name, model, !st.own, st.own, strings.Join(log, "\n"))
			}
		}
		if whole := says("gold.busy_regions", "cannot find the groups changes of bronze.orders touch through its HAVING"); whole != st.own {
			t.Errorf("%s: the log says gold.busy_regions is recomputed whole for its HAVING: %v, want %v:\n%s", st.name, whole, st.own, strings.Join(log, "\n"))
		}
		if own("gold.by_region") {
			t.Errorf("%s: gold.by_region's groups (from the joined customers) were read from the changed orders:\n%s", st.name, strings.Join(log, "\n"))
		}
	}
}

// TestTouchedGroupsFilterTheFirstTable: with more touched groups than fit
// in the query as literals, a model that takes its group columns from its
// first table reads that table for the touched groups only (the run's log
// says so; DuckDB does not push the filter below the GROUP BY itself) and
// equals its full recompute — a NULL group, a second group column and
// models with and without an alias included. One whose group column is
// computed keeps the filter outside.
func TestTouchedGroupsFilterTheFirstTable(t *testing.T) {
	models := map[string]string{
		"gold.by_sku": `-- name: gold.by_sku
-- incremental_by: [sku]

-- bronze.orders has one row per order; avg keeps it from aggregate
-- maintenance (aggdelta.go), which would not read bronze.orders at all.
SELECT sku, count(*) AS n, sum(qty) AS qty, avg(qty) AS mean FROM bronze.orders WHERE qty > 0 GROUP BY sku
`,
		"gold.by_sku_shop": `-- name: gold.by_sku_shop
-- incremental_by: [sku, shop]
SELECT o.sku, o.shop, c.cat, count(*) AS n
FROM bronze.orders o LEFT JOIN bronze.cats c ON c.sku = o.sku
GROUP BY o.sku, o.shop, c.cat
HAVING count(*) > 1
`,
		"gold.by_len": `-- name: gold.by_len
-- incremental_by: [len]
SELECT length(sku) AS len, count(*) AS n FROM bronze.orders GROUP BY ALL
`,
	}
	fullRecompute := map[string]string{
		"gold.by_sku":      "SELECT sku, count(*), sum(qty), avg(qty) FROM bronze.orders WHERE qty > 0 GROUP BY sku ORDER BY ALL",
		"gold.by_sku_shop": "SELECT o.sku, o.shop, c.cat, count(*) FROM bronze.orders o LEFT JOIN bronze.cats c ON c.sku = o.sku GROUP BY o.sku, o.shop, c.cat HAVING count(*) > 1 ORDER BY ALL",
		"gold.by_len":      "SELECT length(sku), count(*) FROM bronze.orders GROUP BY ALL ORDER BY ALL",
	}
	stored := map[string]string{
		"gold.by_sku":      "SELECT sku, n, qty, mean FROM gold.by_sku ORDER BY ALL",
		"gold.by_sku_shop": "SELECT sku, shop, cat, n FROM gold.by_sku_shop ORDER BY ALL",
		"gold.by_len":      "SELECT len, n FROM gold.by_len ORDER BY ALL",
	}
	orders := func(from, to int, shop string) string {
		var b strings.Builder
		b.WriteString("sku,qty,shop\n")
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "s%d,%d,%s\n,1,%s\n", i, i%3, shop, shop) // and one without a sku
		}
		return b.String()
	}
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": `
name: shop
sources:
  orders:
    schema: {qty: long}
  cats:
    mode: replace
`,
		"models/by_sku.sql":      models["gold.by_sku"],
		"models/by_sku_shop.sql": models["gold.by_sku_shop"],
		"models/by_len.sql":      models["gold.by_len"],
		"landing/cats/a.csv":     "sku,cat\ns1,toys\ns150,books\n",
		"landing/orders/a.csv":   orders(0, 200, "north"),
	})
	// Runs 1 and 2 touch more groups than fit inline (a semi-join on
	// bronze.orders, or, when the model joins, bronze.orders' rows of
	// those groups computed first through the semi-join); run 3 touches
	// few (those rows computed first, when the model joins).
	for i, files := range []map[string]string{
		nil,
		{"landing/orders/b.csv": orders(100, 300, "north")},
		{"landing/orders/c.csv": orders(150, 250, "south")},
		{"landing/orders/d.csv": orders(140, 160, "west")},
	} {
		log := runEqualsFullRecompute(t, proj, fmt.Sprintf("run %d", i), files, stored, fullRecompute, false)
		for name := range models {
			pushed := slices.ContainsFunc(log, func(s string) bool {
				return s == name+": reading bronze.orders for the touched groups only"
			})
			if want := (i == 1 || i == 2) && name == "gold.by_sku"; pushed != want {
				t.Errorf("run %d: the log says %s reads bronze.orders for the touched groups only: %v, want %v:\n%s", i, name, pushed, want, strings.Join(log, "\n"))
			}
			first := slices.ContainsFunc(log, func(s string) bool {
				return strings.HasPrefix(s, name+": computing bronze.orders's rows of the ") && strings.HasSuffix(s, " touched groups first")
			})
			// Only a model with a join has joins to size (gold.by_sku
			// reads bronze.orders alone: the pushed-down filter does).
			if want := i >= 1 && name == "gold.by_sku_shop"; first != want {
				t.Errorf("run %d: the log says %s computes bronze.orders' rows of its touched groups first: %v, want %v:\n%s", i, name, first, want, strings.Join(log, "\n"))
			}
		}
	}
}

// TestTouchedGroupsOfJoinedChangesEqualFullRecompute attacks the two
// shortcuts of a model that joins its first table's touched rows to other
// tables (silver.orders_items' shape). Finding the months new items touch
// skips the items whose order is among the run's changed orders (their
// month is read from those orders) — but not an item added to an old,
// unchanged order, nor one whose order moved to another month in the same
// run, nor items of a first table with more than one row per key. And the
// recompute reads only the customers and items of the touched orders. In
// every run each model equals its full recompute, and the log says which
// shortcut was taken.
func TestTouchedGroupsOfJoinedChangesEqualFullRecompute(t *testing.T) {
	const joined = `
SELECT o.m, o.id, c.region, i.n, i.price, p.cat
FROM bronze.orders o
LEFT JOIN bronze.items i ON i.oid = o.id
LEFT JOIN bronze.customers c ON c.cid = o.cid
LEFT JOIN bronze.products p ON p.sku = i.sku`
	models := map[string]string{
		"silver.lines": "-- name: silver.lines\n-- incremental_by: [m]\n" + joined + "\n",
		// bronze.visits appends: an id may repeat, so no item is skipped.
		"silver.visit_lines": `-- name: silver.visit_lines
-- incremental_by: [m]
SELECT v.m, v.id, c.region, i.n, i.price
FROM bronze.visits v
LEFT JOIN bronze.items i ON i.oid = v.id
LEFT JOIN bronze.customers c ON c.cid = v.cid
`,
		// One join: nothing is read first.
		"silver.order_regions": `-- name: silver.order_regions
-- incremental_by: [m]
SELECT o.m, o.id, c.region FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid
`,
	}
	fullRecompute := map[string]string{
		"silver.lines":         joined + " ORDER BY ALL",
		"silver.visit_lines":   "SELECT v.m, v.id, c.region, i.n, i.price FROM bronze.visits v LEFT JOIN bronze.items i ON i.oid = v.id LEFT JOIN bronze.customers c ON c.cid = v.cid ORDER BY ALL",
		"silver.order_regions": "SELECT o.m, o.id, c.region FROM bronze.orders o JOIN bronze.customers c ON c.cid = o.cid ORDER BY ALL",
	}
	stored := map[string]string{
		"silver.lines":         "SELECT m, id, region, n, price, cat FROM silver.lines ORDER BY ALL",
		"silver.visit_lines":   "SELECT m, id, region, n, price FROM silver.visit_lines ORDER BY ALL",
		"silver.order_regions": "SELECT m, id, region FROM silver.order_regions ORDER BY ALL",
	}
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": `
name: shop
sources:
  orders:
    mode: upsert
    keys: [id]
    schema: {id: long, m: long}
  visits:
    schema: {id: long, m: long}
  items:
    schema: {oid: long, n: long, price: double}
  customers:
    mode: upsert
    keys: [cid]
  products:
    mode: upsert
    keys: [sku]
`,
		"models/lines.sql":         models["silver.lines"],
		"models/visit_lines.sql":   models["silver.visit_lines"],
		"models/order_regions.sql": models["silver.order_regions"],
		"landing/customers/a.csv":  "cid,region\nc1,north\nc2,south\nc3,west\n",
		"landing/products/a.csv":   "sku,cat\na,toys\nb,books\n",
		"landing/orders/a.csv":     "id,cid,m\n1,c1,1\n2,c2,1\n3,c3,2\n",
		"landing/visits/a.csv":     "id,cid,m\n1,c1,1\n2,c2,1\n3,c3,2\n",
		"landing/items/a.csv":      "oid,n,sku,price\n1,1,a,10\n2,1,b,20\n3,1,a,30\n",
	})
	steps := []struct {
		name  string
		files map[string]string
		// skips: the log says silver.lines looks up only the items whose
		// order did not change; none: that there are none of those.
		skips, none bool
	}{
		{"first run", nil, false, false},
		{"a new month's orders with their items, and an item of an old order", map[string]string{
			"landing/orders/b.csv": "id,cid,m\n4,c1,3\n5,c2,3\n",
			"landing/visits/b.csv": "id,cid,m\n4,c1,3\n3,c3,4\n",
			"landing/items/b.csv":  "oid,n,sku,price\n4,1,a,1\n4,2,b,2\n5,1,b,3\n2,2,a,4\n3,3,b,9\n",
		}, true, false},
		{"an order moves to another month as an item is added to it", map[string]string{
			"landing/orders/c.csv": "id,cid,m\n1,c3,5\n",
			"landing/items/c.csv":  "oid,n,sku,price\n1,2,b,5\n",
		}, false, true},
		{"only items: of an old order, of no order, without an order", map[string]string{
			"landing/items/d.csv": "oid,n,sku,price\n3,2,b,6\n99,1,a,7\n,1,a,8\n",
		}, false, false},
	}
	for _, st := range steps {
		log := runEqualsFullRecompute(t, proj, st.name, st.files, stored, fullRecompute, true)
		says := func(model, what string) bool {
			return slices.ContainsFunc(log, func(s string) bool { return strings.HasPrefix(s, model+": "+what) })
		}
		const skip = "finding the groups changes of bronze.items touch for its rows whose oid is not among the changed rows of bronze.orders"
		if got := says("silver.lines", skip); got != st.skips {
			t.Errorf("%s: the log says silver.lines skips the items of changed orders: %v, want %v:\n%s", st.name, got, st.skips, strings.Join(log, "\n"))
		}
		const none = "every changed row of bronze.items has its oid among the changed rows of bronze.orders: no group to look up for them"
		if got := says("silver.lines", none); got != st.none {
			t.Errorf("%s: the log says silver.lines looks up no item: %v, want %v:\n%s", st.name, got, st.none, strings.Join(log, "\n"))
		}
		if says("silver.visit_lines", "finding the groups changes of bronze.items touch for its rows") || says("silver.visit_lines", "every changed row of bronze.items") {
			t.Errorf("%s: silver.visit_lines skipped items, but an id may repeat in bronze.visits:\n%s", st.name, strings.Join(log, "\n"))
		}
		// The recompute of a few touched months joins only the
		// customers and items of their orders, and products through
		// the items not at all (they join no column of bronze.orders).
		if st.name != "first run" {
			for _, want := range []string{
				"silver.lines: joining the rows of bronze.customers whose cid is among the touched groups' cid",
				"silver.lines: joining the rows of bronze.items whose oid is among the touched groups' id",
			} {
				if !slices.Contains(log, want) {
					t.Errorf("%s: the log does not say %q:\n%s", st.name, want, strings.Join(log, "\n"))
				}
			}
			if says("silver.lines", "joining the rows of bronze.products") || says("silver.order_regions", "joining the rows of") {
				t.Errorf("%s: a join that cannot be narrowed by the touched orders was:\n%s", st.name, strings.Join(log, "\n"))
			}
		}
	}
}

// TestGroupsComputedFromPartitionsReadTheirPartitions: a model whose group
// column is computed from its table's partition columns alone reads, for a
// few touched groups, only the partitions whose values map into them —
// every partition of a touched year when the group is the year of (y, m)
// partitions, the NULL partition for the NULL group — and equals its full
// recompute after each run; a model whose group is not computed from
// partition columns alone does not take that path, and one whose
// expression rejects a partition its WHERE leaves out (month 13) reads
// every partition instead of failing.
func TestGroupsComputedFromPartitionsReadTheirPartitions(t *testing.T) {
	models := map[string]string{
		"gold.by_month": `-- name: gold.by_month
-- incremental_by: [first_day]
SELECT make_date(y, m, 1) AS first_day, count(*) AS n, median(v) AS med FROM bronze.t GROUP BY ALL
`,
		"gold.by_year": `-- name: gold.by_year
-- incremental_by: [yr]
SELECT t.y + 0 AS yr, count(*) AS n, median(t.v) AS med FROM bronze.t t GROUP BY ALL
`,
		"gold.by_value": `-- name: gold.by_value
-- incremental_by: [bucket]
SELECT y * 100 + v AS bucket, count(*) AS n, median(v) AS med FROM bronze.t GROUP BY ALL
`,
		// Month 13 is no date: mapping its partition fails, and the model
		// (whose WHERE leaves it out) reads every partition instead.
		"gold.by_valid_month": `-- name: gold.by_valid_month
-- incremental_by: [first_day]
SELECT make_date(y, m, 1) AS first_day, count(*) AS n FROM bronze.u WHERE m <= 12 GROUP BY ALL
`,
	}
	fullRecompute := map[string]string{
		"gold.by_month":       "SELECT make_date(y, m, 1), count(*), median(v) FROM bronze.t GROUP BY ALL ORDER BY ALL",
		"gold.by_year":        "SELECT y, count(*), median(v) FROM bronze.t GROUP BY ALL ORDER BY ALL",
		"gold.by_value":       "SELECT y * 100 + v, count(*), median(v) FROM bronze.t GROUP BY ALL ORDER BY ALL",
		"gold.by_valid_month": "SELECT make_date(y, m, 1), count(*) FROM bronze.u WHERE m <= 12 GROUP BY ALL ORDER BY ALL",
	}
	stored := map[string]string{
		"gold.by_month":       "SELECT first_day, n, med FROM gold.by_month ORDER BY ALL",
		"gold.by_year":        "SELECT yr, n, med FROM gold.by_year ORDER BY ALL",
		"gold.by_value":       "SELECT bucket, n, med FROM gold.by_value ORDER BY ALL",
		"gold.by_valid_month": "SELECT first_day, n FROM gold.by_valid_month ORDER BY ALL",
	}
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": `
name: shop
sources:
  t:
    schema: {y: long, m: long, v: long}
    partition_by: [y, m]
  u:
    schema: {y: long, m: long, v: long}
    partition_by: [y, m]
`,
		"landing/u/a.csv":     "y,m,v\n2020,1,1\n2020,2,2\n",
		"models/by_month.sql": models["gold.by_month"],
		"models/by_year.sql":  models["gold.by_year"],
		"models/by_value.sql": models["gold.by_value"],
		"models/by_valid.sql": models["gold.by_valid_month"],
		"landing/t/a.csv":     "y,m,v\n2019,12,1\n2020,1,2\n2020,1,3\n2020,2,4\n2021,1,5\n,,6\n",
	})
	steps := []struct {
		name  string
		files map[string]string
		// reads: how many partitions each model reads, by the log (0: the
		// log does not say).
		reads map[string]int
	}{
		{"first run", nil, nil},
		{"a new month of a known year", map[string]string{"landing/t/b.csv": "y,m,v\n2020,3,7\n"},
			map[string]int{"gold.by_month": 1, "gold.by_year": 3}},
		{"a known month and the NULL partition", map[string]string{"landing/t/c.csv": "y,m,v\n2020,1,8\n,,9\n"},
			map[string]int{"gold.by_month": 2, "gold.by_year": 4}},
		{"a month 13", map[string]string{"landing/u/b.csv": "y,m,v\n2021,13,10\n2020,1,11\n"}, nil},
	}
	for _, st := range steps {
		log := runEqualsFullRecompute(t, proj, st.name, st.files, stored, fullRecompute, true)
		for name := range models {
			read := 0
			for _, s := range log {
				if _, err := fmt.Sscanf(s, name+": reading bronze.t in the %d partitions of the touched groups", &read); err == nil {
					break
				}
			}
			if want := st.reads[name]; read != want {
				t.Errorf("%s: %s read %d partitions by the log, want %d:\n%s", st.name, name, read, want, strings.Join(log, "\n"))
			}
		}
		if st.name == "a month 13" && !slices.ContainsFunc(log, func(s string) bool {
			return strings.HasPrefix(s, "gold.by_valid_month: cannot map bronze.u's partitions to the touched groups")
		}) {
			t.Errorf("%s: the log does not say gold.by_valid_month reads every partition:\n%s", st.name, strings.Join(log, "\n"))
		}
	}
}

// runEqualsFullRecompute lands files in proj, runs it, and checks that each
// model of stored is ok after the run (or up to date, with upToDate) and
// holds what its full recompute gives; what names the run in failures. It
// returns the run's log.
func runEqualsFullRecompute(t *testing.T, proj *pipeline.Project, what string, files, stored, fullRecompute map[string]string, upToDate bool) []string {
	t.Helper()
	addFiles(t, proj.Dir, files)
	var mu sync.Mutex
	var log []string
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Log: func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for name := range stored {
		if tr := tableReport(rep, name); tr == nil || (tr.Status != pipeline.StatusOK && !(upToDate && tr.Status == pipeline.StatusUpToDate)) {
			t.Fatalf("%s: %s: %+v", what, name, tr)
		}
		if got, want := rowsText(query(t, proj, stored[name])), rowsText(query(t, proj, fullRecompute[name])); got != want {
			t.Errorf("%s: %s holds %s, its full recompute %s", what, name, got, want)
		}
	}
	return log
}
