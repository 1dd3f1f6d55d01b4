package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// maxInlineGroups bounds how many touched groups are written into the
// recompute query as literals (which the engine pushes down to the scans);
// more are matched through a join. Where the filter cannot reach a scan
// (the group column is computed) an IN list is tested value by value on
// every row: 1,000 order_ids over silver.order_status_history's 400k rows
// cost DuckDB 1.1 s of CPU against 0.1 s for the join.
const maxInlineGroups = 64

// changedGroups finds the incremental_by groups that the rows changed since
// the model's last run touch: for each changed input it evaluates the
// model's SQL with that input (and the views over it) reduced to its changed
// rows — added and removed files — and collects the group values. It returns
// them as a relation and the filter that restricts the model to them.
// ok is false when the changes cannot be read (the log was cleaned up), and
// the model must be recomputed whole.
func (r *run) changedGroups(ctx context.Context, m *Model, own *delta.Snapshot, changed []string, versions map[string]int64, snaps map[string]*delta.Snapshot) (engine.Relation, string, bool, error) {
	var none engine.Relation
	cols := make([]string, len(m.IncrementalBy))
	for i, c := range m.IncrementalBy {
		cols[i] = r.eng.Quote(c)
	}
	for _, in := range changed {
		if !r.isStream(in) {
			// A replaced dimension (customers, translations) can move rows
			// between groups without being among their rows (an outer join
			// that found nothing before finds something now): recompute
			// whole.
			r.logf("%s: %s was replaced, not appended to; recomputing in full", m.Name, in)
			return none, "", false, nil
		}
	}
	var parts []string
	names := map[string]string{}     // each changed input's changes relation
	ownCols := map[string][]string{} // … and its groups' select list, when read from them alone
	for _, in := range changed {
		last, ok := own.TxnVersion(modelTxn(m.Name, in))
		if !ok {
			return none, "", false, nil
		}
		tbl, err := r.lake.Table(ctx, in)
		if err != nil {
			return none, "", false, err
		}
		// The same changes (table, from, to) serve every model of the run:
		// bind them, and the views over them, once. The table's change data
		// feed has exactly the changed rows (feed.go); without it, the
		// changed rows are among those of the added and removed files.
		name := changesName(in, last, versions[in])
		if !r.bound[name] {
			fed, err := r.bindFeed(ctx, m.Name, in, name, tbl, last, versions[in], snaps[in], false)
			if err != nil {
				return none, "", false, err
			}
			if !fed {
				added, removed, err := tbl.Changes(ctx, last, versions[in])
				if errors.Is(err, delta.ErrVersionNotFound) {
					r.logf("%s: changes of %s since version %d are gone; recomputing in full", m.Name, in, last)
					return none, "", false, nil
				}
				if err != nil {
					return none, "", false, err
				}
				files := append([]*delta.Add{}, added...)
				for _, rm := range removed {
					// Old versions of changed rows: their groups change too.
					files = append(files, &delta.Add{Path: rm.Path, PartitionValues: rm.PartitionValues, Stats: rm.Stats, DeletionVector: rm.DeletionVector})
				}
				if err := r.eng.Bind(ctx, name, snaps[in], files); err != nil {
					return none, "", false, err
				}
			}
			r.bound[name] = true
		}
		names[in] = name
		if cols, ok := r.ownGroups(m, in, name); ok {
			ownCols[in] = cols
			parts = append(parts, "SELECT DISTINCT "+strings.Join(cols, ", ")+" FROM "+name)
		}
	}
	for _, in := range changed {
		name := names[in]
		if ownCols[in] != nil {
			continue
		}
		if havingRE.MatchString(maskSQL(m.SQL)) {
			// The model over the changed rows alone would test HAVING on
			// them alone, and miss a group they complete (a person's
			// second order).
			r.logf("%s: cannot find the groups changes of %s touch through its HAVING; recomputing in full", m.Name, in)
			return none, "", false, nil
		}
		name, empty, err := r.beyondOwnGroups(ctx, m, in, name, changed, names, ownCols)
		if err != nil {
			return none, "", false, err
		}
		if empty {
			continue
		}
		q, err := r.rewriteChanges(ctx, m.SQL, in, name, true)
		if errors.Is(err, errOuterJoin) {
			r.logf("%s: cannot find the groups changes of %s touch through its outer join; recomputing in full", m.Name, in)
			return none, "", false, nil
		}
		if err != nil {
			return none, "", false, err
		}
		if pruned, names := pruneLeftJoinsForGroups(q, m.IncrementalBy); len(names) > 0 {
			r.logf("%s: finding the groups changes of %s touch without its LEFT JOINs %s (groupjoins.go)", m.Name, in, strings.Join(names, ", "))
			q = pruned
		}
		parts = append(parts, "SELECT DISTINCT "+strings.Join(cols, ", ")+" FROM ("+q+") AS __g")
	}
	if len(parts) == 0 {
		return none, "", false, nil
	}
	groups, res, err := r.touchedGroups(ctx, strings.Join(parts, " UNION "), len(ownCols) == len(parts))
	if err != nil && strings.Contains(strings.Join(parts, ""), "__keep") {
		// The outer join's rewrite did not bind (an unqualified column
		// of the changed table in its ON condition is now ambiguous).
		r.logf("%s: cannot find the groups touched through its outer join (%v); recomputing in full", m.Name, err)
		return none, "", false, nil
	}
	if err != nil {
		return none, "", false, fmt.Errorf("touched groups: %w", err)
	}
	if len(res.Rows) > maxInlineGroups {
		// Only so many are read: the rest stay in the engine.
		r.logf("%s: more than %d groups touched by changes", m.Name, maxInlineGroups)
	} else {
		r.logf("%s: %d groups touched by changes", m.Name, len(res.Rows))
	}
	if len(res.Rows) == 0 {
		return groups, noGroups, true, nil
	}
	if len(res.Rows) <= maxInlineGroups {
		// Every group is at hand: whether one has a NULL is known.
		r.noteGroupNulls(groups, slices.ContainsFunc(res.Rows, func(row []any) bool { return slices.Contains(row, nil) }))
		if f, ok := inlineFilter(r.eng, "__m", cols, res); ok {
			if r.inlineGroups == nil {
				r.inlineGroups = map[string]*engine.Result{}
			}
			r.inlineGroups[groups.Name] = res
			return groups, f, true, nil
		}
	}
	f, err := r.inRelation(ctx, groups, "__m", cols)
	if err != nil {
		return none, "", false, err
	}
	return groups, f, true, nil
}

// touchedGroups computes the touched groups' query into a relation and
// reads up to maxInlineGroups+1 of its rows. With own (every part of the
// query reads a changes relation alone: ownGroups), the query's result is
// fixed for the run, and the models that ask for the same one (the daily
// gold tables over silver.orders_items' changes, by date) share the
// relation: it is computed once a run and outlives the step.
func (r *run) touchedGroups(ctx context.Context, sql string, own bool) (engine.Relation, *engine.Result, error) {
	if t, ok := r.groupsOnce[sql]; ok && own {
		return t.rel, t.res, nil
	}
	var rel engine.Relation
	var err error
	if own {
		rel, err = r.eng.Materialize(ctx, sql)
	} else {
		rel, err = r.table(ctx, sql)
	}
	if err != nil {
		return rel, nil, err
	}
	res, err := r.eng.Query(ctx, "SELECT * FROM "+rel.Name+" LIMIT "+fmt.Sprint(maxInlineGroups+1))
	if err != nil {
		if own {
			r.eng.Release(context.WithoutCancel(ctx), rel)
		}
		return engine.Relation{}, nil, err
	}
	if own {
		if r.groupsOnce == nil {
			r.groupsOnce = map[string]sharedGroups{}
		}
		r.groupsOnce[sql] = sharedGroups{rel, res}
	}
	return rel, res, nil
}

// sharedGroups is a touched groups' relation computed once a run and the
// first rows read from it (touchedGroups).
type sharedGroups struct {
	rel engine.Relation
	res *engine.Result
}

// ownGroups returns the select list that reads the groups the changes of
// in (bound as name) touch straight from the changed rows, when m takes
// every group column unchanged from in, read once and first in its FROM
// clause (changedTableGroups), and reads no view over in. Running the
// model over the changed rows would join them with whole tables (a
// month's orders with every customer: at SF10 ~0.1 s per model) only to
// find the same groups or fewer.
func (r *run) ownGroups(m *Model, in, name string) ([]string, bool) {
	for _, d := range tableRefs(m.SQL) {
		if dm := r.proj.Model(d); dm != nil && dm.Materialized == View && r.reads(dm, in) {
			return nil, false
		}
	}
	cols, ok := changedTableGroups(replaceTableRef(m.SQL, in, name), name, m.IncrementalBy)
	if !ok {
		return nil, false
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = r.eng.Quote(c) + " AS " + r.eng.Quote(m.IncrementalBy[i])
	}
	r.logf("%s: the groups changes of %s touch read from the changed rows alone (groups.go)", m.Name, in)
	return sel, true
}

// beyondOwnGroups returns the changed rows of in (bound as name) that can
// touch a group the changes of the model's first table do not already
// name. When that table (first) changed too and its groups were read from
// its changed rows alone (ownGroups: every group column comes unchanged
// from it), it has one row per key (uniqueKeysOf), and in is joined to it
// on the whole key, a changed row of in whose key is among first's
// changed rows can only be joined with a changed row of first — the one
// row of that key now — whose group is already touched. Finding groups
// for such rows joined them with every row of first to learn that
// (silver.orders_items: the 1,500 items of 1,000 new orders against all
// orders, 74 ms at SF10); only the others are looked up, and none when
// there are none (empty: every changed item is of a changed order).
// Otherwise it returns name.
func (r *run) beyondOwnGroups(ctx context.Context, m *Model, in, name string, changed []string, names map[string]string, ownCols map[string][]string) (beyondName string, empty bool, err error) {
	first, alias, _, ok := firstFromTable(m.SQL)
	if !ok || ownCols[first] == nil || !slices.Contains(changed, first) {
		return name, false, nil
	}
	keys := r.uniqueKeysOf(first)
	if len(keys) == 0 {
		return name, false, nil
	}
	cols, ok := joinedOnKeys(m.SQL, alias, in, keys)
	if !ok {
		return name, false, nil
	}
	conds := make([]string, len(keys))
	for i, k := range keys {
		conds[i] = "__b." + r.eng.Quote(k) + " = __a." + r.eng.Quote(cols[i])
	}
	q := "SELECT * FROM " + name + " __a WHERE NOT EXISTS (SELECT 1 FROM " + names[first] + " __b WHERE " + strings.Join(conds, " AND ") + ")"
	// Another model may join the same changes to another table or on
	// other columns: the name is the query's.
	beyond := fmt.Sprintf("%s_beyond_%08x", name, crc32.ChecksumIEEE([]byte(q)))
	if !r.bound[beyond] {
		if err := r.eng.BindQuery(ctx, beyond, q, false); err != nil {
			return "", false, fmt.Errorf("changes of %s: %w", in, err)
		}
		r.bound[beyond] = true
	}
	res, err := r.eng.Query(ctx, "SELECT count(*) FROM (SELECT 1 FROM "+beyond+" LIMIT 1) AS __any")
	if err != nil {
		return "", false, fmt.Errorf("changes of %s: %w", in, err)
	}
	if engine.Int64(res.Rows[0][0]) == 0 {
		r.logf("%s: every changed row of %s has its %s among the changed rows of %s: no group to look up for them", m.Name, in, strings.Join(cols, ", "), first)
		return beyond, true, nil
	}
	r.logf("%s: finding the groups changes of %s touch for its rows whose %s is not among the changed rows of %s", m.Name, in, strings.Join(cols, ", "), first)
	return beyond, false, nil
}

// firstFromTable returns the lake table read first in sql's top-level FROM
// clause, its alias (its name when it has none) and whether it has one.
func firstFromTable(sql string) (table, alias string, aliased, ok bool) {
	masked := maskSQL(sql)
	from, _ := topLevelFrom(masked)
	if from < 0 {
		return "", "", false, false
	}
	t := firstFromTableRE.FindStringSubmatch(masked[from+len("FROM"):])
	if t == nil {
		return "", "", false, false
	}
	alias = t[2]
	if a := firstFromAliasRE.FindStringSubmatch(masked[from+len("FROM"):]); a != nil && !onStop[strings.ToUpper(a[1])] && !strings.EqualFold(a[1], "ON") {
		alias, aliased = a[1], true
	}
	return strings.ToLower(t[1]) + "." + t[2], alias, aliased, true
}

// firstFromAliasRE reads the alias of a lake table named first after FROM.
var firstFromAliasRE = regexp.MustCompile(`(?i)^\s+(?:bronze|silver|gold)\s*\.\s*[A-Za-z_][A-Za-z0-9_]*\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)`)

// uniqueKeysOf returns the columns a lake table has one row per value of:
// an upsert source's keys, or the keys of a model that merges or
// deduplicates by them (not an SCD 2 history, a window, a view or a model
// recomputed by groups); nil when there are none.
func (r *run) uniqueKeysOf(table string) []string {
	for _, s := range r.proj.Sources {
		if s.Table == table {
			if s.Mode == ModeUpsert {
				return s.Keys
			}
			return nil
		}
	}
	m := r.proj.Model(table)
	if m == nil || m.Materialized == View || m.Window != nil || len(m.IncrementalBy) > 0 || m.CDC != nil && m.CDC.SCD == 2 {
		return nil
	}
	return m.Keys
}

// groupFilteredSQL returns m's SQL with its first table read only for the
// touched groups (groups; filter is the filter changedGroups made), when m
// takes every group column unchanged, under the same name, from that table
// (changedTableGroups). A group's rows come only from that table's rows of
// the group, so nothing else changes; but the engine sees the filter
// before the model's joins and aggregation instead of after them:
//
//   - with too many groups to be inline literals, a semi-join on the
//     table: DuckDB does not push a semi-join filter below a GROUP BY,
//     and aggregated every row of silver.orders_items to keep the 1,400
//     products an SF1 increment touches;
//   - with a join in the model, the table's rows of the groups computed
//     first (through the inline literals, which the engine pushes to the
//     table's scan, or through the semi-join, in the partitions the groups
//     fall in, named as literals: touchedPartitions), and the joins sized
//     by them (reduceJoins): the planner then knows how few they are.
//     From the pushed-down filter alone DuckDB estimated a month of
//     silver.orders as large as the table and built its hash join on every
//     row of silver.order_items (1.1M at SF10: silver.orders_items'
//     statement took 0.60 s, 0.28 s with the month's 1,000 orders
//     computed first).
//
// ok is false when it does not apply.
func (r *run) groupFilteredSQL(ctx context.Context, m *Model, groups engine.Relation, filter string, snaps map[string]*delta.Snapshot) (string, bool, error) {
	inline, isInline := r.inlineGroups[groups.Name]
	if !isInline && !strings.Contains(filter, groups.Name) {
		return "", false, nil
	}
	table, firstAlias, aliased, ok := firstFromTable(m.SQL)
	if !ok {
		return "", false, nil
	}
	const mark = "__group_source"
	marked := replaceTableRef(m.SQL, table, mark)
	cols, ok := changedTableGroups(marked, mark, m.IncrementalBy)
	if !ok || !slices.EqualFunc(cols, m.IncrementalBy, strings.EqualFold) {
		return "", false, nil
	}
	alias := ""
	if !aliased {
		// No alias: the subquery takes the table's name, which the
		// model may use to qualify columns, not its layer.name.
		if regexp.MustCompile(regexp.QuoteMeta(mark) + `\s*\.`).MatchString(marked) {
			return "", false, nil
		}
		alias = " AS " + firstAlias
	}
	from, _ := topLevelFrom(maskSQL(marked))
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = r.eng.Quote(c)
	}
	var sub string
	var rows engine.Relation // the first table's touched rows, when computed first
	if isInline {
		if !anyJoinRE.MatchString(maskSQL(m.SQL)) {
			// Nothing to size: computing the rows first would only copy
			// every column of them (each of the four daily gold tables
			// over silver.orders_items: 13 ms at SF1 against 8).
			return "", false, nil
		}
		in, ok := inlineFilter(r.eng, "__gs", quoted, inline)
		if !ok {
			return "", false, nil
		}
		var err error
		rows, err = r.table(ctx, "SELECT * FROM "+qualifiedIdent(r.eng, table)+" __gs WHERE "+in)
		if err != nil {
			return "", false, err
		}
		r.logf("%s: computing %s's rows of the %d touched groups first", m.Name, table, len(inline.Rows))
		sub = rows.Name + alias
	} else {
		in, err := r.inRelation(ctx, groups, "__gs", quoted)
		if err != nil {
			return "", false, err
		}
		if !anyJoinRE.MatchString(maskSQL(m.SQL)) {
			r.logf("%s: reading %s for the touched groups only", m.Name, table)
			sub = "(SELECT * FROM " + qualifiedIdent(r.eng, table) + " __gs WHERE " + in + ")" + alias
		} else {
			// Rows first (see above): a month's new orders by order id,
			// not the whole month (silver.orders_items at SF10, 1,000
			// orders in the newest month: 318 → 170 ms).
			parts, err := r.touchedPartitions(ctx, table, snaps[table], groups, quoted)
			if err != nil {
				return "", false, err
			}
			if parts != "" {
				in = parts + " AND " + in
			}
			if rows, err = r.table(ctx, "SELECT * FROM "+qualifiedIdent(r.eng, table)+" __gs WHERE "+in); err != nil {
				return "", false, err
			}
			r.logf("%s: computing %s's rows of the touched groups first", m.Name, table)
			sub = rows.Name + alias
		}
	}
	// At the FROM clause's table: a comment may name the table too.
	at := from + strings.Index(maskSQL(marked)[from:], mark)
	out := strings.ReplaceAll(marked[:at], mark, table) + sub + strings.ReplaceAll(marked[at+len(mark):], mark, table)
	if rows.Name != "" {
		var err error
		if out, err = r.reduceJoins(ctx, m, out, firstAlias, rows); err != nil {
			return "", false, err
		}
	}
	return out, true, nil
}

// touchedPartitions is a filter (alias __gs) naming, as literals, the
// partitions of table (at snap) the touched groups fall in, when every
// partition column is a group column (cols: the groups' columns, quoted,
// as the table names them) and they are at most maxPartitionTuples; else
// "".
func (r *run) touchedPartitions(ctx context.Context, table string, snap *delta.Snapshot, groups engine.Relation, cols []string) (string, error) {
	if snap == nil || len(snap.PartitionColumns()) == 0 {
		return "", nil
	}
	var pcols []string
	for _, p := range snap.PartitionColumns() {
		i := slices.IndexFunc(cols, func(c string) bool { return strings.EqualFold(c, r.eng.Quote(p)) })
		if i < 0 {
			return "", nil
		}
		pcols = append(pcols, cols[i])
	}
	res, err := r.eng.Query(ctx, "SELECT DISTINCT "+strings.Join(pcols, ", ")+" FROM "+groups.Name+" LIMIT "+strconv.Itoa(maxPartitionTuples+1))
	if err != nil {
		return "", fmt.Errorf("partitions of %s: %w", table, err)
	}
	if len(res.Rows) > maxPartitionTuples {
		return "", nil
	}
	f, ok := inlineFilter(r.eng, "__gs", pcols, res)
	if !ok {
		return "", nil
	}
	return f, nil
}

// maxPartitionTuples bounds how many partitions partitionGroupsSQL
// evaluates a model's group expressions over, and how many it names in the
// filter it writes.
const maxPartitionTuples = 4096

// partitionGroupsSQL returns m's SQL with its first table read only in the
// partitions whose rows can fall in the touched groups (few enough to be
// literals), when every group column is computed from that table's
// partition columns alone — gold.order_status_durations' purchase_month is
// make_date(order_year, order_month, 1) over silver.orders. The filter on
// the computed column applies after the model's aggregation, and DuckDB
// read every partition of silver.orders to keep one month (96 ms at SF10;
// 3 ms for the month's partition). A group's rows come from its own input
// rows (what incremental_by asserts), and a row's group is then a function
// of its partition: the partitions that can hold rows of the touched
// groups are those whose values the group expressions map into them. The
// partitions are the snapshot's (no data is read); the engine evaluates the
// expressions over their values. ok is false when it does not apply.
func (r *run) partitionGroupsSQL(ctx context.Context, m *Model, groups engine.Relation, snaps map[string]*delta.Snapshot) (string, bool, error) {
	inline, ok := r.inlineGroups[groups.Name]
	if !ok {
		return "", false, nil
	}
	table, alias, aliased, ok := firstFromTable(m.SQL)
	snap := snaps[table]
	if !ok || snap == nil || len(snap.PartitionColumns()) == 0 {
		return "", false, nil
	}
	parts, physical := snap.PartitionColumns(), snap.PhysicalPartitionColumns()
	exprs, ok := partitionGroupExprs(m.SQL, table, alias, m.IncrementalBy, parts)
	if !ok {
		return "", false, nil
	}
	// The table's partitions, as typed literals.
	types := make([]string, len(parts))
	for i, p := range parts {
		f, ok := snap.Schema().Field(p)
		if !ok {
			return "", false, nil
		}
		t, err := r.eng.SQLType(f.Type)
		if err != nil {
			return "", false, nil
		}
		types[i] = t
	}
	seen := map[string]bool{}
	var tuples []string
	for _, a := range snap.Files() {
		lits := make([]string, len(parts))
		for i := range parts {
			v, ok := a.PartitionValues[physical[i]]
			if !ok || v == nil {
				lits[i] = "CAST(NULL AS " + types[i] + ")"
				continue
			}
			lit, err := r.eng.Literal(*v)
			if err != nil {
				return "", false, nil
			}
			lits[i] = "CAST(" + lit + " AS " + types[i] + ")"
		}
		t := "(" + strings.Join(lits, ", ") + ")"
		if !seen[t] {
			seen[t] = true
			tuples = append(tuples, t)
		}
	}
	if len(tuples) > maxPartitionTuples {
		return "", false, nil
	}
	quotedParts := make([]string, len(parts))
	for i, p := range parts {
		quotedParts[i] = r.eng.Quote(p)
	}
	filter := "false"
	if len(tuples) > 0 {
		gcols := make([]string, len(exprs))
		sel := make([]string, len(exprs))
		for i, e := range exprs {
			gcols[i] = r.eng.Quote(fmt.Sprintf("__g%d", i))
			sel[i] = e + " AS " + gcols[i]
		}
		touched, ok := inlineFilter(r.eng, "__pg", gcols, inline)
		if !ok {
			return "", false, nil
		}
		res, err := r.eng.Query(ctx, "SELECT DISTINCT "+strings.Join(quotedParts, ", ")+" FROM (SELECT *, "+strings.Join(sel, ", ")+
			" FROM (VALUES "+strings.Join(tuples, ", ")+") AS __p("+strings.Join(quotedParts, ", ")+")) AS __pg WHERE "+touched)
		if err != nil {
			// A partition the model's WHERE clause would leave out may
			// hold values the expressions reject (make_date of month
			// 13): read every partition, as before.
			r.logf("%s: cannot map %s's partitions to the touched groups (%v); reading every partition", m.Name, table, err)
			return "", false, nil
		}
		if len(res.Rows) > maxPartitionTuples {
			return "", false, nil
		}
		if filter, ok = inlineFilter(r.eng, "__pt", quotedParts, res); !ok {
			return "", false, nil
		}
		r.logf("%s: reading %s in the %d partitions of the touched groups", m.Name, table, len(res.Rows))
	}
	masked := maskSQL(m.SQL)
	from, _ := topLevelFrom(masked)
	loc := firstFromTableRE.FindStringSubmatchIndex(masked[from+len("FROM"):])
	start, end := from+len("FROM")+loc[2], from+len("FROM")+loc[5]
	sub := "(SELECT * FROM " + qualifiedIdent(r.eng, table) + " __pt WHERE " + filter + ")"
	if !aliased {
		sub += " AS " + alias // the table's name, which may qualify its columns
	}
	return m.SQL[:start] + sub + m.SQL[end:], true, nil
}

// partitionGroupExprs returns, for each group column, its expression in
// sql's select list with the first table's alias qualifiers removed, when
// each is computed (not a bare column) from the table's partition columns
// (parts) alone, and sql (one SELECT; no subquery, window or set operation)
// reads the table once.
func partitionGroupExprs(sql, table, alias string, groupCols, parts []string) ([]string, bool) {
	masked := maskSQL(sql)
	if ownGroupsRefuseRE.MatchString(masked) || strings.Contains(countStarRE.ReplaceAllString(masked, ""), "*") {
		return nil, false
	}
	from, selStart := topLevelFrom(masked)
	if tableReads(sql, table) != 1 || from < 0 {
		return nil, false
	}
	isPart := func(c string) bool {
		return slices.ContainsFunc(parts, func(p string) bool { return strings.EqualFold(p, c) })
	}
	var exprs []string
	pos := selStart
	items := splitTopLevel(masked[selStart:from], ',')
	starts := make([]int, len(items))
	for i, it := range items {
		starts[i] = pos
		pos += len(it) + 1
	}
	for _, g := range groupCols {
		found := ""
		for i, it := range items {
			am := asNameRE.FindStringSubmatchIndex(strings.TrimRight(it, " \t\r\n"))
			if am == nil || !strings.EqualFold(it[am[4]:am[5]], g) {
				continue
			}
			expr, mexpr := sql[starts[i]+am[2]:starts[i]+am[3]], it[am[2]:am[3]]
			if bareColRE.MatchString(strings.TrimSpace(mexpr)) || qualifiedColRE.MatchString(strings.TrimSpace(mexpr)) {
				return nil, false // a column as it is: pushed down without help
			}
			for _, loc := range identTokenRE.FindAllStringIndex(mexpr, -1) {
				a, b := loc[0], loc[1]
				if a > 0 && (isIdent(mexpr[a-1]) || mexpr[a-1] == '.') {
					continue // a number's digits or alias.column's column (checked below)
				}
				rest := strings.TrimLeft(mexpr[b:], " \t\r\n")
				word := mexpr[a:b]
				switch {
				case strings.HasPrefix(rest, "("), sqlWords[strings.ToUpper(word)]:
				case strings.HasPrefix(rest, "."):
					col := identTokenRE.FindString(strings.TrimLeft(rest[1:], " \t\r\n"))
					if !strings.EqualFold(word, alias) || !isPart(col) {
						return nil, false
					}
				case !isPart(word):
					return nil, false
				}
			}
			found = regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_."])`+regexp.QuoteMeta(alias)+`\s*\.\s*`).ReplaceAllString(expr, "${1}")
			break
		}
		if found == "" {
			return nil, false
		}
		exprs = append(exprs, found)
	}
	return exprs, true
}

// reduceJoins replaces, in sql, the table of each join that can only match
// rows of the first table's (reducibleJoins; its alias first, its touched
// rows first) with those of its rows that can, computed first.
func (r *run) reduceJoins(ctx context.Context, m *Model, sql, firstAlias string, first engine.Relation) (string, error) {
	joins := reducibleJoins(sql, firstAlias)
	for i := len(joins) - 1; i >= 0; i-- { // from the end: positions stay valid
		j := joins[i]
		// Only the columns the model reads, when known: reading every
		// column of silver.customers' 1M rows was 0.16 s of 0.25 s at SF10.
		cols := "*"
		if j.cols != nil {
			q := make([]string, len(j.cols))
			for i, c := range j.cols {
				q[i] = r.eng.Quote(c)
			}
			cols = strings.Join(q, ", ")
		}
		rel, err := r.table(ctx, "SELECT "+cols+" FROM "+j.table+" __sj WHERE __sj."+r.eng.Quote(j.col)+" IN (SELECT "+r.eng.Quote(j.firstCol)+" FROM "+first.Name+")")
		if err != nil {
			return "", err
		}
		r.logf("%s: joining the rows of %s whose %s is among the touched groups' %s", m.Name, j.table, j.col, j.firstCol)
		sql = sql[:j.start] + rel.Name + sql[j.end:]
	}
	return sql, nil
}

// firstFromTableRE reads a lake table named first after FROM.
var firstFromTableRE = regexp.MustCompile(`(?i)^\s+(bronze|silver|gold)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\b`)

// havingRE finds a HAVING clause.
var havingRE = regexp.MustCompile(`(?i)\bHAVING\b`)

// noGroups is the filter of changedGroups when the changes touch no group.
const noGroups = "false"

// commitInputs commits a model whose inputs' changes touched none of its
// groups: its rows stay as they are, and only the input versions it has
// now read (w.txns; with the definition, the table's properties) are
// committed, as an incremental run that rewrote nothing.
func (r *run) commitInputs(ctx context.Context, w writeSpec) (delta.CommitResult, error) {
	return r.commitNoData(ctx, w, "MERGE", map[string]any{"predicate": `["replace the groups touched by changes (` + strings.Join(w.keys, ", ") + `): none"]`}, true)
}

// commitNoData commits w's txns, commit info and (when they changed) the
// table's properties, and no data file. readAll makes any concurrent data
// change conflict with it (the rows are what the commit asserts).
func (r *run) commitNoData(ctx context.Context, w writeSpec, op string, params map[string]any, readAll bool) (delta.CommitResult, error) {
	tx := w.tbl.Begin(w.snap)
	tx.SetOperation(op, params)
	if readAll {
		tx.ReadAll()
	}
	for _, t := range w.txns {
		tx.SetTxn(t.AppID, t.Version)
	}
	if md := r.configure(&w, nil); md != nil {
		tx.SetMetadata(md)
		if w.protocol != nil {
			tx.SetProtocol(w.protocol)
		}
	}
	if err := tx.SetCommitInfo("medallion", w.info); err != nil {
		return delta.CommitResult{}, err
	}
	return tx.Commit(ctx)
}

// inlineFilter renders the touched groups as literals: "col IN (literals)
// [OR col IS NULL]" for one group column, "(a = x AND b = y) OR …" for
// several (a NULL as IS NULL), so that the engine can push the filter to
// the scans (a partition column's constant prunes whole partitions), with
// the columns qualified by alias; ok is false for values it cannot render
// as literals.
func inlineFilter(eng engine.Engine, alias string, cols []string, res *engine.Result) (string, bool) {
	if len(cols) == 1 {
		var lits []string
		hasNull := false
		for _, row := range res.Rows {
			if row[0] == nil {
				hasNull = true
				continue
			}
			lit, ok := groupLiteral(eng, row[0], res.Columns[0].Type.Name)
			if !ok {
				return "", false
			}
			lits = append(lits, lit)
		}
		var conds []string
		if len(lits) > 0 {
			conds = append(conds, alias+"."+cols[0]+" IN ("+strings.Join(lits, ", ")+")")
		}
		if hasNull {
			conds = append(conds, alias+"."+cols[0]+" IS NULL")
		}
		if len(conds) == 0 {
			return "false", true
		}
		return "(" + strings.Join(conds, " OR ") + ")", true
	}
	var ors []string
	for _, row := range res.Rows {
		ands := make([]string, len(cols))
		for i, c := range cols {
			if row[i] == nil {
				ands[i] = alias + "." + c + " IS NULL"
				continue
			}
			lit, ok := groupLiteral(eng, row[i], res.Columns[i].Type.Name)
			if !ok {
				return "", false
			}
			ands[i] = alias + "." + c + " = " + lit
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	if len(ors) == 0 {
		return "false", true
	}
	return "(" + strings.Join(ors, " OR ") + ")", true
}

// groupLiteral renders one group value as an SQL literal of the column's
// type (typeName, a Delta type name).
func groupLiteral(eng engine.Engine, v any, typeName string) (string, bool) {
	switch v := v.(type) {
	case string:
		return sqlString(v), true
	case int64, int32, int16, int8, int:
		return fmt.Sprint(v), true
	case float64:
		return fmt.Sprintf("%v", v), true
	case bool:
		return fmt.Sprint(v), true
	case time.Time:
		if typeName == delta.TypeDate {
			return "DATE '" + v.UTC().Format("2006-01-02") + "'", true
		}
		lit, err := eng.Literal(v)
		if err != nil {
			return "", false
		}
		return lit, true
	}
	return "", false
}

// rewriteForChanges rewrites sql so that table reads changes instead, and
// every view that reads table (directly or through other views) is replaced
// by a temporary view rewritten the same way.
func (r *run) rewriteForChanges(ctx context.Context, sql, table, changes string) (string, error) {
	return r.rewriteChanges(ctx, sql, table, changes, false)
}

// rewriteChanges is rewriteForChanges; for groups, an outer join of the
// changed rows also yields the unmatched form of the rows they match
// (outerJoinForGroups), whose groups change too.
func (r *run) rewriteChanges(ctx context.Context, sql, table, changes string, groups bool) (string, error) {
	out := replaceTableRef(sql, table, changes)
	// Where the changed table is the optional side of an outer join, only
	// rows matching a changed row can be in a touched group: the rest
	// would come out as before. An inner join finds the same groups
	// without producing every other row.
	if groups {
		keep := changes + "_keep"
		joined, ok := outerJoinForGroups(out, changes, keep)
		if !ok {
			return "", errOuterJoin
		}
		if joined != out && !r.bound[keep] {
			if err := r.eng.BindQuery(ctx, keep, "SELECT *, true AS __keep FROM "+changes, false); err != nil {
				return "", fmt.Errorf("changes of %s: %w", table, err)
			}
			r.bound[keep] = true
		}
		out = joined
	} else {
		out = regexp.MustCompile(`(?i)\bLEFT\s+(OUTER\s+)?JOIN\s+`+regexp.QuoteMeta(changes)+`\b`).ReplaceAllString(out, "JOIN "+changes)
	}
	for _, d := range tableRefs(sql) {
		dm := r.proj.Model(d)
		if dm == nil || dm.Materialized != View || !r.reads(dm, table) {
			continue
		}
		inner, err := r.rewriteChanges(ctx, dm.SQL, table, changes, groups)
		if err != nil {
			return "", err
		}
		name := "__chgview_" + strings.ReplaceAll(d, ".", "_") + changes
		if groups {
			name += "_g"
		}
		if !r.bound[name] {
			// Computed once per run: the changed rows are few, and every
			// model over this view reuses them.
			rel, err := r.eng.Materialize(ctx, inner)
			if err != nil {
				return "", fmt.Errorf("view %s over changes of %s: %w", d, table, err)
			}
			r.chgViews[name] = rel
			r.bound[name] = true
		}
		out = replaceTableRef(out, d, r.chgViews[name].Name)
	}
	return out, nil
}

// isStream reports whether a table only gains or updates rows by key
// between runs (an append or upsert source's bronze table, or a model
// merged incrementally), so that its changed rows carry every group they
// affect.
func (r *run) isStream(table string) bool {
	for _, s := range r.proj.Sources {
		if s.Table == table {
			return s.Mode == ModeAppend || s.Mode == ModeUpsert
		}
	}
	if m := r.proj.Model(table); m != nil {
		// A model recomputing touched groups replaces their rows: the old
		// rows are in the files (or change feed) it removes and the new
		// ones in those it adds, so its changes carry every group they
		// affect, as a merged stream's do. Recomputed whole, every file is
		// replaced and every row is among the changes.
		return m.Incremental != "" || len(m.IncrementalBy) > 0
	}
	return false
}

// reads reports whether model m reads table, directly or through views.
func (r *run) reads(m *Model, table string) bool {
	for _, d := range m.Deps {
		if d == table {
			return true
		}
		if dm := r.proj.Model(d); dm != nil && dm.Materialized == View && r.reads(dm, table) {
			return true
		}
	}
	return false
}

// heldRows is what a caller of replaceGroups knows of the table's rows in
// the groups it replaces: when known, their number (none: the groups are
// new). compare asks replaceGroups, when it does not know, to compare the
// recomputed rows with the table's rows of the groups and write nothing
// when they are the same.
type heldRows struct {
	known   bool
	rows    int64
	compare bool
}

// replaceGroups replaces the rows of the touched groups (groups) with the
// recomputed ones (the relation), rewriting only the files that hold those
// groups. When held says the table holds no row of them, the recomputed
// rows are added and no file is looked at; when it says how many it holds
// and the table is one file, that file is rewritten without looking. When
// it asks to compare and the recomputed rows are the rows the table holds
// (a person's first month recomputed after orders of a later one landed),
// only the input versions are committed; a table of one file is then not
// looked up either: the comparison reads its rows of the groups, and when
// it holds none the recomputed rows are added beside it.
func (r *run) replaceGroups(ctx context.Context, w writeSpec, groups engine.Relation, held heldRows, tr *TableReport) (delta.CommitResult, error) {
	md, err := r.ensure(ctx, &w)
	if err != nil {
		return delta.CommitResult{}, err
	}
	var touched []*delta.Add
	provisional := false // the one file, taken as touched unlooked (see above)
	switch files := w.snap.Files(); {
	case held.known && held.rows == 0:
	case held.known && len(files) == 1:
		touched = files
	case held.compare && len(files) == 1:
		touched, provisional = files, true
	default:
		if touched, err = r.eng.MatchFiles(ctx, w.snap, files, w.keys, groups, true); err != nil {
			return delta.CommitResult{}, err
		}
	}
	query := "SELECT * FROM " + w.relation.Name
	var old engine.Relation // the rows of the touched files
	var diff rowDiff        // how the recomputed rows differ from the held ones, when compared
	if len(touched) > 0 {
		old, err = r.keep(r.eng.BindRelation(ctx, w.snap, touched))
		if err != nil {
			return delta.CommitResult{}, err
		}
		keys := make([]string, len(w.keys))
		for i, k := range w.keys {
			keys[i] = r.eng.Quote(k)
		}
		inGroups, err := r.inRelation(ctx, groups, "t", keys)
		if err != nil {
			return delta.CommitResult{}, err
		}
		merged, err := r.keep(r.eng.UnionByName(ctx, "SELECT * FROM "+old.Name+" t WHERE NOT "+inGroups, "SELECT * FROM "+w.relation.Name))
		if err != nil {
			return delta.CommitResult{}, err
		}
		query = "SELECT * FROM " + merged.Name
		if tr.Replaced = held.rows; !held.known {
			n, d, err := r.heldGroupRows(ctx, w, old, inGroups, held.compare, r.changeFeedOn(&w))
			if err != nil {
				return delta.CommitResult{}, err
			}
			if tr.Replaced, diff = n, d; diff.compared && diff.n == 0 {
				r.logf("%s: the %d recomputed rows of the touched groups are the rows it holds: nothing to write", w.table, n)
				tr.Replaced = 0
				return r.commitInputs(ctx, w)
			}
			if provisional && n == 0 {
				// Its one file holds none of the groups: nothing of it is
				// rewritten, and the commit only adds (no change data).
				touched, old, diff = nil, engine.Relation{}, rowDiff{}
				query = "SELECT * FROM " + w.relation.Name
			}
		}
	}
	res, err := r.eng.Write(ctx, query, r.target(w))
	if err != nil {
		return delta.CommitResult{}, err
	}
	if diff.kept() {
		// Kept only with the feed on. The touched files' rows outside the
		// groups are written back as they were: the comparison's rows are
		// the change data.
		err = r.writeChangeData(ctx, &w, diff.del, diff.ins)
	} else {
		err = r.changeData(ctx, &w, old, query)
	}
	if err != nil {
		return delta.CommitResult{}, err
	}
	if err := w.afterWrite(ctx, res, len(touched) == 0); err != nil {
		return delta.CommitResult{}, err
	}
	// The rows written are the touched files' rows outside the groups and
	// the recomputed ones: the files' stats count them without a query.
	n, ok := liveRows(res.Adds)
	kept, okKept := liveRows(touched)
	if tr.RowsOut = n - (kept - tr.Replaced); !ok || !okKept {
		if tr.RowsOut, err = r.count(ctx, w.relation, ""); err != nil {
			return delta.CommitResult{}, err
		}
	}
	return commitRewrite(ctx, w, md, map[string]any{"predicate": `["replace the groups touched by changes (` + strings.Join(w.keys, ", ") + `)"]`}, touched, res.Adds)
}

// heldGroupRows counts the table's rows of the touched groups (those of
// old, aliased t, that inGroups keeps) and, with compare, says whether
// they are the recomputed rows (w.relation): read once into a table, they
// are compared as multisets (multiset.go). With keep (the table records
// its change data feed), the rows only among the recomputed ones
// (inserted) and only among the held ones (deleted) are kept in diff, the
// commit's change data (the touched files' other rows are written back as
// they were). When they cannot be compared (the files lack a column of the
// result, a type does not compare), they are only counted.
func (r *run) heldGroupRows(ctx context.Context, w writeSpec, old engine.Relation, inGroups string, compare, keep bool) (n int64, diff rowDiff, err error) {
	if compare {
		diff, err := r.compareHeld(ctx, w, old, inGroups, keep)
		if err == nil {
			return diff.held, diff, nil
		}
		if ctx.Err() != nil {
			return 0, rowDiff{}, err
		}
		r.logf("%s: not comparing the recomputed groups with the table's (%v)", w.table, err)
	}
	res, err := r.eng.Query(ctx, "SELECT count(*) FROM "+old.Name+" t WHERE "+inGroups)
	if err != nil {
		return 0, rowDiff{}, err
	}
	return engine.Int64(res.Rows[0][0]), rowDiff{}, nil
}

// rowDiff is how the recomputed rows of the touched groups differ from
// those the table held, when compared: n rows are only among the
// recomputed ones or only among the held ones, of the held rows the table
// held. When kept, ins and del hold those rows (the table's columns, in
// its order).
type rowDiff struct {
	compared bool
	ins, del engine.Relation
	n, held  int64
}

// kept reports whether the differing rows are at hand in ins and del.
func (d rowDiff) kept() bool { return d.ins.Name != "" }

// compareHeld compares the recomputed rows (w.relation) with the rows of
// old that inGroups keeps, keeping the differing rows with keep (see
// heldGroupRows).
func (r *run) compareHeld(ctx context.Context, w writeSpec, old engine.Relation, inGroups string, keep bool) (rowDiff, error) {
	cols := make([]string, len(w.schema.Fields))
	for i, f := range w.schema.Fields {
		cols[i] = r.eng.Quote(f.Name)
	}
	sel := strings.Join(cols, ", ")
	was, err := r.table(ctx, "SELECT "+sel+" FROM "+old.Name+" t WHERE "+inGroups)
	if err != nil {
		return rowDiff{}, err
	}
	held, now := "SELECT * FROM "+was.Name, "SELECT "+sel+" FROM "+w.relation.Name
	diff, err := r.diffRows(ctx, now, held, cols, was)
	if err != nil {
		return rowDiff{}, err
	}
	d := rowDiff{compared: true, n: diff.rows, held: diff.counted}
	if keep {
		if d.ins, d.del, err = r.sides(ctx, diff, now, held, cols); err != nil {
			return rowDiff{}, err
		}
	}
	return d, nil
}

// liveRows is the number of rows of the files by their stats; ok is false
// when some file's stats do not count its rows.
func liveRows(files []*delta.Add) (int64, bool) {
	var total int64
	for _, a := range files {
		n, ok := a.LiveRows()
		if !ok {
			return 0, false
		}
		total += n
	}
	return total, true
}

// target is where and how w's data files are written.
func (r *run) target(w writeSpec) engine.Target {
	return engine.Target{Store: w.tbl.Store(), PartitionColumns: w.partitionBy, Schema: w.schema, Compression: r.proj.Config.Tables.compression()}
}
