package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/scheduler"
)

// JobRunsTable keeps every scheduled job run (serve's job history).
const JobRunsTable = "medallion.job_runs"

// JobHistory is a scheduler.History kept in the lake as the Delta table
// medallion.job_runs, so job history survives restarts and is queryable.
type JobHistory struct {
	proj *Project
}

var _ scheduler.History = (*JobHistory)(nil)

// NewJobHistory returns the project's job history.
func NewJobHistory(proj *Project) *JobHistory { return &JobHistory{proj: proj} }

// Append records one run.
func (h *JobHistory) Append(ctx context.Context, r scheduler.Run) error {
	lake, err := OpenLake(ctx, h.proj.Resolve(h.proj.Config.Lake), nil)
	if err != nil {
		return err
	}
	eng, err := openEngine(ctx, h.proj, nil)
	if err != nil {
		return err
	}
	defer eng.Close()
	result, err := json.Marshal(r.Result)
	if err != nil {
		return fmt.Errorf("pipeline: job history: %w", err)
	}
	ts := func(t time.Time) string { return tsLit(eng, t) }
	q := fmt.Sprintf("SELECT %s AS job, %s AS trigger, %s AS reason, %d AS attempt, %s AS scheduled, %s AS started_at, %s AS ended_at, %s AS status, %s AS error, %d AS coalesced, %s AS result",
		sqlString(r.Job), sqlString(r.Trigger), sqlString(r.Reason), r.Attempt, ts(r.Scheduled), ts(r.Start), ts(r.End), sqlString(r.Status), nullableString(eng, r.Error), r.Coalesced, sqlString(string(result)))
	rr := &run{proj: h.proj, lake: lake, eng: eng, bound: map[string]bool{}, boundVersion: map[string]int64{}}
	return rr.appendQuery(ctx, JobRunsTable, q, map[string]any{"job": r.Job})
}

// List returns a job's runs, newest first (all jobs when job is "").
func (h *JobHistory) List(ctx context.Context, job string, limit int) ([]scheduler.Run, error) {
	lake, err := OpenLake(ctx, h.proj.Resolve(h.proj.Config.Lake), nil)
	if err != nil {
		return nil, err
	}
	snap, err := lake.Snapshot(ctx, JobRunsTable)
	if err != nil || snap == nil {
		return nil, err
	}
	eng, err := openEngine(ctx, h.proj, nil)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	if err := eng.Bind(ctx, JobRunsTable, snap, nil); err != nil {
		return nil, err
	}
	where := "true"
	if job != "" {
		where = "job = " + sqlString(job)
	}
	if limit <= 0 {
		limit = 100
	}
	res, err := eng.Query(ctx, fmt.Sprintf("SELECT job, trigger, reason, attempt, scheduled, started_at, ended_at, status, coalesce(error, ''), coalesced, result FROM %s WHERE %s ORDER BY started_at DESC NULLS LAST LIMIT %d", qualifiedIdent(eng, JobRunsTable), where, limit))
	if err != nil {
		return nil, fmt.Errorf("pipeline: job history: %w", err)
	}
	var out []scheduler.Run
	for _, row := range res.Rows {
		r := scheduler.Run{Job: str(row[0]), Trigger: str(row[1]), Reason: str(row[2]), Attempt: int(engine.Int64(row[3])),
			Status: str(row[7]), Error: str(row[8]), Coalesced: int(engine.Int64(row[9]))}
		r.Scheduled, _ = row[4].(time.Time)
		r.Start, _ = row[5].(time.Time)
		r.End, _ = row[6].(time.Time)
		if s, ok := row[10].(string); ok {
			_ = json.Unmarshal([]byte(s), &r.Result)
		}
		out = append(out, r)
	}
	return out, nil
}

// str is a nullable text value as a string ("" for NULL).
func str(v any) string {
	s, _ := v.(string)
	return s
}
