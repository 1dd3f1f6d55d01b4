package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

// TestOneShotRunsFollowBackfillInterval: one-shot runs (no hub kept between
// them, as separate `medallion run` invocations) list the landing only once
// per backfill_interval (1h here), judged by the last backfill recorded in
// the source's table: a file whose notification was lost waits for the
// next backfill, notified files are ingested meanwhile.
func TestOneShotRunsFollowBackfillInterval(t *testing.T) {
	p := newAzureProject(t)
	proj := p.load(t)
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	run := func(at time.Time) {
		t.Helper()
		if _, err := pipeline.Run(context.Background(), proj, pipeline.RunOptions{Now: func() time.Time { return at }}); err != nil {
			t.Fatal(err)
		}
	}
	p.put(t, "orders/a.csv", 3, true)
	p.put(t, "orders/before.csv", 1, false)
	run(t0) // the first run lists: both files
	wantRows(t, rows(t, proj), map[string]int64{"orders/a.csv": 3, "orders/before.csv": 1})

	p.put(t, "orders/lost.csv", 4, false) // its notification never came
	p.put(t, "orders/b.csv", 2, true)
	run(t0.Add(30 * time.Minute)) // within the interval: notified files only
	wantRows(t, rows(t, proj), map[string]int64{"orders/a.csv": 3, "orders/before.csv": 1, "orders/b.csv": 2})
	if n := p.be.held(t); n != 0 {
		t.Fatalf("queue holds %d messages after the run, want 0", n)
	}

	run(t0.Add(time.Hour)) // the interval is over: a backfill finds lost.csv
	wantRows(t, rows(t, proj), map[string]int64{"orders/a.csv": 3, "orders/before.csv": 1, "orders/b.csv": 2, "orders/lost.csv": 4})
}
