package spark

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/engine"
)

// ApplyChanges computes a CDC table's rows from the change rows of rel
// (see engine.ChangeSpec), in the steps of the DuckDB engine's query
// written in Spark SQL: one window per key orders its changes, a change
// followed by one with the same sequence values is superseded, SCD 2
// versions are runs of upserts between tracked changes. The rows are
// computed now and cached.
func (e *Engine) ApplyChanges(ctx context.Context, rel engine.Relation, spec engine.ChangeSpec) (engine.Relation, error) {
	switch {
	case spec.SCD != 1 && spec.SCD != 2:
		return engine.Relation{}, fmt.Errorf("spark: apply changes: scd %d is not 1 or 2", spec.SCD)
	case len(spec.Keys) == 0 || len(spec.Sequence) == 0 || len(spec.Columns) == 0:
		return engine.Relation{}, fmt.Errorf("spark: apply changes: keys, sequence and columns are required")
	case spec.SCD == 2 && (spec.StartAt == "" || spec.EndAt == ""):
		return engine.Relation{}, fmt.Errorf("spark: apply changes: scd 2 needs the StartAt and EndAt column names")
	}
	src, err := e.source(ctx, rel.Name)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: apply changes: %w", err)
	}
	cols, err := e.sparkColumns(ctx, "SELECT * FROM "+backtick(src))
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: apply changes: %w", err)
	}
	cond := func(c string) (string, error) {
		if c == "" {
			return "false", nil
		}
		t, err := e.translate(ctx, c, nil)
		if err != nil {
			return "", err
		}
		return "coalesce((" + t + "), false)", nil
	}
	del, err := cond(spec.Delete)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: apply changes: delete condition: %w", err)
	}
	trunc, err := cond(spec.Truncate)
	if err != nil {
		return engine.Relation{}, fmt.Errorf("spark: apply changes: truncate condition: %w", err)
	}
	idents := func(prefix string, names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = prefix + backtick(n)
		}
		return strings.Join(out, ", ")
	}
	k := idents("", spec.Keys)
	var order []string
	for _, s := range spec.Sequence {
		order = append(order, backtick(s)+" ASC")
	}
	order = append(order, "__del ASC")
	for _, a := range spec.Arrival {
		order = append(order, backtick(a)+" ASC NULLS FIRST")
	}
	seqRow := "struct(" + idents("", spec.Sequence) + ")"
	all := make([]string, len(cols))
	for i, c := range cols {
		all[i] = backtick(c.Name)
	}
	q := "WITH __ev AS (SELECT *, " + del + " AS __del FROM " + backtick(src) + ")"
	if trunc != "false" {
		// A truncate is a delete of every key seen, at its sequence.
		tcols := append(slices.Clone(spec.Sequence), spec.Arrival...)
		inTrunc := func(n string) bool {
			return slices.ContainsFunc(tcols, func(x string) bool { return strings.EqualFold(x, n) })
		}
		isKey := func(n string) bool {
			return slices.ContainsFunc(spec.Keys, func(x string) bool { return strings.EqualFold(x, n) })
		}
		var sel []string
		for _, c := range cols {
			switch {
			case isKey(c.Name):
				sel = append(sel, "__k."+backtick(c.Name))
			case inTrunc(c.Name):
				sel = append(sel, "t."+backtick(c.Name))
			default:
				st, err := e.SQLType(c.Type)
				if err != nil {
					st = "STRING"
				}
				sel = append(sel, "CAST(NULL AS "+st+") AS "+backtick(c.Name))
			}
		}
		q = fmt.Sprintf(`WITH __e AS (SELECT *, %s AS __del, %s AS __trn FROM %s),
__k AS (SELECT DISTINCT %s FROM __e WHERE NOT __trn),
__t AS (SELECT %s FROM __e WHERE __trn),
__ev AS (SELECT %s, __del FROM __e WHERE NOT __trn
  UNION ALL SELECT %s, true AS __del FROM __k CROSS JOIN __t AS t)`,
			del, trunc, backtick(src), k, idents("", tcols), strings.Join(all, ", "), strings.Join(sel, ", "))
	}
	q += fmt.Sprintf(`,
__o AS (SELECT *, row_number() OVER __w AS __ord, lead(%s) OVER __w AS __nseq FROM __ev WINDOW __w AS (PARTITION BY %s ORDER BY %s)),
__d AS (SELECT * FROM __o WHERE __nseq IS NULL OR __nseq <> %s)`, seqRow, k, strings.Join(order, ", "), seqRow)
	if spec.SCD == 1 {
		q += "\nSELECT " + idents("", spec.Columns) + " FROM __o WHERE __nseq IS NULL AND NOT __del"
	} else {
		pack := func(names []string) string {
			parts := make([]string, len(names))
			for i, n := range names {
				parts[i] = strLit(n) + ", " + backtick(n)
			}
			return "named_struct(" + strings.Join(parts, ", ") + ")"
		}
		row := pack(spec.Columns)
		trk := "0"
		if len(spec.Tracked) > 0 {
			trk = pack(spec.Tracked)
		}
		seq1 := backtick(spec.Sequence[0])
		q += fmt.Sprintf(`,
__p AS (SELECT *, %s AS __trk, lag(__del) OVER __w AS __pdel, lag(%s) OVER __w AS __ptrk FROM __d WINDOW __w AS (PARTITION BY %s ORDER BY __ord)),
__s AS (SELECT *, sum(CASE WHEN NOT __del AND (__pdel IS NULL OR __pdel OR NOT (__ptrk <=> __trk)) THEN 1 ELSE 0 END)
  OVER (PARTITION BY %s ORDER BY __ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __g FROM __p),
__v AS (SELECT %s, __g, min(%s) FILTER (WHERE NOT __del) AS __st, min(%s) FILTER (WHERE __del) AS __dl,
  max_by(%s, __ord) FILTER (WHERE NOT __del) AS __row FROM __s WHERE __g > 0 GROUP BY %s, __g),
__h AS (SELECT __row, __st, coalesce(__dl, lead(__st) OVER (PARTITION BY %s ORDER BY __g)) AS __en FROM __v)
SELECT __row.*, __st AS %s, __en AS %s FROM __h`,
			trk, trk, k, k, k, seq1, seq1, row, k, k, backtick(spec.StartAt), backtick(spec.EndAt))
	}
	out := e.newRel(q, rel.Name)
	if err := e.Cache(ctx, out.Name); err != nil {
		_ = e.Release(context.WithoutCancel(ctx), out)
		return engine.Relation{}, fmt.Errorf("spark: apply changes: %w", err)
	}
	return out, nil
}
