// Package spark is the engine kind spark: medallion's SQL runs on Apache
// Spark through Spark Connect (github.com/apache/spark-connect-go), and
// Spark reads the lake's Delta tables itself, at the versions medallion
// binds.
//
//	engine:
//	  kind: spark
//	  spark:
//	    remote: sc://127.0.0.1:15002
//	    token_env: DATABRICKS_TOKEN   # optional: the variable holding the token
//
// Secrets never come from medallion.yaml: a remote with a token= parameter
// is refused, the token is read from the variable token_env names (or the
// whole remote from the variable remote_env names), and errors print the
// remote with the token blanked.
//
// Every engine operation runs on Spark, reading a change data feed
// (BindChanges, feed.go) included. Landing files
// are read by Spark itself (load.go); the relations the pipeline keeps are
// temporary views of the session, cached (CACHE LAZY TABLE … AS: rows
// computed on the first read, then kept) where the operation materializes.
//
// Writes (write.go, decided for issue 12): Spark writes a result as Parquet
// files into a staging folder inside the table's folder
// (delta.StagingDirPrefix + uuid, Hive partition folders); medallion
// builds each add action from the file's footer (size, partition values,
// numRecords, min/max, nullCount), moves the file to its partition folder
// and the pipeline commits the adds with medallion's own Delta log code,
// so exactly-once markers (txn actions in the same commit), conflict
// rules, checkpoints and stats are the same code as on DuckDB. Files of a
// write whose commit never happens are orphans vacuum removes. The lake
// must be a folder medallion and the Spark driver see under one path.
//
// Models are written in DuckDB's dialect; the engine translates what
// differs, token by token (see dialect): "quoted" identifiers, layer.table
// names, regexp_replace's 'g' option; string literals read as standard SQL
// (spark.sql.parser.escapedStringLiterals), and the session defines the
// DuckDB functions the built-in models use that Spark lacks:
// strip_accents(s) and epoch(ts). A construct Spark lacks fails with
// Spark's error, which names it.
package spark

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/spark-connect-go/spark/sql"
	"golang.org/x/text/unicode/norm"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Kind is the engine kind this package registers: engine.kind spark.
const Kind = "spark"

// ErrUnsupported means an engine operation is not implemented on Spark yet.
var ErrUnsupported = errors.New("spark: not supported on engine kind spark yet")

func init() {
	engine.Register(Kind, open, check)
}

// Settings is the engine.spark block of medallion.yaml.
type Settings struct {
	// Remote is the Spark Connect address, sc://host:port[/;param=value…],
	// without a token.
	Remote string
	// RemoteEnv names an environment variable holding the whole remote
	// (a Databricks connection string with its token, say).
	RemoteEnv string
	// TokenEnv names an environment variable holding the token appended
	// to Remote.
	TokenEnv string
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// decode reads the engine.spark block, naming the key of a bad setting.
// It never repeats a value that might hold a secret.
func decode(m map[string]any) (Settings, error) {
	var s Settings
	for k, v := range m {
		str, ok := v.(string)
		if !ok && v != nil {
			return s, &engine.SettingError{Key: k, Msg: "must be a string"}
		}
		switch k {
		case "remote":
			s.Remote = str
		case "remote_env":
			s.RemoteEnv = str
		case "token_env":
			s.TokenEnv = str
		default:
			return s, &engine.SettingError{Key: k, Msg: "unknown setting (known: remote, remote_env, token_env)"}
		}
	}
	switch {
	case s.Remote == "" && s.RemoteEnv == "":
		return s, &engine.SettingError{Key: "remote", Msg: "missing: the Spark Connect address, sc://host:port (or remote_env: a variable holding it)"}
	case s.Remote != "" && s.RemoteEnv != "":
		return s, &engine.SettingError{Key: "remote_env", Msg: "set remote or remote_env, not both"}
	case s.Remote != "" && !strings.HasPrefix(s.Remote, "sc://"):
		return s, &engine.SettingError{Key: "remote", Msg: "must start with sc:// (a Spark Connect address)"}
	case s.Remote != "" && hasToken(s.Remote):
		return s, &engine.SettingError{Key: "remote", Msg: "holds a token; secrets do not go in medallion.yaml: put the token in an environment variable and name it with token_env"}
	}
	for k, name := range map[string]string{"remote_env": s.RemoteEnv, "token_env": s.TokenEnv} {
		if name != "" && !envName.MatchString(name) {
			return s, &engine.SettingError{Key: k, Msg: "must be the name of an environment variable"}
		}
	}
	return s, nil
}

var tokenParam = regexp.MustCompile(`(?i)(;\s*token\s*=)[^;]*`)

func hasToken(remote string) bool { return tokenParam.MatchString(remote) }

// redact blanks the token parameter of every Spark Connect address in s,
// and any of the secrets given, wherever they appear.
func redact(s string, secrets ...string) string {
	s = tokenParam.ReplaceAllString(s, "${1}***")
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

func check(cfg *engine.Config) error {
	_, err := decode(cfg.Settings)
	return err
}

// remote builds the connection string from the settings and the
// environment, returning it with the secrets it holds.
func (s Settings) remote() (string, []string, error) {
	remote, secrets := s.Remote, []string(nil)
	if s.RemoteEnv != "" {
		remote = os.Getenv(s.RemoteEnv)
		if remote == "" {
			return "", nil, fmt.Errorf("spark: engine.spark.remote_env: the environment variable %s is not set", s.RemoteEnv)
		}
		if !strings.HasPrefix(remote, "sc://") {
			return "", nil, fmt.Errorf("spark: the environment variable %s does not hold a Spark Connect address (sc://…)", s.RemoteEnv)
		}
		if m := tokenParam.FindStringIndex(remote); m != nil {
			secrets = append(secrets, strings.SplitN(remote[m[0]:m[1]], "=", 2)[1])
		}
	}
	if s.TokenEnv != "" {
		tok := os.Getenv(s.TokenEnv)
		if tok == "" {
			return "", nil, fmt.Errorf("spark: engine.spark.token_env: the environment variable %s is not set", s.TokenEnv)
		}
		if !strings.Contains(strings.TrimPrefix(remote, "sc://"), "/") {
			remote += "/"
		}
		remote += ";token=" + tok
		secrets = append(secrets, tok)
	}
	return remote, secrets, nil
}

// relation is a name bound in the engine.
type relation struct {
	create string // the SELECT the temporary view holds
	view   bool   // a view over other names (its SQL is rewritten at creation)
	sql    string // a view's own SQL, in DuckDB's dialect
	// deps are the bound names (lower case) create reads: their views are
	// created first.
	deps []string
	// cached: the view's rows are in Spark's memory (CACHE TABLE); it is
	// not created again when other names are rebound.
	cached bool
	// loc is the table's URL (Spark's scheme) of a relation over a Delta
	// table (Bind): an error creating its view names it (lakeError).
	loc string
	// ordered names the relation holding the same rows plus the column
	// __ord, their 1-based position in load order (Load's relations).
	ordered string
	// owned are the relations (lower case) and session views released
	// with this one.
	owned      []string
	ownedViews []string
}

// Engine runs SQL on a Spark Connect session.
type Engine struct {
	sess    sql.SparkSession
	secrets []string
	rels    map[string]*relation // by lower-case name
	created map[string]bool      // temporary views that exist in the session
	sealed  bool
	nextRel int // the number of the next relation handle

	// Of an engine opened on its own: its Spark session.
	rs *remoteSession
	// Of a session of an Owner: the owner, the prefix of its views' names
	// and the views it made (dropped when it closes).
	owner  *Owner
	prefix string
	made   map[string]bool
	closed bool
}

var _ engine.Engine = (*Engine)(nil)

func open(ctx context.Context, cfg *engine.Config) (engine.Engine, error) {
	st, err := decode(cfg.Settings)
	if err != nil {
		return nil, fmt.Errorf("spark: engine.spark.%w", err)
	}
	return Open(ctx, st)
}

// Open connects a session to the Spark Connect server of st and prepares
// it for medallion's SQL.
func Open(ctx context.Context, st Settings) (*Engine, error) {
	rs, secrets, err := openRemote(ctx, st)
	if err != nil {
		return nil, err
	}
	return &Engine{sess: rs.sess, rs: rs, secrets: secrets, prefix: rs.tag() + "_", rels: map[string]*relation{}, created: map[string]bool{}}, nil
}

// functions are the statements defining, in the session, the DuckDB
// functions medallion's built-in models use that Spark lacks.
func functions() []string {
	from, to := accentTables()
	return []string{
		// DuckDB's strip_accents: canonical decomposition without the
		// combining marks, for the precomposed Latin letters.
		"CREATE OR REPLACE TEMPORARY FUNCTION strip_accents(s STRING) RETURNS STRING RETURN " +
			"translate(regexp_replace(s, '[\u0300-\u036f]', ''), '" + from + "', '" + to + "')",
		// DuckDB's epoch: seconds since 1970-01-01 UTC as a DOUBLE.
		"CREATE OR REPLACE TEMPORARY FUNCTION epoch(ts TIMESTAMP) RETURNS DOUBLE RETURN CAST(unix_micros(ts) AS DOUBLE) / 1e6",
	}
}

// accentTables are translate()'s two strings mapping each precomposed
// letter of U+00C0–U+024F and U+1E00–U+1EFF whose canonical decomposition
// is one base letter plus combining marks to that letter.
func accentTables() (from, to string) {
	var f, t strings.Builder
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			d := []rune(norm.NFD.String(string(r)))
			if len(d) < 2 || !unicode.IsLetter(d[0]) || d[0] > unicode.MaxLatin1 {
				continue
			}
			ok := true
			for _, m := range d[1:] {
				ok = ok && m >= 0x300 && m <= 0x36f
			}
			if ok {
				f.WriteRune(r)
				t.WriteRune(d[0])
			}
		}
	}
	add(0xC0, 0x24F)
	add(0x1E00, 0x1EFF)
	return f.String(), t.String()
}

// wrap prefixes an error from Spark, blanking secrets.
func (e *Engine) wrap(op string, err error) error {
	return fmt.Errorf("spark: %s: %s", op, redact(err.Error(), e.secrets...))
}

// viewName is the temporary view standing for a bound name (with the
// session's prefix when the Spark session is an Owner's, shared).
func (e *Engine) viewName(name string) string {
	return "__m_" + e.prefix + strings.NewReplacer(".", "__", "`", "_").Replace(strings.ToLower(name))
}

// location is where Spark reads a table: sparkURL of its folder.
func location(snap *delta.Snapshot) (string, error) {
	return sparkURL(snap.Store(), "")
}

// Bind makes snap readable as name: a temporary view over the Delta
// table at that version, created when a statement first names it.
func (e *Engine) Bind(ctx context.Context, name string, snap *delta.Snapshot, files []*delta.Add) error {
	loc, err := location(snap)
	if err != nil {
		return fmt.Errorf("spark: bind %s: %w", name, err)
	}
	sel := "SELECT * FROM delta." + backtick(loc) + " VERSION AS OF " + strconv.FormatInt(snap.Version(), 10)
	if files != nil {
		sel += " WHERE " + inFilesSQL(files)
	}
	e.set(name, &relation{create: sel, loc: loc})
	return nil
}

func (e *Engine) set(name string, r *relation) {
	key := strings.ToLower(name)
	e.rels[key] = r
	// Views over it are created again when next used; cached rows stay
	// (replacing a cached view would drop its rows).
	delete(e.created, key)
	for k := range e.created {
		if o := e.rels[k]; o == nil || !o.cached {
			delete(e.created, k)
		}
	}
}

// BindEmpty makes name an empty relation of schema.
func (e *Engine) BindEmpty(ctx context.Context, name string, schema *delta.StructType) error {
	var cols []string
	for _, f := range schema.Fields {
		t, err := e.SQLType(f.Type)
		if err != nil {
			return err
		}
		cols = append(cols, "CAST(NULL AS "+t+") AS "+backtick(f.Name))
	}
	if len(cols) == 0 {
		return fmt.Errorf("spark: %s: an empty relation needs at least one column", name)
	}
	e.set(name, &relation{create: "SELECT " + strings.Join(cols, ", ") + " WHERE false"})
	return nil
}

// Cache keeps name's rows in Spark's memory: the view becomes CACHE LAZY
// TABLE … AS SELECT, which holds the plan analyzed now (names the query
// reads may be bound again later without changing its rows: the Delta
// versions it reads are pinned) and the rows computed on its first read.
func (e *Engine) Cache(ctx context.Context, name string) error {
	key := strings.ToLower(name)
	if _, err := e.ensure(ctx, key, nil); err != nil {
		return err
	}
	r, ok := e.rels[key]
	if !ok {
		return fmt.Errorf("spark: cache %s: not bound", name)
	}
	if r.cached {
		return nil
	}
	r.cached = true
	delete(e.created, key)
	if _, err := e.ensure(ctx, key, nil); err != nil {
		r.cached = false
		return err
	}
	return nil
}

// ensure creates the temporary view of a bound name (and of the names a
// view reads) unless it exists, returning its Spark name; "" for a name
// that is not bound.
func (e *Engine) ensure(ctx context.Context, name string, seen []string) (string, error) {
	r, ok := e.rels[name]
	if !ok {
		return "", nil
	}
	v := e.viewName(name)
	if e.created[name] {
		return v, nil
	}
	if slices.Contains(seen, name) {
		return "", fmt.Errorf("spark: view %s reads itself", name)
	}
	for _, d := range r.deps {
		if _, err := e.ensure(ctx, d, append(seen, name)); err != nil {
			return "", err
		}
	}
	body := r.create
	if r.view {
		var err error
		if body, err = e.translate(ctx, r.sql, append(seen, name)); err != nil {
			return "", err
		}
	}
	if r.cached {
		if _, err := e.sess.Sql(ctx, "DROP VIEW IF EXISTS "+backtick(v)); err != nil {
			return "", e.wrap("cache "+name, err)
		}
		// LAZY: Spark analyzes the query now (a bad one fails here) and
		// computes the rows on the first read, which the pipeline makes at
		// once (a count): one Spark job where an eager cache runs two. The
		// plan is fixed now: the Delta versions it reads are pinned.
		if _, err := e.sess.Sql(ctx, "CACHE LAZY TABLE "+backtick(v)+" AS "+body); err != nil {
			return "", e.viewError("cache", name, r, err)
		}
		e.remote().cachedView(v, true)
	} else if _, err := e.sess.Sql(ctx, "CREATE OR REPLACE TEMPORARY VIEW "+backtick(v)+" AS "+body); err != nil {
		return "", e.viewError("bind", name, r, err)
	}
	e.created[name] = true
	if e.owner != nil {
		if e.made == nil {
			e.made = map[string]bool{}
		}
		e.made[name] = true
	}
	return v, nil
}

// viewError is the error of creating the view of name: for a Delta
// table's (Spark analyzes it, reading the table's log) lakeError, which
// says when the server cannot reach the table's URL; otherwise Spark's.
func (e *Engine) viewError(op, name string, r *relation, err error) error {
	if r.loc != "" {
		return e.lakeError(op+" "+name, r.loc, err)
	}
	return e.wrap(op+" "+name, err)
}

// translate rewrites sql into Spark's dialect, creating the views of the
// bound names it reads.
func (e *Engine) translate(ctx context.Context, text string, seen []string) (string, error) {
	toks, err := lex(text)
	if err != nil {
		return "", err
	}
	out, err := dialect(toks, func(name string) (string, error) { return e.ensure(ctx, name, seen) })
	if err != nil {
		return "", err
	}
	return render(out), nil
}

// CheckQuery returns nil when sql is exactly one read-only statement (by
// medallion's own reading of its tokens: Spark Connect has no parse-only
// call). After Sandbox it also refuses path-based relations, the
// functions that read files or call Java, SHOW, and relations named
// beyond layer.table (three-part names, global_temp's); Query and Scan
// then also refuse every relation that is not a name bound in the engine
// (see unknownRelation).
func (e *Engine) CheckQuery(ctx context.Context, text string) error {
	toks, err := lex(text)
	if err != nil {
		return fmt.Errorf("%w: %v", engine.ErrNotQuery, err)
	}
	var sealed func([]token) string
	if e.sealed {
		sealed = func(st []token) string { return e.sealedCheck(st, false) }
	}
	if why := checkQuery(toks, sealed); why != "" {
		return fmt.Errorf("%w: %s", engine.ErrNotQuery, why)
	}
	return nil
}

// Sandbox seals the engine: from now on CheckQuery also refuses
// statements that name files or call Java. Spark reads files itself, on
// its own machines, so dirs cannot confine it the way they confine an
// embedded engine; the server's own access control applies.
func (e *Engine) Sandbox(ctx context.Context, dirs []string) error {
	e.sealed = true
	return nil
}

// Exec runs statements that return no rows. CREATE SCHEMA is a no-op
// (names are temporary views of the session) and CREATE [OR REPLACE]
// VIEW layer.name AS … binds a view; other statements run translated.
func (e *Engine) Exec(ctx context.Context, text string) error {
	toks, err := lex(text)
	if err != nil {
		return err
	}
	for _, st := range statements(toks) {
		words := leadingWords(st, 6)
		switch {
		case len(words) >= 2 && words[0] == "create" && words[1] == "schema":
			continue
		case len(words) >= 2 && words[0] == "create" && (words[1] == "view" || words[1] == "or" && len(words) >= 4 && words[3] == "view"):
			name, body, ok := viewParts(st)
			if !ok {
				return fmt.Errorf("spark: cannot read the view statement %q", strings.TrimSpace(render(st)))
			}
			e.set(name, &relation{view: true, sql: body})
			continue
		}
		if writes(words) {
			return fmt.Errorf("%w: creating or changing tables (%s)", ErrUnsupported, strings.ToUpper(strings.Join(words[:min(len(words), 4)], " ")))
		}
		run, err := e.translate(ctx, render(st), nil)
		if err != nil {
			return err
		}
		if _, err := e.sess.Sql(ctx, run); err != nil {
			return e.wrap("exec", err)
		}
	}
	return nil
}

// writes reports whether a statement's leading words create or change a
// table (not implemented on Spark yet: model results are written by Write).
func writes(words []string) bool {
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "insert", "update", "delete", "merge", "drop", "alter", "truncate":
		return true
	case "create":
		return slices.Contains(words, "table")
	}
	return false
}

// leadingWords are the first n words of a statement, lower-case.
func leadingWords(st []token, n int) []string {
	var out []string
	for _, t := range st {
		if len(out) == n {
			break
		}
		switch t.kind {
		case tokSpace:
		case tokWord:
			out = append(out, strings.ToLower(t.text))
		default:
			out = append(out, t.text)
		}
	}
	return out
}

// viewParts reads CREATE [OR REPLACE] VIEW name AS body.
func viewParts(st []token) (name, body string, ok bool) {
	i := 0
	for i < len(st) {
		i = next(st, i)
		if i < len(st) && st[i].kind == tokWord && strings.EqualFold(st[i].text, "view") {
			break
		}
		i++
	}
	i = next(st, i+1)
	var parts []string
	for i < len(st) {
		n := identName(st[i])
		if n == "" {
			return "", "", false
		}
		parts = append(parts, n)
		i = next(st, i+1)
		if i < len(st) && st[i].text == "." {
			i = next(st, i+1)
			continue
		}
		break
	}
	if i >= len(st) || !strings.EqualFold(st[i].text, "as") || len(parts) == 0 {
		return "", "", false
	}
	return strings.Join(parts, "."), render(st[i+1:]), true
}

// Query runs a statement and returns its rows.
func (e *Engine) Query(ctx context.Context, text string) (*engine.Result, error) {
	res := &engine.Result{}
	err := e.Scan(ctx, text, func(c []engine.Column) error {
		res.Columns = c
		return nil
	}, func(r []any) error {
		res.Rows = append(res.Rows, slices.Clone(r))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Scan runs a statement and hands its columns, then each row, to the
// callbacks.
func (e *Engine) Scan(ctx context.Context, text string, columns func([]engine.Column) error, row func([]any) error) error {
	if e.sealed {
		// What runs in a sealed engine reads only the names bound in it,
		// whatever checked it before (see sealedCheck).
		toks, err := lex(text)
		if err != nil {
			return fmt.Errorf("spark: %w: %v", engine.ErrNotQuery, err)
		}
		if why := checkQuery(toks, func(st []token) string { return e.sealedCheck(st, true) }); why != "" {
			return fmt.Errorf("spark: %w: %s", engine.ErrNotQuery, why)
		}
	}
	run, err := e.translate(ctx, text, nil)
	if err != nil {
		return err
	}
	df, err := e.sess.Sql(ctx, run)
	if err != nil {
		return e.wrap("query", err)
	}
	tp, err := df.ToArrow(ctx)
	if err != nil {
		return e.wrap("query", err)
	}
	tbl := *tp
	defer tbl.Release()
	cols := make([]engine.Column, tbl.NumCols())
	for i, f := range tbl.Schema().Fields() {
		t, err := columnType(f.Type)
		if err != nil {
			return fmt.Errorf("%w (column %s)", err, f.Name)
		}
		cols[i] = engine.Column{Name: f.Name, Type: t}
	}
	if err := columns(cols); err != nil {
		return err
	}
	rr := arrowRows(tbl)
	vals := make([]any, len(cols))
	for rr.next() {
		for c := range cols {
			a, i := rr.at(c)
			v, err := value(a, i)
			if err != nil {
				return fmt.Errorf("%w (column %s)", err, cols[c].Name)
			}
			vals[c] = v
		}
		if err := row(vals); err != nil {
			return err
		}
	}
	return nil
}

// rows walks an Arrow table row by row across its column chunks.
type rows struct {
	tbl   arrow.Table
	row   int64
	chunk []int // per column: current chunk
	off   []int // per column: row offset inside it
	first bool
}

func arrowRows(tbl arrow.Table) *rows {
	n := int(tbl.NumCols())
	return &rows{tbl: tbl, row: -1, chunk: make([]int, n), off: make([]int, n), first: true}
}

func (r *rows) next() bool {
	r.row++
	if r.row >= r.tbl.NumRows() {
		return false
	}
	if r.first {
		r.first = false
		for c := range r.chunk {
			r.off[c] = 0
			r.skipEmpty(c)
		}
		return true
	}
	for c := range r.chunk {
		r.off[c]++
		r.skipEmpty(c)
	}
	return true
}

func (r *rows) skipEmpty(c int) {
	chunks := r.tbl.Column(c).Data().Chunks()
	for r.chunk[c] < len(chunks) && r.off[c] >= chunks[r.chunk[c]].Len() {
		r.off[c] -= chunks[r.chunk[c]].Len()
		r.chunk[c]++
	}
}

func (r *rows) at(c int) (arrow.Array, int) {
	return r.tbl.Column(c).Data().Chunk(r.chunk[c]), r.off[c]
}

// SQLType is Spark's name of a Delta type.
func (e *Engine) SQLType(t delta.DataType) (string, error) {
	switch t.Name {
	case delta.TypeString:
		return "STRING", nil
	case delta.TypeLong:
		return "BIGINT", nil
	case delta.TypeInteger:
		return "INT", nil
	case delta.TypeShort:
		return "SMALLINT", nil
	case delta.TypeByte:
		return "TINYINT", nil
	case delta.TypeFloat:
		return "FLOAT", nil
	case delta.TypeDouble:
		return "DOUBLE", nil
	case delta.TypeBoolean:
		return "BOOLEAN", nil
	case delta.TypeBinary:
		return "BINARY", nil
	case delta.TypeDate:
		return "DATE", nil
	case delta.TypeTimestamp:
		return "TIMESTAMP", nil
	case delta.TypeTimestampNTZ:
		return "TIMESTAMP_NTZ", nil
	case delta.TypeDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision, t.Scale), nil
	case delta.TypeArray:
		if t.ElementType == nil {
			break
		}
		el, err := e.SQLType(*t.ElementType)
		if err != nil {
			return "", err
		}
		return "ARRAY<" + el + ">", nil
	case delta.TypeMap:
		if t.KeyType == nil || t.ValueType == nil {
			break
		}
		k, err := e.SQLType(*t.KeyType)
		if err != nil {
			return "", err
		}
		v, err := e.SQLType(*t.ValueType)
		if err != nil {
			return "", err
		}
		return "MAP<" + k + ", " + v + ">", nil
	case delta.TypeStruct:
		var fs []string
		for _, f := range t.Fields {
			ft, err := e.SQLType(f.Type)
			if err != nil {
				return "", err
			}
			fs = append(fs, backtick(f.Name)+": "+ft)
		}
		return "STRUCT<" + strings.Join(fs, ", ") + ">", nil
	}
	return "", fmt.Errorf("spark: no Spark SQL type for Delta type %s", t)
}

// remote is the Spark Connect session the engine's statements run in.
func (e *Engine) remote() *remoteSession {
	if e.owner != nil {
		return e.owner.rs
	}
	return e.rs
}

// Close closes the engine: a session of an Owner drops the temporary
// views it made; an engine opened on its own uncaches what it cached and
// releases its Spark session and connection.
func (e *Engine) Close() error {
	if e.owner != nil {
		return e.closeSession()
	}
	if e.closed {
		return nil
	}
	e.closed = true
	if err := e.rs.close(); err != nil {
		return e.wrap("close", err)
	}
	return nil
}
