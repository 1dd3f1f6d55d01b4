package pipeline_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// TestChangeFeedOfRewrittenPartitionsCarriesOnlyTheirChangedRows: a model
// that recomputes a month partition (count(DISTINCT …) keeps it off
// aggregate maintenance) with its change data feed on records only what
// changed in it: creating the table and appending a new month write no
// change data files (the feed reads their added files as inserts), and a
// month rewritten with one new row records that row alone. Downstream, an
// aggregate over it is then kept from that one insert — files rewritten
// or not — and a rewrite that changes a held row makes it recompute its
// touched groups instead. After every run the feed replays to the table's
// rows and both models equal their full recompute.
func TestChangeFeedOfRewrittenPartitionsCarriesOnlyTheirChangedRows(t *testing.T) {
	const monthly = `SELECT month, store, count(DISTINCT sku) AS skus, sum(qty) AS qty
FROM bronze.sales
GROUP BY month, store`
	const byStore = `SELECT store, count(*) AS months, sum(qty) AS qty
FROM silver.monthly
GROUP BY store`
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: shop\nsources:\n  sales:\n    mode: append\n    schema: {month: int, store: string, sku: string, qty: long}\n",
		"models/monthly.sql":  modelFile("silver.monthly", "-- incremental_by: [month]\n-- partition_by: [month]\n-- properties: {delta.enableChangeDataFeed: \"true\"}", monthly),
		"models/by_store.sql": modelFile("gold.by_store", "-- incremental_by: [store]", byStore),
		"landing/sales/1.csv": "month,store,sku,qty\n1,a,x,1\n1,a,y,2\n1,b,x,3\n",
	})
	cols := []string{"month", "store", "skus", "qty"}
	dir := filepath.Join(proj.Resolve(proj.Config.Lake), "silver", "monthly")
	eng, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	// check verifies the feed and both models after a run; the commit's
	// change data files and feed rows (version|type|row, sorted) must be
	// cdcFiles and feed.
	check := func(step string, cdcFiles int, feed []string) {
		t.Helper()
		tbl := openLakeTable(t, dir)
		snap, err := tbl.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		v := snap.Version()
		files, err := tbl.ChangeFeed(t.Context(), v, v)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range files {
			if f.ChangeType == "" {
				n++
			}
		}
		if n != cdcFiles {
			t.Errorf("%s: version %d has %d change data files, want %d", step, v, n, cdcFiles)
		}
		var got []string
		for _, r := range ourFeed(t, eng, tbl, dir, cols, v) {
			if strings.HasPrefix(r, fmt.Sprint(v)+"|") {
				got = append(got, strings.TrimPrefix(r, fmt.Sprint(v)+"|"))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, feed) {
			t.Errorf("%s: the feed of version %d is %v, want %v", step, v, got, feed)
		}
		// Replayed from version 0, the feed gives the table's rows.
		held := map[string]int{}
		for _, r := range ourFeed(t, eng, tbl, dir, cols, v) {
			p := strings.SplitN(r, "|", 3)
			switch p[1] {
			case delta.ChangeInsert, delta.ChangeUpdatePostimage:
				held[p[2]]++
			default:
				held[p[2]]--
			}
		}
		var replayed []string
		for row, k := range held {
			for range k {
				replayed = append(replayed, row)
			}
		}
		slices.Sort(replayed)
		var rows []string
		for _, r := range query(t, proj, "SELECT "+renderSQL(cols)+" FROM silver.monthly") {
			rows = append(rows, r[0].(string))
		}
		slices.Sort(rows)
		if !slices.Equal(replayed, rows) {
			t.Errorf("%s: the feed replays to %v, the table holds %v", step, replayed, rows)
		}
		checkFullRecompute(t, proj, step, "silver.monthly", monthly, "month, store")
		checkFullRecompute(t, proj, step, "gold.by_store", byStore, "store")
	}
	runLogged(t, proj)
	check("created", 0, []string{"insert|1|a|2|3", "insert|1|b|1|3"})

	steps := []struct {
		name, landing string
		cdcFiles      int
		feed          []string
		kept          bool // gold.by_store is kept from the feed's inserts
	}{
		{"a new store in a held month", "month,store,sku,qty\n1,c,z,4\n", 1, []string{"insert|1|c|1|4"}, true},
		{"a new month", "month,store,sku,qty\n2,a,x,5\n2,d,x,1\n", 0, []string{"insert|2|a|1|5", "insert|2|d|1|1"}, true},
		{"a held row changes", "month,store,sku,qty\n1,b,y,1\n", 1, []string{"delete|1|b|1|3", "insert|1|b|2|4"}, false},
	}
	for i, st := range steps {
		addFiles(t, proj.Dir, map[string]string{"landing/sales/" + fmt.Sprint(i+2) + ".csv": st.landing})
		log := runLogged(t, proj)
		maintained := logHas(log, "gold.by_store: ", "groups kept from the changed rows of silver.monthly")
		if maintained != st.kept {
			t.Errorf("%s: gold.by_store kept its groups from the feed's rows: %v, want %v:\n%s", st.name, maintained, st.kept, strings.Join(log, "\n"))
		}
		if !st.kept && !logHas(log, "gold.by_store: recomputing the touched groups from the inputs: silver.monthly changed rows") {
			t.Errorf("%s: gold.by_store does not say it recomputes because a held row changed:\n%s", st.name, strings.Join(log, "\n"))
		}
		check(st.name, st.cdcFiles, st.feed)
	}
}
