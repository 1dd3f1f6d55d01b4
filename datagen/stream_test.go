package datagen_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
)

// stClock is a fake clock: Sleep advances it at once.
type stClock struct {
	mu     sync.Mutex
	now    time.Time
	slept  time.Duration
	sleeps int
	// onSleep, if set, is called at each Sleep with the time before it.
	onSleep func(now time.Time, d time.Duration)
}

func newSTClock() *stClock { return &stClock{now: csStart} }

func (c *stClock) clock() datagen.Clock {
	return datagen.Clock{
		Now: func() time.Time {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.now
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			c.mu.Lock()
			f, now := c.onSleep, c.now
			c.mu.Unlock()
			if f != nil {
				f(now, d)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if d <= 0 {
				panic("non-positive sleep")
			}
			c.now = c.now.Add(d)
			c.slept += d
			c.sleeps++
			return nil
		},
	}
}

func (c *stClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// The Olist headers, exactly.
var stHeaders = map[string][]string{
	datagen.SourceOrders: {"order_id", "customer_id", "order_status", "order_purchase_timestamp",
		"order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date",
		"order_estimated_delivery_date"},
	datagen.SourceOrderItems: {"order_id", "order_item_id", "product_id", "seller_id",
		"shipping_limit_date", "price", "freight_value"},
}

var (
	stOrdersName = regexp.MustCompile(`^orders/order_year=(\d{4})/order_month=([1-9]|1[0-2])/olist_orders_dataset_part-(\d{5})\.csv$`)
	stItemsName  = regexp.MustCompile(`^order_items/olist_order_items_dataset_part-(\d{5})\.csv$`)
	stEventsName = regexp.MustCompile(`^clickstream/clickstream_events_part-\d{6}\.jsonl$`)
)

// stLines returns a generated file's data lines (header dropped); it is
// only for files without line breaks inside fields.
func stLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("%s: empty or not ending in a newline", name)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	return lines[1:]
}

// stCSV parses a file strictly with encoding/csv and checks its header.
func stCSV(t testing.TB, name string, header []string) [][]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = len(header)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], header) {
		t.Fatalf("%s: header %v, want %v", name, recs[:min(1, len(recs))], header)
	}
	return recs[1:]
}

// stNoHidden fails if anything hidden (a temporary file, the staging
// folder) is left under dir.
func stNoHidden(t testing.TB, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func stRun(t testing.TB, opts datagen.StreamOptions) datagen.StreamReport {
	t.Helper()
	rep, err := datagen.Stream(context.Background(), opts)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return rep
}

func stSource(t testing.TB, rep datagen.StreamReport, name string) datagen.SourceReport {
	t.Helper()
	s, ok := rep.Source(name)
	if !ok {
		t.Fatalf("report has no source %s", name)
	}
	return s
}

// TestStreamReplayEqualsGenerate: the replay lands, byte for byte and in
// order, the rows Generate writes for the same options, in files of
// OrdersPerFile orders in their purchase month's folder, each with the
// items of its orders; the static sources are Generate's files.
func TestStreamReplayEqualsGenerate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    datagen.Options
		perFile int
	}{
		{"clean 1000 by 100", datagen.Options{Orders: 1000, Seed: 3}, 0},
		{"clean 2500 by 37", datagen.Options{Orders: 2500, Seed: 9}, 37},
		{"clean 150 by 1000", datagen.Options{Orders: 150, Seed: 1}, 1000},
		{"clean start", datagen.Options{Orders: 300, Seed: 2, Start: time.Date(2021, 12, 30, 22, 0, 0, 0, time.UTC)}, 25},
		{"dirty 2000 by 50", datagen.Options{Orders: 2000, Seed: 4, Dirty: true}, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			genDir, out := t.TempDir(), t.TempDir()
			gen, err := datagen.Generate(context.Background(), genDir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			rep := stRun(t, datagen.StreamOptions{Out: out, Orders: tc.opts.Orders, Seed: tc.opts.Seed,
				Start: tc.opts.Start, Dirty: tc.opts.Dirty, OrdersPerFile: tc.perFile, Clock: newSTClock().clock()})
			stNoHidden(t, out)
			perFile := stOr(tc.perFile, datagen.DefaultOrdersPerFile)

			// Static sources: Generate's files.
			for _, name := range []string{datagen.SourceCustomers, datagen.SourcePayments, datagen.SourceProducts,
				datagen.SourceSellers, datagen.SourceGeolocation, datagen.SourceCategoryTranslation, datagen.SourceReviews} {
				g, _ := gen.Source(name)
				s := stSource(t, rep, name)
				if !slices.Equal(s.Files, g.Files) || s.Rows != g.Rows || s.Dirt != g.Dirt {
					t.Errorf("%s: report %+v, Generate's %+v", name, s, g)
				}
				for _, f := range g.Files {
					a, _ := os.ReadFile(filepath.Join(genDir, f.Path))
					b, err := os.ReadFile(filepath.Join(out, f.Path))
					if err != nil || !bytes.Equal(a, b) {
						t.Errorf("%s differs from Generate's (%v)", f.Path, err)
					}
				}
			}

			// Orders and items: the same rows in the same order.
			concat := func(dir string, files []datagen.FileReport) []string {
				var all []string
				for _, f := range files {
					all = append(all, stLines(t, filepath.Join(dir, f.Path))...)
				}
				return all
			}
			gOrders, gItems := stSourceOf(gen, datagen.SourceOrders), stSourceOf(gen, datagen.SourceOrderItems)
			rOrders, rItems := stSource(t, rep, datagen.SourceOrders), stSource(t, rep, datagen.SourceOrderItems)
			want, got := concat(genDir, gOrders.Files), concat(out, rOrders.Files)
			if !slices.Equal(got, want) {
				t.Fatalf("replayed orders (%d rows) differ from Generate's (%d rows)", len(got), len(want))
			}
			if rep.Orders != len(want) || rOrders.Rows != len(want) || rOrders.Dirt != gOrders.Dirt {
				t.Errorf("report: %d orders, orders source %d rows, dirt %+v; want %d and %+v", rep.Orders, rOrders.Rows, rOrders.Dirt, len(want), gOrders.Dirt)
			}
			if got, want := concat(out, rItems.Files), concat(genDir, gItems.Files); !slices.Equal(got, want) {
				t.Fatalf("replayed items (%d rows) differ from Generate's (%d rows)", len(got), len(want))
			}
			if rItems.Dirt != gItems.Dirt {
				t.Errorf("items dirt %+v, want %+v", rItems.Dirt, gItems.Dirt)
			}

			// Files: names, sizes, months, and items consistent with their orders.
			itemsOf := map[string]string{} // part → items file
			for _, f := range rItems.Files {
				m := stItemsName.FindStringSubmatch(f.Path)
				if m == nil {
					t.Fatalf("items file name %s", f.Path)
				}
				itemsOf[m[1]] = f.Path
			}
			var lastPurchase string
			seenParts := map[string]bool{}
			for i, f := range rOrders.Files {
				m := stOrdersName.FindStringSubmatch(f.Path)
				if m == nil {
					t.Fatalf("orders file name %s", f.Path)
				}
				if want := fmt.Sprintf("%05d", i); m[3] != want {
					t.Fatalf("orders file %d is part %s", i, m[3])
				}
				seenParts[m[3]] = true
				if f.Rows < 1 || f.Rows > perFile {
					t.Errorf("%s: %d orders, want 1..%d", f.Path, f.Rows, perFile)
				}
				ids := map[string]bool{}
				if tc.opts.Dirty {
					for _, l := range stLines(t, filepath.Join(out, f.Path)) {
						ids[strings.SplitN(l, ",", 2)[0]] = true
					}
				} else {
					recs := stCSV(t, filepath.Join(out, f.Path), stHeaders[datagen.SourceOrders])
					if len(recs) != f.Rows {
						t.Errorf("%s: %d rows, report says %d", f.Path, len(recs), f.Rows)
					}
					for _, r := range recs {
						ids[r[0]] = true
						ym := r[3][:4] + "/" + strings.TrimPrefix(r[3][5:7], "0")
						if ym != m[1]+"/"+m[2] {
							t.Errorf("%s: order %s purchased %s", f.Path, r[0], r[3])
						}
						if r[3] < lastPurchase {
							t.Errorf("%s: order %s purchased %s, before the previous one (%s)", f.Path, r[0], r[3], lastPurchase)
						}
						lastPurchase = r[3]
					}
				}
				if ip, ok := itemsOf[m[3]]; ok {
					var itemIDs []string
					if tc.opts.Dirty {
						for _, l := range stLines(t, filepath.Join(out, ip)) {
							// Legit rows only: dirt has an empty or junk id or the wrong field count.
							if fs := strings.Split(l, ","); len(fs) == 7 && fs[0] != "" && !strings.Contains(fs[0], `"`) {
								itemIDs = append(itemIDs, fs[0])
							}
						}
					} else {
						for _, r := range stCSV(t, filepath.Join(out, ip), stHeaders[datagen.SourceOrderItems]) {
							itemIDs = append(itemIDs, r[0])
						}
					}
					for _, id := range itemIDs {
						if !ids[id] {
							t.Fatalf("%s: item of order %s, not in %s", ip, id, f.Path)
						}
					}
				}
			}
			for p := range itemsOf {
				if !seenParts[p] {
					t.Errorf("items part %s has no orders file", p)
				}
			}
			// Short files only at the end of a month.
			for i, f := range rOrders.Files[:len(rOrders.Files)-1] {
				if f.Rows < perFile && path.Dir(f.Path) == path.Dir(rOrders.Files[i+1].Path) {
					t.Errorf("%s has %d orders and is not the last of its month", f.Path, f.Rows)
				}
			}
		})
	}
}

func stOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func stSourceOf(rep datagen.Report, name string) datagen.SourceReport {
	s, _ := rep.Source(name)
	return s
}

// TestStreamAtomic watches the landing zone while Stream writes it: every
// visible file is complete (it parses strictly with its full header), the
// static sources are all there before the first orders file, and an orders
// file's items file is there before it.
func TestStreamAtomic(t *testing.T) {
	out := t.TempDir()
	var (
		done      atomic.Bool
		snapshots int
		problems  []string
		seenFiles = map[string]bool{}
		wg        sync.WaitGroup
	)
	static := []string{"customers/olist_customers_dataset.csv", "payments/olist_order_payments_dataset.csv",
		"products/olist_products_dataset.csv", "sellers/olist_sellers_dataset.csv",
		"geolocation/olist_geolocation_dataset.csv", "category_translation/product_category_name_translation.csv",
		"reviews/olist_order_reviews_dataset.csv"}
	visible := func(dir string) []string {
		var files []string
		filepath.WalkDir(filepath.Join(out, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // not there yet, or a temporary file renamed meanwhile
			}
			if strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(out, p)
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		return files
	}
	complete := func(rel string) {
		if seenFiles[rel] {
			return
		}
		b, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			problems = append(problems, err.Error())
			return
		}
		header := stHeaders[strings.SplitN(rel, "/", 2)[0]]
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord = len(header)
		recs, err := r.ReadAll()
		if err != nil || len(recs) < 2 || !slices.Equal(recs[0], header) || b[len(b)-1] != '\n' {
			problems = append(problems, fmt.Sprintf("%s seen incomplete (%d bytes, %v)", rel, len(b), err))
		}
		seenFiles[rel] = true
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			// Orders first: what lands before them is then visible too.
			orders := visible("orders")
			items := visible("order_items")
			have := map[string]bool{}
			for _, f := range items {
				have[f] = true
			}
			for _, f := range static {
				if _, err := os.Stat(filepath.Join(out, f)); err == nil {
					have[f] = true
				}
			}
			for _, f := range orders {
				complete(f)
				for _, s := range static {
					if !have[s] {
						problems = append(problems, fmt.Sprintf("%s visible before %s", f, s))
					}
				}
				part := stOrdersName.FindStringSubmatch(f)[3]
				seenFiles["orders part "+part] = true
				if !have["order_items/olist_order_items_dataset_part-"+part+".csv"] {
					seenFiles["no items yet "+part] = true
				}
			}
			for _, f := range items {
				complete(f)
			}
			snapshots++
		}
	}()
	rep := stRun(t, datagen.StreamOptions{Out: out, Orders: 4000, Seed: 8, OrdersPerFile: 10, Clock: newSTClock().clock()})
	done.Store(true)
	wg.Wait()
	for _, p := range problems[:min(10, len(problems))] {
		t.Error(p)
	}
	// Orders files seen without their items file must be files without items.
	items := stSource(t, rep, datagen.SourceOrderItems)
	for _, f := range items.Files {
		part := stItemsName.FindStringSubmatch(f.Path)[1]
		if seenFiles["no items yet "+part] {
			t.Errorf("orders part %s visible before its items file", part)
		}
	}
	stNoHidden(t, out)
	t.Logf("%d snapshots of the landing zone, %d orders files", snapshots, len(stSource(t, rep, datagen.SourceOrders).Files))
}

// stLandedRows counts the order rows landed under out.
func stLandedRows(t testing.TB, out string) int {
	n := 0
	filepath.WalkDir(filepath.Join(out, "orders"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			n += len(stLines(t, p))
		}
		return nil
	})
	return n
}

// TestStreamPace: N orders at R per second ask the clock to sleep N/R
// seconds in all, and at any time t the files landed hold the orders due
// by then (R·t, rounded down to whole files).
func TestStreamPace(t *testing.T) {
	for _, tc := range []struct {
		name            string
		orders, perFile int
		rate            float64
		duration        time.Duration
		wantOrders      int
		wantSlept       time.Duration
	}{
		{"1000 at 50/s", 1000, 100, 50, 0, 1000, 20 * time.Second},
		{"1000 by 7 at 333/s", 1000, 7, 333, 0, 1000, 3003003003 * time.Nanosecond},
		{"3000 at 1000/s", 3000, 0, 1000, 0, 3000, 3 * time.Second},
		{"as fast as possible", 500, 100, 0, 0, 500, 0},
		{"stopped by Duration", 1000, 100, 10, 35 * time.Second, 350, 35 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			clk := newSTClock()
			perFile := stOr(tc.perFile, datagen.DefaultOrdersPerFile)
			clk.onSleep = func(now time.Time, d time.Duration) {
				landed := stLandedRows(t, out)
				el := now.Sub(csStart).Seconds()
				due := tc.rate * el
				if float64(landed) > due+1e-6 || float64(landed) < due-float64(perFile)-1e-6 {
					t.Errorf("at %.3fs: %d orders landed, %.1f due", el, landed, due)
				}
			}
			rep := stRun(t, datagen.StreamOptions{Out: out, Orders: tc.orders, Seed: 1, OrdersPerFile: tc.perFile,
				OrdersPerSecond: tc.rate, Duration: tc.duration, Clock: clk.clock()})
			landed := stLandedRows(t, out)
			if rep.Orders != landed {
				t.Errorf("%d orders reported, %d landed", rep.Orders, landed)
			}
			// Files end at month ends too, so a stop lands whole files up to
			// the orders due then.
			if landed > tc.wantOrders || landed <= tc.wantOrders-perFile || tc.duration == 0 && landed != tc.orders {
				t.Errorf("%d orders landed, want %d (less a file at most when stopped)", landed, tc.wantOrders)
			}
			if d := clk.slept - tc.wantSlept; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("slept %v, want %v", clk.slept, tc.wantSlept)
			}
			if rep.Slept != clk.slept || rep.Elapsed != clk.slept {
				t.Errorf("report: slept %v, elapsed %v; clock slept %v", rep.Slept, rep.Elapsed, clk.slept)
			}
			t.Logf("%d sleeps, %v in all", clk.sleeps, clk.slept)
		})
	}
}

// stReadEvents parses JSON-lines event files.
func stReadEvents(t testing.TB, out string, files []datagen.FileReport) []datagen.Event {
	t.Helper()
	var evs []datagen.Event
	for _, f := range files {
		if !stEventsName.MatchString(f.Path) {
			t.Fatalf("events file name %s", f.Path)
		}
		fh, err := os.Open(filepath.Join(out, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		n := 0
		for sc.Scan() {
			var e datagen.Event
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil {
				t.Fatalf("%s line %d: %v", f.Path, n+1, err)
			}
			evs = append(evs, e)
			n++
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if n != f.Rows {
			t.Errorf("%s: %d lines, report says %d", f.Path, n, f.Rows)
		}
	}
	return evs
}

// TestStreamEventFiles: the clickstream as JSON-lines files, rolled every
// EventsPerFile events or every EventFileInterval, at the given rate.
func TestStreamEventFiles(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rate       float64
		perFile    int
		interval   time.Duration
		duration   time.Duration
		minF, maxF int // files
	}{
		{"rolled every second", 200, 1000, 0, 30 * time.Second, 29, 31},
		{"rolled every 50 events", 200, 50, 0, 30 * time.Second, 100, 160},
		{"rolled every 5 seconds", 20, 0, 5 * time.Second, time.Minute, 12, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func() (string, datagen.StreamReport, *stClock) {
				out := t.TempDir()
				clk := newSTClock()
				rep := stRun(t, datagen.StreamOptions{Out: out, Orders: -1, Seed: 5, EventsPerSecond: tc.rate,
					EventFiles: true, EventsPerFile: tc.perFile, EventFileInterval: tc.interval,
					Duration: tc.duration, Clock: clk.clock()})
				return out, rep, clk
			}
			out, rep, clk := run()
			stNoHidden(t, out)
			src := stSource(t, rep, datagen.SourceClickstream)
			if n := len(src.Files); n < tc.minF || n > tc.maxF {
				t.Errorf("%d files, want %d..%d", n, tc.minF, tc.maxF)
			}
			evs := stReadEvents(t, out, src.Files)
			if len(evs) != rep.Events || src.Rows != rep.Events {
				t.Errorf("%d events in files, report says %d (source rows %d)", len(evs), rep.Events, src.Rows)
			}
			want := tc.rate * tc.duration.Seconds()
			if math.Abs(float64(len(evs))/want-1) > 0.25 {
				t.Errorf("%d events in %v at %v/s", len(evs), tc.duration, tc.rate)
			}
			for _, f := range src.Files {
				if f.Rows > stOr(tc.perFile, datagen.DefaultEventsPerFile) || f.Rows == 0 {
					t.Errorf("%s: %d events", f.Path, f.Rows)
				}
			}
			end := csStart.Add(tc.duration)
			for _, e := range evs {
				if e.Time.Before(csStart) || e.Time.After(end) {
					t.Fatalf("event at %v, outside the run [%v, %v]", e.Time, csStart, end)
				}
			}
			if rep.Elapsed != tc.duration || clk.Now() != end {
				t.Errorf("elapsed %v, clock at %v", rep.Elapsed, clk.Now())
			}
			if _, ok := rep.Source(datagen.SourceOrders); ok {
				t.Error("orders reported in a clickstream-only run")
			}
			// Deterministic for a seed and a clock.
			out2, rep2, _ := run()
			if evs2 := stReadEvents(t, out2, stSource(t, rep2, datagen.SourceClickstream).Files); !slices.Equal(evs, evs2) {
				t.Error("two runs with the same options and clock differ")
			}
			t.Logf("%d events (%d late) in %d files", rep.Events, rep.LateEvents, len(src.Files))
		})
	}
}

// TestStreamEventsSink: orders and clickstream together; events are emitted
// when the clock reaches their event time (late ones after newer ones),
// with ids from the landed customers and products; ending ctx after the
// orders is a normal end.
func TestStreamEventsSink(t *testing.T) {
	out := t.TempDir()
	clk := newSTClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const minLate = 20 * time.Second
	var evs []datagen.Event
	var newest time.Time
	late := 0
	sink := func(e datagen.Event) error {
		now := clk.Now()
		if e.Time.After(now) {
			t.Fatalf("event at %v emitted at %v, before its time", e.Time, now)
		}
		if e.Time.Before(newest) {
			late++
			if !e.Time.Before(newest.Add(-minLate)) {
				t.Fatalf("late event at %v, newest %v: not more than %v late", e.Time, newest, minLate)
			}
		} else {
			newest = e.Time
		}
		evs = append(evs, e)
		if now.Sub(csStart) >= 40*time.Second {
			cancel()
		}
		return nil
	}
	rep, err := datagen.Stream(ctx, datagen.StreamOptions{Out: out, Orders: 1000, Seed: 6, OrdersPerSecond: 50,
		Events: sink, EventsPerSecond: 100, Clickstream: datagen.ClickstreamOptions{LateFraction: 0.05, MinLateness: minLate},
		Clock: clk.clock()})
	if err != nil {
		t.Fatalf("Stream ended by ctx after the orders: %v", err)
	}
	if rep.Orders != 1000 {
		t.Errorf("%d orders landed", rep.Orders)
	}
	if rep.Events != len(evs) || rep.LateEvents != late {
		t.Errorf("report: %d events, %d late; sink saw %d, %d late", rep.Events, rep.LateEvents, len(evs), late)
	}
	if math.Abs(float64(len(evs))/4000-1) > 0.25 || late == 0 {
		t.Errorf("%d events (%d late) in 40 s at 100/s", len(evs), late)
	}
	ids := func(rel string) map[string]bool {
		m := map[string]bool{}
		for _, l := range stLines(t, filepath.Join(out, rel)) {
			m[strings.SplitN(l, ",", 2)[0]] = true
		}
		return m
	}
	customers, products := ids("customers/olist_customers_dataset.csv"), ids("products/olist_products_dataset.csv")
	for _, e := range evs {
		if !customers[e.CustomerID] || !products[e.ProductID] {
			t.Fatalf("event %+v: customer or product not in the landing zone", e)
		}
	}
	if _, ok := rep.Source(datagen.SourceClickstream); ok {
		t.Error("clickstream files reported with a sink")
	}
	stNoHidden(t, out)
}

func TestStreamStops(t *testing.T) {
	t.Run("ctx before the orders are replayed", func(t *testing.T) {
		out := t.TempDir()
		clk := newSTClock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var canceledAt time.Duration
		clk.onSleep = func(now time.Time, d time.Duration) {
			if el := now.Sub(csStart); el >= 5*time.Second && canceledAt == 0 {
				canceledAt = el
				cancel()
			}
		}
		rep, err := datagen.Stream(ctx, datagen.StreamOptions{Out: out, Orders: 1000, OrdersPerSecond: 100, Clock: clk.clock()})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		due := int(100 * canceledAt.Seconds())
		if landed := stLandedRows(t, out); rep.Orders != landed || landed > due || landed <= due-100 {
			t.Errorf("%d orders reported, %d landed; %d were due when ctx ended", rep.Orders, landed, due)
		}
		stNoHidden(t, out)
	})
	t.Run("sink error", func(t *testing.T) {
		out := t.TempDir()
		boom := errors.New("boom")
		n := 0
		rep, err := datagen.Stream(context.Background(), datagen.StreamOptions{Out: out, Orders: -1, EventsPerSecond: 10,
			Events: func(datagen.Event) error {
				if n++; n == 25 {
					return boom
				}
				return nil
			}, Clock: newSTClock().clock()})
		if !errors.Is(err, boom) || rep.Events != 24 {
			t.Errorf("err = %v, %d events; want boom after 24", err, rep.Events)
		}
	})
	t.Run("event file landed at ctx end", func(t *testing.T) {
		out := t.TempDir()
		clk := newSTClock()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clk.onSleep = func(now time.Time, d time.Duration) {
			if now.Sub(csStart) >= 3500*time.Millisecond {
				cancel()
			}
		}
		rep, err := datagen.Stream(ctx, datagen.StreamOptions{Out: out, Orders: -1, EventsPerSecond: 100, EventFiles: true,
			EventFileInterval: time.Hour, Clock: clk.clock()})
		if err != nil {
			t.Fatal(err)
		}
		src := stSource(t, rep, datagen.SourceClickstream)
		if len(src.Files) != 1 || len(stReadEvents(t, out, src.Files)) != rep.Events || rep.Events == 0 {
			t.Errorf("files %+v, %d events", src.Files, rep.Events)
		}
		stNoHidden(t, out)
	})
}

func TestStreamOptionErrors(t *testing.T) {
	dir := t.TempDir()
	sink := func(datagen.Event) error { return nil }
	for _, tc := range []struct {
		name string
		opts datagen.StreamOptions
	}{
		{"no out", datagen.StreamOptions{}},
		{"negative rate", datagen.StreamOptions{Out: dir, OrdersPerSecond: -1}},
		{"NaN events rate", datagen.StreamOptions{Out: dir, EventsPerSecond: math.NaN(), Events: sink}},
		{"negative per file", datagen.StreamOptions{Out: dir, OrdersPerFile: -1}},
		{"negative duration", datagen.StreamOptions{Out: dir, Duration: -time.Second}},
		{"events without sink", datagen.StreamOptions{Out: dir, EventsPerSecond: 5}},
		{"nothing to do", datagen.StreamOptions{Out: dir, Orders: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := datagen.Stream(context.Background(), tc.opts); err == nil {
				t.Error("no error")
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("invalid options wrote %d entries", len(entries))
	}
}

// stTree reads every file under dir: relative path → bytes and
// modification time.
func stTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = info.ModTime().String() + "\x00" + string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStreamResumes: a replay stopped part-way and started again with the
// same options (even another file size) keeps every file already landed
// as it was (same bytes, same modification time), lands only the orders
// not landed yet, in parts numbered after the earlier ones, and ends with
// Generate's rows exactly once. A replay of other options into the same
// folder fails naming a file and writes nothing.
func TestStreamResumes(t *testing.T) {
	genDir, out := t.TempDir(), t.TempDir()
	gopts := datagen.Options{Orders: 1200, Seed: 5, Dirty: true}
	gen, err := datagen.Generate(context.Background(), genDir, gopts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var firstTotal int
	first, err := datagen.Stream(ctx, datagen.StreamOptions{Out: out, Orders: gopts.Orders, Seed: gopts.Seed, Dirty: true,
		OrdersPerFile: 70, EventsPerSecond: 50, EventFiles: true, EventsPerFile: 20, Clock: newSTClock().clock(),
		Progress: func(landed, total int, done bool) {
			firstTotal = total
			if landed >= 500 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first replay: %v, want context.Canceled", err)
	}
	gOrders := stSourceOf(gen, datagen.SourceOrders)
	if first.Orders < 500 || first.Orders >= gOrders.Rows || firstTotal != gOrders.Rows {
		t.Fatalf("first replay landed %d of %d orders (total reported %d), want a part of them", first.Orders, gOrders.Rows, firstTotal)
	}
	before := stTree(t, out)
	firstEvents := len(stSource(t, first, datagen.SourceClickstream).Files)

	var progress []int
	var doneSeen bool
	second, err := datagen.Stream(context.Background(), datagen.StreamOptions{Out: out, Orders: gopts.Orders, Seed: gopts.Seed, Dirty: true,
		OrdersPerFile: 110, Clock: newSTClock().clock(),
		Progress: func(landed, total int, done bool) { progress = append(progress, landed); doneSeen = doneSeen || done }})
	if err != nil {
		t.Fatalf("second replay: %v", err)
	}
	if second.Resumed != first.Orders || second.Orders != gOrders.Rows-first.Orders {
		t.Errorf("second replay resumed %d and landed %d orders; want %d and %d", second.Resumed, second.Orders, first.Orders, gOrders.Rows-first.Orders)
	}
	if len(progress) == 0 || progress[0] != first.Orders || progress[len(progress)-1] != gOrders.Rows || !doneSeen {
		t.Errorf("progress %v (done %v): want it to start at %d and end, done, at %d", progress, doneSeen, first.Orders, gOrders.Rows)
	}
	after := stTree(t, out)
	for rel, v := range before {
		if after[rel] != v {
			t.Errorf("%s was rewritten by the resumed replay", rel)
		}
	}
	stNoHidden(t, out)

	// All orders files in part order: Generate's rows, once.
	var parts []string
	for rel := range after {
		if stOrdersName.MatchString(rel) {
			parts = append(parts, rel)
		}
	}
	slices.SortFunc(parts, func(a, b string) int {
		return strings.Compare(stOrdersName.FindStringSubmatch(a)[3], stOrdersName.FindStringSubmatch(b)[3])
	})
	var got, want []string
	for _, p := range parts {
		got = append(got, stLines(t, filepath.Join(out, p))...)
	}
	for _, f := range gOrders.Files {
		want = append(want, stLines(t, filepath.Join(genDir, f.Path))...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("orders after resuming: %d rows, want Generate's %d rows in order", len(got), len(want))
	}
	var gotItems, wantItems []string
	for rel := range after {
		if strings.HasPrefix(rel, datagen.SourceOrderItems+"/") {
			gotItems = append(gotItems, stLines(t, filepath.Join(out, rel))...)
		}
	}
	for _, f := range stSourceOf(gen, datagen.SourceOrderItems).Files {
		wantItems = append(wantItems, stLines(t, filepath.Join(genDir, f.Path))...)
	}
	slices.Sort(gotItems)
	slices.Sort(wantItems)
	if !slices.Equal(gotItems, wantItems) {
		t.Errorf("items after resuming: %d rows, want Generate's %d", len(gotItems), len(wantItems))
	}

	// A clickstream resumed numbers its files after the earlier ones.
	third, err := datagen.Stream(context.Background(), datagen.StreamOptions{Out: out, Orders: gopts.Orders, Seed: gopts.Seed, Dirty: true,
		EventsPerSecond: 50, EventFiles: true, EventsPerFile: 20, Duration: 2 * time.Second, Clock: newSTClock().clock()})
	if err != nil {
		t.Fatalf("third replay: %v", err)
	}
	ev := stSource(t, third, datagen.SourceClickstream)
	if len(ev.Files) == 0 || ev.Files[0].Path != fmt.Sprintf("clickstream/clickstream_events_part-%06d.jsonl", firstEvents) {
		t.Errorf("resumed clickstream files %v, want them to start at part %d", ev.Files, firstEvents)
	}
	if third.Orders != 0 || third.Resumed != gOrders.Rows {
		t.Errorf("third replay landed %d and resumed %d orders, want 0 and %d", third.Orders, third.Resumed, gOrders.Rows)
	}

	// Other options: an error naming a file, nothing written.
	before = stTree(t, out)
	_, err = datagen.Stream(context.Background(), datagen.StreamOptions{Out: out, Orders: gopts.Orders, Seed: 6, Clock: newSTClock().clock()})
	if err == nil || !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), "other") {
		t.Errorf("replay of another seed into the folder: %v, want an error naming the file", err)
	}
	if after := stTree(t, out); !maps.Equal(after, before) {
		t.Errorf("the refused replay changed the folder")
	}
}
