package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPassedChecksAreNotRepeated: a run whose pre-run check passed in an
// earlier process (this process's memory of passed checks cleared, as in
// a new one) opens no engine session for the check, and its engine session
// does not parse the models again; an edited model is checked and parsed
// again (by the run's session and the check's).
func TestPassedChecksAreNotRepeated(t *testing.T) {
	dir := t.TempDir()
	write := func(p, c string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("medallion.yaml", "name: checks\nsources:\n  items:\n    keys: [sku]\n")
	write("models/silver.sql", "-- name: silver.items\n-- keys: [sku]\nSELECT sku, CAST(qty AS BIGINT) AS qty FROM bronze.items\n")
	for i, step := range []struct {
		file, content    string
		sessions, parses int64
	}{
		{"landing/items/a.csv", "sku,qty\na,1\n", 1, 1},
		{"landing/items/b.csv", "sku,qty\nb,2\n", 0, 0},
		{"models/silver.sql", "-- name: silver.items\n-- keys: [sku]\nSELECT sku, CAST(qty AS BIGINT) + 1 AS qty FROM bronze.items\n", 1, 1},
		{"landing/items/c.csv", "sku,qty\nc,3\n", 0, 0},
	} {
		write(step.file, step.content)
		proj, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		passedChecks.Lock()
		clear(passedChecks.m) // a new process
		passedChecks.Unlock()
		sessions, parses := validationSessions.Load(), parseChecks.Load()
		if _, err := Run(t.Context(), proj, RunOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := validationSessions.Load() - sessions; got != step.sessions {
			t.Errorf("run %d (%s): %d sessions opened for the check, want %d", i, step.file, got, step.sessions)
		}
		if got := parseChecks.Load() - parses; got != step.parses {
			t.Errorf("run %d (%s): models parsed %d times, want %d", i, step.file, got, step.parses)
		}
	}
}
