package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Pre-run validation: before a run writes anything, every model it runs
// (every model, unless the run selects some: then those and the models
// upstream of them) is compiled against the current schemas of the tables
// it reads — in an engine of its own where each input is an empty relation
// of its table's schema and each
// model, in dependency order, becomes an empty table (or a view) of its
// output, so a model is checked against what its upstream models will
// produce, not what they produced last. No data is read. A model fails the
// check when its SQL does not parse or bind, an expectation or backfill_date
// does not bind to its output, or a key, sequence_by, partition_by,
// incremental_by or window time column is missing; the error names the file
// and the line in the user's own SQL.

// validation is the state of one pre-run check.
type validation struct {
	eng engine.Engine
	// status of each model: statusChecked, or why it was not.
	status map[string]string
	// bound are the non-model tables bound so far.
	bound map[string]bool
}

const (
	statusChecked = "checked"
	statusBroken  = "broken"
	statusWaiting = "waiting" // an input table does not exist yet
)

// validate checks every model that has not been checked yet whose input
// tables exist. It returns the errors of the broken models, in dependency
// order; the models left waiting are checked by a later call (after the
// sources have created their tables).
func (r *run) validate(ctx context.Context) ([]*ModelError, error) {
	if r.checkedAll {
		return nil, nil
	}
	order, err := r.checkedModels()
	if err != nil {
		return nil, err
	}
	if len(order) == 0 {
		return nil, nil
	}
	// A stream checks the same models against the same schemas batch after
	// batch, and run after run does too: a combination that passed once
	// passes again (checkstate.go). With tables missing, the models that
	// read them wait, and the key is computed again once the sources ran.
	start := r.opts.Now()
	key, complete, err := r.validationKey(ctx, order)
	if err != nil {
		return nil, err
	}
	if passedBefore(r.proj, key, persistable(r.proj, order)) {
		r.checkedAll = complete
		r.traceCheck(start, len(order), "passed before")
		return nil, nil
	}
	if r.valid == nil {
		// A session of the project's engine: the schema check binds
		// empty tables under the models' names in a catalog of its own.
		eng, err := session(ctx, r.proj, nil, "", nil)
		if err != nil {
			return nil, fmt.Errorf("pipeline: validation engine: %w", err)
		}
		validationSessions.Add(1)
		r.valid = &validation{eng: eng, status: map[string]string{}, bound: map[string]bool{}}
	}
	v := r.valid
	v.bound = map[string]bool{} // the sources may have changed their tables since the last call
	var broken []*ModelError
	for _, m := range order {
		if v.status[m.Name] == statusChecked || v.status[m.Name] == statusBroken {
			continue
		}
		blocked := ""
		for _, d := range m.Deps {
			if r.proj.Model(d) != nil {
				if v.status[d] != statusChecked {
					blocked = d
					break
				}
				continue
			}
			if v.bound[d] {
				continue
			}
			snap, err := r.lake.Snapshot(ctx, d)
			if err != nil {
				return nil, err
			}
			if snap == nil {
				blocked = d
				break
			}
			if err := v.eng.BindEmpty(ctx, d, snap.Schema()); err != nil {
				return nil, fmt.Errorf("pipeline: validate %s: %w", m.File, err)
			}
			v.bound[d] = true
		}
		if blocked != "" {
			if v.status[blocked] == statusBroken || v.status[blocked] == "skipped" {
				v.status[m.Name] = "skipped"
			} else {
				v.status[m.Name] = statusWaiting
			}
			continue
		}
		merr, err := r.check(ctx, v, m)
		if err != nil {
			return nil, err
		}
		if merr != nil {
			v.status[m.Name] = statusBroken
			broken = append(broken, merr)
			continue
		}
		v.status[m.Name] = statusChecked
	}
	if len(broken) == 0 {
		all, none := true, true
		for _, m := range order {
			all = all && v.status[m.Name] == statusChecked
			none = none && (v.status[m.Name] == statusChecked || v.status[m.Name] == statusWaiting)
		}
		r.checkedAll = all
		if none {
			// Every model passed or waits for a table missing now: the
			// same models against the same tables, the same missing, pass.
			rememberPassed(r.proj, key, persistable(r.proj, order))
		}
	}
	status := "checked"
	if len(broken) > 0 {
		status = fmt.Sprintf("%d broken", len(broken))
	}
	r.traceCheck(start, len(order), status)
	return broken, nil
}

// traceCheck writes a check's span to the run's trace (RunOptions.Trace):
// "passed before" when the same check passed in this process or an
// earlier one and no engine session checked the models.
func (r *run) traceCheck(start time.Time, models int, status string) {
	if r.opts.Trace == nil {
		return
	}
	ms := func(t time.Time) float64 { return float64(t.Sub(r.started).Microseconds()) / 1000 }
	end := r.opts.Now()
	fmt.Fprintf(r.opts.Trace, "check  %-34s           from %9.1fms  to %9.1fms  %9.1fms  %s\n", fmt.Sprintf("%d models", models), ms(start), ms(end), ms(end)-ms(start), status)
}

// validationSessions counts the engine sessions opened for checks (tests
// read it to see a check skipped).
var validationSessions atomic.Int64

// passedChecks are the keys (validationKey) of the checks that passed in
// this process.
var passedChecks = &keySet{m: map[string]bool{}}

type keySet struct {
	sync.Mutex
	m map[string]bool
}

func (s *keySet) has(k string) bool {
	s.Lock()
	defer s.Unlock()
	return s.m[k]
}

func (s *keySet) add(k string) {
	s.Lock()
	defer s.Unlock()
	if len(s.m) > 1000 {
		clear(s.m)
	}
	s.m[k] = true
}

// validationKey digests what the check of the models depends on: the
// binary (its engine's parser and binder), the engine's kind and settings,
// every model's fingerprint and backfill_date, and the schema of every
// other table they read, or that it does not exist yet (complete is false
// then: the models reading it wait).
func (r *run) validationKey(ctx context.Context, order []*Model) (key string, complete bool, err error) {
	h := sha256.New()
	ec := r.proj.Config.Engine
	fmt.Fprintf(h, "binary %s\nengine %s %v\n", binaryIdentity(), ec.Kind, ec.Settings[ec.Kind])
	seen := map[string]bool{}
	complete = true
	for _, m := range order {
		fmt.Fprintf(h, "model %s %s %q\n", m.Name, r.fingerprint(m), m.BackfillDate)
		for _, d := range m.Deps {
			if r.proj.Model(d) != nil || seen[d] {
				continue
			}
			seen[d] = true
			snap, err := r.lake.Snapshot(ctx, d)
			if err != nil {
				return "", false, err
			}
			if snap == nil {
				fmt.Fprintf(h, "missing %s\n", d)
				complete = false
				continue
			}
			fmt.Fprintf(h, "table %s %s\n", d, snap.Schema().String())
		}
	}
	return hex.EncodeToString(h.Sum(nil)), complete, nil
}

// prefetchChecked reads the latest snapshot of every table the check of
// the models reads (see validationKey): what a run does while its engine
// opens. An error is left for the check to meet again and report.
func (r *run) prefetchChecked(ctx context.Context) {
	order, err := r.checkedModels()
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, m := range order {
		for _, d := range m.Deps {
			if r.proj.Model(d) == nil && !seen[d] {
				seen[d] = true
				_, _ = r.lake.Snapshot(ctx, d)
			}
		}
	}
}

// checkedModels are the models a run checks, in dependency order: every
// model, or with a selection (RunOptions.Select) the selected models and
// the models upstream of them.
func (r *run) checkedModels() ([]*Model, error) {
	order, err := r.proj.Order()
	if err != nil {
		return nil, err
	}
	selected, err := r.proj.Selection(r.opts.Select)
	if err != nil || selected == nil {
		return order, err
	}
	need := map[string]bool{}
	for i := len(order) - 1; i >= 0; i-- { // downstream first
		m := order[i]
		if !selected[m.Name] && !need[m.Name] {
			continue
		}
		need[m.Name] = true
		for _, d := range m.Deps {
			need[d] = true
		}
	}
	var out []*Model
	for _, m := range order {
		if need[m.Name] {
			out = append(out, m)
		}
	}
	return out, nil
}

// closeValidation releases the validation engine.
func (r *run) closeValidation() {
	if r.valid != nil {
		r.valid.eng.Close()
		r.valid = nil
	}
}

// check compiles one model whose inputs are bound in v. It returns the
// model's error, or an error of the engine itself.
func (r *run) check(ctx context.Context, v *validation, m *Model) (*ModelError, error) {
	sqlText := m.SQL
	names := map[string]string{}
	if hasTimeTravel(m) {
		// Pinned versions and change feeds are bound as they will be read
		// (the log only; the check reads no rows).
		text, back, err := bindModelTimeTravel(ctx, v.eng, r.lake, m)
		if merr := (*ModelError)(nil); errors.As(err, &merr) {
			return merr, nil
		} else if err != nil {
			return nil, err
		}
		sqlText = text
		maps.Copy(names, back)
	}
	if w := m.Window; w != nil {
		null := nullOf(v.eng, delta.Primitive(delta.TypeTimestamp))
		input, err := v.eng.View(ctx, "SELECT *, "+null+" AS window_start, "+null+" AS window_end FROM "+qualifiedIdent(v.eng, w.Source))
		if err != nil {
			return nil, fmt.Errorf("pipeline: validate %s: %w", m.File, err)
		}
		defer v.eng.Release(context.WithoutCancel(ctx), input)
		cols, err := columnsOf(ctx, v.eng, qualifiedIdent(v.eng, w.Source))
		if err != nil {
			return nil, err
		}
		if !hasColumn(cols, w.Time) {
			return m.errorAt(m.headerLineOf("time:"), fmt.Sprintf("window time: column %s is not in %s (its columns: %s)", w.Time, w.Source, strings.Join(cols, ", "))), nil
		}
		sqlText = replaceTableRef(sqlText, w.Source, input.Name)
		names[input.Name] = w.Source
	}
	target := qualifiedIdent(v.eng, m.Name)
	// The SQL is wrapped, not appended to: a second statement is a syntax
	// error here, never run. It starts on line 2 of the statement. A
	// table is computed (with no rows), a view only bound.
	wrapped := "SELECT * FROM (\n" + sqlText + "\n)"
	if m.Materialized != View {
		wrapped += " LIMIT 0"
	}
	if err := v.eng.BindQuery(ctx, m.Name, wrapped, m.Materialized != View); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return m.sqlError(err, 2, names), nil
	}
	cols, err := columnsOf(ctx, v.eng, target)
	if err != nil {
		return m.sqlError(err, 2, names), nil
	}
	for _, c := range []struct {
		key  string
		cols []string
	}{{"keys", m.Keys}, {"sequence_by", m.SequenceBy}, {"partition_by", m.PartitionBy}, {"incremental_by", m.IncrementalBy}} {
		for _, col := range c.cols {
			if !hasColumn(cols, col) {
				return m.errorAt(m.headerLineOf(c.key+":"), fmt.Sprintf("%s: column %s is not in the model's output (its columns: %s)", c.key, col, strings.Join(cols, ", "))), nil
			}
		}
	}
	for _, e := range m.Expectations {
		q := "SELECT count(*) FILTER (WHERE NOT coalesce((\n" + e.Expr + "\n), false)) FROM " + target
		if _, err := v.eng.Query(ctx, q); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			line := m.headerLineOf(e.Expr)
			if line == m.headerLine {
				line = m.headerLineOf(e.Name)
			}
			return m.errorAt(line, fmt.Sprintf("expectation %s (%s): %s", e.Name, e.Expr, engineMessage(err, names))), nil
		}
	}
	if m.BackfillDate != "" {
		if _, err := v.eng.Query(ctx, "SELECT (\n"+m.BackfillDate+"\n) FROM "+target); err != nil {
			return m.errorAt(m.headerLineOf("backfill_date:"), "backfill_date: "+engineMessage(err, names)), nil
		}
	}
	if m.CDC != nil {
		return r.checkCDC(ctx, v, m, target, wrapped, cols)
	}
	return nil, nil
}

// engineMessage is an engine error without its excerpt of the statement,
// internal names translated back.
func engineMessage(err error, names map[string]string) string {
	msg := engineLineRE.ReplaceAllString(err.Error(), "")
	for enginePrefix.MatchString(msg) {
		msg = enginePrefix.ReplaceAllString(msg, "")
	}
	return translateNames(msg, names)
}

func columnsOf(ctx context.Context, eng engine.Engine, relation string) ([]string, error) {
	res, err := eng.Query(ctx, "SELECT * FROM "+relation+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	cols := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		cols[i] = c.Name
	}
	return cols, nil
}

func hasColumn(cols []string, c string) bool {
	for _, x := range cols {
		if strings.EqualFold(x, c) {
			return true
		}
	}
	return false
}

// modelErrors joins the errors of broken models.
func modelErrors(errs []*ModelError) error {
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
