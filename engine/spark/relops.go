package spark

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Relation operations on Spark: each makes a temporary view of the
// session, in Spark's own SQL, over the views of the relations it reads.

// source returns the session view of a relation handle (or bound name),
// creating it when needed.
func (e *Engine) source(ctx context.Context, name string) (string, error) {
	v, err := e.ensure(ctx, strings.ToLower(name), nil)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", fmt.Errorf("spark: no relation %s", name)
	}
	return v, nil
}

// newRel registers a relation of Spark SQL reading deps under a fresh
// handle.
func (e *Engine) newRel(create string, deps ...string) engine.Relation {
	rel := e.handle()
	lower := make([]string, len(deps))
	for i, d := range deps {
		lower[i] = strings.ToLower(d)
	}
	e.set(rel.Name, &relation{create: create, deps: lower})
	return rel
}

// sparkColumns are the columns of a session view (or any Spark SQL
// query), with their Delta types.
func (e *Engine) sparkColumns(ctx context.Context, query string) ([]engine.Column, error) {
	df, err := e.sess.Sql(ctx, "SELECT * FROM ("+query+") AS __c LIMIT 0")
	if err != nil {
		return nil, e.wrap("columns", err)
	}
	tp, err := df.ToArrow(ctx)
	if err != nil {
		return nil, e.wrap("columns", err)
	}
	tbl := *tp
	defer tbl.Release()
	cols := make([]engine.Column, 0, tbl.NumCols())
	for _, f := range tbl.Schema().Fields() {
		t, err := columnType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%w (column %s)", err, f.Name)
		}
		cols = append(cols, engine.Column{Name: f.Name, Type: t})
	}
	return cols, nil
}

// rawRows runs a statement of Spark SQL (not translated) and returns its
// rows as Go values.
func (e *Engine) rawRows(ctx context.Context, query string) ([][]any, error) {
	df, err := e.sess.Sql(ctx, query)
	if err != nil {
		return nil, err
	}
	tp, err := df.ToArrow(ctx)
	if err != nil {
		return nil, err
	}
	tbl := *tp
	defer tbl.Release()
	var out [][]any
	rr := arrowRows(tbl)
	for rr.next() {
		row := make([]any, tbl.NumCols())
		for c := range row {
			a, i := rr.at(c)
			v, err := value(a, i)
			if err != nil {
				return nil, err
			}
			row[c] = v
		}
		out = append(out, row)
	}
	return out, nil
}

// count runs a Spark SQL query of one number and returns it.
func (e *Engine) count(ctx context.Context, query string) (int64, error) {
	rows, err := e.rawRows(ctx, query)
	if err != nil {
		return 0, e.wrap("count", err)
	}
	if len(rows) != 1 || len(rows[0]) < 1 {
		return 0, fmt.Errorf("spark: count: %d rows", len(rows))
	}
	return engine.Int64(rows[0][0]), nil
}

// UnionByName is a view of the queries' rows combined by column name.
func (e *Engine) UnionByName(ctx context.Context, queries ...string) (engine.Relation, error) {
	if len(queries) == 0 {
		return engine.Relation{}, fmt.Errorf("spark: union: no queries")
	}
	var parts []engine.Relation
	var views []string
	var order []string
	have := map[string]bool{}
	var partCols [][]engine.Column
	for _, q := range queries {
		p, err := e.View(ctx, q)
		if err != nil {
			_ = e.Release(context.WithoutCancel(ctx), parts...)
			return engine.Relation{}, err
		}
		parts = append(parts, p)
		v, err := e.source(ctx, p.Name)
		if err != nil {
			_ = e.Release(context.WithoutCancel(ctx), parts...)
			return engine.Relation{}, fmt.Errorf("spark: union: %w", err)
		}
		views = append(views, v)
		cols, err := e.sparkColumns(ctx, "SELECT * FROM "+backtick(v))
		if err != nil {
			_ = e.Release(context.WithoutCancel(ctx), parts...)
			return engine.Relation{}, fmt.Errorf("spark: union: %w", err)
		}
		partCols = append(partCols, cols)
		for _, c := range cols {
			if k := strings.ToLower(c.Name); !have[k] {
				have[k] = true
				order = append(order, c.Name)
			}
		}
	}
	// The type of a column is its type in the first query that has it.
	types := map[string]delta.DataType{}
	for _, cols := range partCols {
		for _, c := range cols {
			if _, ok := types[strings.ToLower(c.Name)]; !ok {
				types[strings.ToLower(c.Name)] = c.Type
			}
		}
	}
	selects := make([]string, len(views))
	for i, v := range views {
		own := map[string]string{}
		for _, c := range partCols[i] {
			own[strings.ToLower(c.Name)] = c.Name
		}
		sel := make([]string, len(order))
		for j, n := range order {
			if src, ok := own[strings.ToLower(n)]; ok {
				sel[j] = backtick(src) + " AS " + backtick(n)
				continue
			}
			t, err := e.SQLType(types[strings.ToLower(n)])
			if err != nil {
				t = "STRING"
			}
			sel[j] = "CAST(NULL AS " + t + ") AS " + backtick(n)
		}
		selects[i] = "SELECT " + strings.Join(sel, ", ") + " FROM " + backtick(v)
	}
	deps := make([]string, len(parts))
	for i, p := range parts {
		deps[i] = p.Name
	}
	rel := e.newRel("SELECT * FROM ("+strings.Join(selects, " UNION ALL ")+")", deps...)
	e.rels[strings.ToLower(rel.Name)].owned = deps
	return rel, nil
}

// Dedupe keeps the greatest row per key by sequenceBy (a window), and
// every row with a NULL key; its rows are computed now and cached.
func (e *Engine) Dedupe(ctx context.Context, rel engine.Relation, keys, sequenceBy []string) (engine.Relation, error) {
	if len(keys) == 0 {
		return engine.Relation{}, fmt.Errorf("spark: dedupe: no keys")
	}
	src, err := e.source(ctx, rel.Name)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: dedupe: %w", err)
	}
	cols, err := e.sparkColumns(ctx, "SELECT * FROM "+backtick(src))
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: dedupe: %w", err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = backtick(c.Name)
	}
	ks := make([]string, len(keys))
	nulls := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = backtick(k)
		nulls[i] = backtick(k) + " IS NULL"
	}
	order := "monotonically_increasing_id()"
	if len(sequenceBy) > 0 {
		seq := make([]string, len(sequenceBy))
		for i, c := range sequenceBy {
			// As DuckDB's arg_max over a row: NULL compares greatest.
			seq[i] = backtick(c) + " DESC NULLS FIRST"
		}
		order = strings.Join(seq, ", ")
	}
	list := strings.Join(names, ", ")
	anyNull := strings.Join(nulls, " OR ")
	q := "SELECT " + list + " FROM (SELECT *, row_number() OVER (PARTITION BY " + strings.Join(ks, ", ") + " ORDER BY " + order + ") AS __dedupe_rn FROM " +
		backtick(src) + " WHERE NOT (" + anyNull + ")) WHERE __dedupe_rn = 1 UNION ALL SELECT " + list + " FROM " + backtick(src) + " WHERE " + anyNull
	out := e.newRel(q, rel.Name)
	if err := e.Cache(ctx, out.Name); err != nil {
		_ = e.Release(context.WithoutCancel(ctx), out)
		return engine.Relation{}, fmt.Errorf("spark: dedupe: %w", err)
	}
	return out, nil
}

// Regular expressions (Java) for the text the casts accept, so that Spark
// types exactly what DuckDB types: Spark alone would read "2026" as a
// timestamp, "1.5d" as a double and "yes" as a boolean.
const (
	reLong      = `^[+-]?[0-9]+$`
	reDouble    = `^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$|^(?i)[+-]?(inf|infinity|nan)$`
	reDate      = `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`
	reDateish   = `^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$`
	reTimestamp = `^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T].*)?$`
	boolWords   = `('true', 'false', 't', 'f', '1', '0')`
)

func strLit(s string) string { return sparkString(s) }

// orderedSource is the session view holding rel's rows with __ord (their
// load order), or "" when rel is not a loaded relation.
func (e *Engine) orderedSource(ctx context.Context, rel engine.Relation) (string, error) {
	r, ok := e.rels[strings.ToLower(rel.Name)]
	if !ok || r.ordered == "" {
		return "", nil
	}
	return e.source(ctx, r.ordered)
}

// Probe counts, over the first sample rows, the values of each column that
// fit each inferable type.
func (e *Engine) Probe(ctx context.Context, rel engine.Relation, cols []string, sample int) ([]engine.TypeProbe, error) {
	if len(cols) == 0 {
		return nil, nil
	}
	from, err := e.orderedSource(ctx, rel)
	if err != nil {
		return nil, fmt.Errorf("spark: probe: %w", err)
	}
	rows := ""
	if from != "" {
		rows = "SELECT * FROM " + backtick(from) + " ORDER BY __ord LIMIT " + strconv.Itoa(sample)
	} else {
		src, err := e.source(ctx, rel.Name)
		if err != nil {
			return nil, fmt.Errorf("spark: probe: %w", err)
		}
		rows = "SELECT * FROM " + backtick(src) + " LIMIT " + strconv.Itoa(sample)
	}
	const probes = 6
	var sel []string
	for _, col := range cols {
		v := "nullif(trim(CAST(" + backtick(col) + " AS STRING)), '')"
		sel = append(sel,
			"count("+v+")",
			"count(CASE WHEN "+v+" RLIKE "+strLit(reLong)+" THEN try_cast("+v+" AS BIGINT) END)",
			"count(CASE WHEN "+v+" RLIKE "+strLit(reDouble)+" THEN try_cast("+v+" AS DOUBLE) END)",
			"count(CASE WHEN "+v+" RLIKE "+strLit(reTimestamp)+" THEN try_cast("+v+" AS TIMESTAMP) END)",
			"count(CASE WHEN "+v+" RLIKE "+strLit(reDate)+" THEN 1 END)",
			"count(CASE WHEN lower("+v+") IN ('true', 'false') THEN 1 END)")
	}
	res, err := e.rawRows(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM ("+rows+") AS __sample")
	if err != nil {
		return nil, e.wrap("probe", err)
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("spark: probe: %d result rows", len(res))
	}
	vals := res[0]
	out := make([]engine.TypeProbe, len(cols))
	for i := range cols {
		r := vals[i*probes : (i+1)*probes]
		out[i] = engine.TypeProbe{NonEmpty: engine.Int64(r[0]), Long: engine.Int64(r[1]), Double: engine.Int64(r[2]),
			Timestamp: engine.Int64(r[3]), Date: engine.Int64(r[4]), Boolean: engine.Int64(r[5])}
	}
	return out, nil
}

// castText is the Spark expression casting trimmed text v to t, NULL when
// the text does not fit (as DuckDB's TRY_CAST with medallion's rules).
func (e *Engine) castText(v string, t delta.DataType) (string, error) {
	st, err := e.SQLType(t)
	if err != nil {
		return "", err
	}
	tv := "trim(" + v + ")"
	cast := "try_cast(" + tv + " AS " + st + ")"
	guard := ""
	switch t.Name {
	case delta.TypeLong, delta.TypeInteger, delta.TypeShort, delta.TypeByte:
		guard = tv + " RLIKE " + strLit(reLong)
	case delta.TypeDouble, delta.TypeFloat, delta.TypeDecimal:
		guard = tv + " RLIKE " + strLit(reDouble)
	case delta.TypeDate:
		guard = tv + " RLIKE " + strLit(reDateish)
	case delta.TypeTimestamp, delta.TypeTimestampNTZ:
		guard = tv + " RLIKE " + strLit(reTimestamp)
	case delta.TypeBoolean:
		guard = "lower(" + tv + ") IN " + boolWords
	}
	if guard != "" {
		cast = "CASE WHEN " + guard + " THEN " + cast + " END"
	}
	return cast, nil
}

// TypeText casts the text columns of a loaded relation, rescuing the
// values that do not fit into a JSON object.
func (e *Engine) TypeText(ctx context.Context, rel engine.Relation, spec engine.TypeSpec) (engine.Relation, error) {
	from, err := e.orderedSource(ctx, rel)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: type: %w", err)
	}
	ordinal := "__ord"
	dep := rel.Name
	if from == "" {
		// Not a loaded relation: load order is the order Spark reads it.
		if from, err = e.source(ctx, rel.Name); err != nil {
			return engine.Relation{}, fmt.Errorf("spark: type: %w", err)
		}
		ordinal = "row_number() OVER (ORDER BY monotonically_increasing_id())"
	} else {
		dep = e.rels[strings.ToLower(rel.Name)].ordered
	}
	var sel, rescue, fails []string
	for _, c := range spec.Columns {
		id := backtick(c.Name)
		v := "nullif(" + id + ", '')"
		if c.Type.Name == delta.TypeString {
			sel = append(sel, v+" AS "+id)
			continue
		}
		cast, err := e.castText(v, c.Type)
		if err != nil {
			return engine.Relation{}, fmt.Errorf("spark: type column %s: %w", c.Name, err)
		}
		sel = append(sel, cast+" AS "+id)
		fail := "(" + v + " IS NOT NULL AND " + cast + " IS NULL)"
		fails = append(fails, fail)
		rescue = append(rescue, "named_struct('k', "+strLit(c.Name)+", 'v', CASE WHEN "+fail+" THEN "+id+" END)")
	}
	rescued := "CAST(NULL AS STRING)"
	if len(rescue) > 0 {
		rescued = "CASE WHEN " + strings.Join(fails, " OR ") + " THEN to_json(map_from_entries(filter(array(" + strings.Join(rescue, ", ") + "), x -> x.v IS NOT NULL))) END"
	}
	sel = append(sel, "_source_file", "CAST("+ordinal+" AS BIGINT) AS "+backtick(spec.Ordinal), rescued+" AS "+backtick(spec.Rescue))
	return e.newRel("SELECT "+strings.Join(sel, ", ")+" FROM "+backtick(from), dep), nil
}
