package engine

import "sync"

// Capabilities are what a backend says about how the pipeline drives it
// best, so that the pipeline asks the engine instead of testing its kind.
// A kind registers them with RegisterCapabilities; one that registers none
// gets the zero value, whose choices are right for any engine (if not the
// fastest for it).
type Capabilities struct {
	// ParallelSessions means the sessions of one Owner run statements at
	// once on the machine's cores, sharing one engine's memory and threads
	// (DuckDB: connections of one database). A project's default
	// engine.parallelism is then one table per CPU; without it, 1 (a
	// session of such a kind is an engine of its own, or a remote session
	// that runs one statement at a time).
	ParallelSessions bool
	// ViewTypedBatch reports whether a source's typed batch — TypeText's
	// relation over a Load, with the pipeline's constant columns, typed to
	// cols — is better named as a View (computed where it is read) than
	// Materialized. The pipeline reads the batch twice: a count and the
	// bronze write. A view saves the copy of every landed row but computes
	// its casts twice, so an engine answers true for the column types it
	// reads without a costly cast (DuckDB: strings, and doubles its CSV
	// scan reads typed). Nil means always materialize.
	ViewTypedBatch func(cols []Column) bool
	// Embedded means the engine runs in this process, its SQL parser and
	// binder part of this binary (DuckDB): a check of the models that
	// passed passes again for the same binary, so the pipeline remembers
	// it across processes. A remote engine (Spark Connect) may change
	// under the same binary: its checks are remembered within a process
	// only.
	Embedded bool
}

var (
	capsMu sync.RWMutex
	caps   = map[string]Capabilities{}
)

// RegisterCapabilities records the capabilities of kind. Like Register, it
// is meant for a backend's init function; registering a kind twice panics.
func RegisterCapabilities(kind string, c Capabilities) {
	capsMu.Lock()
	defer capsMu.Unlock()
	if kind == "" {
		panic("engine: RegisterCapabilities needs a kind")
	}
	if _, dup := caps[kind]; dup {
		panic("engine: RegisterCapabilities called twice for kind " + kind)
	}
	caps[kind] = c
}

// CapabilitiesOf returns the capabilities kind registered: the zero value
// for a kind that registered none, or an unknown kind.
func CapabilitiesOf(kind string) Capabilities {
	capsMu.RLock()
	defer capsMu.RUnlock()
	return caps[kind]
}

// ViewsTypedBatch reports whether, by c, a typed batch of cols is better a
// view than materialized (false when ViewTypedBatch is nil).
func (c Capabilities) ViewsTypedBatch(cols []Column) bool {
	return c.ViewTypedBatch != nil && c.ViewTypedBatch(cols)
}
