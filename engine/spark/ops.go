package spark

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// The engine operations of the seam (engine/engine.go). The read side —
// binding snapshots, views and queries, relations made from SQL — works on
// Spark; the operations only a run's write path uses (loading landing
// files, typing, probes, dedupe, window expansion, merge-file matching)
// fail with ErrUnsupported naming the operation until Spark writes.

// unsupported is the error of an operation the spark engine lacks.
func unsupported(what string) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, what)
}

// handle is a fresh relation name of this session.
func (e *Engine) handle() engine.Relation {
	e.nextRel++
	return engine.Relation{Name: "__rel_" + strconv.Itoa(e.nextRel)}
}

// BindQuery binds name to the rows of sql (in medallion's dialect); with
// materialize the rows are cached in Spark's memory when first read.
func (e *Engine) BindQuery(ctx context.Context, name, sql string, materialize bool) error {
	e.set(name, &relation{view: true, sql: sql})
	if materialize {
		return e.Cache(ctx, name)
	}
	return nil
}

// Materialize computes sql once and keeps its rows in Spark's memory.
func (e *Engine) Materialize(ctx context.Context, sql string) (engine.Relation, error) {
	rel := e.handle()
	if err := e.BindQuery(ctx, rel.Name, sql, true); err != nil {
		return engine.Relation{}, err
	}
	return rel, nil
}

// View names sql without computing it.
func (e *Engine) View(ctx context.Context, sql string) (engine.Relation, error) {
	rel := e.handle()
	if err := e.BindQuery(ctx, rel.Name, sql, false); err != nil {
		return engine.Relation{}, err
	}
	return rel, nil
}

// BindRelation binds a snapshot (or some of its files) under a fresh name.
func (e *Engine) BindRelation(ctx context.Context, snap *delta.Snapshot, files []*delta.Add) (engine.Relation, error) {
	rel := e.handle()
	if err := e.Bind(ctx, rel.Name, snap, files); err != nil {
		return engine.Relation{}, err
	}
	return rel, nil
}

// Release drops relations and their temporary views.
func (e *Engine) Release(ctx context.Context, rels ...engine.Relation) error {
	for _, r := range rels {
		key := strings.ToLower(r.Name)
		if _, ok := e.rels[key]; !ok {
			continue
		}
		delete(e.rels, key)
		if e.created[key] || e.made[key] {
			delete(e.created, key)
			delete(e.made, key)
			if _, err := e.sess.Sql(ctx, "DROP VIEW IF EXISTS "+backtick(e.viewName(r.Name))); err != nil {
				return e.wrap("release "+r.Name, err)
			}
		}
	}
	return nil
}

// Load is not implemented on Spark yet.
func (e *Engine) Load(ctx context.Context, src engine.Source) (*engine.LoadResult, error) {
	return nil, unsupported("loading landing files (Load)")
}

// FileColumns is not implemented on Spark yet.
func (e *Engine) FileColumns(ctx context.Context, src engine.Source) ([]string, error) {
	return nil, unsupported("reading landing file headers (FileColumns)")
}

// MatchFiles is not implemented on Spark yet.
func (e *Engine) MatchFiles(ctx context.Context, snap *delta.Snapshot, files []*delta.Add, keys []string, relation engine.Relation, nullSafe bool) ([]*delta.Add, error) {
	return nil, unsupported("merge-file matching (MatchFiles)")
}

// UnionByName is not implemented on Spark yet.
func (e *Engine) UnionByName(ctx context.Context, queries ...string) (engine.Relation, error) {
	return engine.Relation{}, unsupported("union by name (UnionByName)")
}

// Dedupe is not implemented on Spark yet.
func (e *Engine) Dedupe(ctx context.Context, rel engine.Relation, keys, sequenceBy []string) (engine.Relation, error) {
	return engine.Relation{}, unsupported("dedupe by key (Dedupe)")
}

// Probe is not implemented on Spark yet.
func (e *Engine) Probe(ctx context.Context, rel engine.Relation, cols []string, sample int) ([]engine.TypeProbe, error) {
	return nil, unsupported("type inference probes (Probe)")
}

// TypeText is not implemented on Spark yet.
func (e *Engine) TypeText(ctx context.Context, rel engine.Relation, spec engine.TypeSpec) (engine.Relation, error) {
	return engine.Relation{}, unsupported("typing text columns (TypeText)")
}

// ExpandWindows is not implemented on Spark yet.
func (e *Engine) ExpandWindows(ctx context.Context, source string, w engine.Windows) (engine.Relation, error) {
	return engine.Relation{}, unsupported("window expansion (ExpandWindows)")
}

// ApplyChanges is not implemented on Spark yet.
func (e *Engine) ApplyChanges(ctx context.Context, rel engine.Relation, spec engine.ChangeSpec) (engine.Relation, error) {
	return engine.Relation{}, unsupported("CDC change application (ApplyChanges)")
}

// Quote quotes an identifier the way Spark does.
func (e *Engine) Quote(ident string) string { return backtick(ident) }

// Literal renders a Go value as a Spark SQL literal (string literals as
// the session reads them: standard SQL, a quote doubled).
func (e *Engine) Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10) + "L", nil
	case float64:
		return "CAST('" + strconv.FormatFloat(x, 'g', -1, 64) + "' AS DOUBLE)", nil
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case time.Time:
		return "TIMESTAMP '" + x.UTC().Format("2006-01-02 15:04:05.000000") + "'", nil
	}
	return "", fmt.Errorf("spark: no literal for %T", v)
}

// EpochMillis is the milliseconds since the epoch of a timestamp
// expression.
func (e *Engine) EpochMillis(expr string) string { return "unix_millis(" + expr + ")" }

// BindChanges is not implemented on Spark yet.
func (e *Engine) BindChanges(ctx context.Context, name string, snap *delta.Snapshot, files []delta.ChangeFile) error {
	return unsupported("reading a change data feed (table_changes)")
}
