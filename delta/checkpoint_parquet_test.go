package delta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/medallionhq/medallion/delta/internal/peertables"
)

// goldenPath returns the path of a file or folder of a table a peer wrote at
// test time; table is "spark/NAME" or "deltars/NAME" (see
// delta/internal/peertables).
func goldenPath(t testing.TB, table string, elem ...string) string {
	t.Helper()
	engine, name, _ := strings.Cut(table, "/")
	var root string
	switch engine {
	case "spark":
		root = peertables.Spark(t)
	case "deltars":
		root = peertables.DeltaRS(t)
	default:
		t.Fatalf("goldenPath: table %q is not spark/NAME or deltars/NAME", table)
	}
	return filepath.Join(append([]string{root, name}, elem...)...)
}

func ptrTo[T any](v T) *T { return &v }

func readCheckpointFile(t *testing.T, path string) []Action {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := readCheckpointParquet(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("readCheckpointParquet(%s): %v", path, err)
	}
	return acts
}

func roundTripActions() []Action {
	schema := `{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},{"name":"p","type":"string","nullable":true,"metadata":{}}]}`
	return []Action{
		{Protocol: &Protocol{MinReaderVersion: 1, MinWriterVersion: 2}},
		{Protocol: &Protocol{MinReaderVersion: 3, MinWriterVersion: 7, ReaderFeatures: []string{}, WriterFeatures: []string{"appendOnly", "invariants"}}},
		{MetaData: &Metadata{
			ID: "5fba94ed-9794-4965-ba6e-6ee3c0d22af9", Name: ptrTo("events"), Description: nil,
			Format:       Format{Provider: "parquet", Options: map[string]string{}},
			SchemaString: schema, PartitionColumns: []string{"p"},
			Configuration: map[string]string{"delta.checkpointInterval": "10", "delta.appendOnly": "false"},
			CreatedTime:   ptrTo(int64(1700000000123)),
		}},
		{MetaData: &Metadata{ID: "x", Description: ptrTo(""), Format: Format{Provider: "parquet"}, SchemaString: schema}},
		{Txn: &Txn{AppID: "app-1", Version: 42, LastUpdated: ptrTo(int64(1700000000000))}},
		{Txn: &Txn{AppID: "app-2", Version: 0}},
		{Add: &Add{
			Path: "p=a%20b/part-00000.snappy.parquet", PartitionValues: map[string]*string{"p": ptrTo("a b")},
			Size: 1234, ModificationTime: 1700000000001, DataChange: true,
			Stats: `{"numRecords":3,"minValues":{"id":1},"maxValues":{"id":3},"nullCount":{"id":0}}`,
			Tags:  map[string]string{"INSERTION_TIME": "1700000000001000", "empty": ""},
		}},
		{Add: &Add{Path: "p=__HIVE_DEFAULT_PARTITION__/part-00001.snappy.parquet", PartitionValues: map[string]*string{"p": nil},
			Size: 0, ModificationTime: 0, DataChange: false, Tags: map[string]string{}}},
		{Add: &Add{Path: "part-00002.snappy.parquet", PartitionValues: map[string]*string{}, Size: 1, DataChange: true}},
		{Remove: &Remove{Path: "old.parquet", DeletionTimestamp: ptrTo(int64(1699999999999)), DataChange: true,
			ExtendedFileMetadata: ptrTo(true), PartitionValues: map[string]*string{"p": ptrTo("x"), "q": nil}, Size: ptrTo(int64(99)),
			Tags: map[string]string{"k": "v"}}},
		{Remove: &Remove{Path: "older.parquet", DataChange: false}},
		{Remove: &Remove{Path: "empty-pv.parquet", PartitionValues: map[string]*string{}, ExtendedFileMetadata: ptrTo(false)}},
		{DomainMetadata: &DomainMetadata{Domain: "delta.rowTracking", Configuration: `{"rowIdHighWaterMark":7}`}},
	}
}

func TestCheckpointParquetRoundTrip(t *testing.T) {
	want := roundTripActions()
	in := append([]Action{{CommitInfo: &CommitInfo{Timestamp: 1, Operation: "WRITE"}}}, want...)
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, in); err != nil {
		t.Fatal(err)
	}
	got, err := readCheckpointParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d actions, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			gj, _ := json.Marshal(got[i])
			wj, _ := json.Marshal(want[i])
			t.Errorf("action %d:\n got %s\nwant %s", i, gj, wj)
		}
	}
	// The null partition value must stay null, not become "".
	if pv := got[7].Add.PartitionValues; pv == nil || pv["p"] != nil || len(pv) != 1 {
		t.Errorf("null partition value did not round-trip: %#v", pv)
	}
}

func TestCheckpointParquetAddWithoutPartitionValues(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, []Action{{Add: &Add{Path: "a.parquet", Size: 1}}}); err != nil {
		t.Fatal(err)
	}
	got, err := readCheckpointParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Add == nil || got[0].Add.PartitionValues == nil || len(got[0].Add.PartitionValues) != 0 {
		t.Fatalf("nil partitionValues should be written as an empty map, got %+v", got)
	}
}

func TestCheckpointParquetEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, nil); err != nil {
		t.Fatal(err)
	}
	got, err := readCheckpointParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("got %d actions from an empty checkpoint", len(got))
	}
}

func TestCheckpointParquetRefusesDeletionVectors(t *testing.T) {
	var buf bytes.Buffer
	err := writeCheckpointParquet(&buf, []Action{{Add: &Add{Path: "a", DeletionVector: &DeletionVector{StorageType: "u"}}}})
	if !errors.Is(err, ErrUnsupportedFeature) || !strings.Contains(err.Error(), "deletionVectors") {
		t.Fatalf("err = %v, want an unsupported deletionVectors error", err)
	}
}

// TestCheckpointParquetSchema checks the physical schema against what
// Spark writes: optional groups, STRING strings, MAP with a repeated
// key_value group, LIST with list/element.
func TestCheckpointParquetSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, roundTripActions()); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := parquet.PrintSchema(&sb, "schema", f.Schema()); err != nil {
		t.Fatal(err)
	}
	// The printer shows plain int32/int64 columns as INT(n,true).
	s := strings.NewReplacer(" (INT(64,true))", "", " (INT(32,true))", "").Replace(strings.Join(strings.Fields(sb.String()), " "))
	for _, want := range []string{
		"optional group txn { optional binary appId (STRING); optional int64 version; optional int64 lastUpdated; }",
		"optional group add { optional binary path (STRING); optional group partitionValues (MAP) { repeated group key_value { required binary key (STRING); optional binary value (STRING); } } optional int64 size; optional int64 modificationTime; optional boolean dataChange; optional group tags (MAP) { repeated group key_value { required binary key (STRING); optional binary value (STRING); } } optional binary stats (STRING); }",
		"optional group remove { optional binary path (STRING); optional int64 deletionTimestamp; optional boolean dataChange; optional boolean extendedFileMetadata; optional group partitionValues (MAP) {",
		"optional group metaData { optional binary id (STRING); optional binary name (STRING); optional binary description (STRING); optional group format { optional binary provider (STRING); optional group options (MAP) {",
		"optional binary schemaString (STRING); optional group partitionColumns (LIST) { repeated group list { optional binary element (STRING); } } optional group configuration (MAP) {",
		"optional group protocol { optional int32 minReaderVersion; optional int32 minWriterVersion; optional group readerFeatures (LIST) { repeated group list { optional binary element (STRING); } } optional group writerFeatures (LIST) {",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("schema lacks %q\nschema: %s", want, sb.String())
		}
	}
	order := []string{"group txn", "group add", "group remove", "group metaData", "group protocol"}
	last := -1
	for _, o := range order {
		i := strings.Index(s, o)
		if i < last {
			t.Errorf("columns out of Spark's order %v: %s", order, s)
		}
		last = i
	}
	if strings.Contains(s, "commitInfo") {
		t.Errorf("checkpoint must not hold commitInfo: %s", s)
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if c.MetaData.Codec.String() != "SNAPPY" {
				t.Errorf("column %v compressed with %s, want SNAPPY", c.MetaData.PathInSchema, c.MetaData.Codec)
			}
		}
	}
}

func countKinds(acts []Action) map[string]int {
	m := map[string]int{}
	for i := range acts {
		m[acts[i].kind()]++
	}
	return m
}

func hasAdd(acts []Action, path string) bool {
	for _, a := range acts {
		if a.Add != nil && a.Add.Path == path {
			return true
		}
	}
	return false
}

// jsonFileActions replays the JSON commits 0..v of the table at dir: the
// active adds and the tombstones, by path.
func jsonFileActions(t *testing.T, dir string, v int64) (map[string]*Add, map[string]*Remove) {
	t.Helper()
	adds := map[string]*Add{}
	removes := map[string]*Remove{}
	for i := int64(0); i <= v; i++ {
		b, err := os.ReadFile(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", i)))
		if err != nil {
			t.Fatal(err)
		}
		acts, err := ParseActions("commit", b)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acts {
			switch {
			case a.Add != nil:
				adds[a.Add.Path] = a.Add
				delete(removes, a.Add.Path)
			case a.Remove != nil:
				delete(adds, a.Remove.Path)
				removes[a.Remove.Path] = a.Remove
			}
		}
	}
	return adds, removes
}

// checkAgainstJSON checks a checkpoint's file actions against the JSON
// commits up to its version.
func checkAgainstJSON(t *testing.T, dir string, v int64, acts []Action) {
	t.Helper()
	adds, removes := jsonFileActions(t, dir, v)
	nAdds, nRemoves := 0, 0
	for _, a := range acts {
		switch {
		case a.Add != nil:
			nAdds++
			j := adds[a.Add.Path]
			if j == nil {
				t.Errorf("checkpoint add %s is not active in the JSON log", a.Add.Path)
				continue
			}
			if a.Add.Size != j.Size || a.Add.ModificationTime != j.ModificationTime || !reflect.DeepEqual(a.Add.PartitionValues, j.PartitionValues) {
				t.Errorf("add %s\ncheckpoint %+v\nJSON       %+v", a.Add.Path, a.Add, j)
			}
			cs, err1 := ParseStats(a.Add.Stats)
			js, err2 := ParseStats(j.Stats)
			if err1 != nil || err2 != nil || !reflect.DeepEqual(cs, js) {
				t.Errorf("add %s: stats %q in the checkpoint, %q in the JSON log (%v, %v)", a.Add.Path, a.Add.Stats, j.Stats, err1, err2)
			}
		case a.Remove != nil:
			nRemoves++
			j := removes[a.Remove.Path]
			if j == nil {
				t.Errorf("checkpoint remove %s is no tombstone in the JSON log", a.Remove.Path)
				continue
			}
			if !reflect.DeepEqual(a.Remove.DeletionTimestamp, j.DeletionTimestamp) || !reflect.DeepEqual(a.Remove.Size, j.Size) {
				t.Errorf("remove %s\ncheckpoint %+v\nJSON       %+v", a.Remove.Path, a.Remove, j)
			}
		}
	}
	if nAdds != len(adds) {
		t.Errorf("checkpoint holds %d adds, the JSON log %d active files", nAdds, len(adds))
	}
	if nRemoves > len(removes) {
		t.Errorf("checkpoint holds %d removes, the JSON log %d tombstones", nRemoves, len(removes))
	}
}

// TestCheckpointParquetPeers reads checkpoints written by Spark (delta-spark)
// and delta-rs at test time (see delta/internal/peertables), checking them
// against the JSON commits of the same versions.
func TestCheckpointParquetPeers(t *testing.T) {
	tests := []struct {
		engine, table string
		version       int64
		parts         int // 0: a single-file checkpoint
		adds, removes int
		check         func(t *testing.T, acts []Action)
	}{
		{"spark", "checkpoint", 10, 0, 10, 0, func(t *testing.T, acts []Action) {
			for _, a := range acts {
				switch {
				case a.Protocol != nil:
					// The checkpoint's feature lists are explicit nulls: absent.
					if a.Protocol.MinReaderVersion != 1 || a.Protocol.MinWriterVersion != 2 || a.Protocol.ReaderFeatures != nil || a.Protocol.WriterFeatures != nil {
						t.Errorf("protocol = %+v (explicit null features must read as absent)", a.Protocol)
					}
				case a.MetaData != nil:
					s, err := a.MetaData.Schema()
					if err != nil || len(s.Fields) != 1 || s.Fields[0].Name != "version" || s.Fields[0].Type.Name != TypeInteger {
						t.Errorf("schema = %v, %v", s, err)
					}
					if a.MetaData.Format.Provider != "parquet" || a.MetaData.Configuration[PropCheckpointInterval] != "10" {
						t.Errorf("metaData = %+v", a.MetaData)
					}
				case a.Add != nil:
					// Spark writes dataChange false in checkpoints.
					if a.Add.DataChange || a.Add.PartitionValues == nil {
						t.Errorf("add = %+v", a.Add)
					}
					if st, err := ParseStats(a.Add.Stats); err != nil || st == nil || st.NumRecords != 1 {
						t.Errorf("add %s: stats %q: %v", a.Add.Path, a.Add.Stats, err)
					}
				}
			}
		}},
		{"spark", "multipart", 3, 2, 3, 0, nil},
		{"spark", "multipart", 6, 3, 6, 0, nil},
		{"spark", "cdf", 4, 0, 5, -1, func(t *testing.T, acts []Action) {
			for _, a := range acts {
				switch {
				case a.Protocol != nil:
					if a.Protocol.MinReaderVersion != 1 || len(a.Protocol.ReaderFeatures) != 0 || !slices.Contains(a.Protocol.WriterFeatures, "changeDataFeed") {
						t.Errorf("protocol = %+v", a.Protocol)
					}
				case a.MetaData != nil:
					if a.MetaData.Configuration[PropEnableChangeDataFeed] != "true" || !reflect.DeepEqual(a.MetaData.PartitionColumns, []string{"birthday"}) {
						t.Errorf("metaData = %+v", a.MetaData)
					}
				case a.Add != nil:
					if a.Add.DeletionVector != nil {
						t.Errorf("add %s has a deletion vector", a.Add.Path)
					}
					b := a.Add.PartitionValues["birthday"]
					if b == nil || !strings.HasPrefix(a.Add.Path, "birthday="+*b+"/") {
						t.Errorf("add %s: partitionValues %v", a.Add.Path, a.Add.PartitionValues)
					}
				}
			}
		}},
		{"deltars", "two_checkpoints", 1, 0, 2, 0, nil},
		{"deltars", "two_checkpoints", 3, 0, 4, 0, func(t *testing.T, acts []Action) {
			for _, a := range acts {
				if a.Add != nil {
					if st, err := ParseStats(a.Add.Stats); err != nil || st == nil || st.NumRecords != 5 {
						t.Errorf("add %s: stats %q: %v", a.Add.Path, a.Add.Stats, err)
					}
				}
				if a.MetaData != nil && (a.MetaData.Format.Provider != "parquet" || a.MetaData.PartitionColumns == nil) {
					t.Errorf("metaData = %+v", a.MetaData)
				}
			}
		}},
		{"deltars", "checkpoint_then_more", 2, 0, 1, 1, nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%s@%d", tc.engine, tc.table, tc.version), func(t *testing.T) {
			var root string
			if tc.engine == "spark" {
				root = peertables.Spark(t)
			} else {
				root = peertables.DeltaRS(t)
			}
			dir := filepath.Join(root, tc.table)
			var acts []Action
			if tc.parts == 0 {
				acts = readCheckpointFile(t, filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.checkpoint.parquet", tc.version)))
			} else {
				for p := 1; p <= tc.parts; p++ {
					acts = append(acts, readCheckpointFile(t, filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.checkpoint.%010d.%010d.parquet", tc.version, p, tc.parts)))...)
				}
			}
			kinds := countKinds(acts)
			if kinds["add"] != tc.adds || (tc.removes >= 0 && kinds["remove"] != tc.removes) || kinds["protocol"] != 1 || kinds["metaData"] != 1 {
				t.Errorf("actions = %v, want %d adds, %d removes, one protocol and one metaData", kinds, tc.adds, tc.removes)
			}
			checkAgainstJSON(t, dir, tc.version, acts)
			if tc.check != nil {
				tc.check(t, acts)
			}
		})
	}
}

// TestCheckpointParquetSparkSidecar reads the Parquet sidecar of a v2
// checkpoint Spark wrote: the classic add columns plus the newer ones
// (stats_parsed, deletionVector, ...).
func TestCheckpointParquetSparkSidecar(t *testing.T) {
	dir := filepath.Join(peertables.Spark(t), "v2_checkpoint")
	sidecars, _ := filepath.Glob(filepath.Join(dir, "_delta_log", "_sidecars", "00000000000000000003.*.parquet"))
	if len(sidecars) == 0 {
		t.Fatalf("Spark wrote no sidecar for the checkpoint of version 3 under %s", dir)
	}
	var acts []Action
	for _, s := range sidecars {
		acts = append(acts, readCheckpointFile(t, s)...)
	}
	if got := countKinds(acts); got["add"] != 3 || len(got) != 1 {
		t.Errorf("actions = %v, want 3 adds", got)
	}
	adds, _ := jsonFileActions(t, dir, 3)
	for _, a := range acts {
		if a.Add != nil && adds[a.Add.Path] == nil {
			t.Errorf("sidecar add %s is not active in the JSON log", a.Add.Path)
		}
	}
}

type v2Meta struct {
	Version int64 `parquet:"version"`
}

type v2Sidecar struct {
	Path        string `parquet:"path"`
	SizeInBytes int64  `parquet:"sizeInBytes"`
}

type v2Row struct {
	CheckpointMetadata *v2Meta    `parquet:"checkpointMetadata,optional"`
	Sidecar            *v2Sidecar `parquet:"sidecar,optional"`
	Protocol           *struct {
		MinReaderVersion int32 `parquet:"minReaderVersion"`
		MinWriterVersion int32 `parquet:"minWriterVersion"`
	} `parquet:"protocol,optional"`
}

// TestCheckpointParquetV2Actions: in a Parquet v2 checkpoint, sidecar rows
// come back as sidecar actions (for the reader to follow) and
// checkpointMetadata rows are skipped.
func TestCheckpointParquetV2Actions(t *testing.T) {
	var buf bytes.Buffer
	rows := []v2Row{{Protocol: &struct {
		MinReaderVersion int32 `parquet:"minReaderVersion"`
		MinWriterVersion int32 `parquet:"minWriterVersion"`
	}{3, 7}}, {CheckpointMetadata: &v2Meta{Version: 3}}, {Sidecar: &v2Sidecar{Path: "a.parquet", SizeInBytes: 10}}}
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	acts, err := readCheckpointParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if got := countKinds(acts); got["protocol"] != 1 || got["sidecar"] != 1 || len(got) != 2 {
		t.Fatalf("actions %v, want a protocol and a sidecar", got)
	}
	for _, a := range acts {
		if a.Sidecar != nil && !strings.Contains(string(a.Sidecar), `"path":"a.parquet"`) {
			t.Errorf("sidecar %s", a.Sidecar)
		}
	}
}

func TestCheckpointParquetCorrupt(t *testing.T) {
	for name, data := range map[string][]byte{
		"garbage":   []byte("this is not parquet at all, not even close"),
		"truncated": nil,
	} {
		if name == "truncated" {
			var buf bytes.Buffer
			if err := writeCheckpointParquet(&buf, roundTripActions()); err != nil {
				t.Fatal(err)
			}
			data = buf.Bytes()[:buf.Len()/2]
		}
		_, err := readCheckpointParquet(bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, ErrCorruptLog) || !strings.HasPrefix(err.Error(), "delta: ") {
			t.Errorf("%s: err = %v, want ErrCorruptLog", name, err)
		}
	}
}

type spValues struct {
	ID  *int64     `parquet:"id,optional"`
	Day *int32     `parquet:"day,optional,date"`
	TS  *time.Time `parquet:"ts,optional,timestamp(microsecond)"`
}

type spStats struct {
	NumRecords *int64    `parquet:"numRecords,optional"`
	MinValues  *spValues `parquet:"minValues,optional"`
	MaxValues  *spValues `parquet:"maxValues,optional"`
}

type spAdd struct {
	Path             string   `parquet:"path"`
	Size             int64    `parquet:"size"`
	ModificationTime int64    `parquet:"modificationTime"`
	DataChange       bool     `parquet:"dataChange"`
	StatsParsed      *spStats `parquet:"stats_parsed,optional"`
}

type spRow struct {
	Add *spAdd `parquet:"add,optional"`
}

// TestCheckpointParquetStatsParsed reads a checkpoint with stats only as
// a struct (delta.checkpoint.writeStatsAsJson=false): the stats JSON is
// rebuilt from stats_parsed.
func TestCheckpointParquetStatsParsed(t *testing.T) {
	day := time.Date(2023, 1, 2, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2023, 1, 2, 3, 4, 5, 678901000, time.UTC)
	rows := []spRow{
		{},
		{Add: &spAdd{Path: "a.parquet", Size: 10, DataChange: true, StatsParsed: &spStats{
			NumRecords: ptrTo(int64(5)),
			MinValues:  &spValues{ID: ptrTo(int64(1)), Day: ptrTo(int32(day.Unix() / 86400)), TS: &ts},
			MaxValues:  &spValues{ID: ptrTo(int64(9))},
		}}},
		{Add: &spAdd{Path: "b.parquet", Size: 11}},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	acts, err := readCheckpointParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 2 {
		t.Fatalf("got %d actions", len(acts))
	}
	want := `{"numRecords":5,"minValues":{"id":1,"day":"2023-01-02","ts":"2023-01-02T03:04:05.678Z"},"maxValues":{"id":9}}`
	if acts[0].Add.Stats != want {
		t.Errorf("stats = %s\nwant    %s", acts[0].Add.Stats, want)
	}
	if acts[1].Add.Stats != "" {
		t.Errorf("stats of an add without stats = %q", acts[1].Add.Stats)
	}
}

func makeCheckpointActions(n int) []Action {
	schema := `{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},{"name":"name","type":"string","nullable":true,"metadata":{}},{"name":"day","type":"date","nullable":true,"metadata":{}}]}`
	acts := []Action{
		{Protocol: &Protocol{MinReaderVersion: 1, MinWriterVersion: 2}},
		{MetaData: &Metadata{ID: "bench", Format: Format{Provider: "parquet", Options: map[string]string{}}, SchemaString: schema,
			PartitionColumns: []string{"day"}, Configuration: map[string]string{}, CreatedTime: ptrTo(int64(1700000000000))}},
	}
	for i := range n {
		day := fmt.Sprintf("2024-01-%02d", i%28+1)
		acts = append(acts, Action{Add: &Add{
			Path:            fmt.Sprintf("day=%s/part-%05d-3b0c1f6e-1f0b-4a3e-9d55-6c1f0d1b2a%02d-c000.snappy.parquet", day, i, i%100),
			PartitionValues: map[string]*string{"day": ptrTo(day)},
			Size:            int64(100000 + i), ModificationTime: 1700000000000 + int64(i), DataChange: true,
			Stats: fmt.Sprintf(`{"numRecords":%d,"minValues":{"id":%d,"name":"a%d"},"maxValues":{"id":%d,"name":"z%d"},"nullCount":{"id":0,"name":%d}}`,
				1000+i, i*1000, i, i*1000+999, i, i%7),
		}})
	}
	return acts
}

func TestCheckpointParquetLarge(t *testing.T) {
	want := makeCheckpointActions(10000)
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := readCheckpointParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("10k-add checkpoint did not round-trip (%d actions read, %d written)", len(got), len(want))
	}
}

// BenchmarkReadCheckpoint10k measures reading a checkpoint of 10,000 adds
// with stats, as on the snapshot-open path.
func BenchmarkReadCheckpoint10k(b *testing.B) {
	var buf bytes.Buffer
	if err := writeCheckpointParquet(&buf, makeCheckpointActions(10000)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		acts, err := readCheckpointParquet(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		if len(acts) != 10002 {
			b.Fatalf("read %d actions", len(acts))
		}
	}
}

// BenchmarkWriteCheckpoint10k measures writing the same checkpoint.
func BenchmarkWriteCheckpoint10k(b *testing.B) {
	acts := makeCheckpointActions(10000)
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := writeCheckpointParquet(&buf, acts); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckpointParquetDeltaRS reads a checkpoint written by delta-rs 1.6.6
// (testdata/parquet/deltars-1.6.6-table): required fields inside the action
// structs, an all-null sidecar column, a remove with a null partition value.
// Its file actions must match the JSON commits.
func TestCheckpointParquetDeltaRS(t *testing.T) {
	dir := filepath.Join("testdata", "parquet", "deltars-1.6.6-table", "_delta_log")
	acts := readCheckpointFile(t, filepath.Join(dir, "00000000000000000002.checkpoint.parquet"))
	if got, want := countKinds(acts), map[string]int{"add": 3, "remove": 1, "protocol": 1, "metaData": 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("actions = %v, want %v", got, want)
	}
	adds := map[string]*Add{}
	removes := map[string]*Remove{}
	for v := range 3 {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%020d.json", v)))
		if err != nil {
			t.Fatal(err)
		}
		jacts, err := ParseActions("commit", b)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range jacts {
			switch {
			case a.Add != nil:
				adds[a.Add.Path] = a.Add
				delete(removes, a.Add.Path)
			case a.Remove != nil:
				delete(adds, a.Remove.Path)
				removes[a.Remove.Path] = a.Remove
			}
		}
	}
	for _, a := range acts {
		switch {
		case a.Add != nil:
			j := adds[a.Add.Path]
			if j == nil {
				t.Errorf("checkpoint add %s is not active in the JSON log", a.Add.Path)
				continue
			}
			if a.Add.Size != j.Size || a.Add.ModificationTime != j.ModificationTime || a.Add.Stats != j.Stats ||
				!reflect.DeepEqual(a.Add.PartitionValues, j.PartitionValues) {
				t.Errorf("add %s\ncheckpoint %+v\nJSON       %+v", a.Add.Path, a.Add, j)
			}
		case a.Remove != nil:
			j := removes[a.Remove.Path]
			if j == nil || !reflect.DeepEqual(a.Remove.PartitionValues, map[string]*string{"p": nil}) ||
				*a.Remove.Size != *j.Size || *a.Remove.DeletionTimestamp != *j.DeletionTimestamp {
				t.Errorf("remove %+v, JSON %+v", a.Remove, j)
			}
		case a.MetaData != nil:
			if !reflect.DeepEqual(a.MetaData.PartitionColumns, []string{"p"}) || a.MetaData.Name != nil {
				t.Errorf("metaData = %+v", a.MetaData)
			}
		}
	}
	if !hasAdd(acts, "p=b%2520b/part-00000-f86bd1b8-3f6e-4ca6-9ed1-7a8d3bb9c8f0-c000.snappy.parquet") {
		t.Error("the add of partition 'b b' is missing")
	}
}
