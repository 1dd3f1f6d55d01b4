package schedulertest

import (
	"testing"
	"time"
)

func TestFakeClockFiresInOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewFakeClock(start)
	a := c.After(3 * time.Second)
	b := c.After(1 * time.Second)
	z := c.After(0)
	select {
	case got := <-z:
		if !got.Equal(start) {
			t.Fatalf("After(0) = %v, want %v", got, start)
		}
	default:
		t.Fatal("After(0) did not fire at once")
	}
	if n, _ := c.Next(); !n.Equal(start.Add(time.Second)) {
		t.Fatalf("Next = %v", n)
	}
	c.Advance(2 * time.Second)
	select {
	case got := <-b:
		if !got.Equal(start.Add(time.Second)) {
			t.Fatalf("b fired with %v", got)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a:
		t.Fatal("a fired early")
	default:
	}
	if !c.Now().Equal(start.Add(2 * time.Second)) {
		t.Fatalf("Now = %v", c.Now())
	}
	if !c.Step() || !c.Now().Equal(start.Add(3*time.Second)) {
		t.Fatalf("Step: Now = %v", c.Now())
	}
	if got := <-a; !got.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("a fired with %v", got)
	}
	if c.Step() || c.Pending() != 0 {
		t.Fatal("Step with no timers")
	}
}
