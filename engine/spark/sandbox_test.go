package spark

import (
	"errors"
	"testing"

	"github.com/medallionhq/medallion/engine"
)

// TestSealedCheckQuery: a sealed engine (a query session of `medallion
// serve`) refuses every way of naming a file or calling Java that Spark
// accepts, and every relation that is not a name bound in it (the Spark
// server's catalog, global temporary views, other sessions' views) — the
// names pipeline binds later pass CheckQuery and are refused before the
// statement runs (Scan) unless bound by then — and still takes ordinary
// queries of the lake's tables, aliases named like data sources included.
// The same hostile statements run on a real server in
// TestServeOnSparkProject and TestServeStreamsOnSpark
// (engine/spark/sparklive).
func TestSealedCheckQuery(t *testing.T) {
	// The lake's tables bound in the session, as pipeline.Session binds
	// them.
	bound := map[string]*relation{}
	for _, n := range []string{"silver.orders", "silver.t", "gold.t", "medallion.bad_files", "__time_travel_3"} {
		bound[n] = &relation{}
	}
	sealed, open := &Engine{sealed: true, rels: bound}, &Engine{}
	for _, tc := range []struct {
		sql   string
		check bool // refused by a sealed engine's CheckQuery
		run   bool // refused by a sealed engine before it runs (Scan)
	}{
		{"SELECT * FROM csv.`/etc/passwd`", true, true},
		{"SELECT * FROM csv . `/etc/passwd`", true, true},
		{"SELECT * FROM csv/**/.`/etc/passwd`", true, true},
		{"SELECT * FROM csv -- c\n . `/etc/passwd`", true, true},
		{`SELECT * FROM csv."/etc/passwd"`, true, true},
		{"SELECT * FROM `csv`.`/etc/passwd`", true, true},
		{"SELECT * FROM text.`spark-connect.log`", true, true},
		{"SELECT * FROM TEXT.secret", true, true},
		{"SELECT * FROM `org.apache.spark.sql.execution.datasources.v2.csv.CSVDataSourceV2`.`x`", true, true},
		{"SELECT * FROM whatever.`file:///etc/passwd`", true, true},
		{"SELECT * FROM IDENTIFIER('text.`/etc/passwd`')", true, true},
		{"SELECT * FROM identifier ('t')", true, true},
		{"SELECT reflect('java.lang.System', 'getenv', 'HOME')", true, true},
		{"SELECT * FROM read_files('/etc')", true, true},
		{"SELECT * FROM (SELECT * FROM delta.`/lake/silver/orders`)", true, true},
		{"SELECT o.order_id, \"o\".\"status\" FROM silver.orders AS o", false, false},
		{"SELECT 'csv.`/etc/passwd`' AS s, x.`a b` FROM gold.t AS x", false, false},
		{"SELECT identifier FROM silver.t", false, false},
		{"SELECT * FROM csv\u00a0.\u00a0`/etc/passwd`", true, true},
		{"SELECT * FROM\u3000csv\u3000.`/etc/passwd`", true, true},
		{"SELECT * FROM IDENTIFIER\u00a0('t')", true, true},
		{"SELECT 'é' AS \"naïve\", ü.x FROM silver.t AS ü", false, false},

		// The Spark server's own catalog and other sessions' views: only
		// the names bound in the session are relations.
		{"SELECT * FROM spark_catalog.default.secret", true, true},
		{"SELECT * FROM global_temp.secret", true, true},
		{"SELECT * FROM default.secret", false, true},
		{"SELECT * FROM secret", false, true},
		{"SELECT * FROM silver.secret", false, true},
		{"SELECT * FROM __m_s1_silver__orders", false, true},
		{"SELECT * FROM __m_0123456789ab_s1_silver__orders", false, true},
		{"SELECT * FROM silver . orders", true, true},
		{"SELECT * FROM silver.orders.x", true, true},
		{"SELECT * FROM silver.orders, spark_catalog.default.secret", true, true},
		{"SELECT * FROM silver.orders o JOIN global_temp.secret g ON o.id = g.id", true, true},
		{"SELECT * FROM silver.orders o LEFT ANTI JOIN LATERAL (SELECT * FROM global_temp.secret) g", true, true},
		{"SELECT * FROM (spark_catalog.default.secret)", true, true},
		{"SELECT * FROM ((global_temp.secret))", true, true},
		{"SELECT (SELECT max(x) FROM global_temp.secret) FROM silver.orders", true, true},
		{"SELECT * FROM silver.orders WHERE id IN (SELECT id FROM spark_catalog.default.secret)", true, true},
		{"SELECT extract(YEAR FROM (SELECT max(d) FROM global_temp.secret)) FROM silver.t", true, true},
		{"TABLE spark_catalog.default.secret", true, true},
		{"SELECT * FROM silver.orders UNION ALL TABLE global_temp.secret", true, true},
		{"FROM global_temp.secret SELECT *", true, true},
		{"SELECT * FROM silver.orders |> JOIN global_temp.secret", true, true},
		{"WITH x AS (SELECT * FROM global_temp.secret) SELECT * FROM x", true, true},
		{"WITH secret AS (SELECT * FROM secret) SELECT * FROM secret", false, true},
		{"SELECT * FROM (WITH secret AS (SELECT 1) SELECT * FROM secret), secret", false, true},
		{"SELECT * FROM VALUES (1) AS v(a), spark_catalog.default.secret", true, true},
		{"SELECT * FROM VALUES (1), (global_temp.secret)", true, true},
		{"SELECT * FROM range(3) AS r, global_temp.secret", true, true},
		{"SELECT * FROM table_changes('spark_catalog.default.secret', 0)", true, true},
		{"SELECT * FROM my_udtf(TABLE(spark_catalog.default.secret))", true, true},
		{"SELECT * FROM delta_scan('/etc')", false, true}, // pipeline binds it before it runs
		{"SHOW TABLES IN global_temp", true, true},
		{"SHOW VIEWS", true, true},
		{"SHOW TBLPROPERTIES spark_catalog.default.secret", true, true},
		{"DESCRIBE TABLE spark_catalog.default.secret", true, true},
		{"DESC global_temp.secret", true, true},
		{"DESCRIBE DATABASE default", true, true},

		// Legal queries of the lake's tables.
		{"SELECT json.order_id FROM silver.orders AS json", false, false},
		{"SELECT text.x, csv.y FROM silver.t text JOIN gold.t csv ON text.x = csv.x", false, false},
		{"SELECT json.n FROM (SELECT count(*) AS n FROM silver.orders) AS json", false, false},
		{"SELECT extract(YEAR FROM order_purchase_timestamp) AS y FROM silver.orders", false, false},
		{"SELECT substring(s FROM 2 FOR 3), trim(BOTH 'x' FROM s), overlay(s PLACING 'a' FROM 1) FROM silver.t", false, false},
		{"SELECT a IS DISTINCT FROM b FROM silver.t WHERE a IS NOT DISTINCT FROM b", false, false},
		{"WITH x AS (SELECT * FROM silver.orders), y (n) AS (SELECT count(*) FROM x) SELECT * FROM x, y", false, false},
		{"WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r", false, false},
		{"SELECT * FROM silver.orders o JOIN gold.t g ON o.id = g.id, silver.t", false, false},
		{"SELECT * FROM VALUES (1, 'a'), (2, 'b') AS v(n, s)", false, false},
		{"SELECT * FROM range(10) r, silver.t LATERAL VIEW explode(arr) e AS a, b", false, false},
		{"SELECT * FROM \"silver\".\"orders\" JOIN `gold`.`t` USING (id)", false, false},
		{"TABLE silver.orders", false, false},
		{"SELECT count(*) FROM medallion.bad_files", false, false},
		{"DESCRIBE silver.orders", false, false},
		{"SELECT * FROM __time_travel_3 JOIN __time_travel_0 USING (id)", false, true}, // 0: not bound (yet)
		{"SELECT * FROM silver.orders WHERE id IN (SELECT id FROM gold.t) ORDER BY 1", false, false},
	} {
		err := sealed.CheckQuery(t.Context(), tc.sql)
		if got := err != nil; got != tc.check {
			t.Errorf("sealed %q: refused %v, want %v (%v)", tc.sql, got, tc.check, err)
		}
		if err != nil && !errors.Is(err, engine.ErrNotQuery) {
			t.Errorf("sealed %q: %v does not wrap ErrNotQuery", tc.sql, err)
		}
		toks, err := lex(tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		why := checkQuery(toks, func(st []token) string { return sealed.sealedCheck(st, true) })
		if got := why != ""; got != tc.run {
			t.Errorf("sealed, to run: %q: refused %v, want %v (%s)", tc.sql, got, tc.run, why)
		}
		if err := open.CheckQuery(t.Context(), tc.sql); err != nil {
			t.Errorf("unsealed %q: %v", tc.sql, err)
		}
	}
	// A write keyword glued to Unicode white space is still a word of its
	// own, sealed or not.
	for _, sql := range []string{
		"WITH x AS (SELECT 1)\u00a0INSERT INTO t SELECT * FROM x",
		"SELECT 1\u3000UNION SELECT 2\u2003;\u00a0DROP TABLE t",
	} {
		if err := open.CheckQuery(t.Context(), sql); !errors.Is(err, engine.ErrNotQuery) {
			t.Errorf("%q: %v, want ErrNotQuery", sql, err)
		}
	}
}
