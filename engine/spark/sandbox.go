package spark

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// unicodeSpace is the length in bytes of the Unicode white-space rune s
// starts with, 0 when it starts with none (or with ASCII).
func unicodeSpace(s string) int {
	if s == "" || s[0] < 0x80 {
		return 0
	}
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsSpace(r) && r != '\u200b' && r != '\ufeff' {
		return 0
	}
	return n
}

// fileFormats are the data source names Spark reads a path with when a
// two-part name's first part is one of them (format.`path`, resolved by
// Spark's ResolveSQLOnFile, Delta's catalog for delta.`path`), plus
// sources that reach other systems.
var fileFormats = map[string]bool{
	"parquet": true, "csv": true, "json": true, "text": true, "orc": true, "avro": true, "delta": true,
	"binaryfile": true, "xml": true, "jdbc": true, "hive": true, "libsvm": true, "image": true,
	"kafka": true, "socket": true, "rate": true, "noop": true, "console": true, "iceberg": true, "hudi": true,
}

// unquote strips the quotes of a quoted identifier token.
func unquote(t token) string {
	switch t.kind {
	case tokQuoted:
		return strings.ReplaceAll(strings.Trim(t.text, `"`), `""`, `"`)
	case tokBacktick:
		return strings.ReplaceAll(strings.Trim(t.text, "`"), "``", "`")
	}
	return t.text
}

// sealedRefusal says why a sealed engine refuses a read-only statement
// ("" when it does not): a function that reads files or calls Java, a
// path-based relation — a two-part name whose first part is a data source
// (csv.`/etc/passwd`, "csv"."/etc/passwd", csv . `relative`, with or
// without spaces and comments around the dot; a source given by class
// name) unless the statement names a relation or column so (aliases: FROM
// t AS json … json.a), or whose second part is a quoted path — or
// IDENTIFIER(…), which
// makes a name from a string the checks cannot see. Spark reads files on
// its own machines, so these checks, not the operating system, keep a
// query session inside the lake.
func sealedRefusal(st []token, aliases map[string]bool) string {
	for j, t := range st {
		if t.kind == tokWord {
			w := strings.ToLower(t.text)
			if sealedFunctions[w] {
				return "the function " + w + ", which reads outside the lake"
			}
			if w == "identifier" {
				if k := next(st, j+1); k < len(st) && st[k].text == "(" {
					return "IDENTIFIER(…), a name made from a string"
				}
			}
		}
		if t.kind != tokWord && t.kind != tokQuoted && t.kind != tokBacktick {
			continue
		}
		dot := next(st, j+1)
		if dot >= len(st) || st[dot].text != "." {
			continue
		}
		k := next(st, dot+1)
		if k >= len(st) {
			continue
		}
		first, second := unquote(t), st[k]
		pathLike := (second.kind == tokQuoted || second.kind == tokBacktick) && strings.ContainsAny(unquote(second), "/:\\")
		format := fileFormats[strings.ToLower(first)] && !aliases[strings.ToLower(first)]
		if format || strings.Contains(first, ".") || pathLike {
			return "a path-based relation " + t.text + "." + second.text + " (a session of `medallion serve` reads the lake's tables by name, layer.table)"
		}
	}
	return ""
}

// tableFunctions are the table-valued functions a sealed engine lets a
// statement call where a relation goes: they make rows of their
// arguments and read nothing. delta_scan is medallion's (pipeline
// replaces it by a bound name before the statement runs).
var tableFunctions = map[string]bool{
	"range": true, "explode": true, "explode_outer": true, "inline": true, "inline_outer": true,
	"posexplode": true, "posexplode_outer": true, "stack": true, "json_tuple": true,
	"variant_explode": true, "variant_explode_outer": true,
}

// fromClauseEnd are the words that end a FROM clause's list of relations
// (after them a comma separates no relations).
var fromClauseEnd = map[string]bool{
	"where": true, "group": true, "having": true, "order": true, "limit": true, "window": true, "qualify": true,
	"union": true, "intersect": true, "except": true, "minus": true, "cluster": true, "distribute": true,
	"sort": true, "offset": true, "select": true, "pivot": true, "unpivot": true,
}

// exprFrom are the functions whose argument list holds a FROM that is
// no relation's (EXTRACT(f FROM x), SUBSTRING(s FROM i), TRIM(c FROM s),
// OVERLAY(s PLACING r FROM i)).
var exprFrom = map[string]bool{"extract": true, "substring": true, "substr": true, "trim": true, "overlay": true}

// valuesItem are the words an item of a VALUES list may start with
// (after a comma): literals, not relations.
var valuesItem = map[string]bool{
	"null": true, "true": true, "false": true, "array": true, "map": true, "struct": true, "named_struct": true,
	"cast": true, "interval": true, "date": true, "timestamp": true, "timestamp_ntz": true, "x": true,
}

// unknownRelation says why a sealed engine refuses st ("" when it does
// not): every relation the statement reads — after FROM, JOIN, TABLE,
// LATERAL, a comma of a FROM clause, in parentheses, or DESCRIBE's — must
// be a name bound in the engine (known; a lake table or view of the
// project, written as medallion resolves it: layer.table without spaces
// around the dot) or a common table expression in scope; a table
// function must be one of tableFunctions. So a query session cannot
// reach the Spark server's own catalog (spark_catalog.…, global_temp.…,
// a one-part name of the current database, other sessions' views) or a
// path. SHOW is refused: it lists the server's catalog.
//
// With known nil (CheckQuery: pipeline checks models and statements
// before it binds the names they read) any one- or two-part name passes
// but global_temp's, and delta_scan(…) too; the statement that runs is
// checked with known. aliases receives the names the statement gives its
// relations and columns (AS x, or a word after a relation).
func unknownRelation(st []token, known func(string) bool, aliases map[string]bool) string {
	// ts: the statement without white space; glued[k]: ts[k] follows
	// ts[k-1] directly.
	var ts []token
	var glued []bool
	prevSpace := true
	for _, t := range st {
		if t.kind == tokSpace {
			prevSpace = true
			continue
		}
		ts = append(ts, t)
		glued = append(glued, !prevSpace)
		prevSpace = false
	}
	word := func(k int) string {
		if k < 0 || k >= len(ts) || ts[k].kind != tokWord {
			return ""
		}
		return strings.ToLower(ts[k].text)
	}
	isIdent := func(k int) bool {
		return k < len(ts) && (ts[k].kind == tokWord || ts[k].kind == tokQuoted || ts[k].kind == tokBacktick)
	}
	// depth[k]: the parentheses around ts[k] (a parenthesis itself
	// counts as outside); opener[k]: the index of the innermost open
	// one, -1 at the top; closer: each group's end.
	depth, opener := make([]int, len(ts)), make([]int, len(ts))
	closer := map[int]int{}
	var stack []int
	for k, t := range ts {
		if t.kind == tokPunct && t.text == ")" && len(stack) > 0 {
			closer[stack[len(stack)-1]] = k
			stack = stack[:len(stack)-1]
		}
		depth[k] = len(stack)
		opener[k] = -1
		if len(stack) > 0 {
			opener[k] = stack[len(stack)-1]
		}
		if t.kind == tokPunct && t.text == "(" {
			stack = append(stack, k)
		}
	}
	groupEnd := func(k int) int {
		if o := opener[k]; o >= 0 {
			if c, ok := closer[o]; ok {
				return c
			}
		}
		return len(ts)
	}
	for k := range ts {
		if word(k) == "as" && isIdent(k+1) {
			aliases[strings.ToLower(identName(ts[k+1]))] = true
		}
	}

	// Common table expressions: name, and where it can be read.
	type cte struct {
		name     string
		from, to int
	}
	var ctes []cte
	for w := range ts {
		if word(w) != "with" {
			continue
		}
		k := w + 1
		recursive := word(k) == "recursive"
		if recursive {
			k++
		}
		for isIdent(k) {
			name := strings.ToLower(identName(ts[k]))
			k++
			if k < len(ts) && ts[k].text == "(" {
				// A column list, or the body when AS is left out.
				if c, ok := closer[k]; ok && (word(c+1) == "as" || c+1 < len(ts) && ts[c+1].text == "(") {
					k = c + 1
				}
			}
			if word(k) == "as" {
				k++
			}
			if k >= len(ts) || ts[k].text != "(" {
				break
			}
			c, ok := closer[k]
			if !ok {
				break
			}
			from := c
			if recursive {
				from = k
			}
			ctes = append(ctes, cte{name, from, groupEnd(w)})
			k = c + 1
			if k < len(ts) && ts[k].text == "," {
				k++
				continue
			}
			break
		}
	}
	inScope := func(name string, at int) bool {
		for _, c := range ctes {
			if c.name == name && at > c.from && at <= c.to {
				return true
			}
		}
		return false
	}

	rel := map[int]bool{}        // positions where a relation starts
	fromList := map[int]bool{}   // by depth: inside a FROM clause's list of relations
	valuesList := map[int]bool{} // by depth: inside VALUES of a FROM clause

	// relation checks the relation starting at ts[k].
	relation := func(k int) string {
		t := ts[k]
		if t.kind == tokPunct {
			if t.text == "(" && k+1 < len(ts) {
				switch word(k + 1) {
				case "select", "with", "values", "from", "table":
					return ""
				}
				rel[k+1] = true // a relation in parentheses
			}
			return ""
		}
		switch word(k) {
		case "select", "with", "from", "table", "lateral":
			return "" // the scan below takes these
		case "values":
			valuesList[depth[k]] = true
			return ""
		}
		if !isIdent(k) {
			return ""
		}
		parts := []string{identName(t)}
		spaced := false
		j := k
		for j+2 < len(ts) && ts[j+1].kind == tokPunct && ts[j+1].text == "." && isIdent(j+2) {
			spaced = spaced || !glued[j+1] || !glued[j+2]
			parts = append(parts, identName(ts[j+2]))
			j += 2
		}
		written := render(ts[k : j+1])
		if j+1 < len(ts) && ts[j+1].text == "(" {
			name := strings.ToLower(strings.Join(parts, "."))
			if len(parts) == 1 && (tableFunctions[name] || known == nil && name == "delta_scan") {
				return ""
			}
			return "the table function " + written + " (a session of `medallion serve` reads the project's tables by name, layer.table)"
		}
		name := strings.ToLower(strings.Join(parts, "."))
		switch {
		case len(parts) > 2 || spaced:
		case known == nil && !strings.EqualFold(parts[0], "global_temp"),
			known != nil && known(name), len(parts) == 1 && inScope(name, k):
			if a := j + 1; word(a) != "" && !fromClauseEnd[word(a)] && !isJoinWord(word(a)) {
				aliases[word(a)] = true
			}
			return ""
		}
		return "the relation " + written + ", which is no table of the project's lake (a session of `medallion serve` reads the project's tables by name, layer.table)"
	}

	if first := word(0); first == "show" {
		return "SHOW, which lists the Spark server's catalog"
	} else if first == "describe" || first == "desc" {
		k := 1
		for word(k) == "table" || word(k) == "extended" || word(k) == "formatted" {
			k++
		}
		if word(k) != "query" {
			if k >= len(ts) || !isIdent(k) || word(k) == "function" || word(k) == "database" || word(k) == "schema" || word(k) == "namespace" || word(k) == "catalog" || word(k) == "volume" {
				return "DESCRIBE of anything but a table of the project's lake"
			}
			rel[k] = true
		}
	}
	for k, t := range ts {
		if rel[k] {
			if why := relation(k); why != "" {
				return why
			}
		}
		d := depth[k]
		if t.kind == tokPunct {
			switch t.text {
			case ")":
				delete(fromList, d+1)
				delete(valuesList, d+1)
			case ",":
				if !fromList[d] || k+1 >= len(ts) {
					continue
				}
				if valuesList[d] {
					n := ts[k+1]
					literal := n.kind == tokNumber || n.kind == tokString || valuesItem[word(k+1)] ||
						n.text == "-" || n.text == "+" || n.text == "(" && !isIdent(k+2)
					if literal {
						continue
					}
				}
				rel[k+1] = true
			case "|":
				if k+1 < len(ts) && ts[k+1].text == ">" { // pipe syntax: |> …
					delete(fromList, d)
					delete(valuesList, d)
				}
			}
			continue
		}
		w := word(k)
		switch {
		case w == "from":
			if word(k-1) == "distinct" {
				continue // IS [NOT] DISTINCT FROM
			}
			if o := opener[k]; o >= 0 && exprFrom[word(o-1)] {
				continue
			}
			fromList[d] = true
			delete(valuesList, d)
			rel[k+1] = true
		case w == "join", w == "table":
			rel[k+1] = true
		case w == "lateral":
			if word(k+1) == "view" {
				delete(fromList, d)
				delete(valuesList, d)
			} else {
				rel[k+1] = true
			}
		case fromClauseEnd[w]:
			delete(fromList, d)
			delete(valuesList, d)
		}
	}
	return ""
}

// isJoinWord: the words of a join that may follow a relation.
func isJoinWord(w string) bool {
	switch w {
	case "join", "inner", "left", "right", "full", "outer", "cross", "semi", "anti", "natural", "on", "using", "lateral", "tablesample", "version", "timestamp", "for", "as":
		return true
	}
	return false
}

// sealedCheck says why a sealed engine refuses the read-only statement st
// ("" when it does not): sealedRefusal, and unknownRelation — with strict
// (a statement about to run) over the names bound in the engine.
func (e *Engine) sealedCheck(st []token, strict bool) string {
	aliases := map[string]bool{}
	var known func(string) bool
	if strict {
		known = func(name string) bool { _, ok := e.rels[name]; return ok }
	}
	unknown := unknownRelation(st, known, aliases)
	if why := sealedRefusal(st, aliases); why != "" {
		return why // the more precise reason for a path
	}
	return unknown
}
