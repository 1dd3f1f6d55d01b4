package sparklive_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/fstree"
	"github.com/medallionhq/medallion/internal/sparkserver"
	"github.com/medallionhq/medallion/internal/sparktest"
)

// byStatus is the SQL both engines answer: the gold table the stream
// keeps, and silver's count.
const byStatus = "SELECT order_status, orders, (SELECT count(*) FROM silver.orders) AS silver FROM gold.orders_by_status ORDER BY order_status"

// TestServeStreamsOnSpark runs `medallion serve` with its continuous
// stream as a process of its own on a spark project (serve's queries on a
// sealed Spark session, the stream's writes on a second, unsandboxed one):
// order files landing while it runs reach bronze, silver and gold, and
// /api/query, /api/tables and the dashboard answer with what `medallion
// stream` on duckdb makes of the same files; meanwhile hostile statements
// through /api/query still get 400, among them reads of the Spark
// server's own catalog (a spark_catalog table and a global temporary
// view this test creates, holding a canary); and the server opened two
// Spark Connect sessions, no more.
func TestServeStreamsOnSpark(t *testing.T) {
	remote := sparkserver.Remote(t)
	root := t.TempDir()
	src, orders := generatedOrders(t, filepath.Join(root, "generated"), 21)
	duckDir, sparkDir := filepath.Join(root, "duck"), filepath.Join(root, "spark")
	for _, dir := range []string{duckDir, sparkDir} {
		if err := fstree.Copy(filepath.Join("testdata", "servestream"), dir); err != nil {
			t.Fatal(err)
		}
	}
	sparktest.UseSpark(t, sparkDir, remote)
	landed := 0
	// land lands the next order file in both projects; the duckdb one
	// then streams what has landed, available-now: the expected answer.
	land := func() string {
		t.Helper()
		rel, _ := filepath.Rel(src, orders[landed])
		for _, dir := range []string{duckDir, sparkDir} {
			if err := sparktest.CopyLanding(filepath.Join(dir, "landing", rel), orders[landed]); err != nil {
				t.Fatal(err)
			}
		}
		landed++
		sparktest.Medallion(t, "stream", "-C", duckDir, "--trigger", "available-now")
		res := sparktest.QueryLake(t, duckDir, byStatus)
		var rows []string
		for _, r := range res.Rows {
			rows = append(rows, fmt.Sprintf("%v|%v|%v", r[0], r[1], r[2]))
		}
		return strings.Join(rows, " ")
	}

	want := land()
	s := serveProject(t, sparkDir, "--interval", "200ms")
	commits := s.commits(t)
	// reached waits, event by event, until the server answers byStatus
	// with want. Until the stream first committed gold.orders_by_status,
	// the tables may not exist yet: a 400 then is no failure.
	goldCommitted := false
	reached := func(when string) {
		t.Helper()
		for {
			code, body := s.query(t, byStatus)
			got := "(" + body + ")"
			switch {
			case code == http.StatusOK:
				got = statusRows(t, body)
			case code != http.StatusBadRequest || goldCommitted:
				t.Fatalf("%s: /api/query %d: %.500s\n%s", when, code, body, s.stderr)
			}
			if got == want {
				t.Logf("%s: the server answers %s", when, got)
				return
			}
			select {
			case c, ok := <-commits:
				if !ok {
					t.Fatalf("%s: the event stream ended; the server answers %s, want %s\n%s", when, got, want, s.stderr)
				}
				t.Logf("%s: commit %s", when, c)
				goldCommitted = goldCommitted || strings.Contains(c, `"gold.orders_by_status"`)
			case <-s.done:
				t.Fatalf("%s: serve exited; it answered %s, want %s\n%s", when, got, want, s.stderr)
			}
		}
	}
	reached("first file")
	// A legal query whose alias is a data source's name.
	if code, body := s.query(t, "SELECT json.order_status, count(*) AS n FROM silver.orders AS json GROUP BY 1"); code != http.StatusOK {
		t.Errorf("a query with the alias json: %d %.300s", code, body)
	}

	// A file lands while serve runs; hostile statements meanwhile.
	want = land()
	canary := "canary-" + fmt.Sprint(time.Now().UnixNano())
	secret := filepath.Join(root, "secret.csv")
	if err := os.WriteFile(secret, []byte("secret\n"+canary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refusesHostile(t, s, root, secret, canary)
	refusesCatalog(t, s, root, canary)
	reached("second file")
	for landed < len(orders) {
		want = land()
	}
	reached(fmt.Sprintf("all %d files", landed))

	// /api/tables: every table of the project, at the versions the stream
	// committed.
	code, body := s.get(t, "/api/tables")
	if code != 200 {
		t.Fatalf("/api/tables: %d %.300s", code, body)
	}
	tables := tablesOf(t, body)
	for _, n := range []string{"bronze.orders@", "silver.orders@", "gold.orders_by_status@"} {
		if !strings.Contains(tables, n) || strings.Contains(tables, n+"0:") {
			t.Errorf("/api/tables has no %s at a version after 0: %s", n, tables)
		}
	}
	// The dashboard: the orders the duckdb stream counted.
	code, body = s.get(t, "/api/dashboards/orders")
	if code != 200 {
		t.Fatalf("dashboard: %d %.300s", code, body)
	}
	panels := panelsOf(t, body)
	total := sparktest.QueryLake(t, duckDir, "SELECT sum(orders) FROM gold.orders_by_status").Rows[0][0]
	if p := panels["orders"]; !strings.Contains(p, fmt.Sprintf("rows:[[%v]]", total)) {
		t.Errorf("dashboard panel orders: %s, want %v orders", p, total)
	}
	if p := panels["by_status"]; !strings.Contains(p, "rows:[[") {
		t.Errorf("dashboard panel by_status has no rows: %s", p)
	}

	// Two Spark Connect sessions: the sealed one of the queries, the
	// stream's.
	code, metrics := s.get(t, "/metrics")
	m := regexp.MustCompile(`(?m)^medallion_spark_sessions_opened_total (\S+)$`).FindStringSubmatch(metrics)
	if code != 200 || m == nil {
		t.Fatalf("/metrics has no medallion_spark_sessions_opened_total: %d %.300s", code, metrics)
	}
	if m[1] != "2" {
		t.Errorf("the server opened %s Spark Connect sessions, want 2 (queries, stream)", m[1])
	}
}

// statusRows renders an /api/query answer of byStatus as the rows land
// renders DuckDB's.
func statusRows(t *testing.T, body string) string {
	t.Helper()
	var v struct {
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("answer %.300s: %v", body, err)
	}
	var rows []string
	for _, r := range v.Rows {
		if len(r) != 3 {
			t.Fatalf("answer row %v: want 3 columns", r)
		}
		rows = append(rows, fmt.Sprintf("%v|%v|%v", r[0], normalize(r[1]), normalize(r[2])))
	}
	return strings.Join(rows, " ")
}

// commits subscribes to the server's events (/api/events) and returns
// the data of each "commit" event, from the moment it returns; the
// channel closes when the stream of events ends.
func (s *served) commits(t *testing.T) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/events: %v", err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/events: %s", resp.Status)
	}
	hello := make(chan struct{})
	out := make(chan string, 1024)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "hello":
				close(hello)
			case strings.HasPrefix(line, "data: ") && event == "commit":
				select {
				case out <- strings.TrimPrefix(line, "data: "):
				default: // the test reads the answer again anyway
				}
			}
		}
	}()
	t.Cleanup(cancel)
	select {
	case <-hello:
	case <-s.done:
		t.Fatalf("serve exited before its events answered\n%s", s.stderr)
	}
	return out
}

// refusesCatalog creates, in a Spark session of the test's own on the
// shared server, a table of the server's catalog (spark_catalog.default,
// an external Parquet table under root) and a global temporary view, each
// holding canary, checks that an unsealed session reads them, and asks
// the server s for them every way a query can name them: each gets 400
// without the canary.
func refusesCatalog(t *testing.T, s *served, root, canary string) {
	t.Helper()
	ctx := t.Context()
	sess := sparkserver.Session(t)
	name := "medallion_" + strings.ReplaceAll(canary, "-", "_")
	run := func(sql string) []string {
		t.Helper()
		df, err := sess.Sql(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		rows, err := df.Collect(ctx)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprint(r.Values()...))
		}
		return out
	}
	run("CREATE TABLE spark_catalog.default." + name + " USING parquet LOCATION '" + filepath.Join(root, name) + "' AS SELECT '" + canary + "' AS s")
	run("CREATE GLOBAL TEMP VIEW " + name + " AS SELECT '" + canary + "' AS s")
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		for _, sql := range []string{"DROP TABLE IF EXISTS spark_catalog.default." + name, "DROP VIEW IF EXISTS global_temp." + name} {
			if _, err := sess.Sql(ctx, sql); err != nil {
				t.Logf("%s: %v", sql, err)
			}
		}
	})
	for _, sql := range []string{"SELECT s FROM spark_catalog.default." + name, "SELECT s FROM global_temp." + name} {
		if got := run(sql); !slices.Equal(got, []string{canary}) {
			t.Fatalf("%s in an unsealed session: %v, want the canary: the check below proves nothing", sql, got)
		}
	}
	for _, sql := range []string{
		"SELECT * FROM spark_catalog.default." + name,
		"SELECT * FROM default." + name,
		"SELECT * FROM " + name,
		"SELECT * FROM `spark_catalog`.`default`.`" + name + "`",
		"SELECT * FROM global_temp." + name,
		"TABLE global_temp." + name,
		"SELECT * FROM silver.orders, spark_catalog.default." + name,
		"SELECT o.order_id, g.s FROM silver.orders o JOIN global_temp." + name + " g ON true",
		"SELECT (SELECT max(s) FROM global_temp." + name + ") AS s FROM silver.orders",
		"WITH x AS (SELECT * FROM global_temp." + name + ") SELECT * FROM x",
		"SELECT * FROM (spark_catalog.default." + name + ")",
		"SHOW TABLES IN global_temp",
		"DESCRIBE TABLE spark_catalog.default." + name,
	} {
		code, body := s.query(t, sql)
		if code != http.StatusBadRequest || strings.Contains(body, canary) {
			t.Errorf("%q: status %d, want 400 without the canary: %.400s", sql, code, body)
		}
	}
}
