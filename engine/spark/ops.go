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

// The engine operations of the seam (engine/engine.go): relation handles
// are temporary views of the Spark session. Loading, typing, probes,
// dedupe, union by name and merge-file matching are in load.go, relops.go
// and write.go, change application in changes.go, reading a change data
// feed (BindChanges) in feed.go.

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
	// Created now, so that a query Spark cannot analyze fails here.
	if _, err := e.ensure(ctx, strings.ToLower(name), nil); err != nil {
		delete(e.rels, strings.ToLower(name))
		return err
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
		rel := e.rels[key]
		delete(e.rels, key)
		if e.created[key] || e.made[key] {
			delete(e.created, key)
			delete(e.made, key)
			if _, err := e.sess.Sql(ctx, "DROP VIEW IF EXISTS "+backtick(e.viewName(r.Name))); err != nil {
				return e.wrap("release "+r.Name, err)
			}
			e.remote().cachedView(e.viewName(r.Name), false)
		}
		for _, o := range rel.owned {
			if err := e.Release(ctx, engine.Relation{Name: o}); err != nil {
				return err
			}
		}
		for _, v := range rel.ownedViews {
			if _, err := e.sess.Sql(ctx, "DROP VIEW IF EXISTS "+backtick(v)); err != nil {
				return e.wrap("release "+r.Name, err)
			}
			e.remote().cachedView(v, false)
		}
	}
	return nil
}

// ExpandWindows expands each row of source into the event-time windows
// holding it (sequence + explode over epoch milliseconds).
func (e *Engine) ExpandWindows(ctx context.Context, source string, w engine.Windows) (engine.Relation, error) {
	size, slide := w.Size.Milliseconds(), w.Slide.Milliseconds()
	if size <= 0 || slide <= 0 || size%slide != 0 {
		return engine.Relation{}, fmt.Errorf("spark: windows: size %s must be a positive multiple of slide %s", w.Size, w.Slide)
	}
	from, err := e.translate(ctx, "SELECT * FROM "+source, nil)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: windows: %w", err)
	}
	cols, err := e.sparkColumns(ctx, from)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: windows: %w", err)
	}
	var keep []string
	for _, c := range cols {
		keep = append(keep, backtick(c.Name))
	}
	t := "unix_millis(" + backtick(w.Time) + ")"
	n := size / slide
	q := fmt.Sprintf(`SELECT %s, timestamp_millis(__ws) AS window_start, timestamp_millis(__ws + %d) AS window_end
FROM (SELECT *, explode(sequence(floor(%s / %d) * %d - %d, floor(%s / %d) * %d, %dL)) AS __ws
      FROM (%s) AS __src WHERE %s IS NOT NULL AND %s >= %d AND %s < %d) AS __x
WHERE __ws + %d > %d AND __ws + %d <= %d`,
		strings.Join(keep, ", "), size,
		t, slide, slide, (n-1)*slide, t, slide, slide, slide,
		from, backtick(w.Time), t, max(w.After-size, -1<<61), t, w.Until,
		size, w.After, size, w.Until)
	return e.newRel(q), nil
}

// Quote quotes an identifier the way Spark does.
func (e *Engine) Quote(ident string) string { return backtick(ident) }

// Literal renders a Go value as a Spark SQL literal (string literals as
// the session reads them: verbatim, see sparkString).
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
		return sparkString(x), nil
	case time.Time:
		return "TIMESTAMP '" + x.UTC().Format("2006-01-02 15:04:05.000000") + "'", nil
	}
	return "", fmt.Errorf("spark: no literal for %T", v)
}

// EpochMillis is the milliseconds since the epoch of a timestamp
// expression.
func (e *Engine) EpochMillis(expr string) string { return "unix_millis(" + expr + ")" }
