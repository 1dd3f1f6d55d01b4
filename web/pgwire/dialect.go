package pgwire

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// segment is a piece of SQL text: code, or something whose text must not
// be rewritten (a string, quoted identifier, comment, dollar-quoted body).
type segment struct {
	text string
	code bool
}

// quotedEnd returns the end of the quoted text opening at sql[i] (a ' or
// a "): past its closing quote, a doubled quote standing for one; with
// backslash, a backslash escapes the next byte (E'…'). Unclosed, it runs to
// the end of sql.
func quotedEnd(sql string, i int, backslash bool) int {
	q := sql[i]
	j := i + 1
	for j < len(sql) {
		switch {
		case backslash && sql[j] == '\\':
			j += 2
			continue
		case sql[j] == q && j+1 < len(sql) && sql[j+1] == q:
			j += 2
			continue
		case sql[j] == q:
			return j + 1
		}
		j++
	}
	return len(sql)
}

// lex splits sql into segments the way Postgres' scanner delimits
// strings ('…' with ” escapes, E'…' with backslash escapes), quoted
// identifiers ("…"), comments (-- and nested /* */) and dollar quotes
// ($tag$…$tag$). Everything the rewrites below touch is in code segments.
func lex(sql string) []segment {
	var out []segment
	start := 0
	emit := func(end int, code bool) {
		if end > start {
			out = append(out, segment{text: sql[start:end], code: code})
		}
		start = end
	}
	i := 0
	for i < len(sql) {
		ch := sql[i]
		switch {
		case ch == '\'':
			emit(i, true)
			escapes := i > 0 && (sql[i-1] == 'e' || sql[i-1] == 'E') && (i < 2 || !isIdent(sql[i-2]))
			i = quotedEnd(sql, i, escapes)
			emit(i, false)
		case ch == '"':
			emit(i, true)
			i = quotedEnd(sql, i, false)
			emit(i, false)
		case ch == '-' && i+1 < len(sql) && sql[i+1] == '-':
			emit(i, true)
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j
			}
			emit(i, false)
		case ch == '/' && i+1 < len(sql) && sql[i+1] == '*':
			emit(i, true)
			depth, j := 0, i
			for j < len(sql) {
				if strings.HasPrefix(sql[j:], "/*") {
					depth++
					j += 2
				} else if strings.HasPrefix(sql[j:], "*/") {
					depth--
					j += 2
					if depth == 0 {
						break
					}
				} else {
					j++
				}
			}
			i = j
			emit(i, false)
		case ch == '$' && (i == 0 || !isIdent(sql[i-1])):
			if m := dollarTagRE.FindString(sql[i:]); m != "" {
				emit(i, true)
				end := strings.Index(sql[i+len(m):], m)
				if end < 0 {
					i = len(sql)
				} else {
					i += len(m) + end + len(m)
				}
				emit(i, false)
				continue
			}
			i++
		default:
			i++
		}
	}
	emit(len(sql), true)
	return out
}

var dollarTagRE = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)?\$`)

func isIdent(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// splitStatements splits a simple-protocol query string at the
// semicolons outside strings, identifiers and comments, dropping empty
// statements.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, s := range lex(sql) {
		if !s.code {
			cur.WriteString(s.text)
			continue
		}
		parts := strings.Split(s.text, ";")
		for i, p := range parts {
			if i > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			cur.WriteString(p)
		}
	}
	out = append(out, cur.String())
	var kept []string
	for _, s := range out {
		if strings.TrimSpace(stripComments(s)) != "" {
			kept = append(kept, s)
		}
	}
	return kept
}

// stripComments returns sql without its comments.
func stripComments(sql string) string {
	var b strings.Builder
	for _, s := range lex(sql) {
		if !s.code && (strings.HasPrefix(s.text, "--") || strings.HasPrefix(s.text, "/*")) {
			b.WriteByte(' ')
			continue
		}
		b.WriteString(s.text)
	}
	return b.String()
}

// rewriteCode applies f to every code segment of sql.
func rewriteCode(sql string, f func(string) string) string {
	var b strings.Builder
	for _, s := range lex(sql) {
		if s.code {
			b.WriteString(f(s.text))
		} else {
			b.WriteString(s.text)
		}
	}
	return b.String()
}

// kind is what a statement asks of the server.
type kind int

const (
	kindQuery kind = iota
	kindEmpty
	kindSet
	kindShow
	kindBegin
	kindCommit
	kindRollback
	kindNoop // DISCARD, RESET, DEALLOCATE, LISTEN, UNLISTEN, CLOSE: acknowledged
)

// classify reads the first words of a statement (comments stripped).
// SHOW of a name the server does not know (SHOW TABLES) is a query.
func classify(sql string, st *settings) (kind, string) {
	words := strings.Fields(strings.ToLower(strings.TrimRight(strings.TrimSpace(stripComments(sql)), "; \t\n")))
	if len(words) == 0 {
		return kindEmpty, ""
	}
	switch words[0] {
	case "set":
		return kindSet, "SET"
	case "show":
		if len(words) >= 2 && (words[1] == "all" || words[1] == "transaction" || st.known(strings.Join(words[1:], " "))) {
			return kindShow, "SHOW"
		}
	case "begin", "start":
		return kindBegin, "BEGIN"
	case "commit", "end":
		return kindCommit, "COMMIT"
	case "rollback", "abort":
		if slices.Contains(words, "to") { // ROLLBACK TO SAVEPOINT: the transaction goes on
			return kindNoop, "ROLLBACK"
		}
		return kindRollback, "ROLLBACK"
	case "savepoint":
		return kindNoop, "SAVEPOINT"
	case "release":
		return kindNoop, "RELEASE"
	case "discard":
		return kindNoop, "DISCARD " + strings.ToUpper(strings.Join(words[1:], " "))
	case "reset":
		return kindSet, "RESET"
	case "deallocate":
		return kindNoop, "DEALLOCATE"
	case "listen", "unlisten":
		return kindNoop, strings.ToUpper(words[0])
	}
	return kindQuery, ""
}

var (
	operatorRE   = regexp.MustCompile(`(?i)\bOPERATOR\s*\(\s*(?:pg_catalog\s*\.\s*)?([^)\s]+)\s*\)`)
	collateRE    = regexp.MustCompile(`(?i)\bCOLLATE\s+pg_catalog\s*\.\s*default\b`)
	versionRE    = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bversion\s*\(\s*\)`)
	curDBRE      = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bcurrent_database\s*\(\s*\)`)
	pgClassRE    = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_class\b(\s*\.)?`)
	infoTabRE    = regexp.MustCompile(`(?i)\binformation_schema\s*\.\s*tables\b(\s*\.)?`)
	paramRE      = regexp.MustCompile(`\$([0-9]+)`)
	pgCastRE     = regexp.MustCompile(`(?i)::\s*pg_catalog\s*\.\s*`)
	regtypeRE    = regexp.MustCompile(`(?i)::\s*(?:regtype|regproc|regprocedure|regnamespace|regrole|regconfig)\b`)
	regclassRE   = regexp.MustCompile(`(?i)([A-Za-z_][A-Za-z0-9_.]*)\s*::\s*regclass\b`)
	getExprRE    = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_get_(?:expr|constraintdef|indexdef|triggerdef|ruledef|partkeydef|statisticsobjdef_columns)\s*\(`)
	pgFuncRE     = regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	intArrayRE   = regexp.MustCompile(`'\{([0-9]+(?:,[0-9]+)*)\}'`)
	publishRE    = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_relation_is_publishable\s*\(`)
	arrUpperRE   = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\barray_upper\s*\(`)
	toRegtypeRE  = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bto_regtype\s*\(`)
	toRegclassRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bto_regclass\s*\(`)
	userbyRE     = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_get_userbyid\s*\(`)
	aliasRE      = regexp.MustCompile(`^\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)`)
)

// ServerVersion is what version() and server_version answer: Postgres
// drivers parse a Postgres version out of it.
const ServerVersion = "16.0"

// keywords that may follow a table name where no alias is given.
var clauseWords = []string{"where", "join", "left", "right", "inner", "full", "cross", "on", "using", "group", "order", "limit", "offset", "union", "except", "intersect", "having", "window", "natural", "lateral", "fetch", "for", "returning", "qualify", "as"}

// translator rewrites what Postgres clients send into DuckDB's dialect.
type translator struct {
	database string
	// lake answers for the connection's session: search_path, sizes
	// (session.go). Nil: neither applies.
	lake *lakeState
	// views are the project's views by table name (without layer): they
	// stay views in pg_class; every other relation is a table.
	views []string
}

// translate rewrites the code of sql (never its strings or comments):
//   - OPERATOR(pg_catalog.~) → ~ and COLLATE pg_catalog.default → nothing
//     (psql's pattern matching);
//   - version() → a Postgres-style version string (drivers parse it);
//   - current_database() → the project's name;
//   - pg_catalog.pg_class → the same rows with relkind 'r' for the lake's
//     tables (the engine binds them as views), so psql's \dt and
//     SQLAlchemy's get_table_names list them;
//   - information_schema.tables → the same with table_type 'BASE TABLE'
//     for the lake's tables.
func (t *translator) translate(sql string) string {
	sql = t.applySearchPath(sql)
	sql = t.rewriteSizes(sql)
	sql = rewriteCalls(sql, userbyRE, func(string) string { return "'medallion'" })
	sql = rewriteCalls(sql, publishRE, func(string) string { return "false" })
	sql = rewriteCalls(sql, arrUpperRE, func(args string) string {
		if i := strings.LastIndex(args, ","); i >= 0 {
			args = args[:i]
		}
		return "len(" + args + ")"
	})
	sql = rewriteCalls(sql, toRegtypeRE, func(args string) string {
		return "(SELECT oid FROM pg_catalog.pg_type WHERE typname = (" + args + ") LIMIT 1)"
	})
	sql = rewriteCalls(sql, toRegclassRE, func(args string) string {
		return "(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = (" + args + ") OR n.nspname || '.' || c.relname = (" + args + ") LIMIT 1)"
	})
	sql = rewriteCalls(sql, serialSeqRE, func(string) string { return "CAST(NULL AS VARCHAR)" })
	sql = rewriteCalls(sql, collVisibleRE, func(string) string { return "true" })
	sql = rewriteCalls(sql, formatTypeRE, formatType)
	sql = rewriteCalls(sql, encodingRE, func(string) string { return "'UTF8'" })
	// Sizes are the lake's business (GET /api/tables), not the catalog's.
	sql = rewriteCalls(sql, sizeRE, func(string) string { return "CAST(NULL AS BIGINT)" })
	sql = srfAlias(sql)
	// No column has a default, constraint or index expression.
	sql = rewriteCalls(sql, getExprRE, func(string) string { return "CAST(NULL AS VARCHAR)" })
	sql = rewriteLiteralRegclass(sql)
	segs := lex(sql)
	var b strings.Builder
	regexNext := false
	for i, s := range segs {
		if !s.code {
			if regexNext && strings.HasPrefix(s.text, "'") && strings.HasSuffix(s.text, "'") && len(s.text) >= 2 {
				// Postgres' ~ finds the pattern anywhere; the engine's ~
				// must match all of the text.
				s.text = "'(?s).*(?:" + s.text[1:len(s.text)-1] + ").*'"
			}
			regexNext = false
			b.WriteString(s.text)
			continue
		}
		next := ""
		if i+1 < len(segs) {
			next = segs[i+1].text
		}
		code := t.rewrite(s.text, next)
		regexNext = regexOpRE.MatchString(code)
		b.WriteString(code)
	}
	return b.String()
}

func (t *translator) rewrite(code, next string) string {
	code = operatorRE.ReplaceAllString(code, " $1 ")
	code = collateRE.ReplaceAllString(code, "")
	code = pgCastRE.ReplaceAllString(code, "::")
	code = pgFuncRE.ReplaceAllString(code, "$1(")
	code = jsonBuildRE.ReplaceAllString(code, "json_object(")
	code = castRegRE.ReplaceAllString(code, "AS VARCHAR)")
	code = castOidRE.ReplaceAllString(code, "AS BIGINT)")
	code = colonOidRE.ReplaceAllString(code, "::BIGINT")
	code = regtypeRE.ReplaceAllString(code, "::VARCHAR")
	code = regclassRE.ReplaceAllString(code, "(SELECT relname FROM pg_catalog.pg_class WHERE oid = $1)")
	code = versionRE.ReplaceAllString(code, fmt.Sprintf("'PostgreSQL %s (medallion, DuckDB engine)'", ServerVersion))
	code = curDBRE.ReplaceAllString(code, quoteString(t.database))
	views := "''"
	if len(t.views) > 0 {
		q := make([]string, len(t.views))
		for i, v := range t.views {
			q[i] = quoteString(v)
		}
		views = strings.Join(q, ", ")
	}
	code = replaceRelation(code, next, pgClassRE, "pg_class",
		"(SELECT * REPLACE (CASE WHEN relkind = 'v' AND relname NOT IN ("+views+") THEN 'r' ELSE relkind END AS relkind, CAST(NULL AS VARCHAR[]) AS reloptions), false AS relforcerowsecurity FROM pg_catalog.pg_class)")
	code = colRefRE.ReplaceAllString(code, "$1.")
	// One database: the project.
	code = replaceRelation(code, next, pgDatabaseRE, "pg_database",
		"(SELECT CAST(1 AS BIGINT) AS oid, "+quoteString(t.database)+" AS datname, CAST(10 AS BIGINT) AS datdba, 6 AS encoding, 'c' AS datlocprovider,"+
			" 'C' AS datcollate, 'C' AS datctype, CAST(NULL AS VARCHAR) AS daticulocale, CAST(NULL AS VARCHAR) AS daticurules, CAST(NULL AS VARCHAR) AS datcollversion,"+
			" CAST(NULL AS VARCHAR[]) AS datacl, true AS datallowconn, false AS datistemplate, -1 AS datconnlimit, CAST(0 AS BIGINT) AS dattablespace)")
	for _, e := range emptyCatalogs {
		code = replaceRelation(code, next, e.re, e.name, e.sub)
	}
	code = intArrayRE.ReplaceAllString(code, "[$1]")
	// The engine's pg_attribute.atttypid holds its own type ids, which
	// pg_type does not know: they become the Postgres OIDs of the wire.
	code = replaceRelation(code, next, pgAttrRE, "pg_attribute",
		"(SELECT * REPLACE ("+attTypeOID+" AS atttypid) FROM pg_catalog.pg_attribute)")
	// pg_type lacks text and json.
	code = replaceRelation(code, next, pgTypeRE, "pg_type",
		"(SELECT * FROM pg_catalog.pg_type UNION ALL BY NAME SELECT * FROM (VALUES (25, 'text', -1, 'b', 'S'), (114, 'json', -1, 'b', 'U')) AS t(oid, typname, typlen, typtype, typcategory))")
	// The session's catalog and the system one; not every session's.
	code = replaceRelation(code, next, infoSchemaRE, "schemata",
		"(SELECT * FROM information_schema.schemata WHERE catalog_name = current_database() OR schema_name IN ('information_schema', 'pg_catalog'))")
	code = replaceRelation(code, next, infoTabRE, "tables",
		"(SELECT * REPLACE (CASE WHEN table_type = 'VIEW' AND table_name NOT IN ("+views+") THEN 'BASE TABLE' ELSE table_type END AS table_type) FROM information_schema.tables)")
	return code
}

// emptyCatalog is a Postgres catalog the engine lacks and the lake has
// nothing for (policies, extended statistics, publications, inheritance,
// triggers, rules, partitioning, roles): an empty relation with its
// columns, so that clients' catalog queries bind and find no rows.
type emptyCatalog struct {
	name string
	re   *regexp.Regexp
	sub  string
}

var emptyCatalogs = func() []emptyCatalog {
	var out []emptyCatalog
	for _, c := range []struct{ name, cols string }{
		{"pg_policy", "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR"},
		{"pg_statistic_ext", "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT, stxstattarget INTEGER, stxkeys SMALLINT[], stxkind VARCHAR[], stxexprs VARCHAR"},
		{"pg_publication", "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN"},
		{"pg_publication_rel", "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs SMALLINT[]"},
		{"pg_publication_namespace", "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT"},
		{"pg_inherits", "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN"},
		{"pg_trigger", "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstraint BIGINT, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, tgnargs SMALLINT"},
		{"pg_rewrite", "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN"},
		{"pg_partitioned_table", "partrelid BIGINT, partstrat VARCHAR, partnatts SMALLINT, partdefid BIGINT"},
		{"pg_constraint", "oid BIGINT, conname VARCHAR, connamespace BIGINT, contype VARCHAR, condeferrable BOOLEAN, condeferred BOOLEAN, convalidated BOOLEAN, conrelid BIGINT, contypid BIGINT, conindid BIGINT, conparentid BIGINT, confrelid BIGINT, confupdtype VARCHAR, confdeltype VARCHAR, confmatchtype VARCHAR, conislocal BOOLEAN, coninhcount INTEGER, connoinherit BOOLEAN, conkey SMALLINT[], confkey SMALLINT[], conbin VARCHAR"},
		{"pg_index", "indexrelid BIGINT, indrelid BIGINT, indnatts SMALLINT, indnkeyatts SMALLINT, indisunique BOOLEAN, indnullsnotdistinct BOOLEAN, indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, indisclustered BOOLEAN, indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, indislive BOOLEAN, indisreplident BOOLEAN, indkey SMALLINT[], indcollation BIGINT[], indclass BIGINT[], indoption SMALLINT[], indexprs VARCHAR, indpred VARCHAR"},
		{"pg_opclass", "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcowner BIGINT, opcfamily BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT"},
		{"pg_collation", "oid BIGINT, collname VARCHAR, collnamespace BIGINT, collowner BIGINT, collprovider VARCHAR, collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR"},
		{"pg_roles", "oid BIGINT, rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolcanlogin BOOLEAN"},
	} {
		var sel []string
		for _, col := range strings.Split(c.cols, ", ") {
			n, t, _ := strings.Cut(col, " ")
			sel = append(sel, "CAST(NULL AS "+t+") AS "+n)
		}
		out = append(out, emptyCatalog{
			name: c.name,
			re:   regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\b` + c.name + `\b(\s*\.)?`),
			sub:  "(SELECT " + strings.Join(sel, ", ") + " WHERE false)",
		})
	}
	return out
}()

// codeMask marks the bytes of sql that are code.
func codeMask(sql string) []bool {
	mask := make([]bool, len(sql))
	i := 0
	for _, s := range lex(sql) {
		for range len(s.text) {
			mask[i] = s.code
			i++
		}
	}
	return mask
}

// rewriteCalls replaces each call re matches (re ends at the opening
// parenthesis) in code by f(its arguments), parentheses matched over code
// only.
func rewriteCalls(sql string, re *regexp.Regexp, f func(args string) string) string {
	for range 100 {
		mask := codeMask(sql)
		done := true
		for _, m := range re.FindAllStringIndex(sql, -1) {
			if !mask[m[0]] {
				continue
			}
			depth, end := 1, -1
			for j := m[1]; j < len(sql) && end < 0; j++ {
				if !mask[j] {
					continue
				}
				switch sql[j] {
				case '(':
					depth++
				case ')':
					depth--
					if depth == 0 {
						end = j
					}
				}
			}
			if end < 0 {
				return sql
			}
			sql = sql[:m[0]] + f(sql[m[1]:end]) + sql[end+1:]
			done = false
			break
		}
		if done {
			return sql
		}
	}
	return sql
}

var (
	fromBeforeRE = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|LATERAL)\s*$`)
	genSeriesRE  = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\b(?:generate_series|unnest)\s*\(`)
	srfAliasRE   = regexp.MustCompile(`^\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*)\b\s*([(]?)`)
)

// srfAlias gives the alias of a set-returning function in FROM its
// Postgres meaning: "FROM generate_series(1, 3) s" names the column s
// too (in DuckDB s would name only the table).
func srfAlias(sql string) string {
	mask := codeMask(sql)
	var b strings.Builder
	last := 0
	for _, m := range genSeriesRE.FindAllStringIndex(sql, -1) {
		if !mask[m[0]] || !fromBeforeRE.MatchString(sql[:m[0]]) { // only a function in FROM
			continue
		}
		depth, end := 1, -1
		for j := m[1]; j < len(sql) && end < 0; j++ {
			if !mask[j] {
				continue
			}
			switch sql[j] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = j
				}
			}
		}
		if end < 0 {
			break
		}
		a := srfAliasRE.FindStringSubmatchIndex(sql[end+1:])
		if a == nil || sql[end+1+a[4]:end+1+a[5]] == "(" || slices.Contains(clauseWords, strings.ToLower(sql[end+1+a[2]:end+1+a[3]])) {
			continue
		}
		at := end + 1 + a[3]
		b.WriteString(sql[last:at])
		b.WriteString("(" + sql[end+1+a[2]:end+1+a[3]] + ")")
		last = at
	}
	b.WriteString(sql[last:])
	return b.String()
}

var litRegclassRE = regexp.MustCompile(`(?i)'((?:[^']|'')*)'\s*::\s*regclass\b`)

// rewriteLiteralRegclass turns 'schema.table'::regclass into the
// relation's oid (Postgres resolves the name; quoted parts keep case).
func rewriteLiteralRegclass(sql string) string {
	mask := codeMask(sql)
	var b strings.Builder
	last := 0
	for _, m := range litRegclassRE.FindAllStringSubmatchIndex(sql, -1) {
		if mask[m[0]] || m[0] > 0 && !mask[m[0]-1] { // not where a string starts
			continue
		}
		name := strings.ReplaceAll(sql[m[2]:m[3]], "''", "'")
		schema, table, ok := strings.Cut(name, ".")
		if !ok {
			schema, table = "", name
		}
		unq := func(s string) string {
			if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
				return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
			}
			return strings.ToLower(s)
		}
		cond := "c.relname = " + quoteString(unq(table))
		if schema != "" {
			cond += " AND n.nspname = " + quoteString(unq(schema))
		}
		b.WriteString(sql[last:m[0]])
		b.WriteString("(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE " + cond + " LIMIT 1)")
		last = m[1]
	}
	b.WriteString(sql[last:])
	return b.String()
}

// replaceRelation replaces each use of a relation as a table (not a
// column reference like pg_class.relname) by sub, keeping the alias the
// query gives it, or naming it alias when it gives none.
func replaceRelation(code, next string, re *regexp.Regexp, alias, sub string) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(code, -1) {
		if m[0] > 0 && (code[m[0]-1] == '.' || isIdent(code[m[0]-1])) {
			continue
		}
		if m[2] >= 0 { // pg_catalog.pg_class.relname: a column of the relation named alias
			b.WriteString(code[last:m[0]])
			b.WriteString(alias + ".")
			last = m[1]
			continue
		}
		b.WriteString(code[last:m[0]])
		b.WriteString(sub)
		rest := code[m[1]:]
		if rest == "" {
			rest = next
		}
		if a := aliasRE.FindStringSubmatch(rest); a == nil || slices.Contains(clauseWords, strings.ToLower(a[1])) {
			b.WriteString(" AS " + alias)
		}
		last = m[1]
	}
	b.WriteString(code[last:])
	return b.String()
}

// substitute replaces the placeholders $1, $2, … in the code of sql by
// the literals given; a placeholder without a literal is an error.
func substitute(sql string, lits []string) (string, error) {
	var err error
	out := rewriteCode(sql, func(code string) string {
		return paramRE.ReplaceAllStringFunc(code, func(m string) string {
			var n int
			fmt.Sscanf(m[1:], "%d", &n)
			if n < 1 || n > len(lits) {
				if err == nil {
					err = fmt.Errorf("there is no parameter %s (%d given)", m, len(lits))
				}
				return m
			}
			return lits[n-1]
		})
	})
	return out, err
}

// maxParam is the highest $n placeholder in the code of sql.
func maxParam(sql string) int {
	n := 0
	for _, s := range lex(sql) {
		if !s.code {
			continue
		}
		for _, m := range paramRE.FindAllStringSubmatch(s.text, -1) {
			var k int
			fmt.Sscanf(m[1], "%d", &k)
			n = max(n, k)
		}
	}
	return n
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// settings are the session settings drivers SET and SHOW, answered by the
// server: the engine's own configuration is locked (sandbox) and never
// touched.
type settings struct {
	vals  map[string]string
	names map[string]string // lower-case → canonical spelling
}

// reported are the settings sent as ParameterStatus at startup (and when
// SET changes them).
var reported = []string{"server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings", "application_name", "is_superuser", "session_authorization", "default_transaction_read_only", "in_hot_standby"}

func defaultSettings(database string) *settings {
	s := &settings{vals: map[string]string{}, names: map[string]string{}}
	for k, v := range map[string]string{
		"server_version": ServerVersion, "server_version_num": "160000", "server_encoding": "UTF8", "client_encoding": "UTF8",
		"DateStyle": "ISO, MDY", "IntervalStyle": "postgres", "TimeZone": "UTC", "integer_datetimes": "on",
		"standard_conforming_strings": "on", "application_name": "", "is_superuser": "off", "session_authorization": "medallion",
		"default_transaction_read_only": "on", "transaction_read_only": "on", "in_hot_standby": "off",
		"transaction_isolation": "read committed", "default_transaction_isolation": "read committed",
		"extra_float_digits": "1", "search_path": `"$user", public`, "max_identifier_length": "63",
		"lc_collate": "C", "lc_ctype": "C", "lc_messages": "C", "statement_timeout": "0", "bytea_output": "hex",
		"client_min_messages": "notice", "lock_timeout": "0", "idle_in_transaction_session_timeout": "0",
		"server_name": database, "jit": "off", "row_security": "on",
	} {
		s.vals[strings.ToLower(k)] = v
		s.names[strings.ToLower(k)] = k
	}
	return s
}

func (s *settings) known(name string) bool {
	_, ok := s.vals[strings.ToLower(strings.TrimSpace(name))]
	return ok || strings.ToLower(strings.TrimSpace(name)) == "time zone"
}

func (s *settings) get(name string) string { return s.vals[strings.ToLower(name)] }

// set stores a setting and returns its canonical name.
func (s *settings) set(name, value string) string {
	k := strings.ToLower(name)
	if _, ok := s.names[k]; !ok {
		s.names[k] = name
	}
	s.vals[k] = value
	return s.names[k]
}

var setRE = regexp.MustCompile(`(?is)^\s*SET\s+(?:(?:SESSION|LOCAL)\s+)?(?:TIME\s+ZONE\s+(.+?)|([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=|\s+TO\s+)\s*(.+?))\s*;?\s*$`)

// applySet applies SET/RESET sql, returning the canonical name of the
// setting changed ("" for SET TRANSACTION and the like).
func (s *settings) applySet(sql string) (string, error) {
	sql = strings.TrimSpace(stripComments(sql))
	words := strings.Fields(strings.ToLower(strings.TrimRight(sql, "; ")))
	if words[0] == "reset" {
		if len(words) == 2 && words[1] != "all" {
			d := defaultSettings(s.get("server_name"))
			if v, ok := d.vals[words[1]]; ok {
				return s.set(words[1], v), nil
			}
		}
		return "", nil
	}
	if len(words) >= 2 && (words[1] == "transaction" || words[1] == "session" && len(words) > 2 && words[2] == "characteristics") {
		if strings.Contains(strings.Join(words, " "), "read write") {
			return "", &pgError{code: "25006", msg: "medallion: the lake is read-only over this endpoint (READ WRITE transactions are refused)"}
		}
		return "", nil
	}
	m := setRE.FindStringSubmatch(sql)
	if m == nil {
		return "", &pgError{code: "42601", msg: fmt.Sprintf("medallion: cannot read SET statement %q (SET name = value)", sql)}
	}
	name, raw := m[2], m[3]
	if m[1] != "" {
		name, raw = "TimeZone", m[1]
	}
	var vals []string
	for _, v := range strings.Split(raw, ",") {
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '\'' && v[len(v)-1] == '\'') {
			v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		} else if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		vals = append(vals, v)
	}
	val := strings.Join(vals, ", ")
	lower := strings.ToLower(name)
	if strings.EqualFold(val, "default") {
		d := defaultSettings(s.get("server_name"))
		val = d.vals[lower]
	}
	switch lower {
	case "client_encoding":
		if u := strings.ToUpper(strings.ReplaceAll(val, "-", "")); u != "UTF8" && u != "UNICODE" {
			return "", &pgError{code: "22023", msg: fmt.Sprintf("medallion: client_encoding %q is not supported (only UTF8)", val)}
		}
		val = "UTF8"
	case "transaction_read_only", "default_transaction_read_only":
		if v := strings.ToLower(val); v == "off" || v == "false" || v == "0" {
			return "", &pgError{code: "25006", msg: "medallion: the lake is read-only over this endpoint"}
		}
	}
	if name == "timezone" {
		name = "TimeZone"
	}
	if name == "datestyle" {
		name = "DateStyle"
	}
	return s.set(name, val), nil
}

// isReported says whether a setting is sent back as ParameterStatus.
func isReported(name string) bool {
	return slices.ContainsFunc(reported, func(r string) bool { return strings.EqualFold(r, name) })
}

// showName reads the setting name of a SHOW statement.
func showName(sql string) string {
	sql = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(stripComments(sql)), ";"))
	f := strings.Fields(sql)
	name := strings.Join(f[1:], " ")
	switch strings.ToLower(name) {
	case "time zone":
		return "TimeZone"
	case "transaction isolation level":
		return "transaction_isolation"
	}
	return strings.TrimFunc(name, func(r rune) bool { return r == '"' || unicode.IsSpace(r) })
}

var (
	castParamRE  = regexp.MustCompile(`(?i)\bCAST\s*\(\s*\$([0-9]+)\s+AS\s+([A-Za-z_][A-Za-z0-9_ ]*?)\s*\)`)
	colonParamRE = regexp.MustCompile(`(?i)\$([0-9]+)\s*::\s*(?:pg_catalog\s*\.\s*)?([A-Za-z_][A-Za-z0-9_]*(?:\s+with(?:out)?\s+time\s+zone)?)`)
)

// paramCasts finds the types parameters are cast to in the code of sql
// (CAST($1 AS date), $1::int8), as the engine's type names: where the
// engine infers nothing for a parameter, the cast tells the client what
// to send, as Postgres would.
func paramCasts(sql string) map[int]string {
	out := map[int]string{}
	for _, s := range lex(sql) {
		if !s.code {
			continue
		}
		for _, re := range []*regexp.Regexp{castParamRE, colonParamRE} {
			for _, m := range re.FindAllStringSubmatch(s.text, -1) {
				var n int
				fmt.Sscanf(m[1], "%d", &n)
				if t := engineTypeName(m[2]); t != "" {
					out[n] = t
				}
			}
		}
	}
	return out
}

// engineTypeName maps a SQL type name (Postgres or DuckDB spelling) to
// the engine's name; "" when unknown.
func engineTypeName(name string) string {
	switch strings.Join(strings.Fields(strings.ToLower(name)), " ") {
	case "bool", "boolean":
		return "BOOLEAN"
	case "int2", "smallint", "tinyint":
		return "SMALLINT"
	case "int", "int4", "integer":
		return "INTEGER"
	case "int8", "bigint":
		return "BIGINT"
	case "numeric", "decimal":
		return "DECIMAL"
	case "float4", "real", "float":
		return "FLOAT"
	case "float8", "double", "double precision":
		return "DOUBLE"
	case "date":
		return "DATE"
	case "timestamp", "timestamp without time zone":
		return "TIMESTAMP"
	case "timestamptz", "timestamp with time zone":
		return "TIMESTAMPTZ"
	case "bytea", "blob":
		return "BLOB"
	case "text", "varchar", "string":
		return "VARCHAR"
	}
	return ""
}

var (
	serialSeqRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_get_serial_sequence\s*\(`)
	jsonBuildRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bjson_build_object\s*\(`)
)

var (
	castRegRE     = regexp.MustCompile(`(?i)\bAS\s+(?:pg_catalog\s*\.\s*)?(?:regclass|regtype|regproc|regprocedure|regnamespace|regrole)\s*\)`)
	castOidRE     = regexp.MustCompile(`(?i)\bAS\s+(?:pg_catalog\s*\.\s*)?oid\s*\)`)
	colonOidRE    = regexp.MustCompile(`(?i)::\s*oid\b`)
	collVisibleRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_collation_is_visible\s*\(`)
)

// colRefRE is a three-part column reference into the catalog
// (pg_catalog.pg_attribute.attname), which the engine resolves only as
// table.column.
var colRefRE = regexp.MustCompile(`(?i)\bpg_catalog\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\.`)

var formatTypeRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bformat_type\s*\(`)

// pgTypeNames are Postgres' SQL names of the types on the wire, by OID.
var pgTypeNames = map[int]string{16: "boolean", 17: "bytea", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 114: "json",
	700: "real", 701: "double precision", 1043: "character varying", 1082: "date", 1114: "timestamp without time zone",
	1184: "timestamp with time zone", 1700: "numeric"}

// formatType answers format_type(oid, typmod) with Postgres' names for
// the Postgres type OIDs the catalog carries (pg_attribute.atttypid is
// translated to them), else pg_type's name.
func formatType(args string) string {
	oid := firstArg(args)
	var b strings.Builder
	b.WriteString("(CASE (" + oid + ")")
	keys := make([]int, 0, len(pgTypeNames))
	for k := range pgTypeNames {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " WHEN %d THEN '%s'", k, pgTypeNames[k])
	}
	b.WriteString(" ELSE (SELECT typname FROM pg_catalog.pg_type WHERE oid = (" + oid + ") LIMIT 1) END)")
	return b.String()
}

// firstArg is the text of a call's first argument (args up to the first
// comma outside parentheses and brackets).
func firstArg(args string) string {
	depth := 0
	for i, c := range args {
		switch c {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case ',':
			if depth == 0 {
				return args[:i]
			}
		}
	}
	return args
}

// attTypeOID maps the engine's type of a column (by its own format_type
// name) to the Postgres OID the wire sends it as.
const attTypeOID = `CASE lower("format_type"(atttypid, atttypmod))` +
	` WHEN 'bool' THEN 16 WHEN 'boolean' THEN 16 WHEN 'int1' THEN 21 WHEN 'tinyint' THEN 21 WHEN 'utinyint' THEN 21 WHEN 'int2' THEN 21 WHEN 'smallint' THEN 21` +
	` WHEN 'usmallint' THEN 23 WHEN 'int4' THEN 23 WHEN 'integer' THEN 23 WHEN 'uinteger' THEN 20 WHEN 'int8' THEN 20 WHEN 'bigint' THEN 20` +
	` WHEN 'ubigint' THEN 1700 WHEN 'hugeint' THEN 1700 WHEN 'uhugeint' THEN 1700 WHEN 'float4' THEN 700 WHEN 'real' THEN 700` +
	` WHEN 'float8' THEN 701 WHEN 'double precision' THEN 701 WHEN 'date' THEN 1082 WHEN 'timestamp' THEN 1184 WHEN 'timestamptz' THEN 1184` +
	` WHEN 'timestamp with time zone' THEN 1184 WHEN 'bytea' THEN 17 WHEN 'blob' THEN 17 WHEN 'list' THEN 114 WHEN 'map' THEN 114 WHEN 'struct' THEN 114` +
	` ELSE CASE WHEN lower("format_type"(atttypid, atttypmod)) SIMILAR TO '(numeric|decimal).*' THEN 1700 ELSE 25 END END`

// regexOpRE is code ending in Postgres' regular expression match
// operator (~ or !~), before its pattern.
var regexOpRE = regexp.MustCompile(`(?:^|[^~!<>=@#%^&|*/+-])!?~\s*$`)

var (
	pgAttrRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_attribute\b(\s*\.)?`)
	pgTypeRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_type\b(\s*\.)?`)
)

var (
	encodingRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_encoding_to_char\s*\(`)
	sizeRE     = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_(?:table|relation|total_relation|indexes)_size\s*\(`)
)

var pgDatabaseRE = regexp.MustCompile(`(?i)(?:\bpg_catalog\s*\.\s*)?\bpg_database\b(\s*\.)?`)
