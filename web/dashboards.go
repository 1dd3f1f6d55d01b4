package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// dashboards returns the project's dashboards: dashboards/*.yaml in its
// directory; for the built-in e-commerce project (a directory without
// medallion.yaml), the built-in dashboards.
func (s *Server) dashboardList() ([]pipeline.Dashboard, error) {
	if s.opts.Dashboards != nil {
		return s.opts.Dashboards, nil
	}
	ds, err := s.proj.Dashboards()
	if err != nil || len(ds) > 0 {
		return ds, err
	}
	if s.proj.Config.Name == "ecommerce" {
		if _, err := os.Stat(filepath.Join(s.proj.Dir, pipeline.ConfigFile)); err != nil {
			return pipeline.LoadDashboards(ecommerce.FS())
		}
	}
	return nil, nil
}

func (s *Server) dashboard(name string) (*pipeline.Dashboard, error) {
	ds, err := s.dashboardList()
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i].Name == name {
			return &ds[i], nil
		}
	}
	return nil, nil
}

func (s *Server) dashboards(w http.ResponseWriter, r *http.Request) {
	ds, err := s.dashboardList()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if ds == nil {
		ds = []pipeline.Dashboard{}
	}
	writeJSON(w, http.StatusOK, ds)
}

var (
	dateParamRE  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	stateParamRE = regexp.MustCompile(`^[A-Z]{2}$`)
)

// dashboardFilters are the filter values a dashboard's data was computed
// with, and the choices the UI offers.
type dashboardFilters struct {
	From   string   `json:"from,omitempty"`
	To     string   `json:"to,omitempty"`
	Min    string   `json:"min,omitempty"`
	Max    string   `json:"max,omitempty"`
	State  string   `json:"state,omitempty"`
	States []string `json:"states,omitempty"`
}

type panelData struct {
	pipeline.Panel
	Columns   []columnInfo `json:"columns"`
	Rows      [][]any      `json:"rows"`
	Truncated bool         `json:"truncated"`
	Error     string       `json:"error,omitempty"`
	// Pending says why a panel has no data yet (its tables are being
	// built, or wait for data): a state, not an error.
	Pending string `json:"pending,omitempty"`
	Millis  int64  `json:"ms"`
}

type dashboardData struct {
	Name        string           `json:"name"`
	Title       string           `json:"title"`
	Description string           `json:"description,omitempty"`
	Filters     dashboardFilters `json:"filters"`
	// AsOf is the latest commit time of the tables the panels read.
	AsOf *time.Time `json:"as_of"`
	// Tables are every table the panels read, with its version.
	Tables    map[string]int64 `json:"tables"`
	Generated time.Time        `json:"generated_at"`
	Panels    []panelData      `json:"panels"`
}

func dateString(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.DateOnly)
	case string:
		if len(x) >= 10 {
			return x[:10]
		}
	}
	return ""
}

// dashboardData serves GET /api/dashboards/{name}?from=&to=&state=: every
// panel's rows, through the read-only query path and its limits.
func (s *Server) dashboardData(w http.ResponseWriter, r *http.Request) {
	d, err := s.dashboard(r.PathValue("name"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if d == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown dashboard %q (GET /api/dashboards lists them)", r.PathValue("name")))
		return
	}
	q := r.URL.Query()
	f := dashboardFilters{From: q.Get("from"), To: q.Get("to"), State: q.Get("state")}
	for _, p := range []struct{ name, v string }{{"from", f.From}, {"to", f.To}} {
		if p.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, p.v); err != nil || !dateParamRE.MatchString(p.v) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s must be a date YYYY-MM-DD, got %q", p.name, p.v))
			return
		}
	}
	if f.From != "" && f.To != "" && f.From > f.To {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("from (%s) is after to (%s)", f.From, f.To))
		return
	}
	if f.State == "" {
		f.State = "all"
	}
	if f.State != "all" && !stateParamRE.MatchString(f.State) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state must be two capital letters or \"all\", got %q", f.State))
		return
	}
	ctx := r.Context()
	lake, err := s.openLake(ctx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := dashboardData{Name: d.Name, Title: d.Title, Description: d.Description, Tables: map[string]int64{}, Panels: []panelData{}}
	exists := map[string]bool{}
	snapshot := func(t string) bool {
		if v, ok := exists[t]; ok {
			return v
		}
		snap, err := lake.Snapshot(ctx, t)
		exists[t] = err == nil && snap != nil
		if exists[t] {
			out.Tables[t] = snap.Version()
			if ts := snap.Timestamp().UTC(); out.AsOf == nil || ts.After(*out.AsOf) {
				out.AsOf = &ts
			}
		}
		return exists[t]
	}
	for _, p := range d.Panels {
		for _, t := range p.Tables {
			snapshot(t)
		}
	}
	if fr := d.Filters.DateRange; fr != nil {
		snapshot(fr.Table)
	}
	if fs := d.Filters.State; fs != nil {
		snapshot(fs.Table)
	}
	// The same dashboard, filters and table versions give the same data:
	// answer from the cache until a table it reads commits.
	key := cacheKey(d.Name, f, out.Tables)
	if cached, ok := s.dashCache.get(key); ok {
		writeJSON(w, http.StatusOK, cached)
		return
	}
	ss, err := s.openQuerySession(ctx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer ss.Close()
	query := func(sql string) (*QueryResult, error) { return s.runQuery(ctx, ss, sql) }
	// Filter defaults and choices.
	if fr := d.Filters.DateRange; fr != nil {
		if snapshot(fr.Table) {
			res, err := query(fmt.Sprintf("SELECT min(%s), max(%s) FROM %s", sqlIdent(fr.Column), sqlIdent(fr.Column), fr.Table))
			if err != nil {
				writeError(w, http.StatusInternalServerError, fmt.Sprintf("%s: filters.date_range: %v", d.File, err))
				return
			}
			if len(res.Rows) == 1 {
				f.Min, f.Max = dateString(res.Rows[0][0]), dateString(res.Rows[0][1])
			}
		}
	}
	if fs := d.Filters.State; fs != nil && snapshot(fs.Table) {
		res, err := query(fmt.Sprintf("SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL ORDER BY 1", sqlIdent(fs.Column), fs.Table, sqlIdent(fs.Column)))
		if err != nil {
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("%s: filters.state: %v", d.File, err))
			return
		}
		f.States = []string{}
		for _, row := range res.Rows {
			if v, ok := row[0].(string); ok && stateParamRE.MatchString(v) {
				f.States = append(f.States, v)
			}
		}
	}
	vals := map[string]string{"from": f.From, "to": f.To, "state": f.State}
	if vals["from"] == "" {
		vals["from"] = "0001-01-01"
	}
	if vals["to"] == "" {
		vals["to"] = "9999-12-31"
	}
	for _, p := range d.Panels {
		pd := panelData{Panel: p, Columns: []columnInfo{}, Rows: [][]any{}}
		start := time.Now()
		missing := slices.DeleteFunc(slices.Clone(p.Tables), func(t string) bool { return snapshot(t) })
		if len(missing) > 0 {
			if s.opts.Building != nil && s.opts.Building() {
				pd.Pending = "building… (" + strings.Join(missing, ", ") + " not committed yet)"
			} else {
				pd.Pending = "no data yet: " + strings.Join(missing, ", ") + " not built (land files in " + s.proj.Config.Landing + "/<source>/, or run the pipeline)"
			}
		} else if res, err := query(p.Substitute(vals)); err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return
			}
			pd.Error = fmt.Sprintf("%s: panel %s: %v", d.File, p.ID, err)
		} else {
			pd.Columns, pd.Rows, pd.Truncated = res.Columns, res.Rows, res.Truncated
		}
		pd.Millis = time.Since(start).Milliseconds()
		out.Panels = append(out.Panels, pd)
	}
	out.Filters = f
	out.Generated = time.Now().UTC()
	failed := false
	for _, p := range out.Panels {
		failed = failed || p.Error != "" || p.Pending != ""
	}
	if !failed {
		s.dashCache.put(key, out)
	}
	writeJSON(w, http.StatusOK, out)
}

func cacheKey(name string, f dashboardFilters, versions map[string]int64) string {
	tables := make([]string, 0, len(versions))
	for t := range versions {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s|%s|%s|%s", name, f.From, f.To, f.State)
	for _, t := range tables {
		fmt.Fprintf(&sb, "|%s@%d", t, versions[t])
	}
	return sb.String()
}

// dashCache keeps recent dashboard answers keyed by dashboard, filters and
// the versions of the tables they read.
type dashCache struct {
	mu    sync.Mutex
	items map[string]dashboardData
	order []string
}

const dashCacheSize = 64

func (c *dashCache) get(key string) (dashboardData, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.items[key]
	return v, ok
}

func (c *dashCache) put(key string, v dashboardData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]dashboardData{}
	}
	if _, ok := c.items[key]; !ok {
		c.order = append(c.order, key)
		if len(c.order) > dashCacheSize {
			delete(c.items, c.order[0])
			c.order = c.order[1:]
		}
	}
	c.items[key] = v
}
