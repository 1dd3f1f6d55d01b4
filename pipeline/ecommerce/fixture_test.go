package ecommerce_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// Ids of the fixture (testdata/fixture/README.md): 32 hex digits like
// Olist's, numbered in the last digit.
const (
	fxO1, fxO2, fxO3, fxO4, fxO5 = "a1000000000000000000000000000001", "a1000000000000000000000000000002", "a1000000000000000000000000000003", "a1000000000000000000000000000004", "a1000000000000000000000000000005"
	fxC2                         = "c1000000000000000000000000000002"
	fxU1                         = "d1000000000000000000000000000001"
	fxP1, fxP2, fxP3, fxP4       = "b1000000000000000000000000000001", "b1000000000000000000000000000002", "b1000000000000000000000000000003", "b1000000000000000000000000000004"
	fxS1, fxS2                   = "5f000000000000000000000000000001", "5f000000000000000000000000000002"
	fxR1, fxR2                   = "7f000000000000000000000000000001", "7f000000000000000000000000000002"
)

// TestFixtureGold runs the built-in project over a small hand-written
// landing zone in the real Olist format (quoted headers and values, BOMs,
// multi-line quoted reviews, empty timestamps, accented and irregular
// cities, an order re-landed with a new status a month later, boleto) and
// checks every gold table against values worked out by hand, and against
// goldref.Compute.
//
// The item rows, revenue = price + freight_value:
//
//	order date        item product category       seller revenue
//	o1    2017-11-24  1    p1      bed_bath_table s1     89.90+15.10   = 105
//	o1    2017-11-24  2    p2      health_beauty  s2     10+5          = 15
//	o2    2017-11-24  1    p3      pcs            s1     120+30        = 150
//	o3    2017-11-25  1    p1      bed_bath_table s1     490+10        = 500
//	o4    2017-12-02  1    p2      health_beauty  s2     450+60        = 510
//	o4    2017-12-02  2    p4      unknown        s2     1500+(none)   = 1500
//
// Orders: o1 120, o2 150, o3 500 (canceled), o4 2010; o5 (unavailable) has
// no items. People: o1 and o4 → u1 (customers c1 "são paulo" and c4 "São
// Paulo"); o2 → u2 (c2 "SAO PAULO "); o3 → u3 (RJ); o5 → u4 (MG). o2
// lands as shipped in November's folder and again as delivered (late) in
// December's.
func TestFixtureGold(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	landing := filepath.Join(dir, "landing")
	copyFixtureTree(t, filepath.Join("testdata", "fixture", "landing"), landing)
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Log: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, tr := range rep.Tables {
		if tr.Status != pipeline.StatusOK && !fromClickstream(tr.Table) {
			t.Errorf("%s: status %q (%s)", tr.Table, tr.Status, tr.Error)
		}
		if tr.Kind == "source" && (tr.Rejected != 0 || tr.Rescued != 0) {
			t.Errorf("%s: %d records rejected, %d rescued; the fixture is well-formed", tr.Table, tr.Rejected, tr.Rescued)
		}
	}
	s := openSession(t, proj)

	// Bronze and silver: the quirks are read as the Kaggle files mean them.
	if tr := tableReport(t, rep, "bronze.orders"); tr.RowsIn != 6 || tr.Duplicates != 1 || tr.RowsOut != 5 || tr.Files != 2 {
		t.Errorf("bronze.orders: in %d, duplicates %d, out %d, files %d; want 6 records, o2 collapsed, 5 rows, 2 files", tr.RowsIn, tr.Duplicates, tr.RowsOut, tr.Files)
	}
	values := []struct {
		sql  string
		want any
	}{
		{"SELECT count(*) FROM bronze.customers", int64(5)}, // BOM + quoted header
		{"SELECT count(*) FROM bronze.reviews", int64(5)},   // multi-line records
		{"SELECT count(*) FROM bronze.category_translation", int64(2)},
		{"SELECT order_status FROM silver.orders WHERE order_id = '" + fxO2 + "'", "delivered"},
		{"SELECT _source_file FROM silver.orders WHERE order_id = '" + fxO2 + "'", "orders/order_year=2017/order_month=12/olist_orders_dataset.csv"},
		{"SELECT order_year * 100 + order_month FROM bronze.orders WHERE order_id = '" + fxO2 + "'", int64(201711)},
		{"SELECT count(*) FROM silver.orders WHERE order_id = '" + fxO3 + "' AND order_approved_at IS NULL AND order_delivered_customer_date IS NULL", int64(1)},
		{"SELECT count(*) FROM silver.orders WHERE order_id = '" + fxO5 + "' AND order_delivered_carrier_date IS NULL AND order_approved_at IS NOT NULL", int64(1)},
		{"SELECT customer_city FROM silver.customers WHERE customer_id = '" + fxC2 + "'", "sao paulo"},
		{"SELECT customer_zip_code_prefix FROM silver.customers WHERE customer_id = '" + fxC2 + "'", "04538"},
		{"SELECT review_comment_title FROM silver.reviews WHERE review_id = '" + fxR1 + "'", "Ótimo"},
		{"SELECT review_comment_message FROM silver.reviews WHERE review_id = '" + fxR1 + "'", "Chegou antes do prazo,\nrecomendo \"demais\", de verdade"},
		{"SELECT review_comment_message FROM silver.reviews WHERE review_id = '" + fxR2 + "'", "Atrasou, mas chegou.\nProduto ok; embalagem \"amassada\"\n"},
		{"SELECT count(*) FROM silver.reviews WHERE review_comment_title IS NULL", int64(3)},
		{"SELECT payment_type FROM silver.payments WHERE order_id = '" + fxO2 + "'", "cash"},
		{"SELECT product_category_name FROM silver.products WHERE product_id = '" + fxP4 + "'", "unknown"},
		{"SELECT price + freight_value FROM silver.order_items WHERE order_id = '" + fxO4 + "' AND order_item_id = 2", 1500.0},
	}
	for _, v := range values {
		res, err := s.Query(ctx, v.sql)
		if err != nil {
			t.Errorf("%s: %v", v.sql, err)
			continue
		}
		if len(res.Rows) != 1 || !goldValueEqual(res.Rows[0][0], v.want) {
			t.Errorf("%s = %q, want %q", v.sql, res.Rows, v.want)
		}
	}

	d1, d2, d3 := fxDate("2017-11-24"), fxDate("2017-11-25"), fxDate("2017-12-02")
	wants := []*goldref.Table{
		{Name: "gold.total_revenue", Columns: []string{"revenue", "orders", "items"}, Rows: [][]any{
			{2780.0, int64(4), int64(6)}, // 120 + 150 + 500 + 2010; o5 has no items
		}},
		{Name: "gold.revenue_by_category", Columns: []string{"category", "revenue", "items"}, Rows: [][]any{
			{"bed_bath_table", 605.0, int64(2)},
			{"health_beauty", 525.0, int64(2)},
			{"pcs", 150.0, int64(1)}, // no translation: the Portuguese name
			{"unknown", 1500.0, int64(1)},
		}},
		{Name: "gold.top_products", Columns: []string{"product_id", "category", "items_sold", "revenue"}, Rows: [][]any{
			{fxP1, "bed_bath_table", int64(2), 605.0},
			{fxP2, "health_beauty", int64(2), 525.0},
			{fxP3, "pcs", int64(1), 150.0},
			{fxP4, "unknown", int64(1), 1500.0},
		}},
		{Name: "gold.daily_revenue", Columns: []string{"date", "revenue", "orders"}, Rows: [][]any{
			{d1, 270.0, int64(2)}, {d2, 500.0, int64(1)}, {d3, 2010.0, int64(1)},
		}},
		{Name: "gold.revenue_by_state", Columns: []string{"date", "customer_state", "customer_city", "revenue"}, Rows: [][]any{
			{d1, "SP", "sao paulo", 270.0}, // "são paulo" (o1) and "SAO PAULO " (o2) are one city
			{d2, "RJ", "rio de janeiro", 500.0},
			{d3, "SP", "sao paulo", 2010.0}, // "São Paulo"
		}},
		{Name: "gold.customer_segments", Columns: []string{"date", "segment", "customers"}, Rows: [][]any{
			{d1, "Low", int64(2)},  // u1 120, u2 150
			{d2, "Mid", int64(1)},  // u3 500: the limit belongs to Mid
			{d3, "High", int64(1)}, // u1 2010
		}},
		{Name: "gold.aov_daily", Columns: []string{"date", "aov", "orders"}, Rows: [][]any{
			{d1, 135.0, int64(2)}, {d2, 500.0, int64(1)}, {d3, 2010.0, int64(1)},
		}},
		{Name: "gold.cancellation_rate_daily", Columns: []string{"date", "canceled_orders", "orders", "cancellation_rate_pct"}, Rows: [][]any{
			{d1, int64(0), int64(2), 0.0}, // o2 counts once
			{d2, int64(1), int64(1), 100.0},
			{d3, int64(0), int64(2), 0.0}, // o5 counts without items
		}},
		{Name: "gold.repeat_customers", Columns: []string{"customer_unique_id", "orders"}, Rows: [][]any{
			{fxU1, int64(2)},
		}},
		{Name: "gold.top_sellers", Columns: []string{"seller_id", "seller_city", "items_sold"}, Rows: [][]any{
			{fxS1, "campinas", int64(3)},
			{fxS2, "são paulo", int64(3)}, // sellers keep their accents
		}},
		{Name: "gold.orders_by_payment_type", Columns: []string{"payment_type", "orders"}, Rows: [][]any{
			{"credit_card", int64(2)}, {"cash", int64(2)}, {"voucher", int64(2)},
		}},
		{Name: "gold.installment_plans", Columns: []string{"plan", "orders"}, Rows: [][]any{
			{"installments", int64(1)}, {"one-time", int64(4)},
		}},
		{Name: "gold.payment_rollup", Columns: []string{"payment_type", "plan", "orders"}, Rows: [][]any{
			{"credit_card", "installments", int64(1)},
			{"credit_card", "one-time", int64(1)},
			{"credit_card", nil, int64(2)},
			{"cash", "one-time", int64(2)},
			{"cash", nil, int64(2)},
			{"voucher", "one-time", int64(2)},
			{"voucher", nil, int64(2)},
			{nil, nil, int64(5)},
		}},
		{Name: "gold.category_orders_daily", Columns: []string{"date", "category", "items"}, Rows: [][]any{
			{d1, "bed_bath_table", int64(1)}, {d1, "health_beauty", int64(1)}, {d1, "pcs", int64(1)},
			{d2, "bed_bath_table", int64(1)},
			{d3, "health_beauty", int64(1)}, {d3, "unknown", int64(1)},
		}},
		{Name: "gold.top_products_daily", Columns: []string{"date", "rank", "product_id", "items_sold"}, Rows: [][]any{
			{d1, int64(1), fxP1, int64(1)}, {d1, int64(2), fxP2, int64(1)}, {d1, int64(3), fxP3, int64(1)},
			{d2, int64(1), fxP1, int64(1)},
			{d3, int64(1), fxP2, int64(1)}, {d3, int64(2), fxP4, int64(1)},
		}},
		{Name: "gold.delivery_performance", Columns: []string{"customer_state", "delivered_orders", "avg_delivery_days", "late_pct"}, Rows: [][]any{
			// o1 5 days, o2 13 days (after its estimate: late), o4 3.5 days.
			{"SP", int64(3), 21.5 / 3, 100.0 / 3},
		}},
		{Name: "gold.review_scores_by_category", Columns: []string{"category", "reviews", "avg_score"}, Rows: [][]any{
			{"bed_bath_table", int64(2), 3.0}, // r1 5 (o1), r4 1 (o3)
			{"health_beauty", int64(2), 4.5},  // r1 5 (o1), r3 4 (o4)
			{"pcs", int64(1), 2.0},            // r2 (o2)
			{"unknown", int64(1), 4.0},        // r3 (o4); r5's o5 has no items
		}},
		{Name: "gold.cohort_retention", Columns: []string{"cohort_month", "months_since_first", "customers"}, Rows: [][]any{
			{fxDate("2017-11-01"), int64(0), int64(3)}, // u1 u2 u3
			{fxDate("2017-11-01"), int64(1), int64(1)}, // u1 again in December
			{fxDate("2017-12-01"), int64(0), int64(1)}, // u4
		}},
	}
	ref, err := goldref.Compute(ctx, landing, goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(wants) != len(goldref.Names) {
		t.Fatalf("%d tables worked out by hand, the contract has %d", len(wants), len(goldref.Names))
	}
	for i, want := range wants {
		if want.Name != goldref.Names[i] {
			t.Fatalf("table %d is %s, the contract's is %s", i, want.Name, goldref.Names[i])
		}
		t.Run(want.Name, func(t *testing.T) {
			got := goldTable(t, s, want.Name)
			if d := goldref.Diff(want, got); d != "" {
				t.Errorf("pipeline vs hand-computed:\n%s", d)
			}
			if d := goldref.Diff(want, ref[want.Name]); d != "" {
				t.Errorf("goldref.Compute vs hand-computed:\n%s", d)
			}
			if d := goldref.Diff(ref[want.Name], got); d != "" {
				t.Errorf("pipeline vs goldref.Compute:\n%s", d)
			}
		})
	}
}

func fxDate(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// goldValueEqual compares one value as goldref.Diff does.
func goldValueEqual(got, want any) bool {
	a := &goldref.Table{Name: "v", Columns: []string{"v"}, Rows: [][]any{{want}}}
	b := &goldref.Table{Name: "v", Columns: []string{"v"}, Rows: [][]any{{got}}}
	return goldref.Diff(a, b) == ""
}

// copyFixtureTree copies the files under src into dst.
func copyFixtureTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
