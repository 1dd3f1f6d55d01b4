package main_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

// TestModelPinnedVersionProcesses: `medallion run` processes compute a
// model that reads `bronze.items VERSION AS OF n`; after the table moves
// on in later runs, `medallion query` (another process) still finds
// version n's rows in the model, and the latest rows in the table.
func TestModelPinnedVersionProcesses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("medallion.yaml", "name: shop\nsources:\n  items:\n    keys: [sku]\n    schema: {qty: long}\n")
	write("landing/items/a.csv", "sku,qty\na,1\nb,2\n")
	mustMedallion(t, nil, "run", "-C", dir)
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	lake, err := pipeline.OpenLake(context.Background(), proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(context.Background(), "bronze.items")
	if err != nil || snap == nil {
		t.Fatalf("bronze.items: %v %v", snap, err)
	}
	write("models/pinned.sql", fmt.Sprintf("-- name: gold.pinned\nSELECT sku, qty FROM bronze.items VERSION AS OF %d\n", snap.Version()))
	for i, drop := range []string{"sku,qty\nc,3\n", "sku,qty\nd,4\n"} {
		write(fmt.Sprintf("landing/items/drop%d.csv", i), drop)
		mustMedallion(t, nil, "run", "-C", dir)
		q := func(sql string) string {
			r := mustMedallion(t, nil, "query", "-C", dir, "--format", "csv", sql)
			return strings.Join(strings.Fields(r.stdout), " ")
		}
		if got := q("SELECT sku, qty FROM gold.pinned ORDER BY sku"); got != "sku,qty a,1 b,2" {
			t.Errorf("after drop %d: gold.pinned = %q, want version %d's rows", i, got, snap.Version())
		}
		if got, want := q("SELECT count(*) AS n FROM bronze.items"), fmt.Sprintf("n %d", 3+i); got != want {
			t.Errorf("after drop %d: bronze.items = %q, want %q", i, got, want)
		}
	}
}
