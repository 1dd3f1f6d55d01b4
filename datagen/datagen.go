// Package datagen writes a synthetic copy of the public Olist Brazilian
// E-Commerce dataset: the same CSV files, columns and quirks, at any scale,
// byte-identical for a given seed and options.
//
// Layout under the output folder, one folder per landing source:
//
//	orders/order_year=YYYY/order_month=M/olist_orders_dataset.csv   (by purchase month, M without leading zero)
//	order_items/olist_order_items_dataset_part-NNNN.csv             (in purchase order, a few files)
//	customers/olist_customers_dataset.csv
//	payments/olist_order_payments_dataset.csv
//	products/olist_products_dataset.csv
//	sellers/olist_sellers_dataset.csv
//	geolocation/olist_geolocation_dataset.csv
//	category_translation/product_category_name_translation.csv
//	reviews/olist_order_reviews_dataset.csv
//
// Every file has a header with Olist's column names (product_name_lenght
// and product_description_lenght included). Headers are plain except the
// reviews file's, whose names are quoted as in the Kaggle file; data fields
// are quoted only when they hold a comma, a quote or a line break (review
// messages do). Ids are 32 lowercase hex digits, timestamps
// "2017-10-02 10:56:33", missing timestamps empty, money with two decimals,
// zip prefixes numbers without leading zeros (1037), cities lower-case
// Portuguese with accents.
//
// Files are written under a hidden temporary name and renamed into place
// when complete. Existing files with the same names are replaced; nothing
// else in the folder is touched.
package datagen

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Options configure a generation run.
type Options struct {
	// Orders is the number of orders (clean rows of the orders source);
	// default 1000 when 0. Scale factor 1 ≈ 100,000 orders, Olist's size.
	Orders int
	// Seed seeds the generator: the same seed and options give
	// byte-identical output.
	Seed int64
	// Dirty adds duplicates, nulls, malformed rows, wrong types, variant
	// city spellings and re-landed orders (~1–2% of rows); see Dirt.
	Dirty bool
	// Start is the earliest purchase timestamp (its wall clock is used as
	// is, whatever its location); default 2016-09-04 00:00:00. Orders span
	// about two years from it, growing over time like Olist's.
	Start time.Time
}

// DefaultOrders is the number of orders when Options.Orders is 0.
const DefaultOrders = 1000

// DefaultStart is the default first purchase day, Olist's.
var DefaultStart = time.Date(2016, 9, 4, 0, 0, 0, 0, time.UTC)

// Source names: the folders under the output directory, which are the
// landing sources of `medallion init`.
const (
	SourceOrders              = "orders"
	SourceOrderItems          = "order_items"
	SourceCustomers           = "customers"
	SourcePayments            = "payments"
	SourceProducts            = "products"
	SourceSellers             = "sellers"
	SourceGeolocation         = "geolocation"
	SourceCategoryTranslation = "category_translation"
	SourceReviews             = "reviews"
)

// Report says what was written.
type Report struct {
	Options Options // the options used, defaults filled in
	// Sources in a fixed order: orders, order_items, customers, payments,
	// products, sellers, geolocation, category_translation, reviews.
	Sources []SourceReport
}

// SourceReport describes one source's files.
type SourceReport struct {
	Name  string       // folder name, e.g. "orders"
	Files []FileReport // in writing order (orders: by month; items: by part)
	Rows  int          // data rows (records, headers excluded) in all files, dirt included
	Dirt  Dirt         // dirt injected (all zero unless Options.Dirty)
}

// FileReport is one written file.
type FileReport struct {
	Path string // relative to the output folder, slash-separated
	Rows int    // data rows (records), header excluded
}

// Source returns the report of the named source.
func (r Report) Source(name string) (SourceReport, bool) {
	for _, s := range r.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return SourceReport{}, false
}

// Files is the number of files written.
func (r Report) Files() int {
	n := 0
	for _, s := range r.Sources {
		n += len(s.Files)
	}
	return n
}

// Rows is the number of data rows written.
func (r Report) Rows() int {
	n := 0
	for _, s := range r.Sources {
		n += s.Rows
	}
	return n
}

// Dirt sums the dirt of all sources.
func (r Report) Dirt() Dirt {
	var d Dirt
	for _, s := range r.Sources {
		d.add(s.Dirt)
	}
	return d
}

// Source indexes, in report order.
const (
	srcOrders = iota
	srcItems
	srcCustomers
	srcPayments
	srcProducts
	srcSellers
	srcGeo
	srcTranslation
	srcReviews
	nSources
)

var sourceNames = [nSources]string{
	SourceOrders, SourceOrderItems, SourceCustomers, SourcePayments, SourceProducts,
	SourceSellers, SourceGeolocation, SourceCategoryTranslation, SourceReviews,
}

var (
	ordersHeader = []string{"order_id", "customer_id", "order_status", "order_purchase_timestamp",
		"order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date",
		"order_estimated_delivery_date"}
	itemsHeader = []string{"order_id", "order_item_id", "product_id", "seller_id",
		"shipping_limit_date", "price", "freight_value"}
	customersHeader = []string{"customer_id", "customer_unique_id", "customer_zip_code_prefix",
		"customer_city", "customer_state"}
	paymentsHeader = []string{"order_id", "payment_sequential", "payment_type",
		"payment_installments", "payment_value"}
	productsHeader = []string{"product_id", "product_category_name", "product_name_lenght",
		"product_description_lenght", "product_photos_qty", "product_weight_g",
		"product_length_cm", "product_height_cm", "product_width_cm"}
	sellersHeader     = []string{"seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"}
	geoHeader         = []string{"geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng", "geolocation_city", "geolocation_state"}
	translationHeader = []string{"product_category_name", "product_category_name_english"}
	reviewsHeader     = []string{"review_id", "order_id", "review_score", "review_comment_title",
		"review_comment_message", "review_creation_date", "review_answer_timestamp"}
)

// Generate writes the dataset under outDir (created if needed) and reports
// what it wrote. It stops early, removing the file being written, when ctx
// is canceled.
func Generate(ctx context.Context, outDir string, opts Options) (Report, error) {
	if opts.Orders < 0 {
		return Report{}, fmt.Errorf("datagen: negative number of orders %d", opts.Orders)
	}
	if opts.Orders == 0 {
		opts.Orders = DefaultOrders
	}
	if opts.Start.IsZero() {
		opts.Start = DefaultStart
	}
	if outDir == "" {
		return Report{}, errors.New("datagen: empty output folder")
	}
	g := newGen(ctx, outDir, opts)
	err := g.run()
	for _, o := range g.open {
		if o != nil {
			o.abort()
		}
	}
	if err != nil {
		return Report{}, fmt.Errorf("datagen: %w", err)
	}
	rep := Report{Options: opts, Sources: make([]SourceReport, nSources)}
	for i := range rep.Sources {
		rep.Sources[i] = g.rep[i]
		rep.Sources[i].Name = sourceNames[i]
	}
	return rep, nil
}

// gen holds the state of one run.
type gen struct {
	ctx    context.Context
	outDir string
	opts   Options
	n      int
	ids    idGen

	geo       *geoWorld
	products  []product
	sellerZip []int32

	rep  [nSources]SourceReport
	open [nSources]*csvOut // files being written, aborted on error
	inj  [nSources]*injector

	junk      uint64 // counter of fresh ids for malformed rows
	row, row2 row
	scratch   []byte
}

func newGen(ctx context.Context, outDir string, opts Options) *gen {
	g := &gen{ctx: ctx, outDir: outDir, opts: opts, n: opts.Orders, ids: newIDGen(opts.Seed)}
	dirty, seed, n := opts.Dirty, opts.Seed, opts.Orders
	nProducts, nSellers := max(1, n/3), max(1, n/30)
	mk := func(src, expected int, rates ...rate) {
		g.inj[src] = newInjector(dirty, seed, src, expected, &g.rep[src].Dirt, rates...)
	}
	mk(srcOrders, n,
		rate{dDup, 4000}, rate{dNullKey, 1500}, rate{dMalFields, 1000}, rate{dMalQuote, 1000},
		rate{dWrongType, 1500}, rate{dNull, 2000}, rate{dRelanded, 4000})
	mk(srcItems, n,
		rate{dDup, 4000}, rate{dNullKey, 1500}, rate{dMalFields, 1000}, rate{dMalQuote, 1000},
		rate{dWrongType, 1500}, rate{dNull, 3000})
	mk(srcCustomers, n, rate{dDup, 4000}, rate{dCity, 8000})
	mk(srcPayments, n, rate{dNullKey, 2000})
	mk(srcProducts, nProducts, rate{dNull, 10000})
	mk(srcSellers, nSellers, rate{dCity, 10000})
	mk(srcGeo, 10*n, rate{dCity, 10000})
	mk(srcTranslation, len(categories))
	mk(srcReviews, n, rate{dWrongType, 2000})
	return g
}

func (g *gen) create(src int, rel string, header []string, quoteHeader bool) (*csvOut, error) {
	o, err := createCSV(g.outDir, rel, header, quoteHeader)
	if err != nil {
		return nil, err
	}
	g.open[src] = o
	return o, nil
}

func (g *gen) close(src int) error {
	o := g.open[src]
	if o == nil {
		return nil
	}
	g.open[src] = nil
	if err := o.close(); err != nil {
		return err
	}
	g.rep[src].Files = append(g.rep[src].Files, FileReport{Path: o.rel, Rows: o.rows})
	g.rep[src].Rows += o.rows
	return nil
}

func (g *gen) run() error {
	if err := g.ctx.Err(); err != nil {
		return err
	}
	n := g.n
	nProducts, nSellers := max(1, n/3), max(1, n/30)

	geoRNG := newRNG(g.opts.Seed, streamGeo)
	g.geo = newGeoWorld(geoRNG, max(len(cities), n/5))

	cat := newRNG(g.opts.Seed, streamCatalog)
	g.sellerZip = make([]int32, nSellers)
	for i := range g.sellerZip {
		g.sellerZip[i] = int32(g.geo.sellerZip(cat))
	}
	g.products = newProducts(cat, nProducts, nSellers)

	if err := g.writeTranslation(); err != nil {
		return err
	}
	if err := g.writeProducts(); err != nil {
		return err
	}
	if err := g.writeSellers(); err != nil {
		return err
	}
	if err := g.writeOrders(); err != nil {
		return err
	}
	return g.writeGeolocation(geoRNG)
}

func (g *gen) writeTranslation() error {
	o, err := g.create(srcTranslation, SourceCategoryTranslation+"/product_category_name_translation.csv", translationHeader, false)
	if err != nil {
		return err
	}
	r := &g.row
	for _, c := range categories {
		if c.en == "" {
			continue
		}
		r.reset()
		r.str(c.pt)
		r.str(c.en)
		o.line(r.b)
	}
	return g.close(srcTranslation)
}

func (g *gen) writeProducts() error {
	o, err := g.create(srcProducts, SourceProducts+"/olist_products_dataset.csv", productsHeader, false)
	if err != nil {
		return err
	}
	in := g.inj[srcProducts]
	r := &g.row
	for i := range g.products {
		p := &g.products[i]
		k := in.next()
		r.reset()
		r.id(g.ids.id(idProduct, uint64(i)))
		if p.cat < 0 {
			r.empty()
			r.empty()
			r.empty()
			r.empty()
		} else {
			if k == dNull {
				r.empty()
				in.done(k)
			} else {
				r.str(categories[p.cat].pt)
			}
			r.int(int(p.nameLen))
			r.int(int(p.descLen))
			r.int(int(p.photos))
		}
		r.int(int(p.weight))
		r.int(int(p.l))
		r.int(int(p.h))
		r.int(int(p.wd))
		o.line(r.b)
	}
	return g.close(srcProducts)
}

func (g *gen) writeSellers() error {
	o, err := g.create(srcSellers, SourceSellers+"/olist_sellers_dataset.csv", sellersHeader, false)
	if err != nil {
		return err
	}
	in := g.inj[srcSellers]
	r := &g.row
	for i, zi := range g.sellerZip {
		z := &g.geo.zips[zi]
		c := &g.geo.cities[z.city]
		name := c.name
		if k := in.next(); k == dCity {
			name = cityVariant(in.r, c)
			in.done(k)
		}
		r.reset()
		r.id(g.ids.id(idSeller, uint64(i)))
		r.int(z.prefix)
		r.str(name)
		r.str(c.uf)
		o.line(r.b)
	}
	return g.close(srcSellers)
}

func (g *gen) writeGeolocation(rg *rng) error {
	o, err := g.create(srcGeo, SourceGeolocation+"/olist_geolocation_dataset.csv", geoHeader, false)
	if err != nil {
		return err
	}
	in := g.inj[srcGeo]
	r := &g.row
	order := g.geo.sortedZips()
	// About 10 rows per order in all, at least one per zip prefix.
	mean := max(1, 10*g.n/len(order))
	const jitter = degree / 200 // rows of a prefix lie within ~0.005° of its centre
	for zn, zi := range order {
		if zn&1023 == 0 {
			if err := g.ctx.Err(); err != nil {
				return err
			}
		}
		z := &g.geo.zips[zi]
		c := &g.geo.cities[z.city]
		m := 1 + rg.intn(2*mean-1)
		for j := 0; j < m; j++ {
			lat := z.lat + int64(rg.intn(2*jitter+1)) - jitter
			lng := z.lng + int64(rg.intn(2*jitter+1)) - jitter
			name := c.name
			if c.accented && rg.intn(6) == 0 {
				name = c.plain // Olist mixes "sao paulo" and "são paulo"
			}
			if k := in.next(); k == dCity {
				name = cityVariant(in.r, c)
				in.done(k)
			}
			r.reset()
			r.int(z.prefix)
			r.coord(lat)
			r.coord(lng)
			r.str(name)
			r.str(c.uf)
			o.line(r.b)
		}
	}
	return g.close(srcGeo)
}

// extraRow writes the extra-row dirt kinds (copies next to the clean row r)
// and reports whether k was one of them.
func (g *gen) extraRow(o *csvOut, in *injector, r *row, k dirtKind) bool {
	switch k {
	case dDup:
		o.line(r.b)
	case dNullKey:
		o.line(r.b[r.starts[1]-1:]) // ",rest": the first field empty
	case dMalFields, dMalQuote:
		b := g.scratch[:0]
		b = appendID(b, g.ids.id(idJunk, g.junk))
		g.junk++
		last := len(r.starts) - 1
		switch {
		case k == dMalQuote:
			// A bare quote inside the unquoted id: strict parsers reject
			// the line, lenient ones keep it; it never spans lines.
			b = append(b[:13], append([]byte{'"'}, b[13:]...)...)
			b = append(b, r.b[r.starts[1]-1:]...)
		case in.r.intn(2) == 0: // one field short
			b = append(b, r.b[r.starts[1]-1:r.starts[last]-1]...)
		default: // one field too many
			b = append(b, r.b[r.starts[1]-1:]...)
			b = append(b, ",extra"...)
		}
		o.line(b)
		g.scratch = b
	default:
		return false
	}
	in.done(k)
	return true
}

func itoa(i int) string { return strconv.Itoa(i) }

// orderStatus weights in parts per million (Olist's shares).
var statusNames = []string{"delivered", "shipped", "canceled", "unavailable", "invoiced", "processing", "created", "approved"}
var statusPick = newPicker([]int{970_200, 11_100, 6_300, 6_100, 3_200, 3_000, 50, 50})

const (
	stDelivered = iota
	stShipped
	stCanceled
	stUnavailable
	stInvoiced
	stProcessing
	stCreated
	stApproved
)

// items per order (ppm): mean ≈ 1.16 for orders with items.
var itemsPick = newPicker([]int{900_000, 70_000, 15_000, 8_000, 3_500, 3_500})

var hourPick = newPicker([]int{40, 20, 10, 5, 4, 5, 10, 30, 60, 90, 110, 115, 110, 110, 115, 110, 110, 105, 100, 100, 110, 110, 100, 75})

// installments 1..10 for credit cards.
var installPick = newPicker([]int{480, 120, 100, 70, 50, 40, 20, 40, 10, 70})

var scorePicks = [3]picker{
	newPicker([]int{70, 30, 80, 200, 620}),    // delivered on time: 1..5
	newPicker([]int{410, 100, 120, 120, 250}), // delivered late
	newPicker([]int{650, 80, 100, 50, 120}),   // never delivered
}

// purchaseTimes draws n purchase timestamps (seconds, wall clock as UTC)
// over ~2 years from start, growing over the first 15 months, with weekday,
// hour-of-day and Black Friday effects, sorted. The first is start itself.
func purchaseTimes(r *rng, n int, start time.Time) []int64 {
	y, mo, d := start.Date()
	hh, mi, ss := start.Clock()
	startSec := time.Date(y, mo, d, hh, mi, ss, 0, time.UTC).Unix()
	baseDay := floorDay(startSec)
	const spanDays = 730
	w := make([]int, spanDays)
	for i := range w {
		dd := baseDay + int64(i)
		x := 100 + 900*min(i, 450)/450
		wd := (dd%7 + 7 + 4) % 7 // 0 = Sunday
		switch wd {
		case 1, 2:
			x = x * 11 / 10
		case 0, 6:
			x = x * 85 / 100
		}
		if _, m, day := civil(dd); m == 11 && wd == 5 && day >= 23 && day <= 29 {
			x *= 4 // Black Friday
		}
		w[i] = x
	}
	dayPick := newPicker(w)
	ts := make([]int64, n)
	for i := range ts {
		for {
			t := (baseDay+int64(dayPick.pick(r)))*day + int64(hourPick.pick(r))*3600 + int64(r.intn(3600))
			if t >= startSec {
				ts[i] = t
				break
			}
		}
	}
	slices.Sort(ts)
	ts[0] = startSec // Start is the first purchase
	return ts
}

func monthKey(sec int64) int {
	y, m, _ := civil(floorDay(sec))
	return y*12 + m - 1
}

// order is the final state of one order.
type order struct {
	id, cust      [2]uint64
	status        int
	p, a, c, d, e int64 // purchase, approved, carrier, delivered, estimated
	late          bool
	noItems       bool
	custZip       int
	total         int // cents
}

// orderRow writes the orders row of o with the given status and
// timestamps; badTS (4..7) replaces that timestamp with "not-a-date".
func orderRow(r *row, o *order, status string, a, c, d int64, badTS int) {
	r.reset()
	r.id(o.id)
	r.id(o.cust)
	r.str(status)
	r.ts(o.p)
	for i, t := range [4]int64{a, c, d, o.e} {
		if i+4 == badTS {
			r.sep()
			r.b = append(r.b, "not-a-date"...)
		} else {
			r.ts(t)
		}
	}
}

func (g *gen) writeOrders() error {
	n := g.n
	seed := g.opts.Seed
	rt := newRNG(seed, streamTimes)
	ro := newRNG(seed, streamOrders)
	rc := newRNG(seed, streamCustomers)
	ri := newRNG(seed, streamItems)
	rp := newRNG(seed, streamPayments)
	rr := newRNG(seed, streamReviews)

	times := purchaseTimes(rt, n, g.opts.Start)
	lastMonth := monthKey(times[n-1])

	cust, err := g.create(srcCustomers, SourceCustomers+"/olist_customers_dataset.csv", customersHeader, false)
	if err != nil {
		return err
	}
	pay, err := g.create(srcPayments, SourcePayments+"/olist_order_payments_dataset.csv", paymentsHeader, false)
	if err != nil {
		return err
	}
	rev, err := g.create(srcReviews, SourceReviews+"/olist_order_reviews_dataset.csv", reviewsHeader, true)
	if err != nil {
		return err
	}
	// Items: a few part files, switched at order boundaries.
	partRows := min(10_000, max(250, n/4))
	part := 0
	items, err := g.create(srcItems, SourceOrderItems+"/olist_order_items_dataset_part-0000.csv", itemsHeader, false)
	if err != nil {
		return err
	}

	var (
		orders    *csvOut
		curMonth  = -1
		pending   [][]byte // re-landed rows for the next month's file
		uniqZip   []int32  // zip of each unique customer so far
		reviewIdx uint64
		msgBuf    []byte
		o         order
		r         = &g.row
		r2        = &g.row2
	)
	inO, inI, inC, inP, inR := g.inj[srcOrders], g.inj[srcItems], g.inj[srcCustomers], g.inj[srcPayments], g.inj[srcReviews]

	for i := 0; i < n; i++ {
		if i&1023 == 0 {
			if err := g.ctx.Err(); err != nil {
				return err
			}
		}
		o = order{p: times[i], a: noTime, c: noTime, d: noTime}
		o.id = g.ids.id(idOrder, uint64(i))
		o.cust = g.ids.id(idCustomer, uint64(i))

		// Month file.
		if mk := monthKey(o.p); mk != curMonth {
			if err := g.close(srcOrders); err != nil {
				return err
			}
			curMonth = mk
			rel := SourceOrders + "/order_year=" + itoa(mk/12) + "/order_month=" + itoa(mk%12+1) + "/olist_orders_dataset.csv"
			if orders, err = g.create(srcOrders, rel, ordersHeader, false); err != nil {
				return err
			}
			for _, b := range pending {
				orders.line(b)
			}
			pending = pending[:0]
		}

		// Status and timeline.
		o.status = statusPick.pick(ro)
		switch o.status {
		case stCreated:
		case stCanceled:
			if !ro.ppm(100_000) {
				o.a = o.p + approvalDelay(ro)
			}
		default:
			if !ro.ppm(1_000) {
				o.a = o.p + approvalDelay(ro)
			}
		}
		o.e = (floorDay(o.p) + 14 + int64(ro.intn(8)+ro.intn(8)+ro.intn(8))) * day
		if o.a != noTime && (o.status == stDelivered || o.status == stShipped ||
			(o.status == stCanceled && ro.ppm(100_000))) {
			o.c = o.a + day/2 + int64(ro.skewed(5*day))
		}
		if o.status == stDelivered {
			base := o.c
			if base == noTime {
				base = o.p + 2*day
			}
			if ro.ppm(80_000) {
				o.late = true
				o.d = o.e + 3600 + int64(ro.skewed(20*day))
			} else {
				o.d = base + day + int64(ro.intn(3*day)) + int64(ro.skewed(26*day))
				if o.d >= o.e {
					o.d = o.e - 3600 - int64(ro.intn(day/2))
				}
				if o.d <= base {
					o.d = base + 3600
				}
			}
		}
		o.noItems = o.status == stUnavailable || o.status == stCreated ||
			(o.status == stCanceled && ro.intn(2) == 0)

		// Customer: one customer_id per order; ~3% are repeat buyers
		// sharing an earlier customer_unique_id.
		var uniq int
		if len(uniqZip) > 0 && rc.ppm(34_000) {
			uniq = rc.intn(len(uniqZip))
			o.custZip = int(uniqZip[uniq])
			if rc.ppm(100_000) {
				o.custZip = g.geo.customerZip(rc)
			}
		} else {
			uniq = len(uniqZip)
			o.custZip = g.geo.customerZip(rc)
			uniqZip = append(uniqZip, int32(o.custZip))
		}
		{
			z := &g.geo.zips[o.custZip]
			c := &g.geo.cities[z.city]
			name := c.name
			k := inC.next()
			if k == dCity {
				name = cityVariant(inC.r, c)
				inC.done(k)
			}
			r.reset()
			r.id(o.cust)
			r.id(g.ids.id(idUnique, uint64(uniq)))
			r.int(z.prefix)
			r.str(name)
			r.str(c.uf)
			cust.line(r.b)
			g.extraRow(cust, inC, r, k)
		}

		// Items (written before the order row so the total is known).
		if !o.noItems {
			if items.rows >= partRows {
				if err := g.close(srcItems); err != nil {
					return err
				}
				part++
				rel := SourceOrderItems + "/olist_order_items_dataset_part-" + pad4(part) + ".csv"
				if items, err = g.create(srcItems, rel, itemsHeader, false); err != nil {
					return err
				}
			}
			k := itemsPick.pick(ri) + 1
			same := ri.intn(10) < 6
			prod := -1
			custState := g.geo.cities[g.geo.zips[o.custZip].city].state
			limitBase := o.a
			if limitBase == noTime {
				limitBase = o.p
			}
			limit := limitBase + 6*day + int64(ri.intn(2*day))
			freight := -1
			for j := 1; j <= k; j++ {
				if prod < 0 || !same {
					prod = pickProduct(ri, len(g.products))
					freight = -1
				}
				p := &g.products[prod]
				if freight < 0 {
					sz := &g.geo.zips[g.sellerZip[p.seller]]
					freight = 700 + int(p.weight)*150/1000 + ri.intn(500)
					if g.geo.cities[sz.city].state != custState {
						freight += ri.between(300, 1500)
					} else {
						freight += ri.intn(400)
					}
					if ri.ppm(3_000) {
						freight = 0
					}
				}
				o.total += int(p.price) + freight
				kd := inI.next()
				r.reset()
				r.id(o.id)
				r.int(j)
				r.id(g.ids.id(idProduct, uint64(prod)))
				r.id(g.ids.id(idSeller, uint64(p.seller)))
				r.ts(limit)
				switch {
				case kd == dWrongType:
					r.str("abc")
					r.money(freight)
					inI.done(kd)
				case kd == dNull && inI.r.intn(2) == 0:
					r.empty()
					r.money(freight)
					inI.done(kd)
				case kd == dNull:
					r.money(int(p.price))
					r.empty()
					inI.done(kd)
				default:
					r.money(int(p.price))
					r.money(freight)
				}
				items.line(r.b)
				g.extraRow(items, inI, r, kd)
			}
		}

		// The order row.
		{
			st := statusNames[o.status]
			k := inO.next()
			switch k {
			case dNull:
				orderRow(r, &o, "", o.a, o.c, o.d, -1)
				inO.done(k)
			case dWrongType:
				bad := 4
				if o.a == noTime {
					bad = 7
				}
				orderRow(r, &o, st, o.a, o.c, o.d, bad)
				inO.done(k)
			default:
				orderRow(r, &o, st, o.a, o.c, o.d, -1)
			}
			if k == dRelanded && o.status != stCreated && curMonth < lastMonth {
				// The final row lands in the next month's file; this one
				// shows an earlier state.
				pending = append(pending, slices.Clone(r.b))
				switch {
				case o.status == stDelivered:
					orderRow(r2, &o, "shipped", o.a, o.c, noTime, -1)
				case o.status == stShipped:
					orderRow(r2, &o, "invoiced", o.a, noTime, noTime, -1)
				case o.a != noTime && o.status != stApproved:
					orderRow(r2, &o, "approved", o.a, noTime, noTime, -1)
				default:
					orderRow(r2, &o, "created", noTime, noTime, noTime, -1)
				}
				orders.line(r2.b)
				inO.done(k)
			} else {
				orders.line(r.b)
				g.extraRow(orders, inO, r, k)
			}
		}

		// Payments: the sum matches the order total for most orders.
		total := o.total
		if o.noItems {
			total = rp.between(1000, 30000)
		}
		g.writePayments(pay, inP, rp, &o, total)

		// Reviews: ~1 per order.
		nrev := 1
		if x := rr.intn(1000); x < 8 {
			nrev = 0
		} else if x < 14 {
			nrev = 2
		}
		for j := 0; j < nrev; j++ {
			sp := &scorePicks[0]
			if o.late {
				sp = &scorePicks[1]
			} else if o.d == noTime {
				sp = &scorePicks[2]
			}
			score := sp.pick(rr) + 1
			var title string
			title, msgBuf = reviewText(rr, score, msgBuf)
			created := o.d
			if created == noTime {
				created = o.e
			}
			created = (floorDay(created) + 1 + int64(j)) * day
			answered := created + 3600*4 + int64(rr.skewed(4*day))
			k := inR.next()
			r.reset()
			r.id(g.ids.id(idReview, reviewIdx))
			reviewIdx++
			r.id(o.id)
			if k == dWrongType {
				r.str(scoreWords[score])
				inR.done(k)
			} else {
				r.int(score)
			}
			r.str(title)
			r.str(string(msgBuf))
			r.ts(created)
			r.ts(answered)
			rev.line(r.b)
		}
	}
	if len(pending) > 0 { // cannot happen: re-landing needs a later month
		return errors.New("internal: re-landed orders left over")
	}
	for _, src := range []int{srcOrders, srcItems, srcCustomers, srcPayments, srcReviews} {
		if err := g.close(src); err != nil {
			return err
		}
	}
	return nil
}

func pad4(i int) string {
	s := itoa(i)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

// approvalDelay: most payments are approved within the hour, some take a
// day or more (boleto).
func approvalDelay(r *rng) int64 {
	switch x := r.intn(10); {
	case x < 6:
		return int64(r.between(300, 3600))
	case x < 9:
		return int64(r.between(3600, day))
	default:
		return int64(r.between(day, 3*day))
	}
}

// pickProduct: half the sales are spread evenly over the catalogue, half go
// to a skewed set of best sellers.
func pickProduct(r *rng, n int) int {
	if r.intn(2) == 0 {
		return r.intn(n)
	}
	return r.skewed(n)
}

var payTypePick = newPicker([]int{755, 195, 35, 15}) // credit_card, boleto, voucher, debit_card

func (g *gen) writePayments(out *csvOut, in *injector, rp *rng, o *order, total int) {
	r := &g.row
	emit := func(seq int, typ string, inst, value int) {
		k := in.next()
		r.reset()
		r.id(o.id)
		r.int(seq)
		r.str(typ)
		r.int(inst)
		r.money(value)
		out.line(r.b)
		g.extraRow(out, in, r, k)
	}
	// split divides total into k parts of at least one cent.
	split := func(total, k int) []int {
		k = max(1, min(k, total))
		parts := make([]int, k)
		rest := total
		for i := 0; i < k-1; i++ {
			v := 1 + rp.intn(max(1, rest-(k-1-i)))
			if v > rest-(k-1-i) {
				v = rest - (k - 1 - i)
			}
			parts[i] = v
			rest -= v
		}
		parts[k-1] = rest
		return parts
	}
	switch payTypePick.pick(rp) {
	case 0: // credit_card, sometimes topped up with vouchers
		inst := installPick.pick(rp) + 1
		if rp.ppm(10_000) && total >= 200 {
			vouchers := 1 + rp.intn(2)
			parts := split(total, vouchers+1)
			emit(1, "credit_card", inst, parts[0])
			for j := 1; j < len(parts); j++ {
				emit(j+1, "voucher", 1, parts[j])
			}
			return
		}
		value := total
		if inst > 1 && rp.ppm(15_000) { // interest on installments
			value += total * rp.between(2, 10) / 100
		}
		emit(1, "credit_card", inst, value)
	case 1:
		emit(1, "boleto", 1, total)
	case 2: // voucher, often several
		k := 1
		switch x := rp.intn(100); {
		case x < 18:
			k = 2
		case x < 26:
			k = 3
		case x < 30:
			k = 4
		}
		for j, v := range split(total, k) {
			emit(j+1, "voucher", 1, v)
		}
	default:
		emit(1, "debit_card", 1, total)
	}
}
