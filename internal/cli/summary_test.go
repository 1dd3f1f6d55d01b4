package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIRunSummary: `medallion run` prints the result of medallion.yaml's
// summary after the run's line; over a table that waits for its inputs it
// says the KPIs are not there yet and succeeds; a summary that fails when
// no table waits fails the run's command; a run of some tables (--select) prints
// none.
func TestCLIRunSummary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		summary string
		args    []string
		code    int
		want    []string // in stdout, or stderr when the command fails
		notWant []string
	}{
		{"a gold table", "SELECT qty, n FROM gold.total", nil, 0, []string{"qty  n", "9    2", "(1 row)"}, nil},
		{"a view over a bronze table", "SELECT sum(q) AS q2 FROM silver.doubled", nil, 0, []string{"q2", "18", "(1 row)"}, nil},
		{"a table waiting for its inputs", "SELECT n FROM gold.events", nil, 0, []string{"headline KPIs: not yet (the tables they read wait for their inputs)"}, []string{"(1 row)"}},
		{"a broken summary", "SELECT nope FROM gold.total", nil, 1, []string{"summary: ", "nope"}, nil},
		{"not a query", "SELECT 1; SELECT 2", nil, 1, []string{"summary: "}, nil},
		{"a selection", "SELECT qty, n FROM gold.total", []string{"--select", "gold.total"}, 0, nil, []string{"(1 row)", "headline KPIs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"medallion.yaml":      "name: kpis\nsources:\n  items:\n    schema: {qty: long}\n  events: {}\nsummary: " + tc.summary + "\n",
				"models/total.sql":    "-- name: gold.total\nSELECT sum(qty) AS qty, count(*) AS n FROM bronze.items\n",
				"models/doubled.sql":  "-- name: silver.doubled\n-- materialized: view\nSELECT qty * 2 AS q FROM bronze.items\n",
				"models/events.sql":   "-- name: gold.events\nSELECT count(*) AS n FROM bronze.events\n",
				"landing/items/a.csv": "sku,qty\na,4\nb,5\n",
			}
			if !strings.Contains(tc.summary, "gold.events") {
				files["landing/events/a.csv"] = "id\n1\n" // no table waits
			}
			for p, c := range files {
				full := filepath.Join(dir, filepath.FromSlash(p))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := medallion(t, append([]string{"run", "-C", dir}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			got := out
			if code != 0 {
				got = errOut
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output does not say %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("output says %q:\n%s", w, out)
				}
			}
			if code == 0 && !summaryLine.MatchString(out) {
				t.Errorf("no line of the run:\n%s", out)
			}
		})
	}
}
