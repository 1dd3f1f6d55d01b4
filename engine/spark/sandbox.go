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
// name) or whose second part is a quoted path — or IDENTIFIER(…), which
// makes a name from a string the checks cannot see. Spark reads files on
// its own machines, so these checks, not the operating system, keep a
// query session inside the lake.
func sealedRefusal(st []token) string {
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
		if fileFormats[strings.ToLower(first)] || strings.Contains(first, ".") || pathLike {
			return "a path-based relation " + t.text + "." + second.text + " (a session of `medallion serve` reads the lake's tables by name, layer.table)"
		}
	}
	return ""
}
