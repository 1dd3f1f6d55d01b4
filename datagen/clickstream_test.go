package datagen_test

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
)

var csStart = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// csTake returns the first n events of a clickstream and their Late flags.
func csTake(opts datagen.ClickstreamOptions, n int) ([]datagen.Event, []bool) {
	c := datagen.NewClickstream(opts)
	evs := make([]datagen.Event, n)
	late := make([]bool, n)
	for i := range evs {
		evs[i] = c.Next()
		late[i] = c.Late()
	}
	return evs, late
}

func TestClickstreamDeterminism(t *testing.T) {
	base := datagen.ClickstreamOptions{Seed: 42, Start: csStart, Rate: 50, LateFraction: 0.05}
	a, al := csTake(base, 20_000)
	b, bl := csTake(base, 20_000)
	if !slices.Equal(a, b) || !slices.Equal(al, bl) {
		t.Fatal("same options gave different events")
	}
	other := base
	other.Seed = 43
	c, _ := csTake(other, 100)
	if slices.Equal(a[:100], c) {
		t.Fatal("another seed gave the same events")
	}
	ids := map[string]bool{}
	for _, e := range a {
		if ids[e.ID] {
			t.Fatalf("duplicate event id %s", e.ID)
		}
		ids[e.ID] = true
	}
	// Defaults are filled in.
	o := datagen.NewClickstream(datagen.ClickstreamOptions{}).Options()
	if o.Start.IsZero() || o.SessionsPerMinute != datagen.DefaultSessionsPerMinute ||
		o.LateFraction != datagen.DefaultLateFraction || o.MaxLateness != datagen.DefaultMaxLateness ||
		o.MinLateness != datagen.DefaultMaxLateness/4 {
		t.Fatalf("defaults not filled in: %+v", o)
	}
}

var csIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestClickstreamFunnel(t *testing.T) {
	const n = 100_000
	evs, _ := csTake(datagen.ClickstreamOptions{Seed: 7, Start: csStart}, n)
	type sess struct {
		evs []datagen.Event
	}
	sessions := map[string]*sess{}
	var order []string
	var maxT time.Time
	for _, e := range evs {
		for _, id := range []string{e.ID, e.SessionID, e.CustomerID, e.ProductID} {
			if !csIDRe.MatchString(id) {
				t.Fatalf("bad id %q in %+v", id, e)
			}
		}
		s := sessions[e.SessionID]
		if s == nil {
			s = &sess{}
			sessions[e.SessionID] = s
			order = append(order, e.SessionID)
		}
		s.evs = append(s.evs, e)
		if e.Time.After(maxT) {
			maxT = e.Time
		}
	}
	// Sessions still running (or with a late event still held) at the
	// cut are left out: a session lasts at most 10 gaps of < 45 s. So are
	// those of the warm-up, which started before Start.
	cut := maxT.Add(-10 * time.Minute)
	warm := csStart.Add(8 * time.Minute)
	var nSess, views, carts, checkouts, purchases int
	var viewHist [9]int
	type span struct{ a, b time.Time }
	var spans []span
	for _, id := range order {
		s := sessions[id]
		slices.SortStableFunc(s.evs, func(a, b datagen.Event) int { return a.Time.Compare(b.Time) })
		first := s.evs[0]
		if first.Time.After(cut) || first.Time.Before(warm) {
			continue
		}
		nSess++
		pv := 0
		for pv < len(s.evs) && s.evs[pv].Type == datagen.EventPageView {
			pv++
		}
		if pv < 1 || pv > 8 {
			t.Fatalf("session %s: %d page views", id, pv)
		}
		viewHist[pv]++
		views += pv
		rest := s.evs[pv:]
		want := []string{datagen.EventAddToCart, datagen.EventCheckout, datagen.EventPurchase}
		if len(rest) > 3 {
			t.Fatalf("session %s: %d events after the page views", id, len(rest))
		}
		for i, e := range rest {
			if e.Type != want[i] {
				t.Fatalf("session %s: event %d after the views is %s, want %s", id, i, e.Type, want[i])
			}
			if e.ProductID != s.evs[pv-1].ProductID {
				t.Fatalf("session %s: %s of product %s, last viewed %s", id, e.Type, e.ProductID, s.evs[pv-1].ProductID)
			}
		}
		carts += min(len(rest), 1)
		checkouts += min(max(len(rest)-1, 0), 1)
		purchases += min(max(len(rest)-2, 0), 1)
		for i, e := range s.evs {
			if e.CustomerID != first.CustomerID {
				t.Fatalf("session %s has two customers", id)
			}
			if i > 0 {
				gap := e.Time.Sub(s.evs[i-1].Time)
				if gap < time.Second || gap > 45*time.Second {
					t.Fatalf("session %s: events %v apart", id, gap)
				}
			}
		}
		spans = append(spans, span{first.Time, s.evs[len(s.evs)-1].Time})
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4f, want %.4f ± %.4f", what, got, want, tol)
		} else {
			t.Logf("%s = %.4f (want %.4f ± %.4f)", what, got, want, tol)
		}
	}
	if nSess < 15_000 {
		t.Fatalf("only %d complete sessions in %d events", nSess, n)
	}
	near("add_to_cart / sessions", float64(carts)/float64(nSess), 0.35, 0.015)
	near("checkout / add_to_cart", float64(checkouts)/float64(carts), 0.6, 0.025)
	near("purchase / checkout", float64(purchases)/float64(checkouts), 0.7, 0.03)
	near("page views / session", float64(views)/float64(nSess), 4.5, 0.06)
	for k := 1; k <= 8; k++ {
		near("share of sessions with "+string(rune('0'+k))+" page views", float64(viewHist[k])/float64(nSess), 1.0/8, 0.012)
	}
	near("events / session", float64(n)/float64(len(sessions)), datagen.MeanEventsPerSession, 0.1)
	// Sessions overlap: at the start of a session, others are running.
	overlapping := 0
	for i := 1; i < len(spans); i++ {
		if spans[i-1].b.After(spans[i].a) {
			overlapping++
		}
	}
	if overlapping < len(spans)/2 {
		t.Errorf("only %d of %d sessions overlap the previous one", overlapping, len(spans))
	}
}

func TestClickstreamRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts datagen.ClickstreamOptions
		want float64 // events per second of event time
	}{
		{"default", datagen.ClickstreamOptions{}, datagen.DefaultSessionsPerMinute * datagen.MeanEventsPerSession / 60},
		{"rate 10", datagen.ClickstreamOptions{Rate: 10}, 10},
		{"rate 1000", datagen.ClickstreamOptions{Rate: 1000}, 1000},
		{"rate wins", datagen.ClickstreamOptions{Rate: 3, SessionsPerMinute: 1000}, 3},
		{"30 sessions/min", datagen.ClickstreamOptions{SessionsPerMinute: 30}, 30 * datagen.MeanEventsPerSession / 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Seed, tc.opts.Start, tc.opts.LateFraction = 3, csStart, -1
			const n = 100_000
			evs, _ := csTake(tc.opts, n)
			got := float64(n) / evs[n-1].Time.Sub(csStart).Seconds()
			if math.Abs(got/tc.want-1) > 0.03 {
				t.Errorf("rate %.3f events/s, want %.3f", got, tc.want)
			}
			if evs[0].Time.Before(csStart) || evs[0].Time.After(csStart.Add(10*time.Second)) {
				t.Errorf("first event at %v, want just after Start %v", evs[0].Time, csStart)
			}
			// Steady from the start (warm-up): the first minute (or the time
			// of about 3000 events) has its share.
			win := max(time.Minute, time.Duration(3000/tc.want*float64(time.Second)))
			first := 0
			for first < n && evs[first].Time.Before(csStart.Add(win)) {
				first++
			}
			if w := tc.want * win.Seconds(); math.Abs(float64(first)/w-1) > 0.2 {
				t.Errorf("%d events in the first %v, want about %.0f", first, win, w)
			}
		})
	}
}

// TestClickstreamLateness checks the definition of lateness (see
// ClickstreamOptions.LateFraction). With newest = the greatest event_time
// emitted before an event and lag = newest - event_time:
//   - an event Late reports false for has lag ≤ 0;
//   - a late one has MinLateness < lag, and prev - event_time < MaxLateness
//     where prev is the on-time event emitted before the last one (so lag <
//     MaxLateness + the gap between those two);
//   - so a watermark of newest - MinLateness drops exactly the late events;
//   - and their share is LateFraction.
func TestClickstreamLateness(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     datagen.ClickstreamOptions
		fraction float64
		min, max time.Duration
	}{
		{"defaults", datagen.ClickstreamOptions{}, 0.01, 30 * time.Second, 2 * time.Minute},
		{"5% up to 10s", datagen.ClickstreamOptions{LateFraction: 0.05, MaxLateness: 10 * time.Second}, 0.05, 2500 * time.Millisecond, 10 * time.Second},
		{"20% in (5s, 6s]", datagen.ClickstreamOptions{LateFraction: 0.2, MinLateness: 5 * time.Second, MaxLateness: 6 * time.Second}, 0.2, 5 * time.Second, 6 * time.Second},
		{"any lateness", datagen.ClickstreamOptions{MinLateness: -1, MaxLateness: time.Second}, 0.01, 0, time.Second},
		{"min above max", datagen.ClickstreamOptions{MinLateness: time.Hour, MaxLateness: time.Minute}, 0.01, time.Minute - time.Millisecond, time.Minute},
		{"none", datagen.ClickstreamOptions{LateFraction: -1}, 0, 0, 0},
		{"sparse", datagen.ClickstreamOptions{Rate: 0.2, LateFraction: 0.1}, 0.1, 30 * time.Second, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Seed, tc.opts.Start = 11, csStart
			if tc.opts.Rate == 0 {
				tc.opts.Rate = 20
			}
			c := datagen.NewClickstream(tc.opts)
			if o := c.Options(); tc.fraction > 0 && (o.MinLateness != tc.min || o.MaxLateness != tc.max) {
				t.Fatalf("lateness (%v, %v], want (%v, %v]", o.MinLateness, o.MaxLateness, tc.min, tc.max)
			}
			const n = 100_000
			var newest, last, prev time.Time
			late, dropped, maxExtra := 0, 0, time.Duration(0)
			for i := range n {
				e := c.Next()
				if i > 0 && e.Time.Before(newest.Add(-tc.min)) {
					dropped++
				}
				if !c.Late() {
					if e.Time.Before(newest) {
						t.Fatalf("event %d: on-time event at %v older than the newest %v", i, e.Time, newest)
					}
					newest, prev, last = e.Time, last, e.Time
					continue
				}
				late++
				lag := newest.Sub(e.Time)
				if lag <= tc.min {
					t.Fatalf("event %d: late by %v, not more than %v", i, lag, tc.min)
				}
				if d := prev.Sub(e.Time); d >= tc.max {
					t.Fatalf("event %d: late by %v; the on-time event before the last is %v newer, not under %v", i, lag, d, tc.max)
				}
				maxExtra = max(maxExtra, lag-tc.max)
			}
			if dropped != late {
				t.Errorf("%d events older than newest - MinLateness, %d late ones", dropped, late)
			}
			got := float64(late) / n
			tol := 5*math.Sqrt(tc.fraction*(1-tc.fraction)/n) + 1e-4
			if math.Abs(got-tc.fraction) > tol {
				t.Errorf("late share %.4f, want %.4f ± %.4f", got, tc.fraction, tol)
			}
			ev, lt := c.Emitted()
			if ev != n || lt != int64(late) {
				t.Errorf("Emitted() = %d, %d; want %d, %d", ev, lt, n, late)
			}
			t.Logf("late %d of %d (%.4f); largest lag beyond MaxLateness %v", late, n, got, maxExtra)
		})
	}
}

func TestEventJSON(t *testing.T) {
	evs, _ := csTake(datagen.ClickstreamOptions{Seed: 5, Start: csStart.Add(123 * time.Millisecond)}, 200)
	evs = append(evs,
		datagen.Event{}, // zero time: year 1
		datagen.Event{ID: `quote " backslash \ slash /`, Type: datagen.EventPurchase, Time: time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
			SessionID: "ctl \x00\x01\x1f\t\r\n\b\f del \x7f", CustomerID: "accents são paulo ☃ 😀", ProductID: "bad utf-8 \xff here"},
		datagen.Event{ID: "x", Type: datagen.EventPageView, Time: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("x", 3600)),
			SessionID: "<html>&amp;", CustomerID: "\u2028\u2029", ProductID: ""},
	)
	timeRe := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	fields := []string{"customer_id", "event_id", "event_time", "event_type", "product_id", "session_id"}
	for i, e := range evs {
		b := e.JSON()
		if !json.Valid(b) {
			t.Fatalf("event %d: invalid JSON %s", i, b)
		}
		if m, err := json.Marshal(e); err != nil || !bytes.Equal(m, b) {
			t.Fatalf("event %d: json.Marshal = %s, %v; want %s", i, m, err, b)
		}
		if a := e.AppendJSON([]byte("prefix")); string(a) != "prefix"+string(b) {
			t.Fatalf("event %d: AppendJSON = %s", i, a)
		}
		var back datagen.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("event %d: %v in %s", i, err, b)
		}
		want := e
		want.Time = e.Time.Truncate(time.Millisecond).UTC()
		for _, s := range []*string{&want.ID, &want.Type, &want.SessionID, &want.CustomerID, &want.ProductID} {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
		if back != want {
			t.Fatalf("event %d: round trip gave %+v, want %+v (JSON %s)", i, back, want, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, fields) {
			t.Fatalf("event %d: fields %v, want %v", i, keys, fields)
		}
		if ts, _ := m["event_time"].(string); !timeRe.MatchString(ts) {
			t.Fatalf("event %d: event_time %q is not RFC 3339 UTC with milliseconds", i, ts)
		}
		if i == 0 {
			t.Logf("%s", b)
			if ts := m["event_time"].(string); ts < "2024-05-01T12:00:00.123Z" || ts > "2024-05-01T12:00:10.000Z" {
				t.Errorf("first event_time %v", ts)
			}
		}
	}
}

// BenchmarkClickstreamJSON measures events per second: generated and
// encoded (as Stream does), and encoding alone.
func BenchmarkClickstreamJSON(b *testing.B) {
	opts := datagen.ClickstreamOptions{Seed: 1, Start: csStart, Rate: 10_000}
	b.Run("next+encode", func(b *testing.B) {
		c := datagen.NewClickstream(opts)
		var buf []byte
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			e := c.Next()
			buf = e.AppendJSON(buf[:0])
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encode", func(b *testing.B) {
		evs, _ := csTake(opts, 4096)
		var buf []byte
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			buf = evs[n&4095].AppendJSON(buf[:0])
			n++
		}
		b.SetBytes(int64(len(buf)))
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	})
}
