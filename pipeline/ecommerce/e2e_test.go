package ecommerce_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/internal/goldref"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// runBuiltin generates data into dir/landing and runs the built-in project.
func runBuiltin(t *testing.T, dir string, opts datagen.Options) *pipeline.Report {
	t.Helper()
	ctx := t.Context()
	if _, err := datagen.Generate(ctx, filepath.Join(dir, "landing"), opts); err != nil {
		t.Fatal(err)
	}
	return runProject(t, dir, pipeline.RunOptions{})
}

func runProject(t *testing.T, dir string, opts pipeline.RunOptions) *pipeline.Report {
	t.Helper()
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts.Log = func(s string) { t.Log(s) }
	rep, err := pipeline.Run(t.Context(), proj, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// readGold reads a lake table through a fresh engine, as goldref tables.
func readTable(t *testing.T, ctx context.Context, dir, name string) *goldref.Table {
	t.Helper()
	lake, err := pipeline.OpenLake(ctx, filepath.Join(dir, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(ctx, name)
	if err != nil || snap == nil {
		t.Fatalf("table %s: %v (exists: %v)", name, err, snap != nil)
	}
	eng, err := duckdb.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.Bind(ctx, name, snap, nil); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Query(ctx, "SELECT * FROM "+name)
	if err != nil {
		t.Fatal(err)
	}
	out := &goldref.Table{Name: name}
	for _, c := range res.Columns {
		out.Columns = append(out.Columns, c.Name)
	}
	out.Rows = res.Rows
	return out
}

// TestGoldMatchesIndependentComputation runs generate → run and compares
// every gold table with goldref's computation from the raw CSVs.
func TestGoldMatchesIndependentComputation(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	runBuiltin(t, dir, datagen.Options{Orders: 2000, Seed: 7})
	want, err := goldref.Compute(ctx, filepath.Join(dir, "landing"), goldref.DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Concat(goldref.Names, goldref.Breakdowns) {
		t.Run(name, func(t *testing.T) {
			got := readTable(t, ctx, dir, name)
			if d := goldref.Diff(want[name], got); d != "" {
				t.Fatalf("%s differs from the independent computation:\n%s", name, d)
			}
		})
	}
}
