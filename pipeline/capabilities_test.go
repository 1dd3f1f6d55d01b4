package pipeline_test

import (
	"context"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/pipeline"
)

// Two engine kinds of this test, both DuckDB underneath: a third engine
// decides for itself through engine.Capabilities, the pipeline never tests
// a kind. kindViews runs sessions at once and wants every typed batch as a
// view; kindPlain registers no capabilities.
const (
	kindViews = "duckdb_caps_views_test"
	kindPlain = "duckdb_caps_plain_test"
)

func init() {
	open := func(ctx context.Context, cfg *engine.Config) (engine.Engine, error) {
		c := *cfg
		c.Kind = "duckdb"
		return engine.Open(ctx, &c)
	}
	engine.Register(kindViews, open, nil)
	engine.RegisterCapabilities(kindViews, engine.Capabilities{
		ParallelSessions: true,
		ViewTypedBatch:   func([]engine.Column) bool { return true },
	})
	engine.Register(kindPlain, open, nil)
}

// typedBatch matches the statement naming a source's typed batch in a run's
// trace: a view or a table over the typed rows, whose columns it reads from
// the typed relation l.
var typedBatch = regexp.MustCompile(`CREATE TEMP (VIEW|TABLE) __rel_\d+_ AS SELECT [^()]* FROM \(SELECT (l\."\w+"(?:, l\."\w+")*), CASE l\._source_file`)

// TestEngineCapabilitiesDecide: the default parallelism and whether a
// source's typed batch is a view or a copy follow the engine kind's
// capabilities (engine.Capabilities): on duckdb one table per CPU, and a
// view only for a batch without columns to cast from text (strings and
// doubles); a kind that asks for views gets views even with a long
// column; a kind without capabilities runs one table at a time and
// materializes. The bronze rows are the same every way.
func TestEngineCapabilitiesDecide(t *testing.T) {
	for _, tc := range []struct {
		kind     string
		parallel int
		batches  map[string]string // the typed batch's columns: VIEW or TABLE
	}{
		{"duckdb", runtime.NumCPU(), map[string]string{`l."v", l."d"`: "VIEW", `l."id", l."v"`: "TABLE"}},
		{kindViews, runtime.NumCPU(), map[string]string{`l."v", l."d"`: "VIEW", `l."id", l."v"`: "VIEW"}},
		{kindPlain, 1, map[string]string{`l."v", l."d"`: "TABLE", `l."id", l."v"`: "TABLE"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			_, proj := writeProject(t, map[string]string{
				"medallion.yaml":  "name: caps\nengine:\n  kind: " + tc.kind + "\nsources:\n  s:\n    schema: {v: string, d: double}\n  l:\n    schema: {id: long, v: string}\n",
				"landing/s/1.csv": "v,d\nx,1.5\ny,2\n",
				"landing/l/1.csv": "id,v\n1,x\n2,y\n3,z\n",
			})
			if got := proj.Parallelism(); got != tc.parallel {
				t.Errorf("Parallelism() = %d, want %d", got, tc.parallel)
			}
			var trace strings.Builder
			if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Parallelism: 1, Trace: &trace}); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, m := range typedBatch.FindAllStringSubmatch(trace.String(), -1) {
				if prev, dup := got[m[2]]; dup {
					t.Fatalf("two typed batches of columns %s (%s, %s)", m[2], prev, m[1])
				}
				got[m[2]] = m[1]
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.batches) {
				t.Fatalf("typed batches %v, want %v; trace:\n%s", got, tc.batches, trace.String())
			}
			// A query session on the test kind itself: a kind without an
			// owner of its own is confined once, and the session's Sandbox
			// only confirms (engine.OpenOwner).
			for q, want := range map[string]string{
				"SELECT string_agg(v || ':' || CAST(d AS VARCHAR), ',' ORDER BY v) FROM bronze.s":   "x:1.5,y:2.0",
				"SELECT string_agg(CAST(id AS VARCHAR) || ':' || v, ',' ORDER BY id) FROM bronze.l": "1:x,2:y,3:z",
			} {
				if rows := query(t, proj, q); fmt.Sprint(rows[0][0]) != want {
					t.Errorf("%s = %v, want %s", q, rows, want)
				}
			}
		})
	}
}
