package pipeline_test

import (
	"fmt"
	"os"
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

// TestChangeFeedCountsRepeatedRows: a model whose rows repeat (no key
// tells two copies apart) records, when a rewrite of its month changes
// them, as many deletes and inserts as copies went and came: one copy that
// changes is one delete and one insert, two copies that go and three that
// come are two deletes and three inserts. The feed replays to the table's
// rows after every run, and the table equals its full recompute.
func TestChangeFeedCountsRepeatedRows(t *testing.T) {
	const moves = `SELECT month, store FROM bronze.sales`
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: shop\nsources:\n  sales:\n    mode: upsert\n    keys: [id]\n    schema: {id: int, month: int, store: string}\n",
		"models/moves.sql":    modelFile("silver.moves", "-- incremental_by: [month]\n-- partition_by: [month]\n-- properties: {delta.enableChangeDataFeed: \"true\"}", moves),
		"landing/sales/1.csv": "id,month,store\n1,1,a\n2,1,a\n3,1,b\n",
	})
	cols := []string{"month", "store"}
	dir := filepath.Join(proj.Resolve(proj.Config.Lake), "silver", "moves")
	eng, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	steps := []struct {
		name, landing string
		feed          []string // the version's feed rows, type|row, sorted
	}{
		{"created", "", []string{"insert|1|a", "insert|1|a", "insert|1|b"}},
		{"one copy changes", "id,month,store\n3,1,c\n", []string{"delete|1|b", "insert|1|c"}},
		{"copies go and come", "id,month,store\n1,1,d\n2,1,d\n4,1,d\n", []string{"delete|1|a", "delete|1|a", "insert|1|d", "insert|1|d", "insert|1|d"}},
	}
	for i, st := range steps {
		if st.landing != "" {
			addFiles(t, proj.Dir, map[string]string{"landing/sales/" + fmt.Sprint(i+1) + ".csv": st.landing})
		}
		runLogged(t, proj)
		tbl := openLakeTable(t, dir)
		snap, err := tbl.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		v := snap.Version()
		all := ourFeed(t, eng, tbl, dir, cols, v)
		var got []string
		held := map[string]int{}
		for _, r := range all {
			p := strings.SplitN(r, "|", 3)
			if p[0] == fmt.Sprint(v) {
				got = append(got, p[1]+"|"+p[2])
			}
			if p[1] == delta.ChangeInsert || p[1] == delta.ChangeUpdatePostimage {
				held[p[2]]++
			} else {
				held[p[2]]--
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, st.feed) {
			t.Errorf("%s: the feed of version %d is %v, want %v", st.name, v, got, st.feed)
		}
		var replayed, rows []string
		for row, k := range held {
			for range k {
				replayed = append(replayed, row)
			}
		}
		for _, r := range query(t, proj, "SELECT "+renderSQL(cols)+" FROM silver.moves") {
			rows = append(rows, r[0].(string))
		}
		slices.Sort(replayed)
		slices.Sort(rows)
		if !slices.Equal(replayed, rows) {
			t.Errorf("%s: the feed replays to %v, the table holds %v", st.name, replayed, rows)
		}
		checkFullRecompute(t, proj, st.name, "silver.moves", moves, "month, store")
	}
}

// TestOneFileTableAddsGroupsItDoesNotHold: a recompute of touched groups
// over a table of one file reads that file's rows of the groups for its
// comparison instead of looking the file up first. A group the file does
// not hold (a new store) is then added beside it — the commit removes no
// file and, the feed on, writes no change data file — while a group it
// holds rewrites it with a delete and an insert in the feed. The table
// equals its full recompute after every run.
func TestOneFileTableAddsGroupsItDoesNotHold(t *testing.T) {
	const byStore = `SELECT store, count(DISTINCT sku) AS skus FROM bronze.sales GROUP BY store`
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: shop\nsources:\n  sales:\n    mode: append\n    schema: {store: string, sku: string}\n",
		"models/by_store.sql": modelFile("gold.by_store", "-- incremental_by: [store]\n-- properties: {delta.enableChangeDataFeed: \"true\"}", byStore),
		"landing/sales/1.csv": "store,sku\na,x\nb,x\nb,y\n",
	})
	dir := filepath.Join(proj.Resolve(proj.Config.Lake), "gold", "by_store")
	eng, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	runLogged(t, proj)
	steps := []struct {
		name, landing     string
		removes, cdcFiles int
		feed              []string
	}{
		{"a new store", "store,sku\nc,z\n", 0, 0, []string{"insert|c|1"}},
		{"a held store gains a product", "store,sku\na,y\n", 1, 1, []string{"delete|a|1", "insert|a|2"}},
	}
	for i, st := range steps {
		addFiles(t, proj.Dir, map[string]string{"landing/sales/" + fmt.Sprint(i+2) + ".csv": st.landing})
		log := runLogged(t, proj)
		if !logHas(log, "gold.by_store: recomputing the touched groups") {
			t.Fatalf("%s: gold.by_store does not recompute its touched groups:\n%s", st.name, strings.Join(log, "\n"))
		}
		tbl := openLakeTable(t, dir)
		snap, err := tbl.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		v := snap.Version()
		commit, err := os.ReadFile(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v)))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(commit), `{"remove":`); n != st.removes {
			t.Errorf("%s: version %d removes %d files, want %d:\n%s", st.name, v, n, st.removes, commit)
		}
		if n := strings.Count(string(commit), `{"cdc":`); n != st.cdcFiles {
			t.Errorf("%s: version %d has %d change data files, want %d", st.name, v, n, st.cdcFiles)
		}
		var got []string
		for _, r := range ourFeed(t, eng, tbl, dir, []string{"store", "skus"}, v) {
			if rest, ok := strings.CutPrefix(r, fmt.Sprint(v)+"|"); ok {
				got = append(got, rest)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, st.feed) {
			t.Errorf("%s: the feed of version %d is %v, want %v", st.name, v, got, st.feed)
		}
		checkFullRecompute(t, proj, st.name, "gold.by_store", byStore, "store")
	}
}
