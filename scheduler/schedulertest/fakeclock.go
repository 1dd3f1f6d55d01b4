// Package schedulertest provides test helpers for package scheduler, chiefly
// FakeClock: a manually advanced clock whose timers fire deterministically.
package schedulertest

import (
	"sort"
	"sync"
	"time"
)

// FakeClock is a Clock whose time only moves when Advance, AdvanceTo or Step
// is called. It implements scheduler.Clock. It is safe for concurrent use.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer
}

type fakeTimer struct {
	at  time.Time
	seq uint64
	ch  chan time.Time
}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the fake current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel (buffered, capacity 1) that receives the fake time
// once the clock has been advanced by at least d. A d <= 0 fires at once.
func (c *FakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.seq++
	c.timers = append(c.timers, &fakeTimer{at: c.now.Add(d), seq: c.seq, ch: ch})
	return ch
}

// Pending is the number of timers that have not fired yet (including ones
// whose receiver has lost interest: a timer cannot be stopped).
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns the deadline of the earliest pending timer.
func (c *FakeClock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return time.Time{}, false
	}
	next := c.timers[0].at
	for _, t := range c.timers[1:] {
		if t.at.Before(next) {
			next = t.at
		}
	}
	return next, true
}

// Advance moves the clock forward by d, firing every timer that falls due, in
// deadline order (ties in creation order). While a timer fires, Now reads its
// deadline; afterwards Now reads the old time plus d.
func (c *FakeClock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo is Advance to an absolute time; a time before Now fires nothing
// and leaves the clock where it is.
func (c *FakeClock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		return
	}
	sort.SliceStable(c.timers, func(i, j int) bool {
		if c.timers[i].at.Equal(c.timers[j].at) {
			return c.timers[i].seq < c.timers[j].seq
		}
		return c.timers[i].at.Before(c.timers[j].at)
	})
	n := 0
	for _, tm := range c.timers {
		if tm.at.After(t) {
			break
		}
		c.now = tm.at
		tm.ch <- tm.at // capacity 1, sent once: never blocks
		n++
	}
	c.timers = append(c.timers[:0], c.timers[n:]...)
	c.now = t
}

// Step advances the clock to the earliest pending deadline and fires the
// timers due then. It reports false (and does nothing) when no timer is pending.
func (c *FakeClock) Step() bool {
	next, ok := c.Next()
	if !ok {
		return false
	}
	c.AdvanceTo(next)
	return true
}
