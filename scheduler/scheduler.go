package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"
)

// Trigger kinds, recorded in Run.Trigger.
const (
	TriggerSchedule    = "schedule"     // the job's cron schedule fired
	TriggerFileArrival = "file-arrival" // Trigger(job, "file-arrival[: detail]")
	TriggerTableUpdate = "table-update" // Trigger(job, "table-update[: detail]")
	TriggerUpstream    = "upstream"     // a job in Job.After succeeded (or, for skips, failed)
	TriggerManual      = "manual"       // Trigger(job, "manual[: detail]")
	TriggerRetry       = "retry"        // attempt 2.. of a run
)

// Run statuses, recorded in Run.Status.
const (
	StatusSucceeded       = "succeeded"
	StatusFailed          = "failed"
	StatusTimedOut        = "timed-out"        // the attempt's Timeout expired and Run returned an error
	StatusCanceled        = "canceled"         // CancelRunning ended the attempt
	StatusSkippedOverlap  = "skipped-overlap"  // Job.SkipOverlap and the job was already running
	StatusSkippedUpstream = "skipped-upstream" // a job in After (transitively) finally failed
)

// MaxBackoff caps a retry delay before jitter.
const MaxBackoff = 5 * time.Minute

var (
	// ErrStopped is returned by Trigger and Add once Start's context has ended.
	ErrStopped = errors.New("scheduler: stopped")
	// ErrTimedOut is the context.Cause of an attempt's context when its Timeout expires.
	ErrTimedOut = errors.New("scheduler: attempt timed out")
	// ErrCanceled is the context.Cause of an attempt's context after CancelRunning.
	ErrCanceled = errors.New("scheduler: run canceled")
)

// Job is one schedulable unit.
type Job struct {
	Name     string
	Schedule string        // robfig/cron standard spec: 5 fields or @every/@hourly/@daily/...; "" = no schedule
	Timezone string        // IANA zone the Schedule is read in; "" = UTC
	Debounce time.Duration // file-arrival/table-update/upstream triggers within this window (from the first) make one run
	Retries  int           // extra attempts after a failed or timed-out attempt
	Backoff  time.Duration // first retry delay; doubled per attempt, capped at MaxBackoff, full jitter
	Timeout  time.Duration // per attempt; 0 = none
	After    []string      // run when any of these jobs succeeds; they must be added first
	// SkipOverlap records a trigger that arrives while the job runs as
	// skipped-overlap instead of coalescing it into one follow-up run.
	SkipOverlap bool
	// Run does the work. ctx ends on the attempt's Timeout (cause ErrTimedOut)
	// or CancelRunning (cause ErrCanceled), not when Start's context ends.
	Run func(ctx context.Context, attempt int) (Result, error)
}

// Result is what a job reports about one attempt.
type Result struct {
	Tables map[string]string // table → status
	Detail string
}

// Run records one execution attempt (or one skipped run).
type Run struct {
	Job       string
	Trigger   string    // Trigger* constant
	Reason    string    // free text: the Trigger reason, "upstream X succeeded", "catch-up", ...
	Attempt   int       // 1-based; 0 for skipped runs
	Scheduled time.Time // the cron time a schedule-triggered run (and its retries) is for
	Start     time.Time
	End       time.Time
	Status    string // Status* constant
	Error     string
	Coalesced int // triggers merged into this run (debounce window, overlap)
	Result    Result
}

// Options configure a Scheduler.
type Options struct {
	MaxConcurrent int          // attempts running at once over all jobs; 0 = 2
	Log           func(string) // nil = discard
	// CatchUp runs, at Start, one run for the latest schedule time missed
	// since the last schedule-triggered run in History. Off: missed times are
	// logged and skipped.
	CatchUp bool
	// Rand returns a number in [0,1) for backoff jitter; nil = math/rand/v2.
	Rand func() float64
}

// item is a run waiting to start (in a debounce window, the ready queue,
// behind a running one, or for its retry time).
type item struct {
	js        *jobState
	trigger   string
	reason    string
	attempt   int
	scheduled time.Time
	coalesced int
}

type jobState struct {
	job        Job
	sched      *schedule
	nextFire   time.Time // zero: no schedule or not started
	debounce   *item
	debounceAt time.Time
	queued     *item // first attempt waiting in s.ready for a slot
	busy       bool  // a run (attempts and backoff waits) is in progress
	pending    *item // trigger that arrived while busy, runs after
	retry      *item
	retryAt    time.Time
	downstream []*jobState
}

type attempt struct {
	it       *item
	cancel   context.CancelCauseFunc
	deadline time.Time // zero = no timeout
	canceled bool      // ctx canceled by the scheduler; will return soon
}

// Scheduler runs jobs on schedules and triggers. See the package doc.
type Scheduler struct {
	clock Clock
	hist  History
	opts  Options

	mu       sync.Mutex
	jobs     map[string]*jobState
	order    []*jobState
	ready    []*item
	running  map[*attempt]struct{}
	active   int
	started  bool
	stopping bool
	loopDone bool
	base     context.Context
	cancel   context.CancelCauseFunc
	wake     chan struct{}
	wg       sync.WaitGroup

	// quiescence bookkeeping for tests (see idle)
	events      int
	blocked     bool
	curDeadline time.Time
}

// New returns a Scheduler. hist may be nil (a fresh MemoryHistory).
func New(clock Clock, hist History, opts Options) (*Scheduler, error) {
	if clock == nil {
		return nil, errors.New("scheduler: nil Clock")
	}
	if opts.MaxConcurrent < 0 {
		return nil, fmt.Errorf("scheduler: Options.MaxConcurrent %d < 0", opts.MaxConcurrent)
	}
	if opts.MaxConcurrent == 0 {
		opts.MaxConcurrent = 2
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if hist == nil {
		hist = NewMemoryHistory()
	}
	return &Scheduler{
		clock:   clock,
		hist:    hist,
		opts:    opts,
		jobs:    map[string]*jobState{},
		running: map[*attempt]struct{}{},
		wake:    make(chan struct{}, 1),
	}, nil
}

// Add registers a job. Errors name the job and the field. Jobs named in After
// must already be added (so dependencies cannot form a cycle).
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" {
		return errors.New("scheduler: job: Name: required")
	}
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("scheduler: job %q: %s: %s", j.Name, field, fmt.Sprintf(format, a...))
	}
	if j.Run == nil {
		return bad("Run", "required")
	}
	loc := time.UTC
	if j.Timezone != "" {
		var err error
		if loc, err = time.LoadLocation(j.Timezone); err != nil {
			return bad("Timezone", "%v", err)
		}
	}
	var sched *schedule
	if j.Schedule != "" {
		var err error
		if sched, err = parseSchedule(j.Schedule, loc); err != nil {
			return bad("Schedule", "%q: %v", j.Schedule, err)
		}
	}
	for field, d := range map[string]time.Duration{"Debounce": j.Debounce, "Backoff": j.Backoff, "Timeout": j.Timeout} {
		if d < 0 {
			return bad(field, "negative duration %v", d)
		}
	}
	if j.Retries < 0 {
		return bad("Retries", "negative (%d)", j.Retries)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return ErrStopped
	}
	if _, dup := s.jobs[j.Name]; dup {
		return bad("Name", "already added")
	}
	var ups []*jobState
	for _, up := range j.After {
		if up == j.Name {
			return bad("After", "job cannot run after itself")
		}
		u, ok := s.jobs[up]
		if !ok {
			return bad("After", "unknown job %q (add upstream jobs first)", up)
		}
		ups = append(ups, u)
	}
	j.After = append([]string(nil), j.After...)
	js := &jobState{job: j, sched: sched}
	for _, u := range ups {
		u.downstream = append(u.downstream, js)
	}
	s.jobs[j.Name] = js
	s.order = append(s.order, js)
	if s.started && sched != nil {
		js.nextFire = sched.next(s.clock.Now())
		s.pokeLocked()
	}
	return nil
}

// Trigger asks for a run of job. reason is "manual", "file-arrival" or
// "table-update", optionally followed by ": detail". file-arrival and
// table-update triggers are debounced per job (Job.Debounce, window opened by
// the first trigger); manual ones are not. A trigger while the job runs is
// coalesced into one follow-up run (or, with SkipOverlap, recorded as
// skipped-overlap). Triggers before Start are kept until Start.
func (s *Scheduler) Trigger(job, reason string) error {
	kind, _, _ := strings.Cut(reason, ":")
	kind = strings.TrimSpace(kind)
	switch kind {
	case TriggerManual, TriggerFileArrival, TriggerTableUpdate:
	default:
		return fmt.Errorf("scheduler: job %q: trigger reason %q: want manual, file-arrival or table-update", job, reason)
	}
	s.mu.Lock()
	js, ok := s.jobs[job]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("scheduler: unknown job %q", job)
	}
	if s.stopping {
		s.mu.Unlock()
		return ErrStopped
	}
	recs := s.triggerLocked(js, &item{js: js, trigger: kind, reason: reason, attempt: 1}, s.clock.Now())
	s.mu.Unlock()
	s.appendAll(recs)
	return nil
}

// Start starts the scheduling loop and returns at once. The loop runs until
// ctx ends; then it starts nothing more (queued, debounced and retry-waiting
// runs are dropped and logged) and waits for running attempts, whose contexts
// are not canceled (graceful stop; see CancelRunning). Attempt contexts carry
// ctx's values. A second call is ignored.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		s.opts.Log("scheduler: Start called twice; ignored")
		return
	}
	var scheduled []*jobState
	for _, js := range s.order {
		if js.sched != nil {
			scheduled = append(scheduled, js)
		}
	}
	s.mu.Unlock()

	// Last schedule time per job, from history, before taking the lock.
	last := map[*jobState]time.Time{}
	for _, js := range scheduled {
		runs, err := s.hist.List(ctx, js.job.Name, 100)
		if err != nil {
			s.opts.Log(fmt.Sprintf("scheduler: job %q: reading history: %v", js.job.Name, err))
			continue
		}
		for _, r := range runs {
			if !r.Scheduled.IsZero() && (r.Trigger == TriggerSchedule || r.Trigger == TriggerRetry) {
				last[js] = r.Scheduled
				break
			}
		}
	}

	s.mu.Lock()
	s.started = true
	s.base, s.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	now := s.clock.Now()
	for _, js := range s.order {
		if js.sched == nil {
			continue
		}
		js.nextFire = js.sched.next(now)
		prev, ok := last[js]
		if !ok {
			continue
		}
		missed := time.Time{}
		for t, i := js.sched.next(prev), 0; !t.IsZero() && !t.After(now) && i < 100000; t, i = js.sched.next(t), i+1 {
			missed = t
		}
		if missed.IsZero() {
			continue
		}
		if s.opts.CatchUp {
			s.opts.Log(fmt.Sprintf("scheduler: job %q: catching up missed schedule time %s", js.job.Name, missed.Format(time.RFC3339)))
			s.enqueueLocked(js, &item{js: js, trigger: TriggerSchedule, reason: "catch-up", attempt: 1, scheduled: missed}, now)
		} else {
			s.opts.Log(fmt.Sprintf("scheduler: job %q: missed schedule time %s not run (CatchUp off)", js.job.Name, missed.Format(time.RFC3339)))
		}
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go s.loop(ctx)
}

// Wait blocks until Start's loop and all attempts have ended. Before Start it
// returns at once.
func (s *Scheduler) Wait() { s.wg.Wait() }

// CancelRunning cancels the contexts of running attempts (cause ErrCanceled;
// recorded as canceled, not retried). For a hard stop after the graceful one
// took too long.
func (s *Scheduler) CancelRunning() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a := range s.running {
		a.canceled = true
		a.cancel(ErrCanceled)
	}
}

func (s *Scheduler) pokeLocked() {
	s.events++
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) appendAll(recs []Run) {
	for _, r := range recs {
		if err := s.hist.Append(context.Background(), r); err != nil {
			s.opts.Log(fmt.Sprintf("scheduler: job %q: recording run: %v", r.Job, err))
		}
	}
}

// triggerLocked routes a non-schedule trigger through the job's debounce window.
func (s *Scheduler) triggerLocked(js *jobState, it *item, now time.Time) []Run {
	if it.trigger != TriggerManual && js.job.Debounce > 0 {
		if js.debounce != nil {
			js.debounce.coalesced += 1 + it.coalesced
			return nil
		}
		js.debounce, js.debounceAt = it, now.Add(js.job.Debounce)
		s.pokeLocked()
		return nil
	}
	return s.enqueueLocked(js, it, now)
}

// enqueueLocked makes it runnable, or coalesces it with a queued or pending
// run, or (SkipOverlap) records it as skipped.
func (s *Scheduler) enqueueLocked(js *jobState, it *item, now time.Time) []Run {
	if js.queued != nil {
		js.queued.coalesced += 1 + it.coalesced
		return nil
	}
	if js.busy {
		if js.job.SkipOverlap {
			return []Run{{Job: js.job.Name, Trigger: it.trigger, Reason: it.reason, Scheduled: it.scheduled,
				Start: now, End: now, Status: StatusSkippedOverlap, Error: "previous run still in progress"}}
		}
		if js.pending != nil {
			js.pending.coalesced += 1 + it.coalesced
		} else {
			js.pending = it
		}
		return nil
	}
	js.queued = it
	s.ready = append(s.ready, it)
	s.pokeLocked()
	return nil
}

func (s *Scheduler) loop(ctx context.Context) {
	defer s.wg.Done()
	done := ctx.Done()
	for {
		s.mu.Lock()
		s.blocked, s.events = false, 0
		now := s.clock.Now()
		var recs []Run
		if !s.stopping {
			for _, js := range s.order {
				if js.sched != nil && !js.nextFire.IsZero() && !js.nextFire.After(now) {
					it := &item{js: js, trigger: TriggerSchedule, attempt: 1, scheduled: js.nextFire}
					js.nextFire = js.sched.next(now) // times missed while busy collapse into one
					recs = append(recs, s.enqueueLocked(js, it, now)...)
				}
				if js.debounce != nil && !js.debounceAt.After(now) {
					it := js.debounce
					js.debounce = nil
					recs = append(recs, s.enqueueLocked(js, it, now)...)
				}
				if js.retry != nil && !js.retryAt.After(now) {
					s.ready = append(s.ready, js.retry)
					js.retry = nil
				}
			}
		}
		for a := range s.running {
			if !a.deadline.IsZero() && !a.canceled && !a.deadline.After(now) {
				a.canceled = true
				a.cancel(ErrTimedOut)
			}
		}
		s.mu.Unlock()
		s.appendAll(recs)

		s.mu.Lock()
		if s.stopping && s.active == 0 {
			s.loopDone = true
			s.mu.Unlock()
			return
		}
		if !s.stopping {
			s.dispatchLocked(now)
		}
		deadline := s.nextDeadlineLocked()
		var timer <-chan time.Time
		if !deadline.IsZero() {
			timer = s.clock.After(deadline.Sub(now))
		}
		s.curDeadline, s.blocked = deadline, true
		s.mu.Unlock()

		select {
		case <-done:
			done = nil
			s.stop()
		case <-s.wake:
		case <-timer:
		}
	}
}

// stop drops everything not yet running; the loop then only enforces
// timeouts until the running attempts end.
func (s *Scheduler) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	var dropped []string
	for _, it := range s.ready {
		dropped = append(dropped, it.js.job.Name)
	}
	s.ready = nil
	for _, js := range s.order {
		for _, it := range []*item{js.debounce, js.pending, js.retry} {
			if it != nil {
				dropped = append(dropped, it.js.job.Name)
			}
		}
		js.queued, js.debounce, js.pending, js.retry, js.nextFire = nil, nil, nil, nil, time.Time{}
	}
	sort.Strings(dropped)
	s.opts.Log(fmt.Sprintf("scheduler: stopping: waiting for %d running attempt(s); not starting %d run(s) %v", s.active, len(dropped), dropped))
}

func (s *Scheduler) nextDeadlineLocked() time.Time {
	var d time.Time
	min := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	for _, js := range s.order {
		min(js.nextFire)
		if js.debounce != nil {
			min(js.debounceAt)
		}
		if js.retry != nil {
			min(js.retryAt)
		}
	}
	for a := range s.running {
		if !a.canceled {
			min(a.deadline)
		}
	}
	return d
}

func (s *Scheduler) dispatchLocked(now time.Time) {
	for len(s.ready) > 0 && s.active < s.opts.MaxConcurrent {
		it := s.ready[0]
		s.ready = s.ready[1:]
		js := it.js
		if js.queued == it {
			js.queued = nil
		}
		js.busy = true
		ctx, cancel := context.WithCancelCause(s.base)
		a := &attempt{it: it, cancel: cancel}
		if js.job.Timeout > 0 {
			a.deadline = now.Add(js.job.Timeout)
		}
		s.running[a] = struct{}{}
		s.active++
		s.wg.Add(1)
		go s.runAttempt(ctx, a, now)
	}
}

func callJob(ctx context.Context, f func(context.Context, int) (Result, error), attempt int) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f(ctx, attempt)
}

func (s *Scheduler) runAttempt(ctx context.Context, a *attempt, start time.Time) {
	defer s.wg.Done()
	it, js := a.it, a.it.js
	res, err := callJob(ctx, js.job.Run, it.attempt)

	s.mu.Lock()
	end := s.clock.Now()
	delete(s.running, a)
	s.mu.Unlock()
	cause := context.Cause(ctx)
	a.cancel(nil)

	status := StatusSucceeded
	switch {
	case err == nil:
	case errors.Is(cause, ErrTimedOut):
		status = StatusTimedOut
	case errors.Is(cause, ErrCanceled):
		status = StatusCanceled
	default:
		status = StatusFailed
	}
	rec := Run{Job: js.job.Name, Trigger: it.trigger, Reason: it.reason, Attempt: it.attempt, Scheduled: it.scheduled,
		Start: start, End: end, Status: status, Coalesced: it.coalesced, Result: res}
	if err != nil {
		rec.Error = err.Error()
		if status == StatusTimedOut {
			rec.Error = fmt.Sprintf("timed out after %v: %v", js.job.Timeout, err)
		}
	}
	s.appendAll([]Run{rec})
	s.opts.Log(fmt.Sprintf("scheduler: job %q attempt %d (%s) %s", js.job.Name, it.attempt, it.trigger, status))

	failed := status == StatusFailed || status == StatusTimedOut
	var recs []Run
	s.mu.Lock()
	switch {
	case failed && it.attempt <= js.job.Retries && !s.stopping:
		delay := s.backoffLocked(js.job.Backoff, it.attempt)
		reason := fmt.Sprintf("attempt %d %s", it.attempt, status)
		if it.trigger != TriggerRetry {
			reason = it.trigger + "; " + reason
		}
		js.retry = &item{js: js, trigger: TriggerRetry, reason: reason, attempt: it.attempt + 1, scheduled: it.scheduled}
		js.retryAt = end.Add(delay)
	default:
		js.busy = false
		if s.stopping {
			break
		}
		if status == StatusSucceeded {
			for _, d := range js.downstream {
				recs = append(recs, s.triggerLocked(d, &item{js: d, trigger: TriggerUpstream,
					reason: fmt.Sprintf("upstream %s succeeded", js.job.Name), attempt: 1}, end)...)
			}
		} else if failed {
			recs = append(recs, s.skipDownstreamLocked(js, end, fmt.Sprintf("upstream %s %s", js.job.Name, status))...)
		}
		if p := js.pending; p != nil {
			js.pending = nil
			recs = append(recs, s.enqueueLocked(js, p, end)...)
		}
	}
	s.mu.Unlock()
	s.appendAll(recs)

	s.mu.Lock()
	s.active--
	s.pokeLocked()
	s.mu.Unlock()
}

// skipDownstreamLocked records a skipped-upstream run for every job
// transitively downstream of js.
func (s *Scheduler) skipDownstreamLocked(js *jobState, now time.Time, why string) []Run {
	var recs []Run
	seen := map[*jobState]bool{}
	queue := append([]*jobState(nil), js.downstream...)
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		recs = append(recs, Run{Job: d.job.Name, Trigger: TriggerUpstream, Reason: why,
			Start: now, End: now, Status: StatusSkippedUpstream, Error: why})
		queue = append(queue, d.downstream...)
	}
	return recs
}

// backoffLocked: full jitter over min(base·2^(attempt-1), MaxBackoff).
func (s *Scheduler) backoffLocked(base time.Duration, attempt int) time.Duration {
	return time.Duration(s.opts.Rand() * float64(backoffCeiling(base, attempt)))
}

// backoffCeiling is the upper bound of the delay before attempt+1.
func backoffCeiling(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < MaxBackoff; i++ {
		d *= 2
	}
	if d > MaxBackoff {
		d = MaxBackoff
	}
	return d
}

// idle reports (for tests) that the scheduler has nothing left to do at the
// current clock time: the loop is blocked with no unprocessed event and no
// due timer, and every running attempt is blocked inside the job's own code
// (userBlocked of them, counted by the test) rather than finishing.
func (s *Scheduler) idle(userBlocked int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a := range s.running {
		if a.canceled {
			return false
		}
	}
	if s.active != userBlocked {
		return false
	}
	if !s.started || s.loopDone {
		return true
	}
	return s.blocked && s.events == 0 && (s.curDeadline.IsZero() || s.curDeadline.After(s.clock.Now()))
}
