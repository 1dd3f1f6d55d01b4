package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/medallionhq/medallion/engine"
)

// Database is one in-memory DuckDB database shared by sessions: each
// session is a connection of its own with a catalog of its own (attached
// in memory and made the connection's default), so that names one session
// binds are invisible to the others, while memory, threads and temp space
// are the database's. It is the engine.Owner of kind duckdb.
//
// A Database opened with Options.Sandbox is confined before its first
// session: every session reads and writes files only under those
// directories, reaches no network, loads no extension and changes no
// setting, from its first statement on.
type Database struct {
	db     *sql.DB
	opts   Options
	sealed []string // allowed directories (allowedForms) of a sandboxed database

	mu     sync.Mutex
	seq    int
	open   int
	closed bool
}

var _ engine.Owner = (*Database)(nil)

// OpenDatabase opens a database for sessions.
func OpenDatabase(ctx context.Context, opts *Options) (*Database, error) {
	if opts == nil {
		opts = &Options{}
	}
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: open: %w", err)
	}
	db := sql.OpenDB(connector)
	// A connection given back is closed, never reused: its temporary
	// tables go with it.
	db.SetMaxIdleConns(0)
	d := &Database{db: db, opts: *opts}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb: connect: %w", err)
	}
	defer conn.Close()
	if err := configure(ctx, conn, opts); err != nil {
		db.Close()
		return nil, err
	}
	if opts.Sandbox != nil {
		setup := &Engine{conn: conn}
		if err := setup.Sandbox(ctx, opts.Sandbox.AllowedDirs); err != nil {
			db.Close()
			return nil, err
		}
		var tmp string
		if err := conn.QueryRowContext(ctx, "SELECT current_setting('temp_directory')").Scan(&tmp); err != nil {
			db.Close()
			return nil, fmt.Errorf("duckdb: sandbox: %w", err)
		}
		for _, dir := range append(slices.Clone(opts.Sandbox.AllowedDirs), tmp) {
			d.sealed = append(d.sealed, allowedForms(dir)...)
		}
	}
	return d, nil
}

// Session opens a session: a connection with a catalog of its own.
func (d *Database) Session(ctx context.Context, opts engine.SessionOptions) (engine.Engine, error) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, errors.New("duckdb: session of a closed database")
	}
	d.seq++
	d.open++
	catalog := fmt.Sprintf("session_%d", d.seq)
	d.mu.Unlock()
	conn, err := d.db.Conn(ctx)
	if err != nil {
		d.done()
		return nil, fmt.Errorf("duckdb: connect: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "ATTACH ':memory:' AS "+quoteIdent(catalog)+"; USE "+quoteIdent(catalog)); err != nil {
		conn.Close()
		d.done()
		return nil, fmt.Errorf("duckdb: session: %w", err)
	}
	trace := opts.Trace
	if trace == nil {
		trace = d.opts.Trace
	}
	return &Engine{owner: d, catalog: catalog, conn: conn, schemas: map[string]bool{}, cached: map[string]bool{}, trace: trace, cache: d.opts.Cache}, nil
}

// done counts a session closed.
func (d *Database) done() {
	d.mu.Lock()
	d.open--
	d.mu.Unlock()
}

// Sessions is the number of sessions open.
func (d *Database) Sessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.open
}

// Close closes the database.
func (d *Database) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	return d.db.Close()
}

// sessionSandbox is Sandbox for a session: the database's confinement is
// fixed when it opens, so a session may only confirm directories it
// already allows.
func (e *Engine) sessionSandbox(dirs []string) error {
	if e.owner.sealed == nil {
		return errors.New("duckdb: sandbox: a session cannot confine a shared database; open it with a sandbox (Options.Sandbox)")
	}
	for _, dir := range dirs {
		for _, f := range allowedForms(dir) {
			if !slices.ContainsFunc(e.owner.sealed, func(s string) bool { return len(f) >= len(s) && f[:len(s)] == s }) {
				return fmt.Errorf("duckdb: sandbox: %s is outside the directories the database is confined to", dir)
			}
		}
	}
	return nil
}
