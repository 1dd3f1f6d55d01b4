package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/delta"
	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/pipeline"
)

// openLake returns the server's lake handle, opened once: its table handles
// keep their latest snapshots, so a request reads only the commits made
// since the previous one.
func (s *Server) openLake(ctx context.Context) (*pipeline.Lake, error) {
	s.lakeMu.Lock()
	defer s.lakeMu.Unlock()
	if s.lake != nil {
		return s.lake, nil
	}
	lake, err := pipeline.OpenLake(ctx, s.proj.Resolve(s.proj.Config.Lake), nil)
	if err != nil {
		return nil, err
	}
	s.lake = lake
	return lake, nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	lake, err := s.openLake(ctx)
	if err == nil {
		_, err = lake.Tables(ctx)
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "lake not ready: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// TableInfo is one row of GET /api/tables.
type TableInfo struct {
	Name    string    `json:"name"`
	Layer   string    `json:"layer"`
	Version int64     `json:"version"`
	Files   int       `json:"files"`
	Rows    int64     `json:"rows"`
	Bytes   int64     `json:"bytes"`
	Updated time.Time `json:"updated"`
	// RowsExact is false when some file has no numRecords in its stats.
	RowsExact bool `json:"rows_exact"`
}

func tableInfo(name string, snap *delta.Snapshot) TableInfo {
	ti := TableInfo{Name: name, Layer: pipeline.Layer(name), Version: snap.Version(), Files: snap.NumFiles(), Updated: snap.Timestamp().UTC(), RowsExact: true}
	for _, f := range snap.Files() {
		ti.Bytes += f.Size
		n, ok := f.LiveRows() // without the rows a deletion vector deletes
		if !ok {
			ti.RowsExact = false
			continue
		}
		ti.Rows += n
	}
	return ti
}

// infoCache keeps each table's TableInfo with the snapshot it describes. A
// Delta version never changes, so its row count — a parse of every data
// file's stats — is summed once, not on every GET /api/tables.
type infoCache struct {
	mu sync.Mutex
	m  map[string]TableInfo
}

// info is tableInfo(name, snap), from the cache when snap is the version
// (and commit time: a table removed and created again restarts at 0) the
// cached one was computed for.
func (c *infoCache) info(name string, snap *delta.Snapshot) TableInfo {
	c.mu.Lock()
	ti, ok := c.m[name]
	c.mu.Unlock()
	if ok && ti.Version == snap.Version() && ti.Updated.Equal(snap.Timestamp().UTC()) {
		return ti
	}
	ti = tableInfo(name, snap)
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]TableInfo{}
	}
	c.m[name] = ti
	c.mu.Unlock()
	return ti
}

// lakeTables lists the lake's tables with their latest snapshots.
func (s *Server) lakeTables(ctx context.Context) ([]TableInfo, error) {
	lake, err := s.openLake(ctx)
	if err != nil {
		return nil, err
	}
	names, err := lake.Tables(ctx)
	if err != nil {
		return nil, err
	}
	out := []TableInfo{}
	for _, n := range names {
		snap, err := lake.Snapshot(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", n, err)
		}
		if snap != nil {
			out = append(out, s.infos.info(n, snap))
		}
	}
	return out, nil
}

func (s *Server) tables(w http.ResponseWriter, r *http.Request) {
	out, err := s.lakeTables(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, out)
}

var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`)

// existingTable opens the named table's latest snapshot, writing a 400 or
// 404 when the name is invalid or the table does not exist.
func (s *Server) existingTable(w http.ResponseWriter, r *http.Request) (*pipeline.Lake, *delta.Table, *delta.Snapshot, string, bool) {
	name := r.PathValue("name")
	if !tableNameRE.MatchString(name) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown table %q (tables are named layer.table)", name))
		return nil, nil, nil, "", false
	}
	lake, err := s.openLake(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, nil, nil, "", false
	}
	tbl, err := lake.Table(r.Context(), name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, nil, nil, "", false
	}
	snap, err := lake.Snapshot(r.Context(), name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, nil, nil, "", false
	}
	if snap == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown table %q", name))
		return nil, nil, nil, "", false
	}
	return lake, tbl, snap, name, true
}

type columnInfo struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

type historyInfo struct {
	Version    int64             `json:"version"`
	Timestamp  time.Time         `json:"timestamp"`
	Operation  string            `json:"operation"`
	Parameters map[string]any    `json:"parameters"`
	Metrics    map[string]string `json:"metrics"`
}

type tableDetail struct {
	TableInfo
	Schema           []columnInfo   `json:"schema"`
	PartitionColumns []string       `json:"partition_columns"`
	History          []historyInfo  `json:"history"`
	QuarantineRows   *int64         `json:"quarantine_rows"`
	Expectations     map[string]any `json:"expectations"`
}

func (s *Server) table(w http.ResponseWriter, r *http.Request) {
	lake, tbl, snap, name, ok := s.existingTable(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	d := tableDetail{TableInfo: s.infos.info(name, snap), Schema: []columnInfo{}, PartitionColumns: snap.PartitionColumns(), History: []historyInfo{}}
	if d.PartitionColumns == nil {
		d.PartitionColumns = []string{}
	}
	if sc := snap.Schema(); sc != nil {
		for _, f := range sc.Fields {
			d.Schema = append(d.Schema, columnInfo{Name: f.Name, Type: f.Type.String(), Nullable: f.Nullable})
		}
	}
	hist, err := tbl.History(ctx, 20)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for _, h := range hist {
		hi := historyInfo{Version: h.Version, Timestamp: h.Timestamp.UTC()}
		if ci := h.CommitInfo; ci != nil {
			hi.Operation, hi.Parameters, hi.Metrics = ci.Operation, ci.OperationParameters, ci.OperationMetrics
		}
		d.History = append(d.History, hi)
	}
	if !strings.HasSuffix(name, "_quarantine") {
		qs, err := lake.Snapshot(ctx, name+"_quarantine")
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if qs != nil {
			n := s.infos.info(name+"_quarantine", qs).Rows
			d.QuarantineRows = &n
		}
	}
	if rs, err := lake.Snapshot(ctx, pipeline.RunsTable); err == nil && rs != nil {
		res, err := s.sessionQuery(ctx, "SELECT run_id, started_at, status, quarantined, dropped, duplicates FROM medallion.runs WHERE table_name = "+sqlString(name)+" ORDER BY started_at DESC LIMIT 1")
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if len(res.Rows) > 0 {
			d.Expectations = rowObject(res, 0)
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// sessionQuery runs one internal statement in a fresh session.
func (s *Server) sessionQuery(ctx context.Context, sql string) (*engine.Result, error) {
	ss, err := s.openQuerySession(ctx)
	if err != nil {
		return nil, err
	}
	defer ss.Close()
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	return ss.Query(ctx, sql)
}

func rowObject(res *engine.Result, i int) map[string]any {
	m := map[string]any{}
	for j, c := range res.Columns {
		m[c.Name] = jsonValue(res.Rows[i][j])
	}
	return m
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sqlIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// limitParam parses ?limit= (default def, 1..max).
func limitParam(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return min(def, max), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("limit must be a positive integer, got %q", v)
	}
	if n > max {
		return 0, fmt.Errorf("limit %d exceeds the maximum of %d rows", n, max)
	}
	return n, nil
}

// QueryResult is the body of a query or preview response.
type QueryResult struct {
	Columns   []columnInfo `json:"columns"`
	Rows      [][]any      `json:"rows"`
	Truncated bool         `json:"truncated"`
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r, 100, s.opts.QueryMaxRows)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	_, _, _, name, ok := s.existingTable(w, r)
	if !ok {
		return
	}
	l, t, _ := strings.Cut(name, ".")
	ss, err := s.openQuerySession(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer ss.Close()
	out, err := s.runQuery(r.Context(), ss, fmt.Sprintf("SELECT * FROM %s.%s LIMIT %d", sqlIdent(l), sqlIdent(t), limit))
	if err != nil {
		s.queryError(w, r.Context(), err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// queryError maps a failure of runQuery to a status: time-outs 408,
// everything else (syntax, unknown names, non-read-only statements, an
// answer over the size limit) 400.
func (s *Server) queryError(w http.ResponseWriter, ctx context.Context, err error) {
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil { // the request is alive: our QueryTimeout fired
		writeError(w, http.StatusRequestTimeout, fmt.Sprintf("query timed out after %s (the server's query time limit); narrow it with filters or a LIMIT", s.opts.QueryTimeout))
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// errTooLarge means a query's answer passed Options.QueryMaxBytes.
var errTooLarge = errors.New("web: query answer too large")

// openQuerySession opens the engine session of API and dashboard queries:
// sandboxed, delta_scan restricted to the lake, memory limited.
func (s *Server) openQuerySession(ctx context.Context) (*pipeline.Session, error) {
	return pipeline.OpenSessionWith(ctx, s.proj, pipeline.SessionOptions{MemoryLimit: s.opts.QueryMemoryLimit})
}

// runQuery runs one statement in ss under the server's limits: it must
// be a single read-only query (the engine's parser decides), the engine
// stops after QueryMaxRows+1 rows, the JSON of the rows kept may not pass
// QueryMaxBytes (the rows are counted as they arrive, never all held),
// and it gets QueryTimeout.
func (s *Server) runQuery(ctx context.Context, ss *pipeline.Session, sql string) (*QueryResult, error) {
	if err := ss.Check(ctx, sql); err != nil {
		s.metrics.queries.WithLabelValues("rejected").Inc()
		return nil, err
	}
	max := s.opts.QueryMaxRows
	body := strings.TrimSpace(sql)
	for strings.HasSuffix(body, ";") {
		body = strings.TrimSpace(strings.TrimSuffix(body, ";"))
	}
	// The engine hands over its whole result at once, so the wrappers make
	// it stop early: at max+1 rows, and (sized) once the rows' text passed
	// twice the byte limit, keeping the first row past it so that the cut
	// shows. The running sum is a streaming window: rows past the cut are
	// computed but not kept. The newline ends a trailing -- comment; the
	// wrapped text is checked again (by the session, before it runs).
	limited := fmt.Sprintf("SELECT * FROM (\n%s\n) AS __medallion_query LIMIT %d", body, max+1)
	cut := 2 * s.opts.QueryMaxBytes
	sized := fmt.Sprintf("SELECT * FROM (SELECT *, CAST(sum(__medallion_size) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS __medallion_total"+
		" FROM (SELECT *, strlen(CAST(__medallion_query AS VARCHAR)) AS __medallion_size FROM (\n%s\n) AS __medallion_query))"+
		" WHERE __medallion_total - __medallion_size <= %d LIMIT %d", body, cut, max+1)
	if err := ss.Check(ctx, limited); err != nil {
		s.metrics.queries.WithLabelValues("rejected").Inc()
		return nil, fmt.Errorf("web: the statement cannot run under the row limit (as a subquery): %w", err)
	}
	qctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	var out *QueryResult
	size := int64(0)
	var tooLarge error
	tooBig := func(rows int) error {
		tooLarge = fmt.Errorf("%w: the rows passed the server's limit of %s of JSON after %d rows (serve.query_max_bytes / --query-max-bytes); select fewer or narrower rows", errTooLarge, formatBytes(s.opts.QueryMaxBytes), rows)
		return tooLarge
	}
	scan := func(run string, extra int) error {
		out = &QueryResult{Columns: []columnInfo{}, Rows: [][]any{}}
		size = 0
		var days []bool
		return ss.Scan(qctx, run, func(cols []engine.Column) error {
			for _, c := range cols[:len(cols)-extra] {
				out.Columns = append(out.Columns, columnInfo{Name: c.Name, Type: c.Type.String(), Nullable: true})
				days = append(days, c.Type.Name == delta.TypeDate)
			}
			return nil
		}, func(row []any) error {
			if len(out.Rows) == max {
				out.Truncated = true
				return errStop
			}
			if extra > 0 {
				if total, ok := row[len(row)-1].(int64); !ok || total > cut {
					return tooBig(len(out.Rows))
				}
				row = row[:len(row)-extra]
			}
			o := make([]any, len(row))
			for i, v := range row {
				// A DATE is a day, not an instant: "2017-11-06".
				if t, ok := v.(time.Time); ok && days[i] {
					o[i] = t.Format(time.DateOnly)
					continue
				}
				o[i] = jsonValue(v)
			}
			b, err := json.Marshal(o)
			if err != nil {
				return err
			}
			size += int64(len(b)) + 1
			if size > s.opts.QueryMaxBytes {
				return tooBig(len(out.Rows))
			}
			out.Rows = append(out.Rows, o)
			return nil
		})
	}
	err := scan(sized, 2)
	if err != nil && strings.Contains(err.Error(), "__medallion_") && !errors.Is(err, errTooLarge) && qctx.Err() == nil {
		// A result the sized wrapper cannot take apart: rows only.
		err = scan(limited, 0)
	}
	switch {
	case errors.Is(err, errStop):
		err = nil
	case err != nil && qctx.Err() != nil && ctx.Err() == nil:
		s.metrics.queries.WithLabelValues("timeout").Inc()
		return nil, fmt.Errorf("%w: query timed out after %s (the server's query time limit); narrow it with filters or a LIMIT", context.DeadlineExceeded, s.opts.QueryTimeout)
	case errors.Is(err, errTooLarge):
		s.metrics.queries.WithLabelValues("too_large").Inc()
		return nil, tooLarge
	case err != nil:
		s.metrics.queries.WithLabelValues("error").Inc()
		return nil, err
	}
	if out.Truncated {
		s.metrics.queries.WithLabelValues("truncated").Inc()
	} else {
		s.metrics.queries.WithLabelValues("ok").Inc()
	}
	return out, nil
}

var errStop = errors.New("web: enough rows")

// formatBytes renders n in the largest unit dividing it (32 MiB, 64 KB).
func formatBytes(n int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if n >= u.n && n%u.n == 0 {
			return fmt.Sprintf("%d %s", n/u.n, u.s)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	var body struct {
		SQL string `json:"sql"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := decodeJSON(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {\"sql\": \"...\"}: "+err.Error())
		return
	}
	sql := strings.TrimSpace(body.SQL)
	if sql == "" {
		writeError(w, http.StatusBadRequest, "sql is empty")
		return
	}
	ss, err := s.openQuerySession(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer ss.Close()
	out, err := s.runQuery(r.Context(), ss, sql)
	if err != nil {
		s.queryError(w, r.Context(), err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r, 50, s.opts.QueryMaxRows)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []map[string]any{}
	lake, err := s.openLake(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if snap, err := lake.Snapshot(r.Context(), pipeline.RunsTable); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	} else if snap == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	res, err := s.sessionQuery(r.Context(), fmt.Sprintf("SELECT run_id, started_at, table_name, status, rows_in, rows_out, quarantined, duration_ms, error FROM medallion.runs ORDER BY started_at DESC, table_name LIMIT %d", limit))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for i := range res.Rows {
		out = append(out, rowObject(res, i))
	}
	writeJSON(w, http.StatusOK, out)
}

type dagNode struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Layer  string `json:"layer"`
	Source string `json:"source,omitempty"`
	File   string `json:"file,omitempty"`
	Status string `json:"status,omitempty"`
	Rows   *int64 `json:"rows"`
}

type dagEdge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

func (s *Server) pipeline(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	infos, err := s.lakeTables(ctx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	rows := map[string]int64{}
	hasRuns := false
	for _, ti := range infos {
		rows[ti.Name] = ti.Rows
		hasRuns = hasRuns || ti.Name == pipeline.RunsTable
	}
	status := map[string]string{}
	if hasRuns {
		res, err := s.sessionQuery(ctx, "SELECT table_name, status FROM (SELECT table_name, status, row_number() OVER (PARTITION BY table_name ORDER BY started_at DESC) AS rn FROM medallion.runs) AS latest WHERE rn = 1")
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		for _, row := range res.Rows {
			n, _ := row[0].(string)
			st, _ := row[1].(string)
			status[n] = st
		}
	}
	node := func(name, kind string) dagNode {
		n := dagNode{Name: name, Kind: kind, Layer: pipeline.Layer(name), Status: status[name]}
		if v, ok := rows[name]; ok {
			n.Rows = &v
		}
		return n
	}
	out := struct {
		Nodes []dagNode `json:"nodes"`
		Edges []dagEdge `json:"edges"`
	}{Nodes: []dagNode{}, Edges: []dagEdge{}}
	seen := map[string]bool{}
	for _, src := range s.proj.Sources {
		n := node(src.Table, "source")
		n.Source = src.Name
		out.Nodes = append(out.Nodes, n)
		seen[src.Table] = true
	}
	for _, m := range s.proj.Models {
		kind := "model"
		if m.Materialized == pipeline.View {
			kind = "view"
		}
		n := node(m.Name, kind)
		n.File = m.File
		out.Nodes = append(out.Nodes, n)
		seen[m.Name] = true
	}
	for _, m := range s.proj.Models {
		for _, d := range m.Deps {
			if !seen[d] { // an input outside the project (e.g. medallion.runs)
				out.Nodes = append(out.Nodes, node(d, "table"))
				seen[d] = true
			}
			out.Edges = append(out.Edges, dagEdge{From: d, To: m.Name})
		}
	}
	slices.SortStableFunc(out.Edges, func(a, b dagEdge) int { return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To) })
	writeJSON(w, http.StatusOK, out)
}
