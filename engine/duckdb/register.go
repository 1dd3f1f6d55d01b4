package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// Kind is the engine kind this package registers: engine.kind duckdb in
// medallion.yaml.
const Kind = "duckdb"

func init() {
	engine.Register(Kind, open, check)
	engine.RegisterOwner(Kind, openOwner)
}

// SQLType renders a Delta type as a DuckDB type (engine.Engine.SQLType).
func (e *Engine) SQLType(t delta.DataType) (string, error) { return SQLType(t) }

// blockSettings is the engine.duckdb block of medallion.yaml.
type blockSettings struct {
	MemoryLimit string // memory_limit: "2GB"
	TempDir     string // temp_dir: where DuckDB spills; relative to the project
	Threads     int    // threads: 0 = all cores
}

// decode reads the engine.duckdb block, naming the key of any bad setting.
func decode(m map[string]any) (blockSettings, error) {
	var s blockSettings
	for k, v := range m {
		switch k {
		case "memory_limit", "temp_dir":
			str, ok := v.(string)
			if !ok && v != nil {
				return s, &engine.SettingError{Key: k, Msg: fmt.Sprintf("must be a string, not %v", v)}
			}
			if k == "memory_limit" {
				s.MemoryLimit = str
			} else {
				s.TempDir = str
			}
		case "threads":
			n, ok := toInt(v)
			if !ok || n < 0 {
				return s, &engine.SettingError{Key: k, Msg: "must be >= 0"}
			}
			s.Threads = n
		default:
			return s, &engine.SettingError{Key: k, Msg: "unknown setting (known: memory_limit, temp_dir, threads)"}
		}
	}
	return s, nil
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case nil:
		return 0, true
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		return int(n), n <= 1<<31
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}

func check(cfg *engine.Config) error {
	_, err := decode(cfg.Settings)
	return err
}

func open(ctx context.Context, cfg *engine.Config) (engine.Engine, error) {
	o, err := options(cfg)
	if err != nil {
		return nil, err
	}
	e, err := Open(ctx, o)
	if err != nil {
		return nil, err // not a typed nil inside a non-nil engine.Engine
	}
	return e, nil
}

// openOwner opens a Database whose connections are the sessions.
func openOwner(ctx context.Context, cfg *engine.Config) (engine.Owner, error) {
	o, err := options(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Sandbox != nil {
		o.Sandbox = &Sandbox{AllowedDirs: cfg.Sandbox}
	}
	d, err := OpenDatabase(ctx, o)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// options are the Options of a config: its settings block, overridden by
// its MemoryLimit and Threads.
func options(cfg *engine.Config) (*Options, error) {
	s, err := decode(cfg.Settings)
	if err != nil {
		return nil, fmt.Errorf("duckdb: engine.duckdb.%w", err)
	}
	if cfg.MemoryLimit != "" {
		s.MemoryLimit = cfg.MemoryLimit
	}
	if cfg.Threads > 0 {
		s.Threads = cfg.Threads
	}
	if s.TempDir != "" {
		if !filepath.IsAbs(s.TempDir) && cfg.Dir != "" {
			s.TempDir = filepath.Join(cfg.Dir, s.TempDir)
		}
		// DuckDB creates only the last folder of its temp directory.
		if err := os.MkdirAll(s.TempDir, 0o755); err != nil {
			return nil, fmt.Errorf("duckdb: engine.duckdb.temp_dir: %w", err)
		}
	}
	return &Options{MemoryLimit: s.MemoryLimit, TempDir: s.TempDir, Threads: s.Threads, Trace: cfg.Trace, Cache: cfg.Cache}, nil
}
