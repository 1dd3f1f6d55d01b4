package datagen_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
)

// The exact headers of the public Olist files.
var headers = map[string][]string{
	datagen.SourceOrders: {"order_id", "customer_id", "order_status", "order_purchase_timestamp",
		"order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date",
		"order_estimated_delivery_date"},
	datagen.SourceOrderItems: {"order_id", "order_item_id", "product_id", "seller_id",
		"shipping_limit_date", "price", "freight_value"},
	datagen.SourceCustomers: {"customer_id", "customer_unique_id", "customer_zip_code_prefix",
		"customer_city", "customer_state"},
	datagen.SourcePayments: {"order_id", "payment_sequential", "payment_type",
		"payment_installments", "payment_value"},
	datagen.SourceProducts: {"product_id", "product_category_name", "product_name_lenght",
		"product_description_lenght", "product_photos_qty", "product_weight_g",
		"product_length_cm", "product_height_cm", "product_width_cm"},
	datagen.SourceSellers: {"seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"},
	datagen.SourceGeolocation: {"geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng",
		"geolocation_city", "geolocation_state"},
	datagen.SourceCategoryTranslation: {"product_category_name", "product_category_name_english"},
	datagen.SourceReviews: {"review_id", "order_id", "review_score", "review_comment_title",
		"review_comment_message", "review_creation_date", "review_answer_timestamp"},
}

// fileNames match the relative paths of each source's files.
var fileNames = map[string]*regexp.Regexp{
	datagen.SourceOrders:              regexp.MustCompile(`^orders/order_year=\d{4}/order_month=([1-9]|1[0-2])/olist_orders_dataset\.csv$`),
	datagen.SourceOrderItems:          regexp.MustCompile(`^order_items/olist_order_items_dataset_part-\d{4}\.csv$`),
	datagen.SourceCustomers:           regexp.MustCompile(`^customers/olist_customers_dataset\.csv$`),
	datagen.SourcePayments:            regexp.MustCompile(`^payments/olist_order_payments_dataset\.csv$`),
	datagen.SourceProducts:            regexp.MustCompile(`^products/olist_products_dataset\.csv$`),
	datagen.SourceSellers:             regexp.MustCompile(`^sellers/olist_sellers_dataset\.csv$`),
	datagen.SourceGeolocation:         regexp.MustCompile(`^geolocation/olist_geolocation_dataset\.csv$`),
	datagen.SourceCategoryTranslation: regexp.MustCompile(`^category_translation/product_category_name_translation\.csv$`),
	datagen.SourceReviews:             regexp.MustCompile(`^reviews/olist_order_reviews_dataset\.csv$`),
}

var tmpRoot string

func TestMain(m *testing.M) {
	var err error
	tmpRoot, err = os.MkdirTemp("", "datagen-test-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// run is a generated dataset shared by several tests.
type run struct {
	dir string
	rep datagen.Report
	err error
}

var (
	runsMu sync.Mutex
	runs   = map[datagen.Options]*run{}
)

// generate returns the dataset for opts, generating it once per test binary.
func generate(t testing.TB, opts datagen.Options) (string, datagen.Report) {
	t.Helper()
	runsMu.Lock()
	defer runsMu.Unlock()
	r, ok := runs[opts]
	if !ok {
		r = &run{}
		r.dir, r.err = os.MkdirTemp(tmpRoot, "run-")
		if r.err == nil {
			r.rep, r.err = datagen.Generate(context.Background(), r.dir, opts)
		}
		runs[opts] = r
	}
	if r.err != nil {
		t.Fatalf("Generate(%+v): %v", opts, r.err)
	}
	return r.dir, r.rep
}

var (
	cleanOpts = datagen.Options{Orders: 3000, Seed: 7}
	dirtyOpts = datagen.Options{Orders: 3000, Seed: 7, Dirty: true}
)

func source(t testing.TB, rep datagen.Report, name string) datagen.SourceReport {
	t.Helper()
	s, ok := rep.Source(name)
	if !ok {
		t.Fatalf("report has no source %q", name)
	}
	return s
}

// readStrict parses a file with encoding/csv in strict mode (LazyQuotes
// false, the header's field count) and checks the header.
func readStrict(t testing.TB, path string, header []string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = len(header)
	got, err := cr.Read()
	if err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	if !slices.Equal(got, header) {
		t.Fatalf("%s: header %q, want %q", path, got, header)
	}
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// records reads all the rows of a source (clean data: strict parsing).
func records(t testing.TB, dir string, rep datagen.Report, name string) [][]string {
	t.Helper()
	var all [][]string
	for _, f := range source(t, rep, name).Files {
		all = append(all, readStrict(t, filepath.Join(dir, filepath.FromSlash(f.Path)), headers[name])...)
	}
	return all
}

// scan is what a lenient reader sees in a (dirty) file, plus the records a
// strict reader rejects.
type scan struct {
	records   [][]string // every record (lenient: bare quotes, any field count)
	file      []int      // index of the file each record came from
	malformed int        // records a strict reader rejects
}

func scanSource(t testing.TB, dir string, rep datagen.Report, name string) scan {
	t.Helper()
	var s scan
	for fi, f := range source(t, rep, name).Files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		lenient := csv.NewReader(bytes.NewReader(data))
		lenient.LazyQuotes = true
		lenient.FieldsPerRecord = -1
		recs, err := lenient.ReadAll()
		if err != nil {
			t.Fatalf("%s: lenient parse: %v", f.Path, err)
		}
		if !slices.Equal(recs[0], headers[name]) {
			t.Fatalf("%s: header %q", f.Path, recs[0])
		}
		for _, r := range recs[1:] {
			s.records = append(s.records, r)
			s.file = append(s.file, fi)
		}
		strict := csv.NewReader(bytes.NewReader(data))
		strict.FieldsPerRecord = len(headers[name])
		for {
			_, err := strict.Read()
			if err == io.EOF {
				break
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) && (pe.Err == csv.ErrFieldCount || pe.Err == csv.ErrBareQuote) {
				s.malformed++
			} else if err != nil {
				t.Fatalf("%s: strict parse: %v", f.Path, err)
			}
		}
	}
	return s
}

// tree returns every file under dir with its content.
func tree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDeterminism(t *testing.T) {
	base := datagen.Options{Orders: 600, Seed: 42}
	dirty := base
	dirty.Dirty = true
	otherSeed := base
	otherSeed.Seed = 43
	tests := []struct {
		name     string
		a, b     datagen.Options
		wantSame bool
	}{
		{"same seed", base, base, true},
		{"same seed dirty", dirty, dirty, true},
		{"different seed", base, otherSeed, false},
		{"clean vs dirty", base, dirty, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirA, dirB := t.TempDir(), t.TempDir()
			if _, err := datagen.Generate(context.Background(), dirA, tt.a); err != nil {
				t.Fatal(err)
			}
			if _, err := datagen.Generate(context.Background(), dirB, tt.b); err != nil {
				t.Fatal(err)
			}
			a, b := tree(t, dirA), tree(t, dirB)
			same := len(a) == len(b)
			for name, ba := range a {
				if bb, ok := b[name]; !ok || !bytes.Equal(ba, bb) {
					same = false
					if tt.wantSame {
						t.Errorf("%s differs", name)
					}
				}
			}
			if same != tt.wantSame {
				t.Fatalf("outputs same = %v, want %v", same, tt.wantSame)
			}
		})
	}
}

func TestCleanFilesParseAndMatchReport(t *testing.T) {
	dir, rep := generate(t, cleanOpts)
	if rep.Options.Orders != cleanOpts.Orders || rep.Options.Start.IsZero() {
		t.Errorf("report options %+v", rep.Options)
	}
	if d := rep.Dirt(); d != (datagen.Dirt{}) {
		t.Errorf("clean run reports dirt %+v", d)
	}
	onDisk := tree(t, dir)
	inReport := 0
	for _, s := range rep.Sources {
		t.Run(s.Name, func(t *testing.T) {
			if len(s.Files) == 0 {
				t.Fatal("no files")
			}
			total := 0
			for _, f := range s.Files {
				if !fileNames[s.Name].MatchString(f.Path) {
					t.Errorf("unexpected path %s", f.Path)
				}
				if _, ok := onDisk[f.Path]; !ok {
					t.Errorf("%s reported but not on disk", f.Path)
				}
				recs := readStrict(t, filepath.Join(dir, filepath.FromSlash(f.Path)), headers[s.Name])
				if len(recs) != f.Rows {
					t.Errorf("%s: %d records, report says %d", f.Path, len(recs), f.Rows)
				}
				total += len(recs)
				inReport++
			}
			if total != s.Rows {
				t.Errorf("%d records, report says %d", total, s.Rows)
			}
		})
	}
	if len(onDisk) != inReport || rep.Files() != inReport {
		t.Errorf("%d files on disk (temporary files left?), %d in report", len(onDisk), inReport)
	}
	if got := len(source(t, rep, datagen.SourceOrders).Files); got < 20 {
		t.Errorf("orders span %d months, want about two years", got)
	}
	if got := len(source(t, rep, datagen.SourceOrderItems).Files); got < 2 {
		t.Errorf("order items in %d files, want a few", got)
	}
	if got := source(t, rep, datagen.SourceOrders).Rows; got != cleanOpts.Orders {
		t.Errorf("%d orders, want %d", got, cleanOpts.Orders)
	}
}

var (
	reID       = regexp.MustCompile(`^[0-9a-f]{32}$`)
	reMoney    = regexp.MustCompile(`^\d+\.\d\d$`)
	reZip      = regexp.MustCompile(`^[1-9]\d{0,4}$`)
	reUF       = regexp.MustCompile(`^[A-Z]{2}$`)
	reCoord    = regexp.MustCompile(`^-?\d{1,2}\.\d+$`)
	reTS       = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	reCategory = regexp.MustCompile(`^[a-z0-9_]+$`)
)

func checkTS(t *testing.T, what, v string, optional bool) {
	t.Helper()
	if v == "" && optional {
		return
	}
	if !reTS.MatchString(v) {
		t.Fatalf("%s: bad timestamp %q", what, v)
	}
	if _, err := time.Parse(time.DateTime, v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestCleanValueFormats(t *testing.T) {
	dir, rep := generate(t, cleanOpts)
	type check struct {
		col   int
		re    *regexp.Regexp
		empty bool // may be empty
	}
	tests := []struct {
		source string
		checks []check
		ts     []int // timestamp columns
		tsOpt  []int // timestamp columns that may be empty
	}{
		{datagen.SourceOrders, []check{{0, reID, false}, {1, reID, false}}, []int{3, 7}, []int{4, 5, 6}},
		{datagen.SourceOrderItems, []check{{0, reID, false}, {2, reID, false}, {3, reID, false}, {5, reMoney, false}, {6, reMoney, false}}, []int{4}, nil},
		{datagen.SourceCustomers, []check{{0, reID, false}, {1, reID, false}, {2, reZip, false}, {4, reUF, false}}, nil, nil},
		{datagen.SourcePayments, []check{{0, reID, false}, {4, reMoney, false}}, nil, nil},
		{datagen.SourceProducts, []check{{0, reID, false}, {1, reCategory, true}}, nil, nil},
		{datagen.SourceSellers, []check{{0, reID, false}, {1, reZip, false}, {3, reUF, false}}, nil, nil},
		{datagen.SourceGeolocation, []check{{0, reZip, false}, {1, reCoord, false}, {2, reCoord, false}, {4, reUF, false}}, nil, nil},
		{datagen.SourceReviews, []check{{0, reID, false}, {1, reID, false}}, []int{5, 6}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			for _, rec := range records(t, dir, rep, tt.source) {
				for _, c := range tt.checks {
					v := rec[c.col]
					if v == "" && c.empty {
						continue
					}
					if !c.re.MatchString(v) {
						t.Fatalf("column %s: %q does not match %s (row %q)", headers[tt.source][c.col], v, c.re, rec)
					}
				}
				for _, c := range tt.ts {
					checkTS(t, headers[tt.source][c], rec[c], false)
				}
				for _, c := range tt.tsOpt {
					checkTS(t, headers[tt.source][c], rec[c], true)
				}
			}
		})
	}
}

func TestReferentialIntegrity(t *testing.T) {
	dir, rep := generate(t, cleanOpts)
	keys := func(name string, col int) map[string]bool {
		m := map[string]bool{}
		for _, r := range records(t, dir, rep, name) {
			if m[r[col]] {
				t.Fatalf("%s: duplicate key %s", name, r[col])
			}
			m[r[col]] = true
		}
		return m
	}
	orders := keys(datagen.SourceOrders, 0)
	customers := keys(datagen.SourceCustomers, 0)
	products := keys(datagen.SourceProducts, 0)
	sellers := keys(datagen.SourceSellers, 0)
	zips := map[string]bool{}
	for _, r := range records(t, dir, rep, datagen.SourceGeolocation) {
		zips[r[0]] = true
	}
	translated := keys(datagen.SourceCategoryTranslation, 0)

	tests := []struct {
		name   string
		source string
		col    int
		in     map[string]bool
	}{
		{"order's customer_id in customers", datagen.SourceOrders, 1, customers},
		{"item's order_id in orders", datagen.SourceOrderItems, 0, orders},
		{"item's product_id in products", datagen.SourceOrderItems, 2, products},
		{"item's seller_id in sellers", datagen.SourceOrderItems, 3, sellers},
		{"payment's order_id in orders", datagen.SourcePayments, 0, orders},
		{"review's order_id in orders", datagen.SourceReviews, 1, orders},
		{"customer zip in geolocation", datagen.SourceCustomers, 2, zips},
		{"seller zip in geolocation", datagen.SourceSellers, 1, zips},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range records(t, dir, rep, tt.source) {
				if !tt.in[r[tt.col]] {
					t.Fatalf("%s %q not found (row %q)", headers[tt.source][tt.col], r[tt.col], r)
				}
			}
		})
	}

	// Every customer belongs to exactly one order.
	if len(customers) != len(orders) {
		t.Errorf("%d customers for %d orders", len(customers), len(orders))
	}
	// Categories: ~70, two of them without translation.
	cats := map[string]bool{}
	for _, r := range records(t, dir, rep, datagen.SourceProducts) {
		if r[1] != "" {
			cats[r[1]] = true
		}
	}
	untranslated := 0
	for c := range cats {
		if !translated[c] {
			untranslated++
		}
	}
	if len(translated) < 65 || untranslated == 0 || untranslated > 2 {
		t.Errorf("%d translated categories, %d used categories untranslated", len(translated), untranslated)
	}
}

func TestOrdersLandInPurchaseMonth(t *testing.T) {
	dir, rep := generate(t, cleanOpts)
	re := regexp.MustCompile(`order_year=(\d+)/order_month=(\d+)/`)
	for _, f := range source(t, rep, datagen.SourceOrders).Files {
		m := re.FindStringSubmatch(f.Path)
		year, _ := strconv.Atoi(m[1])
		month, _ := strconv.Atoi(m[2])
		for _, r := range readStrict(t, filepath.Join(dir, filepath.FromSlash(f.Path)), headers[datagen.SourceOrders]) {
			ts, err := time.Parse(time.DateTime, r[3])
			if err != nil {
				t.Fatal(err)
			}
			if ts.Year() != year || int(ts.Month()) != month {
				t.Fatalf("%s holds order %s purchased %s", f.Path, r[0], r[3])
			}
			if ts.Before(datagen.DefaultStart) {
				t.Fatalf("order purchased %s before the default start", r[3])
			}
		}
	}
}

func TestDistributions(t *testing.T) {
	dir, rep := generate(t, cleanOpts)
	orders := records(t, dir, rep, datagen.SourceOrders)
	items := records(t, dir, rep, datagen.SourceOrderItems)
	customers := records(t, dir, rep, datagen.SourceCustomers)
	payments := records(t, dir, rep, datagen.SourcePayments)
	reviews := records(t, dir, rep, datagen.SourceReviews)
	products := records(t, dir, rep, datagen.SourceProducts)
	sellers := records(t, dir, rep, datagen.SourceSellers)
	geo := records(t, dir, rep, datagen.SourceGeolocation)
	n := float64(len(orders))

	count := func(recs [][]string, col int, v string) float64 {
		c := 0
		for _, r := range recs {
			if r[col] == v {
				c++
			}
		}
		return float64(c)
	}
	itemsPerOrder := map[string]int{}
	for _, r := range items {
		itemsPerOrder[r[0]]++
	}
	uniq := map[string]int{}
	for _, r := range customers {
		uniq[r[1]]++
	}
	repeat := 0
	for _, c := range uniq {
		if c > 1 {
			repeat++
		}
	}
	late, delivered := 0, 0
	for _, r := range orders {
		if r[2] == "delivered" && r[6] != "" {
			delivered++
			if r[6] > r[7] { // same layout: string order is time order
				late++
			}
			if r[6] < r[3] {
				t.Errorf("order %s delivered before purchase", r[0])
			}
		}
	}
	// Payments sum to the order total (items price + freight) for most orders.
	totals := map[string]int{}
	for _, r := range items {
		totals[r[0]] += cents(t, r[5]) + cents(t, r[6])
	}
	paid := map[string]int{}
	for _, r := range payments {
		paid[r[0]] += cents(t, r[4])
	}
	matching := 0
	for id, tot := range totals {
		if paid[id] == tot {
			matching++
		}
	}
	multiline, withComma := 0, 0
	for _, r := range reviews {
		if strings.Contains(r[4], "\n") {
			multiline++
		}
		if strings.Contains(r[4], ",") {
			withComma++
		}
	}
	geoCities := map[string]map[string]bool{}
	for _, r := range geo {
		if geoCities[r[0]] == nil {
			geoCities[r[0]] = map[string]bool{}
		}
		geoCities[r[0]][r[3]] = true
	}
	variantZips := 0
	for _, c := range geoCities {
		if len(c) > 1 {
			variantZips++
		}
	}

	tests := []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"delivered share", count(orders, 2, "delivered") / n, 0.94, 0.99},
		{"canceled share", count(orders, 2, "canceled") / n, 0.001, 0.02},
		{"orders without items", (n - float64(len(itemsPerOrder))) / n, 0.003, 0.03},
		{"items per order with items", float64(len(items)) / float64(len(itemsPerOrder)), 1.05, 1.3},
		{"repeat customer_unique_ids", float64(repeat) / n, 0.01, 0.06},
		{"late deliveries", float64(late) / float64(delivered), 0.04, 0.14},
		{"SP customers", count(customers, 4, "SP") / n, 0.36, 0.48},
		{"RJ customers", count(customers, 4, "RJ") / n, 0.09, 0.17},
		{"credit_card payments", count(payments, 2, "credit_card") / float64(len(payments)), 0.6, 0.85},
		{"boleto payments", count(payments, 2, "boleto") / float64(len(payments)), 0.12, 0.26},
		{"voucher payments", count(payments, 2, "voucher") / float64(len(payments)), 0.01, 0.1},
		{"payments matching order total", float64(matching) / float64(len(totals)), 0.95, 1},
		{"reviews per order", float64(len(reviews)) / n, 0.95, 1.05},
		{"score 5 share", count(reviews, 2, "5") / float64(len(reviews)), 0.45, 0.7},
		{"multi-line review messages", float64(multiline), 1, n},
		{"review messages with commas", float64(withComma), 1, n},
		{"products per order", float64(len(products)) / n, 0.3, 0.37},
		{"sellers per order", float64(len(sellers)) / n, 0.025, 0.04},
		{"products without category", count(products, 1, "") / float64(len(products)), 0.003, 0.04},
		{"geolocation rows per order", float64(len(geo)) / n, 7, 13},
		{"zip prefixes with several city spellings", float64(variantZips), 1, n},
	}
	for _, tt := range tests {
		if tt.got < tt.min || tt.got > tt.max {
			t.Errorf("%s = %.4f, want in [%g, %g]", tt.name, tt.got, tt.min, tt.max)
		}
	}
	if count(customers, 3, "são paulo") == 0 {
		t.Error(`no customer in "são paulo"`)
	}
}

func cents(t *testing.T, s string) int {
	t.Helper()
	i := strings.IndexByte(s, '.')
	if i < 0 || len(s)-i != 3 {
		t.Fatalf("bad money %q", s)
	}
	v, err := strconv.Atoi(s[:i] + s[i+1:])
	if err != nil {
		t.Fatalf("bad money %q", s)
	}
	return v
}

func TestDirty(t *testing.T) {
	dir, rep := generate(t, dirtyOpts)
	_, clean := generate(t, cleanOpts)

	total := rep.Dirt()
	kinds := []struct {
		name string
		n    int
	}{
		{"Duplicates", total.Duplicates}, {"NullKeys", total.NullKeys}, {"Malformed", total.Malformed},
		{"WrongTypes", total.WrongTypes}, {"Nulls", total.Nulls}, {"CityVariants", total.CityVariants},
		{"Relanded", total.Relanded},
	}
	for _, k := range kinds {
		if k.n == 0 {
			t.Errorf("no dirt of kind %s", k.name)
		}
	}
	if frac := float64(total.Total()) / float64(clean.Rows()); frac < 0.005 || frac > 0.03 {
		t.Errorf("dirt is %.2f%% of the rows, want ~1–2%%", 100*frac)
	}

	for _, s := range rep.Sources {
		t.Run(s.Name, func(t *testing.T) {
			sc := scanSource(t, dir, rep, s.Name)
			if len(sc.records) != s.Rows {
				t.Errorf("%d records, report says %d", len(sc.records), s.Rows)
			}
			// Injected extra rows only add to the clean rows.
			cs := source(t, clean, s.Name)
			extra := s.Dirt.Duplicates + s.Dirt.NullKeys + s.Dirt.Malformed + s.Dirt.Relanded
			if s.Rows != cs.Rows+extra {
				t.Errorf("%d rows = %d clean + %d extra?", s.Rows, cs.Rows, extra)
			}

			if sc.malformed != s.Dirt.Malformed {
				t.Errorf("scan finds %d malformed rows, report says %d", sc.malformed, s.Dirt.Malformed)
			}
			seen := map[string]bool{}
			dups, nullKeys := 0, 0
			for _, r := range sc.records {
				k := strings.Join(r, "\x00")
				if seen[k] {
					dups++
				}
				seen[k] = true
				if r[0] == "" {
					nullKeys++
				}
			}
			if dups != s.Dirt.Duplicates {
				t.Errorf("scan finds %d duplicate rows, report says %d", dups, s.Dirt.Duplicates)
			}
			if s.Name != datagen.SourceProducts && s.Name != datagen.SourceGeolocation && nullKeys != s.Dirt.NullKeys {
				t.Errorf("scan finds %d rows with an empty key, report says %d", nullKeys, s.Dirt.NullKeys)
			}
			wrong := 0
			for _, r := range sc.records {
				switch s.Name {
				case datagen.SourceOrders:
					if slices.Contains(r, "not-a-date") {
						wrong++
					}
				case datagen.SourceOrderItems:
					if len(r) > 5 && r[5] == "abc" {
						wrong++
					}
				case datagen.SourceReviews:
					if _, err := strconv.Atoi(r[2]); err != nil {
						wrong++
					}
				}
			}
			if wrong != s.Dirt.WrongTypes {
				t.Errorf("scan finds %d wrongly typed values, report says %d", wrong, s.Dirt.WrongTypes)
			}
		})
	}

	t.Run("relanded orders", func(t *testing.T) {
		sc := scanSource(t, dir, rep, datagen.SourceOrders)
		type landing struct {
			file   int
			status string
		}
		byID := map[string][]landing{}
		for i, r := range sc.records {
			if len(r) == 8 && r[0] != "" {
				byID[r[0]] = append(byID[r[0]], landing{sc.file[i], r[2]})
			}
		}
		relanded := 0
		for id, ls := range byID {
			files := map[int]bool{}
			for _, l := range ls {
				files[l.file] = true
			}
			if len(files) < 2 {
				continue
			}
			relanded++
			first, last := ls[0], ls[len(ls)-1]
			if last.file <= first.file || first.status == last.status {
				t.Errorf("order %s landed as %+v", id, ls)
			}
		}
		if relanded != rep.Dirt().Relanded {
			t.Errorf("scan finds %d re-landed orders, report says %d", relanded, rep.Dirt().Relanded)
		}
	})
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	t.Run("default orders", func(t *testing.T) {
		rep, err := datagen.Generate(ctx, t.TempDir(), datagen.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := source(t, rep, datagen.SourceOrders).Rows; got != datagen.DefaultOrders {
			t.Errorf("%d orders, want %d", got, datagen.DefaultOrders)
		}
	})
	t.Run("negative orders", func(t *testing.T) {
		if _, err := datagen.Generate(ctx, t.TempDir(), datagen.Options{Orders: -1}); err == nil {
			t.Error("no error")
		}
	})
	t.Run("start", func(t *testing.T) {
		start := time.Date(2020, 3, 15, 12, 0, 0, 0, time.UTC)
		dir := t.TempDir()
		rep, err := datagen.Generate(ctx, dir, datagen.Options{Orders: 200, Seed: 3, Start: start})
		if err != nil {
			t.Fatal(err)
		}
		files := source(t, rep, datagen.SourceOrders).Files
		if want := "orders/order_year=2020/order_month=3/olist_orders_dataset.csv"; files[0].Path != want {
			t.Errorf("first orders file %s, want %s", files[0].Path, want)
		}
		for _, r := range records(t, dir, rep, datagen.SourceOrders) {
			ts, _ := time.Parse(time.DateTime, r[3])
			if ts.Before(start) || ts.After(start.AddDate(2, 1, 0)) {
				t.Fatalf("purchase %s outside two years from %s", r[3], start)
			}
		}
	})
	t.Run("tiny", func(t *testing.T) {
		dir := t.TempDir()
		rep, err := datagen.Generate(ctx, dir, datagen.Options{Orders: 1, Seed: 5, Dirty: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows() == 0 {
			t.Error("nothing written")
		}
	})
	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		dir := t.TempDir()
		if _, err := datagen.Generate(cctx, dir, datagen.Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if files := tree(t, dir); len(files) != 0 {
			t.Errorf("canceled run left %d files", len(files))
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := datagen.Generate(context.Background(), dir, datagen.Options{Orders: 10_000, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
