package pipeline_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestModelsOverTheLargestLandingStartFirst: of the models ready at once,
// those reading the bronze tables of the sources with the most bytes
// landed start first; models reading no bronze table keep the project's
// order after them, and the run's report keeps the project's order.
func TestModelsOverTheLargestLandingStartFirst(t *testing.T) {
	big := strings.Repeat("1,some longer text to make this file the largest\n", 200)
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":         "name: order\nsources:\n  a:\n    schema: {id: long, v: string}\n  c:\n    schema: {id: long, v: string}\n",
		"landing/a/1.csv":        "id,v\n1,x\n2,w\n",
		"landing/c/1.csv":        "id,v\n" + big,
		"models/silver/a.sql":    "-- name: silver.a\nSELECT id, v FROM bronze.a\n",
		"models/silver/b.sql":    "-- name: silver.b\nSELECT 1 AS one\n",
		"models/silver/c.sql":    "-- name: silver.c\nSELECT id, v FROM bronze.c\n",
		"models/silver/both.sql": "-- name: silver.both\nSELECT a.id FROM bronze.a a JOIN bronze.c c USING (id)\n",
	})
	var trace strings.Builder
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 1, Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	// One worker: tables end in the order they start.
	started := slices.DeleteFunc(tracedTables(trace.String()), func(t string) bool { return !strings.HasPrefix(t, "silver.") })
	if want := []string{"silver.both", "silver.c", "silver.a", "silver.b"}; !slices.Equal(started, want) {
		t.Errorf("models ran in the order %v, want %v", started, want)
	}
	reported := slices.DeleteFunc(reportedTables(rep), func(t string) bool { return !strings.HasPrefix(t, "silver.") })
	if want := []string{"silver.a", "silver.b", "silver.both", "silver.c"}; !slices.Equal(reported, want) {
		t.Errorf("report lists %v, want the project's order %v", reported, want)
	}
}

// TestModelsOthersWaitForStartFirst: of two models ready at once over the
// same landing, the one another model reads starts first (the critical
// path), though the project's files list the other first.
func TestModelsOthersWaitForStartFirst(t *testing.T) {
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: order\nsources:\n  c:\n    schema: {id: long, v: string}\n",
		"landing/c/1.csv":     "id,v\n1,x\n2,w\n",
		"models/gold/a.sql":   "-- name: gold.a\nSELECT count(*) AS n FROM bronze.c\n",
		"models/gold/z.sql":   "-- name: gold.z\nSELECT count(*) AS n FROM silver.c\n",
		"models/silver/c.sql": "-- name: silver.c\nSELECT id, v FROM bronze.c\n",
	})
	var trace strings.Builder
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 1, Trace: &trace}); err != nil {
		t.Fatal(err)
	}
	started := slices.DeleteFunc(tracedTables(trace.String()), func(t string) bool { return strings.HasPrefix(t, "bronze.") })
	if want := []string{"silver.c", "gold.a", "gold.z"}; !slices.Equal(started, want) {
		t.Errorf("models ran in the order %v, want %v", started, want)
	}
}
