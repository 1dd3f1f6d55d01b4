package pipeline_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
)

func TestTablesNamed(t *testing.T) {
	tests := []struct {
		sql  string
		want []string
	}{
		{"SELECT revenue FROM gold.total_revenue", []string{"gold.total_revenue"}},
		{`SELECT * FROM "Gold" . "Daily_Revenue" d JOIN silver.orders o ON o.order_id = d.x`, []string{"gold.daily_revenue", "silver.orders", "o.order_id", "d.x"}},
		{"SELECT (SELECT count(*) FROM medallion.runs), 1.5 FROM bronze.items -- gold.noted", []string{"medallion.runs", "bronze.items", "gold.noted"}},
		{"SELECT 1", nil},
	}
	for _, tc := range tests {
		if got := pipeline.TablesNamed(tc.sql); !slices.Equal(got, tc.want) {
			t.Errorf("TablesNamed(%q) = %q, want %q", tc.sql, got, tc.want)
		}
	}
}

// TestSessionBindsOnlyTheTablesAsked: a session opened with Tables answers
// over those tables and the views among them (with what the views read),
// and has no other table bound; without Tables every table is there.
func TestSessionBindsOnlyTheTablesAsked(t *testing.T) {
	_, proj := writeProject(t, map[string]string{
		"medallion.yaml":      shopConfig,
		"models/silver.sql":   "-- name: silver.items\n-- keys: [sku]\nSELECT sku, qty, price, _ingested_at, _seq FROM bronze.items\n",
		"models/gold.sql":     "-- name: gold.stock\nSELECT count(*) AS n FROM silver.items\n",
		"models/gold2.sql":    "-- name: gold.value\nSELECT sum(price) AS v FROM silver.items\n",
		"models/view.sql":     "-- name: gold.cheap\n-- materialized: view\nSELECT sku FROM silver.items WHERE price < 20\n",
		"landing/items/a.csv": "sku,qty,price\na,1,10\nb,2,30\n",
	})
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tables []string
		sql    string
		want   string // the answer, or a fragment of the error
	}{
		{"named table", []string{"gold.stock"}, "SELECT n FROM gold.stock", "[[2]]"},
		{"named in another case", []string{"GOLD.Stock"}, "SELECT n FROM gold.stock", "[[2]]"},
		{"a view and what it reads", []string{"gold.cheap"}, "SELECT sku FROM gold.cheap", "[[a]]"},
		{"table not named", []string{"gold.stock"}, "SELECT v FROM gold.value", "value"},
		{"input of a named table", []string{"gold.stock"}, "SELECT count(*) FROM silver.items", "items"},
		{"bad files not named", []string{"gold.stock"}, "SELECT count(*) FROM medallion.bad_files", "bad_files"},
		{"every table (nil)", nil, "SELECT (SELECT n FROM gold.stock), (SELECT v FROM gold.value), (SELECT count(*) FROM medallion.bad_files)", "[[2 40 0]]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := pipeline.OpenSessionWith(t.Context(), proj, pipeline.SessionOptions{Tables: tc.tables})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res, err := s.Query(t.Context(), tc.sql)
			if strings.HasPrefix(tc.want, "[[") {
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(res.Rows); got != tc.want {
					t.Errorf("%s = %s, want %s", tc.sql, got, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want one naming %q (the table is not bound)", tc.sql, err, tc.want)
			}
		})
	}
}
