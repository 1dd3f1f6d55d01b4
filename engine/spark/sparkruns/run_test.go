package sparkruns_test

import (
	"path/filepath"
	"testing"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// TestRunOnSparkEqualsDuckDB runs the built-in project with `medallion
// run` (a process of its own) on engine kind spark and on duckdb over
// copies of the same landing files: bronze, silver and gold are equal, and
// gold equals goldref's independent computation; again after new orders
// land (an incremental run), and again after --full-refresh.
func TestRunOnSparkEqualsDuckDB(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 300, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	sparktest.WriteProject(t, duckDir, landing)
	sparktest.SparkProject(t, sparkDir, landing, remote)

	for _, dir := range []string{duckDir, sparkDir} {
		sparktest.Medallion(t, "run", "-C", dir)
	}
	sparktest.SameLakes(t, duckDir, sparkDir, "first run")
	sparktest.GoldMatchesReference(t, sparkDir, "first run")

	inc, err := datagen.NewOrders(filepath.Join(duckDir, "landing"), 40, 11)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{duckDir, sparkDir} {
		if err := datagen.WriteFiles(filepath.Join(dir, "landing"), inc.Files); err != nil {
			t.Fatal(err)
		}
		sparktest.Medallion(t, "run", "-C", dir)
	}
	sparktest.SameLakes(t, duckDir, sparkDir, "incremental run")
	sparktest.GoldMatchesReference(t, sparkDir, "incremental run")

	for _, dir := range []string{duckDir, sparkDir} {
		sparktest.Medallion(t, "run", "-C", dir, "--full-refresh")
	}
	sparktest.SameLakes(t, duckDir, sparkDir, "full refresh")
	sparktest.GoldMatchesReference(t, sparkDir, "full refresh")
}
