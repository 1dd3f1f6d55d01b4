package pipeline_test

import (
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/scheduler"
)

// TestJobHistorySurvivesRestart writes job runs to medallion.job_runs and
// reads them back through a new history, as a restarted server would.
func TestJobHistorySurvivesRestart(t *testing.T) {
	_, proj := writeProject(t, map[string]string{"medallion.yaml": "name: h\n"})
	h := pipeline.NewJobHistory(proj)
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i, st := range []string{scheduler.StatusFailed, scheduler.StatusSucceeded, scheduler.StatusSucceeded} {
		r := scheduler.Run{Job: "ingest", Trigger: scheduler.TriggerSchedule, Attempt: 1, Start: base.Add(time.Duration(i) * time.Minute),
			End: base.Add(time.Duration(i)*time.Minute + time.Second), Status: st, Result: scheduler.Result{Tables: map[string]string{"bronze.items": "ok"}}}
		if st == scheduler.StatusFailed {
			r.Error = "boom"
		}
		if err := h.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Append(t.Context(), scheduler.Run{Job: "other", Status: scheduler.StatusSucceeded, Start: base}); err != nil {
		t.Fatal(err)
	}
	runs, err := pipeline.NewJobHistory(proj).List(t.Context(), "ingest", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || !runs[0].Start.Equal(base.Add(2*time.Minute)) || runs[2].Status != scheduler.StatusFailed || runs[2].Error != "boom" || runs[0].Result.Tables["bronze.items"] != "ok" {
		t.Fatalf("runs: %+v", runs)
	}
}
