package engine

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Owner is the one engine of a project in a process: the runs, stream
// micro-batches, job-history writes, schema checks and HTTP queries of the
// project take sessions of it instead of opening engines of their own. An
// Owner is safe for concurrent use; each session is not (see Engine).
//
// A session's bound names, views, cached copies and relations are its
// own: another session binding "silver.orders" at another version does not
// change what this one reads. Memory, threads, temp space and the file
// cache are the owner's, shared by its sessions.
type Owner interface {
	// Session opens a session. Closing it releases what it made; the
	// owner stays open.
	Session(ctx context.Context, opts SessionOptions) (Engine, error)
	// Close closes the owner. Sessions still open fail from then on.
	Close() error
}

// SessionOptions configure one session of an Owner.
type SessionOptions struct {
	// Trace, when set, receives every statement of the session with its
	// duration.
	Trace io.Writer
}

// OwnerFunc opens the owner of a registered kind.
type OwnerFunc func(ctx context.Context, cfg *Config) (Owner, error)

var (
	ownersMu sync.RWMutex
	owners   = map[string]OwnerFunc{}
)

// RegisterOwner registers how kind shares one engine between sessions
// (DuckDB: connections of one database). A kind registered without it gets
// an owner that opens one engine per session. Like Register, it is meant
// for a backend's init function; registering a kind twice panics.
func RegisterOwner(kind string, open OwnerFunc) {
	ownersMu.Lock()
	defer ownersMu.Unlock()
	if kind == "" || open == nil {
		panic("engine: RegisterOwner needs a kind and an open function")
	}
	if _, dup := owners[kind]; dup {
		panic("engine: RegisterOwner called twice for kind " + kind)
	}
	owners[kind] = open
}

// OpenOwner opens the owner of cfg.Kind. With cfg.Sandbox set, every
// session is confined to those directories before it runs anything (see
// Engine.Sandbox), and a session's own Sandbox call may only confirm
// directories among them.
func OpenOwner(ctx context.Context, cfg *Config) (Owner, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if _, err := lookup(cfg.Kind); err != nil {
		return nil, err
	}
	ownersMu.RLock()
	open, ok := owners[cfg.Kind]
	ownersMu.RUnlock()
	if ok {
		return open(ctx, cfg)
	}
	c := *cfg
	return &perSession{cfg: &c}, nil
}

// perSession is the owner of a kind that cannot share an engine: each
// session is an engine of its own, opened with the owner's config.
type perSession struct {
	cfg    *Config
	mu     sync.Mutex
	closed bool
}

func (o *perSession) Session(ctx context.Context, opts SessionOptions) (Engine, error) {
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("engine: session of a closed %s owner", o.cfg.Kind)
	}
	c := *o.cfg
	if opts.Trace != nil {
		c.Trace = opts.Trace
	}
	e, err := Open(ctx, &c)
	if err != nil {
		return nil, err
	}
	if c.Sandbox == nil {
		return e, nil
	}
	if err := e.Sandbox(ctx, c.Sandbox); err != nil {
		e.Close()
		return nil, err
	}
	return &confined{Engine: e, dirs: c.Sandbox}, nil
}

// confined is a session of a perSession owner with a sandbox: its engine
// was confined when it opened, so a later Sandbox call (the pipeline's
// query sessions make one) only confirms directories under the owner's,
// as OpenOwner promises, instead of confining the engine a second time.
type confined struct {
	Engine
	dirs []string
}

// Sandbox implements Engine: dirs must lie under the owner's directories.
func (c *confined) Sandbox(ctx context.Context, dirs []string) error {
	for _, dir := range dirs {
		if !slices.ContainsFunc(c.dirs, func(allowed string) bool { return within(dir, allowed) }) {
			return fmt.Errorf("engine: sandbox: %s is outside the directories the session is confined to", dir)
		}
	}
	return nil
}

// Describe implements Describer with the engine's own, when it has one.
func (c *confined) Describe(ctx context.Context, sql string) ([]string, []Column, error) {
	return Describe(ctx, c.Engine, sql)
}

// within reports whether dir is allowed or below it: each form of dir
// (absolute, and with symlinks resolved when it exists) must lie under a
// form of allowed, so a symlink out of allowed is not within it.
func within(dir, allowed string) bool {
	as := pathForms(allowed)
	ds := pathForms(dir)
	if len(ds) == 0 {
		return false
	}
	for _, d := range ds {
		if !slices.ContainsFunc(as, func(a string) bool {
			rel, err := filepath.Rel(a, d)
			return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
		}) {
			return false
		}
	}
	return true
}

// pathForms is p made absolute and, when p exists, with symlinks resolved
// too; nil when p cannot be made absolute.
func pathForms(p string) []string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil
	}
	out := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		out = append(out, real)
	}
	return out
}

func (o *perSession) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	return nil
}
