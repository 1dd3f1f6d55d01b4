package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/storage"
)

// Time travel and table_changes in models (models/*.sql): the same
// spellings and parser as `query` (timetravel.go). When a model runs, each
// reference is bound through the run's engine under a fresh name and
// replaced by it; the pre-run validation binds them the same way in its own
// engine (reading only the Delta log and no rows).
//
// A model with such a reference is recomputed in full on every run: it is
// never up to date, never incremental (incremental, incremental_by), and
// cannot be a view or a window model (ParseModel refuses those).

// modelTTSeq numbers the names model references are bound under.
var modelTTSeq atomic.Int64

// hasTimeTravel reports whether m's SQL has a time-travel or table_changes
// reference.
func hasTimeTravel(m *Model) bool {
	refs, err := findTimeTravel(m.SQL)
	return err == nil && len(refs) > 0
}

// timeTravelDeps checks the time-travel references of a model's SQL and
// returns deps with the tables that table_changes reads by name added.
func timeTravelDeps(m *Model, deps []string) ([]string, error) {
	refs, err := findTimeTravel(m.SQL)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return deps, nil
	}
	switch {
	case m.Materialized == View:
		return nil, fmt.Errorf("a view cannot read VERSION AS OF, TIMESTAMP AS OF or table_changes (materialize it as a table)")
	case m.Window != nil:
		return nil, fmt.Errorf("a window model cannot read VERSION AS OF, TIMESTAMP AS OF or table_changes")
	case m.Incremental != "" || len(m.IncrementalBy) > 0:
		return nil, fmt.Errorf("a model that reads VERSION AS OF, TIMESTAMP AS OF or table_changes is recomputed in full each run: remove incremental/incremental_by")
	}
	for _, r := range refs {
		if r.table == "" {
			continue
		}
		if !tableRE.MatchString(r.table) {
			return nil, fmt.Errorf("table_changes(%s, …): the table must be named layer.table", sqlString(r.table))
		}
		if !slices.Contains(deps, r.table) {
			deps = append(deps, r.table)
		}
	}
	slices.Sort(deps)
	return deps, nil
}

// bindModelTimeTravel binds the time-travel and table_changes references
// of m's SQL in eng and returns the SQL with each replaced by its bound
// name, and the names mapped back to the references (for error messages).
// An error binding a reference is m's error at the reference's line.
func bindModelTimeTravel(ctx context.Context, eng engine.Engine, lake *Lake, m *Model) (string, map[string]string, error) {
	refs, err := findTimeTravel(m.SQL)
	if err != nil {
		return "", nil, m.errorAt(m.SQLLine, err.Error())
	}
	if len(refs) == 0 {
		return m.SQL, nil, nil
	}
	names := make([]string, len(refs))
	back := map[string]string{}
	for i, r := range refs {
		names[i] = ttName(r, int(modelTTSeq.Add(1)))
		if err := bindTimeTravel(ctx, eng, lake, openModelPath, names[i], r); err != nil {
			if ctx.Err() != nil {
				return "", nil, err
			}
			return "", nil, m.errorAt(m.SQLLine+strings.Count(m.SQL[:r.start], "\n"), err.Error())
		}
		back[names[i]] = m.SQL[r.start:r.end]
	}
	return replaceRefs(m.SQL, refs, names, eng.Quote), back, nil
}

// openModelPath opens the Delta table at loc that a model reads with
// delta_scan('loc') VERSION AS OF n or table_changes('loc', …).
func openModelPath(ctx context.Context, loc string) (*delta.Table, error) {
	store, err := storage.Open(ctx, loc)
	if err != nil {
		return nil, err
	}
	tbl, err := delta.OpenTable(ctx, store, nil)
	if err != nil {
		return nil, err
	}
	if ok, err := tbl.Exists(ctx); err != nil {
		return nil, fmt.Errorf("pipeline: delta_scan('%s'): %w", loc, err)
	} else if !ok {
		return nil, fmt.Errorf("pipeline: delta_scan('%s'): no Delta table there", loc)
	}
	return tbl, nil
}

// checkableSQL is a model's SQL with its time-travel references replaced
// by plain names, for the parser's exactly-one-query check.
func checkableSQL(eng engine.Engine, sql string) string {
	refs, err := findTimeTravel(sql)
	if err != nil || len(refs) == 0 {
		return sql
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = ttName(r, i)
	}
	return replaceRefs(sql, refs, names, eng.Quote)
}
