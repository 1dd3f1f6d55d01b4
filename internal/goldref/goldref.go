// Package goldref is the independent reference for the e-commerce gold
// tables: a plain-Go computation of the 18 tables of the gold table contract
// (shared/ecommerce-spec.md) straight from the raw Olist-format CSVs of a
// landing zone. It is written apart from the pipeline's SQL, with maps and
// loops, so that end-to-end tests can check the pipeline against it.
//
// Landing layout: landingDir/<source>/ holds any number of *.csv files,
// possibly nested in partition folders, for the sources orders,
// order_items, customers, payments, products, sellers, category_translation
// and reviews (geolocation is not needed by any gold table and is not read).
//
// Cleaning, as the pipeline's silver layer does it: values are trimmed and
// an empty value is missing; rows with an empty key are ignored; among rows
// with the same key the last in file order wins (keys: orders order_id;
// order_items (order_id, order_item_id); payments (order_id,
// payment_sequential); customers customer_id; products product_id; sellers
// seller_id; category_translation product_category_name; reviews
// (review_id, order_id)); missing order_status is 'unavailable'; missing or
// unparseable price and freight_value are 0; payment_type 'boleto' is
// 'cash'; customer cities are trimmed, whitespace-collapsed, lower-cased
// and accent-stripped. Only orders that have landed count: items, payments
// and reviews of other orders are ignored.
package goldref

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Table is a computed gold table: column names and rows of Go values
// (string, int64, float64, time.Time for dates at UTC midnight, nil for
// NULL).
type Table struct {
	Name    string
	Columns []string
	Rows    [][]any
}

// Options configure the computation.
type Options struct {
	// MidFrom and HighFrom are the spend band limits of
	// gold.customer_segments: Low < MidFrom ≤ Mid < HighFrom ≤ High. The
	// zero Options means DefaultOptions; otherwise both are used as given.
	MidFrom, HighFrom float64
}

// DefaultOptions are the contract's spend bands: Low < 500 ≤ Mid < 2000 ≤
// High.
var DefaultOptions = Options{MidFrom: 500, HighFrom: 2000}

// Names are the 18 gold table names Compute returns, in the contract's
// order.
var Names = []string{
	"gold.total_revenue",
	"gold.revenue_by_category",
	"gold.top_products",
	"gold.daily_revenue",
	"gold.revenue_by_state",
	"gold.customer_segments",
	"gold.aov_daily",
	"gold.cancellation_rate_daily",
	"gold.repeat_customers",
	"gold.top_sellers",
	"gold.orders_by_payment_type",
	"gold.installment_plans",
	"gold.payment_rollup",
	"gold.category_orders_daily",
	"gold.top_products_daily",
	"gold.delivery_performance",
	"gold.review_scores_by_category",
	"gold.cohort_retention",
}

// Breakdowns are the gold tables beyond the contract's 18 that the
// built-in dashboard reads (per-state figures for its State filter);
// Compute returns them too.
var Breakdowns = []string{
	"gold.daily_by_state",
}

// Compute reads the landing zone at landingDir and returns the 18 gold
// tables of the contract keyed by name ("gold.total_revenue", …; see
// Names), and the Breakdowns. A source
// folder that does not exist has no rows; landingDir itself must exist.
// Rows are sorted by their columns, left to right (NULL first), but their
// order carries no meaning: compare tables with Diff.
func Compute(ctx context.Context, landingDir string, opts Options) (map[string]*Table, error) {
	if opts == (Options{}) {
		opts = DefaultOptions
	}
	if st, err := os.Stat(landingDir); err != nil {
		return nil, fmt.Errorf("goldref: landing dir: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("goldref: landing dir %s is not a directory", landingDir)
	}
	d, err := load(ctx, landingDir)
	if err != nil {
		return nil, err
	}
	tables := []*Table{
		totalRevenue(d),
		revenueByCategory(d),
		topProducts(d),
		dailyRevenue(d),
		revenueByState(d),
		customerSegments(d, opts),
		aovDaily(d),
		cancellationRateDaily(d),
		repeatCustomers(d),
		topSellers(d),
		ordersByPaymentType(d),
		installmentPlans(d),
		paymentRollup(d),
		categoryOrdersDaily(d),
		topProductsDaily(d),
		deliveryPerformance(d),
		reviewScoresByCategory(d),
		cohortRetention(d),
		dailyByState(d),
	}
	out := make(map[string]*Table, len(tables))
	for _, t := range tables {
		sortRows(t.Rows)
		out[t.Name] = t
	}
	return out, nil
}

// nullable turns "" (missing) into NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dateValue turns a "2006-01-02" date into a time.Time at UTC midnight, ""
// into NULL.
func dateValue(s string) any {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic("goldref: bad internal date " + s)
	}
	return t
}

// orderSet is a set of order ids.
type orderSet map[string]bool

func (s orderSet) count() int64 { return int64(len(s)) }

// 1. gold.total_revenue: revenue of all items, orders with ≥ 1 item, item
// rows. With no items at all, revenue is NULL (SQL's SUM over no rows).
func totalRevenue(d *data) *Table {
	var revenue float64
	orders := orderSet{}
	for _, it := range d.items {
		revenue += it.revenue
		orders[it.orderID] = true
	}
	var rev any = revenue
	if len(d.items) == 0 {
		rev = nil
	}
	return &Table{
		Name:    "gold.total_revenue",
		Columns: []string{"revenue", "orders", "items"},
		Rows:    [][]any{{rev, orders.count(), int64(len(d.items))}},
	}
}

// 2. gold.revenue_by_category.
func revenueByCategory(d *data) *Table {
	type agg struct {
		revenue float64
		items   int64
	}
	by := map[string]*agg{}
	for _, it := range d.items {
		cat := d.category(it.productID)
		if by[cat] == nil {
			by[cat] = &agg{}
		}
		by[cat].revenue += it.revenue
		by[cat].items++
	}
	t := &Table{Name: "gold.revenue_by_category", Columns: []string{"category", "revenue", "items"}}
	for cat, a := range by {
		t.Rows = append(t.Rows, []any{cat, a.revenue, a.items})
	}
	return t
}

// 3. gold.top_products: one row per product sold (an item without
// product_id is the NULL product, category 'unknown').
func topProducts(d *data) *Table {
	type agg struct {
		revenue float64
		items   int64
	}
	by := map[string]*agg{}
	for _, it := range d.items {
		if by[it.productID] == nil {
			by[it.productID] = &agg{}
		}
		by[it.productID].revenue += it.revenue
		by[it.productID].items++
	}
	t := &Table{Name: "gold.top_products", Columns: []string{"product_id", "category", "items_sold", "revenue"}}
	for p, a := range by {
		t.Rows = append(t.Rows, []any{nullable(p), d.category(p), a.items, a.revenue})
	}
	return t
}

// dailyTotals is revenue and orders with items per purchase date.
type dailyTotals struct {
	revenue float64
	orders  orderSet
}

func daily(d *data) map[string]*dailyTotals {
	by := map[string]*dailyTotals{}
	for _, it := range d.items {
		date := d.orders[it.orderID].date()
		if by[date] == nil {
			by[date] = &dailyTotals{orders: orderSet{}}
		}
		by[date].revenue += it.revenue
		by[date].orders[it.orderID] = true
	}
	return by
}

// 4. gold.daily_revenue.
func dailyRevenue(d *data) *Table {
	t := &Table{Name: "gold.daily_revenue", Columns: []string{"date", "revenue", "orders"}}
	for date, a := range daily(d) {
		t.Rows = append(t.Rows, []any{dateValue(date), a.revenue, a.orders.count()})
	}
	return t
}

// 5. gold.revenue_by_state: by date, customer_state and normalized
// customer_city; an unknown customer gives NULL state and city.
func revenueByState(d *data) *Table {
	type k struct{ date, state, city string }
	by := map[k]float64{}
	for _, it := range d.items {
		o := d.orders[it.orderID]
		key := k{date: o.date()}
		if c := d.customerOf(o); c != nil {
			key.state, key.city = c.state, c.city
		}
		by[key] += it.revenue
	}
	t := &Table{Name: "gold.revenue_by_state", Columns: []string{"date", "customer_state", "customer_city", "revenue"}}
	for key, rev := range by {
		t.Rows = append(t.Rows, []any{dateValue(key.date), nullable(key.state), nullable(key.city), rev})
	}
	return t
}

// 6. gold.customer_segments: a person's spend on a date is the revenue of
// their orders of that date (orders with items only); people are counted
// per (date, band). Orders without a known person are left out.
func customerSegments(d *data, opts Options) *Table {
	type person struct{ date, uid string }
	spend := map[person]float64{}
	for _, it := range d.items {
		o := d.orders[it.orderID]
		uid := d.person(o)
		if uid == "" {
			continue
		}
		spend[person{o.date(), uid}] += it.revenue
	}
	type k struct{ date, segment string }
	by := map[k]int64{}
	for p, s := range spend {
		seg := "High"
		if s < opts.MidFrom {
			seg = "Low"
		} else if s < opts.HighFrom {
			seg = "Mid"
		}
		by[k{p.date, seg}]++
	}
	t := &Table{Name: "gold.customer_segments", Columns: []string{"date", "segment", "customers"}}
	for key, n := range by {
		t.Rows = append(t.Rows, []any{dateValue(key.date), key.segment, n})
	}
	return t
}

// 7. gold.aov_daily: revenue / orders with items, per date.
func aovDaily(d *data) *Table {
	t := &Table{Name: "gold.aov_daily", Columns: []string{"date", "aov", "orders"}}
	for date, a := range daily(d) {
		n := a.orders.count()
		t.Rows = append(t.Rows, []any{dateValue(date), a.revenue / float64(n), n})
	}
	return t
}

// 8. gold.cancellation_rate_daily: over all orders of the date.
func cancellationRateDaily(d *data) *Table {
	type agg struct{ canceled, orders int64 }
	by := map[string]*agg{}
	for _, id := range d.orderIDs {
		o := d.orders[id]
		date := o.date()
		if by[date] == nil {
			by[date] = &agg{}
		}
		by[date].orders++
		if o.status == "canceled" {
			by[date].canceled++
		}
	}
	t := &Table{Name: "gold.cancellation_rate_daily", Columns: []string{"date", "canceled_orders", "orders", "cancellation_rate_pct"}}
	for date, a := range by {
		t.Rows = append(t.Rows, []any{dateValue(date), a.canceled, a.orders, 100.0 * float64(a.canceled) / float64(a.orders)})
	}
	return t
}

// 9. gold.repeat_customers: people with more than one distinct order (any
// order, any status, with or without items).
func repeatCustomers(d *data) *Table {
	by := map[string]orderSet{}
	for _, id := range d.orderIDs {
		uid := d.person(d.orders[id])
		if uid == "" {
			continue
		}
		if by[uid] == nil {
			by[uid] = orderSet{}
		}
		by[uid][id] = true
	}
	t := &Table{Name: "gold.repeat_customers", Columns: []string{"customer_unique_id", "orders"}}
	for uid, orders := range by {
		if orders.count() > 1 {
			t.Rows = append(t.Rows, []any{uid, orders.count()})
		}
	}
	return t
}

// 10. gold.top_sellers: item rows per seller, with the sellers file's city
// as landed (trimmed); NULL city for an unknown seller or a missing city.
func topSellers(d *data) *Table {
	by := map[string]int64{}
	for _, it := range d.items {
		by[it.sellerID]++
	}
	t := &Table{Name: "gold.top_sellers", Columns: []string{"seller_id", "seller_city", "items_sold"}}
	for s, n := range by {
		t.Rows = append(t.Rows, []any{nullable(s), nullable(d.sellerCity[s]), n})
	}
	return t
}

// 11. gold.orders_by_payment_type: distinct orders per payment type (after
// boleto → cash); missing types left out.
func ordersByPaymentType(d *data) *Table {
	by := map[string]orderSet{}
	for _, p := range d.payments {
		if p.paymentType == "" {
			continue
		}
		if by[p.paymentType] == nil {
			by[p.paymentType] = orderSet{}
		}
		by[p.paymentType][p.orderID] = true
	}
	t := &Table{Name: "gold.orders_by_payment_type", Columns: []string{"payment_type", "orders"}}
	for typ, orders := range by {
		t.Rows = append(t.Rows, []any{typ, orders.count()})
	}
	return t
}

func plan(p *payment) string {
	if p.installments {
		return "installments"
	}
	return "one-time"
}

// 12. gold.installment_plans: distinct orders per plan, over every payment
// row (whatever its type); an order can count in both plans.
func installmentPlans(d *data) *Table {
	by := map[string]orderSet{}
	for _, p := range d.payments {
		pl := plan(p)
		if by[pl] == nil {
			by[pl] = orderSet{}
		}
		by[pl][p.orderID] = true
	}
	t := &Table{Name: "gold.installment_plans", Columns: []string{"plan", "orders"}}
	for pl, orders := range by {
		t.Rows = append(t.Rows, []any{pl, orders.count()})
	}
	return t
}

// 13. gold.payment_rollup: ROLLUP(payment_type, plan) of distinct orders
// over payment rows with a payment type. "" stands for the NULL of a
// subtotal.
func paymentRollup(d *data) *Table {
	type k struct{ typ, plan string }
	by := map[k]orderSet{}
	add := func(key k, order string) {
		if by[key] == nil {
			by[key] = orderSet{}
		}
		by[key][order] = true
	}
	for _, p := range d.payments {
		if p.paymentType == "" {
			continue
		}
		add(k{p.paymentType, plan(p)}, p.orderID)
		add(k{p.paymentType, ""}, p.orderID)
		add(k{"", ""}, p.orderID)
	}
	t := &Table{Name: "gold.payment_rollup", Columns: []string{"payment_type", "plan", "orders"}}
	for key, orders := range by {
		t.Rows = append(t.Rows, []any{nullable(key.typ), nullable(key.plan), orders.count()})
	}
	return t
}

// 14. gold.category_orders_daily: item rows per date and category.
func categoryOrdersDaily(d *data) *Table {
	type k struct{ date, category string }
	by := map[k]int64{}
	for _, it := range d.items {
		by[k{d.orders[it.orderID].date(), d.category(it.productID)}]++
	}
	t := &Table{Name: "gold.category_orders_daily", Columns: []string{"date", "category", "items"}}
	for key, n := range by {
		t.Rows = append(t.Rows, []any{dateValue(key.date), key.category, n})
	}
	return t
}

// 15. gold.top_products_daily: per date, products by item rows descending,
// ties by product_id ascending (the NULL product last), numbered 1.. and
// cut at 10.
func topProductsDaily(d *data) *Table {
	by := map[string]map[string]int64{} // date -> product -> items
	for _, it := range d.items {
		date := d.orders[it.orderID].date()
		if by[date] == nil {
			by[date] = map[string]int64{}
		}
		by[date][it.productID]++
	}
	t := &Table{Name: "gold.top_products_daily", Columns: []string{"date", "rank", "product_id", "items_sold"}}
	for date, products := range by {
		ids := make([]string, 0, len(products))
		for p := range products {
			ids = append(ids, p)
		}
		slices.SortFunc(ids, func(a, b string) int {
			if c := cmp.Compare(products[b], products[a]); c != 0 {
				return c
			}
			if (a == "") != (b == "") {
				if a == "" {
					return 1
				}
				return -1
			}
			return strings.Compare(a, b)
		})
		for i, p := range ids {
			if i == 10 {
				break
			}
			t.Rows = append(t.Rows, []any{dateValue(date), int64(i + 1), nullable(p), products[p]})
		}
	}
	return t
}

// 16. gold.delivery_performance: over orders with status 'delivered' and a
// delivery date (and a purchase timestamp), by customer_state (NULL for an
// unknown customer). late = delivered after the estimated date; a missing
// estimate is not late.
func deliveryPerformance(d *data) *Table {
	type agg struct {
		orders, late int64
		days         float64
	}
	by := map[string]*agg{}
	for _, id := range d.orderIDs {
		o := d.orders[id]
		if o.status != "delivered" || o.delivered.IsZero() || o.purchase.IsZero() {
			continue
		}
		state := ""
		if c := d.customerOf(o); c != nil {
			state = c.state
		}
		if by[state] == nil {
			by[state] = &agg{}
		}
		a := by[state]
		a.orders++
		a.days += o.delivered.Sub(o.purchase).Seconds() / 86400
		if !o.estimated.IsZero() && o.delivered.After(o.estimated) {
			a.late++
		}
	}
	t := &Table{Name: "gold.delivery_performance", Columns: []string{"customer_state", "delivered_orders", "avg_delivery_days", "late_pct"}}
	for state, a := range by {
		n := float64(a.orders)
		t.Rows = append(t.Rows, []any{nullable(state), a.orders, a.days / n, 100.0 * float64(a.late) / n})
	}
	return t
}

// 17. gold.review_scores_by_category: distinct (review_id, order_id,
// category) over the categories of the review's order's items; reviews
// without an integer score, and reviews of orders without items, are left
// out.
func reviewScoresByCategory(d *data) *Table {
	type agg struct{ reviews, scoreSum int64 }
	by := map[string]*agg{}
	for _, rv := range d.reviews {
		if !rv.hasScore {
			continue
		}
		cats := map[string]bool{} // distinct categories of this review's order
		for _, it := range d.itemsOf[rv.orderID] {
			cats[d.category(it.productID)] = true
		}
		for cat := range cats {
			if by[cat] == nil {
				by[cat] = &agg{}
			}
			by[cat].reviews++
			by[cat].scoreSum += rv.score
		}
	}
	t := &Table{Name: "gold.review_scores_by_category", Columns: []string{"category", "reviews", "avg_score"}}
	for cat, a := range by {
		t.Rows = append(t.Rows, []any{cat, a.reviews, float64(a.scoreSum) / float64(a.reviews)})
	}
	return t
}

// 18. gold.cohort_retention: a person's cohort is the month of their first
// order; per cohort and months since it, the people with an order in that
// month. All orders of known people, any status; orders without a purchase
// timestamp are left out.
func cohortRetention(d *data) *Table {
	months := map[string]map[int]bool{} // person -> month numbers (year*12 + month-1) with an order
	for _, id := range d.orderIDs {
		o := d.orders[id]
		uid := d.person(o)
		if uid == "" || o.purchase.IsZero() {
			continue
		}
		if months[uid] == nil {
			months[uid] = map[int]bool{}
		}
		months[uid][o.purchase.Year()*12+int(o.purchase.Month())-1] = true
	}
	type k struct{ cohort, since int }
	by := map[k]int64{}
	for _, ms := range months {
		first := -1
		for m := range ms {
			if first == -1 || m < first {
				first = m
			}
		}
		for m := range ms {
			by[k{first, m - first}]++
		}
	}
	t := &Table{Name: "gold.cohort_retention", Columns: []string{"cohort_month", "months_since_first", "customers"}}
	for key, n := range by {
		cohort := time.Date(key.cohort/12, time.Month(key.cohort%12+1), 1, 0, 0, 0, 0, time.UTC)
		t.Rows = append(t.Rows, []any{cohort, int64(key.since), n})
	}
	return t
}

// gold.daily_by_state: per purchase date and customer state (NULL for an
// unknown customer), the revenue and orders of orders with items, and all
// orders and canceled orders, with or without items. Groups come from the
// orders, so a (date, state) of orders without items has revenue 0.
func dailyByState(d *data) *Table {
	type k struct{ date, state string }
	type agg struct {
		revenue          float64
		withItems        orderSet
		orders, canceled int64
	}
	by := map[k]*agg{}
	keyOf := func(o *order) k {
		key := k{date: o.date()}
		if c := d.customerOf(o); c != nil {
			key.state = c.state
		}
		return key
	}
	for _, id := range d.orderIDs {
		o := d.orders[id]
		key := keyOf(o)
		if by[key] == nil {
			by[key] = &agg{withItems: orderSet{}}
		}
		by[key].orders++
		if o.status == "canceled" {
			by[key].canceled++
		}
	}
	for _, it := range d.items {
		a := by[keyOf(d.orders[it.orderID])]
		a.revenue += it.revenue
		a.withItems[it.orderID] = true
	}
	t := &Table{Name: "gold.daily_by_state", Columns: []string{"date", "customer_state", "revenue", "orders", "all_orders", "canceled_orders"}}
	for key, a := range by {
		t.Rows = append(t.Rows, []any{dateValue(key.date), nullable(key.state), a.revenue, a.withItems.count(), a.orders, a.canceled})
	}
	return t
}
