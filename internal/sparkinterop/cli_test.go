package sparkinterop_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/internal/sparkserver"
)

// TestCommandsOnSparkProject: a project whose engine is spark answers
// `medallion query` (tables, a view over them, delta_scan) exactly as the
// same project on duckdb does, lists its tables and their history, and
// after a full refresh run on Spark (a separate process) answers the same
// queries as before.
func TestCommandsOnSparkProject(t *testing.T) {
	remote := sparkserver.Remote(t)
	dir := filepath.Join(t.TempDir(), "shop")
	medallion(t, "init", dir)
	medallion(t, "generate", "--out", filepath.Join(dir, "landing"), "--orders", "200", "--seed", "11")
	medallion(t, "run", "-C", dir)

	queries := []string{
		// Engines add doubles in their own order: equal to the cent.
		"SELECT round(revenue, 2) AS revenue, orders, items FROM gold.total_revenue",
		"SELECT customer_state, count(*) AS n FROM silver.customers GROUP BY customer_state ORDER BY customer_state",
		"SELECT count(*) AS n, count(DISTINCT order_id) AS orders FROM silver.orders_items", // a table recomputed by month
		"SELECT count(*) AS n FROM delta_scan('" + filepath.Join(dir, "lake", "gold", "daily_revenue") + "')",
	}
	var onDuck []string
	for _, q := range queries {
		onDuck = append(onDuck, medallion(t, "query", "-C", dir, "--format", "csv", q))
	}
	tablesDuck := medallion(t, "tables", "-C", dir)

	// The same project on Spark.
	cfgPath := filepath.Join(dir, "medallion.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?m)^engine:\n(  .*\n)+`)
	if !block.Match(cfg) {
		t.Fatalf("no engine block in medallion.yaml:\n%s", cfg)
	}
	cfg = block.ReplaceAll(cfg, []byte("engine:\n  kind: spark\n  spark:\n    remote: "+remote+"\n"))
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		if got := medallion(t, "query", "-C", dir, "--format", "csv", q); got != onDuck[i] {
			t.Errorf("%s\non spark:\n%s\non duckdb:\n%s", q, got, onDuck[i])
		}
	}
	if got := medallion(t, "tables", "-C", dir); got != tablesDuck {
		t.Errorf("tables on spark:\n%s\non duckdb:\n%s", got, tablesDuck)
	}
	if hist := medallion(t, "history", "-C", dir, "gold.total_revenue"); !strings.Contains(hist, "WRITE") && !strings.Contains(hist, "MERGE") && !strings.Contains(hist, "CREATE") {
		t.Errorf("history of gold.total_revenue on spark lists no commit:\n%s", hist)
	}
	// The same tables recomputed on Spark answer as DuckDB's did.
	if out, err := medallionErr(t.Context(), "run", "-C", dir, "--full-refresh"); err != nil {
		t.Fatalf("run --full-refresh on spark: %v\n%s", err, out)
	}
	for i, q := range queries {
		if got := medallion(t, "query", "-C", dir, "--format", "csv", q); got != onDuck[i] {
			t.Errorf("after a full refresh on spark: %s\non spark:\n%s\non duckdb:\n%s", q, got, onDuck[i])
		}
	}
}
