package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/storage"
)

// Session answers read-only SQL over a project's lake: every table as
// layer.table at its latest version, the project's views, and any Delta
// table by path through delta_scan('path').
//
// Before the first statement it runs, a session confines its engine for
// good (engine.Engine.Sandbox): files only under the lake, the file cache
// and the engine's temp directory, no network, no extensions, no settings
// changes. Every statement must be exactly one read-only query as the
// engine's own parser reads it (engine.Engine.CheckQuery).
type Session struct {
	proj   *Project
	opts   SessionOptions
	lake   *Lake
	eng    engine.Engine
	seq    int
	sealed bool
	// unconfined: the session is a run's own engine (Run's summary), which
	// is never sealed.
	unconfined bool
	// outside are the roots of tables outside the lake bound through
	// delta_scan (SessionOptions.OutsideLake), allowed when sealing.
	outside []string
	// versions are the versions bound by Refresh, by table: a table whose
	// version has not moved keeps its binding (and its catalog oid).
	versions map[string]int64
	views    map[string]bool
	// broken holds the damaged tables (see DamagedTableError): left
	// unbound, so that the other tables stay queryable.
	broken map[string]error
}

// SessionOptions configure OpenSessionWith.
type SessionOptions struct {
	// OutsideLake lets delta_scan('path') read a Delta table outside the
	// project's lake (`medallion query`: the user owns the machine). The
	// server never sets it: there delta_scan reaches only tables inside the
	// lake, symlinks resolved. Either way the session writes nothing.
	OutsideLake bool
	// MemoryLimit, when set, replaces engine.memory_limit for this session
	// (e.g. "1GB").
	MemoryLimit string
	// Tables, when not nil, are the only tables the session binds (names
	// as layer.table, any case), with the tables that the project's views
	// among them read: a session for a known query over a few tables
	// (`medallion run`'s summary, TablesNamed) then reads no other table's
	// log and footers. Nil: every table of the lake.
	Tables []string
}

// identPairRE matches a qualified name, each part plain or double-quoted.
var identPairRE = regexp.MustCompile(`"?([A-Za-z_][A-Za-z0-9_$]*)"?\s*\.\s*"?([A-Za-z_][A-Za-z0-9_$]*)"?`)

// TablesNamed lists the qualified names (layer.table, lower case) that
// the SQL text mentions anywhere, for SessionOptions.Tables. It errs on
// the side of more: alias.column pairs and names in comments or strings
// are listed too (a name that is no table is not bound).
func TablesNamed(sql string) []string {
	var out []string
	for _, m := range identPairRE.FindAllStringSubmatch(sql, -1) {
		n := strings.ToLower(m[1] + "." + m[2])
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// wanted is the set of tables the session binds (SessionOptions.Tables
// with the inputs of the project's views among them), nil for all.
func (s *Session) wanted() map[string]bool {
	if s.opts.Tables == nil {
		return nil
	}
	want := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		n := strings.ToLower(name)
		if want[n] {
			return
		}
		want[n] = true
		for _, m := range s.proj.Models {
			if m.Materialized == View && strings.EqualFold(m.Name, n) {
				for _, d := range m.Deps {
					add(d)
				}
			}
		}
	}
	for _, t := range s.opts.Tables {
		add(t)
	}
	return want
}

// ErrNotReadOnly means a statement is not exactly one read-only query.
var ErrNotReadOnly = engine.ErrNotQuery

// OpenSession opens a session over the project's lake in which delta_scan
// reaches only tables inside the lake.
func OpenSession(ctx context.Context, proj *Project) (*Session, error) {
	return OpenSessionWith(ctx, proj, SessionOptions{})
}

// OpenSessionWith opens a session with opts.
func OpenSessionWith(ctx context.Context, proj *Project, opts SessionOptions) (*Session, error) {
	lake, err := OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		return nil, err
	}
	// Without tables outside the lake, the session is one of the
	// project's query engine, confined to the lake and the file cache
	// before its first session; otherwise its sandbox depends on what its
	// first statement names, and it gets an engine of its own.
	var eng engine.Engine
	if opts.OutsideLake {
		eng, err = openPrivateEngine(ctx, proj, opts.MemoryLimit)
	} else {
		eng, err = session(ctx, proj, nil, opts.MemoryLimit, queryDirs(proj))
	}
	if err != nil {
		return nil, err
	}
	s := &Session{proj: proj, opts: opts, lake: lake, eng: eng, broken: map[string]error{}}
	if err := s.Refresh(ctx); err != nil {
		eng.Close()
		return nil, err
	}
	return s, nil
}

// Lake is the session's lake.
func (s *Session) Lake() *Lake { return s.lake }

// Close releases the engine.
func (s *Session) Close() error { return s.eng.Close() }

// Refresh rebinds every table whose latest snapshot is newer than the
// one bound, and the views over them.
func (s *Session) Refresh(ctx context.Context) error {
	names, err := s.lake.Tables(ctx)
	if err != nil {
		return err
	}
	want := s.wanted()
	if want != nil {
		names = slices.DeleteFunc(names, func(n string) bool { return !want[strings.ToLower(n)] })
	}
	if s.versions == nil {
		s.versions, s.views = map[string]int64{}, map[string]bool{}
	}
	bound := map[string]bool{}
	changed := map[string]bool{}
	s.broken = map[string]error{}
	for _, n := range names {
		snap, err := s.lake.Snapshot(ctx, n)
		if err != nil {
			return err
		}
		if snap == nil {
			continue
		}
		if v, ok := s.versions[n]; ok && v == snap.Version() {
			bound[n] = true
			continue
		}
		if err := s.eng.Bind(ctx, n, snap, nil); err != nil {
			if derr := checkDamage(ctx, s.lake, n, snap); derr != nil {
				s.broken[n] = derr
				delete(s.versions, n)
				continue
			}
			return err
		}
		bound[n] = true
		s.versions[n] = snap.Version()
		changed[n] = true
	}
	// medallion.bad_files exists once a first file is set aside; until
	// then it reads as empty rather than as an unknown table.
	if !bound[BadFilesTable] && s.broken[BadFilesTable] == nil && (want == nil || want[BadFilesTable]) {
		if _, ok := s.versions[BadFilesTable]; !ok {
			if err := s.eng.BindEmpty(ctx, BadFilesTable, badFilesSchema()); err != nil {
				return err
			}
			s.versions[BadFilesTable] = -1
		}
		bound[BadFilesTable] = true
	}
	order, err := s.proj.Order()
	if err != nil {
		return err
	}
	for _, m := range order {
		if m.Materialized != View || (want != nil && !want[strings.ToLower(m.Name)]) {
			continue
		}
		ok, moved := true, !s.views[m.Name]
		for _, d := range m.Deps {
			ok = ok && bound[d]
			moved = moved || changed[d]
		}
		if !ok {
			for _, d := range m.Deps {
				if err, damaged := s.broken[d]; damaged {
					s.broken[m.Name] = err
				}
			}
			continue
		}
		bound[m.Name] = true
		if !moved {
			continue
		}
		changed[m.Name] = true
		// openEngine checked that m.SQL is exactly one query.
		if err := s.eng.BindQuery(ctx, m.Name, m.SQL, false); err != nil {
			return fmt.Errorf("pipeline: view %s: %w", m.Name, err)
		}
		s.views[m.Name] = true
	}
	return nil
}

var deltaScanRE = regexp.MustCompile(`(?i)\bdelta_scan\s*\(\s*'((?:[^']|'')*)'\s*\)`)

// Check returns nil when sql is exactly one read-only query, else an
// error wrapping ErrNotReadOnly or the parser's error.
func (s *Session) Check(ctx context.Context, sql string) error {
	// Time travel and table_changes (timetravel.go) are checked as the
	// names they will be bound under.
	refs, err := findTimeTravel(sql)
	if err != nil {
		return err
	}
	if len(refs) > 0 {
		names := make([]string, len(refs))
		for i := range refs {
			names[i] = fmt.Sprintf("__time_travel_%d", i)
		}
		sql = replaceRefs(sql, refs, names, s.eng.Quote)
	}
	if err := s.eng.CheckQuery(ctx, sql); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// Query runs one read-only statement.
func (s *Session) Query(ctx context.Context, sql string) (*engine.Result, error) {
	run, err := s.prepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	res, err := s.eng.Query(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("pipeline: query: %w", err)
	}
	return res, nil
}

// Scan runs one read-only statement, handing its rows to row one at a
// time (see engine.Engine.Scan): the caller decides how much to keep.
func (s *Session) Scan(ctx context.Context, sql string, columns func([]engine.Column) error, row func([]any) error) error {
	run, err := s.prepare(ctx, sql)
	if err != nil {
		return err
	}
	if err := s.eng.Scan(ctx, run, columns, row); err != nil {
		return fmt.Errorf("pipeline: query: %w", err)
	}
	return nil
}

// prepare checks sql, binds the Delta tables it names with
// delta_scan('path'), seals the engine and checks the statement that will
// run.
func (s *Session) prepare(ctx context.Context, sql string) (string, error) {
	sql, err := s.rewriteTimeTravel(ctx, sql)
	if err != nil {
		return "", err
	}
	if err := s.Check(ctx, sql); err != nil {
		return "", err
	}
	var rerr error
	run := deltaScanRE.ReplaceAllStringFunc(sql, func(m string) string {
		if rerr != nil {
			return m
		}
		loc := strings.ReplaceAll(deltaScanRE.FindStringSubmatch(m)[1], "''", "'")
		name, err := s.bindPath(ctx, loc)
		if err != nil {
			rerr = err
			return m
		}
		return name
	})
	if rerr != nil {
		return "", rerr
	}
	if err := brokenRef(sql, s.broken); err != nil {
		return "", err
	}
	if !s.sealed && !s.unconfined {
		if err := s.eng.Sandbox(ctx, s.allowedDirs()); err != nil {
			return "", err
		}
		s.sealed = true
	}
	if err := s.Check(ctx, run); err != nil {
		return "", err
	}
	return run, nil
}

// allowedDirs are the local directories the session's engine may read:
// the lake (when local), the file cache and the tables outside the lake
// bound so far when allowed (the engine adds its own temp directory).
func (s *Session) allowedDirs() []string {
	return append(queryDirs(s.proj), s.outside...)
}

// bindPath binds the Delta table at loc under a fresh name. Without
// SessionOptions.OutsideLake, loc must be inside the lake (symlinks
// resolved) before anything is read.
func (s *Session) bindPath(ctx context.Context, loc string) (string, error) {
	tbl, err := s.openPath(ctx, loc)
	if err != nil {
		return "", err
	}
	snap, err := tbl.Snapshot(ctx)
	if err != nil {
		return "", fmt.Errorf("pipeline: delta_scan('%s'): %w", loc, err)
	}
	if snap == nil {
		return "", fmt.Errorf("pipeline: delta_scan('%s'): no Delta table there", loc)
	}
	s.seq++
	name := fmt.Sprintf("__delta_scan_%d", s.seq)
	if err := s.eng.Bind(ctx, name, snap, nil); err != nil {
		return "", err
	}
	return name, nil
}

// openPath opens the Delta table at loc for delta_scan, time travel or
// table_changes. Without SessionOptions.OutsideLake, loc must be inside
// the lake (symlinks resolved) before anything is read; a table outside
// the lake must be named before the session seals its engine.
func (s *Session) openPath(ctx context.Context, loc string) (*delta.Table, error) {
	root := s.proj.Resolve(s.proj.Config.Lake)
	inside := insideLake(loc, root)
	if !inside && !s.opts.OutsideLake {
		return nil, fmt.Errorf("pipeline: delta_scan('%s'): only tables inside the project's lake (%s) can be read", loc, root)
	}
	if !inside && s.sealed {
		return nil, fmt.Errorf("pipeline: delta_scan('%s'): a table outside the lake must be named in the session's first statement", loc)
	}
	store, err := storage.Open(ctx, loc)
	if err != nil {
		return nil, err
	}
	tbl, err := delta.OpenTable(ctx, store, nil)
	if err != nil {
		return nil, err
	}
	if ok, err := tbl.Exists(ctx); err != nil {
		return nil, fmt.Errorf("pipeline: delta_scan('%s'): %w", loc, err)
	} else if !ok {
		return nil, fmt.Errorf("pipeline: delta_scan('%s'): no Delta table there", loc)
	}
	if !inside {
		if p, ok := store.LocalPath(""); ok {
			s.outside = append(s.outside, p)
		}
	}
	return tbl, nil
}

// insideLake reports whether loc (as delta_scan would open it) is the lake
// root or below it, with symlinks resolved on local paths.
func insideLake(loc, lakeRoot string) bool {
	if strings.Contains(lakeRoot, "://") && !strings.HasPrefix(lakeRoot, "file://") {
		root := strings.TrimSuffix(lakeRoot, "/") + "/"
		return strings.HasPrefix(loc, root) && !slices.Contains(strings.Split(loc[len(root):], "/"), "..")
	}
	lakeRoot = strings.TrimPrefix(lakeRoot, "file://")
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
	a, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return false
		}
		a = abs // nothing there: opening it fails anyway
	}
	rel, err := filepath.Rel(root, a)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// checkModels asks the engine's parser whether every model's SQL is
// exactly one query, naming the model's file when it is not: a model that
// would run a second statement or anything but a query stops everything
// before any statement runs. A model whose SQL does not parse is left to
// fail on its own when it runs (the parser refuses all of a text that has
// a syntax error anywhere, so nothing of it runs either).
func checkModels(ctx context.Context, eng engine.Engine, proj *Project) error {
	sqls := make([]string, len(proj.Models))
	for i, m := range proj.Models {
		sqls[i] = checkableSQL(eng, m.SQL) // time travel: timetravel_models.go
	}
	// The same models read by the same parser before: nothing to parse
	// (checkstate.go).
	key := parseKey(proj, sqls)
	persist := rememberable(proj)
	if passedBefore(proj, key, persist) {
		return nil
	}
	parseChecks.Add(1)
	for i, m := range proj.Models {
		sql := sqls[i]
		if err := eng.CheckQuery(ctx, sql); errors.Is(err, engine.ErrNotQuery) {
			// The parser reads the SQL inside a subquery as one statement,
			// so its error points at the line where the second statement
			// (or the statement that is not a query) starts.
			line := 0
			if werr := eng.CheckQuery(ctx, "SELECT * FROM (\n"+sql+"\n)"); werr != nil && !errors.Is(werr, engine.ErrNotQuery) {
				line = m.sqlError(werr, 2, nil).Line
			}
			return m.errorAt(line, fmt.Sprintf("a model must be exactly one SELECT: %v", err))
		} else if err != nil && ctx.Err() != nil {
			return err
		}
	}
	rememberPassed(proj, key, persist)
	return nil
}

// parseChecks counts the times checkModels parsed the models (tests read
// it to see a check skipped).
var parseChecks atomic.Int64

// parseKey digests what checkModels depends on: the binary (its engine's
// parser), the engine's kind and settings, and the SQL of every model as
// the parser reads it.
func parseKey(proj *Project, sqls []string) string {
	h := sha256.New()
	ec := proj.Config.Engine
	fmt.Fprintf(h, "parse\nbinary %s\nengine %s %v\n", binaryIdentity(), ec.Kind, ec.Settings[ec.Kind])
	for _, sql := range sqls {
		fmt.Fprintf(h, "%d\n%s\n", len(sql), sql)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Describe checks sql like Query and returns, without running it, the
// engine's type name for each of its parameters ($1, $2, …) and its
// result columns; nil, nil when the engine cannot tell.
func (s *Session) Describe(ctx context.Context, sql string) ([]string, []engine.Column, error) {
	d, ok := s.eng.(engine.Describer)
	if !ok {
		return nil, nil, nil
	}
	run, err := s.prepare(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	params, cols, err := d.Describe(ctx, run)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: %w", err)
	}
	return params, cols, nil
}
