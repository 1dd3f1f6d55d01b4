package duckdb

import "github.com/medallionhq/medallion/delta"

// A CSV load reads the declared double columns (engine.Source.Types) as
// DOUBLE in the scan itself instead of as text cast afterwards: the text of
// a wide column is never materialized, and TypeText has nothing to cast or
// rescue in it. DuckDB's reader rejects a record whose value does not read
// as a double (error type CAST); then the files are read again as text and
// typed as before, so such a value is rescued, not lost. Only doubles are
// read this way: the reader rounds "10.5" into an integer column (TypeText
// rescues it) and makes NULL of a timestamp it cannot read without
// rejecting the record.

// csvTypes are the DuckDB types a CSV scan reads typed, by column.
func csvTypes(types map[string]delta.DataType) map[string]string {
	var out map[string]string
	for name, t := range types {
		if t.Name == delta.TypeDouble {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = "DOUBLE"
		}
	}
	return out
}

// textOf is a column of a loaded relation as text: itself, or its text
// when the load read it typed.
func (e *Engine) textOf(rel, col string) string {
	if _, ok := e.typed[rel][col]; ok {
		return "CAST(" + quoteIdent(col) + " AS VARCHAR)"
	}
	return quoteIdent(col)
}
