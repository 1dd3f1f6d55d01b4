package pipeline_test

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

const aggConfig = `
name: shop
sources:
  sales:
    mode: append
    schema: {store: string, sku: string, qty: long, price: double, tag: string}
  stores:
    mode: replace
    schema: {store: string, city: string}
  accounts:
    mode: upsert
    keys: [id]
    schema: {id: string, region: string, balance: long}
`

// aggModels are incremental_by models over bronze.sales (appended to) and
// bronze.accounts (upserted), with the SQL of each one's full recompute
// (ordered) and whether it keeps its groups from the changed rows.
var aggModels = []struct {
	name, file, sql, order string
	kept                   bool
	drop                   string // the rows its table keeps (a drop expectation, keys not NULL)
}{
	{"gold.by_store", "-- incremental_by: [store]", `SELECT store, count(*) AS n, count(tag) AS tags, sum(qty) AS qty, sum(price) AS revenue,
  min(price) AS lo, max(tag) AS hi, min(qty) AS min_qty, sum(price) FILTER (WHERE tag IS NOT NULL) AS tagged
FROM bronze.sales
GROUP BY store`, "store NULLS FIRST", true, ""},
	// incremental_by coarser than GROUP BY: every row of a touched store
	// is kept, changed or not.
	{"gold.by_store_sku", "-- incremental_by: [store]", `SELECT s.store, s.sku AS item, count(s.qty) AS n, sum(s.qty) AS qty, max(s.price) AS hi
FROM bronze.sales s
WHERE s.qty IS NULL OR s.qty > 0
GROUP BY s.store, s.sku`, "store NULLS FIRST, item NULLS FIRST", true, ""},
	// A dimension LEFT JOINed to the changed table.
	{"gold.by_city", "-- incremental_by: [store]", `SELECT s.store, st.city, count(*) AS n, sum(s.price) AS revenue
FROM bronze.sales s LEFT JOIN bronze.stores st ON st.store = s.store
GROUP BY s.store, st.city`, "store NULLS FIRST, city NULLS FIRST", true, ""},
	// An aggregate inside an expression: recomputed from the inputs.
	{"gold.avg_qty", "-- incremental_by: [store]", `SELECT store, sum(qty) / count(*) AS avg_qty
FROM bronze.sales
GROUP BY store`, "store NULLS FIRST", false, ""},
	// A drop expectation: a group's row may be missing from the table.
	{"gold.by_store_checked", "-- incremental_by: [store]\n-- expectations:\n--   - {name: not_two, expr: \"n <> 2\", action: drop}", `SELECT store, count(*) AS n
FROM bronze.sales
GROUP BY store`, "store NULLS FIRST", false, "n <> 2"},
	// Keys: a row with a NULL key is set aside (quarantined).
	{"gold.by_store_keyed", "-- incremental_by: [store]\n-- keys: [store]", `SELECT store, count(*) AS n, sum(qty) AS qty
FROM bronze.sales
GROUP BY store`, "store NULLS FIRST", false, "store IS NOT NULL"},
	// Over an upserted table: kept while its changes are new keys only.
	{"gold.by_region", "-- incremental_by: [region]", `SELECT region, count(*) AS n, sum(balance) AS balance
FROM bronze.accounts
GROUP BY region`, "region NULLS FIRST", true, ""},
}

// TestAggregateGroupsEqualFullRefresh lands several increments under
// count/sum/min/max models (NULLs in groups, counted columns and sums; a
// coarser incremental_by; a LEFT JOINed dimension) and checks after each
// run that the models equal their full recompute and that those that
// qualify kept their groups from the changed rows alone; an increment that
// rewrites rows of an input (an upsert of existing keys) falls back to the
// recompute and is still right; a --full-refresh at the end gives the same
// rows.
func TestAggregateGroupsEqualFullRefresh(t *testing.T) {
	files := map[string]string{
		"medallion.yaml":         aggConfig,
		"landing/sales/1.csv":    "store,sku,qty,price,tag\na,x,1,1.5,t\na,y,2,,\nb,x,,2.25,u\n,x,3,4,t\nc,z,,,\n",
		"landing/stores/1.csv":   "store,city\na,Paris\nb,Lyon\n",
		"landing/accounts/1.csv": "id,region,balance\n1,north,10\n2,south,\n3,,5\n",
	}
	for _, m := range aggModels {
		files["models/"+m.name+".sql"] = modelFile(m.name, m.file, m.sql)
	}
	_, proj := writeProject(t, files)
	runLogged(t, proj)
	steps := []struct {
		name    string
		landing map[string]string
		// appended: the changes of bronze.accounts are appends only.
		appended bool
	}{
		{"new groups, NULL sums become numbers", map[string]string{
			"landing/sales/2.csv":    "store,sku,qty,price,tag\nc,z,4,0.5,v\nd,w,1,3,\na,y,,,z\n",
			"landing/accounts/2.csv": "id,region,balance\n4,south,7\n5,west,\n",
		}, true},
		{"NULL groups, new minimums and maximums", map[string]string{
			"landing/sales/3.csv": "store,sku,qty,price,tag\n,x,1,0.25,a\n,,,,\nb,x,0,9.75,zz\na,q,-2,1.5,\n",
		}, true},
		{"an upsert rewrites existing rows", map[string]string{
			"landing/sales/4.csv":    "store,sku,qty,price,tag\nb,y,5,1,b\n",
			"landing/accounts/3.csv": "id,region,balance\n1,south,20\n6,north,1\n",
		}, false},
	}
	for _, st := range steps {
		addFiles(t, proj.Dir, st.landing)
		log := runLogged(t, proj)
		for _, m := range aggModels {
			kept := m.kept && (m.name != "gold.by_region" || st.appended)
			if m.name == "gold.by_region" && !slices.ContainsFunc(slices.Collect(maps.Keys(st.landing)), func(p string) bool { return strings.Contains(p, "/accounts/") }) {
				continue // up to date: its input did not change
			}
			says := slices.ContainsFunc(log, func(s string) bool {
				return strings.HasPrefix(s, m.name+": ") && strings.Contains(s, "groups kept from the changed rows of bronze.")
			})
			if says != kept {
				t.Errorf("%s: %s: the log says the groups were kept from the changed rows: %v, want %v:\n%s", st.name, m.name, says, kept, strings.Join(log, "\n"))
			}
			if !kept && !slices.ContainsFunc(log, func(s string) bool {
				return strings.HasPrefix(s, m.name+": recomputing the touched groups from the inputs: ")
			}) {
				t.Errorf("%s: %s: the log does not say why it recomputes the touched groups:\n%s", st.name, m.name, strings.Join(log, "\n"))
			}
			full := m.sql
			if m.drop != "" {
				full = "SELECT * FROM (" + m.sql + ") AS d WHERE " + m.drop
			}
			checkFullRecompute(t, proj, st.name, m.name, full, m.order)
		}
	}
	before := map[string][][]any{}
	for _, m := range aggModels {
		before[m.name] = query(t, proj, "SELECT * FROM "+m.name+" ORDER BY "+m.order)
	}
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{FullRefresh: true}); err != nil {
		t.Fatal(err)
	}
	for _, m := range aggModels {
		if got := query(t, proj, "SELECT * FROM "+m.name+" ORDER BY "+m.order); !sameRows(before[m.name], got) {
			t.Errorf("%s: incremental %s, after --full-refresh %s", m.name, rowsText(before[m.name]), rowsText(got))
		}
	}
}

// modelFile is the text of a model file: its name, the other header lines,
// its SQL.
func modelFile(name, header, sql string) string {
	return "-- name: " + name + "\n" + header + "\n" + sql + "\n"
}

// checkFullRecompute reports an error (naming the step) unless table holds
// the rows of sql, its full recompute, both in the given order.
func checkFullRecompute(t *testing.T, proj *pipeline.Project, step, table, sql, order string) {
	t.Helper()
	got := query(t, proj, "SELECT * FROM "+table+" ORDER BY "+order)
	want := query(t, proj, "SELECT * FROM ("+sql+") AS w ORDER BY "+order)
	if !sameRows(got, want) {
		t.Errorf("%s: %s: %s\nits full recompute: %s", step, table, rowsText(got), rowsText(want))
	}
}

// sameRows compares rows value by value: doubles within 1e-9 relative,
// everything else exactly.
func sameRows(a, b [][]any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			x, okx := a[i][j].(float64)
			y, oky := b[i][j].(float64)
			if okx && oky {
				if math.Abs(x-y) > 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y))) {
					return false
				}
				continue
			}
			if fmt.Sprint(a[i][j]) != fmt.Sprint(b[i][j]) {
				return false
			}
		}
	}
	return true
}

// TestAggregateGroupsAfterBackfill: a backfill recomputes a range from the
// inputs as they are and records no input version, so the rows it read
// past the recorded versions are already in the model's table; the next
// run recomputes the touched groups instead of adding those rows again.
func TestAggregateGroupsAfterBackfill(t *testing.T) {
	model := `-- name: gold.daily
-- partition_by: [month]
-- backfill_date: day
-- incremental_by: [month]
SELECT month, day, count(*) AS n, sum(qty) AS qty FROM bronze.sales GROUP BY month, day
`
	full := "SELECT month, day, count(*) AS n, sum(qty) AS qty FROM bronze.sales GROUP BY month, day ORDER BY day"
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: b\nsources:\n  sales:\n    mode: append\n    schema: {month: int, day: date, qty: long}\n",
		"models/gold.sql":     model,
		"landing/sales/1.csv": "month,day,qty\n1,2026-01-05,1\n1,2026-01-06,2\n",
	})
	runLogged(t, proj)
	// New sales reach bronze only; a backfill of January reads them.
	addFiles(t, proj.Dir, map[string]string{"landing/sales/2.csv": "month,day,qty\n1,2026-01-05,4\n"})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Select: []string{"bronze.sales"}}); err != nil {
		t.Fatal(err)
	}
	jan1, jan31 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	if _, err := pipeline.Backfill(t.Context(), proj, "gold.daily", jan1, jan31, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	log := runLogged(t, proj)
	if !slices.ContainsFunc(log, func(s string) bool {
		return strings.HasPrefix(s, "gold.daily: recomputing the touched groups from the inputs: a backfill")
	}) {
		t.Errorf("the log does not say the backfill makes gold.daily recompute its touched groups:\n%s", strings.Join(log, "\n"))
	}
	if got, want := rowsText(query(t, proj, "SELECT month, day, n, qty FROM gold.daily ORDER BY day")), rowsText(query(t, proj, full)); got != want {
		t.Errorf("gold.daily after the backfill and a run: %s, its full recompute %s", got, want)
	}
}

// TestAggregateGroupsLeftAsTheyAreAreNotRewritten: when aggregate
// maintenance finds a touched group's row unchanged (a minimum that a
// larger value does not move), the group is not written: a run that moves
// no minimum writes no file and removes none, one that only adds groups
// adds a file beside the table's, and one that moves a minimum rewrites
// it — with every row of its coarser incremental_by group. After each run
// the models equal their full recompute.
func TestAggregateGroupsLeftAsTheyAreAreNotRewritten(t *testing.T) {
	models := []struct{ name, file, sql, order string }{
		{"gold.first_sale", "-- incremental_by: [store]", `SELECT store, min(day) AS first_day
FROM bronze.sales
GROUP BY store`, "store NULLS FIRST"},
		// incremental_by coarser than GROUP BY: a store's rows are
		// replaced together, the unchanged ones with the changed.
		{"gold.first_sku_sale", "-- incremental_by: [store]", `SELECT store, sku, min(day) AS first_day, max(qty) AS most
FROM bronze.sales
GROUP BY store, sku`, "store NULLS FIRST, sku NULLS FIRST"},
	}
	files := map[string]string{
		"medallion.yaml":      "name: shop\nsources:\n  sales:\n    mode: append\n    schema: {store: string, sku: string, day: long, qty: long}\n",
		"landing/sales/1.csv": "store,sku,day,qty\na,x,5,1\na,y,7,2\nb,x,3,1\n,x,4,1\n",
	}
	for _, m := range models {
		files["models/"+m.name+".sql"] = modelFile(m.name, m.file, m.sql)
	}
	_, proj := writeProject(t, files)
	runLogged(t, proj)
	steps := []struct {
		name    string
		landing map[string]string
		// For each model: whether the run keeps every file the table had
		// (no group rewritten), whether it adds one, and the rows it
		// reports replaced.
		keeps, adds [2]bool
		replaced    [2]int64
	}{
		{"later days move no minimum", map[string]string{
			"landing/sales/2.csv": "store,sku,day,qty\na,x,9,1\nb,x,3,0\n,x,8,1\n",
		}, [2]bool{true, true}, [2]bool{false, false}, [2]int64{0, 0}},
		{"a new store only adds its groups", map[string]string{
			"landing/sales/3.csv": "store,sku,day,qty\nc,z,2,1\na,x,6,0\n",
		}, [2]bool{true, true}, [2]bool{true, true}, [2]int64{0, 0}},
		{"an earlier day moves a minimum", map[string]string{
			"landing/sales/4.csv": "store,sku,day,qty\na,y,1,0\nb,x,9,0\n",
		}, [2]bool{false, false}, [2]bool{true, true}, [2]int64{1, 2}},
		{"a larger quantity moves one sku's maximum", map[string]string{
			"landing/sales/5.csv": "store,sku,day,qty\nb,x,9,5\n",
		}, [2]bool{true, false}, [2]bool{false, true}, [2]int64{0, 1}},
	}
	for _, st := range steps {
		before := map[string][]string{}
		for _, m := range models {
			before[m.name] = tableFiles(t, proj, m.name)
		}
		addFiles(t, proj.Dir, st.landing)
		log, rep := runReport(t, proj)
		for i, m := range models {
			if tr := tableReport(rep, m.name); tr == nil || tr.Replaced != st.replaced[i] {
				t.Errorf("%s: %s: report %+v, want %d rows replaced", st.name, m.name, tr, st.replaced[i])
			}
			if !slices.ContainsFunc(log, func(s string) bool {
				return strings.HasPrefix(s, m.name+": ") && strings.Contains(s, "groups kept from the changed rows of bronze.sales")
			}) {
				t.Errorf("%s: %s: the log does not say the groups were kept from the changed rows:\n%s", st.name, m.name, strings.Join(log, "\n"))
			}
			after := tableFiles(t, proj, m.name)
			kept := !slices.ContainsFunc(before[m.name], func(f string) bool { return !slices.Contains(after, f) })
			added := slices.ContainsFunc(after, func(f string) bool { return !slices.Contains(before[m.name], f) })
			if kept != st.keeps[i] || added != st.adds[i] {
				t.Errorf("%s: %s: kept every file %v (want %v), added a file %v (want %v); files %v → %v",
					st.name, m.name, kept, st.keeps[i], added, st.adds[i], before[m.name], after)
			}
			checkFullRecompute(t, proj, st.name, m.name, m.sql, m.order)
		}
	}
}

// TestRecomputedGroupsLeftAsTheyAreAreNotRewritten: a model recomputed for
// its touched groups (count(DISTINCT …) rules out aggregate maintenance)
// whose recomputed rows are the rows its table holds writes nothing — a
// NULL group included — and one whose rows changed, or that gains a group,
// is rewritten; after each run it equals its full recompute.
func TestRecomputedGroupsLeftAsTheyAreAreNotRewritten(t *testing.T) {
	const sql = `SELECT store, min(day) AS first_day, count(DISTINCT sku) AS skus
FROM bronze.sales
GROUP BY store`
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: shop\nsources:\n  sales:\n    mode: append\n    schema: {store: string, sku: string, day: long}\n",
		"models/span.sql":     "-- name: gold.span\n-- incremental_by: [store]\n" + sql + "\n",
		"landing/sales/1.csv": "store,sku,day\na,x,5\na,y,7\nb,x,3\n,x,4\n",
	})
	runLogged(t, proj)
	steps := []struct {
		name     string
		landing  string
		same     bool // nothing is written
		replaced int64
	}{
		{"later days of known skus", "store,sku,day\na,x,9\n,x,8\n", true, 0},
		{"a new sku", "store,sku,day\na,z,9\n", false, 1},
		{"a new store beside an unchanged one", "store,sku,day\na,x,6\nc,q,1\n", false, 1},
	}
	for i, st := range steps {
		before := tableFiles(t, proj, "gold.span")
		addFiles(t, proj.Dir, map[string]string{fmt.Sprintf("landing/sales/%d.csv", i+2): st.landing})
		log, rep := runReport(t, proj)
		after := tableFiles(t, proj, "gold.span")
		says := slices.ContainsFunc(log, func(s string) bool {
			return strings.HasPrefix(s, "gold.span: the ") && strings.HasSuffix(s, "recomputed rows of the touched groups are the rows it holds: nothing to write")
		})
		if says != st.same || slices.Equal(before, after) != st.same {
			t.Errorf("%s: the log says nothing is written: %v, files %v → %v; want nothing written: %v:\n%s", st.name, says, before, after, st.same, strings.Join(log, "\n"))
		}
		if tr := tableReport(rep, "gold.span"); tr == nil || tr.Replaced != st.replaced {
			t.Errorf("%s: report %+v, want %d rows replaced", st.name, tr, st.replaced)
		}
		checkFullRecompute(t, proj, st.name, "gold.span", sql, "store NULLS FIRST")
	}
}
