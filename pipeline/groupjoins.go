package pipeline

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Finding the groups a model's changed rows touch runs the model's SQL over
// them and keeps the DISTINCT group values. A LEFT JOIN of another table
// neither drops a row nor, under that DISTINCT, adds a group — unless a
// group column, the WHERE clause or another (inner) join reads the joined
// table. Such a join is only cost: silver.orders_items' group query joined
// the 1,000 changed orders with every customer, product and translation
// (at SF10 2.0–2.4 s of wall under load, against 0.02 s without them).
// pruneLeftJoinsForGroups replaces the table of each such LEFT JOIN with an
// empty relation of its columns, so the SQL stays valid and the join costs
// nothing; the recompute of the touched groups keeps the model's SQL as
// written.

var (
	leftJoinTableRE = regexp.MustCompile(`(?i)\bLEFT\s+(?:OUTER\s+)?JOIN\s+((?:bronze|silver|gold)\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+ON\b`)
	anyJoinRE       = regexp.MustCompile(`(?i)\bJOIN\b`)
	leftBeforeRE    = regexp.MustCompile(`(?i)\bLEFT\s+(?:OUTER\s+)?$`)
	// The SQL forms the pruning leaves alone: subqueries and CTEs (their
	// scopes), set operations, clauses that filter or limit on the joined
	// rows, and joins whose columns are not qualified by an alias.
	groupPruneRefuseRE = regexp.MustCompile(`(?i)\(\s*SELECT\b|^\s*WITH\b|\b(UNION|EXCEPT|INTERSECT|HAVING|QUALIFY|LIMIT|OFFSET|NATURAL|USING|RIGHT|FULL|LATERAL|ASOF|POSITIONAL|PIVOT|UNPIVOT|SEMI|ANTI)\b|\bDISTINCT\s+ON\b`)
	qualifiedColRE     = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)$`)
	asNameRE           = regexp.MustCompile(`(?is)^(.*?)\s+AS\s+([A-Za-z_][A-Za-z0-9_]*)$`)
)

// pruneLeftJoinsForGroups returns sql (one SELECT) with every LEFT JOIN of a
// lake table that no group column (groupCols: each a qualified column of
// the select list, alias.col [AS name]), WHERE condition or non-LEFT join
// reads made a join with an empty relation, and the aliases it emptied
// (sorted). Anything it does not recognize leaves sql as it is.
func pruneLeftJoinsForGroups(sql string, groupCols []string) (string, []string) {
	masked := maskSQL(sql)
	if groupPruneRefuseRE.MatchString(masked) {
		return sql, nil
	}
	from, selStart := topLevelFrom(masked)
	if from < 0 {
		return sql, nil
	}
	// The aliases the group columns come from.
	groupAliases := map[string]bool{}
	items := splitTopLevel(masked[selStart:from], ',')
	for _, g := range groupCols {
		found := false
		for _, it := range items {
			it = strings.TrimSpace(it)
			expr, name := it, ""
			if m := asNameRE.FindStringSubmatch(it); m != nil {
				expr, name = strings.TrimSpace(m[1]), m[2]
			}
			m := qualifiedColRE.FindStringSubmatch(expr)
			if name == "" && m != nil {
				name = m[2]
			}
			if !strings.EqualFold(name, g) {
				continue
			}
			if m == nil {
				return sql, nil // a computed group column: its inputs are not known here
			}
			groupAliases[strings.ToLower(m[1])] = true
			found = true
		}
		if !found {
			return sql, nil
		}
	}
	// Every join of the FROM clause with its ON condition.
	type join struct {
		left             bool
		alias            string
		tableStart, tEnd int
		on               string
	}
	var joins []join
	for _, loc := range anyJoinRE.FindAllStringIndex(masked[from:], -1) {
		at := from + loc[0]
		j := join{left: leftBeforeRE.MatchString(masked[from:at])}
		if j.left {
			// The LEFT [OUTER] JOIN … ON that starts here.
			start := strings.LastIndex(strings.ToUpper(masked[:at]), "LEFT")
			if m := leftJoinTableRE.FindStringSubmatchIndex(masked[start:]); m != nil && m[0] == 0 {
				j.alias = strings.ToLower(masked[start+m[4] : start+m[5]])
				j.tableStart, j.tEnd = start+m[2], start+m[3]
				j.on = masked[start+m[1] : onEnd(masked, start+m[1])]
			}
		}
		if j.on == "" {
			// Another join: its ON condition (if any) up to the clause's end.
			rest := masked[at+loc[1]-loc[0]:]
			if i := onStartRE.FindStringIndex(rest); i != nil {
				j.on = rest[i[1]:onEnd(rest, i[1])]
			}
			j.alias = ""
		}
		joins = append(joins, j)
	}
	where := topLevelClause(masked[from:], "WHERE")
	// An unqualified column in WHERE or an ON condition may be the joined
	// table's: leave such SQL alone.
	if hasUnqualifiedColumn(where) {
		return sql, nil
	}
	for _, j := range joins {
		if hasUnqualifiedColumn(j.on) {
			return sql, nil
		}
	}
	empty := map[string]bool{}
	for _, j := range joins {
		if j.left && j.alias != "" && !groupAliases[j.alias] && !refersTo(where, j.alias) {
			empty[j.alias] = true
		}
	}
	// Fixpoint: a join that reads an emptied alias in its ON condition
	// keeps it when that join can drop rows (not LEFT) or its own columns
	// feed a group.
	for changed := true; changed; {
		changed = false
		for _, j := range joins {
			if empty[j.alias] {
				continue
			}
			for a := range empty {
				if refersTo(j.on, a) && (!j.left || j.alias == "" || groupAliases[j.alias]) {
					delete(empty, a)
					changed = true
				}
			}
		}
	}
	if len(empty) == 0 {
		return sql, nil
	}
	var names []string
	out := sql
	for i := len(joins) - 1; i >= 0; i-- { // from the end: positions stay valid
		j := joins[i]
		if !empty[j.alias] || j.tEnd == 0 {
			continue
		}
		out = out[:j.tableStart] + "(SELECT * FROM " + sql[j.tableStart:j.tEnd] + " WHERE false)" + out[j.tEnd:]
		names = append(names, j.alias)
	}
	sort.Strings(names)
	return out, names
}

// refersTo reports whether text qualifies a column by alias (alias.col).
func refersTo(text, alias string) bool {
	return regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_."])` + regexp.QuoteMeta(alias) + `\s*\.`).MatchString(text)
}

// maskSQL blanks comments and the insides of string literals and quoted
// identifiers with spaces, keeping every position.
func maskSQL(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '-' && i+1 < len(b) && b[i+1] == '-':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		case b[i] == '/' && i+1 < len(b) && b[i+1] == '*':
			for ; i < len(b) && !(b[i] == '*' && i+1 < len(b) && b[i+1] == '/'); i++ {
				b[i] = ' '
			}
			if i+1 < len(b) {
				b[i], b[i+1] = ' ', ' '
				i++
			}
		case b[i] == '\'' || b[i] == '"':
			q := b[i]
			for i++; i < len(b) && b[i] != q; i++ {
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// topLevelFrom finds the first FROM outside parentheses of a SELECT and
// where its select list starts (after SELECT [DISTINCT]); -1 when sql is
// not one.
func topLevelFrom(masked string) (from, selStart int) {
	m := regexp.MustCompile(`(?i)^\s*SELECT\s+(?:DISTINCT\s+|ALL\s+)?`).FindStringIndex(masked)
	if m == nil {
		return -1, 0
	}
	i := topLevelWord(masked, m[1], "FROM")
	return i, m[1]
}

// topLevelWord is the position of the first word w (case-insensitive) at
// parenthesis depth 0 from i on, or -1.
func topLevelWord(s string, i int, w string) int {
	depth := 0
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && isWordStart(s, i) && len(s)-i >= len(w) && strings.EqualFold(s[i:i+len(w)], w) && (i+len(w) == len(s) || !isIdent(s[i+len(w)])):
			return i
		}
	}
	return -1
}

// topLevelClause is the text of the clause starting with word (WHERE) at
// depth 0, up to the next GROUP, ORDER or WINDOW, or "".
func topLevelClause(s, word string) string {
	i := topLevelWord(s, 0, word)
	if i < 0 {
		return ""
	}
	end := len(s)
	for _, w := range []string{"GROUP", "ORDER", "WINDOW"} {
		if j := topLevelWord(s, i, w); j >= 0 && j < end {
			end = j
		}
	}
	return s[i:end]
}

// splitTopLevel splits s at sep outside parentheses.
func splitTopLevel(s string, sep byte) []string {
	var out []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	return append(out, s[last:])
}

// sqlWords are the words of a condition that are not column names.
var sqlWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`AND OR NOT IS NULL IN BETWEEN LIKE ILIKE SIMILAR GLOB ESCAPE TRUE FALSE CASE WHEN THEN ELSE END
		CAST TRY_CAST AS DISTINCT FROM WHERE ON ANY ALL SOME EXISTS COLLATE INTERVAL
		DATE TIME TIMESTAMP TIMESTAMPTZ INTEGER INT BIGINT SMALLINT TINYINT DOUBLE FLOAT REAL DECIMAL NUMERIC VARCHAR STRING TEXT BOOLEAN BOOL`) {
		sqlWords[w] = true
	}
}

var identTokenRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// hasUnqualifiedColumn reports whether a (masked) condition names a column
// without an alias: an identifier that is not a keyword or type, not a
// function name (followed by "("), and not part of alias.column.
func hasUnqualifiedColumn(cond string) bool {
	for _, loc := range identTokenRE.FindAllStringIndex(cond, -1) {
		i, j := loc[0], loc[1]
		if i > 0 && (isIdent(cond[i-1]) || cond[i-1] == '.') {
			continue // part of a longer token, a number or alias.column
		}
		rest := strings.TrimLeft(cond[j:], " \t\r\n")
		if strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "(") || sqlWords[strings.ToUpper(cond[i:j])] {
			continue
		}
		return true
	}
	return false
}

var (
	// ownGroupsRefuseRE are the forms changedTableGroups leaves alone: those
	// of groupPruneRefuseRE but HAVING (a filter on a group's own rows), and
	// windows, which read other rows than the group's.
	ownGroupsRefuseRE = regexp.MustCompile(`(?i)\(\s*SELECT\b|^\s*WITH\b|\b(UNION|EXCEPT|INTERSECT|QUALIFY|LIMIT|OFFSET|NATURAL|USING|RIGHT|FULL|LATERAL|ASOF|POSITIONAL|PIVOT|UNPIVOT|SEMI|ANTI|OVER)\b|\bDISTINCT\s+ON\b`)
	firstFromItemRE   = regexp.MustCompile(`^\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*))?`)
	bareColRE         = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// changedTableGroups returns, for each group column (groupCols), the column
// of the changed rows it is — when sql (one SELECT, the changed table
// already replaced by the relation changes) reads changes once, as its
// first FROM item, and takes every group column from it unchanged
// (alias.col [AS name], or col when nothing is joined). A group's rows then
// come only from input rows of that group, so the groups the changed rows
// touch are among the changed rows' own group values: the model's joins,
// WHERE and HAVING clauses can only narrow them. ok is false for every
// other form (a subquery, CTE, set operation, window, an outer join that
// could pad changes with NULLs, a computed group column…).
func changedTableGroups(sql, changes string, groupCols []string) (cols []string, ok bool) {
	masked := maskSQL(sql)
	if ownGroupsRefuseRE.MatchString(masked) {
		return nil, false
	}
	reads := 0 // references of changes as a table, not as a column's qualifier
	for _, loc := range regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_."])`+regexp.QuoteMeta(changes)+`\b`).FindAllStringIndex(masked, -1) {
		if !strings.HasPrefix(strings.TrimLeft(masked[loc[1]:], " \t\r\n"), ".") {
			reads++
		}
	}
	if reads != 1 {
		return nil, false
	}
	from, selStart := topLevelFrom(masked)
	if from < 0 {
		return nil, false
	}
	m := firstFromItemRE.FindStringSubmatch(masked[from+len("FROM"):])
	if m == nil || !strings.EqualFold(m[1], changes) {
		return nil, false
	}
	alias := m[2]
	if alias == "" || onStop[strings.ToUpper(alias)] || strings.EqualFold(alias, "ON") {
		alias = changes
	}
	end := len(masked)
	for _, w := range []string{"WHERE", "GROUP", "ORDER", "WINDOW"} {
		if j := topLevelWord(masked, from, w); j >= 0 && j < end {
			end = j
		}
	}
	joined := anyJoinRE.MatchString(masked[from:end]) || len(splitTopLevel(masked[from:end], ',')) > 1
	items := splitTopLevel(masked[selStart:from], ',')
	for _, g := range groupCols {
		col := ""
		for _, it := range items {
			it = strings.TrimSpace(it)
			expr, name := it, ""
			if am := asNameRE.FindStringSubmatch(it); am != nil {
				expr, name = strings.TrimSpace(am[1]), am[2]
			}
			var c string
			if qm := qualifiedColRE.FindStringSubmatch(expr); qm != nil {
				if !strings.EqualFold(qm[1], alias) {
					if strings.EqualFold(name, g) || (name == "" && strings.EqualFold(qm[2], g)) {
						return nil, false // the group column comes from a joined table
					}
					continue
				}
				c = qm[2]
			} else if bareColRE.MatchString(expr) && !joined {
				c = expr
			} else {
				if strings.EqualFold(name, g) {
					return nil, false // computed
				}
				continue
			}
			if name == "" {
				name = c
			}
			if strings.EqualFold(name, g) {
				col = c
				break
			}
		}
		if col == "" {
			return nil, false
		}
		cols = append(cols, col)
	}
	return cols, true
}

// A model recomputed for a few touched groups reads its first table's rows
// of those groups (groupFilteredSQL) and joins them with whole tables:
// silver.orders_items joins a month's 1,000 orders with every customer,
// and DuckDB, estimating the join from the tables' sizes, hashed all of
// them (1M at SF10: 0.15 s of the statement's 0.37 s). reducibleJoins
// finds the joins that can read fewer rows: where an inner or left join's
// ON condition requires table.col = first.col, no row of the table whose
// col is not among the first table's values can match, so the join with
// only the rows that can (materialized first, so the planner knows how
// few) gives the same result.

// firstJoin is an inner or left join of a lake table in the top-level FROM
// clause of a SELECT, with the equalities of its ON condition between its
// columns and the first FROM table's.
type firstJoin struct {
	start, end int      // where the table's name is in the SQL
	table      string   // layer.name as the SQL writes it
	alias      string   // the table's alias
	cols       []string // its columns equated with the first table's …
	firstCols  []string // … these, pair by pair
}

var (
	// firstJoinRefuseRE are the forms firstJoins leaves alone: scopes of
	// their own and set operations, and joins that keep or drop rows by
	// another rule than their ON condition.
	firstJoinRefuseRE = regexp.MustCompile(`(?i)\(\s*SELECT\b|^\s*WITH\b|\b(UNION|EXCEPT|INTERSECT|NATURAL|USING|RIGHT|FULL|CROSS|LATERAL|ASOF|POSITIONAL|PIVOT|UNPIVOT|SEMI|ANTI)\b`)
	joinedTableRE     = regexp.MustCompile(`(?i)^\s+((?:bronze|silver|gold)\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+ON\b`)
	joinKindRE        = regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9_])([A-Za-z_]+)\s+(?:OUTER\s+)?$`)
	equalColsRE       = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*$`)
	orBetweenRE       = regexp.MustCompile(`(?i)\b(OR|BETWEEN)\b`)
	onStartRE         = regexp.MustCompile(`(?i)^[^()]*?\bON\b`)
	countStarRE       = regexp.MustCompile(`(?i)\bcount\s*\(\s*\*\s*\)`)
	outputNameRE      = regexp.MustCompile(`(?i)\bAS\s+[A-Za-z_][A-Za-z0-9_]*`)
	clauseWordRE      = regexp.MustCompile(`(?i)\b(WHERE|GROUP|BY|HAVING|QUALIFY|WINDOW|ORDER|LIMIT|OFFSET|ASC|DESC|NULLS|FIRST|LAST)\b`)
)

// firstJoins returns the joins of sql's top-level FROM clause (one SELECT
// whose first FROM item has the alias first) of the form "[INNER | LEFT
// [OUTER]] JOIN layer.name alias ON …", in order, each with the equalities
// alias.col = first.col among the top-level AND terms of its condition
// (none when it has an OR); joins is how many joins the clause has, of any
// kind, and qualified whether every column the SQL reads is qualified by
// its alias (and none is quoted). Any form it does not recognize yields no
// joins.
func firstJoins(sql, first string) (out []firstJoin, joins int, qualified bool) {
	masked := maskSQL(sql)
	if firstJoinRefuseRE.MatchString(masked) {
		return nil, 0, false
	}
	from, selStart := topLevelFrom(masked)
	if from < 0 {
		return nil, 0, false
	}
	end := len(masked)
	for _, w := range []string{"WHERE", "GROUP", "HAVING", "QUALIFY", "WINDOW", "ORDER", "LIMIT"} {
		if j := topLevelWord(masked, from, w); j >= 0 && j < end {
			end = j
		}
	}
	locs := anyJoinRE.FindAllStringIndex(masked[from:end], -1)
	var ons []string
	for _, loc := range locs {
		rest := masked[from+loc[1] : end]
		if i := onStartRE.FindStringIndex(rest); i != nil {
			ons = append(ons, rest[i[1]:onEnd(rest, i[1])])
		}
	}
	// Every column qualified by its alias: then a joined table's columns
	// are its alias.col references.
	qualified = !strings.Contains(masked, `"`) && // a quoted column is blanked out here
		!strings.Contains(countStarRE.ReplaceAllString(masked, ""), "*") &&
		!hasUnqualifiedColumn(outputNameRE.ReplaceAllString(masked[selStart:from]+" "+strings.Join(ons, " "), " ")) &&
		!hasUnqualifiedColumn(outputNameRE.ReplaceAllString(clauseWordRE.ReplaceAllString(masked[end:], " "), " "))
	for _, loc := range locs {
		at := from + loc[0]
		if k := joinKindRE.FindStringSubmatch(masked[from:at]); k != nil {
			if w := strings.ToUpper(k[1]); w != "LEFT" && w != "INNER" && onStop[w] {
				continue // another kind of join
			}
		}
		base := at + len("JOIN")
		m := joinedTableRE.FindStringSubmatchIndex(masked[base:])
		if m == nil {
			continue
		}
		j := firstJoin{start: base + m[2], end: base + m[3], table: sql[base+m[2] : base+m[3]], alias: masked[base+m[4] : base+m[5]]}
		if strings.EqualFold(j.alias, first) || onStop[strings.ToUpper(j.alias)] {
			continue
		}
		cond := masked[base+m[1] : onEnd(masked, base+m[1])]
		if !orBetweenRE.MatchString(cond) {
			for _, c := range splitTopLevelWord(cond, "AND") {
				e := equalColsRE.FindStringSubmatch(c)
				switch {
				case e == nil:
				case strings.EqualFold(e[1], j.alias) && strings.EqualFold(e[3], first):
					j.cols, j.firstCols = append(j.cols, e[2]), append(j.firstCols, e[4])
				case strings.EqualFold(e[3], j.alias) && strings.EqualFold(e[1], first):
					j.cols, j.firstCols = append(j.cols, e[4]), append(j.firstCols, e[2])
				}
			}
		}
		out = append(out, j)
	}
	return out, len(locs), qualified
}

// reducibleJoin is a join whose table can be read for the first table's
// rows only: those whose col is among the first table's firstCol.
type reducibleJoin struct {
	start, end int      // where the table's name is in the SQL
	table      string   // layer.name as the SQL writes it
	col        string   // the joined table's column
	firstCol   string   // the first table's column it must equal
	cols       []string // the table's columns the SQL reads; nil when not known
}

// reducibleJoins returns the joins of sql (one SELECT whose first FROM item
// has the alias first) that equate a column of theirs with one of the first
// table's (firstJoins), when the clause joins more than one table: with
// one join, DuckDB already hashes the first table's few rows (their count
// is known: they are a table) and probes the other with them, and reading
// the other first only adds a statement (silver.customer_months: 109 ms at
// SF10 either way).
func reducibleJoins(sql, first string) []reducibleJoin {
	joins, n, qualified := firstJoins(sql, first)
	if n < 2 {
		return nil
	}
	masked := maskSQL(sql)
	var out []reducibleJoin
	for _, j := range joins {
		if len(j.cols) == 0 {
			continue
		}
		rj := reducibleJoin{start: j.start, end: j.end, table: j.table, col: j.cols[0], firstCol: j.firstCols[0]}
		if qualified {
			seen := map[string]bool{}
			for _, c := range regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9_."])`+regexp.QuoteMeta(j.alias)+`\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(masked, -1) {
				if k := strings.ToLower(c[1]); !seen[k] {
					seen[k] = true
					rj.cols = append(rj.cols, c[1])
				}
			}
		}
		out = append(out, rj)
	}
	return out
}

// joinedOnKeys returns the columns of table (read once in sql, joined to
// the first FROM table, alias first) that its ON condition equates with
// each of keys, the first table's columns; ok is false when sql has
// another form or some key is not equated.
func joinedOnKeys(sql, first, table string, keys []string) (cols []string, ok bool) {
	joins, _, _ := firstJoins(sql, first)
	var found *firstJoin
	for i, j := range joins {
		if layer, name, _ := strings.Cut(j.table, "."); strings.ToLower(strings.TrimSpace(layer))+"."+strings.TrimSpace(name) == table {
			if found != nil {
				return nil, false
			}
			found = &joins[i]
		}
	}
	if found == nil || tableReads(sql, table) != 1 {
		return nil, false
	}
	for _, k := range keys {
		i := slices.IndexFunc(found.firstCols, func(c string) bool { return strings.EqualFold(c, k) })
		if i < 0 {
			return nil, false
		}
		cols = append(cols, found.cols[i])
	}
	return cols, true
}

// tableReads is how many times sql names the lake table (layer.name),
// outside comments and strings.
func tableReads(sql, table string) int {
	n := 0
	for _, mm := range tableRefRE.FindAllStringSubmatch(stripSQL(sql), -1) {
		if strings.ToLower(mm[1])+"."+mm[2] == table {
			n++
		}
	}
	return n
}

// splitTopLevelWord splits s at the word w (case-insensitive) outside
// parentheses.
func splitTopLevelWord(s, w string) []string {
	var out []string
	last := 0
	for i := topLevelWord(s, 0, w); i >= 0; i = topLevelWord(s, last, w) {
		out = append(out, s[last:i])
		last = i + len(w)
	}
	return append(out, s[last:])
}
