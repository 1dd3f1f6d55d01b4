package pipeline

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Aggregate maintenance. An incremental_by model recomputes the groups its
// inputs' changes touch by running its SQL over the whole input, filtered to
// those groups: gold.top_products reads every row of silver.orders_items to
// update the ~1,400 products a 1,000-order increment sells (0.6 s of CPU at
// SF10). When the model is one SELECT … GROUP BY whose other outputs are
// count, sum, min and max, and its one changed input only gained rows (pure
// appends, read once in the query and not on the nullable side of an outer
// join), the model over the old and new rows is the model over the old rows
// combined group by group with the model over the new rows: counts and sums
// add, min and max take the lesser and greater. The touched groups' new rows
// are then their current rows in the model's own table full-outer-joined
// with the aggregate of the changed rows alone; they are written as the
// recomputed ones are (replaceGroups), with the same rules and commit.

// aggKind says how an output column of an aggregate model combines.
type aggKind int

const (
	aggGroup aggKind = iota // a GROUP BY column: the join key
	aggCount                // count(*) or count(x): old + new
	aggSum                  // sum(x): old + new, NULL only when both are
	aggMin                  // min(x): the lesser, ignoring NULL
	aggMax                  // max(x): the greater, ignoring NULL
)

// aggColumn is one output column of an aggregate model.
type aggColumn struct {
	name string
	kind aggKind
}

var (
	// The SQL forms aggregate maintenance leaves to the recompute:
	// subqueries and CTEs, set operations, clauses over the groups or the
	// result, windows, DISTINCT, outer joins that keep the other side,
	// and grouping sets.
	aggRefuseRE = regexp.MustCompile(`(?i)\(\s*SELECT\b|^\s*WITH\b|\b(UNION|EXCEPT|INTERSECT|HAVING|QUALIFY|LIMIT|OFFSET|ORDER|WINDOW|OVER|DISTINCT|RIGHT|FULL|NATURAL|LATERAL|ASOF|POSITIONAL|PIVOT|UNPIVOT|SEMI|ANTI|GROUPING|ROLLUP|CUBE|ALL|TABLESAMPLE|SAMPLE|RECURSIVE)\b`)
	aggFuncRE   = regexp.MustCompile(`(?i)^(count|sum|min|max)\s*\(`)
	aggFilterRE = regexp.MustCompile(`(?i)^\s*FILTER\s*\(\s*WHERE\b`)
	aggAliasRE  = regexp.MustCompile(`(?i)^\s*(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)$`)
	aggColRE    = regexp.MustCompile(`(?is)^(?:([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*)?([A-Za-z_][A-Za-z0-9_]*)(?:\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*))?$`)
	groupByRE   = regexp.MustCompile(`(?is)^GROUP\s+BY\s+(.*)$`)
	leftJoinEnd = regexp.MustCompile(`(?i)\bLEFT\s+(?:OUTER\s+)?JOIN\s*$`)
	aggWords    = map[string]bool{"NULL": true, "TRUE": true, "FALSE": true, "AS": true, "FROM": true, "SELECT": true}
)

// aggShape reports the output columns of sql when it is an aggregate that
// can be maintained from the rows appended to table (see above): one SELECT
// over a FROM clause that reads table once, not right of a LEFT JOIN;
// GROUP BY plain columns, each one output column and each non-aggregate
// output one of them; the other outputs count, sum, min or max of an
// expression, named; every incremental_by column among the group columns.
// Otherwise it says why not (for the run's log).
func aggShape(sql, table string, incrementalBy []string) ([]aggColumn, string) {
	masked := strings.TrimRight(maskSQL(sql), " \t\r\n;")
	if m := aggRefuseRE.FindString(masked); m != "" {
		return nil, "its SQL has " + strings.ToUpper(strings.TrimSpace(strings.TrimLeft(m, "(")))
	}
	from, selStart := topLevelFrom(masked)
	if from < 0 {
		return nil, "it is not one SELECT … FROM"
	}
	g := topLevelWord(masked, from, "GROUP")
	if g < 0 {
		return nil, "it has no GROUP BY"
	}
	gm := groupByRE.FindStringSubmatch(masked[g:])
	if gm == nil {
		return nil, "it has no GROUP BY"
	}
	// The changed table: read once, at the top level, and not as the
	// optional side of a LEFT JOIN (where a new row would turn an
	// unmatched row of the other side into matched ones).
	var at []int
	for _, loc := range tableRefRE.FindAllStringSubmatchIndex(masked, -1) {
		if strings.EqualFold(masked[loc[2]:loc[3]]+"."+masked[loc[4]:loc[5]], table) {
			at = append(at, loc[0])
		}
	}
	switch {
	case len(at) != 1:
		return nil, fmt.Sprintf("it reads %s %d times", table, len(at))
	case at[0] < from || at[0] > g:
		return nil, table + " is not in its FROM clause"
	case strings.Count(masked[:at[0]], "(") != strings.Count(masked[:at[0]], ")"):
		return nil, table + " is inside parentheses"
	case leftJoinEnd.MatchString(masked[:at[0]]):
		return nil, table + " is the optional side of a LEFT JOIN"
	}
	type groupItem struct{ qual, col, name string }
	var cols []aggColumn
	var groups []groupItem
	for _, it := range splitTopLevel(masked[selStart:from], ',') {
		it = strings.TrimSpace(it)
		if c, arg, ok := aggItem(it); ok {
			if arg == "" || c.kind != aggCount && arg == "*" {
				return nil, "it has " + it
			}
			cols = append(cols, c)
			continue
		}
		m := aggColRE.FindStringSubmatch(it)
		if m == nil || aggWords[strings.ToUpper(m[2])] {
			return nil, fmt.Sprintf("%q is neither a plain column nor a named count, sum, min or max", strings.Join(strings.Fields(it), " "))
		}
		name := m[2]
		if m[3] != "" {
			name = m[3]
		}
		groups = append(groups, groupItem{qual: strings.ToLower(m[1]), col: strings.ToLower(m[2]), name: name})
		cols = append(cols, aggColumn{name: name, kind: aggGroup})
	}
	// GROUP BY: plain columns, one for each group output and no other.
	used := make([]bool, len(groups))
	for _, it := range splitTopLevel(gm[1], ',') {
		m := aggColRE.FindStringSubmatch(strings.TrimSpace(it))
		if m == nil || m[3] != "" {
			return nil, fmt.Sprintf("GROUP BY %q is not a plain column", strings.Join(strings.Fields(it), " "))
		}
		qual, col := strings.ToLower(m[1]), strings.ToLower(m[2])
		found := -1
		for i, gi := range groups {
			same := gi.col == col && (gi.qual == qual || gi.qual == "" || qual == "") || qual == "" && strings.EqualFold(gi.name, col)
			if same {
				if found >= 0 {
					return nil, fmt.Sprintf("GROUP BY %s matches several outputs", col)
				}
				found = i
			}
		}
		if found < 0 || used[found] {
			return nil, fmt.Sprintf("GROUP BY %s is not one output column", col)
		}
		used[found] = true
	}
	for i, u := range used {
		if !u {
			return nil, fmt.Sprintf("output %s is not a GROUP BY column", groups[i].name)
		}
	}
	for i, c := range cols {
		for _, d := range cols[:i] {
			if strings.EqualFold(c.name, d.name) {
				return nil, "two outputs are named " + c.name
			}
		}
	}
	for _, k := range incrementalBy {
		if !slices.ContainsFunc(groups, func(gi groupItem) bool { return strings.EqualFold(gi.name, k) }) {
			return nil, "incremental_by column " + k + " is not a GROUP BY output"
		}
	}
	return cols, ""
}

// aggItem parses a select item "f(arg) [FILTER (WHERE cond)] [AS] name",
// f one of count, sum, min and max, returning its column and arg; ok is
// false for any other item (in "sum(a) / count(*) AS x" the parenthesis
// after sum does not close before the alias).
func aggItem(item string) (c aggColumn, arg string, ok bool) {
	m := aggFuncRE.FindStringSubmatchIndex(item)
	if m == nil {
		return c, "", false
	}
	end := closeParen(item, m[1]-1)
	if end < 0 {
		return c, "", false
	}
	arg, rest := strings.TrimSpace(item[m[1]:end]), item[end+1:]
	if aggFilterRE.MatchString(rest) {
		// An aggregate of the rows the condition keeps: it combines as
		// the aggregate does.
		e := closeParen(rest, strings.Index(rest, "("))
		if e < 0 {
			return c, "", false
		}
		rest = rest[e+1:]
	}
	a := aggAliasRE.FindStringSubmatch(rest)
	if a == nil || aggWords[strings.ToUpper(a[1])] {
		return c, "", false
	}
	kind := map[string]aggKind{"count": aggCount, "sum": aggSum, "min": aggMin, "max": aggMax}[strings.ToLower(item[m[2]:m[3]])]
	return aggColumn{name: a[1], kind: kind}, arg, true
}

// closeParen is the index of the parenthesis that closes the one at open
// in (masked) s, or -1.
func closeParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// changesName is the name the changed rows of table between versions from
// and to are bound under for a run (changedGroups).
func changesName(table string, from, to int64) string {
	return fmt.Sprintf("__chg_%s_%d_%d", strings.ReplaceAll(table, ".", "_"), from, to)
}

// aggGroups is what aggregate maintenance made of the touched groups: the
// rows of those it changed (rows, every row of each incremental_by group
// in which one changed), as groups for replaceGroups, and how many rows of
// those groups the table holds (held).
type aggGroups struct {
	rows engine.Relation
	n    int64 // rows in rows
	held int64
}

// aggregateGroups computes the new rows of the groups the changes touch
// (the relation groups, from changedGroups) by aggregate maintenance when
// the model and its changes allow it (see aggShape), and reports false —
// logging why — when they must be recomputed from the inputs.
//
// A group whose combined row equals its current one is left out (a
// person's first month when the new rows are later ones), with the other
// rows of its incremental_by group unless one of them changed: when none
// changed, nothing is written. replaceGroups is told how many rows of the
// groups left the table holds: none (a new day, a new person), it need not
// look for them.
func (r *run) aggregateGroups(ctx context.Context, m *Model, own *delta.Snapshot, changed []string, versions map[string]int64, groups engine.Relation) (aggGroups, bool, error) {
	var none aggGroups
	fallBack := func(why string, args ...any) (aggGroups, bool, error) {
		r.logf("%s: recomputing the touched groups from the inputs: %s", m.Name, fmt.Sprintf(why, args...))
		return none, false, nil
	}
	if len(changed) != 1 {
		return fallBack("%d inputs changed (%s)", len(changed), strings.Join(changed, ", "))
	}
	in := changed[0]
	if !slices.Contains(m.Deps, in) {
		return fallBack("it reads %s through a view", in)
	}
	for _, d := range m.Deps {
		if dm := r.proj.Model(d); dm != nil && dm.Materialized == View && r.reads(dm, in) {
			return fallBack("it reads %s through view %s", in, d)
		}
	}
	cols, why := aggShape(m.SQL, in, m.IncrementalBy)
	if cols == nil {
		return fallBack("%s", why)
	}
	// Rows the model's table lacks (dropped, quarantined, deduplicated
	// away, or set aside for a NULL key) would be missing from the
	// combination.
	for _, e := range m.Expectations {
		if e.Action == Drop || e.Action == Quarantine {
			return fallBack("expectation %s may have left rows out of the table", e.Name)
		}
	}
	if m.BackfillDate != "" {
		// A backfill rewrites a range from the inputs as they are and
		// records no input version: rows read after the versions the model
		// recorded may already be in its table.
		return fallBack("a backfill may have read rows of %s past the version it recorded", in)
	}
	if len(m.Keys) > 0 {
		return fallBack("its keys may have set rows aside (a NULL key, a duplicate)")
	}
	last, ok := own.TxnVersion(modelTxn(m.Name, in))
	if !ok {
		return fallBack("it has not recorded the version of %s it read", in)
	}
	name := changesName(in, last, versions[in])
	if !r.bound[name] {
		return fallBack("the changed rows of %s are not at hand", in)
	}
	// Only appends: no row of the table at the model's last run is gone
	// or changed (a removed file, or a file re-added by a compaction).
	tbl, err := r.lake.Table(ctx, in)
	if err != nil {
		return none, false, err
	}
	added, removed, err := tbl.Changes(ctx, last, versions[in])
	if errors.Is(err, delta.ErrVersionNotFound) {
		return fallBack("the log of %s since version %d is gone", in, last)
	}
	if err != nil {
		return none, false, err
	}
	if len(removed) > 0 || slices.ContainsFunc(added, func(a *delta.Add) bool { return !a.DataChange }) {
		// Files were rewritten; its change data feed may still say that
		// rows were only added (a month recomputed with new rows beside
		// those it held).
		inserts, err := r.feedInsertsOnly(ctx, name)
		if err != nil {
			return none, false, err
		}
		if !inserts {
			return fallBack("%s changed rows since version %d, not only appended them", in, last)
		}
		r.logf("%s: %s rewrote files since version %d, and its change data feed has only inserts: maintaining the aggregate", m.Name, in, last)
	}
	fresh, err := r.table(ctx, replaceTableRef(m.SQL, in, name))
	if err != nil {
		if ctx.Err() != nil {
			return none, false, err
		}
		return fallBack("the aggregate of the changed rows failed (%v)", err)
	}
	schema, err := r.relationSchema(ctx, fresh)
	if err != nil {
		return none, false, err
	}
	old := "SELECT *, true AS __old FROM " + fresh.Name + " WHERE false"
	if len(own.Files()) > 0 {
		rel, err := r.keep(r.eng.BindRelation(ctx, own, own.Files()))
		if err != nil {
			return none, false, err
		}
		// The rows replaceGroups replaces: those of the touched groups.
		keys := make([]string, len(m.IncrementalBy))
		for i, k := range m.IncrementalBy {
			keys[i] = r.eng.Quote(k)
		}
		inGroups, err := r.inRelation(ctx, groups, "__m", keys)
		if err != nil {
			return none, false, err
		}
		old = "SELECT *, true AS __old FROM " + rel.Name + " AS __m WHERE " + inGroups
	}
	q, ok := r.combineSQL(cols, schema, old, fresh.Name)
	if !ok {
		return fallBack("a column's type has no SQL name")
	}
	// Whole incremental_by groups: one changed row rewrites its group.
	part := make([]string, len(m.IncrementalBy))
	for i, k := range m.IncrementalBy {
		part[i] = r.eng.Quote(k)
	}
	combined, err := r.table(ctx, "SELECT *, max(CASE WHEN __same THEN 0 ELSE 1 END) OVER (PARTITION BY "+strings.Join(part, ", ")+") AS __changed FROM ("+q+") AS __c")
	if err != nil {
		if ctx.Err() != nil {
			return none, false, err
		}
		return fallBack("combining the groups failed (%v)", err)
	}
	res, err := r.eng.Query(ctx, "SELECT count(*), count(*) FILTER (WHERE __changed = 1), count(*) FILTER (WHERE __changed = 1 AND __old) FROM "+combined.Name)
	if err != nil {
		return none, false, err
	}
	kept, rows, olds := engine.Int64(res.Rows[0][0]), engine.Int64(res.Rows[0][1]), engine.Int64(res.Rows[0][2])
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = r.eng.Quote(c.name)
	}
	result, err := r.table(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+combined.Name+" WHERE __changed = 1")
	if err != nil {
		return none, false, err
	}
	r.logf("%s: %d groups kept from the changed rows of %s (%d rows to write, %d of them replacing rows)", m.Name, kept, in, rows, olds)
	return aggGroups{rows: result, n: rows, held: olds}, true, nil
}

// combineSQL is the query that combines the touched groups' current rows
// (the query old) with the aggregate of the changed rows (relation fresh,
// of the given schema): a full outer join on the group columns, NULL-safe,
// each aggregate combined by its kind and cast to the type the model's SQL
// gives it, followed by __old (the group has a current row: old marks its
// rows with a column __old, true) and __same (… equal to the combined
// one). ok is false when a type has no SQL name in the engine.
func (r *run) combineSQL(cols []aggColumn, schema *delta.StructType, old, fresh string) (string, bool) {
	var sel, on []string
	same := []string{"coalesce(__o.__old, false)"}
	for _, c := range cols {
		q := r.eng.Quote(c.name)
		o, d := "__o."+q, "__d."+q
		var expr string
		switch c.kind {
		case aggGroup:
			expr = "COALESCE(" + o + ", " + d + ")"
			on = append(on, o+" IS NOT DISTINCT FROM "+d)
		case aggCount:
			expr = "COALESCE(" + o + ", 0) + COALESCE(" + d + ", 0)"
		case aggSum:
			expr = "CASE WHEN " + o + " IS NULL THEN " + d + " WHEN " + d + " IS NULL THEN " + o + " ELSE " + o + " + " + d + " END"
		case aggMin:
			expr = "CASE WHEN " + o + " IS NULL THEN " + d + " WHEN " + d + " IS NULL OR " + o + " <= " + d + " THEN " + o + " ELSE " + d + " END"
		case aggMax:
			expr = "CASE WHEN " + o + " IS NULL THEN " + d + " WHEN " + d + " IS NULL OR " + o + " >= " + d + " THEN " + o + " ELSE " + d + " END"
		}
		i := slices.IndexFunc(schema.Fields, func(f delta.StructField) bool { return strings.EqualFold(f.Name, c.name) })
		if i < 0 {
			return "", false
		}
		typ, err := r.eng.SQLType(schema.Fields[i].Type)
		if err != nil {
			return "", false
		}
		sel = append(sel, "CAST("+expr+" AS "+typ+") AS "+q)
		if c.kind != aggGroup {
			same = append(same, "CAST("+expr+" AS "+typ+") IS NOT DISTINCT FROM "+o)
		}
	}
	sel = append(sel, "coalesce(__o.__old, false) AS __old", strings.Join(same, " AND ")+" AS __same")
	return "SELECT " + strings.Join(sel, ", ") + " FROM (" + old + ") AS __o FULL OUTER JOIN " + fresh + " AS __d ON " + strings.Join(on, " AND "), true
}
