package main_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/pipeline"
)

// TestCompactionBesideWindowStream streams clickstream files through the
// window models with compaction after every batch (--compact-after 1),
// while `medallion optimize` processes compact the same source beside it.
// No process reports a conflict or a failed batch, and the one-minute
// windows equal a batch computation over the same events. Before, a batch
// after a compaction re-committed an unchanged watermark next to a new
// progress txn and failed with "concurrent modification: 1 of the
// transaction's 2 txns were already committed".
func TestCompactionBesideWindowStream(t *testing.T) {
	src := t.TempDir()
	clicks := datagen.NewClickstream(datagen.ClickstreamOptions{Seed: 4, Start: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Rate: 5, LateFraction: 0.05, MaxLateness: 4 * time.Minute})
	var files []string
	for f := range 8 {
		var b bytes.Buffer
		for range 300 { // 60 s of event time per file
			b.Write(clicks.Next().JSON())
			b.WriteByte('\n')
		}
		rel := filepath.Join("clickstream", fmt.Sprintf("clickstream_events_part-%06d.jsonl", f))
		if err := os.MkdirAll(filepath.Join(src, "clickstream"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, rel), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	dir := filepath.Join(t.TempDir(), "proj")
	mustMedallion(t, nil, "init", dir)
	landing := filepath.Join(dir, "landing")
	land(t, landing, src, files[:1])
	mustMedallion(t, nil, "stream", "-C", dir, "--trigger", "available-now") // bronze.clickstream exists for optimize

	streamCmd, streamOut, streamErr := command(t.Context(), nil, "stream", "-C", dir, "--trigger", "continuous", "--interval", "200ms", "--compact-after", "1")
	if err := streamCmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{}, 1)
	results := make(chan []result, 1)
	go func() {
		results <- runLoops(t, nil, stop, done, []string{"optimize", "-C", dir, "bronze.clickstream"})
	}()
	for _, f := range files[1:] {
		<-done
		land(t, landing, src, []string{f})
	}
	close(stop)
	loops := <-results
	if err := streamCmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := streamCmd.Wait()
	compacted := 0
	check := func(rs ...result) {
		t.Helper()
		for _, r := range rs {
			out := r.stdout + r.stderr
			if r.err != nil || strings.Contains(out, "concurrent modification") || strings.Contains(out, "failed") || strings.Contains(out, "lost a race") {
				t.Fatal(r) // before the final pass, which retries a failing batch forever
			}
			compacted += strings.Count(out, "compacted")
		}
	}
	check(append(loops, result{args: streamCmd.Args[1:], stdout: streamOut.String(), stderr: streamErr.String(), err: err})...)
	check(mustMedallion(t, nil, "stream", "-C", dir, "--trigger", "available-now", "--compact-after", "1"))
	if compacted == 0 {
		t.Fatal("nothing was compacted: the test did not exercise compaction")
	}
	t.Logf("%d compactions", compacted)

	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pipeline.OpenSession(t.Context(), proj)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const batch = `SELECT date_trunc('minute', event_time) AS window_start, event_type, count(*) AS events
FROM bronze.clickstream
WHERE event_id NOT IN (SELECT event_id FROM gold.clickstream_late_events)
  AND date_trunc('minute', event_time) + INTERVAL 1 MINUTE <= (SELECT max(event_time) - INTERVAL 2 MINUTE FROM bronze.clickstream)
GROUP BY ALL`
	res, err := s.Query(t.Context(), "SELECT count(*), (SELECT count(*) FROM gold.clickstream_events_1m), (SELECT count(*) FROM bronze.clickstream), (SELECT count(DISTINCT event_id) FROM bronze.clickstream) FROM ((SELECT window_start, event_type, events FROM gold.clickstream_events_1m EXCEPT ALL "+batch+") UNION ALL ("+batch+" EXCEPT ALL SELECT window_start, event_type, events FROM gold.clickstream_events_1m))")
	if err != nil {
		t.Fatal(err)
	}
	row := res.Rows[0]
	if row[0] != int64(0) {
		t.Fatalf("gold.clickstream_events_1m differs from the batch computation in %v rows", row[0])
	}
	if row[1] == int64(0) {
		t.Fatal("no window was finalized: the test did not exercise the windows")
	}
	if row[2] != int64(len(files)*300) || row[3] != row[2] {
		t.Fatalf("bronze.clickstream holds %v rows (%v distinct) for %d events", row[2], row[3], len(files)*300)
	}
}
