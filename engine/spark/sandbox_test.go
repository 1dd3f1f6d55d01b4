package spark

import (
	"errors"
	"testing"

	"github.com/medallionhq/medallion/engine"
)

// TestSealedCheckQuery: a sealed engine (a query session of `medallion
// serve`) refuses every way of naming a file or calling Java that Spark
// accepts, and still takes ordinary queries of the lake's tables. The
// same hostile statements run on a real server in TestServeOnSparkProject
// (engine/spark/sparklive).
func TestSealedCheckQuery(t *testing.T) {
	sealed, open := &Engine{sealed: true}, &Engine{}
	for _, tc := range []struct {
		sql    string
		sealed bool // refused when sealed
	}{
		{"SELECT * FROM csv.`/etc/passwd`", true},
		{"SELECT * FROM csv . `/etc/passwd`", true},
		{"SELECT * FROM csv/**/.`/etc/passwd`", true},
		{"SELECT * FROM csv -- c\n . `/etc/passwd`", true},
		{`SELECT * FROM csv."/etc/passwd"`, true},
		{"SELECT * FROM `csv`.`/etc/passwd`", true},
		{"SELECT * FROM text.`spark-connect.log`", true},
		{"SELECT * FROM TEXT.secret", true},
		{"SELECT * FROM `org.apache.spark.sql.execution.datasources.v2.csv.CSVDataSourceV2`.`x`", true},
		{"SELECT * FROM whatever.`file:///etc/passwd`", true},
		{"SELECT * FROM IDENTIFIER('text.`/etc/passwd`')", true},
		{"SELECT * FROM identifier ('t')", true},
		{"SELECT reflect('java.lang.System', 'getenv', 'HOME')", true},
		{"SELECT * FROM read_files('/etc')", true},
		{"SELECT * FROM (SELECT * FROM delta.`/lake/silver/orders`)", true},
		{"SELECT o.order_id, \"o\".\"status\" FROM silver.orders AS o", false},
		{"SELECT 'csv.`/etc/passwd`' AS s, x.`a b` FROM gold.t AS x", false},
		{"SELECT identifier FROM silver.t", false},
		{"SELECT * FROM csv\u00a0.\u00a0`/etc/passwd`", true},
		{"SELECT * FROM\u3000csv\u3000.`/etc/passwd`", true},
		{"SELECT * FROM IDENTIFIER\u00a0('t')", true},
		{"SELECT 'é' AS \"naïve\", ü.x FROM silver.t AS ü", false},
	} {
		err := sealed.CheckQuery(t.Context(), tc.sql)
		if got := err != nil; got != tc.sealed {
			t.Errorf("sealed %q: refused %v, want %v (%v)", tc.sql, got, tc.sealed, err)
		}
		if err != nil && !errors.Is(err, engine.ErrNotQuery) {
			t.Errorf("sealed %q: %v does not wrap ErrNotQuery", tc.sql, err)
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
