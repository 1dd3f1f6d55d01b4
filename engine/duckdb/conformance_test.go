package duckdb_test

import (
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/enginetest"
)

// TestConformance runs the engine conformance suite on DuckDB, opened the
// way the pipeline opens it: through the registry.
func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) engine.Engine {
		e, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb", Settings: map[string]any{"memory_limit": "512MB", "temp_dir": t.TempDir(), "threads": 1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	})
}
