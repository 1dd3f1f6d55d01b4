package pgwire

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// sqlToken is one token of a statement for applySearchPath: an identifier
// (bare or "quoted"), a punctuation character, or anything else that must
// be copied unchanged (literals, numbers, white space and comments, the
// last two being trivia).
type sqlToken struct {
	text   string
	kind   tokenKind
	trivia bool
}

type tokenKind int

const (
	tokOther tokenKind = iota
	tokIdent
	tokQuoted
	tokPunct
)

// tokens splits sql into sqlTokens, using lex for what must not be
// rewritten (strings, quoted identifiers, comments, dollar quotes).
func tokens(sql string) []sqlToken {
	var out []sqlToken
	for _, s := range lex(sql) {
		if !s.code {
			switch {
			case strings.HasPrefix(s.text, `"`):
				out = append(out, sqlToken{text: s.text, kind: tokQuoted})
			case strings.HasPrefix(s.text, "--"), strings.HasPrefix(s.text, "/*"):
				out = append(out, sqlToken{text: s.text, trivia: true})
			default:
				out = append(out, sqlToken{text: s.text})
			}
			continue
		}
		text := s.text
		for len(text) > 0 {
			r, n := utf8.DecodeRuneInString(text)
			end := n
			kind, trivia := tokOther, false
			switch {
			case unicode.IsSpace(r):
				for end < len(text) {
					r, n := utf8.DecodeRuneInString(text[end:])
					if !unicode.IsSpace(r) {
						break
					}
					end += n
				}
				trivia = true
			case r == '_' || unicode.IsLetter(r):
				for end < len(text) {
					r, n := utf8.DecodeRuneInString(text[end:])
					if r != '_' && r != '$' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
						break
					}
					end += n
				}
				kind = tokIdent
			case unicode.IsDigit(r):
				for end < len(text) && (isIdent(text[end]) || text[end] == '.') {
					end++
				}
			default:
				kind = tokPunct
			}
			out = append(out, sqlToken{text: text[:end], kind: kind, trivia: trivia})
			text = text[end:]
		}
	}
	return out
}

// fromClauseEnd holds the keywords that end a FROM clause at their level.
var fromClauseEnd = map[string]bool{
	"where": true, "group": true, "having": true, "order": true, "limit": true, "offset": true,
	"union": true, "intersect": true, "except": true, "window": true, "qualify": true,
	"fetch": true, "returning": true, "select": true,
}

// applySearchPath qualifies the unqualified relation names of sql's FROM
// clauses (each item of a comma list, and each JOIN's) with the first
// schema of the session's search_path that has a relation of that name:
// after SET search_path TO silver, FROM orders o, customers c reads
// silver.orders and silver.customers. Quoted names match exactly; the
// query's CTE names, qualified names, table functions and subqueries stay
// as they are, and a FROM that is not a clause (extract(year FROM x)) is
// left alone.
func (t *translator) applySearchPath(sql string) string {
	path := t.searchPath()
	if len(path) == 0 {
		return sql
	}
	toks := tokens(sql)
	var code strings.Builder
	for _, s := range lex(sql) {
		if s.code {
			code.WriteString(s.text)
		}
	}
	ctes := map[string]bool{}
	for _, m := range cteNameRE.FindAllStringSubmatch(code.String(), -1) {
		ctes[strings.ToLower(m[1])] = true
	}
	var rels map[string]bool
	qualify := func(name string) string {
		if rels == nil {
			rels = map[string]bool{}
			for _, r := range t.lake.relations() {
				rels[strings.ToLower(r)] = true
			}
		}
		for _, schema := range path {
			if rels[strings.ToLower(schema)+"."+name] {
				return strings.ToLower(schema)
			}
		}
		return ""
	}
	// nextCode returns the first token after i that is not trivia.
	nextCode := func(i int) string {
		for j := i + 1; j < len(toks); j++ {
			if !toks[j].trivia {
				return toks[j].text
			}
		}
		return ""
	}
	// One frame per parenthesis level: whether a SELECT began at this level,
	// whether no token came yet, whether a FROM clause is open.
	type frame struct{ selected, first, inFrom bool }
	frames := []frame{{first: true}}
	expect := false // the next name is a relation
	var b strings.Builder
	for i, tok := range toks {
		if tok.trivia {
			b.WriteString(tok.text)
			continue
		}
		f := &frames[len(frames)-1]
		first := f.first
		f.first = false
		out := tok.text
		switch {
		case expect && (tok.kind == tokIdent || tok.kind == tokQuoted):
			lower := strings.ToLower(tok.text)
			if tok.kind == tokIdent && (lower == "lateral" || lower == "only") {
				break // the relation follows
			}
			expect = false
			if next := nextCode(i); next == "." || next == "(" {
				break // qualified, or a table function
			}
			name := lower
			if tok.kind == tokQuoted {
				name = strings.ReplaceAll(strings.Trim(tok.text, `"`), `""`, `"`)
			} else if ctes[lower] {
				break
			}
			if schema := qualify(name); schema != "" {
				out = schema + "." + tok.text
			}
		case tok.kind == tokIdent:
			expect = false
			switch kw := strings.ToLower(tok.text); {
			case kw == "from":
				if f.selected || first {
					expect, f.inFrom = true, true
				}
			case kw == "join":
				expect, f.inFrom = true, true
			case kw == "select":
				f.selected, f.inFrom = true, false
			case fromClauseEnd[kw]:
				f.inFrom = false
			}
		case tok.text == "(":
			expect = false
			frames = append(frames, frame{first: true})
		case tok.text == ")":
			expect = false
			if len(frames) > 1 {
				frames = frames[:len(frames)-1]
			}
		case tok.text == ",":
			expect = f.inFrom
		default:
			expect = false
		}
		b.WriteString(out)
	}
	return b.String()
}
