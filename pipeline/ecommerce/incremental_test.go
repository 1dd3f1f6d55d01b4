package ecommerce_test

import (
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// TestIncrementalRuns runs the built-in project three more times after a
// first run: with nothing new (nothing commits), with one
// new month of orders and an items file (only those rows flow through, the
// untouched sources keep their versions, gold equals goldref over the whole
// landing zone), and with --full-refresh (the same gold tables).
func TestIncrementalRuns(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	landing := filepath.Join(dir, "landing")
	gen, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 2000, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	run := func(opts pipeline.RunOptions) *pipeline.Report {
		t.Helper()
		opts.Log = func(s string) { t.Log(s) }
		rep, err := pipeline.Run(ctx, proj, opts)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return rep
	}
	first := run(pipeline.RunOptions{})
	for _, tr := range first.Tables {
		if tr.Status != pipeline.StatusOK && !fromClickstream(tr.Table) {
			t.Fatalf("first run: %s: status %q (%s)", tr.Table, tr.Status, tr.Error)
		}
	}
	v1 := tableVersions(t, dir)
	runs1 := countRuns(t, proj)

	// (a) Nothing new: nothing is committed, not even the run's report.
	second := run(pipeline.RunOptions{})
	for _, tr := range second.Tables {
		want := pipeline.StatusUpToDate
		switch {
		case tr.Kind == "view":
			want = pipeline.StatusOK // views are defined again, never stored
		case fromClickstream(tr.Table) && tr.Kind == "model":
			want = pipeline.StatusWaiting // no clickstream has landed
		}
		if tr.Status != want {
			t.Errorf("second run: %s (%s): status %q, want %q", tr.Table, tr.Kind, tr.Status, want)
		}
		if tr.Kind != "view" && tr.Version != v1[tr.Table] {
			t.Errorf("second run: %s: report version %d, table version %d", tr.Table, tr.Version, v1[tr.Table])
		}
	}
	// Nothing commits, not even the run report.
	v2 := tableVersions(t, dir)
	for name, v := range v2 {
		if v != v1[name] {
			t.Errorf("%s: version %d → %d after a run with nothing new", name, v1[name], v)
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(v1)), slices.Sorted(maps.Keys(v2))) {
		t.Errorf("tables before %v, after %v", slices.Sorted(maps.Keys(v1)), slices.Sorted(maps.Keys(v2)))
	}
	if runs2 := countRuns(t, proj); runs2 != runs1 {
		t.Errorf("medallion.runs: %d rows → %d, want no new rows for a run that changed nothing", runs1, runs2)
	}

	// (b) One new month of orders and an items file for them.
	newOrders, newItems, newCustomers := landNewOrders(t, landing, gen, 50)
	s0 := openSession(t, proj)
	bronzeBefore := queryInt(t, s0, "SELECT count(*) FROM bronze.orders")
	silverBefore := queryInt(t, s0, "SELECT count(*) FROM silver.orders")
	itemsBefore := queryInt(t, s0, "SELECT count(*) FROM silver.order_items")
	third := run(pipeline.RunOptions{})
	for _, tr := range third.Tables {
		if tr.Status != pipeline.StatusOK && tr.Status != pipeline.StatusUpToDate && !fromClickstream(tr.Table) {
			t.Errorf("third run: %s: status %q (%s)", tr.Table, tr.Status, tr.Error)
		}
	}
	v3 := tableVersions(t, dir)
	s := openSession(t, proj)
	ids := "('" + strings.Join(newOrders, "', '") + "')"
	if n := queryInt(t, s, "SELECT count(*) FROM bronze.orders"); n != bronzeBefore+int64(len(newOrders)) {
		t.Errorf("bronze.orders: %d rows → %d, want %d more", bronzeBefore, n, len(newOrders))
	}
	if n := queryInt(t, s, "SELECT count(*) FROM bronze.orders WHERE order_id IN "+ids); n != int64(len(newOrders)) {
		t.Errorf("bronze.orders holds %d of the %d new orders", n, len(newOrders))
	}
	if n := queryInt(t, s, "SELECT count(*) FROM silver.orders"); n != silverBefore+int64(len(newOrders)) {
		t.Errorf("silver.orders: %d rows → %d, want %d more", silverBefore, n, len(newOrders))
	}
	if n := queryInt(t, s, "SELECT count(*) FROM silver.order_items"); n != itemsBefore+int64(newItems) {
		t.Errorf("silver.order_items: %d rows → %d, want %d more", itemsBefore, n, newItems)
	}
	for _, name := range []string{"bronze.orders", "bronze.order_items", "bronze.payments", "silver.orders", "silver.order_items", "silver.payments"} {
		if v3[name] <= v2[name] {
			t.Errorf("%s: version %d → %d, want a new version", name, v2[name], v3[name])
		}
	}
	for _, src := range []string{"customers", "products", "sellers", "geolocation", "category_translation", "reviews"} {
		for _, name := range []string{"bronze." + src, "silver." + src} {
			if v3[name] != v2[name] {
				t.Errorf("%s: version %d → %d, but no %s file landed", name, v2[name], v3[name], src)
			}
			if tr := tableReport(t, third, name); tr.Status != pipeline.StatusUpToDate {
				t.Errorf("%s: status %q, want up-to-date", name, tr.Status)
			}
		}
	}
	checks := []struct {
		table       string
		rowsIn      int64
		files       int
		incremental bool
	}{
		{"bronze.orders", int64(len(newOrders)), 1, false},
		{"bronze.order_items", int64(newItems), 1, false},
		{"silver.orders", int64(len(newOrders)), 0, true},
		{"silver.order_items", int64(newItems), 0, true},
	}
	for _, c := range checks {
		tr := tableReport(t, third, c.table)
		if tr.RowsIn != c.rowsIn || tr.Files != c.files {
			t.Errorf("%s: RowsIn %d, Files %d; want %d rows of the new file only, %d files", c.table, tr.RowsIn, tr.Files, c.rowsIn, c.files)
		}
		if tr.RowsOut != c.rowsIn || tr.Replaced != 0 || tr.Duplicates != 0 {
			t.Errorf("%s: RowsOut %d, Replaced %d, Duplicates %d; want %d new rows, none replaced", c.table, tr.RowsOut, tr.Replaced, tr.Duplicates, c.rowsIn)
		}
	}
	// The joined tables recompute only the month the new orders fall in:
	// its rows are all the run writes, no other month's rows are rewritten.
	for _, name := range []string{"silver.orders_items", "silver.order_payments"} {
		tr := tableReport(t, third, name)
		inNew := queryInt(t, s, "SELECT count(*) FROM "+name+" WHERE order_id IN "+ids)
		total := queryInt(t, s, "SELECT count(*) FROM "+name)
		if tr.Status != pipeline.StatusOK || tr.RowsOut != inNew || tr.Replaced != 0 || inNew >= total {
			t.Errorf("%s: status %q, RowsOut %d, Replaced %d (table %d rows, %d of the new orders); want ok, only the new month's %d rows written, none replaced",
				name, tr.Status, tr.RowsOut, tr.Replaced, total, inNew, inNew)
		}
	}
	// The per-month tables gold tables sum: only the new month is
	// computed (its rows are all the run writes, none replaced), the
	// payment counts those of the new payments.
	newMonth := "(order_year, order_month) IN (SELECT order_year, order_month FROM silver.orders WHERE order_id IN " + ids + ")"
	for _, name := range []string{"silver.payment_orders_monthly", "silver.delivery_monthly", "silver.customer_months"} {
		tr := tableReport(t, third, name)
		inNew := queryInt(t, s, "SELECT count(*) FROM "+name+" WHERE "+newMonth)
		if tr.Status != pipeline.StatusOK || tr.Replaced != 0 || tr.RowsOut != inNew || inNew == 0 || inNew >= queryInt(t, s, "SELECT count(*) FROM "+name) {
			t.Errorf("%s: status %q, RowsOut %d, Replaced %d, %d rows in the new month; want ok, only the new month's rows written, none replaced", name, tr.Status, tr.RowsOut, tr.Replaced, inNew)
		}
	}
	if got, want := queryInt(t, s, "SELECT CAST(sum(orders) AS BIGINT) FROM silver.payment_orders_monthly WHERE level = 'all' AND "+newMonth),
		queryInt(t, s, "SELECT count(DISTINCT order_id) FROM silver.payments WHERE payment_type IS NOT NULL AND order_id IN "+ids); got != want {
		t.Errorf("silver.payment_orders_monthly: %d orders with a payment type in the new month, want %d", got, want)
	}
	// The people of the new orders are known ones whose first month is
	// earlier (the new ones' customers have not landed yet): no cohort
	// moves, silver.customer_cohorts writes nothing, silver.cohort_months
	// only the new month, and gold.cohort_retention adds the new month's
	// groups beside its rows.
	if tr := tableReport(t, third, "silver.customer_cohorts"); tr.Status != pipeline.StatusOK || tr.RowsOut != 0 || tr.Replaced != 0 || tr.Version != v2["silver.customer_cohorts"]+1 {
		t.Errorf("silver.customer_cohorts: status %q, RowsOut %d, Replaced %d, version %d → %d; want ok, nothing written, one commit", tr.Status, tr.RowsOut, tr.Replaced, v2["silver.customer_cohorts"], tr.Version)
	}
	if tr, inNew := tableReport(t, third, "silver.cohort_months"), queryInt(t, s, "SELECT count(*) FROM silver.cohort_months WHERE "+newMonth); tr.Status != pipeline.StatusOK || tr.Replaced != 0 || tr.RowsOut != inNew || inNew == 0 {
		t.Errorf("silver.cohort_months: status %q, RowsOut %d, Replaced %d, %d rows in the new month; want ok, only the new month's rows written, none replaced", tr.Status, tr.RowsOut, tr.Replaced, inNew)
	}
	if tr := tableReport(t, third, "gold.cohort_retention"); tr.Status != pipeline.StatusOK || tr.Replaced != 0 || tr.RowsOut == 0 {
		t.Errorf("gold.cohort_retention: status %q, RowsOut %d, Replaced %d; want ok, the new month's groups added, none replaced", tr.Status, tr.RowsOut, tr.Replaced)
	}
	// gold.order_status_durations recomputes only the new purchase month
	// (one row, none replaced).
	if tr := tableReport(t, third, "gold.order_status_durations"); tr.Status != pipeline.StatusOK || tr.RowsOut != 1 || tr.Replaced != 0 {
		t.Errorf("gold.order_status_durations: status %q, RowsOut %d, Replaced %d; want ok, the new month's one row written, none replaced", tr.Status, tr.RowsOut, tr.Replaced)
	}
	checkGold(t, s, landing)

	// (c) A full refresh recomputes everything from all the files: the
	// same silver and gold content.
	full := run(pipeline.RunOptions{FullRefresh: true})
	v4 := tableVersions(t, dir)
	for _, tr := range full.Tables {
		if fromClickstream(tr.Table) {
			continue
		}
		if tr.Status != pipeline.StatusOK {
			t.Errorf("full refresh: %s: status %q, want ok (recomputed) (%s)", tr.Table, tr.Status, tr.Error)
		}
		if tr.Kind != "view" && v4[tr.Table] != v3[tr.Table]+1 {
			t.Errorf("full refresh: %s: version %d → %d, want one new commit", tr.Table, v3[tr.Table], v4[tr.Table])
		}
	}
	s2 := openSession(t, proj)
	for _, name := range []string{"bronze.orders", "silver.orders", "silver.order_items", "silver.customers"} {
		before := queryInt(t, s, "SELECT count(*) FROM "+name)
		if after := queryInt(t, s2, "SELECT count(*) FROM "+name); after != before {
			t.Errorf("%s: %d rows after the full refresh, %d before", name, after, before)
		}
	}
	checkGold(t, s2, landing)
	// The models the increment updates in part (rewritten for it: the
	// history's touched orders, the durations' and the cancellation rates'
	// touched months and dates) hold the rows their full recompute holds.
	for _, name := range []string{"silver.order_status_history", "gold.order_status_durations", "gold.cancellation_rate_daily"} {
		if d := goldref.Diff(goldTable(t, s2, name), goldTable(t, s, name)); d != "" {
			t.Errorf("%s after the increment differs from its full refresh:\n%s", name, d)
		}
	}

	// (d) Replace-mode sources: a second file lands beside the translation
	// file (the table becomes both files' rows) and the customers file is
	// replaced by a newer one (ingested again).
	pt := untranslatedCategory(t, landing)
	extra := createCSVFile(t, filepath.Join(landing, "category_translation", "extra_translation.csv"), "product_category_name", "product_category_name_english")
	extra.Write([]string{pt, pt + "_en"})
	extra.close()
	custFile := filepath.Join(landing, "customers", "olist_customers_dataset.csv")
	b, err := os.ReadFile(custFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 3) // the header, the first customer, the rest
	f := strings.Split(lines[1], ",")
	f[3] = "  Nova   CIDADE  " // customer_city
	lines[1] = strings.Join(f, ",")
	text := strings.Join(lines, "\n") // ends with a line break
	for _, c := range newCustomers {
		text += strings.Join(c, ",") + "\n" // the customers of (b)'s new orders arrive
	}
	if err := os.WriteFile(custFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour) // a newer modification time, whatever the clock's resolution
	if err := os.Chtimes(custFile, later, later); err != nil {
		t.Fatal(err)
	}
	translations := queryInt(t, s2, "SELECT count(*) FROM bronze.category_translation")
	customers := queryInt(t, s2, "SELECT count(*) FROM bronze.customers")
	fifth := run(pipeline.RunOptions{})
	for _, tr := range fifth.Tables {
		if tr.Status != pipeline.StatusOK && tr.Status != pipeline.StatusUpToDate && !fromClickstream(tr.Table) {
			t.Errorf("fifth run: %s: status %q (%s)", tr.Table, tr.Status, tr.Error)
		}
	}
	v5 := tableVersions(t, dir)
	for _, c := range []struct {
		table string
		files int
		rows  int64
	}{
		{"bronze.category_translation", 2, translations + 1},
		{"bronze.customers", 1, customers + int64(len(newCustomers))},
	} {
		tr := tableReport(t, fifth, c.table)
		if tr.Status != pipeline.StatusOK || tr.Files != c.files || tr.RowsIn != c.rows || tr.RowsOut != c.rows || v5[c.table] != v4[c.table]+1 {
			t.Errorf("%s: status %q, %d files, in %d, out %d, version %d → %d; want ok, %d files, %d rows, one commit",
				c.table, tr.Status, tr.Files, tr.RowsIn, tr.RowsOut, v4[c.table], v5[c.table], c.files, c.rows)
		}
	}
	for _, name := range []string{"bronze.orders", "bronze.order_items", "bronze.products", "silver.orders", "silver.products"} {
		if v5[name] != v4[name] {
			t.Errorf("%s: version %d → %d, but nothing of it landed", name, v4[name], v5[name])
		}
	}
	s3 := openSession(t, proj)
	if n := queryInt(t, s3, "SELECT count(*) FROM silver.customers WHERE customer_city = 'nova cidade'"); n != 1 {
		t.Errorf("%d customers in 'nova cidade', want the 1 of the replaced file", n)
	}
	if n := queryInt(t, s3, "SELECT count(*) FROM gold.revenue_by_category WHERE category = '"+pt+"_en'"); n != 1 {
		t.Errorf("gold.revenue_by_category: %d rows for the new translation %s_en, want 1", n, pt)
	}
	checkGold(t, s3, landing)
	// (e) Orders of known people in a month before any other land late:
	// their cohorts move back, and with them their rows of every month
	// in silver.cohort_months and the groups those rows count.
	early, earlyMonth := landEarlyOrders(t, landing, gen, 3)
	sixth := run(pipeline.RunOptions{})
	for _, tr := range sixth.Tables {
		if tr.Status != pipeline.StatusOK && tr.Status != pipeline.StatusUpToDate && !fromClickstream(tr.Table) {
			t.Errorf("sixth run: %s: status %q (%s)", tr.Table, tr.Status, tr.Error)
		}
	}
	s4 := openSession(t, proj)
	people := "(SELECT customer_unique_id FROM silver.customers WHERE customer_id IN ('" + strings.Join(early, "', '") + "'))"
	if moved, all := queryInt(t, s4, "SELECT count(*) FROM silver.customer_cohorts WHERE cohort_month = DATE '"+earlyMonth.Format("2006-01-02")+"' AND customer_unique_id IN "+people),
		queryInt(t, s4, "SELECT count(DISTINCT customer_unique_id) FROM "+people+" AS p"); moved != all || all == 0 {
		t.Errorf("silver.customer_cohorts: %d of the %d people with an early order have its month as their cohort", moved, all)
	}
	for name, full := range map[string]string{
		"silver.customer_cohorts": `SELECT customer_unique_id, min(make_date(order_year, order_month, 1)) FROM silver.customer_months
			WHERE order_year IS NOT NULL AND order_month IS NOT NULL GROUP BY customer_unique_id`,
		"silver.cohort_months": `SELECT m.order_year, m.order_month, m.customer_unique_id, min(make_date(a.order_year, a.order_month, 1))
			FROM silver.customer_months m JOIN silver.customer_months a ON a.customer_unique_id = m.customer_unique_id
			WHERE m.order_year IS NOT NULL AND m.order_month IS NOT NULL AND a.order_year IS NOT NULL AND a.order_month IS NOT NULL
			GROUP BY ALL`,
	} {
		stored := "SELECT * FROM " + name
		if name == "silver.cohort_months" {
			stored = "SELECT order_year, order_month, customer_unique_id, cohort_month FROM " + name
		}
		if n := queryInt(t, s4, "SELECT count(*) FROM (("+stored+" EXCEPT ALL "+full+") UNION ALL ("+full+" EXCEPT ALL "+stored+"))"); n != 0 {
			t.Errorf("%s: %d rows differ from its full recompute", name, n)
		}
	}
	checkGold(t, s4, landing)

	// (f) More orders of the same people land in a month they have
	// orders in already (the new month of (b)): silver.customer_months
	// rewrites that month, so silver.customer_cohorts recomputes those
	// people — and, their first month unchanged, writes nothing.
	_, last := orderMonths(t, gen)
	landOrdersIn(t, landing, last.AddDate(0, 2, 0), "more_orders.csv", "again", early)
	seventh := run(pipeline.RunOptions{})
	for _, tr := range seventh.Tables {
		if tr.Status != pipeline.StatusOK && tr.Status != pipeline.StatusUpToDate && !fromClickstream(tr.Table) {
			t.Errorf("seventh run: %s: status %q (%s)", tr.Table, tr.Status, tr.Error)
		}
	}
	if tr := tableReport(t, seventh, "silver.customer_cohorts"); tr.Status != pipeline.StatusOK || tr.RowsOut != 0 || tr.Replaced != 0 {
		t.Errorf("silver.customer_cohorts: status %q, RowsOut %d, Replaced %d; want ok, nothing written", tr.Status, tr.RowsOut, tr.Replaced)
	}
	s5 := openSession(t, proj)
	checkGold(t, s5, landing)
	// Seven runs, of which the one with nothing new left no report.
	if n := queryInt(t, s5, "SELECT count(DISTINCT run_id) FROM medallion.runs"); n != 6 {
		t.Errorf("medallion.runs holds %d runs, want 6", n)
	}
}

// landEarlyOrders writes n orders of the first n customers of the
// customers file, purchased in the month before the first generated one,
// without items or payments, and returns their customer_ids and the month.
func landEarlyOrders(t *testing.T, landing string, gen datagen.Report, n int) ([]string, time.Time) {
	t.Helper()
	first, _ := orderMonths(t, gen)
	month := first.AddDate(0, -1, 0)
	customers := firstColumn(t, filepath.Join(landing, "customers", "olist_customers_dataset.csv"), n)
	landOrdersIn(t, landing, month, "olist_orders_dataset.csv", "early", customers)
	return customers, month
}

// orderMonths returns the first and the last month of the generated
// orders files.
func orderMonths(t *testing.T, gen datagen.Report) (first, last time.Time) {
	t.Helper()
	orders, _ := gen.Source(datagen.SourceOrders)
	for _, f := range orders.Files {
		m := monthDir.FindStringSubmatch(f.Path)
		if m == nil {
			t.Fatalf("orders file %s is not in a month folder", f.Path)
		}
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d := time.Date(y, time.Month(mo), 1, 0, 0, 0, 0, time.UTC)
		if first.IsZero() || d.Before(first) {
			first = d
		}
		if d.After(last) {
			last = d
		}
	}
	return first, last
}

// landOrdersIn writes an orders file (name) in the month's folder: an order
// of each customer, canceled, without items or payments, its id prefix
// and a number.
func landOrdersIn(t *testing.T, landing string, month time.Time, name, prefix string, customers []string) {
	t.Helper()
	path := filepath.Join(landing, "orders", fmt.Sprintf("order_year=%d", month.Year()), fmt.Sprintf("order_month=%d", int(month.Month())), name)
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("%s exists already", path)
	}
	w := createCSVFile(t, path, "order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_approved_at",
		"order_delivered_carrier_date", "order_delivered_customer_date", "order_estimated_delivery_date")
	for i, c := range customers {
		p := month.Add(time.Duration(i+1) * 26 * time.Hour)
		w.Write([]string{fmt.Sprintf("%s%0*x", prefix, 32-len(prefix), i+1), c, "canceled", p.Format("2006-01-02 15:04:05"), "", "", "", p.AddDate(0, 0, 10).Format("2006-01-02") + " 00:00:00"})
	}
	w.close()
}

// untranslatedCategory returns a category of a sold product that the
// translation file does not translate.
func untranslatedCategory(t *testing.T, landing string) string {
	t.Helper()
	read := func(p string) [][]string {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs[1:]
	}
	translated := map[string]bool{}
	for _, r := range read(filepath.Join(landing, "category_translation", "product_category_name_translation.csv")) {
		translated[r[0]] = true
	}
	sold := map[string]bool{}
	items, _ := filepath.Glob(filepath.Join(landing, "order_items", "*.csv"))
	for _, f := range items {
		for _, r := range read(f) {
			sold[r[2]] = true
		}
	}
	for _, r := range read(filepath.Join(landing, "products", "olist_products_dataset.csv")) {
		if r[1] != "" && !translated[r[1]] && sold[r[0]] {
			return r[1]
		}
	}
	t.Fatal("every sold product's category is translated")
	return ""
}

// tableVersions returns the version of every table in the project's lake.
func tableVersions(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ctx := t.Context()
	lake, err := pipeline.OpenLake(ctx, filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	names, err := lake.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		snap, err := lake.Snapshot(ctx, n)
		if err != nil || snap == nil {
			t.Fatalf("%s: %v (exists: %v)", n, err, snap != nil)
		}
		out[n] = snap.Version()
	}
	if len(out) == 0 {
		t.Fatal("the lake has no tables")
	}
	return out
}

func countRuns(t *testing.T, proj *pipeline.Project) int64 {
	t.Helper()
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return queryInt(t, s, "SELECT count(*) FROM medallion.runs")
}

var monthDir = regexp.MustCompile(`order_year=(\d+)/order_month=(\d+)/`)

// landNewOrders writes n new orders, purchased in the second month after
// the last generated one, with items of existing products and sellers (one
// or two each; every fifth order has none). Even orders are of existing
// customers; odd ones of new customers, not in the customers file yet, as
// when orders stream in before the next customers file. It returns the new
// order ids, the number of item rows and the new customers' rows.
func landNewOrders(t *testing.T, landing string, gen datagen.Report, n int) ([]string, int, [][]string) {
	t.Helper()
	_, last := orderMonths(t, gen)
	month := last.AddDate(0, 2, 0)
	customers := firstColumn(t, filepath.Join(landing, "customers", "olist_customers_dataset.csv"), n)
	products := firstColumn(t, filepath.Join(landing, "products", "olist_products_dataset.csv"), 10)
	sellers := firstColumn(t, filepath.Join(landing, "sellers", "olist_sellers_dataset.csv"), 3)

	ordersPath := filepath.Join(landing, "orders", fmt.Sprintf("order_year=%d", month.Year()), fmt.Sprintf("order_month=%d", int(month.Month())), "olist_orders_dataset.csv")
	itemsPath := filepath.Join(landing, "order_items", "olist_order_items_dataset_part-9000.csv")
	paymentsPath := filepath.Join(landing, "payments", "olist_order_payments_dataset_part-9000.csv")
	for _, p := range []string{ordersPath, itemsPath, paymentsPath} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists already", p)
		}
	}
	ow := createCSVFile(t, ordersPath, "order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_approved_at",
		"order_delivered_carrier_date", "order_delivered_customer_date", "order_estimated_delivery_date")
	iw := createCSVFile(t, itemsPath, "order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value")
	// Payments: one per order, a second of another type and plan for
	// every third, none for every eleventh and a missing type for every
	// thirteenth (left out of the per-type counts).
	pw := createCSVFile(t, paymentsPath, "order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value")
	payTypes := []string{"credit_card", "boleto", "voucher", "debit_card"}
	const ts = "2006-01-02 15:04:05"
	var ids []string
	var newCustomers [][]string
	items := 0
	for i := range n {
		id := fmt.Sprintf("feed%028x", i+1)
		ids = append(ids, id)
		p := month.Add(time.Duration(i)*13*time.Hour + 17*time.Minute)
		status, approved, carrier, delivered := "delivered", p.Add(time.Hour).Format(ts), p.Add(30*time.Hour).Format(ts), p.Add(time.Duration(3+i%9)*24*time.Hour).Format(ts)
		if i%7 == 3 {
			status, carrier, delivered = "canceled", "", ""
		}
		est := p.Add(10*24*time.Hour).Format("2006-01-02") + " 00:00:00"
		cust := customers[i]
		if i%2 == 1 {
			cust = fmt.Sprintf("cafe%028x", i)
			newCustomers = append(newCustomers, []string{cust, fmt.Sprintf("beef%028x", i%6), "69900", "rio branco", "AC"})
		}
		ow.Write([]string{id, cust, status, p.Format(ts), approved, carrier, delivered, est})
		if i%11 != 10 {
			typ := payTypes[i%len(payTypes)]
			if i%13 == 12 {
				typ = ""
			}
			pw.Write([]string{id, "1", typ, strconv.Itoa(1 + i%3), fmt.Sprintf("%d.00", 30+i)})
			if i%3 == 0 {
				pw.Write([]string{id, "2", payTypes[(i+1)%len(payTypes)], "1", "10.00"})
			}
		}
		if i%5 == 4 {
			continue
		}
		for j := range 1 + i%2 {
			items++
			price := fmt.Sprintf("%d.%02d", 20+i*7+j, (i*13)%100)
			iw.Write([]string{id, strconv.Itoa(j + 1), products[(i+j)%len(products)], sellers[i%len(sellers)], p.Add(72 * time.Hour).Format(ts), price, "12.50"})
		}
	}
	ow.close()
	iw.close()
	pw.close()
	return ids, items, newCustomers
}

// firstColumn returns the first column of the first n data rows of a CSV
// file.
func firstColumn(t *testing.T, path string, n int) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < n+1 {
		t.Fatalf("%s has %d rows, want %d", path, len(recs)-1, n)
	}
	var out []string
	for _, r := range recs[1 : n+1] {
		out = append(out, r[0])
	}
	return out
}

type landedCSV struct {
	t *testing.T
	f *os.File
	*csv.Writer
}

func createCSVFile(t *testing.T, path string, header ...string) *landedCSV {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := &landedCSV{t: t, f: f, Writer: csv.NewWriter(f)}
	w.Write(header)
	return w
}

func (w *landedCSV) close() {
	w.Flush()
	if err := w.Error(); err != nil {
		w.t.Fatal(err)
	}
	if err := w.f.Close(); err != nil {
		w.t.Fatal(err)
	}
}
