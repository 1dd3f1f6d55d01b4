package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/medallionhq/medallion/internal/filecache"
)

// ErrUnknownKind means no engine backend is registered for a kind.
var ErrUnknownKind = errors.New("engine: unknown engine kind")

// Config is what Open hands a backend.
type Config struct {
	// Kind names the backend ("duckdb").
	Kind string
	// Settings is the kind's own block of medallion.yaml (engine.<kind>),
	// as decoded YAML: keys to strings, numbers, booleans, lists or maps.
	// Nil means the backend's defaults.
	Settings map[string]any
	// Dir is the project folder; relative paths in Settings resolve
	// against it.
	Dir string
	// MemoryLimit, when set, replaces the memory limit of Settings (a
	// smaller engine for an HTTP query or a schema check).
	MemoryLimit string
	// Threads, when > 0, replaces the thread count of Settings.
	Threads int
	// Trace, when set, receives every statement with its duration.
	Trace io.Writer
	// Cache holds local copies of remote files, for backends that read
	// only local files.
	Cache *filecache.Cache
	// Sandbox, when non-nil, confines an Owner's sessions to these
	// directories from the start (OpenOwner). Open ignores it.
	Sandbox []string
}

// OpenFunc opens an engine of a registered kind.
type OpenFunc func(ctx context.Context, cfg *Config) (Engine, error)

// CheckFunc validates a kind's settings without opening an engine, so that
// bad config fails when the project loads. It returns a *SettingError for
// a bad key.
type CheckFunc func(cfg *Config) error

// SettingError is a bad key in a kind's settings block.
type SettingError struct {
	// Key is the setting's key inside the kind's block ("threads").
	Key string
	Msg string
}

func (e *SettingError) Error() string { return e.Key + ": " + e.Msg }

type backend struct {
	open  OpenFunc
	check CheckFunc
}

var (
	registryMu sync.RWMutex
	registry   = map[string]backend{}
)

// Register makes an engine backend available under kind, the way storage
// drivers register URL schemes. It is meant to be called from the init
// function of a backend package; check may be nil. Registering a kind twice
// panics.
func Register(kind string, open OpenFunc, check CheckFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if kind == "" || open == nil {
		panic("engine: Register needs a kind and an open function")
	}
	if _, dup := registry[kind]; dup {
		panic("engine: Register called twice for kind " + kind)
	}
	registry[kind] = backend{open: open, check: check}
}

// Kinds returns the registered kinds, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

func lookup(kind string) (backend, error) {
	registryMu.RLock()
	b, ok := registry[kind]
	registryMu.RUnlock()
	if !ok {
		registered := "none; import a backend package such as engine/duckdb"
		if k := Kinds(); len(k) > 0 {
			registered = strings.Join(k, ", ")
		}
		return backend{}, fmt.Errorf("%w %q (registered: %s)", ErrUnknownKind, kind, registered)
	}
	return b, nil
}

// Check validates cfg's kind and settings without opening an engine.
func Check(cfg *Config) error {
	b, err := lookup(cfg.Kind)
	if err != nil {
		return err
	}
	if b.check == nil {
		return nil
	}
	return b.check(cfg)
}

// Open opens an engine of cfg.Kind. An unregistered kind fails with an
// error wrapping ErrUnknownKind that lists the registered kinds.
func Open(ctx context.Context, cfg *Config) (Engine, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	b, err := lookup(cfg.Kind)
	if err != nil {
		return nil, err
	}
	return b.open(ctx, cfg)
}
