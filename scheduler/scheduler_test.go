package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medallionhq/medallion/scheduler/schedulertest"
)

var _ Clock = (*schedulertest.FakeClock)(nil)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// harness drives a Scheduler on a FakeClock. settle waits (polling with tiny
// real sleeps, never asserting on real time) until the scheduler has nothing
// left to do at the current fake time; advance steps the fake clock from timer
// to timer, settling in between, so every event is handled at its exact time.
type harness struct {
	t       *testing.T
	clk     *schedulertest.FakeClock
	hist    *MemoryHistory
	s       *Scheduler
	cancel  context.CancelFunc
	blocked atomic.Int64 // attempts parked in gate.wait

	mu      sync.Mutex
	calls   map[string][]time.Time // job → attempt start times (fake)
	cur     int
	maxConc int
}

func newHarness(t *testing.T, start time.Time, hist *MemoryHistory, opts Options) *harness {
	t.Helper()
	if hist == nil {
		hist = NewMemoryHistory()
	}
	clk := schedulertest.NewFakeClock(start)
	opts.Log = func(msg string) { t.Log(msg) }
	s, err := New(clk, hist, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clk: clk, hist: hist, s: s, calls: map[string][]time.Time{}}
	t.Cleanup(func() {
		if h.cancel != nil {
			h.cancel()
			h.s.CancelRunning()
			h.s.Wait()
		}
	})
	return h
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.s.Start(ctx)
	h.settle()
}

func (h *harness) settle() {
	h.t.Helper()
	// No deadline: a scheduler that never settles hangs the test until go
	// test's -timeout fails it, with every goroutine's stack.
	for !h.s.idle(int(h.blocked.Load())) {
		time.Sleep(20 * time.Microsecond)
	}
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	target := h.clk.Now().Add(d)
	for {
		h.settle()
		next, ok := h.clk.Next()
		if !ok || next.After(target) {
			break
		}
		h.clk.AdvanceTo(next)
	}
	h.clk.AdvanceTo(target)
	h.settle()
}

// job returns a Run func that records its calls and then does body.
func (h *harness) job(name string, body func(ctx context.Context, attempt int) error) func(context.Context, int) (Result, error) {
	return func(ctx context.Context, attempt int) (Result, error) {
		h.mu.Lock()
		h.calls[name] = append(h.calls[name], h.clk.Now())
		h.cur++
		if h.cur > h.maxConc {
			h.maxConc = h.cur
		}
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			h.cur--
			h.mu.Unlock()
		}()
		var err error
		if body != nil {
			err = body(ctx, attempt)
		}
		return Result{Tables: map[string]string{name: "ok"}}, err
	}
}

func (h *harness) callTimes(name string) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.calls[name]...)
}

func (h *harness) runs(job string) []Run { // oldest first
	rs, err := h.hist.List(context.Background(), job, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}

func (h *harness) add(j Job) {
	h.t.Helper()
	if err := h.s.Add(j); err != nil {
		h.t.Fatal(err)
	}
}

// gate parks attempts until released (or their ctx ends).
type gate struct {
	h  *harness
	ch chan struct{}
}

func (h *harness) newGate() *gate { return &gate{h: h, ch: make(chan struct{})} }

func (g *gate) wait(ctx context.Context) error {
	g.h.blocked.Add(1)
	select {
	case <-g.ch: // release already decremented
		return nil
	case <-ctx.Done():
		g.h.blocked.Add(-1)
		return ctx.Err()
	}
}

// release lets one parked attempt return, then settles.
func (g *gate) release() {
	g.h.blocked.Add(-1)
	g.ch <- struct{}{}
	g.h.settle()
}

func statuses(rs []Run) string {
	var b []string
	for _, r := range rs {
		b = append(b, fmt.Sprintf("%s/%s#%d", r.Trigger, r.Status, r.Attempt))
	}
	return strings.Join(b, " ")
}

func TestCronFiresAtFakeTimes(t *testing.T) {
	tests := []struct {
		name     string
		start    time.Time
		spec, tz string
		advance  time.Duration
		want     []time.Time
	}{
		{"every 15m", t0, "*/15 * * * *", "", time.Hour,
			[]time.Time{t0.Add(15 * time.Minute), t0.Add(30 * time.Minute), t0.Add(45 * time.Minute), t0.Add(time.Hour)}},
		{"@hourly", t0.Add(10 * time.Minute), "@hourly", "", 3 * time.Hour,
			[]time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour), t0.Add(3 * time.Hour)}},
		{"@every 90m", t0, "@every 90m", "", 4 * time.Hour,
			[]time.Time{t0.Add(90 * time.Minute), t0.Add(180 * time.Minute)}},
		{"09:00 on weekdays in New York (EST)", t0, "0 9 * * 1-5", "America/New_York", 48 * time.Hour,
			[]time.Time{t0.Add(14 * time.Hour), t0.Add(38 * time.Hour)}},
		{"daily 02:30 Berlin over spring forward", utc(2026, 3, 27, 12, 0), "30 2 * * *", "Europe/Berlin", 72 * time.Hour,
			[]time.Time{utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.start, nil, Options{})
			h.add(Job{Name: "j", Schedule: tc.spec, Timezone: tc.tz, Run: h.job("j", nil)})
			h.start()
			h.advance(tc.advance)
			got := h.callTimes("j")
			if len(got) != len(tc.want) {
				t.Fatalf("fired at %v, want %v", got, tc.want)
			}
			for i := range got {
				if !got[i].Equal(tc.want[i]) {
					t.Fatalf("fire %d at %v, want %v", i, got[i], tc.want[i])
				}
			}
			for i, r := range h.runs("j") {
				if r.Trigger != TriggerSchedule || r.Status != StatusSucceeded || !r.Scheduled.Equal(tc.want[i]) {
					t.Fatalf("run %d = %+v", i, r)
				}
			}
		})
	}
}

func TestDebounceCoalescesBurst(t *testing.T) {
	h := newHarness(t, t0, nil, Options{})
	h.add(Job{Name: "ingest", Debounce: 10 * time.Second, Run: h.job("ingest", nil)})
	h.start()
	for _, d := range []time.Duration{0, 2 * time.Second, 3 * time.Second, 4 * time.Second} {
		h.advance(d)
		if err := h.s.Trigger("ingest", "file-arrival: orders/part-"+d.String()+".csv"); err != nil {
			t.Fatal(err)
		}
	}
	h.advance(999 * time.Millisecond) // 9.999s after the first trigger
	if n := len(h.callTimes("ingest")); n != 0 {
		t.Fatalf("ran %d times inside the debounce window", n)
	}
	h.advance(time.Millisecond)
	if got := h.callTimes("ingest"); len(got) != 1 || !got[0].Equal(t0.Add(10*time.Second)) {
		t.Fatalf("runs at %v, want one at +10s", got)
	}
	rs := h.runs("ingest")
	if len(rs) != 1 || rs[0].Trigger != TriggerFileArrival || rs[0].Coalesced != 3 || !strings.HasPrefix(rs[0].Reason, "file-arrival: orders/part-0s") {
		t.Fatalf("history = %+v", rs)
	}
	// A later trigger opens a new window; manual triggers skip debouncing.
	h.advance(time.Minute)
	if err := h.s.Trigger("ingest", "table-update"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Trigger("ingest", "manual"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if n := len(h.callTimes("ingest")); n != 2 {
		t.Fatalf("manual trigger: %d runs, want 2", n)
	}
	h.advance(10 * time.Second)
	if n := len(h.callTimes("ingest")); n != 3 {
		t.Fatalf("table-update after window: %d runs, want 3", n)
	}
}

func TestTriggerErrors(t *testing.T) {
	h := newHarness(t, t0, nil, Options{})
	h.add(Job{Name: "j", Run: h.job("j", nil)})
	if err := h.s.Trigger("nope", "manual"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown job: %v", err)
	}
	if err := h.s.Trigger("j", "because"); err == nil || !strings.Contains(err.Error(), "file-arrival") {
		t.Fatalf("bad reason: %v", err)
	}
}

func TestBackoffCeiling(t *testing.T) {
	for _, tc := range []struct {
		base    time.Duration
		attempt int
		want    time.Duration
	}{
		{10 * time.Second, 1, 10 * time.Second},
		{10 * time.Second, 2, 20 * time.Second},
		{10 * time.Second, 4, 80 * time.Second},
		{10 * time.Second, 6, MaxBackoff},
		{10 * time.Second, 200, MaxBackoff},
		{10 * time.Minute, 1, MaxBackoff},
		{0, 3, 0},
	} {
		if got := backoffCeiling(tc.base, tc.attempt); got != tc.want {
			t.Errorf("backoffCeiling(%v, %d) = %v, want %v", tc.base, tc.attempt, got, tc.want)
		}
	}
}

func TestRetriesWithJitteredBackoff(t *testing.T) {
	tests := []struct {
		name      string
		rand      func() float64
		failFirst int // attempts that fail
		retries   int
		wantGaps  []time.Duration // exact gaps, when rand is fixed
	}{
		{name: "random jitter, all fail", failFirst: 99, retries: 4},
		{name: "half jitter, exact gaps", rand: func() float64 { return 0.5 }, failFirst: 99, retries: 3,
			wantGaps: []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second}},
		{name: "zero jitter, succeeds on third", rand: func() float64 { return 0 }, failFirst: 2, retries: 5,
			wantGaps: []time.Duration{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const base = 10 * time.Second
			h := newHarness(t, t0, nil, Options{Rand: tc.rand})
			h.add(Job{Name: "j", Retries: tc.retries, Backoff: base, Run: h.job("j", func(ctx context.Context, attempt int) error {
				if attempt <= tc.failFirst {
					return fmt.Errorf("boom %d", attempt)
				}
				return nil
			})})
			h.add(Job{Name: "down", After: []string{"j"}, Run: h.job("down", nil)})
			h.start()
			if err := h.s.Trigger("j", "manual"); err != nil {
				t.Fatal(err)
			}
			h.advance(30 * time.Minute)
			rs := h.runs("j")
			wantAttempts := min(tc.failFirst+1, tc.retries+1)
			if len(rs) != wantAttempts {
				t.Fatalf("attempts = %s, want %d", statuses(rs), wantAttempts)
			}
			for i, r := range rs {
				wantTrig, wantStatus := TriggerManual, StatusFailed
				if i > 0 {
					wantTrig = TriggerRetry
				}
				if i+1 > tc.failFirst {
					wantStatus = StatusSucceeded
				}
				if r.Attempt != i+1 || r.Trigger != wantTrig || r.Status != wantStatus {
					t.Fatalf("attempt %d = %+v", i+1, r)
				}
				if i == 0 {
					continue
				}
				gap := r.Start.Sub(rs[i-1].End)
				if ceil := backoffCeiling(base, i); gap < 0 || gap > ceil {
					t.Fatalf("gap before attempt %d = %v, want within [0, %v]", i+1, gap, ceil)
				}
				if tc.wantGaps != nil && gap != tc.wantGaps[i-1] {
					t.Fatalf("gap before attempt %d = %v, want %v", i+1, gap, tc.wantGaps[i-1])
				}
			}
			down := h.runs("down")
			if succeeded := tc.failFirst <= tc.retries; succeeded {
				if len(down) != 1 || down[0].Status != StatusSucceeded || down[0].Trigger != TriggerUpstream {
					t.Fatalf("downstream = %s", statuses(down))
				}
			} else if len(down) != 1 || down[0].Status != StatusSkippedUpstream {
				// skipped once, after the last retry, not after each attempt
				t.Fatalf("downstream = %s", statuses(down))
			}
		})
	}
}

func TestTimeoutCancelsAttempt(t *testing.T) {
	h := newHarness(t, t0, nil, Options{Rand: func() float64 { return 0 }})
	var causes []error
	var mu sync.Mutex
	g := h.newGate()
	h.add(Job{Name: "slow", Timeout: 30 * time.Second, Retries: 1, Run: h.job("slow", func(ctx context.Context, attempt int) error {
		err := g.wait(ctx)
		mu.Lock()
		causes = append(causes, context.Cause(ctx))
		mu.Unlock()
		return err
	})})
	h.start()
	if err := h.s.Trigger("slow", "manual"); err != nil {
		t.Fatal(err)
	}
	h.advance(29 * time.Second)
	if rs := h.runs("slow"); len(rs) != 0 {
		t.Fatalf("ended early: %s", statuses(rs))
	}
	h.advance(time.Second) // attempt 1 times out at +30s; attempt 2 starts at once (zero jitter)
	h.advance(30 * time.Second)
	rs := h.runs("slow")
	if len(rs) != 2 {
		t.Fatalf("runs = %s", statuses(rs))
	}
	for i, r := range rs {
		if r.Status != StatusTimedOut || r.End.Sub(r.Start) != 30*time.Second || !strings.Contains(r.Error, "timed out after 30s") {
			t.Fatalf("attempt %d = %+v", i+1, r)
		}
	}
	for _, c := range causes {
		if !errors.Is(c, ErrTimedOut) {
			t.Fatalf("ctx cause = %v", c)
		}
	}
}

func TestNoOverlap(t *testing.T) {
	t.Run("coalesce", func(t *testing.T) {
		h := newHarness(t, t0, nil, Options{MaxConcurrent: 4})
		g := h.newGate()
		h.add(Job{Name: "j", Schedule: "@every 1m", Run: h.job("j", func(ctx context.Context, _ int) error { return g.wait(ctx) })})
		h.start()
		h.advance(time.Minute) // scheduled run starts and blocks
		for i := 0; i < 3; i++ {
			if err := h.s.Trigger("j", "manual"); err != nil {
				t.Fatal(err)
			}
		}
		h.advance(3 * time.Minute) // three more schedule ticks while running
		if n := len(h.callTimes("j")); n != 1 {
			t.Fatalf("%d concurrent starts", n)
		}
		g.release() // follow-up run starts at once and blocks
		if got := h.callTimes("j"); len(got) != 2 || !got[1].Equal(t0.Add(4*time.Minute)) {
			t.Fatalf("starts = %v", got)
		}
		g.release()
		rs := h.runs("j")
		if len(rs) != 2 || rs[1].Trigger != TriggerManual || rs[1].Coalesced != 5 {
			t.Fatalf("history = %+v", rs)
		}
		if h.maxConc != 1 {
			t.Fatalf("max concurrent runs of one job = %d", h.maxConc)
		}
	})
	t.Run("skip", func(t *testing.T) {
		h := newHarness(t, t0, nil, Options{})
		g := h.newGate()
		h.add(Job{Name: "j", SkipOverlap: true, Run: h.job("j", func(ctx context.Context, _ int) error { return g.wait(ctx) })})
		h.start()
		for i := 0; i < 3; i++ {
			if err := h.s.Trigger("j", "manual"); err != nil {
				t.Fatal(err)
			}
			h.settle()
		}
		g.release()
		rs := h.runs("j")
		if got := statuses(rs); got != "manual/skipped-overlap#0 manual/skipped-overlap#0 manual/succeeded#1" {
			t.Fatalf("history = %s", got)
		}
		if n := len(h.callTimes("j")); n != 1 {
			t.Fatalf("%d runs", n)
		}
	})
}

func TestConcurrencyLimit(t *testing.T) {
	h := newHarness(t, t0, nil, Options{MaxConcurrent: 2})
	g := h.newGate()
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		h.add(Job{Name: n, Run: h.job(n, func(ctx context.Context, _ int) error { return g.wait(ctx) })})
	}
	h.start()
	for _, n := range names {
		if err := h.s.Trigger(n, "manual"); err != nil {
			t.Fatal(err)
		}
	}
	h.settle()
	started := func() (n int) {
		for _, name := range names {
			n += len(h.callTimes(name))
		}
		return n
	}
	if n := started(); n != 2 {
		t.Fatalf("%d running, want 2", n)
	}
	g.release()
	if n := started(); n != 3 {
		t.Fatalf("after one finished: %d started, want 3", n)
	}
	g.release()
	g.release()
	g.release()
	if n := started(); n != 4 || h.maxConc != 2 {
		t.Fatalf("started %d, max concurrent %d", n, h.maxConc)
	}
	// FIFO: a and b first.
	if len(h.callTimes("a")) != 1 || len(h.callTimes("b")) != 1 {
		t.Fatal("a and b did not run")
	}
}

func TestDownstreamAfter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     bool
		wantDown string
	}{
		{"upstream succeeds", false, "upstream/succeeded#1"},
		{"upstream fails", true, "upstream/skipped-upstream#0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, t0, nil, Options{})
			h.add(Job{Name: "bronze", Run: h.job("bronze", func(context.Context, int) error {
				if tc.fail {
					return errors.New("bad file")
				}
				return nil
			})})
			h.add(Job{Name: "silver", After: []string{"bronze"}, Run: h.job("silver", nil)})
			h.add(Job{Name: "gold", After: []string{"silver"}, Debounce: time.Minute, Run: h.job("gold", nil)})
			h.add(Job{Name: "other", Run: h.job("other", nil)})
			h.start()
			if err := h.s.Trigger("bronze", "file-arrival: orders/1.csv"); err != nil {
				t.Fatal(err)
			}
			h.advance(time.Minute) // gold's debounce window
			for _, j := range []string{"silver", "gold"} {
				if got := statuses(h.runs(j)); got != tc.wantDown {
					t.Fatalf("%s: %s, want %s", j, got, tc.wantDown)
				}
			}
			if tc.fail {
				if r := h.runs("gold")[0]; !strings.Contains(r.Error, "upstream bronze failed") {
					t.Fatalf("gold skip error = %q", r.Error)
				}
				if len(h.callTimes("silver"))+len(h.callTimes("gold")) != 0 {
					t.Fatal("downstream ran after failure")
				}
			} else if got := h.callTimes("gold"); len(got) != 1 || !got[0].Equal(t0.Add(time.Minute)) {
				t.Fatalf("gold ran at %v, want +1m (debounced)", got)
			}
			if len(h.runs("other")) != 0 {
				t.Fatal("unrelated job recorded")
			}
		})
	}
}

func TestHistoryAcrossRestart(t *testing.T) {
	for _, catchUp := range []bool{false, true} {
		t.Run(fmt.Sprintf("CatchUp=%v", catchUp), func(t *testing.T) {
			hist := NewMemoryHistory()
			job := func(h *harness) Job {
				return Job{Name: "daily", Schedule: "0 2 * * *", Run: h.job("daily", nil)}
			}
			// First process: runs on day 1 at 02:00, then stops.
			h1 := newHarness(t, t0, hist, Options{CatchUp: catchUp})
			h1.add(job(h1))
			h1.start()
			h1.advance(3 * time.Hour)
			h1.cancel()
			h1.s.Wait()
			h1.cancel = nil

			// Second process starts on day 3 at 10:00: day 2 and 3 02:00 were missed.
			restart := t0.Add(2*24*time.Hour + 10*time.Hour)
			h2 := newHarness(t, restart, hist, Options{CatchUp: catchUp})
			h2.add(job(h2))
			past, err := hist.List(context.Background(), "daily", 10)
			if err != nil || len(past) != 1 || !past[0].Scheduled.Equal(t0.Add(2*time.Hour)) {
				t.Fatalf("history after restart = %+v, %v", past, err)
			}
			h2.start()
			got := h2.callTimes("daily")
			if catchUp {
				if len(got) != 1 || !got[0].Equal(restart) {
					t.Fatalf("catch-up runs at %v, want one at restart", got)
				}
				if r := h2.runs("daily")[1]; r.Reason != "catch-up" || !r.Scheduled.Equal(t0.Add(2*24*time.Hour+2*time.Hour)) {
					t.Fatalf("catch-up run = %+v", r)
				}
			} else if len(got) != 0 {
				t.Fatalf("missed schedule ran retroactively at %v", got)
			}
			h2.advance(24 * time.Hour)
			got = h2.callTimes("daily")
			if last := got[len(got)-1]; !last.Equal(t0.Add(3*24*time.Hour + 2*time.Hour)) {
				t.Fatalf("next regular run at %v", last)
			}
			if n := len(h2.runs("daily")); n != len(got)+1 {
				t.Fatalf("history has %d runs, want %d", n, len(got)+1)
			}
		})
	}
}

func TestGracefulStopWaitsForRunning(t *testing.T) {
	h := newHarness(t, t0, nil, Options{MaxConcurrent: 1})
	g := h.newGate()
	h.add(Job{Name: "long", Timeout: time.Hour, Run: h.job("long", func(ctx context.Context, _ int) error { return g.wait(ctx) })})
	h.add(Job{Name: "queued", Run: h.job("queued", nil)})
	h.add(Job{Name: "tick", Schedule: "@every 1m", Run: h.job("tick", nil)})
	h.start()
	if err := h.s.Trigger("long", "manual"); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Trigger("queued", "manual"); err != nil { // waits for the single slot
		t.Fatal(err)
	}
	h.settle()
	h.cancel() // SIGTERM
	h.settle()
	waited := make(chan struct{})
	go func() { h.s.Wait(); close(waited) }()
	h.advance(5 * time.Minute) // no schedule fires after stop
	select {
	case <-waited:
		t.Fatal("Wait returned while a run was in progress")
	default:
	}
	if err := h.s.Trigger("queued", "manual"); !errors.Is(err, ErrStopped) {
		t.Fatalf("Trigger after stop = %v", err)
	}
	g.release()
	<-waited // would hang (test timeout) if Wait did not return
	h.cancel = nil
	if got := statuses(h.runs("long")); got != "manual/succeeded#1" {
		t.Fatalf("long = %s (running job must finish, not be canceled)", got)
	}
	if n := len(h.callTimes("queued")) + len(h.callTimes("tick")); n != 0 {
		t.Fatalf("%d runs started after stop", n)
	}
}

func TestCancelRunning(t *testing.T) {
	h := newHarness(t, t0, nil, Options{})
	g := h.newGate()
	h.add(Job{Name: "j", Retries: 3, Run: h.job("j", func(ctx context.Context, _ int) error { return g.wait(ctx) })})
	h.start()
	if err := h.s.Trigger("j", "manual"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.s.CancelRunning()
	h.advance(time.Hour)
	if got := statuses(h.runs("j")); got != "manual/canceled#1" {
		t.Fatalf("history = %s (canceled is not retried)", got)
	}
}

func TestAddValidation(t *testing.T) {
	run := func(context.Context, int) (Result, error) { return Result{}, nil }
	s, err := New(RealClock{}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "up", Run: run}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job  Job
		want string
	}{
		{Job{Run: run}, "Name"},
		{Job{Name: "x"}, `job "x": Run`},
		{Job{Name: "x", Run: run, Schedule: "every day"}, `job "x": Schedule`},
		{Job{Name: "x", Run: run, Schedule: "@daily", Timezone: "Mars/Olympus"}, `job "x": Timezone`},
		{Job{Name: "x", Run: run, Retries: -1}, `job "x": Retries`},
		{Job{Name: "x", Run: run, Backoff: -time.Second}, `job "x": Backoff`},
		{Job{Name: "x", Run: run, Timeout: -time.Second}, `job "x": Timeout`},
		{Job{Name: "x", Run: run, Debounce: -time.Second}, `job "x": Debounce`},
		{Job{Name: "x", Run: run, After: []string{"later"}}, `job "x": After`},
		{Job{Name: "x", Run: run, After: []string{"x"}}, `job "x": After`},
		{Job{Name: "up", Run: run}, `job "up": Name: already added`},
	} {
		err := s.Add(tc.job)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%+v) = %v, want error containing %q", tc.job.Name, err, tc.want)
		}
	}
	if _, err := New(RealClock{}, nil, Options{MaxConcurrent: -1}); err == nil {
		t.Error("negative MaxConcurrent accepted")
	}
}
