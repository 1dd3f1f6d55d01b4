package spark

import (
	"fmt"
	"strings"
)

// tokKind is the kind of a lexical token of SQL text.
type tokKind int

const (
	tokSpace    tokKind = iota // whitespace and comments
	tokWord                    // bare identifier or keyword
	tokString                  // '…' (standard SQL: '' is a quote)
	tokQuoted                  // "…" identifier (DuckDB, standard SQL)
	tokBacktick                // `…` identifier (Spark)
	tokNumber
	tokPunct // one character
)

type token struct {
	kind tokKind
	text string // as written
}

// lex splits SQL into tokens. Strings follow standard SQL, as DuckDB and a
// spark engine session (spark.sql.parser.escapedStringLiterals) read
// them: a backslash is an ordinary character.
func lex(sql string) ([]token, error) {
	var out []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			for i < len(sql) && strings.IndexByte(" \t\n\r\f\v", sql[i]) >= 0 {
				i++
			}
			out = append(out, token{tokSpace, sql[start:i]})
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				i = len(sql)
			} else {
				i += j + 1
			}
			out = append(out, token{tokSpace, sql[start:i]})
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("spark: unterminated comment at offset %d", start)
			}
			i += j + 4
			out = append(out, token{tokSpace, sql[start:i]})
		case c == '\'' || c == '"' || c == '`':
			i++
			for {
				j := strings.IndexByte(sql[i:], c)
				if j < 0 {
					return nil, fmt.Errorf("spark: unterminated %c at offset %d", c, start)
				}
				i += j + 1
				if i < len(sql) && sql[i] == c { // doubled: an escaped quote
					i++
					continue
				}
				break
			}
			kind := map[byte]tokKind{'\'': tokString, '"': tokQuoted, '`': tokBacktick}[c]
			out = append(out, token{kind, sql[start:i]})
		case c >= 0x80 && unicodeSpace(sql[i:]) > 0:
			// Unicode white space (no-break space, ideographic space…)
			// separates tokens as Spark's lexer may read it: never part
			// of a word the checks look at.
			for n := unicodeSpace(sql[i:]); n > 0; n = unicodeSpace(sql[i:]) {
				i += n
			}
			out = append(out, token{tokSpace, sql[start:i]})
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			for i < len(sql) && (sql[i] == '_' || sql[i] == '$' || sql[i] >= 'a' && sql[i] <= 'z' || sql[i] >= 'A' && sql[i] <= 'Z' || sql[i] >= '0' && sql[i] <= '9' || sql[i] >= 0x80 && unicodeSpace(sql[i:]) == 0) {
				i++
			}
			out = append(out, token{tokWord, sql[start:i]})
		case c >= '0' && c <= '9':
			for i < len(sql) && (sql[i] >= '0' && sql[i] <= '9' || sql[i] == '.' || sql[i] == 'e' || sql[i] == 'E' || sql[i] == '_') {
				i++
			}
			out = append(out, token{tokNumber, sql[start:i]})
		default:
			i++
			out = append(out, token{tokPunct, sql[start:i]})
		}
	}
	return out, nil
}

// identName is the name an identifier token stands for ("" if none).
func identName(t token) string {
	switch t.kind {
	case tokWord:
		return t.text
	case tokQuoted:
		return strings.ReplaceAll(t.text[1:len(t.text)-1], `""`, `"`)
	case tokBacktick:
		return strings.ReplaceAll(t.text[1:len(t.text)-1], "``", "`")
	}
	return ""
}

// backtick quotes an identifier for Spark.
func backtick(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// next returns the index of the next non-space token at or after i (len
// when none).
func next(toks []token, i int) int {
	for i < len(toks) && toks[i].kind == tokSpace {
		i++
	}
	return i
}

// statements splits tokens at top-level semicolons, dropping empty
// statements.
func statements(toks []token) [][]token {
	var out [][]token
	var cur []token
	depth := 0
	flush := func() {
		if next(cur, 0) < len(cur) {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, t := range toks {
		if t.kind == tokPunct {
			switch t.text {
			case "(":
				depth++
			case ")":
				depth--
			case ";":
				if depth == 0 {
					flush()
					continue
				}
			}
		}
		cur = append(cur, t)
	}
	flush()
	return out
}

// sparkString is a Spark SQL literal of s as the session reads literals
// (verbatim, spark.sql.parser.escapedStringLiterals, so a quote cannot be
// doubled): '…', or a concat with chr(39) for each single quote.
func sparkString(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	parts := strings.Split(s, "'")
	for i, p := range parts {
		parts[i] = "'" + p + "'"
	}
	return "concat(" + strings.Join(parts, ", chr(39), ") + ")"
}

// render joins tokens back into text.
func render(toks []token) string {
	var b strings.Builder
	for _, t := range toks {
		b.WriteString(t.text)
	}
	return b.String()
}

// dialect rewrites DuckDB-dialect SQL of medallion's models into Spark
// SQL, token by token:
//   - "quoted identifiers" become `quoted identifiers`;
//   - layer.table names resolve to the relation bound under that name
//     (resolve returns its Spark name, or "" for an unbound name);
//   - VARCHAR without a length becomes STRING; a string literal with a
//     doubled quote is written with chr(39) (see sparkString);
//   - regexp_replace(s, pattern, replacement, 'g') drops the 'g' (Spark
//     always replaces every match); any other option of DuckDB's fails
//     naming it.
func dialect(toks []token, resolve func(name string) (string, error)) ([]token, error) {
	out := make([]token, 0, len(toks))
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if name := identName(t); name != "" && (t.kind != tokWord || !isKeyword(t.text)) {
			// a.b (no spaces: the way models and the pipeline write names)
			if i+2 < len(toks) && toks[i+1].kind == tokPunct && toks[i+1].text == "." && identName(toks[i+2]) != "" &&
				(i == 0 || toks[i-1].kind != tokPunct || toks[i-1].text != ".") {
				full := strings.ToLower(name + "." + identName(toks[i+2]))
				spark, err := resolve(full)
				if err != nil {
					return nil, err
				}
				if spark != "" {
					out = append(out, token{tokBacktick, backtick(spark)})
					i += 2
					continue
				}
			}
			// A bound one-part name (the pipeline's internal relations).
			prevDot := i > 0 && toks[i-1].text == "."
			nextTok := next(toks, i+1)
			if !prevDot && (nextTok >= len(toks) || toks[nextTok].text != "." && toks[nextTok].text != "(") {
				spark, err := resolve(strings.ToLower(name))
				if err != nil {
					return nil, err
				}
				if spark != "" {
					out = append(out, token{tokBacktick, backtick(spark)})
					continue
				}
			}
			if t.kind == tokWord && strings.EqualFold(t.text, "regexp_replace") {
				rewritten, n, err := regexpReplace(toks[i:], resolve)
				if err != nil {
					return nil, err
				}
				if rewritten != nil {
					out = append(out, rewritten...)
					i += n - 1
					continue
				}
			}
		}
		if t.kind == tokQuoted {
			t = token{tokBacktick, backtick(identName(t))}
		}
		if t.kind == tokWord && strings.EqualFold(t.text, "varchar") {
			// DuckDB's VARCHAR has no length; Spark's needs one.
			if j := next(toks, i+1); j >= len(toks) || toks[j].text != "(" {
				t = token{tokWord, "STRING"}
			}
		}
		if t.kind == tokString && strings.Contains(t.text[1:len(t.text)-1], "''") {
			// Spark reads literals verbatim (escapedStringLiterals): a
			// doubled quote would stay doubled.
			t = token{tokString, sparkString(strings.ReplaceAll(t.text[1:len(t.text)-1], "''", "'"))}
		}
		out = append(out, t)
	}
	return out, nil
}

// regexpReplace rewrites a regexp_replace( … ) call starting at toks[0],
// returning the new tokens and how many it consumed (nil when the call
// needs no change).
func regexpReplace(toks []token, resolve func(string) (string, error)) ([]token, int, error) {
	open := next(toks, 1)
	if open >= len(toks) || toks[open].text != "(" {
		return nil, 0, nil
	}
	depth := 0
	var commas []int
	end := -1
	for j := open; j < len(toks) && end < 0; j++ {
		if toks[j].kind != tokPunct {
			continue
		}
		switch toks[j].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				end = j
			}
		case ",":
			if depth == 1 {
				commas = append(commas, j)
			}
		}
	}
	if end < 0 || len(commas) != 3 {
		return nil, 0, nil
	}
	last := toks[commas[2]+1 : end]
	k := next(last, 0)
	if k >= len(last) || last[k].kind != tokString || next(last, k+1) != len(last) {
		return nil, 0, nil
	}
	opt := strings.ReplaceAll(last[k].text[1:len(last[k].text)-1], "''", "'")
	if opt != "g" {
		return nil, 0, fmt.Errorf("spark: regexp_replace option '%s' has no Spark equivalent (Spark's regexp_replace replaces every match; only 'g' is accepted)", opt)
	}
	inner, err := dialect(toks[open+1:commas[2]], resolve)
	if err != nil {
		return nil, 0, err
	}
	out := append([]token{toks[0], {tokPunct, "("}}, inner...)
	out = append(out, token{tokPunct, ")"})
	return out, end + 1, nil
}

// keywords that never start a qualified name.
var sqlKeywords = map[string]bool{
	"select": true, "from": true, "where": true, "and": true, "or": true, "not": true, "as": true,
	"on": true, "join": true, "group": true, "by": true, "order": true, "having": true, "limit": true,
}

func isKeyword(w string) bool { return sqlKeywords[strings.ToLower(w)] }

// readOnlyFirst are the words a read-only statement may start with.
var readOnlyFirst = map[string]bool{"select": true, "with": true, "values": true, "from": true, "table": true, "describe": true, "desc": true, "show": true}

// writeWords are words no read-only statement holds outside strings and
// quoted names.
var writeWords = map[string]bool{
	"insert": true, "update": true, "delete": true, "merge": true, "create": true, "drop": true, "alter": true,
	"truncate": true, "cache": true, "uncache": true, "refresh": true, "msck": true, "grant": true, "revoke": true,
	"optimize": true, "vacuum": true, "restore": true, "clone": true, "overwrite": true,
}

// sealedFunctions reach outside the lake; a sealed engine refuses them.
var sealedFunctions = map[string]bool{"read_files": true, "reflect": true, "java_method": true, "try_reflect": true}

// checkQuery says why toks is not exactly one read-only query ("" when
// it is). With sealed (not nil), it also asks sealed about the statement
// (Engine.sealedCheck: relations that are not the lake's tables, paths,
// functions that read files or call Java).
func checkQuery(toks []token, sealed func(st []token) string) string {
	stmts := statements(toks)
	switch {
	case len(stmts) == 0:
		return "no statement"
	case len(stmts) > 1:
		return fmt.Sprintf("%d statements", len(stmts))
	}
	st := stmts[0]
	i := next(st, 0)
	for i < len(st) && st[i].text == "(" {
		i = next(st, i+1)
	}
	if i >= len(st) || st[i].kind != tokWord || !readOnlyFirst[strings.ToLower(st[i].text)] {
		first := ""
		if i < len(st) {
			first = st[i].text
		}
		return fmt.Sprintf("a statement starting with %q", first)
	}
	for _, t := range st {
		if t.kind != tokWord {
			continue
		}
		w := strings.ToLower(t.text)
		if writeWords[w] {
			return "a statement containing " + strings.ToUpper(w)
		}
	}
	if sealed != nil {
		return sealed(st)
	}
	return ""
}
