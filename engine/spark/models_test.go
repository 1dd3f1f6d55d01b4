package spark_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/engine"
	_ "github.com/medallionhq/medallion/engine/duckdb"
	"github.com/medallionhq/medallion/engine/spark"
	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
	"github.com/medallionhq/medallion/storage/azureblob/azuritetest"
)

func TestMain(m *testing.M) {
	clitest.RunIfChild() // the medallion command line, for run_test.go
	code := m.Run()
	releaseS3()
	releaseGCSEmulator()
	azuritetest.Release()
	sparkserver.Release()
	os.Exit(code)
}

// canon renders a result as sorted rows of text, integers of every width
// alike, floats to 12 significant digits (sums add up in another order on
// another engine), times in UTC.
func canon(res *engine.Result) []string {
	var out []string
	for _, r := range res.Rows {
		cells := make([]string, len(r))
		for i, v := range r {
			switch x := v.(type) {
			case nil:
				cells[i] = "NULL"
			case float64:
				cells[i] = canonFloat(x)
			case float32:
				cells[i] = canonFloat(float64(x))
			case time.Time:
				cells[i] = x.UTC().Format(time.RFC3339Nano)
			case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
				cells[i] = fmt.Sprint(x)
			default:
				cells[i] = fmt.Sprintf("%v", x)
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	slices.Sort(out)
	return out
}

func canonFloat(f float64) string {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return fmt.Sprintf("%.12g", f)
}

// bindLake binds every table of the lake in eng.
func bindLake(t *testing.T, eng engine.Engine, lake *pipeline.Lake) {
	t.Helper()
	names, err := lake.Tables(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		snap, err := lake.Snapshot(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		if snap == nil {
			continue
		}
		if err := eng.Bind(t.Context(), n, snap, nil); err != nil {
			t.Fatalf("bind %s: %v", n, err)
		}
	}
}

// TestBuiltInModelsRunOnSpark runs the built-in e-commerce project on
// DuckDB, then runs the SQL of each of its models that is not an
// event-time window (the same text, unchanged) on DuckDB and on Spark over
// the same table versions: every model runs on Spark and gives the same
// rows.
func TestBuiltInModelsRunOnSpark(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := datagen.Generate(ctx, filepath.Join(dir, "landing"), datagen.Options{Orders: 300, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	proj, err := ecommerce.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{}); err != nil {
		t.Fatalf("run: %v", err)
	}
	lake, err := pipeline.OpenLake(ctx, proj.Resolve(proj.Config.Lake), nil)
	if err != nil {
		t.Fatal(err)
	}
	duck, err := engine.Open(ctx, &engine.Config{Kind: "duckdb", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	sp, err := engine.Open(ctx, &engine.Config{Kind: spark.Kind, Settings: map[string]any{"remote": remote}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	bindLake(t, duck, lake)
	bindLake(t, sp, lake)

	order, err := proj.Order()
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, m := range order {
		if m.Window != nil {
			continue
		}
		ran++
		t.Run(m.Name, func(t *testing.T) {
			want, err := duck.Query(ctx, m.SQL)
			if err != nil {
				t.Fatalf("DuckDB: %v", err)
			}
			got, err := sp.Query(ctx, m.SQL)
			if err != nil {
				t.Fatalf("Spark cannot run %s: %v", m.File, err)
			}
			var gc, wc []string
			for _, c := range got.Columns {
				gc = append(gc, c.Name)
			}
			for _, c := range want.Columns {
				wc = append(wc, c.Name)
			}
			if !slices.Equal(gc, wc) {
				t.Fatalf("columns %v on Spark, %v on DuckDB", gc, wc)
			}
			g, w := canon(got), canon(want)
			if len(g) != len(w) {
				t.Fatalf("%d rows on Spark, %d on DuckDB", len(g), len(w))
			}
			if len(w) == 0 {
				t.Errorf("no rows: the comparison proves nothing")
			}
			for i := range g {
				if g[i] != w[i] {
					t.Fatalf("row %d (sorted) on Spark\n  %s\non DuckDB\n  %s", i, g[i], w[i])
				}
			}
			for i := range got.Columns {
				if got.Columns[i].Type.String() != want.Columns[i].Type.String() {
					t.Errorf("column %s is %s on Spark, %s on DuckDB", got.Columns[i].Name, got.Columns[i].Type, want.Columns[i].Type)
				}
			}
		})
		if m.Materialized == pipeline.View {
			// The models after it read the view, on both engines.
			layer, name, _ := strings.Cut(m.Name, ".")
			stmt := `CREATE SCHEMA IF NOT EXISTS "` + layer + `"; CREATE OR REPLACE VIEW "` + layer + `"."` + name + `" AS ` + m.SQL
			for _, eng := range []engine.Engine{duck, sp} {
				if err := eng.Exec(ctx, stmt); err != nil {
					t.Fatalf("view %s: %v", m.Name, err)
				}
			}
		}
	}
	if ran < 27 {
		t.Errorf("ran %d non-window models; the built-in project has at least 27", ran)
	}
	t.Logf("%d models (tables and views) ran on Spark", ran)
}
