package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// DashboardsDir is the folder of a project's dashboards (dashboards/*.yaml).
const DashboardsDir = "dashboards"

// Panel types.
const (
	PanelKPI   = "kpi"
	PanelLine  = "line"
	PanelBar   = "bar"
	PanelPie   = "pie"
	PanelTable = "table"
)

// PanelTypes lists the valid Panel.Type values.
var PanelTypes = []string{PanelKPI, PanelLine, PanelBar, PanelPie, PanelTable}

// Dashboard is one dashboards/<file>.yaml: filters and panels, each panel a
// SQL query over the project's tables.
type Dashboard struct {
	Name        string           `yaml:"name" json:"name"`
	Title       string           `yaml:"title" json:"title"`
	Description string           `yaml:"description" json:"description,omitempty"`
	Filters     DashboardFilters `yaml:"filters" json:"filters"`
	Panels      []Panel          `yaml:"panels" json:"panels"`
	// File is the definition's path relative to the project (or file system).
	File string `yaml:"-" json:"file"`
}

// DashboardFilters are the filters a dashboard offers. Their values reach
// panel SQL only as the placeholders ${from}, ${to} (dates, YYYY-MM-DD) and
// ${state} (two capital letters, or "all"), validated by the server.
type DashboardFilters struct {
	// DateRange: ${from} and ${to}; their defaults are the first and last
	// value of Column in Table.
	DateRange *FilterSource `yaml:"date_range" json:"date_range,omitempty"`
	// State: ${state}; the choices are the distinct values of Column in Table.
	State *FilterSource `yaml:"state" json:"state,omitempty"`
}

// FilterSource names the table column a filter's choices come from.
type FilterSource struct {
	Table  string `yaml:"table" json:"table"`
	Column string `yaml:"column" json:"column"`
}

// Panel is one tile, chart or table of a dashboard.
type Panel struct {
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title"`
	// Type is kpi, line, bar, pie or table.
	Type string `yaml:"type" json:"type"`
	// SQL is a read-only query; it may use ${from}, ${to} and ${state}.
	SQL string `yaml:"sql" json:"-"`
	// X is the category / time column (the slice name of a pie).
	X string `yaml:"x" json:"x,omitempty"`
	// Y are the value columns (one per series of a line or bar chart; the
	// value of a kpi or pie).
	Y StringList `yaml:"y" json:"y,omitempty"`
	// Unit is shown with values ("R$", "%").
	Unit string `yaml:"unit" json:"unit,omitempty"`
	// Wide panels span the whole width of the grid.
	Wide bool `yaml:"wide" json:"wide,omitempty"`
	// Tables are the layer.table names the SQL reads (derived).
	Tables []string `yaml:"-" json:"tables"`
	// Follows are the filters the panel follows (derived: "date_range"
	// when its SQL uses ${from} or ${to}, "state" when it uses ${state}).
	// The dashboard says on a panel that it shows all dates or all states
	// when a filter it does not follow is set.
	Follows []string `yaml:"-" json:"follows"`
}

// StringList is a YAML string or list of strings.
type StringList []string

// UnmarshalYAML accepts "a" as well as [a, b].
func (l *StringList) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return errors.New("must be a column name or a list of column names")
	}
	*l = many
	return nil
}

var (
	placeholderRE = regexp.MustCompile(`\$\{([^}]*)\}`)
	sqlTableRE    = regexp.MustCompile(`(?i)\b((?:bronze|silver|gold|medallion)\.[A-Za-z_][A-Za-z0-9_]*)\b`)
	panelIDRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)
)

// Dashboards reads the project's dashboards/*.yaml (none when the project
// has no directory or no dashboards folder).
func (p *Project) Dashboards() ([]Dashboard, error) {
	if p.Dir == "" {
		return nil, nil
	}
	if st, err := os.Stat(p.Resolve(DashboardsDir)); err != nil || !st.IsDir() {
		return nil, nil
	}
	return LoadDashboards(os.DirFS(p.Dir))
}

// LoadDashboards reads dashboards/*.yaml (and *.yml) of fsys, sorted by
// file name. Errors are *ConfigError naming the file and the field.
func LoadDashboards(fsys fs.FS) ([]Dashboard, error) {
	entries, err := fs.ReadDir(fsys, DashboardsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: read %s: %w", DashboardsDir, err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			files = append(files, path.Join(DashboardsDir, e.Name()))
		}
	}
	sort.Strings(files)
	var out []Dashboard
	seen := map[string]string{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("pipeline: read %s: %w", f, err)
		}
		d, err := ParseDashboard(f, data)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[d.Name]; ok {
			return nil, &ConfigError{File: f, Msg: fmt.Sprintf("name: dashboard %q is already defined in %s", d.Name, prev)}
		}
		seen[d.Name] = f
		out = append(out, d)
	}
	return out, nil
}

// ParseDashboard parses and checks one dashboard definition; file names it
// in errors.
func ParseDashboard(file string, data []byte) (Dashboard, error) {
	var d Dashboard
	if err := yaml.UnmarshalWithOptions(data, &d, yaml.Strict()); err != nil {
		return d, &ConfigError{File: file, Msg: yaml.FormatError(err, false, true)}
	}
	d.File = file
	bad := func(format string, args ...any) error {
		return &ConfigError{File: file, Msg: fmt.Sprintf(format, args...)}
	}
	if d.Name == "" {
		d.Name = strings.TrimSuffix(strings.TrimSuffix(path.Base(file), ".yaml"), ".yml")
	}
	if !identRE.MatchString(d.Name) {
		return d, bad("name: %q is not a valid dashboard name (letters, digits and _)", d.Name)
	}
	if d.Title == "" {
		d.Title = d.Name
	}
	for fname, f := range map[string]*FilterSource{"date_range": d.Filters.DateRange, "state": d.Filters.State} {
		if f == nil {
			continue
		}
		if !tableRE.MatchString(f.Table) {
			return d, bad("filters.%s.table: %q is not a layer.table name (bronze|silver|gold.name)", fname, f.Table)
		}
		if !identRE.MatchString(f.Column) {
			return d, bad("filters.%s.column: %q is not a column name", fname, f.Column)
		}
	}
	if len(d.Panels) == 0 {
		return d, bad("panels: a dashboard needs at least one panel")
	}
	ids := map[string]bool{}
	for i := range d.Panels {
		p := &d.Panels[i]
		where := fmt.Sprintf("panels[%d]", i)
		if p.ID != "" {
			where += fmt.Sprintf(" (id %s)", p.ID)
		}
		if !panelIDRE.MatchString(p.ID) {
			return d, bad("%s.id: %q is not a valid panel id (a letter, then letters, digits, _ or -)", where, p.ID)
		}
		if ids[p.ID] {
			return d, bad("%s.id: duplicate panel id %q", where, p.ID)
		}
		ids[p.ID] = true
		if !slices.Contains(PanelTypes, p.Type) {
			return d, bad("%s.type: %q is not one of %s", where, p.Type, strings.Join(PanelTypes, ", "))
		}
		if strings.TrimSpace(p.SQL) == "" {
			return d, bad("%s.sql: missing", where)
		}
		p.Follows = []string{}
		follow := func(f string) {
			if !slices.Contains(p.Follows, f) {
				p.Follows = append(p.Follows, f)
			}
		}
		for _, m := range placeholderRE.FindAllStringSubmatch(p.SQL, -1) {
			switch m[1] {
			case "from", "to":
				if d.Filters.DateRange == nil {
					return d, bad("%s.sql: uses ${%s} but the dashboard has no filters.date_range", where, m[1])
				}
				follow("date_range")
			case "state":
				if d.Filters.State == nil {
					return d, bad("%s.sql: uses ${state} but the dashboard has no filters.state", where)
				}
				follow("state")
			default:
				return d, bad("%s.sql: unknown placeholder ${%s} (only ${from}, ${to} and ${state})", where, m[1])
			}
		}
		slices.Sort(p.Follows)
		switch p.Type {
		case PanelLine, PanelBar, PanelPie:
			if p.X == "" {
				return d, bad("%s.x: a %s panel needs x (the category column)", where, p.Type)
			}
			fallthrough
		case PanelKPI:
			if len(p.Y) == 0 {
				return d, bad("%s.y: a %s panel needs y (the value column)", where, p.Type)
			}
			if (p.Type == PanelKPI || p.Type == PanelPie) && len(p.Y) > 1 {
				return d, bad("%s.y: a %s panel has one value column, got %d", where, p.Type, len(p.Y))
			}
		}
		if p.Title == "" {
			p.Title = p.ID
		}
		p.Tables = []string{}
		for _, m := range sqlTableRE.FindAllStringSubmatch(p.SQL, -1) {
			t := strings.ToLower(m[1])
			if !slices.Contains(p.Tables, t) {
				p.Tables = append(p.Tables, t)
			}
		}
	}
	return d, nil
}

// Substitute replaces ${from}, ${to} and ${state} in sql by vals (which the
// caller has validated).
func (p Panel) Substitute(vals map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(p.SQL, func(m string) string {
		return vals[m[2:len(m)-1]]
	})
}
