package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

const clicksConfig = `
name: clicks
sources:
  clicks:
    format: json
    schema: {event_time: timestamp}
`

const perMinute = `-- name: gold.clicks_1m
-- window: {source: bronze.clicks, time: event_time, size: 1m, lateness: 1m}
SELECT window_start, window_end, event_type, count(*) AS events
FROM bronze.clicks
GROUP BY ALL
`

const sliding = `-- name: gold.sessions_2m
-- window: {source: bronze.clicks, time: event_time, size: 2m, slide: 1m, lateness: 1m}
SELECT window_start, window_end, count(DISTINCT session_id) AS sessions
FROM bronze.clicks
GROUP BY ALL
`

func click(ts, typ, session string) string {
	return fmt.Sprintf(`{"event_time": "2026-11-25T%sZ", "event_type": %q, "session_id": %q}`+"\n", ts, typ, session)
}

func windows(t *testing.T, proj *pipeline.Project, q string) []string {
	t.Helper()
	var out []string
	for _, r := range query(t, proj, q) {
		s := ""
		for i, v := range r {
			if i > 0 {
				s += " "
			}
			if tm, ok := v.(time.Time); ok {
				s += tm.UTC().Format("15:04")
			} else {
				s += fmt.Sprint(v)
			}
		}
		out = append(out, s)
	}
	return out
}

// TestEventTimeWindows lands clicks in two batches: windows are emitted once
// the watermark (newest event time − 1m) passes their end, never twice, and
// a click whose window had already closed goes to the late table.
func TestEventTimeWindows(t *testing.T) {
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":        clicksConfig,
		"models/per_minute.sql": perMinute,
		"models/sliding.sql":    sliding,
		"landing/clicks/1.json": click("10:00:10", "view", "a") + click("10:00:50", "view", "b") + click("10:01:20", "buy", "a") + click("10:02:30", "view", "c"),
	})
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Watermark 10:01:30: only [10:00, 10:01) has closed.
	if got := tableReport(rep, "gold.clicks_1m").Watermark.Format("15:04:05"); got != "10:01:30" {
		t.Fatalf("watermark %s, want 10:01:30", got)
	}
	got := windows(t, proj, "SELECT window_start, window_end, event_type, events FROM gold.clicks_1m ORDER BY ALL")
	if fmt.Sprint(got) != "[10:00 10:01 view 2]" {
		t.Fatalf("after batch 1: %v", got)
	}
	addFiles(t, dir, map[string]string{
		"landing/clicks/2.json": click("10:00:40", "view", "d") + click("10:01:40", "view", "e") + click("10:04:00", "view", "f"),
	})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	// Watermark 10:03: [10:01, 10:02) and [10:02, 10:03) close; 10:00:40
	// arrived after its window closed.
	got = windows(t, proj, "SELECT window_start, window_end, event_type, events FROM gold.clicks_1m ORDER BY ALL")
	want := "[10:00 10:01 view 2 10:01 10:02 buy 1 10:01 10:02 view 1 10:02 10:03 view 1]"
	if fmt.Sprint(got) != want {
		t.Fatalf("after batch 2: %v, want %s", got, want)
	}
	late := query(t, proj, "SELECT session_id, _lateness_ms FROM gold.clicks_1m_late")
	if len(late) != 1 || late[0][0] != "d" || late[0][1] != int64(50000) {
		t.Fatalf("late rows: %v, want d late by 50 s", late)
	}
	// Sliding windows of 2 minutes every minute: [9:59,10:01) closed after
	// batch 1; [10:00,10:02) and [10:01,10:03) after batch 2. d (10:00:40)
	// is not late here: its last window, [10:00,10:02), was still open, so
	// it counts there (sessions a, b, d, e).
	got = windows(t, proj, "SELECT window_start, window_end, sessions FROM gold.sessions_2m ORDER BY ALL")
	if fmt.Sprint(got) != "[09:59 10:01 2 10:00 10:02 4 10:01 10:03 3]" {
		t.Fatalf("sliding windows: %v", got)
	}
	if n := query(t, proj, "SELECT count(*) FROM gold.sessions_2m_late"); n[0][0] != int64(0) {
		t.Fatalf("sliding late rows: %v, want none", n)
	}
	// Nothing new: nothing commits, no window is emitted twice.
	rep, err = pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err != nil || rep.Changed() {
		t.Fatalf("idle run: changed=%v err=%v", rep.Changed(), err)
	}
	if n := query(t, proj, "SELECT count(*) - count(DISTINCT (window_start, event_type)) FROM gold.clicks_1m"); n[0][0] != int64(0) {
		t.Fatalf("a window was emitted twice: %v", n)
	}
}
