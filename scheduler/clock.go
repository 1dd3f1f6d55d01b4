package scheduler

import "time"

// Clock is the time source (real or fake). The scheduler never calls
// time.Now, time.After or context.WithTimeout directly, so a fake clock
// (schedulertest.FakeClock) drives it deterministically.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the system clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
