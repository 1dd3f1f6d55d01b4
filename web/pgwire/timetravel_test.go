package pgwire_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPgxTimeTravel: time travel and DuckDB's delta_scan version spelling
// reach the engine through the Postgres endpoint in every pgx mode, and
// answer what `medallion query` answers; a version past the latest is an
// error, not an empty answer.
func TestPgxTimeTravel(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	const q = "SELECT count(*) AS n, sum(orders) AS orders FROM gold.daily_revenue VERSION AS OF 0"
	modes := []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connect(t, srv.url("analyst", "", ""), mode)
			rows, err := conn.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got, cols := collectCols(t, rows)
			want := cliRows(t, q, cols)
			if len(want) != 1 || !sameRows(got, want) {
				t.Errorf("%s:\n got %v\nwant %v (CLI)", q, got, want)
			}
			if _, err := conn.Exec(ctx, "SELECT * FROM gold.daily_revenue VERSION AS OF 100000"); err == nil {
				t.Errorf("VERSION AS OF 100000 answered")
			}
		})
	}
}
