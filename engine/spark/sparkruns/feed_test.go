package sparkruns_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// feedProject copies testdata/feed into dir with the engine block set
// (remote "": duckdb).
func feedProject(t *testing.T, dir, remote string) {
	t.Helper()
	if err := fstree.Copy(filepath.Join("testdata", "feed"), dir); err != nil {
		t.Fatal(err)
	}
	if remote != "" {
		sparktest.UseSpark(t, dir, remote)
	}
}

// feedLine is the run's log line of a model reading a feed.
var feedLine = regexp.MustCompile(`[^\n]*from its change data feed: \d+ files, (\d+) of them change data files`)

// TestChangeFeedOnSpark runs a project whose models read their inputs'
// change data feeds on spark and on duckdb while orders land again as
// they advance through their statuses: after every run the tables are
// equal, the spark runs read the feeds (change data files included)
// instead of falling back to the changed files, and table_changes in
// `medallion query` gives the same rows on both engines.
func TestChangeFeedOnSpark(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	root := t.TempDir()
	src := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, src, datagen.Options{Orders: 80, Seed: 13}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	feedProject(t, duckDir, "")
	feedProject(t, sparkDir, remote)
	tables := []string{"bronze.orders", "silver.orders", "gold.status_daily"}
	for i, at := range []time.Time{
		time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2018, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		name := "advance_" + at.Format("20060102")
		for _, dir := range []string{duckDir, sparkDir} {
			if _, err := datagen.AdvanceOrders(ctx, src, filepath.Join(dir, "landing"), at, name); err != nil {
				t.Fatal(err)
			}
		}
		sparktest.Medallion(t, "run", "-C", duckDir)
		out := sparktest.Medallion(t, "run", "-C", sparkDir)
		if strings.Contains(out, "reading its changed files instead") {
			t.Errorf("run %d on spark fell back from the change data feed:\n%s", i+1, out)
		}
		if i > 0 {
			cdc := 0
			for _, m := range feedLine.FindAllStringSubmatch(out, -1) {
				t.Logf("spark run %d: %s", i+1, m[0])
				n, _ := strconv.Atoi(m[1])
				cdc += n
			}
			if cdc == 0 {
				t.Errorf("run %d on spark read no change data file of a feed:\n%s", i+1, out)
			}
		}
		sparktest.LakesEqual(t, duckDir, sparkDir, tables, "run "+name)
	}
	// table_changes in SQL: the same rows on both engines.
	q := "SELECT order_id, order_status, _change_type, _commit_version FROM table_changes('silver.orders', 1) ORDER BY _commit_version, order_id, _change_type"
	want, got := queryCSV(t, duckDir, q), queryCSV(t, sparkDir, q)
	if got != want || strings.Count(want, "\n") < 10 || !strings.Contains(want, "update_postimage") {
		t.Errorf("table_changes on spark:\n%s\non duckdb:\n%s", got, want)
	}
}

// queryCSV runs `medallion query --format csv` in a process of its own.
func queryCSV(t *testing.T, dir, sql string) string {
	t.Helper()
	cmd := sparktest.Command(t, nil, "query", "-C", dir, "--format", "csv", sql)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("medallion query -C %s %q: %v", dir, sql, err)
	}
	return string(out)
}
