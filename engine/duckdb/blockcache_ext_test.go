package duckdb_test

import (
	"testing"

	"github.com/medallionhq/medallion/engine/duckdb"
)

// TestOpenKeepsFreedBlocks: a database opened with a memory limit keeps an
// eighth of it of freed buffer blocks for reuse; without one, none.
func TestOpenKeepsFreedBlocks(t *testing.T) {
	for _, tc := range []struct{ limit, want string }{
		{"1GiB", "128.0 MiB"},
		{"", "0 bytes"},
	} {
		e, err := duckdb.Open(t.Context(), &duckdb.Options{MemoryLimit: tc.limit, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Query(t.Context(), "SELECT current_setting('block_allocator_memory')")
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Rows[0][0]; got != tc.want {
			t.Errorf("memory limit %q: block_allocator_memory %v, want %s", tc.limit, got, tc.want)
		}
	}
}
