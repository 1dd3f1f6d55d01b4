package goldref

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
)

// date is a date at UTC midnight, as Compute returns dates.
func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// wantTable is an expected gold table.
type wantTable struct {
	name    string
	columns []string
	rows    [][]any
}

// checkTables compares computed tables with expected ones: columns exactly,
// rows with Diff, and the Go type of every value against the expected
// value's type (Diff alone accepts int for int64).
func checkTables(t *testing.T, got map[string]*Table, wants []wantTable) {
	t.Helper()
	for _, w := range wants {
		t.Run(strings.TrimPrefix(w.name, "gold."), func(t *testing.T) {
			g := got[w.name]
			if g == nil {
				t.Fatalf("no table %s", w.name)
			}
			if g.Name != w.name {
				t.Errorf("Name = %q, want %q", g.Name, w.name)
			}
			if !slices.Equal(g.Columns, w.columns) {
				t.Fatalf("columns = %q, want %q", g.Columns, w.columns)
			}
			want := &Table{Name: w.name, Columns: w.columns, Rows: w.rows}
			if d := Diff(want, g); d != "" {
				t.Fatal(d)
			}
			checkTypes(t, g, w.rows)
		})
	}
}

// checkTypes checks that each column of got holds values of one Go type,
// the type of that column's values in want.
func checkTypes(t *testing.T, got *Table, want [][]any) {
	t.Helper()
	for i, c := range got.Columns {
		var wantType reflect.Type
		for _, r := range want {
			if r[i] != nil {
				wantType = reflect.TypeOf(r[i])
			}
		}
		for _, r := range got.Rows {
			if r[i] != nil && wantType != nil && reflect.TypeOf(r[i]) != wantType {
				t.Errorf("column %s: value %v has type %T, want %v", c, r[i], r[i], wantType)
			}
		}
	}
}

// TestCompute checks every gold table of the hand-made landing zone in
// testdata/landing (described in testdata/README.md) against values worked
// out by hand.
//
// The item rows of landed orders, with revenue = price + freight_value:
//
//	order date        item product category        seller revenue
//	o1    2017-01-05  1    p1      bed_bath_table  s1     100+10    = 110
//	o1    2017-01-05  2    p1      bed_bath_table  s1     100+10    = 110
//	o1    2017-01-05  3    p2      sports_leisure  s2     50+5.50   = 55.5
//	o2    2017-01-05  1    p4      pc_gamer        s2     450+60    = 510
//	o3    2017-01-05  1    p2      sports_leisure  s1     30+4      = 34
//	o8    2017-01-05  1    p2      sports_leisure  s2     480+10    = 490
//	o5    2017-02-10  1    p3      unknown         s1     1500+600  = 2100
//	o5    2017-02-10  2    p2      sports_leisure  s2     20+(none) = 20
//	o6    2017-02-10  1    p5      unknown         s3     80+20     = 100
//	o7    2017-03-02  1    p1      bed_bath_table  s2     200+15.25 = 215.25
//
// (o99's item is ignored: o99 never landed.) Order revenues: o1 275.5,
// o2 510, o3 34, o8 490, o5 2120, o6 100, o7 215.25; o4 and o9 have no
// items. People: o1 o4 o5 → u1; o2 → u2; o3 o8 → u3; o7 → u5; o9 → u6;
// o6's customer c6 is unknown.
func TestCompute(t *testing.T) {
	got, err := Compute(context.Background(), filepath.Join("testdata", "landing"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(Names)+len(Breakdowns) {
		t.Errorf("Compute returned %d tables, want %d", len(got), len(Names)+len(Breakdowns))
	}
	d1, d2, d3 := date("2017-01-05"), date("2017-02-10"), date("2017-03-02")
	wants := []wantTable{
		{"gold.total_revenue", []string{"revenue", "orders", "items"}, [][]any{
			// 275.5+510+34+490+2120+100+215.25; 7 orders with items; 10 item rows.
			{3744.75, int64(7), int64(10)},
		}},
		{"gold.revenue_by_category", []string{"category", "revenue", "items"}, [][]any{
			{"bed_bath_table", 435.25, int64(3)}, // 110+110+215.25
			{"sports_leisure", 599.5, int64(4)},  // 55.5+34+490+20
			{"pc_gamer", 510.0, int64(1)},        // untranslated: the Portuguese name
			{"unknown", 2200.0, int64(2)},        // p3 (no category) 2100 + p5 (not in products) 100
		}},
		{"gold.top_products", []string{"product_id", "category", "items_sold", "revenue"}, [][]any{
			{"p1", "bed_bath_table", int64(3), 435.25},
			{"p2", "sports_leisure", int64(4), 599.5},
			{"p3", "unknown", int64(1), 2100.0},
			{"p4", "pc_gamer", int64(1), 510.0},
			{"p5", "unknown", int64(1), 100.0},
		}},
		{"gold.daily_revenue", []string{"date", "revenue", "orders"}, [][]any{
			{d1, 1309.5, int64(4)}, // o1 275.5 + o2 510 + o3 34 + o8 490 (o4: no items)
			{d2, 2220.0, int64(2)}, // o5 2120 + o6 100 (o9: no items)
			{d3, 215.25, int64(1)}, // o7
		}},
		{"gold.revenue_by_state", []string{"date", "customer_state", "customer_city", "revenue"}, [][]any{
			{d1, "SP", "sao paulo", 309.5},   // o1 "são paulo" 275.5 + o3 "Sao  Paulo" 34
			{d1, "RJ", "niteroi", 510.0},     // o2 "Niterói"
			{d1, "SP", "santo andre", 490.0}, // o8 "Santo André"
			{d2, "SP", "sao paulo", 2120.0},  // o5 "  SÃO   PAULO "
			{d2, nil, nil, 100.0},            // o6: unknown customer
			{d3, "RJ", "niteroi", 215.25},    // o7 "NITERÓI"
		}},
		{"gold.customer_segments", []string{"date", "segment", "customers"}, [][]any{
			// d1: u1 275.5 Low; u2 510 Mid; u3 34+490 = 524 Mid (each order alone is Low).
			{d1, "Low", int64(1)},
			{d1, "Mid", int64(2)},
			// d2: u1 2120 High; o6 has no known person; u6's o9 has no items.
			{d2, "High", int64(1)},
			// d3: u5 215.25 Low.
			{d3, "Low", int64(1)},
		}},
		{"gold.aov_daily", []string{"date", "aov", "orders"}, [][]any{
			{d1, 1309.5 / 4, int64(4)}, // 327.375
			{d2, 2220.0 / 2, int64(2)}, // 1110
			{d3, 215.25, int64(1)},
		}},
		{"gold.cancellation_rate_daily", []string{"date", "canceled_orders", "orders", "cancellation_rate_pct"}, [][]any{
			{d1, int64(1), int64(5), 20.0}, // o1 o2 o3 o4 o8; o3 canceled; o4 counts without items
			{d2, int64(0), int64(3), 0.0},  // o5 o6 o9
			{d3, int64(0), int64(1), 0.0},  // o7 (unavailable)
		}},
		{"gold.repeat_customers", []string{"customer_unique_id", "orders"}, [][]any{
			{"u1", int64(3)}, // o1, o4 (no items), o5 through three customer_ids
			{"u3", int64(2)}, // o3 (canceled), o8
		}},
		{"gold.top_sellers", []string{"seller_id", "seller_city", "items_sold"}, [][]any{
			{"s1", "São Paulo", int64(4)}, // o1#1 o1#2 o3#1 o5#1; city trimmed, accents kept
			{"s2", "curitiba", int64(5)},  // o1#3 o2#1 o8#1 o5#2 o7#1
			{"s3", nil, int64(1)},         // o6#1; unknown seller
		}},
		{"gold.orders_by_payment_type", []string{"payment_type", "orders"}, [][]any{
			{"credit_card", int64(4)}, // o1 o3 o5 o7 (o7 twice)
			{"voucher", int64(1)},     // o1
			{"cash", int64(3)},        // boleto: o2 o4 o8 (o99 ignored)
			{"debit_card", int64(1)},  // o6 (its typeless payment is left out)
		}},
		{"gold.installment_plans", []string{"plan", "orders"}, [][]any{
			{"installments", int64(3)}, // o1 (3), o5 (10), o7 (2)
			{"one-time", int64(7)},     // o1 o2 o3 o4 o6 (1 and missing) o7 o8
		}},
		{"gold.payment_rollup", []string{"payment_type", "plan", "orders"}, [][]any{
			{"credit_card", "installments", int64(3)}, // o1 o5 o7
			{"credit_card", "one-time", int64(2)},     // o3 o7
			{"credit_card", nil, int64(4)},
			{"voucher", "one-time", int64(1)},
			{"voucher", nil, int64(1)},
			{"cash", "one-time", int64(3)},
			{"cash", nil, int64(3)},
			{"debit_card", "one-time", int64(1)},
			{"debit_card", nil, int64(1)},
			{nil, nil, int64(8)}, // o1 o2 o3 o4 o5 o6 o7 o8
		}},
		{"gold.category_orders_daily", []string{"date", "category", "items"}, [][]any{
			{d1, "bed_bath_table", int64(2)}, // o1#1 o1#2
			{d1, "sports_leisure", int64(3)}, // o1#3 o3#1 o8#1
			{d1, "pc_gamer", int64(1)},       // o2#1
			{d2, "unknown", int64(2)},        // o5#1 (p3) o6#1 (p5)
			{d2, "sports_leisure", int64(1)}, // o5#2
			{d3, "bed_bath_table", int64(1)}, // o7#1
		}},
		{"gold.top_products_daily", []string{"date", "rank", "product_id", "items_sold"}, [][]any{
			{d1, int64(1), "p2", int64(3)},
			{d1, int64(2), "p1", int64(2)},
			{d1, int64(3), "p4", int64(1)},
			{d2, int64(1), "p2", int64(1)}, // a three-way tie, by product_id
			{d2, int64(2), "p3", int64(1)},
			{d2, int64(3), "p5", int64(1)},
			{d3, int64(1), "p1", int64(1)},
		}},
		{"gold.delivery_performance", []string{"customer_state", "delivered_orders", "avg_delivery_days", "late_pct"}, [][]any{
			// SP: o1 5 days (on time), o8 3.5 days (delivered exactly at the
			// estimate: not late), o5 2.5 days (after the date-only estimate
			// 2017-02-12 00:00: late). o4 has no delivery date.
			{"SP", int64(3), (5 + 3.5 + 2.5) / 3, 100.0 / 3},
			// RJ: o2 2.5 days, late (estimate 2017-01-07, delivered 01-08).
			{"RJ", int64(1), 2.5, 100.0},
			// unknown customer: o6 1 day, no estimate: not late.
			{nil, int64(1), 1.0, 0.0},
		}},
		{"gold.review_scores_by_category", []string{"category", "reviews", "avg_score"}, [][]any{
			// r1 (o1, 5): bed_bath_table, sports_leisure. r2 (o2, 2): pc_gamer.
			// r4 (o5, 3): unknown, sports_leisure. r5 (o6, 1): unknown.
			// r8 (o8, 5): sports_leisure. Left out: r3 (o4 has no items),
			// r6 (o99 never landed), r7 (no score).
			{"bed_bath_table", int64(1), 5.0},
			{"sports_leisure", int64(3), 13.0 / 3}, // 5, 3, 5
			{"pc_gamer", int64(1), 2.0},
			{"unknown", int64(2), 2.0}, // 3, 1
		}},
		{"gold.cohort_retention", []string{"cohort_month", "months_since_first", "customers"}, [][]any{
			{date("2017-01-01"), int64(0), int64(3)}, // u1, u2, u3
			{date("2017-01-01"), int64(1), int64(1)}, // u1 (o5 in February)
			{date("2017-02-01"), int64(0), int64(1)}, // u6 (o9, no items)
			{date("2017-03-01"), int64(0), int64(1)}, // u5
		}},
	}
	var names []string
	for _, w := range wants {
		names = append(names, w.name)
	}
	if !slices.Equal(names, Names) {
		t.Errorf("tested tables %q, want Names %q", names, Names)
	}
	checkTables(t, got, wants)

	breakdowns := []wantTable{
		{"gold.daily_by_state", []string{"date", "customer_state", "revenue", "orders", "all_orders", "canceled_orders"}, [][]any{
			{d1, "SP", 799.5, int64(3), int64(3), int64(1)},  // o1 275.5 + o3 34 (canceled) + o8 490
			{d1, "RJ", 510.0, int64(1), int64(1), int64(0)},  // o2
			{d1, "PR", 0.0, int64(0), int64(1), int64(0)},    // o4: no items
			{d2, "SP", 2120.0, int64(1), int64(2), int64(0)}, // o5; o9 without items
			{d2, nil, 100.0, int64(1), int64(1), int64(0)},   // o6: unknown customer
			{d3, "RJ", 215.25, int64(1), int64(1), int64(0)}, // o7
		}},
	}
	names = nil
	for _, w := range breakdowns {
		names = append(names, w.name)
	}
	if !slices.Equal(names, Breakdowns) {
		t.Errorf("tested breakdowns %q, want Breakdowns %q", names, Breakdowns)
	}
	checkTables(t, got, breakdowns)
}

// TestComputeOptions checks custom spend bands, including a spend equal to
// a limit (which belongs to the upper band).
func TestComputeOptions(t *testing.T) {
	got, err := Compute(context.Background(), filepath.Join("testdata", "landing"), Options{MidFrom: 524, HighFrom: 2200})
	if err != nil {
		t.Fatal(err)
	}
	checkTables(t, got, []wantTable{
		{"gold.customer_segments", []string{"date", "segment", "customers"}, [][]any{
			{date("2017-01-05"), "Low", int64(2)}, // u1 275.5, u2 510
			{date("2017-01-05"), "Mid", int64(1)}, // u3 524 = MidFrom
			{date("2017-02-10"), "Mid", int64(1)}, // u1 2120 < 2200
			{date("2017-03-02"), "Low", int64(1)}, // u5 215.25
		}},
	})
}

// writeFiles writes files (slash-separated path relative to dir → content).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestComputeDirty checks the cleaning rules on dirty input: empty keys,
// duplicates (the last in file order wins, with order_month=10 after
// order_month=9), malformed rows, unparseable values, skipped files.
func TestComputeDirty(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"orders/order_year=2017/order_month=9/orders.csv": "order_id,customer_id,order_status,order_purchase_timestamp,order_delivered_customer_date,order_estimated_delivery_date\n" +
			"oA,c1,shipped,2017-09-30 10:00:00,,2017-10-10 00:00:00\n" +
			",c1,delivered,2017-09-30 10:00:00,,\n" + // empty key: ignored
			"oJ\"unk,c1,delivered,2017-09-30 11:00:00,,\n" + // a quote inside an unquoted field is a literal: order oJ"unk
			"oK,c1,delivered,2017-09-30 12:00:00,\n" + // one field short: malformed
			"oL,c1,delivered,2017-09-30 12:00:00,,,extra\n" + // one field too many: malformed
			"oB,c2,delivered,2017-09-30 13:00:00,2017-10-02 13:00:00,not-a-date\n" +
			"oB,c2,delivered,2017-09-30 13:00:00,2017-10-02 13:00:00,not-a-date\n", // exact duplicate
		// oA lands again with its final state, in a later month's folder.
		"orders/order_year=2017/order_month=10/orders.csv": "order_id,customer_id,order_status,order_purchase_timestamp,order_delivered_customer_date,order_estimated_delivery_date\n" +
			"oA,c1,delivered,2017-09-30 10:00:00,2017-10-05 10:00:00,2017-10-04 00:00:00\n" +
			"oC,c1,,2017-10-01 09:00:00,,\n",
		// Skipped: hidden files, "_" folders, files that are not *.csv.
		"orders/_staging/orders.csv":                      "order_id,customer_id,order_status,order_purchase_timestamp\noZ,c1,delivered,2017-09-30 10:00:00\n",
		"orders/.hidden.csv":                              "order_id,customer_id,order_status,order_purchase_timestamp\noY,c1,delivered,2017-09-30 10:00:00\n",
		"orders/order_year=2017/order_month=10/notes.txt": "order_id\noX\n",
		"order_items/items.csv": "order_id,order_item_id,product_id,seller_id,price,freight_value\n" +
			"oA,1,p1,s1,10.00,1.00\n" +
			"oA,1,p1,s1,20.00,2.00\n" + // same key: this one wins (22)
			"oA,2,p2,s1,abc,3.00\n" + // unparseable price: 0 (3)
			",1,p1,s1,100,100\n" + // empty key: ignored
			"oB,,p1,s1,100,100\n" + // empty key part: ignored
			"oB,1,p1,s1,5.00,\n" + // missing freight: 0 (5)
			"oZ,1,p1,s1,1000,0\n", // oZ never landed (its file was skipped)
		"customers/c.csv": "customer_id,customer_unique_id,customer_city,customer_state\n" +
			"c1,u1,Old City,XX\n" +
			"c1,u1,São Paulo,SP\n" + // wins
			"c2,u2,Rio,RJ\n" +
			",u9,Nowhere,ZZ\n",
		"products/p.csv": "product_id,product_category_name\n" +
			"p1,esporte_lazer\n" +
			"p2,beleza_saude\n" +
			"p2,\n", // wins: no category
		"category_translation/t.csv": "product_category_name,product_category_name_english\n" +
			"esporte_lazer,sport\n" +
			"esporte_lazer,sports_leisure\n", // wins
		"reviews/r.csv": "review_id,order_id,review_score\n" +
			"r1,oA,1\n" +
			"r1,oA,4\n" + // wins
			"r2,oB,five\n", // not an integer: left out
		"payments/p.csv": "order_id,payment_sequential,payment_type,payment_installments\n" +
			"oA,1,credit_card,1\n" +
			"oA,1,credit_card,6\n" + // wins
			"oB,1,boleto,\n" +
			",1,voucher,1\n",
	})
	got, err := Compute(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sep30, oct1 := date("2017-09-30"), date("2017-10-01")
	// Orders: oA (c1, delivered), oJ"unk (c1, delivered, no date), oB (c2, delivered, bad estimate), oC (c1,
	// unavailable). Items: oA#1 22 (p1), oA#2 3 (p2), oB#1 5 (p1).
	checkTables(t, got, []wantTable{
		{"gold.total_revenue", []string{"revenue", "orders", "items"}, [][]any{{30.0, int64(2), int64(3)}}},
		{"gold.revenue_by_category", []string{"category", "revenue", "items"}, [][]any{
			{"sports_leisure", 27.0, int64(2)},
			{"unknown", 3.0, int64(1)},
		}},
		{"gold.revenue_by_state", []string{"date", "customer_state", "customer_city", "revenue"}, [][]any{
			{sep30, "SP", "sao paulo", 25.0},
			{sep30, "RJ", "rio", 5.0},
		}},
		{"gold.cancellation_rate_daily", []string{"date", "canceled_orders", "orders", "cancellation_rate_pct"}, [][]any{
			{sep30, int64(0), int64(3), 0.0},
			{oct1, int64(0), int64(1), 0.0},
		}},
		{"gold.delivery_performance", []string{"customer_state", "delivered_orders", "avg_delivery_days", "late_pct"}, [][]any{
			{"SP", int64(1), 5.0, 100.0}, // oA's final row: delivered after the estimate
			{"RJ", int64(1), 2.0, 0.0},   // oB: unparseable estimate, not late
		}},
		{"gold.review_scores_by_category", []string{"category", "reviews", "avg_score"}, [][]any{
			{"sports_leisure", int64(1), 4.0},
			{"unknown", int64(1), 4.0},
		}},
		{"gold.installment_plans", []string{"plan", "orders"}, [][]any{
			{"installments", int64(1)},
			{"one-time", int64(1)},
		}},
		{"gold.orders_by_payment_type", []string{"payment_type", "orders"}, [][]any{
			{"credit_card", int64(1)},
			{"cash", int64(1)},
		}},
		{"gold.repeat_customers", []string{"customer_unique_id", "orders"}, [][]any{
			{"u1", int64(3)}, // oA, oJ"unk, oC
		}},
		{"gold.cohort_retention", []string{"cohort_month", "months_since_first", "customers"}, [][]any{
			{date("2017-09-01"), int64(0), int64(2)},
			{date("2017-09-01"), int64(1), int64(1)},
		}},
	})
}

// TestTopProductsDailyCutsAtTen checks the top-10 cut and the tie order.
func TestTopProductsDailyCutsAtTen(t *testing.T) {
	// Order oX (2018-01-01): q05 and q12 three items each, q03 two, q01 q02
	// q04 q06 … q11 one each. Order oY (2018-01-02): q11 one item.
	items := "order_id,order_item_id,product_id,seller_id,price,freight_value\n"
	n := 0
	add := func(order, product string, count int) {
		for range count {
			n++
			items += fmt.Sprintf("%s,%d,%s,s1,1,0\n", order, n, product)
		}
	}
	for i := 1; i <= 12; i++ {
		count := 1
		switch i {
		case 5, 12:
			count = 3
		case 3:
			count = 2
		}
		add("oX", fmt.Sprintf("q%02d", i), count)
	}
	add("oY", "q11", 1)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"orders/o.csv":          "order_id,customer_id,order_status,order_purchase_timestamp\noX,c1,delivered,2018-01-01 10:00:00\noY,c1,delivered,2018-01-02 10:00:00\n",
		"order_items/items.csv": items,
	})
	got, err := Compute(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	jan1, jan2 := date("2018-01-01"), date("2018-01-02")
	checkTables(t, got, []wantTable{
		{"gold.top_products_daily", []string{"date", "rank", "product_id", "items_sold"}, [][]any{
			{jan1, int64(1), "q05", int64(3)},
			{jan1, int64(2), "q12", int64(3)},
			{jan1, int64(3), "q03", int64(2)},
			{jan1, int64(4), "q01", int64(1)},
			{jan1, int64(5), "q02", int64(1)},
			{jan1, int64(6), "q04", int64(1)},
			{jan1, int64(7), "q06", int64(1)},
			{jan1, int64(8), "q07", int64(1)},
			{jan1, int64(9), "q08", int64(1)},
			{jan1, int64(10), "q09", int64(1)}, // q10 and q11 are cut
			{jan2, int64(1), "q11", int64(1)},
		}},
	})
}

func TestComputeEmptyLanding(t *testing.T) {
	got, err := Compute(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		tab := got[name]
		if tab == nil {
			t.Fatalf("no table %s", name)
		}
		if name == "gold.total_revenue" {
			if want := []any{nil, int64(0), int64(0)}; len(tab.Rows) != 1 || !reflect.DeepEqual(tab.Rows[0], want) {
				t.Errorf("%s rows = %v, want [%v]", name, tab.Rows, want)
			}
		} else if len(tab.Rows) != 0 {
			t.Errorf("%s has %d rows, want 0", name, len(tab.Rows))
		}
	}
}

func TestComputeErrors(t *testing.T) {
	if _, err := Compute(context.Background(), filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Error("missing landing dir: no error")
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"orders/o.csv": "id,customer_id\no1,c1\n"})
	if _, err := Compute(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), "order_id") {
		t.Errorf("file without a key column: err = %v, want one naming order_id", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Compute(ctx, filepath.Join("testdata", "landing"), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v, want context.Canceled", err)
	}
}

func TestComparePaths(t *testing.T) {
	sorted := []string{
		"a.csv",
		"order_year=2016/order_month=9/x.csv",
		"order_year=2016/order_month=10/x.csv",
		"order_year=2016/order_month=12/x.csv",
		"order_year=2017/order_month=1/x.csv",
		"order_year=2017/order_month=01/y.csv",
		"order_year=2017/order_month=2/x.csv",
		"part-0009.csv",
		"part-0010.csv",
	}
	shuffled := slices.Clone(sorted)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, comparePaths)
	if !slices.Equal(shuffled, sorted) {
		t.Errorf("sorted:\n%s\nwant:\n%s", strings.Join(shuffled, "\n"), strings.Join(sorted, "\n"))
	}
}

func TestNormalizeCity(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"São Paulo", "sao paulo"},
		{"  SÃO   PAULO ", "sao paulo"},
		{"Sao\tPaulo", "sao paulo"},
		{"NITERÓI", "niteroi"},
		{"ribeirão preto", "ribeirao preto"},
		{"Santo André", "santo andre"},
		{"Florianópolis", "florianopolis"},
		{"mogi-guaçu", "mogi-guacu"},
		{"joão pessoa", "joao pessoa"},
		{"sa\u0303o paulo", "sao paulo"}, // already decomposed: the combining tilde is dropped
		{"", ""},
	} {
		if got := normalizeCity(tc.in); got != tc.want {
			t.Errorf("normalizeCity(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestStripAccentsMatchesNFD checks every letter of U+00C0–U+017F against
// NFD with the combining marks dropped (the expected string was produced
// with Python's unicodedata, Unicode 14: normalize('NFD', c) without the
// characters U+0300–U+036F).
func TestStripAccentsMatchesNFD(t *testing.T) {
	var in strings.Builder
	for r := rune(0xC0); r <= 0x17F; r++ {
		in.WriteRune(r)
	}
	const want = "AAAAAAÆCEEEEIIIIÐNOOOOO×ØUUUUYÞßaaaaaaæceeeeiiiiðnooooo÷øuuuuyþy" +
		"AaAaAaCcCcCcCcDdĐđEeEeEeEeEeGgGgGgGgHhĦħIiIiIiIiIıĲĳJjKkĸLlLlLlĿŀŁłNnNnNnŉŊŋ" +
		"OoOoOoŒœRrRrRrSsSsSsSsTtTtŦŧUuUuUuUuUuUuWwYyYZzZzZzſ"
	got := stripAccents(in.String())
	if got != want {
		gr, wr, ir := []rune(got), []rune(want), []rune(in.String())
		for i := range min(len(gr), len(wr)) {
			if gr[i] != wr[i] {
				t.Errorf("stripAccents(%q) = %q, want %q", ir[i], gr[i], wr[i])
			}
		}
		if len(gr) != len(wr) {
			t.Errorf("got %d runes, want %d", len(gr), len(wr))
		}
	}
}

func TestDiff(t *testing.T) {
	cols := []string{"k", "n", "x", "d"}
	day := date("2017-01-05")
	base := [][]any{
		{"a", int64(1), 1.5, day},
		{"b", int64(2), nil, day},
		{nil, int64(3), 1e6, nil},
	}
	want := &Table{Name: "gold.t", Columns: cols, Rows: base}
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		sp = time.FixedZone("BRT", -3*3600)
	}
	for _, tc := range []struct {
		name     string
		got      *Table
		contains []string // "" wanted when empty
	}{
		{"same", &Table{Columns: cols, Rows: base}, nil},
		{"row order ignored", &Table{Columns: cols, Rows: [][]any{base[2], base[0], base[1]}}, nil},
		{"float tolerance and other number types", &Table{Columns: cols, Rows: [][]any{
			{"a", 1, 1.5 * (1 + 5e-7), day},
			{"b", int32(2), nil, day},
			{nil, 3.0, 1e6 + 0.5, nil}, // relative difference 5e-7
		}}, nil},
		{"columns matched by name, extra columns ignored", &Table{Columns: []string{"extra", "d", "x", "n", "k"}, Rows: [][]any{
			{"z", day, 1.5, int64(1), "a"},
			{"z", day, nil, int64(2), "b"},
			{"z", nil, 1e6, int64(3), nil},
		}}, nil},
		{"same instant in another location", &Table{Columns: cols, Rows: [][]any{
			{"a", int64(1), 1.5, day.In(sp)},
			base[1], base[2],
		}}, nil},
		{"float out of tolerance", &Table{Columns: cols, Rows: [][]any{
			{"a", int64(1), 1.5001, day}, base[1], base[2],
		}}, []string{"1 of 3 wanted rows not matched", "differs:", "x=1.5,", "x=1.5001"}},
		{"missing row", &Table{Columns: cols, Rows: base[:2]}, []string{"missing:", `k=NULL`}},
		{"unexpected row", &Table{Columns: cols, Rows: append(slices.Clone(base), []any{"c", int64(4), 0.0, day})}, []string{"unexpected:", `k="c"`}},
		{"duplicate row counts", &Table{Columns: cols, Rows: append(slices.Clone(base), base[0])}, []string{"unexpected:", `k="a"`}},
		{"NULL is not zero", &Table{Columns: cols, Rows: [][]any{
			base[0], {"b", int64(2), 0.0, day}, base[2],
		}}, []string{"differs:", "x=NULL", "x=0"}},
		{"string is not a number", &Table{Columns: cols, Rows: [][]any{
			base[0], {"b", "2", nil, day}, base[2],
		}}, []string{`n="2"`}},
		{"missing column", &Table{Columns: []string{"k", "n", "x"}, Rows: nil}, []string{"no column d"}},
		{"nil table", nil, []string{"<nil>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(want, tc.got)
			if len(tc.contains) == 0 {
				if got != "" {
					t.Errorf("Diff = %q, want \"\"", got)
				}
				return
			}
			for _, s := range tc.contains {
				if !strings.Contains(got, s) {
					t.Errorf("Diff = %q, want it to contain %q", got, s)
				}
			}
		})
	}
}

func TestDiffLimitsReport(t *testing.T) {
	want := &Table{Name: "gold.t", Columns: []string{"n"}}
	for i := range 15 {
		want.Rows = append(want.Rows, []any{int64(i)})
	}
	got := &Table{Name: "gold.t", Columns: []string{"n"}}
	d := Diff(want, got)
	lines := strings.Split(d, "\n")
	// A summary, 10 differences, and a count of the rest.
	if len(lines) != 12 || !strings.HasPrefix(lines[0], "gold.t: 15 of 15 wanted rows not matched, 0 of 0 got rows") || lines[11] != "  ... and 5 more" {
		t.Errorf("Diff =\n%s", d)
	}
	if Diff(nil, nil) != "" {
		t.Error("Diff(nil, nil) != \"\"")
	}
}

// TestDiffDuplicateRows checks that rows are compared as multisets: each
// got row matches at most one wanted row.
func TestDiffDuplicateRows(t *testing.T) {
	want := &Table{Name: "gold.t", Columns: []string{"k", "x"}, Rows: [][]any{{"a", 1.0}, {"a", 1.0}}}
	got := &Table{Name: "gold.t", Columns: []string{"k", "x"}, Rows: [][]any{{"a", 1.0}}}
	if d := Diff(want, got); !strings.Contains(d, "missing:") {
		t.Errorf("Diff = %q, want a missing row", d)
	}
	if d := Diff(got, want); !strings.Contains(d, "unexpected:") {
		t.Errorf("Diff = %q, want an unexpected row", d)
	}
}

// TestDailyByStateAddsUp: over generated dirty data, gold.daily_by_state
// summed over the states of each date gives gold.daily_revenue's revenue
// and orders and gold.cancellation_rate_daily's canceled and all orders.
func TestDailyByStateAddsUp(t *testing.T) {
	dir := t.TempDir()
	if _, err := datagen.Generate(t.Context(), dir, datagen.Options{Orders: 3000, Seed: 12, Dirty: true}); err != nil {
		t.Fatal(err)
	}
	got, err := Compute(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type sums struct {
		revenue                          float64
		orders, allOrders, canceled, row int64
	}
	key := func(v any) string { return fmt.Sprint(v) }
	by := map[string]*sums{}
	for _, r := range got["gold.daily_by_state"].Rows {
		s := by[key(r[0])]
		if s == nil {
			s = &sums{}
			by[key(r[0])] = s
		}
		s.revenue += r[2].(float64)
		s.orders += r[3].(int64)
		s.allOrders += r[4].(int64)
		s.canceled += r[5].(int64)
	}
	if len(by) < 100 {
		t.Fatalf("daily_by_state has %d dates", len(by))
	}
	for _, r := range got["gold.daily_revenue"].Rows {
		s := by[key(r[0])]
		if s == nil || math.Abs(s.revenue-r[1].(float64)) > 1e-6*math.Max(1, s.revenue) || s.orders != r[2].(int64) {
			t.Errorf("date %v: daily_revenue %v, %v; daily_by_state sums %+v", r[0], r[1], r[2], s)
		}
		if s != nil {
			s.row++
		}
	}
	for _, r := range got["gold.cancellation_rate_daily"].Rows {
		s := by[key(r[0])]
		if s == nil || s.canceled != r[1].(int64) || s.allOrders != r[2].(int64) {
			t.Errorf("date %v: cancellation_rate_daily %v of %v; daily_by_state sums %+v", r[0], r[1], r[2], s)
		}
	}
	for d, s := range by {
		if s.row == 0 && s.orders != 0 {
			t.Errorf("date %s: %d orders with items in daily_by_state, none in daily_revenue", d, s.orders)
		}
	}
}
