package pipeline

import (
	"context"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// The relations a step of a run asks the engine for (a model's result, its
// checked rows, a merge target) are handles the engine names; the run
// keeps them in a scope and releases them when the step ends.

// scope returns a function that releases every relation kept since the
// call: defer r.scope(ctx)() at the start of a step.
func (r *run) scope(ctx context.Context) func() {
	mark := len(r.rels)
	return func() {
		if len(r.rels) <= mark {
			return
		}
		rels := r.rels[mark:]
		r.rels = r.rels[:mark]
		if err := r.eng.Release(context.WithoutCancel(ctx), rels...); err != nil {
			r.logf("warning: %v", err)
		}
	}
}

// keep records a relation in the current scope.
func (r *run) keep(rel engine.Relation, err error) (engine.Relation, error) {
	if err == nil {
		r.rels = append(r.rels, rel)
	}
	return rel, err
}

// table computes a query into a relation of the current scope.
func (r *run) table(ctx context.Context, sql string) (engine.Relation, error) {
	return r.keep(r.eng.Materialize(ctx, sql))
}

// view names a query as a relation of the current scope.
func (r *run) view(ctx context.Context, sql string) (engine.Relation, error) {
	return r.keep(r.eng.View(ctx, sql))
}

// count is the number of rows of a relation, optionally filtered.
func (r *run) count(ctx context.Context, rel engine.Relation, where string) (int64, error) {
	q := "SELECT count(*) FROM " + rel.Name
	if where != "" {
		q += " WHERE " + where
	}
	res, err := r.eng.Query(ctx, q)
	if err != nil {
		return 0, err
	}
	return engine.Int64(res.Rows[0][0]), nil
}

// timeLiteral renders t as the engine's timestamp literal.
func (r *run) timeLiteral(t time.Time) (string, error) { return r.eng.Literal(t) }

// tsLit is a timestamp literal in the engine's SQL; the zero time is a
// NULL timestamp.
func tsLit(eng engine.Engine, t time.Time) string {
	if t.IsZero() {
		return nullOf(eng, delta.Primitive(delta.TypeTimestamp))
	}
	s, _ := eng.Literal(t) // Literal fails only for types it does not list
	return s
}

// nullOf is a NULL of a Delta type in the engine's SQL (CAST(NULL AS …)).
func nullOf(eng engine.Engine, t delta.DataType) string {
	name, err := eng.SQLType(t)
	if err != nil {
		return "NULL"
	}
	return "CAST(NULL AS " + name + ")"
}

// nullableString is a string literal, NULL (of the string type) for "".
func nullableString(eng engine.Engine, s string) string {
	if s == "" {
		return nullOf(eng, delta.Primitive(delta.TypeString))
	}
	return sqlString(s)
}
