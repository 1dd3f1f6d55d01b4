package pipeline_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestCDCModelOverIncrementalInput: a CDC model whose header names its
// input incremental (a table with one row per key, merged by key) recomputes
// the keys a run touches from that input's new rows (the log says so),
// and after every run, as orders advance and new ones land (alone: the
// input only appends), equals the SCD 2 history computed from the whole
// input. A run that reads the whole
// input (the first) does not say so.
func TestCDCModelOverIncrementalInput(t *testing.T) {
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml": `
name: shop
sources:
  orders:
    mode: upsert
    keys: [id]
    schema: {id: long, placed: long, shipped: long}
`,
		"models/orders.sql": `-- name: silver.orders
-- keys: [id]
-- incremental: bronze.orders
SELECT id, placed, shipped, _ingested_at, _seq FROM bronze.orders
`,
		"models/hist.sql": `-- name: silver.hist
-- keys: [id]
-- sequence_by: [ts]
-- cdc: {scd: 2}
-- incremental: silver.orders
SELECT id, status, ts FROM (
    SELECT id, 'placed' AS status, placed AS ts FROM silver.orders WHERE placed IS NOT NULL
    UNION ALL
    SELECT id, 'shipped' AS status, shipped AS ts FROM silver.orders WHERE shipped IS NOT NULL
) AS u
`,
		"landing/orders/a.csv": "id,placed,shipped\n1,10,\n2,11,20\n3,12,\n",
	})
	const want = `SELECT id, status, ts, lead(ts) OVER (PARTITION BY id ORDER BY ts) FROM (
    SELECT id, 'placed' AS status, placed AS ts FROM silver.orders WHERE placed IS NOT NULL
    UNION ALL
    SELECT id, 'shipped' AS status, shipped AS ts FROM silver.orders WHERE shipped IS NOT NULL
) AS u ORDER BY id, ts`
	const got = "SELECT id, status, __start_at, __end_at FROM silver.hist ORDER BY id, __start_at"
	steps := []struct {
		name     string
		files    map[string]string
		fromNew  bool // the log says the touched keys came from the new rows
		wantRows int
	}{
		{"first run", nil, false, 4},
		{"order 1 ships, order 4 is placed", map[string]string{"landing/orders/b.csv": "id,placed,shipped\n1,10,30\n4,40,\n"}, true, 6},
		{"order 3 ships, order 5 is placed", map[string]string{"landing/orders/c.csv": "id,placed,shipped\n5,50,\n3,12,35\n"}, true, 8},
		// New orders only: silver.orders appends a file and rewrites none.
		{"orders 6 and 7 are placed, 7 shipped", map[string]string{"landing/orders/d.csv": "id,placed,shipped\n6,60,\n7,61,62\n"}, true, 11},
		{"order 6 ships", map[string]string{"landing/orders/e.csv": "id,placed,shipped\n6,60,70\n"}, true, 12},
	}
	for _, st := range steps {
		addFiles(t, proj.Dir, st.files)
		var mu sync.Mutex
		var log []string
		rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Log: func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if tr := tableReport(rep, "silver.hist"); tr == nil || tr.Status != pipeline.StatusOK {
			t.Fatalf("%s: silver.hist: %+v", st.name, tr)
		}
		rows := query(t, proj, got)
		if g, w := rowsText(rows), rowsText(query(t, proj, want)); g != w || len(rows) != st.wantRows {
			t.Errorf("%s: silver.hist holds %d rows %s, the history of every order %s (%d rows)", st.name, len(rows), g, w, st.wantRows)
		}
		saysNew := slices.ContainsFunc(log, func(s string) bool {
			return s == "silver.hist: recomputing the touched keys from the new rows of silver.orders"
		})
		if saysNew != st.fromNew {
			t.Errorf("%s: the log says the touched keys came from the new rows: %v, want %v:\n%s", st.name, saysNew, st.fromNew, strings.Join(log, "\n"))
		}
	}
}
