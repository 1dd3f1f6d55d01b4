package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Time travel and the change data feed in SQL, as Spark SQL spells them:
//
//	SELECT … FROM gold.daily_revenue VERSION AS OF 3
//	SELECT … FROM gold.daily_revenue TIMESTAMP AS OF '2026-12-01 10:00'
//	SELECT … FROM delta_scan('path') VERSION AS OF 3
//	SELECT … FROM delta_scan('path', version => 3)   (DuckDB's spelling)
//	SELECT … FROM table_changes('silver.orders', 3[, 5])
//
// DuckDB's parser knows none of these. Before a statement is checked, each
// reference is found with a tokenizer that skips strings, quoted
// identifiers and comments, the table is bound at that version (or its
// change data feed over those versions) under a fresh name, and the
// reference is replaced by that name. The rewritten statement is what the
// parser checks and the engine runs, so the sandbox sees nothing new.

// sqlToken is one token of a SQL text: kind is 'w' (word), 'q' (quoted
// identifier), 's' (string), 'n' (number) or the punctuation character.
type sqlToken struct {
	kind       byte
	text       string // words as written; identifiers and strings unquoted
	start, end int
}

// tokenizeSQL splits sql into tokens, skipping blanks and comments. An
// unterminated string, identifier or comment ends the text (the parser
// reports it).
func tokenizeSQL(sql string) []sqlToken {
	var out []sqlToken
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				return out
			}
			i += j + 1
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				return out
			}
			i += j + 4
		case c == '\'' || c == '"':
			var sb strings.Builder
			j := i + 1
			for {
				if j >= len(sql) {
					return out
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						sb.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				sb.WriteByte(sql[j])
				j++
			}
			kind := byte('s')
			if c == '"' {
				kind = 'q'
			}
			out = append(out, sqlToken{kind: kind, text: sb.String(), start: i, end: j + 1})
			i = j + 1
		case c == '$':
			// Dollar-quoted string: $tag$ … $tag$.
			j := strings.IndexByte(sql[i+1:], '$')
			if j < 0 {
				out = append(out, sqlToken{kind: c, text: "$", start: i, end: i + 1})
				i++
				continue
			}
			tag := sql[i : i+j+2]
			if !isTag(tag[1 : len(tag)-1]) {
				out = append(out, sqlToken{kind: c, text: "$", start: i, end: i + 1})
				i++
				continue
			}
			k := strings.Index(sql[i+len(tag):], tag)
			if k < 0 {
				return out
			}
			end := i + len(tag) + k + len(tag)
			out = append(out, sqlToken{kind: 's', text: sql[i+len(tag) : i+len(tag)+k], start: i, end: end})
			i = end
		case isWordByte(c) && !(c >= '0' && c <= '9'):
			j := i
			for j < len(sql) && isWordByte(sql[j]) {
				j++
			}
			out = append(out, sqlToken{kind: 'w', text: sql[i:j], start: i, end: j})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(sql) && (isWordByte(sql[j]) || sql[j] == '.') {
				j++
			}
			out = append(out, sqlToken{kind: 'n', text: sql[i:j], start: i, end: j})
			i = j
		default:
			out = append(out, sqlToken{kind: c, text: string(c), start: i, end: i + 1})
			i++
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isTag(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

// ttRef is one time-travel or change-feed reference in a statement.
type ttRef struct {
	start, end int // the span replaced
	table      string
	path       string // delta_scan('path') or table_changes('path', …)
	changes    bool   // table_changes
	version    int64  // VERSION AS OF; table_changes' start
	endVersion int64  // table_changes' end (-1: latest)
	timestamp  string // TIMESTAMP AS OF
	alias      string // alias to add when the statement gives none
}

// reservedAfterTable are the words that may follow a table reference and
// are not an alias.
var reservedAfterTable = map[string]bool{
	"where": true, "join": true, "left": true, "right": true, "inner": true, "full": true, "cross": true,
	"outer": true, "on": true, "using": true, "group": true, "order": true, "limit": true, "union": true,
	"except": true, "intersect": true, "having": true, "window": true, "qualify": true, "natural": true,
	"positional": true, "asof": true, "anti": true, "semi": true, "offset": true, "fetch": true,
	"lateral": true, "pivot": true, "unpivot": true, "tablesample": true, "using_sample": true, "as": true,
}

func isWord(t sqlToken, w string) bool { return t.kind == 'w' && strings.EqualFold(t.text, w) }

func isName(t sqlToken) bool { return t.kind == 'w' || t.kind == 'q' }

// nameText is an identifier as DuckDB resolves it: unquoted words fold to
// lower case.
func nameText(t sqlToken) string {
	if t.kind == 'w' {
		return strings.ToLower(t.text)
	}
	return t.text
}

// findTimeTravel finds the time-travel and change-feed references of sql.
func findTimeTravel(sql string) ([]ttRef, error) {
	toks := tokenizeSQL(sql)
	at := func(i int) sqlToken {
		if i < len(toks) {
			return toks[i]
		}
		return sqlToken{}
	}
	// asOf parses VERSION AS OF n | TIMESTAMP AS OF 'ts' at i.
	asOf := func(i int, r *ttRef) (int, bool, error) {
		if !(isWord(at(i), "version") || isWord(at(i), "timestamp")) || !isWord(at(i+1), "as") || !isWord(at(i+2), "of") {
			return i, false, nil
		}
		v := at(i + 3)
		if isWord(at(i), "version") {
			n, err := strconv.ParseInt(v.text, 10, 64)
			if v.kind != 'n' || err != nil || n < 0 {
				return i, false, fmt.Errorf("pipeline: VERSION AS OF needs a version number, not %q", v.text)
			}
			r.version = n
		} else {
			if v.kind != 's' {
				return i, false, fmt.Errorf("pipeline: TIMESTAMP AS OF needs a quoted timestamp such as '2026-12-01 10:00', not %q", v.text)
			}
			r.timestamp = v.text
		}
		r.end = v.end
		return i + 4, true, nil
	}
	var refs []ttRef
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if i > 0 && toks[i-1].kind == '.' {
			continue // the middle of a longer name
		}
		switch {
		case isWord(t, "table_changes") && at(i+1).kind == '(':
			r := ttRef{start: t.start, changes: true, endVersion: -1}
			arg := at(i + 2)
			if arg.kind != 's' {
				return nil, fmt.Errorf("pipeline: table_changes needs a quoted table name ('silver.orders') first")
			}
			if strings.ContainsAny(arg.text, "/\\:") {
				r.path = arg.text
			} else {
				r.table = arg.text
			}
			j := i + 3
			var nums []int64
			for at(j).kind == ',' {
				n, err := strconv.ParseInt(at(j+1).text, 10, 64)
				if at(j+1).kind != 'n' || err != nil || n < 0 {
					return nil, fmt.Errorf("pipeline: table_changes(%s, …): versions must be whole numbers, not %q", sqlString(arg.text), at(j+1).text)
				}
				nums = append(nums, n)
				j += 2
			}
			if at(j).kind != ')' || len(nums) < 1 || len(nums) > 2 {
				return nil, fmt.Errorf("pipeline: table_changes takes a table name, a start version and an optional end version: table_changes('silver.orders', 3[, 5])")
			}
			r.version = nums[0]
			if len(nums) == 2 {
				r.endVersion = nums[1]
			}
			r.end = at(j).end
			refs = append(refs, r)
			i = j
		case isWord(t, "delta_scan") && at(i+1).kind == '(' && at(i+2).kind == 's' && at(i+3).kind == ',' &&
			isWord(at(i+4), "version") && at(i+5).kind == '=' && at(i+6).kind == '>' && at(i+8).kind == ')':
			// DuckDB's delta extension spelling: delta_scan('path', version => n).
			n, err := strconv.ParseInt(at(i+7).text, 10, 64)
			if at(i+7).kind != 'n' || err != nil || n < 0 {
				return nil, fmt.Errorf("pipeline: delta_scan(…, version => n) needs a version number, not %q", at(i+7).text)
			}
			refs = append(refs, ttRef{start: t.start, end: at(i + 8).end, path: at(i + 2).text, version: n})
			i += 8
		case isWord(t, "delta_scan") && at(i+1).kind == '(' && at(i+2).kind == 's' && at(i+3).kind == ')':
			r := ttRef{start: t.start, path: at(i + 2).text}
			j, ok, err := asOf(i+4, &r)
			if err != nil {
				return nil, err
			}
			if ok {
				refs = append(refs, r)
				i = j - 1
			}
		case isName(t) && at(i+1).kind == '.' && isName(at(i+2)):
			r := ttRef{start: t.start, table: nameText(t) + "." + nameText(at(i+2))}
			j, ok, err := asOf(i+3, &r)
			if err != nil {
				return nil, err
			}
			if ok {
				next := at(j)
				if !(next.kind == 'w' && !reservedAfterTable[strings.ToLower(next.text)] || isWord(next, "as") || next.kind == 'q') {
					r.alias = nameText(at(i + 2))
				}
				refs = append(refs, r)
				i = j - 1
			}
		}
	}
	return refs, nil
}

// timestampLayouts are the spellings TIMESTAMP AS OF accepts; without a
// zone the time is UTC, as Spark reads it with spark.sql.session.timeZone
// UTC.
var timestampLayouts = []string{
	time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02",
}

func parseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("pipeline: TIMESTAMP AS OF '%s': not a timestamp (want e.g. '2026-12-01 10:00' or '2026-12-01T10:00:00Z')", s)
}

// rewriteTimeTravel binds what the time-travel and change-feed references
// of sql name and returns sql with each replaced by its bound name.
func (s *Session) rewriteTimeTravel(ctx context.Context, sql string) (string, error) {
	refs, err := findTimeTravel(sql)
	if err != nil || len(refs) == 0 {
		return sql, err
	}
	names := make([]string, len(refs))
	for i, r := range refs {
		if names[i], err = s.bindRef(ctx, r); err != nil {
			return "", err
		}
	}
	return replaceRefs(sql, refs, names, s.eng.Quote), nil
}

// replaceRefs replaces each reference of sql by its name (and the alias
// the reference needs, quoted by quote).
func replaceRefs(sql string, refs []ttRef, names []string, quote func(string) string) string {
	var sb strings.Builder
	last := 0
	for i, r := range refs {
		sb.WriteString(sql[last:r.start])
		sb.WriteString(names[i])
		if r.alias != "" {
			sb.WriteString(" AS " + quote(r.alias))
		}
		last = r.end
	}
	sb.WriteString(sql[last:])
	return sb.String()
}

// bindRef binds one reference under a fresh name.
func (s *Session) bindRef(ctx context.Context, r ttRef) (string, error) {
	s.seq++
	name := ttName(r, s.seq)
	if err := bindTimeTravel(ctx, s.eng, s.lake, s.openPath, name, r); err != nil {
		return "", err
	}
	return name, nil
}

// ttName is the name reference r is bound under, numbered seq.
func ttName(r ttRef, seq int) string {
	if r.changes {
		return fmt.Sprintf("__table_changes_%d", seq)
	}
	return fmt.Sprintf("__time_travel_%d", seq)
}

// bindTimeTravel binds what reference r names (a table of lake, or the
// Delta table open opens for delta_scan and table_changes paths) at its
// version, or its change data feed, in eng under name.
func bindTimeTravel(ctx context.Context, eng engine.Engine, lake *Lake, open func(context.Context, string) (*delta.Table, error), name string, r ttRef) error {
	what := r.table
	var tbl *delta.Table
	if r.path != "" {
		what = "delta_scan('" + r.path + "')"
		t, err := open(ctx, r.path)
		if err != nil {
			return err
		}
		tbl = t
	} else {
		t, err := lake.Table(ctx, r.table)
		if err != nil {
			return err
		}
		if ok, err := t.Exists(ctx); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("pipeline: %s: no such table in the lake", r.table)
		}
		tbl = t
	}
	if r.changes {
		end := r.endVersion
		if end < 0 {
			latest, err := tbl.Snapshot(ctx)
			if err != nil {
				return fmt.Errorf("pipeline: table_changes(%s): %w", what, err)
			}
			end = latest.Version()
		}
		files, err := tbl.ChangeFeed(ctx, r.version, end)
		if err != nil {
			return fmt.Errorf("pipeline: table_changes(%s, %d, %d): %w", what, r.version, end, err)
		}
		snap, err := tbl.SnapshotAt(ctx, end)
		if err != nil {
			return fmt.Errorf("pipeline: table_changes(%s): %w", what, err)
		}
		return eng.BindChanges(ctx, name, snap, files)
	}
	var snap *delta.Snapshot
	var err error
	if r.timestamp != "" {
		ts, perr := parseTimestamp(r.timestamp)
		if perr != nil {
			return perr
		}
		snap, err = tbl.SnapshotAsOf(ctx, ts)
	} else {
		snap, err = tbl.SnapshotAt(ctx, r.version)
	}
	if err != nil {
		return fmt.Errorf("pipeline: %s: %w", what, err)
	}
	return eng.Bind(ctx, name, snap, nil)
}
