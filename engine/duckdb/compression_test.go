package duckdb_test

import (
	"bytes"
	"path"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/storage"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
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
	for i, tc := range []struct {
		url    string
		codec  format.CompressionCodec
		suffix string
	}{
		{t.TempDir(), format.Uncompressed, "-c000.parquet"},
		{"mem://compression-default", format.Snappy, "-c000.snappy.parquet"},
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
				key, err := delta.FileKey(a.Path)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(path.Base(key), tc.suffix) || (tc.suffix == "-c000.parquet" && strings.Contains(key, ".snappy")) {
					t.Errorf("case %d %v: file %s, want a name ending %s", i, parts, key, tc.suffix)
				}
				data, err := store.ReadAll(t.Context(), key)
				if err != nil {
					t.Fatal(err)
				}
				f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				for _, rg := range f.Metadata().RowGroups {
					for _, col := range rg.Columns {
						if col.MetaData.Codec != tc.codec {
							t.Errorf("case %d %v: %s: column %v has codec %v, want %v", i, parts, key, col.MetaData.PathInSchema, col.MetaData.Codec, tc.codec)
						}
					}
				}
			}
		}
	}
}
