// Package pipeline is the medallion project: sources that land files into
// bronze tables, SQL models that build silver and gold tables from them,
// their dependency graph, expectations, and the runner that keeps every
// table fresh incrementally and exactly once.
package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/ingest/kafka"
	"github.com/medallionhq/medallion/ingest/landing"
)

// ConfigFile is the project file's name.
const ConfigFile = "medallion.yaml"

// Project is a parsed medallion project.
type Project struct {
	// Dir is the project directory (paths in the config are relative to
	// it). Empty for the built-in project run without a directory.
	Dir    string
	Config Config
	// Sources in config order, by name.
	Sources []*Source
	// Models in file order.
	Models []*Model
}

// Config is medallion.yaml.
type Config struct {
	// Name of the project.
	Name string `yaml:"name"`
	// Lake is where tables live: a path (relative to the project) or URL.
	// Default "lake".
	Lake string `yaml:"lake"`
	// Landing is the root of the landing zone. Default "landing".
	Landing string `yaml:"landing"`
	// Engine configures the SQL engine.
	Engine EngineConfig `yaml:"engine"`
	// Sources map a source name to how its files are ingested.
	Sources map[string]*Source `yaml:"sources"`
	// Models is the directory of SQL models. Default "models".
	Models string `yaml:"models"`
	// Vars are substituted into model SQL as ${name}.
	Vars map[string]any `yaml:"vars"`
	// Tables holds Delta settings for tables the pipeline creates.
	Tables TablesConfig `yaml:"tables"`
	// Summary is a query printed after a run (the headline KPIs).
	Summary string `yaml:"summary"`
	// Jobs are what `medallion serve` schedules; without jobs it streams
	// continuously.
	Jobs map[string]*JobConfig `yaml:"jobs"`
	// Serve configures `medallion serve` (see ServeConfig).
	Serve ServeConfig `yaml:"serve"`
}

// ServeConfig is the serve: section of medallion.yaml.
type ServeConfig struct {
	// AllowedHosts are host names (without port) requests may name in
	// their Host header besides the bound address and, on a loopback
	// bind, localhost / 127.0.0.1 / ::1.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// QueryMaxBytes caps the JSON size of one query's answer (default
	// "32MB").
	QueryMaxBytes string `yaml:"query_max_bytes"`
	// QueryMemoryLimit is the engine's memory limit for an API or
	// dashboard query (default "1GB").
	QueryMemoryLimit string `yaml:"query_memory_limit"`
	// PgAddr, when set, also serves the lake over the Postgres wire
	// protocol on this address (host:port), like --pg-addr.
	PgAddr string `yaml:"pg_addr"`
}

// JobConfig is jobs.<name>: which tables a job runs and what starts it.
type JobConfig struct {
	Name string `yaml:"-"`
	// Select are table selectors (t, t+, +t); empty: the whole project.
	Select []string `yaml:"select"`
	// Schedule is a cron expression (5 fields, or @hourly, @every 10m…)
	// read in Timezone (an IANA name, default UTC).
	Schedule string `yaml:"schedule"`
	Timezone string `yaml:"timezone"`
	// OnFileArrival runs the job when files land, Debounce (default 2s)
	// after the first file of a burst.
	OnFileArrival bool     `yaml:"on_file_arrival"`
	Debounce      Duration `yaml:"debounce"`
	// After runs the job when one of these jobs succeeds.
	After []string `yaml:"after"`
	// OnTableUpdate runs the job when one of these tables gets a new
	// version (a commit by any process: another job, a stream, Spark).
	OnTableUpdate []string `yaml:"on_table_update"`
	// Continuous runs the job as a stream (micro-batches as files land)
	// instead of by triggers.
	Continuous bool `yaml:"continuous"`
	// Retries, with Backoff (default 30s) doubling and jittered, and a
	// Timeout per attempt.
	Retries int      `yaml:"retries"`
	Backoff Duration `yaml:"backoff"`
	Timeout Duration `yaml:"timeout"`
}

// JobOrder returns the jobs with every job after those in its After list.
func (p *Project) JobOrder() []*JobConfig {
	var out []*JobConfig
	done := map[string]bool{}
	var visit func(j *JobConfig)
	visit = func(j *JobConfig) {
		if done[j.Name] {
			return
		}
		done[j.Name] = true
		for _, a := range j.After {
			if u := p.Config.Jobs[a]; u != nil {
				visit(u)
			}
		}
		out = append(out, j)
	}
	names := make([]string, 0, len(p.Config.Jobs))
	for n := range p.Config.Jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		visit(p.Config.Jobs[n])
	}
	return out
}

// EngineConfig selects and tunes the engine.
type EngineConfig struct {
	// Kind is a registered engine kind (engine.Register): "duckdb", the
	// default.
	Kind string `yaml:"kind"`
	// MemoryLimit, TempDir and Threads are the flat keys of kind duckdb
	// (engine.memory_limit …), kept for compatibility: they mean
	// engine.duckdb.memory_limit and so on.
	MemoryLimit string `yaml:"memory_limit"`
	TempDir     string `yaml:"temp_dir"`
	Threads     int    `yaml:"threads"`
	// CacheDir holds local copies of remote lake and landing files (the
	// engine reads local files); relative to the project. Default
	// .medallion/cache.
	CacheDir string `yaml:"cache_dir"`
	// CacheSize bounds the cache ("10GB"). Default 10GB.
	CacheSize string `yaml:"cache_size"`
	// Parallelism bounds how many tables a run updates at once, each on a
	// session of the engine. 0 (unset): one per CPU for an engine whose
	// sessions run at once (engine.Capabilities.ParallelSessions: kind
	// duckdb), else 1 (see Project.Parallelism).
	Parallelism int `yaml:"parallelism"`
	// Settings holds each kind's own block (engine.<kind>: {…}), keyed by
	// kind. After loading, Settings[Kind] also holds the flat keys.
	Settings map[string]map[string]any `yaml:"-"`
}

// engineFlatKeys are the keys of the engine block that are not a kind's
// block.
var engineFlatKeys = []string{"kind", "memory_limit", "temp_dir", "threads", "cache_dir", "cache_size", "parallelism"}

// duckdbFlatKeys are the flat keys that mean engine.duckdb.<key>.
var duckdbFlatKeys = []string{"memory_limit", "temp_dir", "threads"}

// UnmarshalYAML reads the engine block: the flat keys (strictly: an unknown
// one fails with its line), and every other key whose value is a mapping as
// a kind's settings block, checked by resolve.
func (c *EngineConfig) UnmarshalYAML(node ast.Node) error {
	type plain EngineConfig
	settings := map[string]map[string]any{}
	if m, ok := node.(*ast.MappingNode); ok {
		flat := *m
		flat.Values = nil
		for _, mv := range m.Values {
			key := mv.Key.GetToken().Value
			if !slices.Contains(engineFlatKeys, key) {
				switch mv.Value.Type() {
				case ast.MappingType, ast.NullType:
					var block map[string]any
					if err := yaml.NodeToValue(mv.Value, &block); err != nil {
						return err
					}
					if block == nil {
						block = map[string]any{}
					}
					settings[key] = block
					continue
				}
			}
			flat.Values = append(flat.Values, mv)
		}
		node = &flat
	}
	if err := yaml.NodeToValue(node, (*plain)(c), yaml.Strict()); err != nil {
		return err
	}
	c.Settings = settings
	return nil
}

// resolve checks the kind and its settings against the registered engine
// backends and folds the flat duckdb keys into Settings[Kind].
func (c *EngineConfig) resolve(dir string) error {
	if c.Kind == "" {
		c.Kind = "duckdb"
	}
	if c.Settings == nil {
		c.Settings = map[string]map[string]any{}
	}
	if c.Parallelism < 0 {
		return fmt.Errorf("engine.parallelism: %d; want the number of tables a run updates at once, 1 or more (unset: one per CPU)", c.Parallelism)
	}
	kinds := engine.Kinds()
	if !slices.Contains(kinds, c.Kind) {
		return fmt.Errorf("engine.kind: unknown engine %q (registered: %s)", c.Kind, strings.Join(kinds, ", "))
	}
	for k := range c.Settings {
		if !slices.Contains(kinds, k) {
			return fmt.Errorf("engine.%s: unknown key: no engine kind %q is registered (registered: %s)", k, k, strings.Join(kinds, ", "))
		}
	}
	block := c.Settings[c.Kind]
	if block == nil {
		block = map[string]any{}
		c.Settings[c.Kind] = block
	}
	flat := map[string]bool{}
	for _, k := range duckdbFlatKeys {
		var v any
		switch k {
		case "memory_limit":
			if c.MemoryLimit != "" {
				v = c.MemoryLimit
			}
		case "temp_dir":
			if c.TempDir != "" {
				v = c.TempDir
			}
		case "threads":
			if c.Threads != 0 {
				v = c.Threads
			}
		}
		if v == nil {
			continue
		}
		if c.Kind != "duckdb" {
			return fmt.Errorf("engine.%s: a key of kind duckdb; kind %s takes its settings in engine.%s", k, c.Kind, c.Kind)
		}
		if _, dup := block[k]; dup {
			return fmt.Errorf("engine.%s and engine.duckdb.%s are both set; keep engine.duckdb.%s", k, k, k)
		}
		block[k] = v
		flat[k] = true
	}
	if err := engine.Check(&engine.Config{Kind: c.Kind, Settings: block, Dir: dir}); err != nil {
		var se *engine.SettingError
		if errors.As(err, &se) {
			if flat[se.Key] {
				return fmt.Errorf("engine.%s: %s", se.Key, se.Msg)
			}
			return fmt.Errorf("engine.%s.%s: %s", c.Kind, se.Key, se.Msg)
		}
		return fmt.Errorf("engine.%s: %w", c.Kind, err)
	}
	return nil
}

// TablesConfig holds Delta table properties applied when the pipeline
// creates a table, and how its data files are written.
type TablesConfig struct {
	Properties map[string]string `yaml:"properties"`
	// Compression is the Parquet codec of the data files the pipeline
	// writes: auto (the default: uncompressed on local disk, snappy on
	// object storage with the duckdb engine, Spark's default with spark),
	// uncompressed, snappy or zstd.
	Compression string `yaml:"compression"`
}

// compression is the engine.Target.Compression of tables.compression.
func (t TablesConfig) compression() string {
	if t.Compression == "auto" {
		return ""
	}
	return t.Compression
}

// SourceMode says how new landing files change a bronze table.
type SourceMode string

// Source modes.
const (
	// ModeAppend appends the rows of each new file.
	ModeAppend SourceMode = "append"
	// ModeUpsert merges the rows of new files by key: a key that lands
	// again replaces its row.
	ModeUpsert SourceMode = "upsert"
	// ModeReplace replaces the table with the current files' rows whenever
	// a file is new or changed (a full load of the latest file).
	ModeReplace SourceMode = "replace"
)

// Source is a landing-zone folder ingested into a bronze table.
type Source struct {
	Name string `yaml:"-"`
	// Path is the folder under the landing root. Default: the source name.
	Path string `yaml:"path"`
	// Format is csv (default), json or parquet.
	Format string `yaml:"format"`
	// Table is the bronze table. Default bronze.<name>.
	Table string `yaml:"table"`
	// Mode is append (default), upsert or replace.
	Mode SourceMode `yaml:"mode"`
	// Keys identify a row for upsert.
	Keys []string `yaml:"keys"`
	// PartitionBy are partition columns of the bronze table.
	PartitionBy []string `yaml:"partition_by"`
	// Derive adds computed columns: name → SQL expression over the typed
	// columns (order_year: year(order_purchase_timestamp)).
	Derive yaml.MapSlice `yaml:"derive"`
	// Schema hints: column → type (string, long, double, timestamp, date,
	// boolean, integer, decimal(p,s)). Other columns are inferred.
	Schema map[string]string `yaml:"schema"`
	// CSV dialect.
	CSV CSVOptions `yaml:"csv"`
	// Pattern selects files by name (glob, default "*.csv" / "*.json" /
	// "*.parquet" by format).
	Pattern string `yaml:"pattern"`
	// Listing is "full" (default: list the source's folder every run) or
	// "incremental": list only keys after the newest one ingested, like
	// Auto Loader's incremental listing — for object stores with many
	// files whose names only grow (timestamps, zero-padded sequence
	// numbers); a file whose name sorts before the newest ingested one is
	// then never seen.
	Listing string `yaml:"listing"`
	// Notifications names the queue of listing: notifications (the
	// object store's file notifications instead of listing the folder).
	Notifications *NotificationsConfig `yaml:"notifications"`
	// OnChange says what happens when a landing file that was already
	// ingested changes (is rewritten, grows or is touched): "ignore"
	// (default, as Auto Loader: a warning, the change is not ingested),
	// "reingest" (its whole new content is ingested again) or "append_new"
	// (only the complete lines past what was ingested: growing logs).
	// Replace sources always reload.
	OnChange OnChange `yaml:"on_change"`
	// OptionalColumns may be missing from a CSV or Parquet file (its rows
	// get NULL) even though a model reads them; a file lacking any other
	// column that the table has and a model reads is set aside.
	OptionalColumns []string `yaml:"optional_columns"`
	// Kafka, when set, reads the source from a Kafka topic (or Azure Event
	// Hubs through its Kafka endpoint) instead of landing files; records
	// are JSON objects.
	Kafka *kafka.Config `yaml:"kafka"`
}

// OnChange is what a source does with a landing file that changed after
// it was ingested.
type OnChange string

// What a changed landing file does.
const (
	// OnChangeIgnore keeps what was ingested and reports the change.
	OnChangeIgnore OnChange = "ignore"
	// OnChangeReingest ingests the file's whole new content again.
	OnChangeReingest OnChange = "reingest"
	// OnChangeAppendNew ingests only the complete lines past the bytes
	// already ingested (for files that only grow, like JSON-lines logs).
	OnChangeAppendNew OnChange = "append_new"
)

// CSVOptions is a CSV dialect.
type CSVOptions = landing.CSV

// ConfigError is a problem in medallion.yaml or a model header, with the
// file (and line where known).
type ConfigError struct {
	File string
	Line int
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("pipeline: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("pipeline: %s: %s", e.File, e.Msg)
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var tableRE = regexp.MustCompile(`^(bronze|silver|gold)\.[A-Za-z_][A-Za-z0-9_]*$`)

// Load reads the project in dir: medallion.yaml and its models.
func Load(dir string) (*Project, error) {
	fsys := os.DirFS(dir)
	p, err := load(fsys, dir)
	if err != nil {
		return nil, err
	}
	p.Dir = dir
	return p, nil
}

// LoadFS reads a project from a file system (the built-in project).
func LoadFS(fsys fs.FS, name string) (*Project, error) {
	return load(fsys, name)
}

func load(fsys fs.FS, label string) (*Project, error) {
	data, err := fs.ReadFile(fsys, ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("pipeline: read %s: %w", filepath.Join(label, ConfigFile), err)
	}
	cfgName := filepath.Join(label, ConfigFile)
	var cfg Config
	if err := yaml.UnmarshalWithOptions(data, &cfg, yaml.Strict()); err != nil {
		return nil, &ConfigError{File: cfgName, Msg: yaml.FormatError(err, false, true)}
	}
	p := &Project{Config: cfg}
	if err := p.defaults(cfgName); err != nil {
		return nil, err
	}
	// Sources in the order the file lists them.
	var order struct {
		Sources yaml.MapSlice `yaml:"sources"`
	}
	if err := yaml.Unmarshal(data, &order); err != nil {
		return nil, &ConfigError{File: cfgName, Msg: yaml.FormatError(err, false, true)}
	}
	for _, item := range order.Sources {
		name, ok := item.Key.(string)
		if !ok || !identRE.MatchString(name) {
			return nil, &ConfigError{File: cfgName, Msg: fmt.Sprintf("sources: invalid source name %v (letters, digits and _)", item.Key)}
		}
		s := p.Config.Sources[name]
		if s == nil {
			s = &Source{}
		}
		s.Name = name
		if err := s.validate(); err != nil {
			return nil, &ConfigError{File: cfgName, Msg: fmt.Sprintf("sources.%s: %v", name, err)}
		}
		if _, err := s.notifyConfig(p.Config.Landing); err != nil {
			return nil, &ConfigError{File: cfgName, Msg: fmt.Sprintf("sources.%s: %v", name, err)}
		}
		p.Sources = append(p.Sources, s)
	}
	models, err := loadModels(fsys, p.Config.Models, p.Config.Vars)
	if err != nil {
		return nil, err
	}
	p.Models = models
	if err := p.check(cfgName); err != nil {
		return nil, err
	}
	for name, j := range p.Config.Jobs {
		if j == nil {
			j = &JobConfig{}
			p.Config.Jobs[name] = j
		}
		j.Name = name
		if _, err := p.Selection(j.Select); err != nil {
			return nil, &ConfigError{File: cfgName, Msg: fmt.Sprintf("jobs.%s.select: %v", name, err)}
		}
		for _, a := range j.After {
			if p.Config.Jobs[a] == nil {
				return nil, &ConfigError{File: cfgName, Msg: fmt.Sprintf("jobs.%s.after: no job named %q", name, a)}
			}
		}
		if j.Continuous && (j.Schedule != "" || j.OnFileArrival || len(j.After) > 0 || len(j.OnTableUpdate) > 0) {
			return nil, &ConfigError{File: cfgName, Msg: fmt.Sprintf("jobs.%s: a continuous job runs all the time: it takes no schedule, on_file_arrival, after or on_table_update", name)}
		}
		if len(j.OnTableUpdate) > 0 {
			if _, err := p.Selection(j.OnTableUpdate); err != nil {
				return nil, &ConfigError{File: cfgName, Msg: fmt.Sprintf("jobs.%s.on_table_update: %v", name, err)}
			}
		}
		if j.Debounce.Duration == 0 {
			j.Debounce.Duration = 2 * time.Second
		}
		if j.Backoff.Duration == 0 {
			j.Backoff.Duration = 30 * time.Second
		}
	}
	return p, nil
}

func (p *Project) defaults(cfgName string) error {
	c := &p.Config
	if c.Lake == "" {
		c.Lake = "lake"
	}
	if c.Landing == "" {
		c.Landing = "landing"
	}
	if c.Models == "" {
		c.Models = "models"
	}
	if err := c.Engine.resolve(p.Dir); err != nil {
		return &ConfigError{File: cfgName, Msg: err.Error()}
	}
	if c.Engine.CacheDir == "" {
		c.Engine.CacheDir = ".medallion/cache"
	}
	if c.Engine.CacheSize == "" {
		c.Engine.CacheSize = "10GB"
	}
	if _, err := ParseBytes(c.Engine.CacheSize); err != nil {
		return &ConfigError{File: cfgName, Msg: "engine.cache_size: " + err.Error()}
	}
	if err := c.Serve.validate(); err != nil {
		return &ConfigError{File: cfgName, Msg: err.Error()}
	}
	return nil
}

func (c *ServeConfig) validate() error {
	for _, f := range []struct{ key, v string }{{"serve.query_max_bytes", c.QueryMaxBytes}, {"serve.query_memory_limit", c.QueryMemoryLimit}} {
		if f.v == "" {
			continue
		}
		if n, err := ParseBytes(f.v); err != nil || n <= 0 {
			return fmt.Errorf("%s: %q is not a positive size (e.g. 32MB, 1GB)", f.key, f.v)
		}
	}
	if c.PgAddr != "" {
		if _, port, err := net.SplitHostPort(c.PgAddr); err != nil || port == "" {
			return fmt.Errorf("serve.pg_addr: %q is not host:port (e.g. 127.0.0.1:5433)", c.PgAddr)
		}
	}
	for i, h := range c.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") && !strings.HasPrefix(h, "[") {
			return fmt.Errorf("serve.allowed_hosts[%d]: %q is not a host name (no scheme, port or path: e.g. medallion.example.com)", i, h)
		}
	}
	return nil
}

func (s *Source) validate() error {
	if s.Path == "" {
		s.Path = s.Name
	}
	if path.IsAbs(s.Path) || strings.Contains(s.Path, "..") {
		return fmt.Errorf("path %q must be relative to the landing root", s.Path)
	}
	switch s.Format {
	case "":
		s.Format = "csv"
	case "csv", "json", "parquet":
	default:
		return fmt.Errorf("format: unknown format %q (csv, json or parquet)", s.Format)
	}
	if s.Pattern == "" {
		s.Pattern = "*." + s.Format
		if s.Format == "json" {
			s.Pattern = "*.json*"
		}
	}
	if _, err := path.Match(s.Pattern, "x"); err != nil {
		return fmt.Errorf("pattern %q: %v", s.Pattern, err)
	}
	if s.Table == "" {
		s.Table = "bronze." + s.Name
	}
	if !tableRE.MatchString(s.Table) || !strings.HasPrefix(s.Table, "bronze.") {
		return fmt.Errorf("table %q must be bronze.<name>", s.Table)
	}
	switch s.Mode {
	case "":
		s.Mode = ModeAppend
	case ModeAppend, ModeReplace:
	case ModeUpsert:
		if len(s.Keys) == 0 {
			return errors.New("mode upsert needs keys")
		}
	default:
		return fmt.Errorf("mode: unknown mode %q (append, upsert or replace)", s.Mode)
	}
	for _, k := range s.Keys {
		if !identRE.MatchString(k) {
			return fmt.Errorf("keys: invalid column name %q", k)
		}
	}
	for _, k := range s.OptionalColumns {
		if !identRE.MatchString(k) {
			return fmt.Errorf("optional_columns: invalid column name %q", k)
		}
	}
	for _, item := range s.Derive {
		k, ok := item.Key.(string)
		if !ok || !identRE.MatchString(k) {
			return fmt.Errorf("derive: invalid column name %v", item.Key)
		}
		if _, ok := item.Value.(string); !ok {
			return fmt.Errorf("derive.%s: want an SQL expression string", k)
		}
	}
	for k, t := range s.Schema {
		if _, err := parseTypeName(t); err != nil {
			return fmt.Errorf("schema.%s: %v", k, err)
		}
	}
	switch s.Listing {
	case "":
		s.Listing = "full"
	case "full", "incremental", "notifications":
	default:
		return fmt.Errorf("listing: unknown value %q (full, incremental or notifications)", s.Listing)
	}
	switch s.OnChange {
	case "":
		s.OnChange = OnChangeIgnore
	case OnChangeIgnore, OnChangeReingest, OnChangeAppendNew:
		if s.Mode == ModeReplace && s.OnChange != OnChangeIgnore {
			return fmt.Errorf("on_change: %s does not apply to mode replace (a replace source reloads all its files whenever one changes)", s.OnChange)
		}
		if s.Kafka != nil {
			return fmt.Errorf("on_change: a Kafka source reads a topic, not files: remove on_change")
		}
		if s.OnChange == OnChangeAppendNew && s.Format == "parquet" {
			return fmt.Errorf("on_change: append_new reads the lines a file gained: csv or json only, not parquet")
		}
	default:
		return fmt.Errorf("on_change: unknown value %q (ignore, reingest or append_new)", s.OnChange)
	}
	if s.Kafka != nil {
		if s.Format != "json" {
			return fmt.Errorf("kafka: records are JSON: set format: json")
		}
		if s.Mode == ModeReplace {
			return fmt.Errorf("kafka: a topic is a stream: mode append or upsert")
		}
		if err := s.Kafka.Validate(); err != nil {
			return err
		}
	}
	if len([]rune(s.CSV.Delimiter)) > 1 {
		return fmt.Errorf("csv.delimiter %q must be one character", s.CSV.Delimiter)
	}
	return nil
}

// check validates the project as a whole: unique tables, known
// dependencies, no cycles.
func (p *Project) check(cfgName string) error {
	if c := p.Config.Tables.Compression; c != "" && c != "auto" && !slices.Contains(engine.Compressions, c) {
		return &ConfigError{File: cfgName, Msg: fmt.Sprintf("tables.compression: %q is not a codec medallion writes (auto, %s)", c, strings.Join(engine.Compressions, ", "))}
	}
	owners := map[string]string{}
	for _, s := range p.Sources {
		if prev, dup := owners[s.Table]; dup {
			return &ConfigError{File: cfgName, Msg: fmt.Sprintf("table %s is written by both %s and source %s", s.Table, prev, s.Name)}
		}
		owners[s.Table] = "source " + s.Name
	}
	for _, m := range p.Models {
		if prev, dup := owners[m.Name]; dup {
			return &ConfigError{File: m.File, Msg: fmt.Sprintf("table %s is written by both %s and model %s", m.Name, prev, m.File)}
		}
		owners[m.Name] = "model " + m.File
		if m.Window != nil {
			if prev, dup := owners[m.Window.LateTable]; dup {
				return &ConfigError{File: m.File, Msg: fmt.Sprintf("late table %s is written by both %s and model %s", m.Window.LateTable, prev, m.File)}
			}
			owners[m.Window.LateTable] = "model " + m.File
		}
	}
	for _, m := range p.Models {
		for _, dep := range m.Deps {
			if _, ok := owners[dep]; !ok {
				return &ConfigError{File: m.File, Msg: fmt.Sprintf("model %s reads unknown table %s", m.Name, dep)}
			}
			if dep == m.Name {
				return &ConfigError{File: m.File, Msg: fmt.Sprintf("model %s reads itself", m.Name)}
			}
		}
		if m.Incremental != "" && !slices.Contains(m.Deps, m.Incremental) {
			return &ConfigError{File: m.File, Msg: fmt.Sprintf("model %s: incremental source %s is not read by its SQL", m.Name, m.Incremental)}
		}
	}
	if _, err := p.Order(); err != nil {
		return err
	}
	return nil
}

// Order returns the models in dependency order (a model after every model
// it reads). A cycle is an error naming the models in it.
func (p *Project) Order() ([]*Model, error) {
	byName := map[string]*Model{}
	for _, m := range p.Models {
		byName[m.Name] = m
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []*Model
	var stack []string
	var visit func(m *Model) error
	visit = func(m *Model) error {
		switch state[m.Name] {
		case done:
			return nil
		case visiting:
			i := slices.Index(stack, m.Name)
			cycle := append(slices.Clone(stack[i:]), m.Name)
			return &ConfigError{File: m.File, Msg: "dependency cycle: " + strings.Join(cycle, " → ")}
		}
		state[m.Name] = visiting
		stack = append(stack, m.Name)
		deps := slices.Clone(m.Deps)
		sort.Strings(deps)
		for _, d := range deps {
			if dm, ok := byName[d]; ok {
				if err := visit(dm); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[m.Name] = done
		out = append(out, m)
		return nil
	}
	for _, m := range p.Models {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Source returns the source named name.
func (p *Project) Source(name string) *Source {
	for _, s := range p.Sources {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Model returns the model that writes table.
func (p *Project) Model(table string) *Model {
	for _, m := range p.Models {
		if m.Name == table {
			return m
		}
	}
	return nil
}

// Resolve makes a config path absolute relative to the project directory
// (URLs are returned as they are).
func (p *Project) Resolve(loc string) string {
	if strings.Contains(loc, "://") || filepath.IsAbs(loc) {
		return loc
	}
	return filepath.Join(p.Dir, loc)
}

// ParseBytes parses a size such as "512MB", "10GB" or "1048576".
func ParseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size %q (e.g. 512MB, 10GB)", s)
	}
	return int64(n * float64(mult)), nil
}

// Selection resolves table selectors ("t", "t+" downstream, "+t" upstream,
// "+t+" both) into the set of tables they select; nil selects everything.
// An unknown table is an error naming it.
func (p *Project) Selection(selectors []string) (map[string]bool, error) {
	if len(selectors) == 0 {
		return nil, nil
	}
	known := map[string]bool{}
	down := map[string][]string{}
	up := map[string][]string{}
	for _, s := range p.Sources {
		known[s.Table] = true
	}
	for _, m := range p.Models {
		known[m.Name] = true
		for _, d := range m.Deps {
			down[d] = append(down[d], m.Name)
			up[m.Name] = append(up[m.Name], d)
		}
	}
	out := map[string]bool{}
	var walk func(t string, next map[string][]string)
	walk = func(t string, next map[string][]string) {
		for _, n := range next[t] {
			if !out[n] {
				out[n] = true
				walk(n, next)
			}
		}
	}
	for _, sel := range selectors {
		t := strings.TrimSuffix(strings.TrimPrefix(sel, "+"), "+")
		if !known[t] {
			msg := fmt.Sprintf("pipeline: select %q: no source or model writes %s", sel, t)
			if near := nearest(t, slices.Sorted(maps.Keys(known))); len(near) > 0 {
				msg += " (did you mean " + strings.Join(near, " or ") + "?)"
			}
			return nil, errors.New(msg)
		}
		out[t] = true
		if strings.HasSuffix(sel, "+") {
			walk(t, down)
		}
		if strings.HasPrefix(sel, "+") {
			walk(t, up)
		}
	}
	return out, nil
}

// nearest returns the names closest to name by edit distance (at most 3
// of them, none farther than a third of name's length, at least 2 edits
// allowed), or the names that contain name or its last part.
func nearest(name string, names []string) []string {
	limit := max(2, len(name)/3)
	best := limit + 1
	var out []string
	for _, n := range names {
		d := editDistance(strings.ToLower(name), strings.ToLower(n))
		switch {
		case d < best:
			best, out = d, []string{n}
		case d == best:
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		_, last, _ := strings.Cut(name, ".")
		for _, n := range names {
			if len(last) >= 3 && strings.Contains(n, last) || len(name) >= 3 && strings.Contains(n, name) {
				out = append(out, n)
			}
		}
	}
	return out[:min(len(out), 3)]
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
