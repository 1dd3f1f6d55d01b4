package pipeline_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/pipeline"
)

// TestQuarantineSurvivesAKillBetweenCommits: `medallion run`, in its own
// process, is SIGKILLed after it appended an incremental model's failing
// row to the quarantine table and before the model's own commit. The next
// run reads the same new rows again; the quarantine table must still hold
// the failing row once.
func TestQuarantineSurvivesAKillBetweenCommits(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Each bronze row becomes 400,000 model rows (n), so that writing the
	// model takes long after its quarantine commit: the kill lands between
	// the two. Only n = 0 can fail the rule.
	const model = `-- name: silver.items
-- incremental: bronze.items
-- keys: [sku, n]
-- expectations:
--   - {name: has_price, expr: "price IS NOT NULL OR n > 0", action: quarantine}
SELECT sku, n, qty, price, _ingested_at, _seq FROM bronze.items, range(400000) AS t(n)
`
	dir, proj := writeProject(t, map[string]string{
		"medallion.yaml":      "name: shop\nsources:\n  items:\n    schema: {qty: long, price: double}\n",
		"models/silver.sql":   model,
		"landing/items/a.csv": "sku,qty,price\na,1,10\n",
	})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	lake := proj.Resolve(proj.Config.Lake)
	modelLog := filepath.Join(lake, "silver", "items", "_delta_log")
	quarantineLog := filepath.Join(lake, "silver", "items_quarantine", "_delta_log")
	before := commits(t, modelLog)

	addFiles(t, dir, map[string]string{"landing/items/b.csv": "sku,qty,price\nb,2,20\nx,3,\n"})
	cmd := exec.Command(exe, "run", "-C", dir)
	cmd.Env = clitest.ChildEnv(pipeline.LeaseExpiryEnv + "=1s")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case err := <-exited:
			t.Fatalf("the run ended (%v) before its quarantine commit was seen", err)
		case <-tick.C:
			if commits(t, quarantineLog) >= 2 { // the table's creation, then the append
				break wait
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	<-exited
	if got := commits(t, modelLog); got != before {
		t.Fatalf("the model committed (%d commits, %d before) before the kill landed: the test did not kill between the commits", got, before)
	}
	if got := query(t, proj, "SELECT count(*) FROM silver.items_quarantine"); got[0][0] != int64(1) {
		t.Fatalf("after the kill the quarantine holds %v rows, want the 1 the killed run appended", got[0][0])
	}

	t.Setenv(pipeline.LeaseExpiryEnv, "1s") // the killed run's lease
	rep, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr := tableReport(rep, "silver.items"); tr == nil || tr.Quarantined != 1 || tr.RowsOut != 799999 {
		t.Fatalf("the run after the kill: %+v, want 1 quarantined and 799,999 rows out", tr)
	}
	rows := query(t, proj, "SELECT sku, count(*) FROM silver.items_quarantine GROUP BY sku")
	if len(rows) != 1 || rows[0][0] != "x" || rows[0][1] != int64(1) {
		t.Fatalf("quarantine holds %v, want x once", rows)
	}
	// A later run quarantining a new row appends it: the model's commit
	// recorded the quarantine version it accounted for.
	addFiles(t, dir, map[string]string{"landing/items/c.csv": "sku,qty,price\ny,4,\n"})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	rows = query(t, proj, "SELECT sku, count(*) FROM silver.items_quarantine GROUP BY sku ORDER BY sku")
	if len(rows) != 2 || rows[0][0] != "x" || rows[0][1] != int64(1) || rows[1][0] != "y" || rows[1][1] != int64(1) {
		t.Fatalf("quarantine holds %v, want x and y once each", rows)
	}
}

// commits is the number of commit files in a _delta_log folder (0 when it
// does not exist yet).
func commits(t *testing.T, logDir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(logDir, "[0-9]*.json")) // not the .tmp- files of a commit being written
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}
