package duckdb_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
)

// TestOpenKind opens kind duckdb through engine.Open with settings blocks
// and checks the settings DuckDB runs with: the block's values (YAML
// numbers in any integer type), the overrides for query and validation
// engines, a relative temp_dir resolved against the project folder and
// created; bad settings fail naming the key.
func TestOpenKind(t *testing.T) {
	if !slices.Contains(engine.Kinds(), "duckdb") {
		t.Fatalf("engine.Kinds() = %v, want duckdb registered by the package", engine.Kinds())
	}
	dir := t.TempDir()
	cases := []struct {
		name    string
		cfg     engine.Config
		threads string
		memory  string // DuckDB's rendering of memory_limit
		tempDir string
		wantErr string
	}{
		{"block", engine.Config{Settings: map[string]any{"memory_limit": "1GB", "threads": uint64(3), "temp_dir": "spill/here"}, Dir: dir},
			"3", "953.6 MiB", filepath.Join(dir, "spill/here"), ""},
		{"flat keys' int", engine.Config{Settings: map[string]any{"threads": 2}}, "2", "", "", ""},
		{"overrides", engine.Config{Settings: map[string]any{"memory_limit": "1GB", "threads": 3}, MemoryLimit: "256MB", Threads: 1},
			"1", "244.1 MiB", "", ""},
		{"unknown setting", engine.Config{Settings: map[string]any{"remote": "sc://x"}}, "", "", "",
			"duckdb: engine.duckdb.remote: unknown setting (known: memory_limit, temp_dir, threads)"},
		{"negative threads", engine.Config{Settings: map[string]any{"threads": -2}}, "", "", "", "duckdb: engine.duckdb.threads: must be >= 0"},
		{"threads not a number", engine.Config{Settings: map[string]any{"threads": "many"}}, "", "", "", "duckdb: engine.duckdb.threads: must be >= 0"},
		{"memory_limit not a string", engine.Config{Settings: map[string]any{"memory_limit": []any{"2GB"}}}, "", "", "", "duckdb: engine.duckdb.memory_limit: must be a string, not [2GB]"},
		{"memory_limit DuckDB rejects", engine.Config{Settings: map[string]any{"memory_limit": "lots"}}, "", "", "", "memory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Kind = "duckdb"
			eng, err := engine.Open(t.Context(), &cfg)
			if c.wantErr != "" {
				if err == nil {
					eng.Close()
					t.Fatalf("Open succeeded, want an error %q", c.wantErr)
				}
				if eng != nil {
					t.Errorf("Open returned an engine with its error")
				}
				if !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Open error = %v, want it to contain %q", err, c.wantErr)
				}
				// A bad key is a *engine.SettingError; a value DuckDB
				// itself rejects is DuckDB's error.
				var se *engine.SettingError
				if errors.As(err, &se) != strings.HasPrefix(c.wantErr, "duckdb: engine.duckdb.") {
					t.Errorf("error %v: wraps *engine.SettingError = %v", err, se != nil)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			res, err := eng.Query(t.Context(), "SELECT current_setting('threads')::VARCHAR, current_setting('memory_limit')::VARCHAR, current_setting('temp_directory')::VARCHAR")
			if err != nil {
				t.Fatal(err)
			}
			row := res.Rows[0]
			if got := fmt.Sprint(row[0]); got != c.threads {
				t.Errorf("threads = %s, want %s", got, c.threads)
			}
			if c.memory != "" && fmt.Sprint(row[1]) != c.memory {
				t.Errorf("memory_limit = %v, want %s", row[1], c.memory)
			}
			if c.tempDir != "" {
				if fmt.Sprint(row[2]) != c.tempDir {
					t.Errorf("temp_directory = %v, want %s", row[2], c.tempDir)
				}
				if fi, err := os.Stat(c.tempDir); err != nil || !fi.IsDir() {
					t.Errorf("temp_dir %s not created: %v", c.tempDir, err)
				}
			}
		})
	}
}

// TestSQLType: the engine names Delta types for the pipeline's casts.
func TestSQLType(t *testing.T) {
	eng, err := engine.Open(t.Context(), &engine.Config{Kind: "duckdb"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cases := []struct {
		typ  delta.DataType
		want string
	}{
		{delta.Primitive(delta.TypeString), "VARCHAR"},
		{delta.Primitive(delta.TypeLong), "BIGINT"},
	}
	for _, c := range cases {
		if got, err := eng.SQLType(c.typ); err != nil || got != c.want {
			t.Errorf("SQLType(%s) = %q, %v; want %q", c.typ, got, err, c.want)
		}
	}
}
