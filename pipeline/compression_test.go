package pipeline_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine/enginetest"
)

// TestTablesCompression: medallion.yaml's tables.compression is the codec
// of every data file a run writes — a source's, a model's and the change
// data files of a table with its feed on — and auto (or no key) writes a
// lake on local disk uncompressed.
func TestTablesCompression(t *testing.T) {
	for _, tc := range []struct {
		key, codec string
	}{
		{"", "uncompressed"},
		{"compression: auto", "uncompressed"},
		{"compression: snappy", "snappy"},
		{"compression: zstd", "zstd"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := "name: shop\nsources:\n  sales:\n    mode: append\n    schema: {store: string, qty: long}\n"
			if tc.key != "" {
				cfg += "tables:\n  " + tc.key + "\n"
			}
			_, proj := writeProject(t, map[string]string{
				"medallion.yaml":      cfg,
				"models/by_store.sql": modelFile("silver.by_store", "-- incremental_by: [store]\n-- properties: {delta.enableChangeDataFeed: \"true\"}", "SELECT store, count(DISTINCT qty) AS qtys FROM bronze.sales GROUP BY store"),
				"landing/sales/1.csv": "store,qty\na,1\nb,2\n",
			})
			runLogged(t, proj)
			addFiles(t, proj.Dir, map[string]string{"landing/sales/2.csv": "store,qty\na,3\n"})
			runLogged(t, proj)
			lake := proj.Resolve(proj.Config.Lake)
			var files []string
			for _, table := range []string{"bronze.sales", "silver.by_store"} {
				for _, p := range tableFiles(t, proj, table) {
					rel, err := url.PathUnescape(p)
					if err != nil {
						t.Fatal(err)
					}
					files = append(files, filepath.Join(lake, strings.ReplaceAll(table, ".", string(filepath.Separator)), rel))
				}
			}
			cdc, _ := filepath.Glob(filepath.Join(lake, "silver", "by_store", "_change_data", "*.parquet"))
			if len(cdc) == 0 {
				t.Fatal("the rewrite of store a wrote no change data file")
			}
			for _, f := range append(files, cdc...) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				enginetest.CheckCodec(t, f, data, tc.codec)
			}
		})
	}
}
