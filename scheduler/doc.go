// Package scheduler is the scheduling core of `medallion serve`: it runs jobs
// (the server wraps pipeline.Run in Job.Run) on cron schedules, on triggers
// (manual, file arrival, table update) and after upstream jobs, with retries,
// timeouts, a global concurrency limit and a persistent run history. All time
// comes from an injected Clock; schedulertest.FakeClock drives it in tests.
//
// Usage:
//
//	s, _ := scheduler.New(scheduler.RealClock{}, hist, scheduler.Options{})
//	s.Add(scheduler.Job{Name: "bronze", Schedule: "*/15 * * * *", Run: ...})
//	s.Add(scheduler.Job{Name: "gold", After: []string{"bronze"}, Run: ...})
//	s.Start(ctx) // returns at once; ctx is ended by the caller's SIGTERM handling
//	s.Wait()     // returns when the loop and every running attempt have ended
//
// Semantics:
//
//   - Overlap: a job never runs twice at once. A trigger (schedule, manual,
//     file-arrival, table-update, upstream) that arrives while the job runs,
//     waits for a retry, or waits for a concurrency slot is coalesced: it is
//     remembered once and runs after the current run ends; further triggers
//     merge into it (Run.Coalesced counts them). With Job.SkipOverlap such a
//     trigger is instead recorded as a skipped-overlap run and dropped.
//   - Concurrency: at most Options.MaxConcurrent attempts (default 2) run at
//     once over all jobs; runnable runs wait in FIFO order. A job waiting for
//     its retry delay holds no slot.
//   - Debounce: file-arrival, table-update and upstream triggers open a window
//     of Job.Debounce at the first trigger; every trigger inside it joins one
//     run at the window's end (a fixed window, so a steady stream of files
//     cannot postpone the run forever). Manual triggers are not debounced.
//   - Retries: a failed or timed-out attempt is retried up to Job.Retries
//     times. The delay before attempt n+1 is uniform in [0, min(Backoff·2^(n-1),
//     MaxBackoff)) ("full jitter"), measured from the end of attempt n. Every
//     attempt is recorded; attempts after the first have Trigger "retry".
//   - Timeout: Job.Timeout bounds each attempt. On expiry the attempt's ctx is
//     canceled with cause ErrTimedOut; the attempt ends when Run returns, and is
//     recorded timed-out if Run returned an error (a Run that still returns nil
//     succeeded). Timeouts are enforced by the scheduler via the Clock, not by
//     context.WithTimeout.
//   - Dependencies: a job with After runs (Trigger "upstream", debounced) when
//     any job in After finishes a run successfully. When an upstream run
//     finally fails (after its retries) or times out, every job transitively
//     downstream is recorded as skipped-upstream, naming the failed job.
//     Upstream jobs must be added first, so there are no cycles.
//   - Cron: robfig/cron standard specs (5 fields, @every, @hourly, @daily, ...)
//     read on the wall clock of Job.Timezone (default UTC). A wall time that
//     does not exist on a spring-forward day runs once, shifted by the gap: a
//     daily 02:30 job in Europe/Berlin runs at 03:30 CEST on the last Sunday of
//     March (one elapsed hour after 01:30 CET), and at 02:30 again the next
//     day. A wall time that occurs twice on a fall-back day runs once, at its
//     first occurrence (02:30 CEST). @every is elapsed time and ignores zones.
//     Schedule times missed while the scheduler was busy or blocked collapse
//     into one run.
//   - Restart: History is the only state that survives. A new Scheduler over
//     the same History sees past runs. At Start, schedule times missed since
//     the last schedule-triggered run in History are logged and not run, unless
//     Options.CatchUp, which runs once for the latest missed time (Reason
//     "catch-up"). Debounced, queued and retry-waiting runs are not persisted.
//   - Stop: when Start's ctx ends, nothing more starts (queued, debounced and
//     retry-waiting runs are dropped and logged; Trigger and Add return
//     ErrStopped); running attempts keep their contexts (graceful) and their
//     timeouts still apply; Wait returns once they end. CancelRunning cancels
//     them (recorded canceled, not retried) for a hard stop.
//   - History: one Run per attempt and per skipped run, appended when it ends.
//     Append errors are logged, not fatal.
package scheduler
