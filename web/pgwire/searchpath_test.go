package pgwire_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/medallionhq/medallion/pipeline"
)

// lakeTableSize is the size of a table's data files in its current Delta
// snapshot, read from the lake directly.
func lakeTableSize(t *testing.T, table string) int64 {
	t.Helper()
	ctx := context.Background()
	proj, err := pipeline.Load(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := lake.Snapshot(ctx, table)
	if err != nil || snap == nil {
		t.Fatalf("%s: %v", table, err)
	}
	var n int64
	for _, f := range snap.Files() {
		n += f.Size
	}
	if n == 0 {
		t.Fatalf("%s has no data", table)
	}
	return n
}

// TestCatalogSessionState: SET search_path makes unqualified names resolve
// in that layer, pg_table_size is a table's size in its Delta snapshot,
// and information_schema.schemata lists each schema once; through pgx
// (both protocols) and psql.
func TestCatalogSessionState(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	size := lakeTableSize(t, "gold.daily_revenue")
	var want int64
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		conn := connect(t, srv.url("u", "", ""), mode)
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM silver.orders").Scan(&want); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SET search_path TO silver"); err != nil {
			t.Fatal(err)
		}
		var got int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&got); err != nil || got != want {
			t.Errorf("mode %v: SELECT count(*) FROM orders after SET search_path TO silver: %d, %v; want %d", mode, got, err, want)
		}
		var n int64
		if err := conn.QueryRow(ctx, "WITH orders AS (SELECT 1 AS x) SELECT count(*) FROM orders").Scan(&n); err != nil || n != 1 {
			t.Errorf("mode %v: a CTE named like a table: %d, %v; want 1", mode, n, err)
		}
		var joined, joinedQualified int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM silver.orders o, silver.customers c WHERE o.customer_id = c.customer_id").Scan(&joinedQualified); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM orders o, "customers" c WHERE o.customer_id = c.customer_id`).Scan(&joined); err != nil || joined != joinedQualified || joined == 0 {
			t.Errorf("mode %v: every table of a FROM list resolves in silver: %d, %v; want %d", mode, joined, err, joinedQualified)
		}
		if _, err := conn.Exec(ctx, "SET search_path TO gold, public"); err != nil {
			t.Fatal(err)
		}
		var s *int64
		if err := conn.QueryRow(ctx, "SELECT pg_table_size('gold.daily_revenue'::regclass)").Scan(&s); err != nil || s == nil || *s != size {
			t.Errorf("mode %v: pg_table_size(gold.daily_revenue) = %v, %v; want %d", mode, s, err, size)
		}
		if err := conn.QueryRow(ctx, "SELECT pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'gold' AND c.relname = 'daily_revenue'").Scan(&s); err != nil || s == nil || *s != size {
			t.Errorf("mode %v: pg_total_relation_size of gold.daily_revenue's oid = %v, %v; want %d", mode, s, err, size)
		}
		rows, err := conn.Query(ctx, "SELECT schema_name FROM information_schema.schemata ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		seen := map[string]int{}
		for _, n := range names {
			seen[n]++
		}
		for _, s := range []string{"bronze", "silver", "gold"} {
			if seen[s] != 1 {
				t.Errorf("mode %v: information_schema.schemata lists %s %d times: %v", mode, s, seen[s], names)
			}
		}
		for n, k := range seen {
			if k > 1 {
				t.Errorf("mode %v: information_schema.schemata lists %s %d times: %v", mode, n, k, names)
			}
		}
	}
	out, err := psql(t, srv, nil, "-A", "-t", "-c", "SET search_path TO silver", "-c", "SELECT count(*) FROM orders", "-c", "SELECT pg_table_size('gold.daily_revenue')")
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	if lines := strings.Fields(out); len(lines) < 3 || lines[1] != fmt.Sprint(want) || lines[2] != fmt.Sprint(size) {
		t.Errorf("psql: %q, want SET, %d, %d", out, want, size)
	}
}
