package duckdb_test

import (
	"path"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/engine/enginetest"
	"github.com/medallionhq/medallion/storage"
)

// TestWriteCompressionDefault: without a codec, files on local disk are
// written uncompressed and files on object storage with snappy, and each
// file's name says its codec as Spark names them (".snappy.parquet", plain
// ".parquet" uncompressed).
func TestWriteCompressionDefault(t *testing.T) {
	e, err := duckdb.Open(t.Context(), &duckdb.Options{MemoryLimit: "1GB", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tc := range []struct {
		url, codec, suffix string
	}{
		{t.TempDir(), "uncompressed", "-c000.parquet"},
		{"mem://compression-default", "snappy", "-c000.snappy.parquet"},
	} {
		store, err := storage.Open(t.Context(), tc.url)
		if err != nil {
			t.Fatal(err)
		}
		for _, parts := range [][]string{nil, {"p"}} {
			res, err := e.Write(t.Context(), "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, p)", engine.Target{Store: store, PartitionColumns: parts})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range res.Adds {
				// "-c000.parquet" is not the end of "-c000.snappy.parquet".
				if !strings.HasSuffix(path.Base(a.Path), tc.suffix) {
					t.Errorf("%s %v: file %s, want a name ending %s", tc.codec, parts, a.Path, tc.suffix)
				}
			}
			enginetest.CheckFilesCodec(t, tc.codec, store, res.Adds, tc.codec)
		}
	}
}
