package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// CheckQuery asks DuckDB's parser (json_serialize_sql, which parses
// without binding or running anything) whether sql is exactly one
// statement and whether that statement is a query. DuckDB parses SELECT,
// WITH … SELECT, FROM …, VALUES, DESCRIBE, SHOW and SUMMARIZE as a
// SelectStatement and refuses to serialize any other kind, so the answer
// is the parser's, whatever comments, quotes or escapes the text holds.
func (e *Engine) CheckQuery(ctx context.Context, sql string) error {
	var out string
	if err := e.conn.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)", sql).Scan(&out); err != nil {
		return fmt.Errorf("duckdb: check query: %w", err)
	}
	return parseCheck(sql, out)
}

// parseCheck reads json_serialize_sql's answer about sql. A parser error
// that carries a position says its line the way DuckDB's own errors do
// ("LINE n:"), so callers can point at the user's line.
func parseCheck(sql, out string) error {
	var res struct {
		Error        bool              `json:"error"`
		ErrorType    string            `json:"error_type"`
		ErrorMessage string            `json:"error_message"`
		Position     string            `json:"position"`
		Statements   []json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return fmt.Errorf("duckdb: check query: %w", err)
	}
	switch {
	case res.Error && strings.Contains(res.ErrorMessage, "Only SELECT statements"):
		return fmt.Errorf("%w: only read-only statements (SELECT, WITH … SELECT, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE) are allowed", engine.ErrNotQuery)
	case res.Error:
		if pos, err := strconv.Atoi(res.Position); err == nil && pos >= 0 && pos <= len(sql) {
			return fmt.Errorf("duckdb: %s\n\nLINE %d:", res.ErrorMessage, strings.Count(sql[:pos], "\n")+1)
		}
		return fmt.Errorf("duckdb: %s", res.ErrorMessage)
	case len(res.Statements) == 0:
		return fmt.Errorf("%w: the statement is empty", engine.ErrNotQuery)
	case len(res.Statements) > 1:
		return fmt.Errorf("%w: found %d statements; only read-only statements are allowed, one at a time", engine.ErrNotQuery, len(res.Statements))
	}
	return nil
}

// Sandbox sets, in this order, DuckDB's allowed_directories (dirs and the
// temp directory, symlinks resolved), enable_external_access=false (no
// file outside those directories, no network, no ATTACH of other
// databases, no extension loading) and lock_configuration=true (no SET or
// RESET can undo any of it).
func (e *Engine) Sandbox(ctx context.Context, dirs []string) error {
	if e.owner != nil {
		return e.sessionSandbox(dirs)
	}
	var tmp string
	if err := e.conn.QueryRowContext(ctx, "SELECT current_setting('temp_directory')").Scan(&tmp); err != nil {
		return fmt.Errorf("duckdb: sandbox: %w", err)
	}
	if tmp != "" {
		dirs = append(dirs, tmp)
	}
	var list []string
	for _, d := range dirs {
		for _, p := range allowedForms(d) {
			list = append(list, quoteString(p))
		}
	}
	stmts := []string{
		"SET autoinstall_known_extensions=false",
		"SET autoload_known_extensions=false",
		"SET allowed_directories=[" + strings.Join(list, ", ") + "]",
		"SET enable_external_access=false",
		"SET lock_configuration=true",
	}
	if len(list) == 0 {
		stmts = append(stmts[:2], stmts[3:]...)
	}
	for _, s := range stmts {
		if _, err := e.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("duckdb: sandbox: %s: %w", s, err)
		}
	}
	return nil
}

// allowedForms are the absolute path of dir and, when it differs, the
// path with symlinks resolved, each ending in a separator so that a
// sibling sharing the prefix ("/lake2" for "/lake") is not allowed.
func allowedForms(dir string) []string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	out := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		out = append(out, real)
	}
	for i, p := range out {
		out[i] = strings.TrimSuffix(p, string(filepath.Separator)) + string(filepath.Separator)
	}
	return out
}

var extensionRE = regexp.MustCompile(`(?s)^(.*?) is not in the catalog, but it exists in the (\w+) extension\..*$`)

// explainError replaces DuckDB's advice to install and auto-load an
// extension (which medallion never does at run time) with a plain
// refusal naming the extension.
func explainError(err error) error {
	m := extensionRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	return errors.New(m[1] + " needs DuckDB's " + m[2] + " extension, which medallion does not load: it downloads nothing at run time")
}

// Describe prepares sql without running it and returns the type DuckDB
// infers for each of its parameters ($1, $2, …), by DuckDB's type name
// (BIGINT, DATE, VARCHAR; "ANY" when nothing constrains it), and its
// result columns (a type DuckDB cannot tell yet is a string). It is what
// the Postgres endpoint describes to clients before they bind values.
func (e *Engine) Describe(ctx context.Context, sql string) ([]string, []engine.Column, error) {
	var params []string
	var cols []engine.Column
	err := e.conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return errors.New("driver cannot prepare")
		}
		st, err := pc.PrepareContext(ctx, sql)
		if err != nil {
			return err
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return errors.New("not a DuckDB statement")
		}
		for i := 1; i <= ds.NumInput(); i++ {
			t, err := ds.ParamType(i)
			if err != nil {
				return err
			}
			params = append(params, typeName(t))
		}
		n, err := ds.ColumnCount()
		if err != nil {
			return err
		}
		for i := range n {
			name, err := ds.ColumnName(i)
			if err != nil {
				return err
			}
			t, err := ds.ColumnType(i)
			if err != nil {
				return err
			}
			dt := describedType(t)
			if t == duckdb.TYPE_DECIMAL {
				if info, err := ds.ColumnTypeInfo(i); err == nil {
					if d, ok := info.Details().(*duckdb.DecimalDetails); ok {
						dt = delta.Decimal(int(d.Width), int(d.Scale))
					}
				}
			}
			cols = append(cols, engine.Column{Name: name, Type: dt})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("duckdb: describe: %w", explainError(err))
	}
	return params, cols, nil
}

// describedType is the Delta type of a described result column, as Scan
// would report it.
func describedType(t duckdb.Type) delta.DataType {
	switch t {
	case duckdb.TYPE_LIST, duckdb.TYPE_ARRAY:
		s := delta.Primitive(delta.TypeString)
		return delta.DataType{Name: delta.TypeArray, ElementType: &s, ContainsNull: true}
	case duckdb.TYPE_STRUCT, duckdb.TYPE_UNION:
		return delta.DataType{Name: delta.TypeStruct}
	case duckdb.TYPE_MAP:
		s := delta.Primitive(delta.TypeString)
		return delta.DataType{Name: delta.TypeMap, KeyType: &s, ValueType: &s, ValueContainsNull: true}
	case duckdb.TYPE_TIMESTAMP_TZ:
		return delta.Primitive(delta.TypeTimestamp)
	}
	if n := typeName(t); n != "ANY" {
		if dt, _, err := deltaType(n); err == nil {
			return dt
		}
	}
	return delta.Primitive(delta.TypeString)
}

// typeName is DuckDB's name of a parameter type.
func typeName(t duckdb.Type) string {
	switch t {
	case duckdb.TYPE_BOOLEAN:
		return "BOOLEAN"
	case duckdb.TYPE_TINYINT:
		return "TINYINT"
	case duckdb.TYPE_SMALLINT:
		return "SMALLINT"
	case duckdb.TYPE_INTEGER:
		return "INTEGER"
	case duckdb.TYPE_BIGINT, duckdb.TYPE_UTINYINT, duckdb.TYPE_USMALLINT, duckdb.TYPE_UINTEGER:
		return "BIGINT"
	case duckdb.TYPE_HUGEINT, duckdb.TYPE_UBIGINT:
		return "HUGEINT"
	case duckdb.TYPE_DECIMAL:
		return "DECIMAL"
	case duckdb.TYPE_FLOAT:
		return "FLOAT"
	case duckdb.TYPE_DOUBLE:
		return "DOUBLE"
	case duckdb.TYPE_DATE:
		return "DATE"
	case duckdb.TYPE_TIMESTAMP, duckdb.TYPE_TIMESTAMP_S, duckdb.TYPE_TIMESTAMP_MS, duckdb.TYPE_TIMESTAMP_NS:
		return "TIMESTAMP"
	case duckdb.TYPE_TIMESTAMP_TZ:
		return "TIMESTAMPTZ"
	case duckdb.TYPE_VARCHAR:
		return "VARCHAR"
	case duckdb.TYPE_BLOB:
		return "BLOB"
	}
	return "ANY"
}
