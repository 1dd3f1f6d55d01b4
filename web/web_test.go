package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/pipeline"
)

const shopConfig = `
name: shop
sources:
  items:
    keys: [sku]
    schema: {qty: long, price: double}
`

var shopFiles = map[string]string{
	"medallion.yaml": shopConfig,
	"models/silver.sql": `-- name: silver.items
-- keys: [sku]
-- expectations:
--   - {name: positive_qty, expr: "qty > 0", action: drop}
--   - {name: has_price, expr: "price IS NOT NULL", action: quarantine}
SELECT sku, qty, price, _ingested_at, _seq FROM bronze.items
`,
	"models/gold.sql": `-- name: gold.stock
SELECT count(*) AS skus, sum(qty) AS qty FROM silver.items
`,
	"models/cheap.sql": `-- name: gold.cheap
-- materialized: view
SELECT sku, price FROM silver.items WHERE price < 50
`,
	"landing/items/a.csv": "sku,qty,price\na,1,10\nb,0,20\nc,2,\nd,3,150\ne,4,5\na,5,11\n",
}

var (
	sharedOnce sync.Once
	sharedProj *pipeline.Project
	sharedErr  error
)

// shared is one run project for the read-only tests (built once: a run
// takes a while).
func shared(t *testing.T) *pipeline.Project {
	t.Helper()
	sharedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "web-test-")
		if err != nil {
			sharedErr = err
			return
		}
		for p, c := range shopFiles {
			full := filepath.Join(dir, filepath.FromSlash(p))
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				sharedErr = err
				return
			}
		}
		sharedProj, sharedErr = pipeline.Load(dir)
		if sharedErr == nil {
			_, sharedErr = pipeline.Run(context.Background(), sharedProj, pipeline.RunOptions{Quiet: true})
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedProj
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedProj != nil {
		os.RemoveAll(sharedProj.Dir)
	}
	os.RemoveAll(filepath.Join(os.TempDir(), fmt.Sprintf("medallion-web-hostile-%d", os.Getpid()))) // hostile_test.go's binary
	os.Exit(code)
}

// runShop writes the shop project (shopFiles) into a new folder of its
// own, for a test that lands more files, and runs it once.
func runShop(t *testing.T) (string, *pipeline.Project) {
	t.Helper()
	dir := t.TempDir()
	for p, c := range shopFiles {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(t.Context(), proj, pipeline.RunOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	return dir, proj
}

func newServer(t *testing.T, proj *pipeline.Project, opts Options) *Server {
	t.Helper()
	s, err := New(proj, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// do runs a request through the handler and decodes the JSON body into out
// (when non-nil); it returns the status and the raw body.
func do(t *testing.T, h http.Handler, method, target, body string, out any, hdr ...string) (int, string) {
	t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	r.Host = "127.0.0.1:8080" // httptest's default, example.com, is a foreign host
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, target, w.Body.String(), err)
		}
	}
	return w.Code, w.Body.String()
}

func wantStatus(t *testing.T, got int, body string, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("status %d, want %d: %s", got, want, body)
	}
}

func wantError(t *testing.T, body, substr string) {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("body is not {\"error\": …}: %s", body)
	}
	if !strings.Contains(e.Error, substr) {
		t.Fatalf("error %q does not mention %q", e.Error, substr)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	code, body := do(t, h, "GET", "/healthz", "", nil)
	wantStatus(t, code, body, 200)
	code, body = do(t, h, "GET", "/readyz", "", nil)
	wantStatus(t, code, body, 200)
	code, body = do(t, h, "GET", "/metrics", "", nil)
	wantStatus(t, code, body, 200)
	if !strings.Contains(body, "medallion_web_requests_total") {
		t.Fatalf("metrics lack request counter:\n%s", body)
	}
	code, body = do(t, h, "GET", "/nope", "", nil)
	wantStatus(t, code, body, 404)
	wantError(t, body, "no route")

	// A lake that cannot be listed: a file where the lake directory should be.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte("name: broken\nlake: lake\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "lake"), []byte("not a directory"), 0o644)
	bad, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	bh := newServer(t, bad, Options{}).Handler()
	code, body = do(t, bh, "GET", "/readyz", "", nil)
	wantStatus(t, code, body, 503)
	wantError(t, body, "lake")
	code, body = do(t, bh, "GET", "/healthz", "", nil)
	wantStatus(t, code, body, 200)
}

func TestTables(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	var tables []TableInfo
	code, body := do(t, h, "GET", "/api/tables", "", &tables)
	wantStatus(t, code, body, 200)
	by := map[string]TableInfo{}
	for _, ti := range tables {
		by[ti.Name] = ti
	}
	for _, n := range []string{"bronze.items", "silver.items", "silver.items_quarantine", "gold.stock", "medallion.runs"} {
		if _, ok := by[n]; !ok {
			t.Fatalf("missing %s in %s", n, body)
		}
	}
	if b := by["bronze.items"]; b.Rows != 6 || b.Layer != "bronze" || b.Files < 1 || b.Bytes <= 0 || b.Updated.IsZero() || !b.RowsExact {
		t.Fatalf("bronze.items: %+v", b)
	}
	// a (twice → 1), b dropped, c quarantined: a, d, e remain.
	if s := by["silver.items"]; s.Rows != 3 {
		t.Fatalf("silver.items: %+v", s)
	}
}

// TestTablesFollowNewCommits: the row counts GET /api/tables and
// GET /api/tables/{name} report are kept per table version (infoCache); a
// run that commits new rows is seen by the next request of the same server.
func TestTablesFollowNewCommits(t *testing.T) {
	ctx := context.Background()
	dir, proj := runShop(t)
	h := newServer(t, proj, Options{}).Handler()
	read := func() (bronze, silver TableInfo, detail tableDetail) {
		t.Helper()
		var tables []TableInfo
		code, body := do(t, h, "GET", "/api/tables", "", &tables)
		wantStatus(t, code, body, 200)
		for _, ti := range tables {
			switch ti.Name {
			case "bronze.items":
				bronze = ti
			case "silver.items":
				silver = ti
			}
		}
		code, body = do(t, h, "GET", "/api/tables/silver.items", "", &detail)
		wantStatus(t, code, body, 200)
		return bronze, silver, detail
	}
	b1, s1, d1 := read()
	b1again, _, _ := read() // answered from the cache
	if b1.Rows != 6 || s1.Rows != 3 || d1.Rows != 3 || b1again != b1 {
		t.Fatalf("first run: bronze %+v (again %+v), silver %+v, detail %+v", b1, b1again, s1, d1.TableInfo)
	}
	if d1.QuarantineRows == nil || *d1.QuarantineRows != 1 {
		t.Fatalf("first run: quarantine rows %v, want 1", d1.QuarantineRows)
	}
	if err := os.WriteFile(filepath.Join(dir, "landing", "items", "b.csv"), []byte("sku,qty,price\nf,7,1\ng,8,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(ctx, proj, pipeline.RunOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	b2, s2, d2 := read()
	if b2.Rows != 8 || b2.Version <= b1.Version || s2.Rows != 5 || s2.Version <= s1.Version || d2.Rows != 5 || d2.Version != s2.Version {
		t.Fatalf("after a second run: bronze %+v, silver %+v, detail %+v", b2, s2, d2.TableInfo)
	}
}

func TestTableDetail(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	var d struct {
		Name             string
		Version          int64
		Schema           []columnInfo
		PartitionColumns []string `json:"partition_columns"`
		History          []historyInfo
		QuarantineRows   *int64 `json:"quarantine_rows"`
		Expectations     map[string]any
	}
	code, body := do(t, h, "GET", "/api/tables/silver.items", "", &d)
	wantStatus(t, code, body, 200)
	if d.Name != "silver.items" || len(d.Schema) == 0 || d.Schema[0].Name != "sku" || d.Schema[0].Type == "" {
		t.Fatalf("detail: %s", body)
	}
	if len(d.History) == 0 || d.History[0].Version != d.Version || d.History[0].Operation == "" {
		t.Fatalf("history: %s", body)
	}
	if d.QuarantineRows == nil || *d.QuarantineRows != 1 {
		t.Fatalf("quarantine_rows: %s", body)
	}
	if d.Expectations == nil || d.Expectations["quarantined"] != float64(1) || d.Expectations["dropped"] != float64(1) || d.Expectations["duplicates"] != float64(1) {
		t.Fatalf("expectations: %s", body)
	}
	if d.PartitionColumns == nil {
		t.Fatalf("partition_columns should be [] not null: %s", body)
	}

	code, body = do(t, h, "GET", "/api/tables/silver.nope", "", nil)
	wantStatus(t, code, body, 404)
	wantError(t, body, "silver.nope")
	code, body = do(t, h, "GET", "/api/tables/..%2Fetc", "", nil)
	wantStatus(t, code, body, 404)
}

func TestPreview(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{QueryMaxRows: 5}).Handler()
	var res QueryResult
	code, body := do(t, h, "GET", "/api/tables/bronze.items/preview?limit=2", "", &res)
	wantStatus(t, code, body, 200)
	if len(res.Rows) != 2 || len(res.Columns) == 0 || res.Columns[0].Name != "sku" {
		t.Fatalf("preview: %s", body)
	}
	code, body = do(t, h, "GET", "/api/tables/bronze.items/preview", "", &res)
	wantStatus(t, code, body, 200)
	if len(res.Rows) != 5 { // default 100, capped at QueryMaxRows
		t.Fatalf("default preview: %s", body)
	}
	code, body = do(t, h, "GET", "/api/tables/bronze.items/preview?limit=6", "", nil)
	wantStatus(t, code, body, 400)
	wantError(t, body, "maximum of 5")
	code, body = do(t, h, "GET", "/api/tables/bronze.items/preview?limit=x", "", nil)
	wantStatus(t, code, body, 400)
	code, body = do(t, h, "GET", "/api/tables/gold.nope/preview", "", nil)
	wantStatus(t, code, body, 404)
}

func TestQuery(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{QueryMaxRows: 3, QueryTimeout: 2 * time.Second}).Handler()
	var res QueryResult
	code, body := do(t, h, "POST", "/api/query", `{"sql": "SELECT sku, qty FROM silver.items ORDER BY sku;"}`, &res)
	wantStatus(t, code, body, 200)
	if res.Truncated || len(res.Rows) != 3 || res.Rows[0][0] != "a" || res.Rows[0][1] != float64(5) {
		t.Fatalf("query: %s", body)
	}
	// The view and medallion.runs are queryable.
	code, body = do(t, h, "POST", "/api/query", `{"sql": "SELECT count(*) AS n FROM gold.cheap"}`, &res)
	wantStatus(t, code, body, 200)
	// Rows are capped and the cap is reported.
	code, body = do(t, h, "POST", "/api/query", `{"sql": "SELECT * FROM range(100) -- trailing comment"}`, &res)
	wantStatus(t, code, body, 200)
	if !res.Truncated || len(res.Rows) != 3 {
		t.Fatalf("cap: %s", body)
	}
	code, body = do(t, h, "POST", "/api/query", `{"sql": "DESCRIBE bronze.items"}`, &res)
	wantStatus(t, code, body, 200)
	if !res.Truncated {
		t.Fatalf("describe (more columns than the cap): %s", body)
	}

	for _, c := range []struct{ body, want string }{
		{`{"sql": "DELETE FROM silver.items"}`, "read-only"},
		{`{"sql": "SELECT 1; DROP TABLE silver.items"}`, "read-only"},
		{`{"sql": "SELEC 1"}`, "syntax error"},
		{`{"sql": "SELECT nope FROM silver.items"}`, "nope"},
		{`{"sql": ""}`, "empty"},
		{`not json`, "JSON"},
		{`{"query": "SELECT 1"}`, "JSON"},
	} {
		code, body = do(t, h, "POST", "/api/query", c.body, nil)
		wantStatus(t, code, body, 400)
		wantError(t, body, c.want)
	}
	code, body = do(t, h, "GET", "/api/query", "", nil)
	if code != http.StatusMethodNotAllowed && code != 404 {
		t.Fatalf("GET /api/query: %d %s", code, body)
	}
}

func TestQueryTimeout(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{QueryTimeout: 500 * time.Millisecond}).Handler()
	// A query that would run for days: the request returns only if the
	// timeout interrupts it (otherwise the test hangs until go test's
	// -timeout fails it, with the stack).
	code, body := do(t, h, "POST", "/api/query", `{"sql": "SELECT count(*) FROM range(1000000000000000)"}`, nil)
	wantStatus(t, code, body, http.StatusRequestTimeout)
	wantError(t, body, "timed out after 500ms")
}

func TestQueryForbiddenFileAccess(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	outside := filepath.Join(t.TempDir(), "secret.csv")
	os.WriteFile(outside, []byte("canary\nsecret-value-7\n"), 0o644)
	lake := proj.Resolve(proj.Config.Lake)
	for _, c := range []struct{ sql, want string }{
		{"SELECT * FROM read_csv('" + outside + "')", "disabled by configuration"},
		{"SELECT * FROM READ_CSV_AUTO ('" + outside + "')", "disabled by configuration"},
		{"SELECT * FROM read_text('" + outside + "')", "disabled by configuration"},
		{"SELECT * FROM read_blob('" + outside + "')", "disabled by configuration"},
		{"SELECT * FROM glob('/tmp/*')", "disabled by configuration"},
		{"SELECT * FROM read_csv/* hidden */('" + outside + "')", "disabled by configuration"},
		{`SELECT * FROM "read_csv"('` + outside + `')`, "disabled by configuration"},
		{"SELECT * FROM '" + outside + "'", "disabled by configuration"},
		{"SELECT * FROM $$" + outside + "$$", "disabled by configuration"},
		{"SELECT * FROM delta_scan('" + filepath.Join(lake, "..", "landing") + "')", "inside the project's lake"},
		{"SELECT * FROM delta_scan('/etc')", "inside the project's lake"},
		{"SELECT * FROM delta_scan('s3://bucket/t')", "inside the project's lake"},
		{"SELECT * FROM delta_scan('" + lake + "' || '/../landing')", "delta extension"},
	} {
		b, _ := json.Marshal(map[string]string{"sql": c.sql})
		code, body := do(t, h, "POST", "/api/query", string(b), nil)
		wantStatus(t, code, body, 400)
		wantError(t, body, c.want)
		if strings.Contains(body, "secret-value-7") {
			t.Fatalf("%s: the answer holds the file's content: %s", c.sql, body)
		}
	}
	// delta_scan inside the lake is allowed.
	var res QueryResult
	b, _ := json.Marshal(map[string]string{"sql": "SELECT count(*) AS n FROM delta_scan('" + filepath.Join(lake, "gold", "stock") + "')"})
	code, body := do(t, h, "POST", "/api/query", string(b), &res)
	wantStatus(t, code, body, 200)
	if len(res.Rows) != 1 || res.Rows[0][0] != float64(1) {
		t.Fatalf("delta_scan inside the lake: %s", body)
	}
}

func TestRuns(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	var runs []map[string]any
	code, body := do(t, h, "GET", "/api/runs?limit=2", "", &runs)
	wantStatus(t, code, body, 200)
	if len(runs) != 2 {
		t.Fatalf("runs: %s", body)
	}
	for _, k := range []string{"run_id", "started_at", "table_name", "status", "rows_in", "rows_out", "quarantined", "duration_ms", "error"} {
		if _, ok := runs[0][k]; !ok {
			t.Fatalf("run lacks %s: %s", k, body)
		}
	}
	code, body = do(t, h, "GET", "/api/runs", "", &runs)
	wantStatus(t, code, body, 200)
	// The run's three tables; the view gold.cheap is not a table that ran.
	if len(runs) != 3 {
		t.Fatalf("all runs: %s", body)
	}
	code, body = do(t, h, "GET", "/api/runs?limit=0", "", nil)
	wantStatus(t, code, body, 400)

	// A project that never ran: an empty list.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte("name: empty\n"), 0o644)
	empty, err := pipeline.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	code, body = do(t, newServer(t, empty, Options{}).Handler(), "GET", "/api/runs", "", &runs)
	wantStatus(t, code, body, 200)
	if len(runs) != 0 {
		t.Fatalf("runs of a new project: %s", body)
	}
}

func TestPipelineDAG(t *testing.T) {
	proj := shared(t)
	h := newServer(t, proj, Options{}).Handler()
	var dag struct {
		Nodes []dagNode
		Edges []dagEdge
	}
	code, body := do(t, h, "GET", "/api/pipeline", "", &dag)
	wantStatus(t, code, body, 200)
	nodes := map[string]dagNode{}
	for _, n := range dag.Nodes {
		nodes[n.Name] = n
	}
	if n := nodes["bronze.items"]; n.Kind != "source" || n.Status != "ok" || n.Rows == nil || *n.Rows != 6 || n.Layer != "bronze" {
		t.Fatalf("bronze node: %s", body)
	}
	if n := nodes["silver.items"]; n.Kind != "model" || n.Status != "ok" {
		t.Fatalf("silver node: %s", body)
	}
	if n := nodes["gold.cheap"]; n.Kind != "view" || n.Rows != nil {
		t.Fatalf("view node: %s", body)
	}
	edges := map[dagEdge]bool{}
	for _, e := range dag.Edges {
		edges[e] = true
	}
	for _, e := range []dagEdge{{"bronze.items", "silver.items"}, {"silver.items", "gold.stock"}, {"silver.items", "gold.cheap"}} {
		if !edges[e] {
			t.Fatalf("missing edge %v: %s", e, body)
		}
	}
}

func TestTokenRequiredOffLoopback(t *testing.T) {
	proj := shared(t)
	_, err := New(proj, Options{Addr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("New without a token on 0.0.0.0: %v", err)
	}
	if _, err := New(proj, Options{Addr: ":8080"}); err == nil {
		t.Fatal("New without a token on :8080 should fail")
	}
	for _, a := range []string{"127.0.0.1:0", "localhost:8080", "[::1]:0"} {
		if _, err := New(proj, Options{Addr: a}); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if _, err := New(proj, Options{Addr: "nonsense"}); err == nil {
		t.Fatal("a bad address should fail")
	}
	for _, h := range []string{"http://x.test", "x.test:8080", "x.test/path", ""} {
		if _, err := New(proj, Options{AllowedHosts: []string{h}}); err == nil || !strings.Contains(err.Error(), "not a host name") {
			t.Errorf("allowed host %q: %v, want an error", h, err)
		}
	}
	h := newServer(t, proj, Options{Addr: "0.0.0.0:0", Token: "s3cret"}).Handler()
	code, body := do(t, h, "GET", "/api/tables", "", nil)
	wantStatus(t, code, body, 401)
	wantError(t, body, "token")
	code, body = do(t, h, "GET", "/api/tables", "", nil, "Authorization", "Bearer wrong")
	wantStatus(t, code, body, 401)
	code, body = do(t, h, "GET", "/metrics", "", nil)
	wantStatus(t, code, body, 401)
	code, body = do(t, h, "GET", "/api/tables", "", nil, "Authorization", "Bearer s3cret")
	wantStatus(t, code, body, 200)
	code, body = do(t, h, "GET", "/api/tables?token=s3cret", "", nil)
	wantStatus(t, code, body, 401) // ?token= only on /api/events
	code, body = do(t, h, "GET", "/healthz", "", nil)
	wantStatus(t, code, body, 200)
	code, body = do(t, h, "GET", "/readyz", "", nil)
	wantStatus(t, code, body, 401)
	code, body = do(t, h, "GET", "/readyz", "", nil, "Authorization", "Bearer s3cret")
	wantStatus(t, code, body, 200)

	// EventSource: ?token= on /api/events.
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("events without token: %d", resp.StatusCode)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/events?token=s3cret", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("events with ?token=: %d", resp.StatusCode)
	}
}

// sseClient reads events from a real connection.
type sseClient struct {
	resp *http.Response
	sc   *bufio.Scanner
}

type sseEvent struct{ id, name, data string }

func dialSSE(t *testing.T, ctx context.Context, url string) *sseClient {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	return &sseClient{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event, skipping comment lines; it also returns the
// comments seen.
func (c *sseClient) next() (sseEvent, int, error) {
	var ev sseEvent
	comments := 0
	for c.sc.Scan() {
		line := c.sc.Text()
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				return ev, comments, nil
			}
		case strings.HasPrefix(line, ":"):
			comments++
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[6:]
		}
	}
	if err := c.sc.Err(); err != nil {
		return ev, comments, err
	}
	return ev, comments, io.EOF
}

// waitClients waits until n SSE clients are subscribed (no deadline: a
// count that never comes hangs the test until go test's -timeout).
func waitClients(t *testing.T, s *Server, n int) {
	t.Helper()
	for s.broker.count() != n {
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEvents(t *testing.T) {
	proj := shared(t)
	s := newServer(t, proj, Options{})
	beats := make(chan time.Time)
	s.heartbeats = beats
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	c := dialSSE(t, ctx, srv.URL+"/api/events")
	ev, _, err := c.next()
	if err != nil || ev.name != "hello" || !strings.Contains(ev.data, `"project":"shop"`) {
		t.Fatalf("hello: %+v %v", ev, err)
	}
	waitClients(t, s, 1)
	// The stream loop takes the beat (the send returns once it has), writes
	// the heartbeat comment, then takes the commit.
	beats <- time.Now()
	s.Notify("silver.items", 7)
	ev, comments, err := c.next()
	if err != nil || ev.name != "commit" || ev.id == "" {
		t.Fatalf("commit: %+v %v", ev, err)
	}
	if comments == 0 {
		t.Fatal("no heartbeat comment before the commit")
	}
	var data struct {
		Table   string
		Version int64
		Time    time.Time
	}
	if err := json.Unmarshal([]byte(ev.data), &data); err != nil || data.Table != "silver.items" || data.Version != 7 || data.Time.IsZero() {
		t.Fatalf("commit data %q: %v", ev.data, err)
	}
	// Disconnecting unsubscribes.
	cancel()
	c.resp.Body.Close()
	waitClients(t, s, 0)
}

func TestEventsManyClients(t *testing.T) {
	proj := shared(t)
	s := newServer(t, proj, Options{})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const n = 50
	clients := make([]*sseClient, n)
	for i := range clients {
		clients[i] = dialSSE(t, ctx, srv.URL+"/api/events")
		defer clients[i].resp.Body.Close()
	}
	waitClients(t, s, n)
	s.Notify("gold.stock", 3)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, want := range []string{"hello", "commit"} {
				ev, _, err := c.next()
				if err != nil || ev.name != want || (want == "commit" && !strings.Contains(ev.data, `"table":"gold.stock"`)) {
					errs <- fmt.Errorf("client %d: want %s, got %+v %v", i, want, ev, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A client that does not read must not block Notify: its oldest events are
// dropped.
func TestSlowClientDoesNotBlockNotify(t *testing.T) {
	b := newBroker(4)
	slow := b.subscribe()
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			b.publish("commit", []byte(fmt.Sprint(i)))
		}
		close(done)
	}()
	<-done // publish must not block on the slow client (else this hangs)
	if len(slow) != 4 {
		t.Fatalf("buffer holds %d events", len(slow))
	}
	if ev := <-slow; string(ev.data) != "96" || ev.id != 97 {
		t.Fatalf("oldest kept event: %+v (want the newest 4)", ev)
	}
}

func TestServeShutsDownWithOpenStreams(t *testing.T) {
	proj := shared(t)
	s := newServer(t, proj, Options{Addr: "127.0.0.1:0"})
	ln, err := listenLocal()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	c := dialSSE(t, t.Context(), "http://"+ln.Addr().String()+"/api/events")
	defer c.resp.Body.Close()
	if ev, _, err := c.next(); err != nil || ev.name != "hello" {
		t.Fatalf("hello: %+v %v", ev, err)
	}
	cancel()
	// Serve must return once ctx ended, open stream and all (else this hangs).
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if _, _, err := c.next(); err == nil {
		t.Fatal("the stream stayed open after shutdown")
	}

	// Serve on an address in use fails.
	ln2, _ := listenLocal()
	defer ln2.Close()
	s2 := newServer(t, proj, Options{Addr: ln2.Addr().String()})
	if err := s2.Serve(t.Context()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Serve on a busy port: %v", err)
	}
}

func listenLocal() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
