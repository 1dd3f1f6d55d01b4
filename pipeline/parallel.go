package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/medallionhq/medallion/engine"
)

// A run updates its tables as a graph: every source first (they read only
// landing files), then every model as soon as the tables it reads are done.
// Up to the run's parallelism of tables run at once, each on a worker: a
// session of the project's engine owner (DuckDB: a connection of the one
// database, so memory, threads and temp space stay the owner's) with the
// run's per-session state (bound names, views, relations) of its own. Each
// table commits alone, with its exactly-once markers and conflict rules, as
// when tables run one after another; the run's lease covers them all.

// runShared is what the workers of one run share.
type runShared struct {
	// badFiles serializes the merges into medallion.bad_files.
	badFiles sync.Mutex
	mu       sync.Mutex
	// refresh are the models some worker recomputes in full (run.refresh
	// of the run as a whole).
	refresh map[string]bool
}

func newRunShared() *runShared { return &runShared{refresh: map[string]bool{}} }

// lockBadFiles takes the run's turn at medallion.bad_files; the returned
// function gives it back.
func (r *run) lockBadFiles() func() {
	if r.shared == nil {
		return func() {}
	}
	r.shared.badFiles.Lock()
	return r.shared.badFiles.Unlock
}

// lockedWriter serializes writes to w (a trace that several sessions write).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// lockedLog serializes calls of a run's Log (workers log at once).
func lockedLog(log func(string)) func(string) {
	var mu sync.Mutex
	return func(s string) {
		mu.Lock()
		defer mu.Unlock()
		log(s)
	}
}

// Parallelism is how many tables a run of the project updates at once
// when RunOptions.Parallelism is not set: engine.parallelism, else one
// per CPU for an engine whose sessions run at once on the machine's cores
// (engine.Capabilities.ParallelSessions: kind duckdb, its sessions share
// one database) and 1 for the others (spark).
func (p *Project) Parallelism() int {
	if n := p.Config.Engine.Parallelism; n > 0 {
		return n
	}
	if p.capabilities().ParallelSessions {
		return runtime.NumCPU()
	}
	return 1
}

// parallelism is how many tables this run updates at once.
func (r *run) parallelism() int {
	if r.opts.Parallelism > 0 {
		return r.opts.Parallelism
	}
	return r.proj.Parallelism()
}

// step is one table of a run.
type step struct {
	table string
	// after are the tables that must be done before the step starts
	// (tables that are not steps of this run count as done).
	after []string
	// model is the step's model (nil for a source): a step whose model
	// reads a failed table is skipped.
	model *Model
	// views are the views the step reads (directly or through views) that
	// a session computes once for all their readers (materialize): the
	// steps reading one run on the worker that computed it.
	views []string
	// do runs the step on a worker; a failure's error is what the run
	// reports for the table.
	do func(ctx context.Context, w *run) (*TableReport, error)
	// weight estimates the step's work: of the steps ready at once, the
	// heaviest starts first (schedule.go).
	weight int64
}

// sourceSteps are the steps that ingest the selected sources.
func (r *run) sourceSteps(selected map[string]bool) []*step {
	var steps []*step
	for _, s := range r.proj.Sources {
		if selected != nil && !selected[s.Table] {
			continue
		}
		steps = append(steps, &step{table: s.Table, weight: r.landedBytes(s), do: func(ctx context.Context, w *run) (*TableReport, error) {
			tr, err := replan(w, s.Table, func() (*TableReport, error) { return w.ingest(ctx, s) })
			if err != nil {
				err = w.explainDamage(ctx, err, s.Table)
				tr.Status, tr.Error = StatusFailed, err.Error()
				return tr, fmt.Errorf("source %s: %w", s.Name, err)
			}
			return tr, nil
		}})
	}
	return steps
}

// modelSteps are the steps that run the selected models, each once the
// tables it reads are done.
func (r *run) modelSteps(selected map[string]bool) ([]*step, error) {
	order, err := r.proj.Order()
	if err != nil {
		return nil, err
	}
	consumers := r.consumers() // computed before the workers read it
	weights := r.modelWeights(order)
	var steps []*step
	for _, m := range order {
		if selected != nil && !selected[m.Name] {
			continue
		}
		var views []string
		var walk func(m *Model)
		walk = func(m *Model) {
			for _, d := range m.Deps {
				if dm := r.proj.Model(d); dm != nil && dm.Materialized == View {
					if consumers[d] >= 2 && !slices.Contains(views, d) {
						views = append(views, d)
					}
					walk(dm)
				}
			}
		}
		walk(m)
		steps = append(steps, &step{table: m.Name, after: m.Deps, model: m, views: views, weight: weights[m.Name], do: func(ctx context.Context, w *run) (*TableReport, error) {
			tr, err := replan(w, m.Name, func() (*TableReport, error) { return w.model(ctx, m) })
			if err == nil {
				return tr, nil
			}
			err = w.explainDamage(ctx, err, append(w.tableInputs(m), m.Name)...)
			tr.Status, tr.Error = StatusFailed, err.Error()
			if merr := (*ModelError)(nil); errors.As(err, &merr) {
				return tr, err
			}
			return tr, fmt.Errorf("model %s (%s): %w", m.Name, m.File, err)
		}})
	}
	return steps, nil
}

// worker is a run's worker: the run itself (worker 0) or a fork of it.
type worker struct {
	id int
	r  *run
}

// modelGate holds every model back until the sources named in after are
// done, then calls open once (in the scheduler, while other sources may
// still run); when open fails, no model starts. It is how models that
// waited at the pre-run check, for tables a source creates in this run,
// are checked before any model runs, without making every model wait for
// every source.
type modelGate struct {
	after []string
	open  func(ctx context.Context) error
	// opened says open ran; err is what it returned.
	opened bool
	err    error
}

// runSteps runs steps in dependency order, up to the run's parallelism at
// once, the heaviest ready step first (weight), else the earliest. Reports and errors are added in the
// steps' order whatever order they finish in; each table is logged when it
// finishes. Once ctx is done no step starts; the running ones finish.
// gate, when not nil, holds the model steps back (modelGate); a model
// left unstarted by a failed gate has no report.
func (r *run) runSteps(ctx context.Context, rep *Report, steps []*step, gate *modelGate, failed map[string]bool, errs *[]error) error {
	n := max(1, min(r.parallelism(), len(steps)))
	index := make(map[string]int, len(steps))
	for i, s := range steps {
		index[s.table] = i
	}
	reports := make([]*TableReport, len(steps))
	stepErrs := make([]error, len(steps))
	started := make([]bool, len(steps))
	done := make([]bool, len(steps))
	openGate := func() {
		if gate == nil || gate.opened {
			return
		}
		for _, d := range gate.after {
			if j, ok := index[d]; ok && !done[j] {
				return
			}
		}
		gate.opened = true
		gate.err = gate.open(ctx)
	}
	ready := func(i int) bool {
		if gate != nil && steps[i].model != nil && (!gate.opened || gate.err != nil) {
			return false
		}
		for _, d := range steps[i].after {
			if j, ok := index[d]; ok && !done[j] {
				return false
			}
		}
		return true
	}
	type result struct {
		i  int
		tr *TableReport
		w  *worker
	}
	results := make(chan result)
	workers := []*worker{{id: 0, r: r}}
	idle := map[int]bool{0: true}
	defer func() {
		for _, w := range workers[1:] {
			w.r.eng.Close()
		}
	}()
	// owner is the worker that computes each shared view for its readers.
	owner := map[string]int{}
	// pick takes a worker for step i: the owner of a view it reads, else
	// any idle worker, else a new one while fewer than n are open; nil
	// when it must wait.
	pick := func(i int) (*worker, error) {
		for _, v := range steps[i].views {
			if id, ok := owner[v]; ok {
				if !idle[id] {
					return nil, nil
				}
				return workers[id], nil
			}
		}
		for _, w := range workers {
			if idle[w.id] {
				return w, nil
			}
		}
		if len(workers) < n {
			fr, err := r.fork(ctx)
			if err != nil {
				return nil, err
			}
			w := &worker{id: len(workers), r: fr}
			workers = append(workers, w)
			return w, nil
		}
		return nil, nil
	}
	var stopErr error
	running := 0
	first := startOrder(steps)
	for {
		for progressed := true; progressed && stopErr == nil && ctx.Err() == nil; {
			progressed = false
			openGate()
			for _, i := range first {
				s := steps[i]
				if started[i] || !ready(i) || stopErr != nil {
					continue
				}
				if s.model != nil {
					if up := r.failedUpstream(s.model, failed); up != "" {
						started[i], done[i], progressed = true, true, true
						failed[s.table] = true
						reports[i] = &TableReport{Table: s.table, Kind: string(s.model.Materialized), Status: StatusSkipped, Error: "upstream " + up + " failed"}
						r.logTable(reports[i])
						continue
					}
				}
				w, err := pick(i)
				if err != nil {
					stopErr = err
					break
				}
				if w == nil {
					continue // its worker is busy, or every worker is
				}
				for _, v := range s.views {
					if _, ok := owner[v]; !ok {
						owner[v] = w.id
					}
				}
				idle[w.id] = false
				started[i], progressed = true, true
				running++
				go func(i int, w *worker) {
					results <- result{i: i, tr: w.runStep(ctx, steps[i], &stepErrs[i]), w: w}
				}(i, w)
			}
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		done[res.i] = true
		idle[res.w.id] = true
		reports[res.i] = res.tr
		if stepErrs[res.i] != nil {
			failed[steps[res.i].table] = true
		}
		r.logTable(res.tr)
	}
	for i := range steps {
		if reports[i] != nil {
			rep.Tables = append(rep.Tables, reports[i])
		}
		if stepErrs[i] != nil {
			*errs = append(*errs, stepErrs[i])
		}
	}
	if stopErr != nil {
		return errors.Join(append(*errs, stopErr)...)
	}
	if ctx.Err() != nil {
		return errors.Join(append(*errs, ctx.Err())...)
	}
	return nil
}

// runStep runs one step on the worker and returns its report, its error in
// *errp. The worker first learns which models the run recomputes in full,
// and tells the run which ones it does.
func (w *worker) runStep(ctx context.Context, s *step, errp *error) *TableReport {
	r, sh := w.r, w.r.shared
	sh.mu.Lock()
	for t := range sh.refresh {
		r.refresh[t] = true
	}
	sh.mu.Unlock()
	start := r.opts.Now()
	tr, err := s.do(ctx, r)
	end := r.opts.Now()
	tr.Duration = end.Sub(start)
	*errp = err
	sh.mu.Lock()
	for t, full := range r.refresh {
		if full {
			sh.refresh[t] = true
		}
	}
	sh.mu.Unlock()
	if r.opts.Trace != nil {
		ms := func(t time.Time) float64 { return float64(t.Sub(r.started).Microseconds()) / 1000 }
		fmt.Fprintf(r.opts.Trace, "table  %-34s worker %d  from %9.1fms  to %9.1fms  %9.1fms  %s\n", s.table, w.id, ms(start), ms(end), ms(end)-ms(start), tr.Status)
	}
	return tr
}

// fork opens a worker: a new session of the project's engine owner and
// the run's state for it (what a session has bound is its own; the run's
// options, lake, landing and batch are shared).
func (r *run) fork(ctx context.Context) (*run, error) {
	// The run's own session checked the models (session): a session of
	// the same owner need not again.
	o, release, err := ownerFor(ctx, r.proj, "", nil)
	if err != nil {
		return nil, err
	}
	inner, err := o.Session(ctx, engine.SessionOptions{Trace: r.opts.Trace})
	if err != nil {
		release()
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	eng := &ownedSession{Engine: inner, release: release}
	return &run{proj: r.proj, opts: r.opts, lake: r.lake, landing: r.landing, eng: eng, batchID: r.batchID, started: r.started,
		bound: map[string]bool{}, boundVersion: map[string]int64{}, checkedAll: r.checkedAll,
		refresh: map[string]bool{}, fingerprints: map[string]string{}, chgViews: map[string]engine.Relation{},
		parent: r, shared: r.shared}, nil
}
