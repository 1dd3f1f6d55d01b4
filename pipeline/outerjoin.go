package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// errOuterJoin says that a model's outer join of a changed table cannot be
// rewritten to find the groups its changes touch (USING, NATURAL, a quoted
// alias, an unqualified column): the model is recomputed whole.
var errOuterJoin = errors.New("pipeline: outer join of changed rows cannot be rewritten")

// outerJoinForGroups rewrites each "LEFT JOIN changes [AS] c ON cond" of sql
// so that it yields, for every row of the other side that matches a changed
// row, both its rows joined with the changed rows and the row as it comes
// out with no match (c's columns NULL):
//
//	JOIN changes __kN ON cond[c → __kN]
//	CROSS JOIN (VALUES (true), (false)) AS __dN(__keep)
//	LEFT JOIN keep c ON (cond) AND c.__keep = __dN.__keep
//
// The groups of a row that matched a deleted row before and matches nothing
// now (or matched nothing before and matches an added row now) are those of
// its unmatched form: an inner join alone would miss them and leave the
// group stale. keep is a relation of the changed rows with a column
// __keep, true on every row (the caller binds it: a subquery here would
// stop pruneLeftJoinsForGroups); the copy with __dN.__keep false matches
// none of them. That is an equality between the two sides, not "ON
// __dN.__keep AND (cond)": a condition on one side only keeps an engine
// from hashing the join, and DuckDB compared every pair of rows instead
// (1,000 changed orders' 3,000 candidate rows with 1,500 changed items:
// 30 ms, growing with the square of the change). ok is false when a LEFT
// JOIN of changes has a form this does not parse.
func outerJoinForGroups(sql, changes, keep string) (string, bool) {
	re := regexp.MustCompile(`(?i)\bLEFT\s+(?:OUTER\s+)?JOIN\s+` + regexp.QuoteMeta(changes) + `\b(?:\s+(?:AS\s+)?([A-Za-z_][A-Za-z0-9_]*))?\s+ON\b`)
	all := regexp.MustCompile(`(?i)\bLEFT\s+(?:OUTER\s+)?JOIN\s+` + regexp.QuoteMeta(changes) + `\b`)
	ms := re.FindAllStringSubmatchIndex(sql, -1)
	if len(ms) != len(all.FindAllStringIndex(sql, -1)) {
		return "", false
	}
	var b strings.Builder
	pos := 0
	for i, m := range ms {
		if m[0] < pos {
			return "", false
		}
		alias := changes
		if m[2] >= 0 {
			alias = sql[m[2]:m[3]]
		}
		end := onEnd(sql, m[1])
		cond := sql[m[1]:end]
		if strings.TrimSpace(cond) == "" {
			return "", false
		}
		k, d := fmt.Sprintf("__k%d", i), fmt.Sprintf("__d%d", i)
		aliasRef := regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_."])` + regexp.QuoteMeta(alias) + `\.`)
		kcond := aliasRef.ReplaceAllString(cond, "${1}"+k+".")
		b.WriteString(sql[pos:m[0]])
		fmt.Fprintf(&b, "JOIN %s %s ON %s\nCROSS JOIN (VALUES (true), (false)) AS %s(__keep)\nLEFT JOIN %s %s", changes, k, kcond, d, keep, alias)
		fmt.Fprintf(&b, " ON (%s\n) AND %s.__keep = %s.__keep ", cond, alias, d)
		pos = end
	}
	b.WriteString(sql[pos:])
	return b.String(), true
}

// onStop are the words that end a join's ON condition.
var onStop = map[string]bool{
	"JOIN": true, "LEFT": true, "RIGHT": true, "INNER": true, "FULL": true, "CROSS": true, "NATURAL": true,
	"ASOF": true, "POSITIONAL": true, "SEMI": true, "ANTI": true, "WHERE": true, "GROUP": true, "HAVING": true,
	"ORDER": true, "LIMIT": true, "OFFSET": true, "UNION": true, "EXCEPT": true, "INTERSECT": true,
	"QUALIFY": true, "WINDOW": true, "USING": true,
}

// onEnd returns the end of the ON condition that starts at i: the next
// clause keyword, comma, closing parenthesis or semicolon outside
// parentheses, strings and comments.
func onEnd(sql string, i int) int {
	depth := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(sql[i+1:], c)
			if j < 0 {
				return len(sql)
			}
			i += j + 2
			continue
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				return len(sql)
			}
			i += j + 1
			continue
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return i
			}
			depth--
		case depth == 0 && (c == ',' || c == ';'):
			return i
		case depth == 0 && isWordStart(sql, i):
			j := i
			for j < len(sql) && isIdent(sql[j]) {
				j++
			}
			if onStop[strings.ToUpper(sql[i:j])] {
				return i
			}
			i = j
			continue
		}
		i++
	}
	return len(sql)
}

func isIdent(c byte) bool {
	return c == '_' || c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)))
}

func isWordStart(s string, i int) bool {
	return isIdent(s[i]) && (i == 0 || !isIdent(s[i-1]) && s[i-1] != '.')
}
