package pipeline

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestRunReleasesItsRelations: every relation a run asks the engine for
// (loaded files, typed rows, model results, checked and quarantined rows,
// deduplicated rows, merge targets) is dropped when its step ends, on a
// first run and on an incremental one that merges, as the engine's trace
// of statements shows.
func TestRunReleasesItsRelations(t *testing.T) {
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
	write("medallion.yaml", "name: rels\nsources:\n  items:\n    keys: [sku]\n")
	write("models/silver.sql", `-- name: silver.items
-- keys: [sku]
-- incremental: bronze.items
-- expectations:
--   - {name: positive, expr: "qty > 0", action: quarantine}
SELECT sku, CAST(qty AS BIGINT) AS qty, _ingested_at, _seq FROM bronze.items
`)
	write("models/gold.sql", "-- name: gold.total\nSELECT sum(qty) AS qty FROM silver.items\n")
	write("landing/items/a.csv", "sku,qty\na,1\nb,2\nc,0\na,3\n")
	proj, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	created := regexp.MustCompile(`__rel_\d+_`)
	dropped := regexp.MustCompile(`DROP (?:TABLE|VIEW) IF EXISTS "?(__rel_\d+_)`)
	for i, file := range []string{"", "landing/items/b.csv"} {
		if file != "" {
			write(file, "sku,qty\nb,5\nd,4\n")
		}
		var trace bytes.Buffer
		rep, err := Run(t.Context(), proj, RunOptions{Trace: &trace})
		if err != nil {
			t.Fatal(err)
		}
		if tr := tableReport(rep, "silver.items"); i == 1 && (tr == nil || tr.Replaced != 1) {
			t.Fatalf("run %d: silver.items %+v, want a merge replacing b", i, tr)
		}
		var seen, gone []string
		for _, m := range created.FindAllString(trace.String(), -1) {
			if !slices.Contains(seen, m) {
				seen = append(seen, m)
			}
		}
		for _, m := range dropped.FindAllStringSubmatch(trace.String(), -1) {
			gone = append(gone, m[1])
		}
		if len(seen) < 5 {
			t.Fatalf("run %d: only %d relations in the trace: %v", i, len(seen), seen)
		}
		for _, name := range seen {
			if !slices.Contains(gone, name) {
				t.Errorf("run %d: relation %s was never released", i, name)
			}
		}
	}
}

func tableReport(rep *Report, table string) *TableReport {
	for _, t := range rep.Tables {
		if t.Table == table {
			return t
		}
	}
	return nil
}
