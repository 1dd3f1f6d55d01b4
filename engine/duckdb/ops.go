package duckdb

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// relKind is how a relation handle is held: a temporary table or a view.
type relKind int

const (
	relTable relKind = iota + 1
	relView
)

// newRelation reserves a unique relation name.
func (e *Engine) newRelation(kind relKind) engine.Relation {
	e.seq++
	r := engine.Relation{Name: fmt.Sprintf("__rel_%d_", e.seq)}
	if e.rels == nil {
		e.rels = map[string]relKind{}
	}
	e.rels[r.Name] = kind
	return r
}

// Materialize creates a temporary table of the query's rows.
func (e *Engine) Materialize(ctx context.Context, query string) (engine.Relation, error) {
	r := e.newRelation(relTable)
	if err := e.Exec(ctx, "CREATE TEMP TABLE "+r.Name+" AS "+query); err != nil {
		delete(e.rels, r.Name)
		return engine.Relation{}, err
	}
	return r, nil
}

// View creates a temporary view of the query.
func (e *Engine) View(ctx context.Context, query string) (engine.Relation, error) {
	r := e.newRelation(relView)
	if err := e.Exec(ctx, "CREATE TEMP VIEW "+r.Name+" AS "+query); err != nil {
		delete(e.rels, r.Name)
		return engine.Relation{}, err
	}
	return r, nil
}

// BindRelation binds a snapshot's files under a new name.
func (e *Engine) BindRelation(ctx context.Context, snap *delta.Snapshot, files []*delta.Add) (engine.Relation, error) {
	r := e.newRelation(relView)
	if err := e.Bind(ctx, r.Name, snap, files); err != nil {
		delete(e.rels, r.Name)
		return engine.Relation{}, err
	}
	return r, nil
}

// Release drops relations, newest first.
func (e *Engine) Release(ctx context.Context, rels ...engine.Relation) error {
	var names, stmts []string
	for i := len(rels) - 1; i >= 0; i-- {
		r := rels[i]
		switch e.rels[r.Name] {
		case relTable:
			stmts = append(stmts, "DROP TABLE IF EXISTS "+r.Name)
		case relView:
			stmts = append(stmts, "DROP VIEW IF EXISTS "+r.Name)
		default:
			continue
		}
		names = append(names, r.Name)
		delete(e.rels, r.Name)
		delete(e.typed, r.Name)
	}
	// One statement drops them all (newest first: a view before what it
	// reads); when it fails, each is dropped alone, so that every one
	// that can be is and each failure is named.
	if len(stmts) > 1 && e.Exec(ctx, strings.Join(stmts, "; ")) == nil {
		return nil
	}
	var errs []error
	for i, stmt := range stmts {
		if err := e.Exec(ctx, stmt); err != nil {
			errs = append(errs, fmt.Errorf("duckdb: release %s: %w", names[i], err))
		}
	}
	return errors.Join(errs...)
}

// UnionByName is a view of the queries' rows combined by column name.
func (e *Engine) UnionByName(ctx context.Context, queries ...string) (engine.Relation, error) {
	if len(queries) == 0 {
		return engine.Relation{}, fmt.Errorf("duckdb: union: no queries")
	}
	parts := make([]string, len(queries))
	for i, q := range queries {
		parts[i] = "SELECT * FROM (" + q + ")"
	}
	return e.View(ctx, strings.Join(parts, " UNION ALL BY NAME "))
}

// Dedupe keeps the newest row per key by an aggregate (one hash pass), not
// a window (a sort).
func (e *Engine) Dedupe(ctx context.Context, rel engine.Relation, keys, sequenceBy []string) (engine.Relation, error) {
	if len(keys) == 0 {
		return engine.Relation{}, fmt.Errorf("duckdb: dedupe: no keys")
	}
	ks := make([]string, len(keys))
	nullCheck := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = quoteIdent(k)
		nullCheck[i] = quoteIdent(k) + " IS NULL"
	}
	pick := "any_value(__row)"
	if len(sequenceBy) > 0 {
		seq := make([]string, len(sequenceBy))
		for i, c := range sequenceBy {
			seq[i] = "__row." + quoteIdent(c)
		}
		pick = "arg_max(__row, row(" + strings.Join(seq, ", ") + "))"
	}
	nulls := strings.Join(nullCheck, " OR ")
	q := "SELECT unnest(" + pick + ") FROM " + rel.Name + " AS __row WHERE NOT (" + nulls + ") GROUP BY " + strings.Join(ks, ", ") +
		" UNION ALL BY NAME SELECT * FROM " + rel.Name + " WHERE " + nulls
	r, err := e.Materialize(ctx, q)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("duckdb: dedupe: %w", err)
	}
	return r, nil
}

// Probe counts the values of each column that fit each inferable type.
func (e *Engine) Probe(ctx context.Context, rel engine.Relation, cols []string, sample int) ([]engine.TypeProbe, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	const probes = 6
	var sel []string
	for _, col := range cols {
		v := "NULLIF(trim(" + e.textOf(rel.Name, col) + "), '')"
		sel = append(sel, "count("+v+")", "count(CASE WHEN regexp_full_match("+v+", '[+-]?[0-9]+') THEN TRY_CAST("+v+" AS BIGINT) END)", "count(TRY_CAST("+v+" AS DOUBLE))",
			"count(TRY_CAST("+v+" AS TIMESTAMP))", "count(CASE WHEN regexp_full_match("+v+", '\\d{4}-\\d{2}-\\d{2}') THEN 1 END)",
			"count(CASE WHEN lower("+v+") IN ('true', 'false') THEN 1 END)")
	}
	res, err := e.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM (SELECT * FROM "+rel.Name+" LIMIT "+strconv.Itoa(sample)+")")
	if err != nil {
		return nil, fmt.Errorf("duckdb: probe: %w", err)
	}
	out := make([]engine.TypeProbe, len(cols))
	for i := range cols {
		row := res.Rows[0][i*probes : (i+1)*probes]
		out[i] = engine.TypeProbe{NonEmpty: engine.Int64(row[0]), Long: engine.Int64(row[1]), Double: engine.Int64(row[2]),
			Timestamp: engine.Int64(row[3]), Date: engine.Int64(row[4]), Boolean: engine.Int64(row[5])}
	}
	return out, nil
}

// TypeText casts text columns, rescuing the values that do not fit.
//
// Each cast is written once, in an inner SELECT, and the outer one reads
// its result for the column, the rescue test and the rescued value: with
// the cast repeated in all three, planning the expression took most of a
// small batch's time (bronze.orders, 1,000 rows, five timestamp columns:
// 18 → 6 ms).
func (e *Engine) TypeText(ctx context.Context, rel engine.Relation, spec engine.TypeSpec) (engine.Relation, error) {
	var inner, outer, rescue, fails []string
	for i, c := range spec.Columns {
		id := quoteIdent(c.Name)
		t, err := SQLType(c.Type)
		if err != nil && c.Type.Name != delta.TypeString {
			return engine.Relation{}, fmt.Errorf("duckdb: type column %s: %w", c.Name, err)
		}
		if lt, ok := e.typed[rel.Name][c.Name]; ok && lt == t {
			inner = append(inner, id) // read typed: every value fit (csvtyped.go)
			outer = append(outer, id)
			continue
		}
		v := "NULLIF(" + e.textOf(rel.Name, c.Name) + ", '')"
		if c.Type.Name == delta.TypeString {
			inner = append(inner, v+" AS "+id)
			outer = append(outer, id)
			continue
		}
		cast := "TRY_CAST(trim(" + v + ") AS " + t + ")"
		switch c.Type.Name {
		case delta.TypeLong, delta.TypeInteger, delta.TypeShort, delta.TypeByte:
			// DuckDB would round "10.5" into an integer: only whole
			// numbers cast, the rest is rescued.
			cast = "CASE WHEN regexp_full_match(trim(" + v + "), '[+-]?[0-9]+') THEN " + cast + " END"
		case delta.TypeTimestamp:
			// DuckDB's cast to TIMESTAMPTZ keeps the zone of a value
			// naming one ("… Europe/Paris") for the values after it in
			// the same expression, shifting them. Values naming a zone
			// (two letters or more) and the rest go through separate
			// casts, so each is its own instant. A value without a cased
			// letter names no zone: lower = upper skips the regular
			// expression for it (bronze.orders at SF1, five timestamp
			// columns: 262 → 239 ms).
			cast = "CASE WHEN lower(" + v + ") <> upper(" + v + ") AND regexp_matches(trim(" + v + "), '[A-Za-z]{2}') THEN " + cast + " ELSE " + cast + " END"
		}
		text, typed := fmt.Sprintf("__medallion_text_%d", i), fmt.Sprintf("__medallion_typed_%d", i)
		inner = append(inner, v+" AS "+text, cast+" AS "+typed)
		outer = append(outer, typed+" AS "+id)
		fail := "(" + text + " IS NOT NULL AND " + typed + " IS NULL)"
		fails = append(fails, fail)
		rescue = append(rescue, "{'k': "+quoteString(c.Name)+", 'v': CASE WHEN "+fail+" THEN "+text+" END}")
	}
	rescued := "NULL::VARCHAR"
	if len(rescue) > 0 {
		rescued = "CAST(to_json(map_from_entries(list_filter([" + strings.Join(rescue, ", ") + "], x -> x.v IS NOT NULL))) AS VARCHAR)"
		rescued = "CASE WHEN " + strings.Join(fails, " OR ") + " THEN " + rescued + " END"
	}
	ord := quoteIdent(spec.Ordinal)
	inner = append(inner, "_source_file", "rowid + 1 AS "+ord)
	outer = append(outer, "_source_file", ord, rescued+" AS "+quoteIdent(spec.Rescue))
	r, err := e.View(ctx, "SELECT "+strings.Join(outer, ", ")+" FROM (SELECT "+strings.Join(inner, ", ")+" FROM "+rel.Name+") AS __medallion_cast")
	if err != nil {
		return engine.Relation{}, fmt.Errorf("duckdb: type: %w", err)
	}
	return r, nil
}

// ExpandWindows expands each row into the windows holding it.
func (e *Engine) ExpandWindows(ctx context.Context, source string, w engine.Windows) (engine.Relation, error) {
	size, slide := w.Size.Milliseconds(), w.Slide.Milliseconds()
	if size <= 0 || slide <= 0 || size%slide != 0 {
		return engine.Relation{}, fmt.Errorf("duckdb: windows: size %s must be a positive multiple of slide %s", w.Size, w.Slide)
	}
	_, _, src := qualified(source)
	t := "epoch_ms(" + quoteIdent(w.Time) + ")"
	n := size / slide
	// The rows with a window ending in (After, Until] have a time in
	// (After - size, Until): the scan is pruned to them first.
	q := fmt.Sprintf(`SELECT * EXCLUDE (__ws), to_timestamp(__ws / 1000.0) AS window_start, to_timestamp((__ws + %d) / 1000.0) AS window_end
FROM (SELECT *, unnest(generate_series(floor(%s / %d)::BIGINT * %d - %d, floor(%s / %d)::BIGINT * %d, %d)) AS __ws
      FROM %s WHERE %s IS NOT NULL AND %s >= %d AND %s < %d)
WHERE __ws + %d > %d AND __ws + %d <= %d`,
		size, t, slide, slide, (n-1)*slide, t, slide, slide, slide,
		src, quoteIdent(w.Time), t, max(w.After-size, -1<<61), t, w.Until,
		size, w.After, size, w.Until)
	r, err := e.View(ctx, q)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("duckdb: windows: %w", err)
	}
	return r, nil
}

// FileColumns lists the data columns of landing files.
func (e *Engine) FileColumns(ctx context.Context, src engine.Source) ([]string, error) {
	if len(src.Objects) == 0 {
		return nil, fmt.Errorf("duckdb: file columns: no files")
	}
	if src.Format != engine.Parquet {
		lr, err := e.Load(ctx, src)
		if err != nil {
			return nil, err
		}
		return lr.Columns, e.Release(ctx, lr.Relation)
	}
	paths, err := engine.LocalPaths(ctx, e.cache, src.Objects)
	if err != nil {
		return nil, fmt.Errorf("duckdb: file columns: %w", err)
	}
	list := make([]string, len(paths))
	for i, f := range paths {
		list[i] = quoteString(f)
	}
	res, err := e.Query(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(["+strings.Join(list, ", ")+"], union_by_name=true, hive_partitioning=false))")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, row := range res.Rows {
		out = append(out, fmt.Sprint(row[0]))
	}
	return out, nil
}

// Quote quotes an identifier.
func (e *Engine) Quote(ident string) string { return quoteIdent(ident) }

// Literal renders a Go value as a DuckDB literal.
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
		return strconv.FormatInt(x, 10), nil
	case float64:
		return "CAST(" + quoteString(strconv.FormatFloat(x, 'g', -1, 64)) + " AS DOUBLE)", nil
	case string:
		return quoteString(x), nil
	case time.Time:
		return quoteString(x.UTC().Format("2006-01-02 15:04:05.000000")) + "::TIMESTAMPTZ", nil
	}
	return "", fmt.Errorf("duckdb: no literal for %T", v)
}

// EpochMillis is epoch_ms of a timestamp expression.
func (e *Engine) EpochMillis(expr string) string { return "epoch_ms(" + expr + ")" }
