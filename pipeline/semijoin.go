package pipeline

import (
	"context"
	"strings"

	"github.com/medallionhq/medallion/engine"
)

// inRelation is a filter that keeps the rows of alias whose cols (quoted
// column names, the same in rel) equal those of a row of rel, NULL
// matching NULL: a semi-join of the filtered rows with rel.
//
// It is an uncorrelated IN subquery where it can be: an engine runs that as
// one hash semi-join, while the correlated EXISTS (… IS NOT DISTINCT FROM …)
// that NULL matching otherwise needs is decorrelated by DuckDB into a
// "delim join" that first collects the distinct values of every filtered
// row — for silver.order_status_history's touched keys over an SF10
// bronze.orders, 1M distinct order_ids to match 1,000 (0.6 s of CPU). A
// NULL in a single group column is matched by IS NULL; NULLs in a group of
// several columns keep the EXISTS form. The filter is never NULL (a row
// with a NULL column and no NULL group is not in rel), so NOT of it is the
// rows outside rel.
func (r *run) inRelation(ctx context.Context, rel engine.Relation, alias string, cols []string) (string, error) {
	hasNull, known := r.groupNulls[rel.Name]
	if !known {
		nulls := make([]string, len(cols))
		for i, c := range cols {
			nulls[i] = c + " IS NULL"
		}
		res, err := r.eng.Query(ctx, "SELECT count(*) FROM "+rel.Name+" WHERE "+strings.Join(nulls, " OR "))
		if err != nil {
			return "", err
		}
		hasNull = engine.Int64(res.Rows[0][0]) > 0
		r.noteGroupNulls(rel, hasNull)
	}
	qualified := make([]string, len(cols))
	for i, c := range cols {
		qualified[i] = alias + "." + c
	}
	switch {
	case len(cols) == 1 && hasNull:
		return "(" + qualified[0] + " IN (SELECT " + cols[0] + " FROM " + rel.Name + " WHERE " + cols[0] + " IS NOT NULL) OR " + qualified[0] + " IS NULL)", nil
	case len(cols) == 1:
		return "coalesce(" + qualified[0] + " IN (SELECT " + cols[0] + " FROM " + rel.Name + "), false)", nil
	case !hasNull:
		return "coalesce((" + strings.Join(qualified, ", ") + ") IN (SELECT " + strings.Join(cols, ", ") + " FROM " + rel.Name + "), false)", nil
	}
	conds := make([]string, len(cols))
	for i, c := range cols {
		conds[i] = "__gr." + c + " IS NOT DISTINCT FROM " + qualified[i]
	}
	return "EXISTS (SELECT 1 FROM " + rel.Name + " __gr WHERE " + strings.Join(conds, " AND ") + ")", nil
}

// noteGroupNulls records whether a relation of touched groups (which the
// run does not change once made) has a NULL in a group column, so that
// inRelation need not count them again.
func (r *run) noteGroupNulls(rel engine.Relation, hasNull bool) {
	if r.groupNulls == nil {
		r.groupNulls = map[string]bool{}
	}
	r.groupNulls[rel.Name] = hasNull
}
