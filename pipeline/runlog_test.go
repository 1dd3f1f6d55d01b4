package pipeline_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/scheduler"
)

// TestJobRunsAreCompacted: medallion.job_runs, appended to once per job
// run, compacts itself: its file count stays bounded and every run is kept.
func TestJobRunsAreCompacted(t *testing.T) {
	dir, proj := writeProject(t, map[string]string{"medallion.yaml": "name: h\n"})
	h := pipeline.NewJobHistory(proj)
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	n := 2*pipeline.InternalCompactFiles + 3
	for i := range n {
		r := scheduler.Run{Job: "ingest", Trigger: scheduler.TriggerSchedule, Attempt: 1, Start: base.Add(time.Duration(i) * time.Minute),
			End: base.Add(time.Duration(i)*time.Minute + time.Second), Status: scheduler.StatusSucceeded}
		if i%3 == 0 { // NULL and non-NULL values in the same columns
			r.Status, r.Error, r.Scheduled = scheduler.StatusFailed, fmt.Sprintf("boom %d", i), base
		}
		if err := h.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	lake, err := pipeline.OpenLake(t.Context(), filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(t.Context(), pipeline.JobRunsTable)
	if err != nil || snap == nil {
		t.Fatalf("medallion.job_runs: %v", err)
	}
	if f := snap.NumFiles(); f > pipeline.InternalCompactFiles {
		t.Errorf("medallion.job_runs holds %d files after %d appends, want at most %d", f, n, pipeline.InternalCompactFiles)
	}
	runs, err := h.List(t.Context(), "ingest", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != n || runs[len(runs)-1].Error != "boom 0" || runs[0].Status != scheduler.StatusSucceeded {
		t.Errorf("%d runs (want %d), oldest %+v", len(runs), n, runs[len(runs)-1])
	}
}
