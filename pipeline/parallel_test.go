package pipeline_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestParallelRunFailureIsolated runs a project whose tables run at once
// (parallelism 4) and where one model fails at run time: the run fails
// naming that model, the model downstream of it is skipped and creates
// nothing, and every other table commits its rows, consistent with its
// inputs. Once the model is fixed, the next run computes it and its
// downstream, and leaves the others as they were (exactly-once markers).
func TestParallelRunFailureIsolated(t *testing.T) {
	files := map[string]string{
		"medallion.yaml":           "name: par\nsources:\n  a:\n    schema: {id: long, v: long}\n  b:\n    schema: {id: long, v: string}\n",
		"landing/a/1.csv":          "id,v\n1,10\n2,20\n3,30\n",
		"landing/b/1.csv":          "id,v\n1,x\n2,y\n",
		"models/silver/a_sum.sql":  "-- name: silver.a_sum\nSELECT sum(v) AS total, count(*) AS n FROM bronze.a\n",
		"models/silver/a_copy.sql": "-- name: silver.a_copy\nSELECT id, v FROM bronze.a\n",
		// Valid SQL that fails on the data: 'x' is no integer.
		"models/silver/b_bad.sql": "-- name: silver.b_bad\nSELECT id, CAST(v AS INTEGER) AS v FROM bronze.b\n",
		"models/gold/b_gold.sql":  "-- name: gold.b_gold\nSELECT count(*) AS n FROM silver.b_bad\n",
		"models/gold/a_gold.sql":  "-- name: gold.a_gold\nSELECT s.total, c.n FROM silver.a_sum s, (SELECT count(*) AS n FROM silver.a_copy) c\n",
	}
	dir, proj := writeProject(t, files)
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 4})
	if err == nil {
		t.Fatal("run succeeded; want silver.b_bad to fail it")
	}
	if !strings.Contains(err.Error(), "silver.b_bad") {
		t.Errorf("run error %q does not name silver.b_bad", err)
	}
	want := map[string]string{
		"bronze.a": pipeline.StatusOK, "bronze.b": pipeline.StatusOK,
		"silver.a_sum": pipeline.StatusOK, "silver.a_copy": pipeline.StatusOK, "gold.a_gold": pipeline.StatusOK,
		"silver.b_bad": pipeline.StatusFailed, "gold.b_gold": pipeline.StatusSkipped,
	}
	for name, status := range want {
		tr := tableReport(rep, name)
		if tr == nil {
			t.Errorf("%s: not in the report", name)
			continue
		}
		if tr.Status != status {
			t.Errorf("%s: status %q (%s), want %q", name, tr.Status, tr.Error, status)
		}
	}
	if tr := tableReport(rep, "gold.b_gold"); tr != nil && !strings.Contains(tr.Error, "silver.b_bad") {
		t.Errorf("gold.b_gold: error %q does not name the failed upstream", tr.Error)
	}
	if rows := query(t, proj, "SELECT CAST(total AS BIGINT), n FROM gold.a_gold"); len(rows) != 1 || rows[0][0] != int64(60) || rows[0][1] != int64(3) {
		t.Errorf("gold.a_gold = %v, want [[60 3]]", rows)
	}
	if rows := query(t, proj, "SELECT count(*) FROM silver.a_copy"); rows[0][0] != int64(3) {
		t.Errorf("silver.a_copy has %v rows, want 3", rows[0][0])
	}
	for _, name := range []string{"silver.b_bad", "gold.b_gold"} {
		if rows := query(t, proj, "SELECT count(*) FROM medallion.runs WHERE table_name = '"+name+"' AND status = '"+want[name]+"'"); rows[0][0] != int64(1) {
			t.Errorf("medallion.runs: %v rows for %s %s, want 1", rows[0][0], name, want[name])
		}
	}
	versions := map[string]int64{}
	for _, tr := range rep.Tables {
		versions[tr.Table] = tr.Version
	}

	// Fixed: the next run computes silver.b_bad and gold.b_gold only.
	addFiles(t, dir, map[string]string{"models/silver/b_bad.sql": "-- name: silver.b_bad\nSELECT id, length(v) AS v FROM bronze.b\n"})
	proj, err = pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 4})
	if err != nil {
		t.Fatalf("run after the fix: %v", err)
	}
	for _, tr := range rep.Tables {
		switch tr.Table {
		case "silver.b_bad", "gold.b_gold":
			if tr.Status != pipeline.StatusOK {
				t.Errorf("after the fix: %s: status %q (%s), want ok", tr.Table, tr.Status, tr.Error)
			}
		default:
			if tr.Status != pipeline.StatusUpToDate || tr.Version != versions[tr.Table] {
				t.Errorf("after the fix: %s: status %q at version %d, want up-to-date at %d", tr.Table, tr.Status, tr.Version, versions[tr.Table])
			}
		}
	}
	if rows := query(t, proj, "SELECT n FROM gold.b_gold"); len(rows) != 1 || rows[0][0] != int64(2) {
		t.Errorf("gold.b_gold = %v, want [[2]]", rows)
	}
}

// TestParallelismConfig: engine.parallelism sets how many tables a run
// updates at once; a negative one is refused naming the key.
func TestParallelismConfig(t *testing.T) {
	_, proj := writeProject(t, map[string]string{"medallion.yaml": "name: p\nengine:\n  parallelism: 3\n"})
	if got := proj.Parallelism(); got != 3 {
		t.Errorf("Parallelism() = %d, want 3", got)
	}
	dir := t.TempDir()
	addFiles(t, dir, map[string]string{"medallion.yaml": "name: p\nengine:\n  parallelism: -2\n"})
	if _, err := pipeline.Load(dir); err == nil || !strings.Contains(err.Error(), "engine.parallelism") {
		t.Errorf("Load with engine.parallelism -2: %v, want an error naming engine.parallelism", err)
	}
}

// TestLargestSourceStartsFirst: of the sources, the one with the most bytes
// landed starts first (the others in the project's order), so the longest
// one does not come last; the run's report keeps the project's order.
func TestLargestSourceStartsFirst(t *testing.T) {
	big := strings.Repeat("1,some longer text to make this file the largest\n", 200)
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":  "name: order\nsources:\n  a:\n    schema: {id: long, v: string}\n  b:\n    schema: {id: long, v: string}\n  c:\n    schema: {id: long, v: string}\n",
		"landing/a/1.csv": "id,v\n1,x\n2,w\n", // as large as b: a tie keeps the project order
		"landing/b/1.csv": "id,v\n1,y\n2,z\n",
		"landing/c/1.csv": "id,v\n" + big,
	})
	var trace strings.Builder
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 1, Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	started := tracedTables(trace.String()) // one worker: tables end in the order they start
	if want := []string{"bronze.c", "bronze.a", "bronze.b"}; !slices.Equal(started, want) {
		t.Errorf("tables ran in the order %v, want %v", started, want)
	}
	reported := reportedTables(rep)
	if want := []string{"bronze.a", "bronze.b", "bronze.c"}; !slices.Equal(reported, want) {
		t.Errorf("report lists %v, want the project's order %v", reported, want)
	}
}

// TestModelsNeedNotWaitForSourcesTheyDoNotRead: sources and models are
// scheduled together, so a model starts once the sources it reads are
// done, before a source it does not read (one worker: tables run in the
// order they start).
func TestModelsNeedNotWaitForSourcesTheyDoNotRead(t *testing.T) {
	big := strings.Repeat("1,some longer text to make this landing the largest\n", 200)
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: order\nsources:\n  a:\n    schema: {id: long, v: string}\n  b:\n    schema: {id: long, v: string}\n",
		"landing/a/1.csv":     "id,v\n" + big,
		"landing/b/1.csv":     "id,v\n1,y\n",
		"models/silver/a.sql": "-- name: silver.a\nSELECT id, v FROM bronze.a\n",
	})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
	addFiles(t, dir, map[string]string{"landing/a/2.csv": "id,v\n2,x\n", "landing/b/2.csv": "id,v\n2,z\n"})
	var trace strings.Builder
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 1, Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	started := tracedTables(trace.String()) // one worker: tables end in the order they start
	if want := []string{"bronze.a", "silver.a", "bronze.b"}; !slices.Equal(started, want) {
		t.Errorf("tables ran in the order %v, want %v", started, want)
	}
	reported := reportedTables(rep)
	if want := []string{"bronze.a", "bronze.b", "silver.a"}; !slices.Equal(reported, want) {
		t.Errorf("report lists %v, want sources then models, in the project's order: %v", reported, want)
	}
	if got, want := tableRows(t, proj, "SELECT count(*) FROM silver.a"), []string{"201"}; !slices.Equal(got, want) {
		t.Errorf("silver.a rows = %v, want %v", got, want)
	}
}

// TestWaitingModelsAreCheckedBeforeAnyModelRuns: a model that waited at the
// pre-run check for a table no source had created yet is checked once its
// source created it, before any model runs: when it is broken, no model
// writes (every source still ingests), and the error names it. With one
// worker and with two.
func TestWaitingModelsAreCheckedBeforeAnyModelRuns(t *testing.T) {
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprintf("parallelism %d", par), func(t *testing.T) {
			dir, proj := writeProject(t, map[string]string{
				"medallion.yaml":      "name: gate\nsources:\n  a:\n    schema: {id: long, v: string}\n  n:\n    schema: {id: long, v: string}\n",
				"landing/a/1.csv":     "id,v\n1,x\n",
				"models/silver/a.sql": "-- name: silver.a\nSELECT id, v FROM bronze.a\n",
				"models/silver/n.sql": "-- name: silver.n\nSELECT id, no_such_column FROM bronze.n\n",
			})
			rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: par})
			if err != nil {
				t.Fatalf("first run (silver.n waits for bronze.n): %v", err)
			}
			if tr := tableReport(rep, "silver.n"); tr == nil || tr.Status != pipeline.StatusWaiting {
				t.Fatalf("first run: silver.n's report %+v, want status %q", tr, pipeline.StatusWaiting)
			}
			addFiles(t, dir, map[string]string{"landing/a/2.csv": "id,v\n2,y\n", "landing/n/1.csv": "id,v\n1,z\n"})
			rep, err = pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: par})
			if err == nil || !strings.Contains(err.Error(), "no_such_column") {
				t.Fatalf("second run: error %v, want the check's error naming no_such_column", err)
			}
			if tr := tableReport(rep, "silver.n"); tr == nil || tr.Status != pipeline.StatusFailed {
				t.Errorf("second run: silver.n's report %+v, want status %q", tr, pipeline.StatusFailed)
			}
			if tr := tableReport(rep, "silver.a"); tr != nil {
				t.Errorf("second run: silver.a is %q, want no report (no model runs)", tr.Status)
			}
			if got, want := tableRows(t, proj, "SELECT id FROM bronze.a"), []string{"1", "2"}; !slices.Equal(got, want) {
				t.Errorf("bronze.a ids = %v, want %v (the sources ingest)", got, want)
			}
			if got, want := tableRows(t, proj, "SELECT id FROM bronze.n"), []string{"1"}; !slices.Equal(got, want) {
				t.Errorf("bronze.n ids = %v, want %v", got, want)
			}
			if got, want := tableRows(t, proj, "SELECT id FROM silver.a"), []string{"1"}; !slices.Equal(got, want) {
				t.Errorf("silver.a ids = %v, want %v: a model ran before the check of silver.n", got, want)
			}
		})
	}
}

// tracedTables are the tables a run's trace shows, in the order their spans
// were written.
func tracedTables(trace string) []string {
	var out []string
	for _, line := range strings.Split(trace, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "table" && f[2] == "worker" {
			out = append(out, f[1])
		}
	}
	return out
}

// reportedTables are the tables of a run's report, in its order.
func reportedTables(rep *pipeline.Report) []string {
	var out []string
	for _, tr := range rep.Tables {
		out = append(out, tr.Table)
	}
	return out
}
