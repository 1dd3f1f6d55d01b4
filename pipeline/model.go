package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Materialization says how a model's result is kept.
type Materialization string

// Materializations.
const (
	// Table keeps the result as a Delta table (the default).
	Table Materialization = "table"
	// View defines the model as a view over its inputs, recomputed by
	// every reader; nothing is stored.
	View Materialization = "view"
)

// Action is what an expectation does with rows that fail it.
type Action string

// Expectation actions.
const (
	// Warn keeps failing rows and reports them.
	Warn Action = "warn"
	// Drop removes failing rows and counts them.
	Drop Action = "drop"
	// Fail stops the run, naming the model, the expectation and a sample.
	Fail Action = "fail"
	// Quarantine moves failing rows to <table>_quarantine with the rule
	// and the batch.
	Quarantine Action = "quarantine"
)

// Expectation is a data-quality rule: a boolean SQL expression over the
// model's output row that every row should satisfy.
type Expectation struct {
	Name   string `yaml:"name"`
	Expr   string `yaml:"expr"`
	Action Action `yaml:"action"`
}

// Window configures an event-time window model. Its SQL reads Source, in
// which every row appears once per window containing it, with the columns
// window_start and window_end added; it groups by them. Each run finalizes
// the windows that the watermark — the newest event time seen minus
// Lateness — has passed since the last run, and appends their rows once.
// Rows arriving after all their windows were finalized are not counted:
// they go to LateTable with their lateness.
type Window struct {
	// Source is the stream the windows are over (a bronze table or an
	// incremental model).
	Source string `yaml:"source"`
	// Time is the event-time column.
	Time string `yaml:"time"`
	// Size is the window length; Slide the distance between window starts
	// (default Size: tumbling windows).
	Size  Duration `yaml:"size"`
	Slide Duration `yaml:"slide"`
	// Lateness is how far behind the newest event time the watermark
	// trails (default 1m).
	Lateness Duration `yaml:"lateness"`
	// LateTable receives late rows (default <name>_late).
	LateTable string `yaml:"late_table"`
}

// Duration is a YAML duration ("1m", "90s").
type Duration struct{ time.Duration }

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(b []byte) error {
	var s string
	if err := yaml.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("invalid duration %q (e.g. 1m, 30s)", s)
	}
	d.Duration = v
	return nil
}

// Model is one SQL file: a SELECT with a config header.
type Model struct {
	// File is the model's path inside the project.
	File string `yaml:"-"`
	// SQL is the SELECT, with ${vars} substituted.
	SQL string `yaml:"-"`
	// Deps are the tables the SQL reads (layer.table), sorted.
	Deps []string `yaml:"-"`
	// SQLLine is the line of File on which SQL starts (1-based): line n of
	// SQL is line SQLLine+n-1 of the file.
	SQLLine int `yaml:"-"`
	// headerLine is the file line of the first header line; header holds
	// the header's lines as written (without their "--").
	headerLine int
	header     []string

	// Name is the table the model writes (silver.orders).
	Name string `yaml:"name"`
	// Description documents the table.
	Description string `yaml:"description"`
	// Materialized is table (default) or view.
	Materialized Materialization `yaml:"materialized"`
	// Keys identify a row: the result is deduplicated by them (the newest
	// by SequenceBy wins) and merged into the table by them.
	Keys []string `yaml:"keys"`
	// SequenceBy orders rows of one key; the last wins. Default
	// [_ingested_at, _seq] when the result has them.
	SequenceBy []string `yaml:"sequence_by"`
	// Incremental names the input read as a stream: on an incremental run
	// it holds only the rows that input gained since the last run, and the
	// result is merged by Keys. Other inputs are read whole. On a CDC model
	// (no snapshot, no apply_as_truncates) it says that the input's new
	// rows hold every change row of each key they touch (a table with one
	// row per key, the model's key among its columns, say): a run where
	// only that input changed recomputes the touched keys from those rows
	// instead of from every row of the input.
	Incremental string `yaml:"incremental"`
	// IncrementalBy are group columns whose values each come from a single
	// input row (a date, a product_id). When inputs change, only the groups
	// the changed rows touch are recomputed and their rows replaced; the
	// rest of the table stays. The touched groups are read from the
	// changed rows when the model takes the group columns unchanged from
	// the changed table (read once, first in its FROM clause), else found
	// by running the model over the changed rows alone, so it is only
	// valid when a group's value comes from its own input rows: leave it
	// out where a group depends on other rows (a customer's first-order
	// month, ROLLUP subtotals). Those are recomputed whole. A model that
	// filters on aggregates (HAVING) is recomputed whole when its groups
	// cannot be read from the changed rows.
	IncrementalBy []string `yaml:"incremental_by"`
	// Window makes the model an event-time window aggregation over a
	// stream (see Window).
	Window *Window `yaml:"window"`
	// PartitionBy are the table's partition columns.
	PartitionBy []string `yaml:"partition_by"`
	// BackfillDate is an SQL expression over the model's output giving each
	// row's date, for `medallion backfill` of a date range
	// (e.g. CAST(order_purchase_timestamp AS DATE)).
	BackfillDate string `yaml:"backfill_date"`
	// Expectations are checked on every row the model produces.
	Expectations []Expectation `yaml:"expectations"`
	// Properties are Delta table properties of the model's table (e.g.
	// delta.enableChangeDataFeed: "true"), over medallion.yaml's
	// tables.properties.
	Properties map[string]string `yaml:"properties"`
	// CDC makes the model apply change rows (or snapshots) by Keys, ordered
	// by SequenceBy, as SCD type 1 or 2 (see CDC in cdc.go).
	CDC *CDC `yaml:"cdc"`
}

var tableRefRE = regexp.MustCompile(`(?i)\b(bronze|silver|gold)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\b`)
var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func loadModels(fsys fs.FS, dir string, vars map[string]any) ([]*Model, error) {
	if _, err := fs.Stat(fsys, dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // a project of sources only
	}
	var files []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".sql") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: models directory %s: %w", dir, err)
	}
	sort.Strings(files)
	var out []*Model
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("pipeline: read %s: %w", f, err)
		}
		m, err := ParseModel(f, string(b), vars)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ParseModel parses one model file. The header is the leading block of "--"
// comment lines, read as YAML:
//
//	-- name: silver.orders
//	-- keys: [order_id]
//	-- incremental: bronze.orders
//	SELECT ...
func ParseModel(file, text string, vars map[string]any) (*Model, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var header []string
	headerLine := 0
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" && len(header) == 0 {
			continue
		}
		if !strings.HasPrefix(l, "--") {
			break
		}
		if len(header) == 0 {
			headerLine = i + 1
		}
		h := strings.TrimPrefix(lines[i][strings.Index(lines[i], "--")+2:], " ")
		header = append(header, h)
	}
	m := &Model{File: file, headerLine: headerLine, header: header}
	m.SQLLine = i + 1
	for j := i; j < len(lines) && strings.TrimSpace(lines[j]) == ""; j++ {
		m.SQLLine = j + 2
	}
	if err := yaml.UnmarshalWithOptions([]byte(strings.Join(header, "\n")), m, yaml.Strict()); err != nil {
		return nil, &ConfigError{File: file, Msg: "header: " + yaml.FormatError(err, false, false)}
	}
	body := strings.TrimSpace(strings.Join(lines[i:], "\n"))
	body = strings.TrimSuffix(body, ";")
	if body == "" {
		return nil, &ConfigError{File: file, Msg: "no SQL after the header"}
	}
	var missing []string
	body = varRE.ReplaceAllStringFunc(body, func(s string) string {
		name := varRE.FindStringSubmatch(s)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return s
		}
		return fmt.Sprint(v)
	})
	if len(missing) > 0 {
		return nil, &ConfigError{File: file, Msg: fmt.Sprintf("undefined vars %v (define them under vars: in %s)", missing, ConfigFile)}
	}
	m.SQL = body
	if m.Name == "" {
		return nil, &ConfigError{File: file, Msg: "header has no name (want e.g. \"-- name: silver.orders\")"}
	}
	if !tableRE.MatchString(m.Name) {
		return nil, &ConfigError{File: file, Msg: fmt.Sprintf("name %q must be silver.<name> or gold.<name>", m.Name)}
	}
	if strings.HasPrefix(m.Name, "bronze.") {
		return nil, &ConfigError{File: file, Msg: fmt.Sprintf("name %q: bronze tables are written by sources, not models", m.Name)}
	}
	switch m.Materialized {
	case "":
		m.Materialized = Table
	case Table, View:
	default:
		return nil, &ConfigError{File: file, Msg: fmt.Sprintf("materialized: unknown value %q (table or view)", m.Materialized)}
	}
	for _, list := range [][]string{m.Keys, m.SequenceBy, m.PartitionBy, m.IncrementalBy} {
		for _, c := range list {
			if !identRE.MatchString(c) {
				return nil, &ConfigError{File: file, Msg: fmt.Sprintf("invalid column name %q", c)}
			}
		}
	}
	if m.Incremental != "" {
		if !tableRE.MatchString(m.Incremental) {
			return nil, &ConfigError{File: file, Msg: fmt.Sprintf("incremental: %q is not a table name", m.Incremental)}
		}
		if len(m.Keys) == 0 {
			return nil, &ConfigError{File: file, Msg: "incremental models need keys to merge by"}
		}
	}
	if m.Materialized == View && (m.Incremental != "" || len(m.IncrementalBy) > 0 || len(m.Expectations) > 0 || len(m.PartitionBy) > 0) {
		return nil, &ConfigError{File: file, Msg: "views take no incremental, incremental_by, expectations or partition_by"}
	}
	if m.Incremental != "" && len(m.IncrementalBy) > 0 {
		return nil, &ConfigError{File: file, Msg: "incremental (merge a stream by key) and incremental_by (recompute touched groups) exclude each other"}
	}
	seen := map[string]bool{}
	for i := range m.Expectations {
		e := &m.Expectations[i]
		if e.Name == "" || e.Expr == "" {
			return nil, &ConfigError{File: file, Msg: fmt.Sprintf("expectations[%d]: needs name and expr", i)}
		}
		if seen[e.Name] {
			return nil, &ConfigError{File: file, Msg: fmt.Sprintf("expectations: duplicate name %q", e.Name)}
		}
		seen[e.Name] = true
		switch e.Action {
		case "":
			e.Action = Warn
		case Warn, Drop, Fail, Quarantine:
		default:
			return nil, &ConfigError{File: file, Msg: fmt.Sprintf("expectations.%s: unknown action %q (warn, drop, fail or quarantine)", e.Name, e.Action)}
		}
	}
	m.Deps = tableRefs(body)
	deps, err := timeTravelDeps(m, m.Deps)
	if err != nil {
		return nil, &ConfigError{File: file, Msg: err.Error()}
	}
	m.Deps = deps
	if w := m.Window; w != nil {
		if err := w.validate(m); err != nil {
			return nil, &ConfigError{File: file, Msg: "window: " + err.Error()}
		}
	}
	for k := range m.Properties {
		if !strings.HasPrefix(k, "delta.") {
			return nil, &ConfigError{File: file, Line: m.headerLineOf("properties"), Msg: fmt.Sprintf("properties: %q is not a Delta table property (delta.…)", k)}
		}
	}
	if m.Materialized == View && len(m.Properties) > 0 {
		return nil, &ConfigError{File: file, Line: m.headerLineOf("properties"), Msg: "properties: a view has no table"}
	}
	if m.CDC != nil {
		if err := m.CDC.validate(m); err != nil {
			return nil, &ConfigError{File: file, Line: m.headerLineOf("cdc"), Msg: "cdc: " + err.Error()}
		}
	}
	return m, nil
}

func (w *Window) validate(m *Model) error {
	switch {
	case m.Materialized == View || m.Incremental != "" || len(m.IncrementalBy) > 0:
		return errors.New("a window model is a table without incremental or incremental_by")
	case !tableRE.MatchString(w.Source) || !slices.Contains(m.Deps, w.Source):
		return fmt.Errorf("source %q must be a table the SQL reads", w.Source)
	case !identRE.MatchString(w.Time):
		return fmt.Errorf("time: invalid column name %q", w.Time)
	case w.Size.Duration <= 0 || w.Size.Duration%time.Millisecond != 0:
		return errors.New("size must be a positive whole number of milliseconds")
	}
	if w.Slide.Duration == 0 {
		w.Slide = w.Size
	}
	if w.Slide.Duration <= 0 || w.Size.Duration%w.Slide.Duration != 0 {
		return errors.New("slide must divide size")
	}
	if w.Lateness.Duration == 0 {
		w.Lateness.Duration = time.Minute
	}
	if w.Lateness.Duration < 0 {
		return errors.New("lateness must not be negative")
	}
	if w.LateTable == "" {
		w.LateTable = m.Name + "_late"
	}
	if !tableRE.MatchString(w.LateTable) {
		return fmt.Errorf("late_table %q must be layer.table", w.LateTable)
	}
	return nil
}

// tableRefs finds layer.table references outside comments and string
// literals.
func tableRefs(sql string) []string {
	clean := stripSQL(sql)
	var deps []string
	for _, mm := range tableRefRE.FindAllStringSubmatch(clean, -1) {
		t := strings.ToLower(mm[1]) + "." + mm[2]
		if !slices.Contains(deps, t) {
			deps = append(deps, t)
		}
	}
	sort.Strings(deps)
	return deps
}

// stripSQL blanks out comments and string literals.
func stripSQL(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "--"):
			for i < len(s) && s[i] != '\n' && s[i] != '\r' {
				i++
			}
			sb.WriteByte('\n')
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return sb.String()
			}
			i += end + 3
			sb.WriteByte(' ')
		case s[i] == '\'':
			i++
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			sb.WriteString("''")
		default:
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}

// Layer is the first part of a table name (bronze, silver, gold).
func Layer(table string) string {
	l, _, _ := strings.Cut(table, ".")
	return l
}

// tableKey is the table's path inside the lake: layer/name.
func tableKey(table string) string {
	return path.Join(strings.SplitN(table, ".", 2)...)
}
