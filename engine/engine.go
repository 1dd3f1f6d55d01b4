// Package engine is the interface between medallion's pipeline and the SQL
// engine that runs models: DuckDB embedded (engine/duckdb) by default, Spark
// through Spark Connect later. Models are plain SQL over tables named
// layer.table; nothing above this interface knows which engine runs them.
//
// The pipeline drives an engine through operations that return relation
// handles (Relation), never through temporary names of its own: what is
// engine-specific SQL (typing text, inference probes, dedupe by key, union
// by name, window expansion, literals, quoting) lives in the backend. Every
// backend passes the conformance suite in engine/enginetest.
//
// A process holds one Owner per project and takes sessions of it
// (OpenOwner); a backend that cannot share an engine between sessions need
// not register an owner: OpenOwner then opens one engine per session.
//
// Interface changes of the seam (issue 12, part 1), against the interface
// engine/spark was first written to:
//   - Load(ctx, src) takes no name: the rows are LoadResult.Relation.
//   - MatchFiles takes the relation of keys as a Relation, not a name.
//   - New methods: FileColumns, BindQuery, Materialize, View, BindRelation,
//     Release, UnionByName, Dedupe, Probe, TypeText, ExpandWindows, Quote,
//     Literal, EpochMillis; new types Relation, TypeProbe, TypeSpec,
//     Windows.
//   - Issue 15 (CDC models): ApplyChanges and ChangeSpec.
//   - New: Owner, SessionOptions, OwnerFunc, RegisterOwner (optional for a
//     backend), OpenOwner, Config.Sandbox.
//   - New: Describer (optional for a backend) and Describe, declared
//     where the pipeline and the Postgres endpoint had asked for the method
//     by an anonymous interface; a kind without an owner confines each
//     session once, and the session's own Sandbox then only confirms.
//   - New: Capabilities, RegisterCapabilities (optional for a backend),
//     CapabilitiesOf: what the pipeline asks of a kind instead of testing
//     it (the default parallelism; whether a source's typed batch is a
//     view or a copy). A kind that registers none gets choices right for
//     any engine: one table at a time, batches materialized.
//   - Landing files reach the engine as storage objects: Source.Files
//     (local paths the pipeline had fetched) became Source.Objects
//     (Object: store and key, size, modification time, and a local path
//     when one exists). DuckDB copies them locally through the file cache
//     (LocalPaths); Spark reads a stored object in place at its URL in the
//     scheme of its Hadoop file systems (abfss://, s3a://, gs://, a local
//     path), and a local-only object at its path. LoadResult.Files says
//     how _source_file and Reject.File name each object. Table files
//     already did: Bind and BindRelation take a snapshot (its store and
//     Add paths), not local files.
package engine

import (
	"context"
	"errors"
	"time"

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
	// BindQuery makes name (layer.table) the rows of a query: a view read
	// where it is read, or with materialize, rows computed now (a schema
	// check's empty table). Binding the name again replaces it. An error
	// in sql names lines counted from sql's first line.
	BindQuery(ctx context.Context, name, sql string, materialize bool) error
	// Load reads landing files into a new relation (LoadResult.Relation)
	// with every column as text, plus the column _source_file (the path
	// or URL the engine read the object at, LoadResult.Files), rows in
	// file order. Rows the reader cannot parse are
	// returned as Rejects, not dropped silently.
	Load(ctx context.Context, src Source) (*LoadResult, error)
	// FileColumns lists the data columns Load would find in src without
	// loading its rows (Parquet: the footer; CSV: the header line).
	FileColumns(ctx context.Context, src Source) ([]string, error)
	// MatchFiles returns the files among files of snap that hold at least
	// one row whose key columns equal those of a row of relation. It is
	// how a merge by key finds the files to rewrite. With nullSafe, NULL
	// keys match NULL keys.
	MatchFiles(ctx context.Context, snap *delta.Snapshot, files []*delta.Add, keys []string, relation Relation, nullSafe bool) ([]*delta.Add, error)
	// BindChanges makes name the change data feed of a table (the files
	// delta.Table.ChangeFeed lists, read at snap's schema): the table's
	// columns, then _change_type, _commit_version and _commit_timestamp,
	// as Spark's table_changes gives them.
	BindChanges(ctx context.Context, name string, snap *delta.Snapshot, files []delta.ChangeFile) error

	// Relation operations. Each returns a handle on a new relation the
	// engine names uniquely; statements read it as Relation.Name. The
	// caller releases what it no longer needs (Release); Close releases
	// everything.

	// Materialize computes a query's rows now and keeps them.
	Materialize(ctx context.Context, sql string) (Relation, error)
	// View names a query; its rows are computed where it is read.
	View(ctx context.Context, sql string) (Relation, error)
	// BindRelation is Bind under a name of the engine's choosing.
	BindRelation(ctx context.Context, snap *delta.Snapshot, files []*delta.Add) (Relation, error)
	// Release drops relations; releasing one twice is not an error.
	Release(ctx context.Context, rels ...Relation) error
	// UnionByName is the rows of every query, columns matched by name; a
	// column a query lacks is NULL in its rows. Column order: the first
	// query's, then new columns in order of appearance.
	UnionByName(ctx context.Context, queries ...string) (Relation, error)
	// Dedupe keeps one row per key of rel: the greatest by sequenceBy
	// (compared in order), any one without sequenceBy. Rows with a NULL
	// key column are all kept.
	Dedupe(ctx context.Context, rel Relation, keys, sequenceBy []string) (Relation, error)
	// Probe counts, over the first sample rows of rel, how many non-empty
	// (trimmed) values of each text column fit each inferable type.
	Probe(ctx context.Context, rel Relation, cols []string, sample int) ([]TypeProbe, error)
	// TypeText casts the text columns of a loaded relation to types. See
	// TypeSpec for the relation it returns.
	TypeText(ctx context.Context, rel Relation, spec TypeSpec) (Relation, error)
	// ExpandWindows is the rows of source in each event-time window that
	// holds them, with the columns window_start and window_end added. See
	// Windows.
	ExpandWindows(ctx context.Context, source string, w Windows) (Relation, error)
	// ApplyChanges is the rows of a change data capture table computed
	// from the change rows of rel. See ChangeSpec.
	ApplyChanges(ctx context.Context, rel Relation, spec ChangeSpec) (Relation, error)

	// Dialect: SQL text for the glue statements the pipeline writes
	// around models.

	// Quote quotes an identifier.
	Quote(ident string) string
	// Literal renders a value (nil, bool, int64, float64, string,
	// time.Time as a timestamp with time zone) as a SQL literal. A typed
	// NULL is written CAST(NULL AS <SQLType>). It fails only for a type
	// not listed here.
	Literal(v any) (string, error)
	// EpochMillis is an expression for the milliseconds since the epoch
	// of a timestamp expression.
	EpochMillis(expr string) string
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

// Relation is a handle on a relation an engine operation made. Name is how
// SQL statements of the same engine read it; it is unique for the engine's
// lifetime and means nothing to another engine.
type Relation struct {
	Name string
}

// TypeProbe is what Probe counts for one text column: the values that are
// not empty after trimming, and among them those that read as a whole
// number (Long), a floating-point number (Double), a timestamp, a date
// written yyyy-mm-dd, and true/false in any case.
type TypeProbe struct {
	NonEmpty, Long, Double, Timestamp, Date, Boolean int64
}

// TypeSpec says how TypeText types a loaded relation. Its result has, in
// order: Columns (empty text is NULL; a value that does not fit its type,
// integers included when they have a fraction, is NULL), then
// _source_file, then Ordinal (the row's 1-based position in load order),
// then Rescue: NULL when every value fit, else a JSON object mapping each
// column whose value did not fit to the value's text.
type TypeSpec struct {
	Columns []Column
	Ordinal string
	Rescue  string
}

// Windows are event-time windows of Size starting every Slide (tumbling
// when equal), aligned to the epoch. ExpandWindows returns, for each row of
// the source whose Time column is not NULL, one row per window holding its
// time whose end is after After and at or before Until. window_start and
// window_end are timestamps with time zone.
type Windows struct {
	Time        string
	Size, Slide time.Duration
	// After and Until bound the window ends, in milliseconds since the
	// epoch.
	After, Until int64
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
	// Objects are the files to read, in order: storage objects, which
	// the engine copies locally (LocalPaths) or reads in place (URL).
	Objects []Object
	// CSV dialect. Zero values mean: header present, delimiter ",",
	// quote '"', escape '"'.
	Delimiter string
	Quote     string
	Escape    string
	NoHeader  bool
	// Types are the declared types of columns (schema hints), by name. An
	// engine may read such a column typed where every value of the files
	// reads as that type exactly as TypeText would cast its text; the
	// loaded column then has that type instead of text, and TypeText
	// passes it through. Nil: every column is text.
	Types map[string]delta.DataType
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
	// Relation holds the rows.
	Relation Relation
	// Columns are the data columns found, in file order (without
	// _source_file).
	Columns []string
	// Rows is the number of rows loaded.
	Rows int64
	// Rejects are the records that could not be parsed.
	Rejects []Reject
	// Files[i] is how the rows' _source_file and Rejects' File name
	// Source.Objects[i]: the path or URL the engine read.
	Files []string
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
	// KeyIndex names the columns the table's rows are later matched by
	// (MatchFiles): an engine may keep an index of them beside each file
	// it writes. An engine that keeps none ignores it.
	KeyIndex []string
	// Compression is the Parquet codec of the data files, one of
	// Compressions; "" lets the engine choose (duckdb: uncompressed on
	// local disk, snappy on object storage; spark: its own default).
	Compression string
}

// Compressions are the Parquet codecs Target.Compression names.
var Compressions = []string{"uncompressed", "snappy", "zstd"}

// WriteResult lists what Write produced.
type WriteResult struct {
	Adds   []*delta.Add
	Schema *delta.StructType
	Rows   int64
}
