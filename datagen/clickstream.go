package datagen

import (
	"math/bits"
	"time"
	"unicode/utf8"
)

// Clickstream event types, in funnel order.
const (
	EventPageView  = "page_view"
	EventAddToCart = "add_to_cart"
	EventCheckout  = "checkout"
	EventPurchase  = "purchase"
)

// Event is one clickstream event. Its JSON form (Event.JSON) has the field
// names event_id, event_type, event_time, session_id, customer_id and
// product_id; event_time is RFC 3339 in UTC with exactly three fractional
// digits ("2024-05-01T12:00:03.250Z"). Ids are 32 lowercase hex digits
// unless the caller supplied its own customer or product ids.
type Event struct {
	ID         string    `json:"event_id"`
	Type       string    `json:"event_type"` // EventPageView, EventAddToCart, EventCheckout or EventPurchase
	Time       time.Time `json:"event_time"` // whole milliseconds, UTC
	SessionID  string    `json:"session_id"`
	CustomerID string    `json:"customer_id"`
	ProductID  string    `json:"product_id"`
}

// The funnel, fixed: every session views 1–8 products (uniformly), then
// adds the last viewed one to the cart with probability 0.35; a session
// with a cart checks out with probability 0.6 and a checkout ends in a
// purchase with probability 0.7. Events of a session are 1 to 45 seconds
// apart (median about 10 s, mean about 13 s), so a session lasts about a
// minute on average and sessions overlap.
const (
	minPageViews = 1
	maxPageViews = 8
	addToCartPPM = 350_000
	checkoutPPM  = 600_000
	purchasePPM  = 700_000
)

// MeanEventsPerSession is the expected number of events of a session under
// the funnel: 4.5 page views + 0.35 + 0.35·0.6 + 0.35·0.6·0.7.
const MeanEventsPerSession = (minPageViews+maxPageViews)/2.0 + 0.35 + 0.35*0.6 + 0.35*0.6*0.7

// Clickstream defaults.
const (
	DefaultSessionsPerMinute = 120
	DefaultLateFraction      = 0.01
	DefaultMaxLateness       = 2 * time.Minute
	// DefaultCustomerPool and DefaultProductPool are the sizes of the
	// synthetic id pools used when ClickstreamOptions gives none.
	DefaultCustomerPool = 5000
	DefaultProductPool  = 1000
)

// ClickstreamOptions configure a Clickstream. Zero values take the
// defaults.
type ClickstreamOptions struct {
	// Seed seeds the generator: the same options give the same events.
	Seed int64
	// Start is the event-time origin: no event is older. Default
	// time.Now(), truncated to the millisecond. Sessions start from then
	// on, and, so that the rate holds from the start, the sessions started
	// in the 7.5 minutes before and still running emit their events from
	// Start on (a warm-up).
	Start time.Time
	// SessionsPerMinute is the mean number of sessions starting per minute
	// of event time (starts are a Poisson process); default
	// DefaultSessionsPerMinute. Ignored when Rate is set.
	SessionsPerMinute float64
	// Rate, when > 0, sets the mean number of events per second of event
	// time instead (SessionsPerMinute = Rate·60/MeanEventsPerSession).
	Rate float64
	// LateFraction is the share of events emitted late; default
	// DefaultLateFraction when 0, none when negative. A late event is held
	// back at generation and emitted right after the first on-time event
	// whose event_time is at least its own plus a lateness drawn uniformly
	// (whole milliseconds) in (MinLateness, MaxLateness]. So, with
	// "newest" the greatest event_time emitted before an event:
	//   - an on-time event is never older than the newest (on-time events
	//     are in non-decreasing event_time order);
	//   - a late event is older than the newest by more than MinLateness;
	//   - and by less than MaxLateness plus the event-time gap between the
	//     two on-time events emitted last before it (1/Rate on average, so
	//     milliseconds in a busy stream; more only in a sparse one).
	LateFraction float64
	// MinLateness and MaxLateness bound the lateness; defaults
	// MaxLateness/4 and DefaultMaxLateness. MinLateness < 0 means 0; a
	// MinLateness not below MaxLateness is lowered to MaxLateness - 1ms.
	MinLateness time.Duration
	MaxLateness time.Duration
	// Customers and Products are the ids events pick from (a session has
	// one customer; each page view one product, skewed towards a few best
	// sellers). Default: synthetic pools of DefaultCustomerPool and
	// DefaultProductPool 32-hex ids. Pass ids read from a generated landing
	// zone to make events join with it (Stream does).
	Customers []string
	Products  []string
}

// Clickstream generates clickstream events in emission order: event-time
// order, except the late events, which come after newer ones (see
// ClickstreamOptions.LateFraction). It is deterministic: the same options
// (Start included) give the same sequence, on every platform: the draws
// use integer arithmetic only. It is endless, and not safe for concurrent
// use.
type Clickstream struct {
	opts ClickstreamOptions
	ids  idGen
	rs   *rng // sessions and funnel
	rl   *rng // lateness

	meanGap   uint64 // mean session inter-arrival, microseconds
	nextStart int64  // µs of event time when the next session starts
	nSessions uint64
	nEvents   uint64

	active minHeap[*session] // by (next, seq)
	free   []*session

	latePPM      int
	minLateMs    int64
	spanLateMs   int64          // lateness = minLateMs + 1 + intn(spanLateMs)
	held         minHeap[Event] // late events by (release ms, seq)
	queue        []queued       // ready for Next, in order
	qHead        int
	lastLate     bool
	emitted      int64
	lateEmitted  int64
	buf          []byte
	customerPool []string
	productPool  []string
}

type session struct {
	seq      uint64
	id       string
	customer string
	product  string
	next     int64 // µs of its next event
	views    int   // page views still to come
	stage    int8  // next event: 0 page view, 1 add to cart, 2 checkout, 3 purchase
}

type queued struct {
	e    Event
	late bool
}

// Id kinds and RNG streams of the clickstream, apart from the Olist ones.
const (
	idClickEvent uint64 = 0x100 + iota
	idClickSession
	idClickCustomer
	idClickProduct
)

const (
	streamClickSessions uint64 = 0xc11c_0000 + iota
	streamClickLate
)

// NewClickstream returns a generator with opts, defaults filled in.
func NewClickstream(opts ClickstreamOptions) *Clickstream {
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	opts.Start = time.UnixMilli(opts.Start.UnixMilli()).UTC()
	if opts.Rate > 0 {
		opts.SessionsPerMinute = opts.Rate * 60 / MeanEventsPerSession
	} else {
		opts.Rate = 0
		if opts.SessionsPerMinute <= 0 {
			opts.SessionsPerMinute = DefaultSessionsPerMinute
		}
	}
	switch {
	case opts.LateFraction == 0:
		opts.LateFraction = DefaultLateFraction
	case opts.LateFraction < 0:
		opts.LateFraction = 0
	case opts.LateFraction > 1:
		opts.LateFraction = 1
	}
	if opts.MaxLateness <= 0 {
		opts.MaxLateness = DefaultMaxLateness
	}
	opts.MaxLateness = max(opts.MaxLateness.Truncate(time.Millisecond), time.Millisecond)
	switch {
	case opts.MinLateness == 0:
		opts.MinLateness = opts.MaxLateness / 4
	case opts.MinLateness < 0:
		opts.MinLateness = 0
	}
	opts.MinLateness = min(opts.MinLateness.Truncate(time.Millisecond), opts.MaxLateness-time.Millisecond)

	c := &Clickstream{
		opts: opts,
		ids:  newIDGen(opts.Seed),
		rs:   newRNG(opts.Seed, streamClickSessions),
		rl:   newRNG(opts.Seed, streamClickLate),
	}
	gap := 60e6 / opts.SessionsPerMinute // one IEEE division: the same everywhere
	switch {
	case gap < 1:
		c.meanGap = 1
	case gap > 1e15:
		c.meanGap = 1e15
	default:
		c.meanGap = uint64(gap)
	}
	c.latePPM = int(opts.LateFraction * 1e6)
	c.minLateMs = opts.MinLateness.Milliseconds()
	c.spanLateMs = opts.MaxLateness.Milliseconds() - c.minLateMs
	c.customerPool = opts.Customers
	if len(c.customerPool) == 0 {
		c.customerPool = c.syntheticPool(idClickCustomer, DefaultCustomerPool)
	}
	c.productPool = opts.Products
	if len(c.productPool) == 0 {
		c.productPool = c.syntheticPool(idClickProduct, DefaultProductPool)
	}
	c.warmUp(opts.Start.UnixMicro())
	return c
}

func (c *Clickstream) syntheticPool(kind uint64, n int) []string {
	pool := make([]string, n)
	for i := range pool {
		pool[i] = c.idString(kind, uint64(i))
	}
	return pool
}

func (c *Clickstream) idString(kind, idx uint64) string {
	c.buf = appendID(c.buf[:0], c.ids.id(kind, idx))
	return string(c.buf)
}

// Options returns the options in use, defaults filled in.
func (c *Clickstream) Options() ClickstreamOptions { return c.opts }

// Next returns the next event in emission order.
func (c *Clickstream) Next() Event {
	for c.qHead == len(c.queue) {
		c.queue, c.qHead = c.queue[:0], 0
		c.step()
	}
	q := c.queue[c.qHead]
	c.queue[c.qHead] = queued{}
	c.qHead++
	c.lastLate = q.late
	c.emitted++
	if q.late {
		c.lateEmitted++
	}
	return q.e
}

// Late reports whether the event last returned by Next was a late one.
func (c *Clickstream) Late() bool { return c.lastLate }

// Emitted returns the number of events returned by Next, and how many of
// them were late.
func (c *Clickstream) Emitted() (events, late int64) { return c.emitted, c.lateEmitted }

// step generates the next event in event-time order and queues it, unless
// it is to be late; then it queues the held events it releases.
func (c *Clickstream) step() {
	// Start the sessions due by the earliest pending event.
	for c.active.len() == 0 || c.nextStart <= c.active.top().key {
		c.startSession()
	}
	s := c.active.top().val
	e := c.event(s)
	if s.stage < 0 {
		c.popSession()
	} else {
		c.active.top().key = s.next
		c.active.fixTop()
	}
	ms := e.Time.UnixMilli()
	if c.latePPM > 0 && c.rl.intn(1_000_000) < c.latePPM {
		lateness := c.minLateMs + 1 + int64(c.rl.intn(int(c.spanLateMs)))
		c.held.push(ms+lateness, c.nEvents, e) // released after the first on-time event at or after it
		return
	}
	c.queue = append(c.queue, queued{e: e})
	for c.held.len() > 0 && c.held.top().key <= ms {
		c.queue = append(c.queue, queued{e: c.held.pop(), late: true})
	}
}

// newSession returns a session starting at µs at, without identity yet.
func (c *Clickstream) newSession(at int64) *session {
	var s *session
	if n := len(c.free); n > 0 {
		s, c.free = c.free[n-1], c.free[:n-1]
	} else {
		s = new(session)
	}
	*s = session{next: at, views: c.rs.between(minPageViews, maxPageViews)}
	return s
}

// activate gives s its id and customer and schedules it.
func (c *Clickstream) activate(s *session) {
	s.seq = c.nSessions
	s.id = c.idString(idClickSession, c.nSessions)
	s.customer = c.customerPool[c.rs.intn(len(c.customerPool))]
	c.nSessions++
	c.active.push(s.next, s.seq, s)
}

func (c *Clickstream) startSession() {
	s := c.newSession(c.nextStart)
	c.nextStart += c.expGap()
	c.activate(s)
}

// warmUp runs the sessions started in the span before start, without
// emitting their events, and schedules those still running at start: so
// the stream is in its steady state from start on.
func (c *Clickstream) warmUp(start int64) {
	span := min(int64(maxSessionSpan/time.Microsecond), int64(c.meanGap)*maxWarmSessions)
	t := start - span
	for t < start {
		s := c.newSession(t)
		t += c.expGap()
		for s.stage >= 0 && s.next < start {
			c.advance(s)
		}
		if s.stage >= 0 {
			c.activate(s)
		} else {
			c.free = append(c.free, s)
		}
	}
	c.nextStart = t
}

// maxSessionSpan bounds a session's duration: 10 gaps of under 45 s.
const maxSessionSpan = (maxPageViews + 2) * 45 * time.Second

// maxWarmSessions bounds the warm-up's work at high rates (it then covers
// less than maxSessionSpan).
const maxWarmSessions = 1 << 20

// event makes session s's next event and advances s; s.stage < 0 when the
// session is over.
func (c *Clickstream) event(s *session) Event {
	e := Event{
		ID:         c.idString(idClickEvent, c.nEvents),
		Time:       time.UnixMilli(floorDiv(s.next, 1000)).UTC(),
		SessionID:  s.id,
		CustomerID: s.customer,
	}
	c.nEvents++
	if s.stage == 0 || s.product == "" { // a view, or a cart of a view before Start
		s.product = c.pickProduct()
	}
	e.ProductID = s.product
	e.Type = c.advance(s)
	return e
}

// advance moves s past its next event, whose type it returns; s.stage < 0
// when the session is over.
func (c *Clickstream) advance(s *session) string {
	r := c.rs
	var typ string
	switch s.stage {
	case 0:
		typ = EventPageView
		s.views--
		if s.views == 0 {
			s.stage = 1
			if !r.ppm(addToCartPPM) {
				s.stage = -1
			}
		}
	case 1:
		typ = EventAddToCart
		s.stage = 2
		if !r.ppm(checkoutPPM) {
			s.stage = -1
		}
	case 2:
		typ = EventCheckout
		s.stage = 3
		if !r.ppm(purchasePPM) {
			s.stage = -1
		}
	case 3:
		typ = EventPurchase
		s.stage = -1
	}
	// Seconds apart: 1–5 s, plus a skewed pause of up to 40 s.
	s.next += int64(1000+r.intn(4000)+r.skewed(40_000)) * 1000
	return typ
}

// pickProduct: half the views spread evenly over the pool, half go to a
// skewed set of best sellers (the pool's first ids).
func (c *Clickstream) pickProduct() string {
	n := len(c.productPool)
	if c.rs.intn(2) == 0 {
		return c.productPool[c.rs.intn(n)]
	}
	return c.productPool[c.rs.skewed(n)]
}

// expGap draws a session inter-arrival time (µs), exponential with mean
// c.meanGap.
func (c *Clickstream) expGap() int64 {
	hi, lo := bits.Mul64(c.meanGap, expQ24(c.rs))
	return int64(hi<<40 | lo>>24)
}

// expQ24 draws an Exp(1) variate in fixed point with 24 fractional bits,
// as -ln(U) = ln2·(53 - log2(m+1)) for U = (m+1)/2^53, with the binary
// logarithm computed bit by bit on integers (no floating point, so the
// same on every CPU).
func expQ24(r *rng) uint64 {
	m := r.next()>>11 + 1 // (0, 2^53]
	k := bits.Len64(m) - 1
	var x uint64 // m normalized to [2^31, 2^32): 1.xxx in Q31
	if k >= 31 {
		x = m >> (k - 31)
	} else {
		x = m << (31 - k)
	}
	frac := uint64(0)
	for i := 0; i < 24; i++ {
		x = x * x >> 31
		frac <<= 1
		if x >= 1<<32 {
			x >>= 1
			frac |= 1
		}
	}
	negLog2 := uint64(53)<<24 - (uint64(k)<<24 | frac) // Q24
	const ln2Q32 = 2977044472                          // round(ln 2 · 2^32)
	return negLog2 * ln2Q32 >> 32
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// popSession removes the session on top of the heap and recycles it.
func (c *Clickstream) popSession() {
	s := c.active.pop()
	*s = session{}
	c.free = append(c.free, s)
}

// JSON returns the event as one JSON object (no newline); see Event.
func (e Event) JSON() []byte { return e.AppendJSON(make([]byte, 0, 224)) }

// MarshalJSON makes encoding/json write what JSON writes.
func (e Event) MarshalJSON() ([]byte, error) { return e.JSON(), nil }

// AppendJSON appends the JSON form of e to b, without reflection or
// allocation beyond b's growth.
func (e Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"event_id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"event_type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"event_time":"`...)
	b = appendEventTime(b, e.Time)
	b = append(b, `","session_id":`...)
	b = appendJSONString(b, e.SessionID)
	b = append(b, `,"customer_id":`...)
	b = appendJSONString(b, e.CustomerID)
	b = append(b, `,"product_id":`...)
	b = appendJSONString(b, e.ProductID)
	return append(b, '}')
}

// appendEventTime appends t in UTC as 2006-01-02T15:04:05.000Z, truncated
// to the millisecond.
func appendEventTime(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	sec := floorDiv(ms, 1000)
	dd := floorDay(sec)
	y, m, d := civil(dd)
	if y < 0 || y > 9999 {
		return t.UTC().Truncate(time.Millisecond).AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	}
	s := int(sec - dd*day)
	hh, mi, ss := s/3600, s/60%60, s%60
	f := int(ms - sec*1000)
	return append(b,
		byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+hh/10), byte('0'+hh%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+ss/10), byte('0'+ss%10), '.',
		byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10), 'Z')
}

// appendJSONString appends s as a JSON string escaped as encoding/json
// does: quotes, backslashes, control characters, <, >, &, U+2028 and
// U+2029 escaped, invalid UTF-8 bytes replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&15])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonSafe marks the ASCII bytes written as they are in a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
