package pipeline_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestRunAnswersItsSummary: a run asked for a summary query answers it on
// its own engine after its last table (the query is in the run's trace)
// over the tables at their latest version: a model's table, a view, a
// table by path (delta_scan) or at a version; a query over a table that
// waits for its inputs leaves the reason in SummaryErr and the run
// succeeds; a failed run answers none.
func TestRunAnswersItsSummary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		summary string
		broken  bool
		rows    string // fmt of the result's rows; "" for none
		wantErr string // in SummaryErr
	}{
		{"a model's table", "SELECT qty AS kpi_qty, n FROM gold.total", false, "[[9 2]]", ""},
		{"a view", "SELECT CAST(sum(q) AS BIGINT) AS kpi_q FROM silver.doubled", false, "[[18]]", ""},
		{"by path", "SELECT count(*) AS kpi_n FROM delta_scan('LAKE/gold/total')", false, "[[1]]", ""},
		{"at a version", "SELECT count(*) AS kpi_n FROM bronze.items VERSION AS OF 1", false, "[[2]]", ""},
		{"a table waiting for its inputs", "SELECT n AS kpi_n FROM gold.events", false, "", "gold.events"},
		{"a failed run", "SELECT qty AS kpi_qty, n FROM gold.total", true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{
				"medallion.yaml":      "name: kpis\nsources:\n  items:\n    schema: {qty: long}\n  events: {}\n",
				"models/total.sql":    "-- name: gold.total\nSELECT sum(qty) AS qty, count(*) AS n FROM bronze.items\n",
				"models/doubled.sql":  "-- name: silver.doubled\n-- materialized: view\nSELECT qty * 2 AS q FROM bronze.items\n",
				"models/events.sql":   "-- name: gold.events\nSELECT count(*) AS n FROM bronze.events\n",
				"landing/items/a.csv": "sku,qty\na,4\nb,5\n",
			}
			if tc.broken {
				files["models/total.sql"] = "-- name: gold.total\nSELECT nope FROM bronze.items\n"
			}
			dir, proj := writeProject(t, files)
			summary := strings.ReplaceAll(tc.summary, "LAKE", filepath.ToSlash(filepath.Join(dir, "lake")))
			var trace bytes.Buffer
			rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Summary: summary, Trace: &trace})
			if (err != nil) != tc.broken {
				t.Fatalf("run: %v, want failed %v", err, tc.broken)
			}
			got := ""
			if rep.Summary != nil {
				got = fmt.Sprint(rep.Summary.Rows)
			}
			if got != tc.rows {
				t.Errorf("summary rows %s, want %s", got, tc.rows)
			}
			if tc.wantErr == "" && rep.SummaryErr != nil || tc.wantErr != "" && (rep.SummaryErr == nil || !strings.Contains(rep.SummaryErr.Error(), tc.wantErr)) {
				t.Errorf("summary error %v, want one naming %q", rep.SummaryErr, tc.wantErr)
			}
			if ran := strings.Contains(trace.String(), "AS kpi_"); ran != (tc.rows != "") && tc.wantErr == "" {
				t.Errorf("the summary ran on the run's engine: %v, want %v; trace:\n%s", ran, tc.rows != "", trace.String())
			}
		})
	}
}
