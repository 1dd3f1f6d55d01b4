package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/ingest/notify"
	"github.com/medallionhq/medallion/internal/filecache"
	"github.com/medallionhq/medallion/storage"
)

// Table statuses in a run report.
const (
	StatusOK       = "ok"         // the table was updated
	StatusUpToDate = "up-to-date" // nothing new: no commit
	StatusWaiting  = "waiting"    // an input table does not exist yet
	StatusFailed   = "failed"
	StatusSkipped  = "skipped" // an upstream table failed
)

// RunOptions tune a run.
type RunOptions struct {
	// FullRefresh recomputes every table from scratch: sources reload all
	// their files, models recompute everything.
	FullRefresh bool
	// Log receives progress lines. Default: discard.
	Log func(string)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Delta tunes table handles.
	Delta *delta.Options
	// Trace, when set, receives every engine statement with its duration.
	Trace io.Writer
	// Quiet leaves tables that did not change out of the log.
	Quiet bool
	// MaxFiles and MaxBytes bound how many new landing files (and bytes)
	// one run ingests per source; the rest wait for the next run. Zero
	// means no bound.
	MaxFiles int
	MaxBytes int64
	// MaxRecords bounds how many Kafka records one run ingests per source.
	MaxRecords int
	// Select limits the run to some tables: "gold.daily_revenue" (that
	// table), "silver.orders+" (it and everything downstream),
	// "+gold.total_revenue" (it and everything upstream). Empty: all.
	Select []string
	// Lease is the project's writer lease when the caller already holds it
	// (a stream holds it across a batch and its compaction); the caller
	// then passes the lease's Context as ctx. Nil: Run takes the lease
	// itself for its duration, waiting (and saying so through Log) while
	// another process holds it. See AcquireLease.
	Lease *Lease
	// Notify is the hub of the sources with listing: notifications, kept
	// across runs by a stream or serve (NewNotificationHub). Nil: the run
	// opens its own, which lists those sources as at a start.
	Notify *notify.Hub
	// Parallelism bounds how many tables the run updates at once, each on
	// a session of its own. Zero: engine.parallelism of medallion.yaml,
	// else one per CPU (engine kind duckdb) or 1 (other kinds).
	Parallelism int
	// Summary, when set, is a read-only query (medallion.yaml's summary:
	// the headline KPIs) that a run without errors answers after its last
	// table, on its own engine before closing it, over the tables as a
	// Session would see them (the tables the query names, TablesNamed, at
	// their latest version, and the project's views among them). Its rows
	// are Report.Summary; why there are none, Report.SummaryErr.
	Summary string
}

// Report is what a run did, per table.
type Report struct {
	RunID    string
	Started  time.Time
	Finished time.Time
	Status   string
	Tables   []*TableReport
	Error    string
	// Summary is the result of RunOptions.Summary; SummaryErr is why it
	// is nil when the query was asked for and the run succeeded (a table
	// it reads does not exist yet, say). Neither changes the run's
	// status or error.
	Summary    *engine.Result
	SummaryErr error
}

// Changed reports whether the run committed to any table.
func (r *Report) Changed() bool {
	for _, t := range r.Tables {
		if t.Status == StatusOK && t.Kind != "view" || t.ChangedFiles+t.BadFiles > 0 {
			return true
		}
	}
	return false
}

// Pending is the number of landing files left for the next run.
func (r *Report) Pending() int {
	n := 0
	for _, t := range r.Tables {
		n += t.Pending
	}
	return n
}

// TableReport is one table's part of a run.
type TableReport struct {
	Table  string
	Kind   string // source, model or view
	Status string
	// RowsIn are the rows read: landed records for a source, rows the
	// model's SQL produced for a model.
	RowsIn int64
	// RowsOut are the rows the run added to the table (for a merge: new
	// keys; rows whose key existed are counted in Replaced).
	RowsOut int64
	// Quarantined rows went to <table>_quarantine; Dropped rows were
	// removed by drop expectations; Duplicates were removed by key.
	Quarantined, Dropped, Duplicates int64
	// Replaced rows were overwritten by a newer row of the same key.
	Replaced int64
	// quarantineTxn, set when the run wrote or checked the quarantine
	// table, is the txn the model's commit records (see quarantineScope).
	quarantineTxn *delta.Txn
	// Rescued rows kept unfitting values in _rescued_data; Rejected records
	// could not be parsed (their raw text is in _rescued_data).
	Rescued, Rejected int64
	// Files is the number of landing files read; Pending are new files
	// (or, for a Kafka source, records) left for the next run.
	Files, Pending int
	// ChangedFiles are landing files found changed since they were
	// ingested (handled by the source's on_change); BadFiles are files set
	// aside in medallion.bad_files by this run.
	ChangedFiles, BadFiles int
	// Arrival is when the oldest file of the batch landed (its
	// modification time), for freshness.
	Arrival time.Time
	// Expectations are the data-quality results.
	Expectations []ExpectationResult
	Version      int64
	Duration     time.Duration
	Error        string
	// Watermark is a window model's watermark after the run.
	Watermark time.Time
}

// ExpectationResult is one expectation's outcome in a run.
type ExpectationResult struct {
	Name   string
	Action Action
	Failed int64
}

// run is the state of one run.
type run struct {
	proj    *Project
	opts    RunOptions
	lake    *Lake
	landing *storage.Store
	eng     engine.Engine
	batchID string
	started time.Time
	bound   map[string]bool
	// boundVersion is the version each table is bound at in the engine.
	boundVersion map[string]int64
	readers      map[string]int
	// valid is the pre-run check of the models (validate.go); checkedAll
	// says every model passed it.
	valid      *validation
	checkedAll bool
	// refresh holds the models this run recomputes in full because their
	// definition (or an upstream model's) changed; fingerprints caches
	// Project.Fingerprint.
	refresh      map[string]bool
	fingerprints map[string]string
	// notifyHub is the run's own notification hub (see notifications).
	notifyOnce sync.Once
	notifyHub  *notify.Hub
	notifyErr  error
	// rels are the engine relations of the steps running (relations.go).
	rels []engine.Relation
	// chgViews are views over changed rows, computed once a run (groups.go).
	chgViews map[string]engine.Relation
	// groupsOnce are the touched groups read from changed rows alone, by
	// their query, computed once a run (touchedGroups).
	groupsOnce map[string]sharedGroups
	// groupNulls says, by relation name, whether a relation of touched
	// groups has a NULL in a group column (semijoin.go).
	groupNulls map[string]bool
	// feeds are the raw change data feeds (with _change_type) of the
	// changes relations bound from a feed, by the changes' name, and
	// feedInserts whether one holds inserts only, once asked (feed.go).
	feeds       map[string]string
	feedInserts map[string]bool
	// inlineGroups are the touched groups changedGroups rendered as
	// literals, by the name of their relation (groupFilteredSQL).
	inlineGroups map[string]*engine.Result
	// parent is the run a worker was forked from, nil for the run itself;
	// shared is what the run's workers share (parallel.go).
	parent *run
	shared *runShared
}

// full reports whether the run recomputes table from scratch.
func (r *run) full(table string) bool { return r.opts.FullRefresh || r.refresh[table] }

// fingerprint is the model's definition fingerprint, computed once a run.
func (r *run) fingerprint(m *Model) string {
	if fp, ok := r.fingerprints[m.Name]; ok {
		return fp
	}
	fp := r.proj.Fingerprint(m)
	r.fingerprints[m.Name] = fp
	return fp
}

// Run runs one update of the project: new landing files into bronze, then
// every model in dependency order. It returns the report even when a table
// fails (the error names the failing table); tables downstream of a failure
// are skipped.
func Run(ctx context.Context, proj *Project, opts RunOptions) (*Report, error) {
	r, err := newRun(ctx, proj, opts, "-"+randomHex(4))
	rep := &Report{RunID: r.batchID, Started: r.started}
	if err != nil {
		return rep, err
	}
	if opts.Lease == nil {
		lease, err := AcquireLease(ctx, r.lake, LeaseOptions{Holder: "medallion run " + r.batchID, Log: opts.Log})
		if err != nil {
			return rep, err
		}
		defer lease.Release(context.WithoutCancel(ctx))
		ctx = lease.Context()
	}
	// The Delta checkpoints the run's commits made due are written in the
	// background: the run ends when they are there.
	defer func() { _ = delta.WaitCheckpoints(context.WithoutCancel(ctx)) }()
	landing := proj.Resolve(proj.Config.Landing)
	if !strings.Contains(landing, "://") {
		if err := os.MkdirAll(landing, 0o755); err != nil {
			return rep, fmt.Errorf("pipeline: landing: %w", err)
		}
	}
	if r.landing, err = storage.Open(ctx, landing); err != nil {
		return rep, fmt.Errorf("pipeline: open landing: %w", err)
	}
	// The engine opens while the run reads the snapshots of the tables
	// its check of the models reads (which the run needs anyway).
	opened := make(chan error, 1)
	go func() {
		var err error
		r.eng, err = openEngine(ctx, proj, opts.Trace)
		opened <- err
	}()
	r.prefetchChecked(ctx)
	if err := <-opened; err != nil {
		return rep, err
	}
	defer r.eng.Close()
	defer r.closeNotifications()
	runErr := r.all(ctx, rep)
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) {
		runErr = errors.Join(runErr, cause)
	}
	rep.Finished = r.opts.Now()
	rep.Status = StatusOK
	if runErr != nil {
		rep.Status = StatusFailed
		rep.Error = runErr.Error()
	}
	if rep.Changed() || runErr != nil {
		// A run with nothing new commits nothing, not even its report.
		if err := r.saveReport(context.WithoutCancel(ctx), rep); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if runErr == nil && opts.Summary != "" {
		rep.Summary, rep.SummaryErr = r.summary(ctx, opts.Summary)
	}
	return rep, runErr
}

// summary answers a run's summary query (RunOptions.Summary) on the run's
// own engine: a Session over it binding the tables the query names. The
// engine is not confined (Session's sandbox): it runs the project's own
// models unconfined already, and the summary is the project's own query.
func (r *run) summary(ctx context.Context, sql string) (*engine.Result, error) {
	s := &Session{proj: r.proj, opts: SessionOptions{Tables: TablesNamed(sql)}, lake: r.lake, eng: r.eng, broken: map[string]error{}, unconfined: true}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s.Query(ctx, sql)
}

// newRun starts a run of the project: options defaulted, batch ID (the
// start time in UTC, then suffix) assigned, lake opened.
func newRun(ctx context.Context, proj *Project, opts RunOptions, suffix string) (*run, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	opts.Log = lockedLog(opts.Log) // the run's workers log at once
	if opts.Trace != nil {
		opts.Trace = &lockedWriter{w: opts.Trace} // the run's sessions write at once
	}
	r := &run{proj: proj, opts: opts, started: opts.Now(), bound: map[string]bool{}, boundVersion: map[string]int64{},
		refresh: map[string]bool{}, fingerprints: map[string]string{}, chgViews: map[string]engine.Relation{}, shared: newRunShared()}
	r.batchID = r.started.UTC().Format("20060102T150405Z") + suffix
	var err error
	r.lake, err = OpenLake(ctx, proj.Resolve(proj.Config.Lake), opts.Delta)
	return r, err
}

// caches holds one file cache per directory for the life of the process
// (a stream's batches share it).
var caches = struct {
	sync.Mutex
	m map[string]*filecache.Cache
}{m: map[string]*filecache.Cache{}}

// cacheFor returns the project's cache of remote files.
func cacheFor(proj *Project) (*filecache.Cache, error) {
	dir := proj.Resolve(proj.Config.Engine.CacheDir)
	if proj.Dir == "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(os.TempDir(), "medallion-cache")
	}
	caches.Lock()
	defer caches.Unlock()
	if c, ok := caches.m[dir]; ok {
		return c, nil
	}
	size, err := ParseBytes(proj.Config.Engine.CacheSize)
	if err != nil {
		return nil, err
	}
	c, err := filecache.New(dir, size)
	if err != nil {
		return nil, fmt.Errorf("pipeline: engine.cache_dir: %w", err)
	}
	caches.m[dir] = c
	return c, nil
}

// openEngine opens a session of the project's engine (see ownerFor) and
// checks that every model is exactly one query.
func openEngine(ctx context.Context, proj *Project, trace io.Writer) (engine.Engine, error) {
	return session(ctx, proj, trace, "", nil)
}

// openPrivateEngine opens an engine of the project's kind that no other
// session shares (memoryLimit, when set, replacing engine.memory_limit)
// and checks that every model is exactly one query: for a session whose
// sandbox depends on what it reads (delta_scan outside the lake).
func openPrivateEngine(ctx context.Context, proj *Project, memoryLimit string) (engine.Engine, error) {
	ec := proj.Config.Engine
	cache, err := cacheFor(proj)
	if err != nil {
		return nil, err
	}
	eng, err := engine.Open(ctx, &engine.Config{Kind: ec.Kind, Settings: ec.Settings[ec.Kind], Dir: proj.Dir, MemoryLimit: memoryLimit, Cache: cache})
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if err := checkModels(ctx, eng, proj); err != nil {
		eng.Close()
		return nil, err
	}
	return eng, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *run) logf(format string, args ...any) {
	if r.opts.Log != nil { // a run made for an append (job history) has no log
		r.opts.Log(fmt.Sprintf(format, args...))
	}
}

// all runs sources, then models in order.
func (r *run) all(ctx context.Context, rep *Report) error {
	selected, err := r.proj.Selection(r.opts.Select)
	if err != nil {
		return err
	}
	// Every model is checked against the current schemas before anything
	// is written; models whose inputs do not exist yet are checked once the
	// sources have created them, before any model runs.
	defer r.closeValidation()
	if broken, err := r.validate(ctx); err != nil || len(broken) > 0 {
		return r.brokenModels(rep, broken, err)
	}
	failed := map[string]bool{}
	var errs []error
	// Sources and models, each table as soon as what it reads is done, up
	// to the run's parallelism at once (parallel.go): a model need not wait
	// for a source it does not read.
	steps := r.sourceSteps(selected)
	models, err := r.modelSteps(selected)
	if err != nil {
		return err
	}
	waitForSources(steps, models)
	sourceWeights(steps, models)
	var gate *modelGate
	var broken []*ModelError
	if r.checkedAll {
		r.closeValidation()
	} else {
		// Some models waited at the check for tables that did not exist:
		// the sources that create such tables run first, then the
		// waiting models are checked, before any model runs.
		missing, err := r.missingTables(ctx, steps)
		if err != nil {
			return err
		}
		for _, s := range steps {
			if slices.Contains(missing, s.table) {
				// Every model waits for it: before the others, the
				// largest first among such sources.
				s.weight += 1 << 62
			}
		}
		gate = &modelGate{after: missing, open: func(ctx context.Context) error {
			b, err := r.validate(ctx)
			if err == nil && len(b) > 0 {
				broken, err = b, errModelsBroken
			}
			r.closeValidation()
			return err
		}}
	}
	if err := r.runSteps(ctx, rep, append(steps, models...), gate, failed, &errs); err != nil {
		return err
	}
	if gate != nil && gate.err != nil {
		if errors.Is(gate.err, errModelsBroken) {
			return errors.Join(append(errs, r.brokenModels(rep, broken, nil))...)
		}
		return errors.Join(append(errs, gate.err)...)
	}
	return errors.Join(errs...)
}

// waitForSources makes each model step wait, beside the tables it reads,
// for the source steps that write the other tables it reads: a source's
// quarantine table, and the medallion layer's tables (bad files, the run
// log), which any source may write. A model saw those as the sources left
// them when every source ran before the first model.
func waitForSources(sources, models []*step) {
	all := make([]string, len(sources))
	for i, s := range sources {
		all[i] = s.table
	}
	for _, m := range models {
		var extra []string
		for _, d := range m.after {
			if strings.HasPrefix(d, "medallion.") {
				extra = append(extra, all...)
				continue
			}
			for _, s := range sources {
				if d == QuarantineTable(s.table) {
					extra = append(extra, s.table)
				}
			}
		}
		if len(extra) > 0 {
			after := slices.Clone(m.after) // m.after is the model's Deps
			for _, t := range extra {
				if !slices.Contains(after, t) {
					after = append(after, t)
				}
			}
			m.after = after
		}
	}
}

// errModelsBroken says the check of the models that waited for a source's
// table found broken ones (modelGate).
var errModelsBroken = errors.New("pipeline: models broken")

// missingTables are the tables of the source steps that do not exist yet.
func (r *run) missingTables(ctx context.Context, steps []*step) ([]string, error) {
	var out []string
	for _, s := range steps {
		t, err := r.lake.Table(ctx, s.table)
		if err != nil {
			return nil, err
		}
		ok, err := t.Exists(ctx)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, s.table)
		}
	}
	return out, nil
}

// brokenModels ends a run whose pre-run check failed: nothing more is
// written; each broken model is reported failed (the run log records them).
func (r *run) brokenModels(rep *Report, broken []*ModelError, err error) error {
	if err != nil {
		return err
	}
	for _, e := range broken {
		tr := &TableReport{Table: e.Model, Kind: "model", Status: StatusFailed, Error: e.Error()}
		if m := r.proj.Model(e.Model); m != nil && m.Materialized == View {
			tr.Kind = "view"
		}
		rep.Tables = append(rep.Tables, tr) // not logged: the error says it
	}
	return modelErrors(broken)
}

// replanAttempts bounds how often a table whose commit conflicted with a
// concurrent writer is planned again in one run.
const replanAttempts = 5

// replan runs one table's step and, when its commit conflicted with another
// writer's (delta.ErrConcurrentModification: the input it read or the
// progress it recorded changed under it), plans and runs it again on the new
// state. Nothing of a conflicting attempt was committed.
func replan(r *run, table string, step func() (*TableReport, error)) (*TableReport, error) {
	for attempt := 1; ; attempt++ {
		tr, err := step()
		if err == nil || !errors.Is(err, delta.ErrConcurrentModification) || attempt >= replanAttempts {
			return tr, err
		}
		r.logf("%s: another writer committed first (%v); planning again", table, err)
	}
}

func (r *run) failedUpstream(m *Model, failed map[string]bool) string {
	for _, d := range m.Deps {
		if failed[d] {
			return d
		}
	}
	return ""
}

func (r *run) logTable(t *TableReport) {
	if r.opts.Quiet && (t.Status == StatusUpToDate || t.Kind == "view") {
		return
	}
	switch {
	case t.Kind == "view" && t.Status == StatusOK:
		r.logf("%-34s %-10s", t.Table, "view")
	case t.Status == StatusOK:
		extra := ""
		if t.Quarantined+t.Dropped+t.Duplicates+t.Rescued+t.Rejected+t.Replaced > 0 {
			extra = fmt.Sprintf(" (quarantined %d, dropped %d, duplicates %d, replaced %d, rescued %d, rejected %d)", t.Quarantined, t.Dropped, t.Duplicates, t.Replaced, t.Rescued, t.Rejected)
		}
		extra += landingExtra(t)
		r.logf("%-34s %-10s in %8d  out %8d  v%-4d %6s%s", t.Table, t.Status, t.RowsIn, t.RowsOut, t.Version, t.Duration.Round(time.Millisecond), extra)
	case t.Status == StatusFailed || t.Status == StatusSkipped || t.Status == StatusWaiting:
		r.logf("%-34s %-10s %s", t.Table, t.Status, t.Error)
	default:
		r.logf("%-34s %-10s%s", t.Table, t.Status, landingExtra(t))
	}
}

// landingExtra notes a source's changed and set-aside files.
func landingExtra(t *TableReport) string {
	if t.ChangedFiles+t.BadFiles == 0 {
		return ""
	}
	return fmt.Sprintf(" (changed files %d, bad files %d)", t.ChangedFiles, t.BadFiles)
}

// bind makes a table's latest snapshot visible to the engine under its
// name. It reports false when the table does not exist yet.
func (r *run) bind(ctx context.Context, name string) (*delta.Snapshot, bool, error) {
	snap, err := r.lake.Snapshot(ctx, name)
	if err != nil {
		return nil, false, err
	}
	if snap == nil {
		return nil, false, nil
	}
	if err := r.bindSnapshot(ctx, name, snap); err != nil {
		return nil, false, err
	}
	return snap, true, nil
}

// bindSnapshot binds name to snap unless it is bound at that version.
func (r *run) bindSnapshot(ctx context.Context, name string, snap *delta.Snapshot) error {
	if v, ok := r.boundVersion[name]; ok && v == snap.Version() {
		return nil
	}
	if err := r.eng.Bind(ctx, name, snap, nil); err != nil {
		return err
	}
	r.bound[name] = true
	r.boundVersion[name] = snap.Version()
	return nil
}

// modelTxn is the txn appId under which a model records the version of an
// input it has processed.
func modelTxn(model, input string) string { return "medallion/model/" + model + "/" + input }

// tableInputs expands views into the tables they read.
func (r *run) tableInputs(m *Model) []string {
	var out []string
	var walk func(deps []string)
	walk = func(deps []string) {
		for _, d := range deps {
			if dm := r.proj.Model(d); dm != nil && dm.Materialized == View {
				walk(dm.Deps)
				continue
			}
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
		}
	}
	walk(m.Deps)
	slices.Sort(out)
	return out
}

// model runs one model.
func (r *run) model(ctx context.Context, m *Model) (*TableReport, error) {
	defer r.scope(ctx)()
	tr := &TableReport{Table: m.Name, Kind: "model"}
	inputs := r.tableInputs(m)
	versions := map[string]int64{}
	snaps := map[string]*delta.Snapshot{}
	for _, in := range inputs {
		// Bound below, once the model has something to do: binding a
		// table reads its files' footers, which a model that is up to
		// date does not need.
		snap, err := r.lake.Snapshot(ctx, in)
		if err != nil {
			return tr, err
		}
		if snap == nil {
			tr.Status, tr.Error = StatusWaiting, "input "+in+" does not exist yet"
			return tr, nil
		}
		versions[in], snaps[in] = snap.Version(), snap
	}
	if m.Materialized == View {
		// Views are computed once per run, when a model that reads them
		// runs (see materialize).
		for _, in := range inputs {
			if err := r.bindSnapshot(ctx, in, snaps[in]); err != nil {
				return tr, err
			}
		}
		tr.Kind, tr.Status = "view", StatusOK
		return tr, nil
	}
	tbl, err := r.lake.Table(ctx, m.Name)
	if err != nil {
		return tr, err
	}
	own, err := r.lake.Snapshot(ctx, m.Name)
	if err != nil {
		return tr, err
	}
	// A changed definition (of the model or of a model upstream: the
	// fingerprint covers them) recomputes the model in full.
	var txns []delta.Txn
	fp := r.fingerprint(m)
	if stored := StoredFingerprint(own, m.Name); stored != fp {
		if own != nil {
			r.refresh[m.Name] = true
			if up := r.refreshedUpstream(m); up != "" {
				r.logf("%s: upstream %s was recomputed; recomputing in full", m.Name, up)
			} else {
				r.logf("%s: %s (or a model it reads) changed since the last run; recomputing in full", m.Name, m.File)
			}
		}
		defVersion := int64(0)
		if own != nil {
			defVersion = own.Version() + 1
		}
		txns = append(txns, delta.Txn{AppID: definitionTxn(m.Name, fp), Version: defVersion})
	}
	// What changed since this model last ran?
	var changed []string
	for _, in := range inputs {
		last := int64(-1)
		if own != nil {
			if v, ok := own.TxnVersion(modelTxn(m.Name, in)); ok {
				last = v
			}
		}
		if last != versions[in] {
			changed = append(changed, in)
			txns = append(txns, delta.Txn{AppID: modelTxn(m.Name, in), Version: versions[in]})
		} else if r.full(m.Name) {
			changed = append(changed, in) // recomputed; its txn is already recorded
		}
	}
	timeTravel := hasTimeTravel(m) // recomputed in full each run (timetravel_models.go)
	if own != nil && len(changed) == 0 && !r.refresh[m.Name] && !timeTravel {
		tr.Status, tr.Version = StatusUpToDate, own.Version()
		return tr, nil
	}
	for _, in := range inputs {
		if err := r.bindSnapshot(ctx, in, snaps[in]); err != nil {
			return tr, err
		}
	}
	if m.Window != nil {
		return r.window(ctx, m, tr, tbl, own, versions, snaps, txns, fp)
	}
	if m.CDC != nil {
		return r.cdc(ctx, m, tr, tbl, own, versions, snaps, txns, fp)
	}
	sqlText := m.SQL
	incremental := false
	if m.Incremental != "" && own != nil && !r.full(m.Name) {
		last, ok := own.TxnVersion(modelTxn(m.Name, m.Incremental))
		if ok {
			name := newRowsName(m.Incremental)
			bound, _, err := r.bindNewRows(ctx, m.Name, m.Incremental, name, last, versions[m.Incremental], snaps[m.Incremental])
			if err != nil {
				return tr, err
			}
			if bound {
				incremental = true
				sqlText = replaceTableRef(sqlText, m.Incremental, name)
			}
		}
	}
	grouped := false
	var touchedGroups, aggResult engine.Relation
	var held heldRows // what is known of the table's rows in the touched groups
	if len(m.IncrementalBy) > 0 && own != nil && !r.full(m.Name) {
		for _, d := range m.Deps {
			if err := r.materialize(ctx, d); err != nil {
				return tr, err
			}
		}
		groups, filter, ok, err := r.changedGroups(ctx, m, own, changed, versions, snaps)
		if err != nil {
			return tr, err
		}
		// Nothing to recompute, nothing to replace, no rule to report:
		// only the input versions read are committed.
		untouched := func() (*TableReport, error) {
			info := map[string]any{"batch_id": r.batchID, "model": m.Name, "inputs": versions, "incremental": true, "definition": fp}
			w := writeSpec{table: m.Name, tbl: tbl, snap: own, keys: m.IncrementalBy, txns: txns, info: info, properties: m.Properties}
			cr, err := r.commitInputs(ctx, w)
			if err != nil {
				return tr, err
			}
			committed(cr, tr)
			return tr, nil
		}
		if ok && filter == noGroups && len(m.Expectations) == 0 && len(m.Keys) == 0 {
			return untouched()
		}
		if ok {
			grouped, touchedGroups = true, groups
			// A count/sum/min/max model over appended rows: the touched
			// groups' rows from their current ones and the changed rows
			// alone (aggdelta.go); else the model's SQL for those groups.
			agg, kept, err := r.aggregateGroups(ctx, m, own, changed, versions, groups)
			if err != nil {
				return tr, err
			}
			if kept && agg.n == 0 && len(m.Expectations) == 0 {
				return untouched() // every touched group's rows are as they were
			}
			if kept {
				aggResult, touchedGroups, held = agg.rows, agg.rows, heldRows{known: true, rows: agg.held}
			} else {
				src, pushed, err := r.groupFilteredSQL(ctx, m, groups, filter, snaps)
				if err != nil {
					return tr, err
				}
				if !pushed {
					if src, pushed, err = r.partitionGroupsSQL(ctx, m, groups, snaps); err != nil {
						return tr, err
					}
				}
				if !pushed {
					src = m.SQL
				}
				sqlText = "SELECT * FROM (" + src + ") AS __m WHERE " + filter
				held.compare = true
			}
		}
	}
	for _, d := range m.Deps {
		if err := r.materialize(ctx, d); err != nil {
			return tr, err
		}
	}
	var ttNames map[string]string
	if timeTravel {
		if sqlText, ttNames, err = bindModelTimeTravel(ctx, r.eng, r.lake, m); err != nil {
			return tr, err
		}
	}
	result := aggResult
	if result.Name == "" {
		if result, err = r.table(ctx, sqlText); err != nil {
			if ctx.Err() != nil {
				return tr, err
			}
			return tr, m.sqlError(err, 1, ttNames)
		}
	}
	// A model with no rule to check (no keys, no expectations) is not
	// read before its write just to count it: the files written say how
	// many rows it has when they hold exactly its rows (rowsWritten).
	checked, rules := result, len(m.Keys)+len(m.Expectations) > 0
	if rules {
		if checked, err = r.countAndExpect(ctx, m, result, tr, quarantineScope{recomputed: !incremental, own: own}); err != nil {
			return tr, err
		}
	}
	if tr.quarantineTxn != nil {
		txns = append(txns, *tr.quarantineTxn)
	}
	schema, err := r.relationSchema(ctx, checked)
	if err != nil {
		return tr, err
	}
	seq := m.SequenceBy
	if len(seq) == 0 {
		for _, c := range []string{ColIngestedAt, ColSeq} {
			if _, ok := schema.Field(c); ok {
				seq = append(seq, c)
			}
		}
	}
	info := map[string]any{"batch_id": r.batchID, "model": m.Name, "inputs": versions, "incremental": incremental || grouped, "definition": fp}
	w := writeSpec{table: m.Name, tbl: tbl, snap: own, relation: checked, schema: schema, partitionBy: m.PartitionBy,
		keys: m.Keys, sequenceBy: seq, txns: txns, info: info, properties: m.Properties, rowKeys: m.Keys}
	if !rules {
		w.written = r.rowsWritten(result, tr)
	}
	var cr delta.CommitResult
	switch {
	case grouped:
		w.keys = m.IncrementalBy
		cr, err = r.replaceGroups(ctx, w, touchedGroups, held, tr)
	case incremental:
		if own != nil {
			w.schema = mergeSchema(own.Schema(), schema)
		}
		cr, err = r.merge(ctx, w, tr)
	default:
		if m.Incremental != "" {
			w.indexKeys = m.Keys // its next runs merge by them
		}
		cr, err = r.overwrite(ctx, w, tr)
	}
	if err != nil {
		return tr, err
	}
	committed(cr, tr)
	return tr, nil
}

// rowsWritten is a writeSpec.written that sets tr.RowsIn to the rows of
// result: from the files written when they hold exactly its rows, else
// counted.
func (r *run) rowsWritten(result engine.Relation, tr *TableReport) func(context.Context, *engine.WriteResult, bool) error {
	return func(ctx context.Context, res *engine.WriteResult, whole bool) error {
		if whole {
			tr.RowsIn = res.Rows
			return nil
		}
		n, err := r.count(ctx, result, "")
		tr.RowsIn = n
		return err
	}
}

// newRowsName is the name the new rows of a model's incremental input are
// bound under (bindNewRows).
func newRowsName(table string) string { return "__changes_" + strings.ReplaceAll(table, ".", "_") }

// bindNewRows binds name to the rows table gained or changed to after
// version from, up to version to (snap): from its change data feed
// (inserts and update post-images, feed.go), or the data files added
// since. It reports false, binding nothing, when those changes are gone
// (the log was cleaned up): the model then reads the table whole.
// appended says the range only appended files (no file removed, none
// rewritten by a compaction): every row of the table at from is still
// there, and the new rows are all the others.
func (r *run) bindNewRows(ctx context.Context, model, table, name string, from, to int64, snap *delta.Snapshot) (bound, appended bool, err error) {
	tbl, err := r.lake.Table(ctx, table)
	if err != nil {
		return false, false, err
	}
	fed, err := r.bindFeed(ctx, model, table, name, tbl, from, to, snap, true)
	if err != nil || fed {
		return fed, false, err
	}
	added, removed, err := tbl.Changes(ctx, from, to)
	switch {
	case errors.Is(err, delta.ErrVersionNotFound):
		r.logf("%s: changes of %s since version %d are gone; recomputing in full", model, table, from)
		return false, false, nil
	case err != nil:
		return false, false, err
	}
	if err := r.eng.Bind(ctx, name, snap, added); err != nil {
		return false, false, err
	}
	// A compaction that carried new rows adds its file without
	// dataChange, with older rows in it.
	appended = len(removed) == 0 && !slices.ContainsFunc(added, func(a *delta.Add) bool { return !a.DataChange })
	return true, appended, nil
}

// refreshedUpstream names a table the model reads (directly or through
// views) that this run recomputes in full, or "".
func (r *run) refreshedUpstream(m *Model) string {
	for _, d := range m.Deps {
		if r.refresh[d] {
			return d
		}
		if dm := r.proj.Model(d); dm != nil && dm.Materialized == View {
			if up := r.refreshedUpstream(dm); up != "" {
				return up
			}
		}
	}
	return ""
}

// committed records a model's commit in its report. The committed
// snapshot is not bound here: a model downstream binds the tables it reads
// at their latest version when it runs (bindSnapshot), on whichever worker
// runs it, and most tables are read by no later model of the same worker
// (gold tables by none), so binding each after its commit (reading its
// files' footers) was mostly wasted.
func committed(cr delta.CommitResult, tr *TableReport) {
	tr.Version, tr.Status = cr.Version, StatusOK
	if cr.Skipped {
		tr.Status = StatusUpToDate
	}
}

// materialize computes a view model (and the views it reads) once per run,
// as an engine table that every model reading it shares. Tables are left as
// they are bound.
//
// Views are created on first use; a view that several models read is
// computed into memory once instead of by each of them.
func (r *run) materialize(ctx context.Context, name string) error {
	m := r.proj.Model(name)
	if m != nil && m.Materialized == View && !r.bound[name] {
		for _, d := range m.Deps {
			if err := r.materialize(ctx, d); err != nil {
				return err
			}
		}
		if err := r.eng.BindQuery(ctx, name, m.SQL, false); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("view %s: %w", name, err)
			}
			return m.sqlError(err, 1, nil)
		}
		r.bound[name] = true
	}
	// Tables are not copied: a scan reads only the columns a query needs.
	// A view that several models read is computed once; a model that only
	// recomputes some groups filters the copy.
	if m != nil && m.Materialized == View && r.consumers()[name] >= 2 {
		return r.eng.Cache(ctx, name)
	}
	return nil
}

// consumers counts, per table, the models that read it.
func (r *run) consumers() map[string]int {
	if r.readers == nil {
		r.readers = map[string]int{}
		for _, m := range r.proj.Models {
			for _, d := range m.Deps {
				r.readers[d]++
			}
		}
	}
	return r.readers
}

// mergeSchema adds new columns of b to a.
func mergeSchema(a, b *delta.StructType) *delta.StructType {
	out := &delta.StructType{Fields: slices.Clone(a.Fields)}
	for _, f := range b.Fields {
		if _, ok := out.Field(f.Name); !ok {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

// replaceTableRef rewrites references to table in sql (outside strings and
// comments are not distinguished: model SQL names tables plainly).
func replaceTableRef(sql, table, with string) string {
	layer, name, _ := strings.Cut(table, ".")
	return tableRefRE.ReplaceAllStringFunc(sql, func(s string) string {
		mm := tableRefRE.FindStringSubmatch(s)
		if strings.EqualFold(mm[1], layer) && mm[2] == name {
			return with
		}
		return s
	})
}

func qualifiedIdent(eng engine.Engine, name string) string {
	l, t, ok := strings.Cut(name, ".")
	if !ok {
		return eng.Quote(name)
	}
	return eng.Quote(l) + "." + eng.Quote(t)
}

// Logged reports whether the table's part of a run is recorded in
// medallion.runs: what ran is (a commit, a failure, a skip, a wait); a table
// that was up to date, or a view (recomputed by its readers), is not.
func (t *TableReport) Logged() bool {
	switch {
	case t.ChangedFiles+t.BadFiles > 0:
		return true
	case t.Status == StatusUpToDate:
		return false
	case t.Kind == "view" && t.Status == StatusOK:
		return false
	}
	return true
}

// saveReport appends the run's table reports to the medallion.runs table:
// one row per table that ran (TableReport.Logged).
func (r *run) saveReport(ctx context.Context, rep *Report) error {
	var rows []string
	for _, t := range rep.Tables {
		if !t.Logged() {
			continue
		}
		rows = append(rows, fmt.Sprintf("(%s, %s, %s, %s, %s, %s, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %s, %d, %d)",
			sqlString(rep.RunID), tsLit(r.eng, rep.Started), tsLit(r.eng, rep.Finished),
			sqlString(rep.Status), sqlString(t.Table), sqlString(t.Kind), sqlString(t.Status),
			t.RowsIn, t.RowsOut, t.Quarantined, t.Dropped, t.Duplicates, t.Replaced, t.Rescued, t.Rejected, t.Files, t.Version, t.Duration.Milliseconds(),
			nullableString(r.eng, t.Error), t.ChangedFiles, t.BadFiles))
	}
	if len(rows) == 0 {
		return nil
	}
	q := "SELECT * FROM (VALUES " + strings.Join(rows, ", ") + ") AS v(run_id, started_at, finished_at, run_status, table_name, kind, status, rows_in, rows_out, quarantined, dropped, duplicates, replaced, rescued, rejected, files, version, duration_ms, error, changed_files, bad_files)"
	return r.appendQuery(ctx, RunsTable, q, map[string]any{"batch_id": rep.RunID})
}

// appendQuery appends the rows of a query that reads no table (VALUES) to a
// system table, creating it on first use.
func (r *run) appendQuery(ctx context.Context, table, q string, info map[string]any) error {
	tbl, err := r.lake.Table(ctx, table)
	if err != nil {
		return err
	}
	snap, err := r.lake.Snapshot(ctx, table)
	if err != nil {
		return err
	}
	defer r.scope(ctx)()
	rows, err := r.table(ctx, q)
	if err != nil {
		return fmt.Errorf("pipeline: append to %s: %w", table, err)
	}
	schema, err := r.relationSchema(ctx, rows)
	if err != nil {
		return err
	}
	w := writeSpec{table: table, tbl: tbl, snap: snap, relation: rows, schema: schema, info: info}
	cr, err := r.appendRows(ctx, w, &TableReport{})
	if err != nil {
		return fmt.Errorf("pipeline: append to %s: %w", table, err)
	}
	compactInternal(ctx, table, tbl, cr.Snapshot, r.logf)
	return nil
}

// InternalCompactFiles is how many data files an internal table
// (medallion.runs, medallion.job_runs) may hold before the append that
// exceeds it compacts the table: one small file per run would otherwise
// pile up without bound.
const InternalCompactFiles = 16

// compactInternal compacts an internal table once it holds more than
// InternalCompactFiles files. A compaction that loses a race to another
// writer is left for a later append; the append itself has committed.
func compactInternal(ctx context.Context, name string, tbl *delta.Table, snap *delta.Snapshot, logf func(string, ...any)) {
	if snap == nil || snap.NumFiles() <= InternalCompactFiles {
		return
	}
	if _, err := tbl.Optimize(ctx, &delta.OptimizeOptions{}); err != nil && !errors.Is(err, delta.ErrConcurrentModification) {
		logf("warning: compacting %s: %v", name, err)
	}
}

// RunsTable is the system table that keeps every run's report.
const RunsTable = "medallion.runs"
