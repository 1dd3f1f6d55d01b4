package sparklive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// served is a `medallion serve` process of the test binary.
type served struct {
	url, pg string
	stderr  *logBuffer
	done    chan struct{} // closed when the process has ended
}

// logBuffer is a process's standard error, written while the test reads
// it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveProject starts `medallion serve` over dir with the Postgres
// endpoint on and the flags of args (e.g. --no-stream), and waits until
// /healthz answers. The process gets SIGTERM when the test ends.
func serveProject(t *testing.T, dir string, args ...string) *served {
	t.Helper()
	addr, pg := freeAddr(t), freeAddr(t)
	cmd := sparktest.Command(t, nil, append([]string{"serve", "-C", dir, "--addr", addr, "--pg-addr", pg, "--query-timeout", "10m"}, args...)...)
	errb := &logBuffer{}
	cmd.Stderr, cmd.Stdout = errb, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{url: "http://" + addr, pg: pg, stderr: errb, done: make(chan struct{})}
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
	})
	for {
		select {
		case <-s.done:
			t.Fatalf("serve -C %s exited: %v\n%s", dir, exitErr, errb)
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
	}
}

func (s *served) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (s *served) query(t *testing.T, sql string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sql})
	resp, err := http.Post(s.url+"/api/query", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /api/query: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// rowsOf decodes the rows of a query answer, numbers rounded to 9
// significant digits (sums add up in another order on another engine).
func rowsOf(t *testing.T, body string) string {
	t.Helper()
	var v struct {
		Columns []struct{ Name string } `json:"columns"`
		Rows    [][]any                 `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return fmt.Sprint(v.Columns, normalize(v.Rows))
}

// normalize rounds every number in a decoded JSON value to 9 significant
// digits.
func normalize(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 {
			return "0"
		}
		return fmt.Sprintf("%.9g", x+math.Copysign(0, x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case [][]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// TestServeOnSparkProject runs `medallion serve` as a process of its own
// on a spark project over a copy of a lake the duckdb engine built, next
// to `medallion serve` of the duckdb project: /api/query gives the same
// rows, /api/tables the same tables, the dashboard the same panel data,
// the Postgres endpoint answers through pgx, hostile SQL that reads or
// writes files is refused with no canary content in the answer, and the
// whole server opened one Spark Connect session (its /metrics).
func TestServeOnSparkProject(t *testing.T) {
	remote := sparkserver.Remote(t)
	ctx := t.Context()
	root := t.TempDir()
	landing := filepath.Join(root, "generated")
	if _, err := datagen.Generate(ctx, landing, datagen.Options{Orders: 120, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	sparktest.WriteProject(t, duckDir, landing)
	sparktest.Medallion(t, "run", "-C", duckDir)
	sparktest.SparkProject(t, sparkDir, landing, remote)
	if err := fstree.Copy(filepath.Join(duckDir, "lake"), filepath.Join(sparkDir, "lake")); err != nil {
		t.Fatal(err)
	}
	canary := "canary-" + fmt.Sprint(time.Now().UnixNano())
	secret := filepath.Join(root, "secret.csv")
	if err := os.WriteFile(secret, []byte("secret\n"+canary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	duck, spark := serveProject(t, duckDir, "--no-stream"), serveProject(t, sparkDir, "--no-stream")

	// /api/query: the same rows on both engines.
	for _, sql := range []string{
		"SELECT order_status, count(*) AS n FROM silver.orders GROUP BY order_status ORDER BY order_status",
		"SELECT * FROM gold.daily_revenue ORDER BY date",
		`SELECT customer_state, round(sum(revenue), 2) AS revenue FROM gold.revenue_by_state GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`,
		"SELECT count(*) AS n, min(order_purchase_timestamp) AS first FROM silver.orders",
	} {
		wc, want := duck.query(t, sql)
		gc, got := spark.query(t, sql)
		if wc != 200 || gc != 200 {
			t.Errorf("%s: duckdb %d %.300s; spark %d %.300s", sql, wc, want, gc, got)
			continue
		}
		if w, g := rowsOf(t, want), rowsOf(t, got); w != g {
			t.Errorf("%s:\n spark  %.500s\n duckdb %.500s", sql, g, w)
		} else if !strings.Contains(w, "[[") {
			t.Errorf("%s: no rows: the comparison proves nothing: %s", sql, w)
		}
	}

	// /api/tables: the same tables, versions and row counts.
	wc, want := duck.get(t, "/api/tables")
	gc, got := spark.get(t, "/api/tables")
	if wc != 200 || gc != 200 {
		t.Fatalf("/api/tables: duckdb %d %.300s; spark %d %.300s", wc, want, gc, got)
	}
	if w, g := tablesOf(t, want), tablesOf(t, got); w != g || !strings.Contains(g, "gold.daily_revenue") {
		t.Errorf("/api/tables:\n spark  %s\n duckdb %s", g, w)
	}

	// A dashboard: every panel's data the same, and not empty.
	wc, want = duck.get(t, "/api/dashboards/ecommerce")
	gc, got = spark.get(t, "/api/dashboards/ecommerce")
	if wc != 200 || gc != 200 {
		t.Fatalf("dashboard: duckdb %d %.300s; spark %d %.300s", wc, want, gc, got)
	}
	wp, gp := panelsOf(t, want), panelsOf(t, got)
	if len(wp) < 5 || !strings.Contains(fmt.Sprint(wp), "rows:[[") {
		t.Fatalf("dashboard: %d panels on duckdb: %.500s", len(wp), want)
	}
	for id, w := range wp {
		if g := gp[id]; g != w {
			t.Errorf("dashboard panel %s:\n spark  %.500s\n duckdb %.500s", id, g, w)
		}
	}

	// The Postgres endpoint answers through pgx.
	pgCount := func(s *served) int64 {
		t.Helper()
		conn, err := pgx.Connect(ctx, "postgres://medallion@"+s.pg+"/medallion?sslmode=disable")
		if err != nil {
			t.Fatalf("pgx connect %s: %v\n%s", s.pg, err, s.stderr)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) AS n FROM silver.order_items WHERE price > 0").Scan(&n); err != nil {
			t.Fatalf("pgx query on %s: %v\n%s", s.pg, err, s.stderr)
		}
		return n
	}
	if w, g := pgCount(duck), pgCount(spark); w != g || g == 0 {
		t.Errorf("Postgres endpoint: spark %d rows, duckdb %d", g, w)
	}

	// The sandbox: SQL that reads files outside the lake, calls Java,
	// writes or changes settings is refused, and no answer holds the
	// canary.
	refusesHostile(t, spark, root, secret, canary)
	// The lake still answers the same.
	sql := "SELECT count(*) AS n FROM silver.orders"
	if _, w := duck.query(t, sql); rowsOf(t, w) != func() string { _, g := spark.query(t, sql); return rowsOf(t, g) }() {
		t.Errorf("after the hostile statements the spark server answers differently")
	}

	// One Spark Connect session served it all.
	code, metrics := spark.get(t, "/metrics")
	m := regexp.MustCompile(`(?m)^medallion_spark_sessions_opened_total (\S+)$`).FindStringSubmatch(metrics)
	if code != 200 || m == nil {
		t.Fatalf("/metrics has no medallion_spark_sessions_opened_total: %d %.300s", code, metrics)
	}
	if m[1] != "1" {
		t.Errorf("the spark server opened %s Spark Connect sessions, want 1", m[1])
	}
}

// refusesHostile sends SQL that reads files outside the lake (secret,
// holding canary), calls Java, writes under root or changes settings to
// the server s: each gets 400 without the canary, and nothing is written.
func refusesHostile(t *testing.T, s *served, root, secret, canary string) {
	t.Helper()
	for _, sql := range []string{
		"SELECT * FROM csv.`" + secret + "`",
		"SELECT * FROM text.`file://" + secret + "`",
		"SELECT * FROM csv . `" + secret + "`",
		"SELECT * FROM csv/**/.`" + secret + "`",
		`SELECT * FROM csv."` + secret + `"`,
		"SELECT * FROM IDENTIFIER('text.`" + secret + "`')",
		"SELECT * FROM read_files('" + secret + "')",
		"SELECT reflect('java.lang.System', 'getProperty', 'user.home')",
		"SELECT java_method('java.lang.System', 'getenv', 'HOME')",
		"CREATE TABLE t USING csv LOCATION '" + root + "' AS SELECT 1",
		"INSERT OVERWRITE DIRECTORY '" + root + "/out' USING csv SELECT 1",
		"SET spark.sql.parser.escapedStringLiterals=false",
		"SELECT 1; SELECT * FROM text.`" + secret + "`",
	} {
		code, body := s.query(t, sql)
		if code != http.StatusBadRequest || strings.Contains(body, canary) {
			t.Errorf("%q: status %d, want 400 without the canary: %.400s", sql, code, body)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "out")); err == nil {
		t.Errorf("a hostile statement wrote %s", filepath.Join(root, "out"))
	}
}

// tablesOf renders /api/tables as name@version:rows, one per table.
func tablesOf(t *testing.T, body string) string {
	t.Helper()
	var v []struct {
		Name    string `json:"name"`
		Version int64  `json:"version"`
		Rows    any    `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("/api/tables %.300s: %v", body, err)
	}
	var out []string
	for _, x := range v {
		out = append(out, fmt.Sprintf("%s@%d:%v", x.Name, x.Version, x.Rows))
	}
	return strings.Join(out, " ")
}

// panelsOf maps each panel id of a dashboard answer to its data,
// normalized.
func panelsOf(t *testing.T, body string) map[string]string {
	t.Helper()
	var v struct {
		Panels []map[string]any `json:"panels"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("dashboard %.300s: %v", body, err)
	}
	out := map[string]string{}
	for _, p := range v.Panels {
		delete(p, "ms") // how long the panel's query took
		// Column names, not types: a sum of integers is DECIMAL(38,0) on
		// DuckDB and BIGINT on Spark; the values drawn are compared.
		if cols, ok := p["columns"].([]any); ok {
			var names []any
			for _, c := range cols {
				if m, ok := c.(map[string]any); ok {
					names = append(names, m["name"])
				}
			}
			p["columns"] = names
		}
		out[fmt.Sprint(p["id"])] = fmt.Sprint(normalize(p))
	}
	return out
}
