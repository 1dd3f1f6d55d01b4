package scheduler

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func TestScheduleNext(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		tz    string
		after time.Time
		want  []time.Time // successive activations
	}{
		{"every 15 minutes UTC", "*/15 * * * *", "UTC", utc(2026, 1, 1, 0, 0),
			[]time.Time{utc(2026, 1, 1, 0, 15), utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 0, 45)}},
		{"daily 09:00 New York across US spring forward", "0 9 * * *", "America/New_York", utc(2026, 3, 7, 0, 0),
			[]time.Time{utc(2026, 3, 7, 14, 0), utc(2026, 3, 8, 13, 0), utc(2026, 3, 9, 13, 0)}},
		// Europe/Berlin springs forward on 2026-03-29 at 02:00 CET -> 03:00 CEST.
		{"daily 02:30 Berlin, spring forward runs at 03:30 CEST", "30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 12, 0),
			[]time.Time{utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)}},
		{"hourly :30 Berlin across spring forward", "30 * * * *", "Europe/Berlin", utc(2026, 3, 28, 23, 45),
			[]time.Time{utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 30)}},
		// Falls back on 2026-10-25 at 03:00 CEST -> 02:00 CET: 02:30 happens twice, runs once.
		{"daily 02:30 Berlin, fall back runs once at first occurrence", "30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12, 0),
			[]time.Time{utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)}},
		{"@daily Tokyo", "@daily", "Asia/Tokyo", utc(2026, 1, 1, 0, 0),
			[]time.Time{utc(2026, 1, 1, 15, 0), utc(2026, 1, 2, 15, 0)}},
		{"@every 90m ignores zone", "@every 90m", "Europe/Berlin", utc(2026, 3, 29, 0, 0),
			[]time.Time{utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 3, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSchedule(tc.spec, mustLoc(t, tc.tz))
			if err != nil {
				t.Fatal(err)
			}
			at := tc.after
			for i, want := range tc.want {
				got := s.next(at)
				if !got.Equal(want) {
					t.Fatalf("activation %d after %v: got %v, want %v", i, at, got.UTC(), want)
				}
				at = got
			}
		})
	}
}

func TestScheduleNextInsideRepeatedHour(t *testing.T) {
	// Restarting inside the second 02:xx hour of the fall-back day must not run
	// the 02:30 job a second time.
	s, err := parseSchedule("30 2 * * *", mustLoc(t, "Europe/Berlin"))
	if err != nil {
		t.Fatal(err)
	}
	secondPass := utc(2026, 10, 25, 1, 10) // 02:10 CET, after 02:30 CEST already happened
	if got, want := s.next(secondPass), utc(2026, 10, 26, 1, 30); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got.UTC(), want)
	}
}

func TestParseScheduleRejects(t *testing.T) {
	for _, spec := range []string{"CRON_TZ=UTC 0 * * * *", "* * *", "@fortnightly", "61 * * * *"} {
		if _, err := parseSchedule(spec, time.UTC); err == nil {
			t.Errorf("parseSchedule(%q) succeeded", spec)
		}
	}
}
