package datagen

import (
	"bufio"
	"bytes"
	"context"
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
	"strconv"
	"time"
)

// SourceClickstream is the landing folder of clickstream JSON-lines files
// (Stream with EventFiles).
const SourceClickstream = "clickstream"

// Stream defaults.
const (
	DefaultOrdersPerFile     = 100
	DefaultEventsPerFile     = 10_000
	DefaultEventFileInterval = time.Second
)

// maxIDPool caps the customer and product ids Stream reads from the
// generated data for the clickstream (an even sample beyond it).
const maxIDPool = 100_000

// Clock is the time source of Stream. A nil field means the real one
// (time.Now; a sleep that ends early, with ctx.Err(), when ctx ends). Tests
// inject a fake clock so that nothing really sleeps.
type Clock struct {
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// StreamOptions configure Stream. Zero values take the defaults.
type StreamOptions struct {
	// Out is the landing folder (created if needed). A folder that holds
	// an earlier replay of the same Orders, Seed, Start and Dirty resumes
	// it: the files already there are kept as they are (not rewritten),
	// the orders they hold are not landed again, and the replay goes on
	// with the next order (see Stream). An earlier replay of other options
	// is an error.
	Out string
	// Orders is the number of orders to replay (Options.Orders of the
	// underlying Generate); default DefaultOrders. Negative: no orders and
	// no Olist files at all, the clickstream only.
	Orders int
	// Seed, Start and Dirty are Generate's Options: the replayed rows are
	// those Generate writes for them.
	Seed  int64
	Start time.Time
	Dirty bool
	// OrdersPerSecond paces the replay in wall-clock time: the file that
	// brings the replayed order rows to a total of C lands at C /
	// OrdersPerSecond seconds after the replay started (after the static
	// sources). 0 = as fast as possible.
	OrdersPerSecond float64
	// OrdersPerFile is the number of order rows in each landed orders file
	// (fewer in the last file of a month); default DefaultOrdersPerFile.
	OrdersPerFile int
	// Events receives the clickstream, in emission order; an error stops
	// Stream. May be nil (see EventFiles).
	Events func(Event) error
	// EventsPerSecond is the mean clickstream rate (events per second of
	// both event time and wall-clock time); 0 = no clickstream.
	EventsPerSecond float64
	// EventFiles, when Events is nil, writes the clickstream as JSON-lines
	// files (one Event.JSON per line) under Out/clickstream/, named
	// clickstream_events_part-NNNNNN.jsonl, each closed after EventsPerFile
	// events (default DefaultEventsPerFile) or EventFileInterval (default
	// DefaultEventFileInterval) after its first event, whichever is first.
	EventFiles        bool
	EventsPerFile     int
	EventFileInterval time.Duration
	// Clickstream configures the events. Its Rate and SessionsPerMinute
	// are replaced by EventsPerSecond; a zero Seed means Seed; a zero Start
	// means the clock's time when the replay starts; empty Customers and
	// Products mean customer_id and product_id values sampled from the
	// generated customers and products files (up to 100,000 of each, at an
	// even stride), synthetic ids when Orders < 0.
	Clickstream ClickstreamOptions
	// Duration stops the stream that long after it started (the static
	// sources written). 0: stop when the orders are all replayed or, with
	// a clickstream, when ctx ends.
	Duration time.Duration
	// Clock is the time source; see Clock.
	Clock Clock
	// Progress, when set, is called after each orders file lands, and once
	// when the orders are all replayed (done), with the order rows landed
	// so far (those of an earlier replay included) and the total to
	// replay.
	Progress func(landed, total int, done bool)
}

// StreamReport says what Stream wrote.
type StreamReport struct {
	// Sources: with Orders ≥ 0 the Olist sources in Report's order (orders
	// and order_items as replayed, the others as written at the start);
	// then clickstream, when written as files. Dirt is Generate's: for
	// orders and order_items, set only when the whole replay landed.
	Sources []SourceReport
	// Orders is the number of order rows landed (dirt included) by this
	// call; Resumed the number an earlier replay had landed already.
	Orders, Resumed int
	// Events is the number of clickstream events emitted (given to
	// Events, or written to a landed file), LateEvents how many of them
	// were late (see ClickstreamOptions.LateFraction).
	Events, LateEvents int
	// Elapsed is the clock's time from the replay's start to its end;
	// Slept the total asked of Clock.Sleep.
	Elapsed, Slept time.Duration
}

// Source returns the report of the named source.
func (r StreamReport) Source(name string) (SourceReport, bool) {
	for _, s := range r.Sources {
		if s.Name == name {
			return s, true
		}
	}
	return SourceReport{}, false
}

// Stream replays a generated Olist dataset into the landing zone over time,
// and emits a clickstream, for demos, tests and benchmarks.
//
// It first generates the dataset (Generate with Orders, Seed, Start and
// Dirty) into a hidden staging folder inside Out (.stream-staging-*,
// removed at the end), and moves the static sources (category translation,
// products, sellers, geolocation, customers, payments, reviews, all of
// them, byte for byte as Generate writes them) into place at once. Then it
// replays the orders: successive files of OrdersPerFile order rows, taken
// in Generate's order (purchase-time order; a re-landed dirty row comes,
// as in Generate, first in the next month's file), each landed in the
// month folder of its purchase date as
// orders/order_year=YYYY/order_month=M/olist_orders_dataset_part-NNNNN.csv,
// just after order_items/olist_order_items_dataset_part-NNNNN.csv (same
// NNNNN, from 00000 on) with those orders' item rows (no items file when
// they have none). So the concatenated orders and items rows equal, in
// order and byte for byte, Generate's for the same options: only the file
// boundaries and names differ.
//
// Every file appears atomically: it is written under a hidden temporary
// name (.name.tmp) in its folder and renamed into place when complete.
//
// A replay resumes from what has landed: static sources already in Out
// are kept (they must equal what Generate writes, or Stream fails naming
// the file: an earlier replay of other options), the order rows of the
// orders files already there (in part order) are checked against the
// replay's and not landed again, new orders files continue the part
// numbering, and clickstream files continue theirs. Nothing already in Out
// is rewritten.
//
// With EventsPerSecond > 0 it emits clickstream events meanwhile (to
// Events, or to files with EventFiles), each when the wall clock reaches
// the replay start plus its event time's offset from the clickstream
// Start; late events come right after the newer event that releases them.
//
// Stream returns when Duration has passed, or, without Duration, when the
// orders are replayed and there is no clickstream; with a clickstream and
// no Duration, when ctx ends, with a nil error if the orders were all
// replayed by then. Otherwise ending ctx stops it with ctx's error. The
// report tells what landed in every case; an open events file is landed
// before returning.
func Stream(ctx context.Context, opts StreamOptions) (StreamReport, error) {
	if err := opts.fill(); err != nil {
		return StreamReport{}, fmt.Errorf("datagen: stream: %w", err)
	}
	s := &streamer{ctx: ctx, o: opts, clk: opts.Clock}
	err := s.run()
	if cerr := s.cleanup(); err == nil {
		err = cerr
	}
	if err != nil {
		err = fmt.Errorf("datagen: stream: %w", err)
	}
	return s.rep, err
}

func (o *StreamOptions) fill() error {
	switch {
	case o.Out == "":
		return errors.New("empty output folder")
	case o.OrdersPerSecond < 0 || math.IsNaN(o.OrdersPerSecond) || math.IsInf(o.OrdersPerSecond, 0):
		return fmt.Errorf("bad orders per second %v", o.OrdersPerSecond)
	case o.EventsPerSecond < 0 || math.IsNaN(o.EventsPerSecond) || math.IsInf(o.EventsPerSecond, 0):
		return fmt.Errorf("bad events per second %v", o.EventsPerSecond)
	case o.OrdersPerFile < 0 || o.EventsPerFile < 0 || o.EventFileInterval < 0 || o.Duration < 0:
		return errors.New("negative orders per file, events per file, event file interval or duration")
	case o.EventsPerSecond > 0 && o.Events == nil && !o.EventFiles:
		return errors.New("events per second set without an events sink or EventFiles")
	case o.Orders < 0 && o.EventsPerSecond == 0:
		return errors.New("nothing to stream: no orders and no events")
	}
	if o.Orders == 0 {
		o.Orders = DefaultOrders
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	if o.OrdersPerFile == 0 {
		o.OrdersPerFile = DefaultOrdersPerFile
	}
	if o.EventsPerFile == 0 {
		o.EventsPerFile = DefaultEventsPerFile
	}
	if o.EventFileInterval == 0 {
		o.EventFileInterval = DefaultEventFileInterval
	}
	if o.Clock.Now == nil {
		o.Clock.Now = time.Now
	}
	if o.Clock.Sleep == nil {
		o.Clock.Sleep = realSleep
	}
	return nil
}

func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// minSleep bounds how often the loop wakes at high event rates: events due
// within it are emitted together.
const minSleep = time.Millisecond

type streamer struct {
	ctx context.Context
	o   StreamOptions
	clk Clock
	rep StreamReport

	// Orders replay.
	staging    string
	gen        Report
	orderFiles []string // staging-relative, month order
	nextFile   int
	cur        *lineReader // month file being replayed
	curDir     string
	items      itemLines
	chunk      *replayChunk // next to land
	part       int
	ordersDone bool

	// Clickstream.
	events   bool
	cs       *Clickstream
	csStart  time.Time
	next     Event
	nextLate bool
	nextDue  time.Time
	lastDue  time.Time
	evFile   *csvOut
	evOpened time.Time
	evPart   int
	buf      []byte

	t0 time.Time
}

func (s *streamer) src(name string) *SourceReport {
	for i := range s.rep.Sources {
		if s.rep.Sources[i].Name == name {
			return &s.rep.Sources[i]
		}
	}
	s.rep.Sources = append(s.rep.Sources, SourceReport{Name: name})
	return &s.rep.Sources[len(s.rep.Sources)-1]
}

func (s *streamer) run() error {
	o := &s.o
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	s.events = o.EventsPerSecond > 0
	copts := o.Clickstream
	if o.Orders >= 0 {
		for _, name := range sourceNames {
			s.src(name)
		}
		var err error
		if copts, err = s.stage(copts); err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress(s.rep.Resumed, s.total(), false)
		}
	} else {
		s.ordersDone = true
	}
	if s.events && o.Events == nil {
		s.src(SourceClickstream)
	}

	s.t0 = s.clk.Now()
	if s.events {
		if copts.Seed == 0 {
			copts.Seed = o.Seed
		}
		if copts.Start.IsZero() {
			copts.Start = s.t0
		}
		copts.Rate, copts.SessionsPerMinute = o.EventsPerSecond, 0
		s.cs = NewClickstream(copts)
		s.csStart = s.cs.Options().Start
		s.lastDue = s.t0
		s.fetch()
	}
	var end time.Time
	if o.Duration > 0 {
		end = s.t0.Add(o.Duration)
	}
	for {
		if err := s.ctx.Err(); err != nil {
			return s.stopped(err)
		}
		now := s.clk.Now()
		if !end.IsZero() && !now.Before(end) {
			return nil
		}
		for !s.ordersDone {
			if s.chunk == nil {
				if err := s.prepare(s.o.OrdersPerFile); err != nil {
					return err
				}
				if s.chunk == nil {
					break
				}
			}
			if now.Before(s.chunkDue()) {
				break
			}
			if err := s.land(); err != nil {
				return err
			}
			if err := s.ctx.Err(); err != nil {
				return s.stopped(err)
			}
		}
		if s.events {
			for !now.Before(s.nextDue) {
				if err := s.emit(now); err != nil {
					return err
				}
			}
			if s.evFile != nil && !now.Before(s.evOpened.Add(o.EventFileInterval)) {
				if err := s.closeEvents(); err != nil {
					return err
				}
			}
		} else if s.ordersDone {
			return nil
		}

		wake := end
		earlier := func(t time.Time) {
			if wake.IsZero() || t.Before(wake) {
				wake = t
			}
		}
		if s.chunk != nil {
			earlier(s.chunkDue())
		}
		if s.events {
			earlier(s.nextDue)
			if s.evFile != nil {
				earlier(s.evOpened.Add(o.EventFileInterval))
			}
		}
		d := wake.Sub(now)
		if d <= 0 {
			continue
		}
		if s.events && d < minSleep {
			d = minSleep
			if !end.IsZero() {
				d = min(d, end.Sub(now))
			}
		}
		s.rep.Slept += d
		if err := s.clk.Sleep(s.ctx, d); err != nil {
			if cerr := s.ctx.Err(); cerr != nil {
				return s.stopped(cerr)
			}
			return err
		}
	}
}

// stopped is the outcome of ctx ending.
func (s *streamer) stopped(err error) error {
	if s.ordersDone && s.events && s.o.Duration == 0 {
		return nil
	}
	return err
}

func (s *streamer) cleanup() error {
	s.rep.Elapsed = s.clk.Now().Sub(s.t0)
	if s.t0.IsZero() {
		s.rep.Elapsed = 0
	}
	var err error
	if s.evFile != nil {
		err = s.closeEvents()
	}
	if s.cur != nil {
		s.cur.close()
	}
	s.items.close()
	if s.staging != "" {
		if rerr := os.RemoveAll(s.staging); err == nil {
			err = rerr
		}
	}
	return err
}

// stage generates the dataset into the staging folder, moves the static
// sources into place and prepares the replay. It returns copts with id
// pools filled in from the data.
func (s *streamer) stage(copts ClickstreamOptions) (ClickstreamOptions, error) {
	o := &s.o
	var err error
	if s.staging, err = os.MkdirTemp(o.Out, ".stream-staging-"); err != nil {
		return copts, err
	}
	s.gen, err = Generate(s.ctx, s.staging, Options{Orders: o.Orders, Seed: o.Seed, Dirty: o.Dirty, Start: o.Start})
	if err != nil {
		return copts, err
	}
	if s.events {
		if len(copts.Customers) == 0 {
			if copts.Customers, err = s.idPool(SourceCustomers); err != nil {
				return copts, err
			}
		}
		if len(copts.Products) == 0 {
			if copts.Products, err = s.idPool(SourceProducts); err != nil {
				return copts, err
			}
		}
	}
	for _, name := range []string{SourceCategoryTranslation, SourceProducts, SourceSellers,
		SourceGeolocation, SourceCustomers, SourcePayments, SourceReviews} {
		g, _ := s.gen.Source(name)
		for _, f := range g.Files {
			final := filepath.Join(o.Out, filepath.FromSlash(f.Path))
			staged := filepath.Join(s.staging, filepath.FromSlash(f.Path))
			if same, err := sameFile(final, staged); err != nil {
				return copts, err
			} else if same {
				continue // landed by an earlier replay
			}
			if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
				return copts, err
			}
			if err := os.Rename(staged, final); err != nil {
				return copts, err
			}
		}
		*s.src(name) = g
	}
	g, _ := s.gen.Source(SourceOrders)
	for _, f := range g.Files {
		s.orderFiles = append(s.orderFiles, f.Path)
	}
	g, _ = s.gen.Source(SourceOrderItems)
	for _, f := range g.Files {
		s.items.files = append(s.items.files, filepath.Join(s.staging, filepath.FromSlash(f.Path)))
	}
	return copts, s.resume()
}

// sameFile reports whether final exists with staged's bytes; an existing
// final of other bytes is an error (an earlier replay of other options).
func sameFile(final, staged string) (bool, error) {
	a, err := os.ReadFile(final)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(staged)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(a, b) {
		return false, fmt.Errorf("%s holds other data than this replay's (an earlier replay of other --orders, seed, start or dirt?): replay into an empty folder, or with the earlier options", final)
	}
	return true, nil
}

var (
	ordersPartName = regexp.MustCompile(`^olist_orders_dataset_part-(\d+)\.csv$`)
	eventsPartName = regexp.MustCompile(`^clickstream_events_part-(\d+)\.jsonl$`)
)

// landedParts lists the files under Out/dir whose names match re, by
// their part number (re's first group).
func (s *streamer) landedParts(dir string, re *regexp.Regexp) (map[int]string, error) {
	parts := map[int]string{}
	root := filepath.Join(s.o.Out, dir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			return fs.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		if m := re.FindStringSubmatch(d.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			parts[n] = p
		}
		return nil
	})
	return parts, err
}

// resume skips the orders an earlier replay landed: the rows of the orders
// files in Out, in part order, which must be the replay's first rows.
func (s *streamer) resume() error {
	landed, err := s.landedParts(SourceOrders, ordersPartName)
	if err != nil {
		return err
	}
	if s.events && s.o.Events == nil {
		evs, err := s.landedParts(SourceClickstream, eventsPartName)
		if err != nil {
			return err
		}
		for n := range evs {
			s.evPart = max(s.evPart, n+1)
		}
	}
	parts := slices.Sorted(maps.Keys(landed))
	for _, n := range parts {
		lr, err := openLines(landed[n])
		if err != nil {
			return err
		}
		var rows [][]byte
		for {
			line, ok := lr.next()
			if !ok {
				break
			}
			rows = append(rows, bytes.Clone(line))
		}
		err = lr.sc.Err()
		lr.close()
		if err != nil {
			return fmt.Errorf("%s: %w", landed[n], err)
		}
		for len(rows) > 0 {
			if err := s.prepare(len(rows)); err != nil {
				return err
			}
			if s.chunk == nil {
				return fmt.Errorf("%s: more orders than this replay has (an earlier replay of other options?)", landed[n])
			}
			for i, l := range s.chunk.orders {
				if !bytes.Equal(l, rows[i]) {
					return fmt.Errorf("%s: row %d is not this replay's (an earlier replay of other --orders, seed, start or dirt?): replay into an empty folder, or with the earlier options", landed[n], i+1)
				}
			}
			rows = rows[len(s.chunk.orders):]
			s.rep.Resumed += len(s.chunk.orders)
			s.chunk = nil
		}
		s.part = n + 1
	}
	return nil
}

// idPool reads the first column (the id) of a generated source's file, at
// most maxIDPool values at an even stride.
func (s *streamer) idPool(name string) ([]string, error) {
	g, _ := s.gen.Source(name)
	if len(g.Files) == 0 {
		return nil, nil
	}
	stride := (g.Rows + maxIDPool - 1) / maxIDPool
	lr, err := openLines(filepath.Join(s.staging, filepath.FromSlash(g.Files[0].Path)))
	if err != nil {
		return nil, err
	}
	defer lr.close()
	var ids []string
	for i := 0; ; i++ {
		line, ok := lr.next()
		if !ok {
			break
		}
		if id := firstField(line); i%stride == 0 && len(id) > 0 && len(ids) < maxIDPool {
			ids = append(ids, string(id))
		}
	}
	return ids, lr.sc.Err()
}

// replayChunk is one orders file to land and its items.
type replayChunk struct {
	dir           string // month folder, e.g. orders/order_year=2017/order_month=3
	orders, items [][]byte
	ids           map[string]struct{}
}

// prepare reads the next chunk (at most limit orders) from the staged
// files, or sets ordersDone.
func (s *streamer) prepare(limit int) error {
	var ch *replayChunk
	for ch == nil || len(ch.orders) < limit {
		if s.cur == nil {
			if ch != nil || s.nextFile == len(s.orderFiles) {
				break
			}
			rel := s.orderFiles[s.nextFile]
			s.nextFile++
			lr, err := openLines(filepath.Join(s.staging, filepath.FromSlash(rel)))
			if err != nil {
				return err
			}
			s.cur, s.curDir = lr, path.Dir(rel)
		}
		line, ok := s.cur.next()
		if !ok {
			err := s.cur.sc.Err()
			s.cur.close()
			s.cur = nil
			if err != nil {
				return err
			}
			continue
		}
		if ch == nil {
			ch = &replayChunk{dir: s.curDir, ids: make(map[string]struct{}, s.o.OrdersPerFile)}
		}
		ch.orders = append(ch.orders, bytes.Clone(line))
		ch.ids[string(firstField(line))] = struct{}{}
	}
	if ch == nil {
		s.ordersDone = true
		// Every item row belongs to a replayed order.
		if _, ok, err := s.items.peek(); err != nil || ok {
			if err == nil {
				err = errors.New("internal: order items of no replayed order")
			}
			return err
		}
		if g, ok := s.gen.Source(SourceOrders); ok {
			s.src(SourceOrders).Dirt = g.Dirt
		}
		if g, ok := s.gen.Source(SourceOrderItems); ok {
			s.src(SourceOrderItems).Dirt = g.Dirt
		}
		if s.o.Progress != nil {
			s.o.Progress(s.rep.Resumed+s.rep.Orders, s.total(), true)
		}
		return nil
	}
	// Items come in the orders' sequence, each order's before the next
	// order's: take rows while they are of this chunk's orders, or dirty
	// rows (empty or malformed order_id, wrong field count), which follow
	// the row they were made from.
	for {
		line, ok, err := s.items.peek()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if _, mine := ch.ids[string(firstField(line))]; !mine && !junkItem(line) {
			break
		}
		ch.items = append(ch.items, bytes.Clone(line))
		s.items.take()
	}
	s.chunk = ch
	return nil
}

// chunkDue is when the prepared chunk lands.
func (s *streamer) chunkDue() time.Time {
	if s.o.OrdersPerSecond == 0 {
		return s.t0
	}
	c := s.rep.Orders + len(s.chunk.orders)
	return s.t0.Add(time.Duration(float64(c) / s.o.OrdersPerSecond * float64(time.Second)))
}

// land writes the prepared chunk: the items file, then the orders file.
func (s *streamer) land() error {
	ch := s.chunk
	part := fmt.Sprintf("%05d", s.part)
	s.part++
	if len(ch.items) > 0 {
		rel := SourceOrderItems + "/olist_order_items_dataset_part-" + part + ".csv"
		if err := s.writeCSV(SourceOrderItems, rel, itemsHeader, ch.items); err != nil {
			return err
		}
	}
	rel := ch.dir + "/olist_orders_dataset_part-" + part + ".csv"
	if err := s.writeCSV(SourceOrders, rel, ordersHeader, ch.orders); err != nil {
		return err
	}
	s.rep.Orders += len(ch.orders)
	s.chunk = nil
	if s.o.Progress != nil {
		s.o.Progress(s.rep.Resumed+s.rep.Orders, s.total(), false)
	}
	return nil
}

// total is the number of order rows the replay lands in all.
func (s *streamer) total() int {
	g, _ := s.gen.Source(SourceOrders)
	return g.Rows
}

func (s *streamer) writeCSV(source, rel string, header []string, lines [][]byte) error {
	o, err := createCSV(s.o.Out, rel, header, false)
	if err != nil {
		return err
	}
	for _, l := range lines {
		o.line(l)
	}
	if err := o.close(); err != nil {
		return err
	}
	sr := s.src(source)
	sr.Files = append(sr.Files, FileReport{Path: rel, Rows: o.rows})
	sr.Rows += o.rows
	return nil
}

// fetch draws the next event and when it is due.
func (s *streamer) fetch() {
	s.next = s.cs.Next()
	s.nextLate = s.cs.Late()
	s.nextDue = s.t0.Add(s.next.Time.Sub(s.csStart))
	if s.nextDue.Before(s.lastDue) {
		s.nextDue = s.lastDue
	}
}

// emit emits the next event at now and fetches the one after.
func (s *streamer) emit(now time.Time) error {
	if s.o.Events != nil {
		if err := s.o.Events(s.next); err != nil {
			return fmt.Errorf("events sink: %w", err)
		}
	} else {
		if s.evFile == nil {
			rel := fmt.Sprintf("%s/clickstream_events_part-%06d.jsonl", SourceClickstream, s.evPart)
			f, err := createLines(s.o.Out, rel)
			if err != nil {
				return err
			}
			s.evPart++
			s.evFile, s.evOpened = f, now
		}
		s.buf = s.next.AppendJSON(s.buf[:0])
		s.evFile.line(s.buf)
	}
	s.rep.Events++
	if s.nextLate {
		s.rep.LateEvents++
	}
	s.lastDue = s.nextDue
	if s.evFile != nil && s.evFile.rows >= s.o.EventsPerFile {
		if err := s.closeEvents(); err != nil {
			return err
		}
	}
	s.fetch()
	return nil
}

func (s *streamer) closeEvents() error {
	f := s.evFile
	s.evFile = nil
	if err := f.close(); err != nil {
		return err
	}
	sr := s.src(SourceClickstream)
	sr.Files = append(sr.Files, FileReport{Path: f.rel, Rows: f.rows})
	sr.Rows += f.rows
	return nil
}

// createLines opens a headerless text file under a hidden temporary name,
// renamed into place by close (see csvOut).
func createLines(outDir, rel string) (*csvOut, error) {
	final := filepath.Join(outDir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	return &csvOut{rel: rel, final: final, tmp: tmp, f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// lineReader reads the data lines of a generated CSV file whose fields hold
// no line breaks (orders, items, customers, products), header skipped.
type lineReader struct {
	f  *os.File
	sc *bufio.Scanner
}

func openLines(name string) (*lineReader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Scan() // header
	return &lineReader{f: f, sc: sc}, nil
}

func (l *lineReader) next() ([]byte, bool) {
	if !l.sc.Scan() {
		return nil, false
	}
	return l.sc.Bytes(), true
}

func (l *lineReader) close() { l.f.Close() }

// itemLines reads the staged items files in order, one line ahead.
type itemLines struct {
	files  []string
	i      int
	cur    *lineReader
	peeked []byte
	has    bool
}

func (it *itemLines) peek() ([]byte, bool, error) {
	for !it.has {
		if it.cur == nil {
			if it.i == len(it.files) {
				return nil, false, nil
			}
			lr, err := openLines(it.files[it.i])
			if err != nil {
				return nil, false, err
			}
			it.i++
			it.cur = lr
		}
		line, ok := it.cur.next()
		if !ok {
			err := it.cur.sc.Err()
			it.cur.close()
			it.cur = nil
			if err != nil {
				return nil, false, err
			}
			continue
		}
		it.peeked = append(it.peeked[:0], line...)
		it.has = true
	}
	return it.peeked, true, nil
}

func (it *itemLines) take() { it.has = false }

func (it *itemLines) close() {
	if it.cur != nil {
		it.cur.close()
		it.cur = nil
	}
}

func firstField(line []byte) []byte {
	if i := bytes.IndexByte(line, ','); i >= 0 {
		return line[:i]
	}
	return line
}

// junkItem reports an items row that is dirt made from the row before it:
// an empty or malformed order_id, or the wrong number of fields.
func junkItem(line []byte) bool {
	id := firstField(line)
	return len(id) == 0 || bytes.IndexByte(id, '"') >= 0 || bytes.Count(line, []byte{','}) != len(itemsHeader)-1
}
