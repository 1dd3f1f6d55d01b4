package delta

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"testing"
)

// adds decodes a checkpoint's add column with decodeAdd (fast) or with the
// generic decode and addFromRow (the reference the fast path replaces).
func checkpointAdds(t *testing.T, b []byte, fast bool) []*Add {
	t.Helper()
	f, err := openParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	asm := newAssembler(f)
	asm.slices = true
	n, err := asm.compile(childByName(f.Root(), "add"), addReadT, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := asm.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []*Add
	for range int(f.NumRows()) {
		if fast {
			a, err := asm.decodeAdd(n)
			if err != nil {
				t.Fatal(err)
			}
			if a != nil {
				out = append(out, a)
			}
			continue
		}
		v, err := asm.decode(n)
		if err != nil {
			t.Fatal(err)
		}
		if v == nil {
			continue
		}
		a, err := addFromRow(v.([]any))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := asm.finish(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDecodeAddMatchesGeneric: the typed add decoder gives exactly the adds
// of the generic decoder, for our checkpoints (partition values null,
// empty or several, tags or none, stats or none, interleaved with other
// actions) and for one delta-rs wrote.
func TestDecodeAddMatchesGeneric(t *testing.T) {
	s := func(v string) *string { return &v }
	ts := int64(1700000000000)
	actions := []Action{
		{Protocol: &Protocol{MinReaderVersion: 1, MinWriterVersion: 2}},
		{MetaData: &Metadata{ID: "id", Format: Format{Provider: "parquet"}, SchemaString: `{"type":"struct","fields":[{"name":"p","type":"string","nullable":true,"metadata":{}},{"name":"q","type":"string","nullable":true,"metadata":{}}]}`, PartitionColumns: []string{"p", "q"}}},
		{Txn: &Txn{AppID: "app", Version: 3}},
		{Add: &Add{Path: "p=a/q=b/f1.parquet", PartitionValues: map[string]*string{"p": s("a"), "q": s("b")}, Size: 10, ModificationTime: ts, Stats: `{"numRecords":1}`}},
		{Remove: &Remove{Path: "p=a/q=b/old.parquet", DeletionTimestamp: &ts, DataChange: true}},
		{Add: &Add{Path: "p=__HIVE_DEFAULT_PARTITION__/q=b/f2.parquet", PartitionValues: map[string]*string{"p": nil, "q": s("")}, Size: 0, Tags: map[string]string{"k": "v", "INSERTION_TIME": "1"}}},
		{Add: &Add{Path: "f3%20x.parquet", PartitionValues: map[string]*string{}, Size: 1 << 40, ModificationTime: -1, DataChange: true, Tags: map[string]string{}}},
		{Txn: &Txn{AppID: "other", Version: 9}},
		{Add: &Add{Path: "f4.parquet", Stats: `{"numRecords":2,"minValues":{"a":"é"}}`}},
	}
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, actions); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"ours": buf.Bytes()}
	deltars, err := os.ReadFile("testdata/parquet/deltars-1.6.6-table/_delta_log/00000000000000000002.checkpoint.parquet")
	if err != nil {
		t.Fatal(err)
	}
	files["delta-rs"] = deltars
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			fast, generic := checkpointAdds(t, b, true), checkpointAdds(t, b, false)
			if len(generic) == 0 {
				t.Fatal("no adds in the checkpoint")
			}
			if !reflect.DeepEqual(fast, generic) {
				for i := range max(len(fast), len(generic)) {
					var f, g *Add
					if i < len(fast) {
						f = fast[i]
					}
					if i < len(generic) {
						g = generic[i]
					}
					if !reflect.DeepEqual(f, g) {
						t.Fatalf("add %d: typed %+v, generic %+v", i, f, g)
					}
				}
			}
		})
	}
}
