package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
)

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// sqlToken is a piece of a statement: code, a '…' or $tag$…$tag$ string
// literal, or a "…" quoted identifier. Comments are dropped.
type sqlToken struct {
	kind byte // 'c' code, 's' string, 'i' quoted identifier
	text string
}

// tokenizeSQL splits sql into code, string literals and quoted identifiers,
// dropping comments (replaced by a space in the code).
func tokenizeSQL(sql string) []sqlToken {
	var out []sqlToken
	var code strings.Builder
	flush := func() {
		if code.Len() > 0 {
			out = append(out, sqlToken{'c', code.String()})
			code.Reset()
		}
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = len(sql) - i
			}
			i += j
			code.WriteByte(' ')
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			j := strings.Index(sql[i+2:], "*/")
			if j < 0 {
				i = len(sql)
			} else {
				i += 2 + j + 2
			}
			code.WriteByte(' ')
		case c == '\'' || c == '"':
			var lit strings.Builder
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						lit.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				lit.WriteByte(sql[j])
				j++
			}
			flush()
			kind := byte('s')
			if c == '"' {
				kind = 'i'
			}
			out = append(out, sqlToken{kind, lit.String()})
			i = j + 1
		case c == '$':
			if m := dollarTagRE.FindString(sql[i:]); m != "" {
				end := strings.Index(sql[i+len(m):], m)
				body := sql[i+len(m):]
				if end >= 0 {
					body = body[:end]
					i += len(m) + end + len(m)
				} else {
					i = len(sql)
				}
				flush()
				out = append(out, sqlToken{'s', body})
				continue
			}
			code.WriteByte(c)
			i++
		default:
			code.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}

var dollarTagRE = regexp.MustCompile(`^\$[A-Za-z_]*\$`)

// stripComments returns sql without comments (literals kept).
func stripComments(sql string) string {
	var sb strings.Builder
	for _, t := range tokenizeSQL(sql) {
		switch t.kind {
		case 'c':
			sb.WriteString(t.text)
		case 's':
			sb.WriteString("''")
		case 'i':
			sb.WriteString(`""`)
		}
	}
	return sb.String()
}

// forbiddenFuncRE matches table functions and functions that read files,
// other databases or the environment. The query only sees the lake through
// its layer.table names and delta_scan (checked separately).
var forbiddenFuncRE = regexp.MustCompile(`(?i)\b(read_\w+|glob|sniff_csv|parquet_\w+|json_scan|csv_scan|iceberg_\w+|sqlite_\w+|postgres_\w+|mysql_\w+|query|query_table|getenv|load_aws_credentials|duckdb_secrets|ducklake_\w+)\s*\(`)

var forbiddenNameRE = regexp.MustCompile(`(?i)^(read_\w+|glob|sniff_csv|parquet_\w+|json_scan|csv_scan|iceberg_\w+|sqlite_\w+|postgres_\w+|mysql_\w+|query|query_table|getenv|load_aws_credentials|duckdb_secrets|ducklake_\w+)$`)

var deltaScanOpenRE = regexp.MustCompile(`(?i)\bdelta_scan\s*\(\s*$`)

// fileLikeRE matches literals that DuckDB would read as a file (a
// replacement scan such as FROM 'orders.csv').
var fileLikeRE = regexp.MustCompile(`(?i)\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|xlsx|db|duckdb|sqlite|arrow|avro)$`)

// checkSQL refuses statements that could reach files outside the project's
// lake: file-reading functions (read_csv, read_parquet, read_json, glob,
// read_text, read_blob, …), quoted literals or identifiers that look like
// paths (containing '/' or '\', or ending in a data-file extension), and
// delta_scan of a location outside lakeRoot.
func checkSQL(sql, lakeRoot string) error {
	toks := tokenizeSQL(sql)
	for i, t := range toks {
		switch t.kind {
		case 'c':
			if m := forbiddenFuncRE.FindStringSubmatch(t.text); m != nil {
				return fmt.Errorf("forbidden: %s() can read files or data outside the project's lake; query tables by name (layer.table) or with delta_scan('<path inside the lake>')", strings.ToLower(m[1]))
			}
		case 'i':
			if forbiddenNameRE.MatchString(t.text) {
				return fmt.Errorf("forbidden: %q can read files or data outside the project's lake", t.text)
			}
			if looksLikePath(t.text) {
				return fmt.Errorf("forbidden: quoted identifier %q looks like a file path; only the project's tables can be queried", t.text)
			}
		case 's':
			if i > 0 && toks[i-1].kind == 'c' && deltaScanOpenRE.MatchString(toks[i-1].text) {
				if !insideLake(t.text, lakeRoot) {
					return fmt.Errorf("forbidden: delta_scan('%s') is outside the project's lake (%s)", t.text, lakeRoot)
				}
				continue
			}
			if looksLikePath(t.text) {
				return fmt.Errorf("forbidden: the string literal '%s' looks like a file path (contains '/' or '\\' or a file extension); file access outside the project's tables is not allowed", t.text)
			}
		}
	}
	return nil
}

func looksLikePath(s string) bool {
	return strings.ContainsAny(s, `/\`) || fileLikeRE.MatchString(strings.TrimSpace(s))
}

// insideLake reports whether loc (as delta_scan would open it) is the lake
// root or below it.
func insideLake(loc, lakeRoot string) bool {
	if strings.Contains(lakeRoot, "://") {
		root := strings.TrimSuffix(lakeRoot, "/") + "/"
		return strings.HasPrefix(loc, root) && !strings.Contains(loc[len(root):], "..")
	}
	if rest, ok := strings.CutPrefix(loc, "file://"); ok {
		loc = rest
	} else if strings.Contains(loc, "://") {
		return false
	}
	abs, err := filepath.Abs(loc)
	if err != nil {
		return false
	}
	root, err := filepath.Abs(lakeRoot)
	if err != nil {
		return false
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	if a, err := filepath.EvalSymlinks(abs); err == nil {
		abs = a
	}
	rel, err := filepath.Rel(root, abs)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
