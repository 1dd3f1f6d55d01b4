package scheduler

import (
	"errors"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// schedule is a parsed Job.Schedule bound to its time zone.
type schedule struct {
	spec  *cron.SpecSchedule          // wall-clock fields, evaluated in loc
	every *cron.ConstantDelaySchedule // @every: elapsed time, zone-free
	loc   *time.Location
}

// parseSchedule parses a robfig/cron standard spec (5 fields or a descriptor
// such as @hourly, @daily, @every 90m). Time zones come from Job.Timezone, so a
// TZ=/CRON_TZ= prefix is rejected.
func parseSchedule(spec string, loc *time.Location) (*schedule, error) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("time zone prefix not supported here; set Timezone")
	}
	sc, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	switch v := sc.(type) {
	case *cron.SpecSchedule:
		// Evaluate on a zone-free wall clock (UTC-labelled fields); next maps the
		// wall time back to an instant in loc with explicit DST rules.
		v.Location = time.UTC
		return &schedule{spec: v, loc: loc}, nil
	case cron.ConstantDelaySchedule:
		return &schedule{every: &v, loc: loc}, nil
	default:
		return nil, errors.New("unsupported schedule type")
	}
}

// next returns the first activation strictly after `after`, or the zero time
// if there is none within the cron library's five-year horizon.
//
// Cron fields are wall-clock times in the job's zone. Around DST transitions:
//   - a wall time that does not exist (spring forward: 02:30 in Europe/Berlin
//     on the last Sunday of March) runs once, shifted forward by the length of
//     the gap (03:30 CEST, one elapsed hour after 01:30 CET);
//   - a wall time that occurs twice (fall back: 02:30 on the last Sunday of
//     October) runs once, at its first occurrence (02:30 CEST).
//
// @every intervals are elapsed time and ignore zones.
func (s *schedule) next(after time.Time) time.Time {
	if s.every != nil {
		return s.every.Next(after)
	}
	w := wallClock(after, s.loc)
	for i := 0; i < 1000; i++ {
		c := s.spec.Next(w)
		if c.IsZero() {
			return time.Time{}
		}
		if inst := resolveWall(c, s.loc); inst.After(after) {
			return inst
		}
		// The wall time's first occurrence is already past (we are inside a
		// repeated fall-back hour): it has run, look further.
		w = c
	}
	return time.Time{}
}

// wallClock returns t's wall-clock fields in loc, labelled UTC.
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// resolveWall maps wall-clock fields (labelled UTC) to an instant in loc: the
// earliest instant showing that wall time, or for a wall time inside a gap the
// instant reached by reading it with the offset in force before the gap.
func resolveWall(w time.Time, loc *time.Location) time.Time {
	var best time.Time
	seen := map[int]bool{}
	for _, probe := range []time.Duration{-26 * time.Hour, -13 * time.Hour, 0, 13 * time.Hour, 26 * time.Hour} {
		_, off := w.Add(probe).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		inst := w.Add(-time.Duration(off) * time.Second)
		if wallClock(inst, loc).Equal(w) && (best.IsZero() || inst.Before(best)) {
			best = inst
		}
	}
	if !best.IsZero() {
		return best
	}
	_, before := w.Add(-26 * time.Hour).In(loc).Zone()
	return w.Add(-time.Duration(before) * time.Second)
}
