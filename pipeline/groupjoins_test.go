package pipeline_test

import (
	"context"
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
// orders that had none.
func TestGroupQueryWithoutLeftJoinsEqualsFullRecompute(t *testing.T) {
	ctx := context.Background()
	const pruned = `-- name: gold.by_m
-- incremental_by: [m]
SELECT o.m, count(*) AS n, count(c.cat) AS with_cat, sum(o.qty) AS qty
FROM bronze.orders o LEFT JOIN bronze.cats c ON o.sku = c.sku
GROUP BY o.m
`
	const kept = `-- name: gold.by_m_cat
-- incremental_by: [m]
SELECT o.m, count(*) AS n
FROM bronze.orders o LEFT JOIN bronze.cats c ON o.sku = c.sku
WHERE c.cat IS NOT NULL
GROUP BY o.m
`
	fullRecompute := map[string]string{
		"gold.by_m":     "SELECT o.m, count(*), count(c.cat), sum(o.qty) FROM bronze.orders o LEFT JOIN bronze.cats c ON o.sku = c.sku GROUP BY o.m ORDER BY o.m",
		"gold.by_m_cat": "SELECT o.m, count(*) FROM bronze.orders o LEFT JOIN bronze.cats c ON o.sku = c.sku WHERE c.cat IS NOT NULL GROUP BY o.m ORDER BY o.m",
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
`,
		"models/by_m.sql":      pruned,
		"models/by_m_cat.sql":  kept,
		"landing/cats/a.csv":   "sku,cat\na,toys\nx,books\n",
		"landing/orders/a.csv": "sku,qty,m\na,1,1\nx,3,1\nz,5,2\n",
	})
	steps := []struct {
		name  string
		files map[string]string
		// prunedLog: the run finds by_m's groups without its join.
		prunedLog bool
	}{
		{"first run", nil, false},
		{"new orders in an old and a new month", map[string]string{"landing/orders/b.csv": "sku,qty,m\nz,2,1\na,4,3\nq,1,3\n"}, true},
		{"a category arrives for z", map[string]string{"landing/cats/b.csv": "sku,cat\nz,food\n"}, false},
	}
	for _, st := range steps {
		addFiles(t, proj.Dir, st.files)
		var mu sync.Mutex
		var log []string
		rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Log: func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, name := range []string{"gold.by_m", "gold.by_m_cat"} {
			if tr := tableReport(rep, name); tr == nil || tr.Status != pipeline.StatusOK {
				t.Fatalf("%s: %s: %+v", st.name, name, tr)
			}
			if got, want := rowsText(query(t, proj, stored[name])), rowsText(query(t, proj, fullRecompute[name])); got != want {
				t.Errorf("%s: %s holds %s, its full recompute %s", st.name, name, got, want)
			}
		}
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
