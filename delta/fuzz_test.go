package delta_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/delta"
)

// addGoldenCommits seeds a fuzz corpus with every JSON commit of the Delta
// tables in testdata (written by delta-rs).
func addGoldenCommits(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "_delta_log", "*.json"))
	if len(paths) == 0 {
		f.Fatal("no Delta commits under testdata/*/*/_delta_log")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParseActions checks that no commit file makes the parser panic, and
// that every error names the file and the line.
func FuzzParseActions(f *testing.F) {
	addGoldenCommits(f)
	// Lines as Spark writes them: table features, a cdc action, an add with
	// a deletion vector.
	f.Add([]byte(`{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors","invariants","appendOnly"]}}` + "\n" +
		`{"cdc":{"path":"_change_data/birthday=2023-12-22/cdc-00000-8a121fa5.c000.snappy.parquet","partitionValues":{"birthday":"2023-12-22"},"size":1576,"dataChange":false}}` + "\n" +
		`{"add":{"path":"part-00000-58ba77ef.snappy.parquet","partitionValues":{},"size":503,"modificationTime":1796271011651,"dataChange":true,"stats":"{\"numRecords\":10,\"tightBounds\":false}","deletionVector":{"storageType":"u","pathOrInlineDv":"&g<57xh?m%PCjcGNdxP@","offset":1,"sizeInBytes":36,"cardinality":2}}}` + "\n"))
	f.Add([]byte(`{"add":{"path":"a","size":-1}}`))
	f.Add([]byte("{\"txn\":{\"appId\":\"\",\"version\":1}}\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "_delta_log/00000000000000000007.json (version 7)"
		acts, err := delta.ParseActions(name, data)
		if err != nil {
			if !errors.Is(err, delta.ErrCorruptLog) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "line ") {
				t.Fatalf("error does not name the file and line: %v", err)
			}
			return
		}
		// What parses must survive a round trip.
		out, err := delta.MarshalActions(acts)
		if err != nil {
			t.Fatalf("marshal parsed actions: %v", err)
		}
		again, err := delta.ParseActions(name, out)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if len(again) != len(acts) {
			t.Fatalf("round trip changed the action count: %d → %d", len(acts), len(again))
		}
	})
}

// FuzzParseSchema checks schema strings: no panics, and what parses
// re-renders to a schema that parses to the same text.
func FuzzParseSchema(f *testing.F) {
	f.Add(`{"type":"struct","fields":[{"name":"a","type":"decimal(8,5)","nullable":true,"metadata":{}}]}`)
	f.Add(`{"type":"struct","fields":[{"name":"m","type":{"type":"map","keyType":"string","valueType":{"type":"array","elementType":"long","containsNull":true},"valueContainsNull":true},"nullable":true,"metadata":{}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		schema, err := delta.ParseSchema(s)
		if err != nil {
			return
		}
		again, err := delta.ParseSchema(schema.String())
		if err != nil {
			t.Fatalf("re-parse of %s: %v", schema, err)
		}
		if again.String() != schema.String() {
			t.Fatalf("round trip changed the schema:\n%s\n%s", schema, again)
		}
	})
}
