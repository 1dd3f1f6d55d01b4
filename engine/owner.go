package engine

import (
	"context"
	"fmt"
	"io"
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
	if c.Sandbox != nil {
		if err := e.Sandbox(ctx, c.Sandbox); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

func (o *perSession) Close() error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	return nil
}
