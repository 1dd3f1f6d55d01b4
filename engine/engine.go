// Package engine is the interface between medallion's pipeline and the SQL
// engine that runs models: DuckDB embedded (engine/duckdb) by default, Spark
// through Spark Connect later. Models are plain SQL over tables named
// layer.table; nothing above this interface knows which engine runs them.
package engine

import (
	"context"
	"errors"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/storage"
)

// ErrNotLocal means the engine needs a table or file on local disk and was
// given one on a store it cannot read directly.
var ErrNotLocal = errors.New("engine: storage is not local")

// ErrNotQuery means a statement is not exactly one read-only query.
var ErrNotQuery = errors.New("engine: not a single read-only query")

// Engine runs SQL over Delta table snapshots and landing files, and writes
// query results as Parquet data files for a Delta commit.
//
// An Engine is not safe for concurrent use: the pipeline drives one model at
// a time per engine. Every method that does work takes a context; cancelling
// it interrupts the running statement.
type Engine interface {
	// Bind makes a snapshot readable in SQL under name ("silver.orders").
	// files, when non-nil, restricts the relation to those data files (the
	// changes since a version, say). Binding a name again replaces it.
	Bind(ctx context.Context, name string, snap *delta.Snapshot, files []*delta.Add) error
	// Cache replaces a bound name with an in-memory copy of its rows, for a
	// relation several statements will read. Binding the name again drops
	// the copy.
	Cache(ctx context.Context, name string) error
	// BindEmpty makes name an empty relation of the given schema (a table
	// that does not exist yet).
	BindEmpty(ctx context.Context, name string, schema *delta.StructType) error
	// Load reads landing files into a temporary relation name with every
	// column as text, plus the column _source_file (the file's path as
	// given). Rows the reader cannot parse are returned as Rejects, not
	// dropped silently.
	Load(ctx context.Context, name string, src Source) (*LoadResult, error)
	// MatchFiles returns the files among files of snap that hold at least
	// one row whose key columns equal those of a row of relation (a bound
	// name or temporary table). It is how a merge by key finds the files to
	// rewrite. With nullSafe, NULL keys match NULL keys.
	MatchFiles(ctx context.Context, snap *delta.Snapshot, files []*delta.Add, keys []string, relation string, nullSafe bool) ([]*delta.Add, error)
	// Query runs a statement and returns its rows.
	Query(ctx context.Context, sql string) (*Result, error)
	// Scan runs a statement, calls columns once with its result columns,
	// then row with each row in order (the slice is reused between calls).
	// An error from columns or row stops the statement and is returned.
	Scan(ctx context.Context, sql string, columns func([]Column) error, row func([]any) error) error
	// CheckQuery returns nil when the engine's own parser reads sql as
	// exactly one read-only query: SELECT, WITH … SELECT, FROM …, VALUES,
	// or DESCRIBE / SHOW / SUMMARIZE. Otherwise it returns an error
	// wrapping ErrNotQuery (or the parser's error), saying why.
	CheckQuery(ctx context.Context, sql string) error
	// Sandbox confines the engine from now on, for good: it reads and
	// writes files only under dirs (symlinks resolved), reaches no network,
	// loads no extension and can no longer change its own settings.
	// Binding tables whose files lie under dirs keeps working.
	Sandbox(ctx context.Context, dirs []string) error
	// Exec runs statements that return no rows (temporary tables, views).
	Exec(ctx context.Context, sql string) error
	// Write runs a SELECT and writes its rows as Parquet files into dst,
	// one or more per partition, returning add actions with stats. Nothing
	// is committed.
	Write(ctx context.Context, sql string, dst Target) (*WriteResult, error)
	// SQLType is the engine's SQL name of a Delta type, for the casts in
	// statements the pipeline writes. Types the engine cannot name fail.
	SQLType(t delta.DataType) (string, error)
	// Close releases the engine.
	Close() error
}

// Format is a landing file format.
type Format string

// Landing file formats.
const (
	CSV     Format = "csv"
	JSON    Format = "json"
	Parquet Format = "parquet"
)

// Source describes landing files to load.
type Source struct {
	Format Format
	// Files are local paths (or paths the engine can read).
	Files []string
	// CSV dialect. Zero values mean: header present, delimiter ",",
	// quote '"', escape '"'.
	Delimiter string
	Quote     string
	Escape    string
	NoHeader  bool
}

// Reject is one input record the reader could not parse.
type Reject struct {
	File  string
	Line  int64
	Error string
	// Raw is the record's text as read, when the reader keeps it.
	Raw string
}

// LoadResult describes a Load.
type LoadResult struct {
	// Columns are the data columns found, in file order (without
	// _source_file).
	Columns []string
	// Rows is the number of rows loaded.
	Rows int64
	// Rejects are the records that could not be parsed.
	Rejects []Reject
}

// Column is a result column with its Delta type.
type Column struct {
	Name string
	Type delta.DataType
}

// Result is the outcome of a query.
type Result struct {
	Columns []Column
	// Rows hold Go values: nil, bool, int64/int32/…, float64, string,
	// []byte, time.Time, or engine-specific values for nested types.
	Rows [][]any
}

// Target is where Write puts files: a table's storage, its partition
// columns and, for an existing table, its schema (results are cast to it).
type Target struct {
	Store            *storage.Store
	PartitionColumns []string
	Schema           *delta.StructType
	// TargetFileSize splits large outputs into files of about this many
	// bytes. Zero means one file per partition.
	TargetFileSize int64
}

// WriteResult lists what Write produced.
type WriteResult struct {
	Adds   []*delta.Add
	Schema *delta.StructType
	Rows   int64
}
