package pipeline_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// TestLoadErrors loads each bad project under testdata/bad/<case>/ and
// checks that the error names the file at fault and says what is wrong.
// Errors in medallion.yaml name it by its path (the project directory
// joined with medallion.yaml); errors in a model name the model's file by
// its path inside the project.
func TestLoadErrors(t *testing.T) {
	cfg := func(c string) string { return filepath.Join("testdata", "bad", c, pipeline.ConfigFile) }
	cases := []struct {
		name string
		file string   // ConfigError.File
		want []string // substrings of the error, in order
	}{
		// medallion.yaml
		{"unknown_key", cfg("unknown_key"), []string{cfg("unknown_key") + ": ", `[3:1] unknown field "landng"`}},
		{"unknown_engine_key", cfg("unknown_engine_key"), []string{cfg("unknown_engine_key") + ": ", `[4:3] unknown field "memory_limt"`}},
		{"unknown_engine", cfg("unknown_engine"), []string{cfg("unknown_engine") + `: engine.kind: unknown engine "trino" (registered: `, "duckdb"}},
		// Each engine kind has its own block, checked by its backend.
		{"engine_unknown_setting", cfg("engine_unknown_setting"), []string{cfg("engine_unknown_setting") + `: engine.duckdb.memroy_limit: unknown setting (known: memory_limit, temp_dir, threads)`}},
		{"engine_block_bad_threads", cfg("engine_block_bad_threads"), []string{cfg("engine_block_bad_threads") + `: engine.duckdb.threads: must be >= 0`}},
		{"engine_block_bad_type", cfg("engine_block_bad_type"), []string{cfg("engine_block_bad_type") + `: engine.duckdb.memory_limit: must be a string`}},
		{"engine_unregistered_block", cfg("engine_unregistered_block"), []string{cfg("engine_unregistered_block") + `: engine.trino: unknown key: no engine kind "trino" is registered (registered: `, "duckdb"}},
		// The flat keys of kind duckdb still work, named as written.
		{"engine_flat_bad_threads", cfg("engine_flat_bad_threads"), []string{cfg("engine_flat_bad_threads") + `: engine.threads: must be >= 0`}},
		{"engine_flat_and_block", cfg("engine_flat_and_block"), []string{cfg("engine_flat_and_block") + `: engine.memory_limit and engine.duckdb.memory_limit are both set; keep engine.duckdb.memory_limit`}},
		// The line is the file's (5), not the line within the source's block.
		{"unknown_source_key", cfg("unknown_source_key"), []string{cfg("unknown_source_key") + `: [5:5] unknown field "key"`, "3 |   orders:", ">  5 |     key: [order_id]"}},
		{"unknown_source_mode", cfg("unknown_source_mode"), []string{cfg("unknown_source_mode") + `: sources.orders: mode: unknown mode "merge" (append, upsert or replace)`}},
		{"unknown_format", cfg("unknown_format"), []string{cfg("unknown_format") + `: sources.orders: format: unknown format "xlsx" (csv, json or parquet)`}},
		{"upsert_without_keys", cfg("upsert_without_keys"), []string{cfg("upsert_without_keys") + ": sources.orders: mode upsert needs keys"}},
		{"bad_schema_type", cfg("bad_schema_type"), []string{cfg("bad_schema_type") + `: sources.orders: schema.order_id: unknown type "varchar2"`}},
		{"bad_delimiter", cfg("bad_delimiter"), []string{cfg("bad_delimiter") + `: sources.orders: csv.delimiter "||" must be one character`}},
		{"unknown_on_change", cfg("unknown_on_change"), []string{cfg("unknown_on_change") + `: sources.orders: on_change: unknown value "skip" (ignore, reingest or append_new)`}},
		{"on_change_replace", cfg("on_change_replace"), []string{cfg("on_change_replace") + `: sources.customers: on_change: reingest does not apply to mode replace`}},
		{"on_change_append_new_parquet", cfg("on_change_append_new_parquet"), []string{cfg("on_change_append_new_parquet") + `: sources.events: on_change: append_new reads the lines a file gained: csv or json only, not parquet`}},
		{"bad_optional_column", cfg("bad_optional_column"), []string{cfg("bad_optional_column") + `: sources.orders: optional_columns: invalid column name "price;"`}},
		{"source_path_escapes", cfg("source_path_escapes"), []string{cfg("source_path_escapes") + `: sources.orders: path "../elsewhere" must be relative to the landing root`}},
		// Two sources writing one table: named by the project's
		// medallion.yaml like every other error in that file.
		{"duplicate_source_table", cfg("duplicate_source_table"), []string{cfg("duplicate_source_table") + ": table bronze.orders is written by both source orders and source orders_again"}},
		{"bad_serve_max_bytes", cfg("bad_serve_max_bytes"), []string{cfg("bad_serve_max_bytes") + `: serve.query_max_bytes: "lots" is not a positive size (e.g. 32MB, 1GB)`}},
		{"bad_compression", cfg("bad_compression"), []string{cfg("bad_compression") + `: tables.compression: "lz4" is not a codec medallion writes (auto, uncompressed, snappy, zstd)`}},
		{"bad_allowed_host", cfg("bad_allowed_host"), []string{cfg("bad_allowed_host") + `: serve.allowed_hosts[1]: "http://evil.example:80" is not a host name`}},

		// models
		{"duplicate_model_table", "models/silver/orders_v2.sql", []string{"models/silver/orders_v2.sql: table silver.orders is written by both model models/silver/orders.sql and model models/silver/orders_v2.sql"}},
		{"model_writes_source_table", "models/orders.sql", []string{`models/orders.sql: name "bronze.orders": bronze tables are written by sources, not models`}},
		{"unknown_table", "models/gold/revenue.sql", []string{"models/gold/revenue.sql: model gold.revenue reads unknown table silver.payments"}},
		{"cycle", "models/gold/a.sql", []string{"models/gold/a.sql: dependency cycle: gold.a → gold.c → gold.b → gold.a"}},
		{"reads_itself", "models/silver/orders.sql", []string{"models/silver/orders.sql: model silver.orders reads itself"}},
		{"header_without_name", "models/silver/orders.sql", []string{`models/silver/orders.sql: header has no name (want e.g. "-- name: silver.orders")`}},
		{"header_unknown_key", "models/silver/orders.sql", []string{"models/silver/orders.sql: header: ", `[2:1] unknown field "key"`}},
		{"header_bad_materialized", "models/silver/orders.sql", []string{`models/silver/orders.sql: materialized: unknown value "ephemeral" (table or view)`}},
		{"no_sql", "models/silver/orders.sql", []string{"models/silver/orders.sql: no SQL after the header"}},
		{"bad_expectation_action", "models/silver/orders.sql", []string{`models/silver/orders.sql: expectations.has_id: unknown action "explode" (warn, drop, fail or quarantine)`}},
		{"duplicate_expectation", "models/silver/orders.sql", []string{`models/silver/orders.sql: expectations: duplicate name "has_id"`}},
		{"incremental_without_keys", "models/silver/orders.sql", []string{"models/silver/orders.sql: incremental models need keys to merge by"}},
		{"incremental_not_read", "models/silver/orders.sql", []string{"models/silver/orders.sql: model silver.orders: incremental source bronze.payments is not read by its SQL"}},
		{"view_with_expectations", "models/silver/orders.sql", []string{"models/silver/orders.sql: views take no ", "expectations"}},
		{"undefined_var", "models/gold/top.sql", []string{"models/gold/top.sql: undefined vars [top_m] (define them under vars: in medallion.yaml)"}},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			p, err := pipeline.Load(filepath.Join("testdata", "bad", c.name))
			if err == nil {
				t.Fatalf("Load succeeded (%d sources, %d models), want an error", len(p.Sources), len(p.Models))
			}
			msg := err.Error()
			rest := msg
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error\n\t%s\ndoes not contain (in order)\n\t%s", msg, strings.Join(c.want, "\n\t"))
				}
				rest = rest[i+len(w):]
			}
			var ce *pipeline.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is a %T, want a *pipeline.ConfigError", err, err)
			}
			if ce.File != c.file {
				t.Errorf("ConfigError.File = %q, want %q", ce.File, c.file)
			}
		})
	}
	// Every case folder is tested.
	dirs, err := os.ReadDir(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !seen[d.Name()] && d.Name() != "no_config" {
			t.Errorf("testdata/bad/%s has no test case", d.Name())
		}
	}
}

// TestLoadMissingConfig: a directory without medallion.yaml is an error
// naming the file it looked for.
func TestLoadMissingConfig(t *testing.T) {
	dir := filepath.Join("testdata", "bad", "no_config")
	_, err := pipeline.Load(dir)
	if err == nil {
		t.Fatal("Load succeeded without medallion.yaml")
	}
	if want := filepath.Join(dir, pipeline.ConfigFile); !strings.Contains(err.Error(), want) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %q: want it to name %s and wrap os.ErrNotExist", err, want)
	}
}

// TestLoadWithoutModels: a project that only ingests (sources, no models
// folder) loads, with no models.
func TestLoadWithoutModels(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, pipeline.ConfigFile), []byte("name: raw\nsources:\n  events: {format: json}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(p.Sources) != 1 || len(p.Models) != 0 {
		t.Errorf("%d sources, %d models; want 1 and 0", len(p.Sources), len(p.Models))
	}
}

// TestLoadGoodProject loads testdata/good: defaults are filled in, headers
// parsed, vars substituted, dependencies found outside comments and
// strings, and Order puts every model after the models it reads although
// the gold files sort before the silver ones.
func TestLoadGoodProject(t *testing.T) {
	dir := filepath.Join("testdata", "good")
	p, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Dir != dir {
		t.Errorf("Dir = %q, want %q", p.Dir, dir)
	}
	c := p.Config
	if c.Name != "shop" || c.Lake != "lake" || c.Landing != "landing" || c.Models != "models" || c.Engine.Kind != "duckdb" {
		t.Errorf("config defaults: name %q lake %q landing %q models %q engine %q", c.Name, c.Lake, c.Landing, c.Models, c.Engine.Kind)
	}
	if got := p.Resolve(c.Lake); got != filepath.Join(dir, "lake") {
		t.Errorf("Resolve(lake) = %q", got)
	}
	if got := p.Resolve("s3://bucket/lake"); got != "s3://bucket/lake" {
		t.Errorf("Resolve(URL) = %q", got)
	}

	// Sources, in config order, with defaults.
	var names []string
	for _, s := range p.Sources {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"orders", "payments"}) {
		t.Fatalf("sources %v, want [orders payments] in config order", names)
	}
	o, pay := p.Source("orders"), p.Source("payments")
	if o.Path != "orders" || o.Format != "csv" || o.Pattern != "*.csv" || o.Table != "bronze.orders" || o.Mode != pipeline.ModeUpsert ||
		!slices.Equal(o.Keys, []string{"order_id"}) || !slices.Equal(o.PartitionBy, []string{"order_year"}) || len(o.Derive) != 1 || o.Schema["amount"] != "decimal(10,2)" {
		t.Errorf("orders source: %+v", o)
	}
	if pay.Path != "raw/payments" || pay.Format != "json" || pay.Pattern != "*.json*" || pay.Table != "bronze.payments" || pay.Mode != pipeline.ModeAppend {
		t.Errorf("payments source: %+v", pay)
	}
	if p.Source("nope") != nil || p.Model("silver.nope") != nil {
		t.Error("lookup of an unknown source or model found something")
	}

	// Models, in file order, with their headers.
	type model struct {
		file, name string
		deps       []string
	}
	var got []model
	for _, m := range p.Models {
		got = append(got, model{m.File, m.Name, m.Deps})
	}
	want := []model{
		{"models/gold/a_daily.sql", "gold.daily", []string{"silver.orders"}},
		{"models/gold/big_orders.sql", "gold.big_orders", []string{"silver.orders_enriched"}},
		{"models/silver/orders.sql", "silver.orders", []string{"bronze.orders"}}, // not the names in its string and comments
		{"models/silver/orders_enriched.sql", "silver.orders_enriched", []string{"silver.orders", "silver.payments"}},
		{"models/silver/payments.sql", "silver.payments", []string{"bronze.payments"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("models\n\t%v\nwant\n\t%v", got, want)
	}
	so := p.Model("silver.orders")
	if so.Incremental != "bronze.orders" || !slices.Equal(so.Keys, []string{"order_id"}) || so.Materialized != pipeline.Table {
		t.Errorf("silver.orders header: %+v", so)
	}
	wantExp := []pipeline.Expectation{
		{Name: "positive", Expr: "amount > 0", Action: pipeline.Warn}, // the default action
		{Name: "has_ts", Expr: "order_ts IS NOT NULL", Action: pipeline.Quarantine},
	}
	if !reflect.DeepEqual(so.Expectations, wantExp) {
		t.Errorf("silver.orders expectations %+v, want %+v", so.Expectations, wantExp)
	}
	if strings.HasSuffix(so.SQL, ";") || !strings.HasPrefix(so.SQL, "SELECT") {
		t.Errorf("silver.orders SQL is not the trimmed SELECT: %q", so.SQL)
	}
	if m := p.Model("silver.orders_enriched"); m.Materialized != pipeline.View {
		t.Errorf("silver.orders_enriched is %q, want a view", m.Materialized)
	}
	if sql := p.Model("gold.big_orders").SQL; !strings.Contains(sql, "amount >= 10") || strings.Contains(sql, "${") {
		t.Errorf("gold.big_orders: vars not substituted: %q", sql)
	}

	checkOrder(t, p)
}

// TestBuiltinProjectOrder: the built-in project loads and orders its
// models after their dependencies.
func TestBuiltinProjectOrder(t *testing.T) {
	p, err := ecommerce.Project(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sources) != 10 {
		t.Errorf("%d sources, want the 9 Olist files and the clickstream", len(p.Sources))
	}
	checkOrder(t, p)
}

// checkOrder checks that Order returns every model once, each after the
// models it reads.
func checkOrder(t *testing.T, p *pipeline.Project) {
	t.Helper()
	order, err := p.Order()
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != len(p.Models) {
		t.Fatalf("Order returned %d models, the project has %d", len(order), len(p.Models))
	}
	pos := map[string]int{}
	for i, m := range order {
		if _, dup := pos[m.Name]; dup {
			t.Errorf("Order lists %s twice", m.Name)
		}
		pos[m.Name] = i
	}
	for _, m := range order {
		for _, d := range m.Deps {
			if p.Model(d) == nil {
				if pipeline.Layer(d) != "bronze" || p.Source(strings.TrimPrefix(d, "bronze.")) == nil {
					t.Errorf("%s reads %s, which no model or source writes", m.Name, d)
				}
				continue
			}
			if pos[d] >= pos[m.Name] {
				t.Errorf("Order puts %s (#%d) before %s (#%d), which it reads", m.Name, pos[m.Name], d, pos[d])
			}
		}
	}
}

// TestLoadEngineConfig loads the engine block in its forms: the kind's own
// block and the flat keys of kind duckdb (kept for compatibility) give the
// same settings block (numbers as YAML decodes them; the backend reads
// both), and no engine block gives an empty one.
func TestLoadEngineConfig(t *testing.T) {
	cases := []struct {
		name string
		want map[string]any
	}{
		{"block", map[string]any{"memory_limit": "2GB", "temp_dir": ".medallion/tmp", "threads": uint64(2)}},
		{"flat", map[string]any{"memory_limit": "2GB", "temp_dir": ".medallion/tmp", "threads": 2}},
		{"default", map[string]any{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := pipeline.Load(filepath.Join("testdata", "engine", c.name))
			if err != nil {
				t.Fatal(err)
			}
			ec := p.Config.Engine
			if ec.Kind != "duckdb" {
				t.Errorf("Kind = %q, want duckdb", ec.Kind)
			}
			if got := ec.Settings["duckdb"]; !reflect.DeepEqual(got, c.want) {
				t.Errorf("Settings[duckdb] = %#v, want %#v", got, c.want)
			}
		})
	}
}
