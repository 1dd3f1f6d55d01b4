package pgwire_test

// Real Postgres clients against a real `medallion serve --pg-addr`: the
// built binary, run as its own process over a project that `medallion
// run` built. pgx (extended protocol, binary formats), psql (Debian
// postgresql-client) and psycopg + SQLAlchemy's inspector (PyPI) list
// schemas, tables and columns, run parameterised queries over gold and
// must get the CLI's answers; writes and hostile statements are refused
// with SQLSTATEs.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

var (
	medallionBin string // built in TestMain
	projectDir   string // the e-commerce project, run once
)

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "pgwire-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := setup(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "pgwire test setup:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// setup builds cmd/medallion and runs the e-commerce project over 300
// generated orders.
func setup(tmp string) error {
	goBin := "go"
	if root := runtime.GOROOT(); root != "" {
		goBin = filepath.Join(root, "bin", "go")
	}
	medallionBin = filepath.Join(tmp, "medallion")
	cmd := exec.Command(goBin, "build", "-o", medallionBin, "./cmd/medallion")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	projectDir = filepath.Join(tmp, "shop")
	for _, args := range [][]string{
		{"init", projectDir},
		{"generate", "--out", filepath.Join(projectDir, "landing"), "--orders", "300"},
		{"run", "-C", projectDir},
	} {
		if out, err := exec.Command(medallionBin, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("medallion %v: %v\n%s", args, err, out)
		}
	}
	return nil
}

// cli runs the CLI to completion and returns its stdout.
func cli(t testing.TB, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(medallionBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("medallion %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// cliRows is the CLI's answer to sql (--format json: doubles exact),
// each row's values in the order of cols, rendered like cell.
func cliRows(t testing.TB, sql string, cols []string) [][]string {
	t.Helper()
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(cli(t, "query", "-C", projectDir, "--format", "json", sql)), "\n") {
		if line == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("CLI answer %q: %v", line, err)
		}
		r := make([]string, len(cols))
		for i, c := range cols {
			v, ok := obj[c]
			if !ok {
				t.Fatalf("CLI answer %q has no column %s", line, c)
			}
			if s, isStr := v.(string); isStr {
				if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
					v = ts
				}
			}
			r[i] = cell(v)
		}
		out = append(out, r)
	}
	return out
}

// server is a `medallion serve --pg-addr` process.
type server struct {
	pgAddr, httpURL string
	stderr          *bytes.Buffer
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe starts `medallion serve --no-stream` with a Postgres
// endpoint and waits until /healthz answers (the Postgres listener opens
// before the HTTP server serves).
func startServe(t testing.TB, args ...string) *server {
	t.Helper()
	s := &server{pgAddr: freeAddr(t), stderr: &bytes.Buffer{}}
	httpAddr := freeAddr(t)
	s.httpURL = "http://" + httpAddr
	cmd := exec.Command(medallionBin, append([]string{"serve", "-C", projectDir, "--no-stream", "--addr", httpAddr, "--pg-addr", s.pgAddr}, args...)...)
	cmd.Stderr, cmd.Stdout = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	for {
		select {
		case err := <-exited:
			t.Fatalf("serve exited: %v\n%s", err, s.stderr.String())
		default:
		}
		resp, err := http.Get(s.httpURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) url(user, password, extra string) string {
	host, port, _ := net.SplitHostPort(s.pgAddr)
	u := fmt.Sprintf("postgres://%s@%s:%s/shop?sslmode=disable", user, host, port)
	if password != "" {
		u = fmt.Sprintf("postgres://%s:%s@%s:%s/shop?sslmode=disable", user, password, host, port)
	}
	if extra != "" {
		u = strings.Replace(u, "sslmode=disable", extra, 1)
	}
	return u
}

func connect(t testing.TB, url string, mode ...pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if len(mode) > 0 {
		cfg.DefaultQueryExecMode = mode[0]
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// sqlstate is the SQLSTATE of a Postgres error ("" for another error).
func sqlstate(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// cell renders a value pgx decoded the way the CLI's CSV does.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.UTC().Format("2006-01-02 15:04:05")
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

func collect(t testing.TB, rows pgx.Rows) [][]string {
	t.Helper()
	out, _ := collectCols(t, rows)
	return out
}

func collectCols(t testing.TB, rows pgx.Rows) ([][]string, []string) {
	t.Helper()
	var cols []string
	for _, fd := range rows.FieldDescriptions() {
		cols = append(cols, fd.Name)
	}
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		r := make([]string, len(vals))
		for i, v := range vals {
			r[i] = cell(v)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, cols
}

// sameRows compares rows cell by cell; numbers with a fraction compare
// as numbers to 12 significant digits (the CLI rounds doubles for
// display, the wire carries them exactly).
func sameRows(got, want [][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return false
		}
		for j := range got[i] {
			if got[i][j] == want[i][j] {
				continue
			}
			a, err1 := strconv.ParseFloat(got[i][j], 64)
			b, err2 := strconv.ParseFloat(want[i][j], 64)
			if err1 != nil || err2 != nil || math.Abs(a-b) > 1e-12*math.Max(1, math.Abs(b)) {
				return false
			}
		}
	}
	return true
}

// dashboardQueries are parameterised queries over gold with their
// literal form for the CLI.
var dashboardQueries = []struct {
	name, sql, literal string
	args               []any
}{
	{"revenue since", "SELECT date, revenue, orders FROM gold.daily_revenue WHERE date >= $1 AND orders >= $2 ORDER BY date",
		"SELECT date, revenue, orders FROM gold.daily_revenue WHERE date >= DATE '2017-06-01' AND orders >= 2 ORDER BY date",
		[]any{time.Date(2017, 6, 1, 0, 0, 0, 0, time.UTC), 2}},
	{"top categories", "SELECT * FROM gold.revenue_by_category ORDER BY revenue DESC, 1 LIMIT $1",
		"SELECT * FROM gold.revenue_by_category ORDER BY revenue DESC, 1 LIMIT 5", []any{5}},
	{"states", "SELECT * FROM gold.revenue_by_state WHERE customer_state <> $1 ORDER BY 1",
		"SELECT * FROM gold.revenue_by_state WHERE customer_state <> 'SP' ORDER BY 1", []any{"SP"}},
	{"totals", "SELECT * FROM gold.total_revenue", "SELECT * FROM gold.total_revenue", nil},
}

// TestPgxClient drives the endpoint with pgx in each of its query modes:
// the extended protocol with binary formats (prepared and described
// statements), with text formats, and the simple protocol.
func TestPgxClient(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	modes := []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connect(t, srv.url("analyst", "", ""), mode)
			rows, err := conn.Query(ctx, "SELECT nspname FROM pg_catalog.pg_namespace ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			var schemas []string
			for _, r := range collect(t, rows) {
				schemas = append(schemas, r[0])
			}
			for _, want := range []string{"bronze", "silver", "gold", "medallion"} {
				if !slices.Contains(schemas, want) {
					t.Errorf("schemas %v lack %s", schemas, want)
				}
			}
			rows, err = conn.Query(ctx, "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", "gold")
			if err != nil {
				t.Fatal(err)
			}
			tables := collect(t, rows)
			if !slices.ContainsFunc(tables, func(r []string) bool { return r[0] == "daily_revenue" && r[1] == "BASE TABLE" }) {
				t.Errorf("gold tables %v lack daily_revenue as a BASE TABLE", tables)
			}
			rows, err = conn.Query(ctx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", "gold", "daily_revenue")
			if err != nil {
				t.Fatal(err)
			}
			if cols := collect(t, rows); len(cols) != 3 || cols[0][0] != "date" || cols[1][0] != "revenue" || cols[2][0] != "orders" {
				t.Errorf("gold.daily_revenue columns: %v", cols)
			}
			for _, q := range dashboardQueries {
				rows, err := conn.Query(ctx, q.sql, q.args...)
				if err != nil {
					t.Fatalf("%s: %v", q.name, err)
				}
				got, cols := collectCols(t, rows)
				want := cliRows(t, q.literal, cols)
				if len(want) == 0 {
					t.Fatalf("%s: the CLI found no rows: the fixture is too small", q.name)
				}
				if !sameRows(got, want) {
					t.Errorf("%s:\n got %v\nwant %v (CLI)", q.name, got, want)
				}
			}
		})
	}
}

// TestPgxTypes checks every wire type, as values and as parameters, in
// binary (extended) and text (simple protocol) formats alike.
func TestPgxTypes(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	ts := time.Date(2024, 3, 4, 5, 6, 7, 123456000, time.UTC)
	sql := `SELECT CAST(1 AS SMALLINT) AS i2, CAST(2 AS INTEGER) AS i4, CAST(3 AS BIGINT) AS i8, CAST(1.5 AS DOUBLE) AS f8,
		CAST('12345678901234.56' AS DECIMAL(18,2)) AS num, 'héllo' AS txt, true AS b, DATE '2024-03-04' AS d,
		TIMESTAMPTZ '2024-03-04 05:06:07.123456+00' AS tstz, '\xAB\x00'::BLOB AS bin,
		{'a': 1, 'b': [1, 2]} AS nested, CAST(NULL AS INTEGER) AS nul,
		CAST($1 AS BIGINT) + 1 AS p8, $2 || '!' AS ptxt, CAST($3 AS DATE) + INTERVAL 1 DAY AS pdate, CAST($4 AS BOOLEAN) AS pbool, CAST($5 AS DOUBLE) * 2 AS pf8`
	args := []any{int64(41), "hi", time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC), true, 1.25}
	var results [][]any
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		conn := connect(t, srv.url("u", "", ""), mode)
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if !rows.Next() {
			t.Fatalf("%s: no row: %v", mode, rows.Err())
		}
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		fds := rows.FieldDescriptions()
		rows.Close()
		if mode == pgx.QueryExecModeCacheStatement {
			binary := 0
			for _, fd := range fds {
				binary += int(fd.Format)
			}
			if binary == 0 {
				t.Errorf("pgx asked for no binary column: %+v", fds)
			}
		}
		results = append(results, vals)
		t.Logf("%s: %v", mode, vals)
	}
	for i, vals := range results {
		want := map[int]string{0: "1", 1: "2", 2: "3", 3: "1.5", 5: "héllo", 6: "true", 7: "2024-03-04", 11: "<nil>", 12: "42", 13: "hi!", 15: "true", 16: "2.5"}
		for col, w := range want {
			if got := fmt.Sprint(vals[col]); col == 7 {
				if d, ok := vals[col].(time.Time); !ok || d.Format("2006-01-02") != w {
					t.Errorf("result %d column %d: %v, want %s", i, col, vals[col], w)
				}
			} else if got != w {
				t.Errorf("result %d column %d: %q, want %s", i, col, got, w)
			}
		}
		if tstz, ok := vals[8].(time.Time); !ok || !tstz.Equal(ts) {
			t.Errorf("result %d timestamptz: %v, want %v", i, vals[8], ts)
		}
		if b, ok := vals[9].([]byte); !ok || !bytes.Equal(b, []byte{0xAB, 0}) {
			t.Errorf("result %d bytea: %#v", i, vals[9])
		}
		if m, ok := vals[10].(map[string]any); !ok || fmt.Sprint(m["a"]) != "1" || fmt.Sprint(m["b"]) != "[1 2]" {
			t.Errorf("result %d json: %#v", i, vals[10])
		}
		if d, ok := vals[14].(time.Time); !ok || d.Format("2006-01-02") != "2024-02-01" {
			t.Errorf("result %d date parameter + 1 day: %v", i, vals[14])
		}
		if n := fmt.Sprint(vals[4]); !strings.Contains(n, "1234567890123456") {
			t.Errorf("result %d numeric: %v", i, vals[4])
		}
	}
}

// TestRefusals sends writes and hostile statements: each gets its
// SQLSTATE, and the connection keeps answering.
func TestRefusals(t *testing.T) {
	srv := startServe(t, "--query-max-rows", "1000")
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "secret.csv")
	os.WriteFile(outside, []byte("a\nsecret\n"), 0o644)
	cases := []struct{ sql, code string }{
		{"INSERT INTO gold.daily_revenue VALUES (DATE '2020-01-01', 1, 1)", "42501"},
		{"CREATE TABLE gold.x AS SELECT 1", "42501"},
		{"DROP VIEW gold.daily_revenue", "42501"},
		{"COPY (SELECT 1) TO '" + filepath.Join(t.TempDir(), "out.csv") + "'", "42501"},
		{"ATTACH '" + filepath.Join(t.TempDir(), "x.db") + "' AS x", "42501"},
		{"SELECT 1; DROP VIEW gold.daily_revenue", "42501"},
		{"SELECT * FROM read_csv('" + outside + "')", "42501"},
		{"SELECT * FROM delta_scan('" + t.TempDir() + "')", "42501"},
		{"INSTALL httpfs", "42501"},
		{"SELEC 1", "42601"},
		{"SELECT * FROM gold.no_such_table", "42P01"},
		{"SELECT * FROM range(5000)", "53400"},
		{"BEGIN READ WRITE", "25006"},
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		conn := connect(t, srv.url("u", "", ""), mode)
		for _, c := range cases {
			_, err := conn.Exec(ctx, c.sql)
			if got := sqlstate(err); got != c.code {
				t.Errorf("%s: %q: SQLSTATE %q (%v), want %s", mode, c.sql, got, err, c.code)
			}
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM gold.daily_revenue").Scan(&n); err != nil || n == 0 {
				t.Fatalf("%s: after %q the connection answers %d, %v", mode, c.sql, n, err)
			}
		}
		// SET of an engine setting stays a session setting of the
		// server: the engine's own stays locked and unchanged.
		if _, err := conn.Exec(ctx, "SET memory_limit = '100GB'"); err != nil {
			t.Fatal(err)
		}
		var lim string
		if err := conn.QueryRow(ctx, "SELECT current_setting('memory_limit')").Scan(&lim); err != nil || strings.Contains(lim, "100") {
			t.Errorf("engine memory_limit after SET: %q, %v", lim, err)
		}
	}
}

// TestSessionSettings answers what drivers SET and SHOW without the
// engine, and BEGIN/COMMIT/ROLLBACK as no-ops of a read-only lake.
func TestSessionSettings(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	conn := connect(t, srv.url("u", "", ""), pgx.QueryExecModeSimpleProtocol)
	for _, s := range []string{"SET extra_float_digits = 3", "SET DateStyle TO 'ISO'", "SET application_name = 'bi tool'", "SET search_path = gold, public", "SET TIME ZONE 'UTC'", "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED", "BEGIN", "COMMIT", "ROLLBACK", "DISCARD ALL"} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for q, want := range map[string]string{
		"SHOW extra_float_digits": "3", "SHOW application_name": "bi tool", "SHOW search_path": "gold, public",
		"SHOW TRANSACTION ISOLATION LEVEL": "read committed", "SHOW server_version": "16.0", "SHOW standard_conforming_strings": "on",
		"SELECT current_database()": "ecommerce",
	} {
		var got string
		if err := conn.QueryRow(ctx, q).Scan(&got); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", q, got, err, want)
		}
	}
	if got := conn.PgConn().ParameterStatus("application_name"); got != "bi tool" {
		t.Errorf("ParameterStatus application_name after SET: %q", got)
	}
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil || !strings.HasPrefix(v, "PostgreSQL 16.0") {
		t.Errorf("version(): %q, %v", v, err)
	}
	// A failed statement fails its transaction block, as in Postgres,
	// until ROLLBACK (or ROLLBACK TO SAVEPOINT).
	steps := []struct{ sql, code string }{
		{"BEGIN", ""}, {"SAVEPOINT s1", ""}, {"SELECT * FROM gold.nope", "42P01"}, {"SELECT 1", "25P02"},
		{"ROLLBACK TO SAVEPOINT s1", ""}, {"SELECT 1", ""}, {"SELEC 1", "42601"}, {"SELECT 1", "25P02"},
		{"COMMIT", ""}, {"SELECT 1", ""},
	}
	for _, s := range steps {
		_, err := conn.Exec(ctx, s.sql)
		if got := sqlstate(err); got != s.code || (s.code == "" && err != nil) {
			t.Errorf("%s: %v, want SQLSTATE %q", s.sql, err, s.code)
		}
	}
	if st := conn.PgConn().TxStatus(); st != 'I' {
		t.Errorf("after COMMIT of a failed transaction: status %c", st)
	}
}

// TestCancelAndLimits: a cancel request stops a running statement
// (57014), the time limit stops another (57014), and one connection over
// the limit is refused (53300) while the others keep working.
func TestCancelAndLimits(t *testing.T) {
	srv := startServe(t, "--query-timeout", "20s", "--pg-max-conns", "3")
	ctx := context.Background()
	conn := connect(t, srv.url("u", "", "sslmode=disable"))
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, "SELECT count(*) FROM range(1000000000000) a")
		done <- err
	}()
	var err error
	for loop := true; loop; {
		select {
		case err = <-done:
			loop = false
		case <-time.After(100 * time.Millisecond): // pacing of the retries, not an assertion
			if cerr := conn.PgConn().CancelRequest(ctx); cerr != nil {
				t.Fatal(cerr)
			}
		}
	}
	if sqlstate(err) != "57014" || !strings.Contains(err.Error(), "user request") {
		t.Errorf("cancelled statement: %v, want SQLSTATE 57014 (user request)", err)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		t.Fatalf("the connection after a cancel: %v", err)
	}
	connect(t, srv.url("u", "", "sslmode=disable"))
	third := connect(t, srv.url("u", "", "sslmode=disable")) // with conn: the limit of 3
	if _, err := pgx.Connect(ctx, srv.url("u", "", "sslmode=disable")); sqlstate(err) != "53300" {
		t.Errorf("a connection over the limit: %v, want SQLSTATE 53300", err)
	}
	if err := third.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		t.Errorf("a connection within the limit: %v", err)
	}

	slow := startServe(t, "--query-timeout", "1s")
	c2 := connect(t, slow.url("u", "", "sslmode=disable"))
	_, err = c2.Exec(ctx, "SELECT count(*) FROM range(1000000000000) a")
	if sqlstate(err) != "57014" || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("statement over the time limit: %v, want SQLSTATE 57014 (statement timeout)", err)
	}
}

// TestSnapshots: inside BEGIN … COMMIT every query sees the snapshot of
// the first; a commit to the lake is visible to the next query after.
func TestSnapshots(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	conn := connect(t, srv.url("u", "", ""))
	count := func() int {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM medallion.runs").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if count() != before {
		t.Fatal("medallion.runs moved without a run")
	}
	// The same orders land again under a new file name: a run commits them and logs in medallion.runs.
	month := filepath.Join(projectDir, "landing", "orders", "order_year=2017", "order_month=3")
	b, err := os.ReadFile(filepath.Join(month, "olist_orders_dataset.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(month, "olist_orders_dataset_again.csv"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cli(t, "run", "-C", projectDir)
	if got := count(); got != before {
		t.Errorf("inside a transaction the snapshot moved: %d rows, then %d", before, got)
	}
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if got := count(); got <= before {
		t.Errorf("after COMMIT the new commit is not visible: %d rows, %d before", got, before)
	}
}

// need returns the path of a client program, skipping the test when it
// is missing (failing under CI=true, where test-deps installs it).
func need(t *testing.T, prog, install string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		msg := fmt.Sprintf("%s is not installed (%s)", prog, install)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// psql runs psql with args against srv and returns its output.
func psql(t *testing.T, srv *server, env []string, args ...string) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(srv.pgAddr)
	cmd := exec.Command(need(t, "psql", "apt-get install -y postgresql-client; make test-deps"),
		append([]string{"-X", "-h", host, "-p", port, "-U", "analyst", "-d", "shop", "-v", "ON_ERROR_STOP=1"}, args...)...)
	cmd.Env = append(append(os.Environ(), "PGCONNECT_TIMEOUT=30"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPsql lists and describes tables with psql's own catalog queries
// (\dn, \dt, \d) and runs a query whose answer must be the CLI's.
func TestPsql(t *testing.T) {
	srv := startServe(t)
	out, err := psql(t, srv, nil, "-A", "-t", "-c", `\dn`, "-c", `\dt gold.*`)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	for _, want := range []string{"bronze|", "silver|", "gold|", "medallion|", "gold|daily_revenue|table|", "gold|revenue_by_state|table|"} {
		if !strings.Contains(out, want) {
			t.Errorf("psql \\dn and \\dt gold.* lack %q:\n%s", want, out)
		}
	}
	out, err = psql(t, srv, nil, "-c", `\dt`)
	if err != nil || !strings.Contains(out, "silver    | orders") {
		t.Errorf("psql \\dt: %v\n%s", err, out)
	}
	for cmd, want := range map[string]string{
		`\l`: "ecommerce | medallion | UTF8", `\dv silver.*`: "silver | geo_revenue | view",
		`\dt+ gold.*`: "gold   | daily_revenue", `\d+ gold.daily_revenue`: "revenue | double precision",
	} {
		out, err := psql(t, srv, nil, "-c", cmd)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("psql %s: %v, want %q in\n%s", cmd, err, want, out)
		}
	}
	out, err = psql(t, srv, nil, "-c", `\d gold.daily_revenue`)
	if err != nil {
		t.Fatalf("psql \\d: %v\n%s", err, out)
	}
	for _, want := range []string{`Table "gold.daily_revenue"`, "date", "revenue", "orders"} {
		if !strings.Contains(out, want) {
			t.Errorf("psql \\d gold.daily_revenue lacks %q:\n%s", want, out)
		}
	}
	sql := "SELECT date, revenue, orders FROM gold.daily_revenue WHERE orders >= 3 ORDER BY date"
	out, err = psql(t, srv, nil, "-A", "-F", ",", "-c", sql)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got [][]string
	for _, l := range lines[1 : len(lines)-1] { // header and "(n rows)"
		got = append(got, strings.Split(l, ","))
	}
	want := cliRows(t, sql, []string{"date", "revenue", "orders"})
	if len(want) == 0 || !sameRows(got, want) {
		t.Errorf("psql answer:\n%v\nCLI answer:\n%v", got, want)
	}
	out, err = psql(t, srv, nil, "-c", "DELETE FROM gold.daily_revenue")
	if err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("psql DELETE: %v\n%s", err, out)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, keyFile
}

// TestTokenAndTLS: with --token the password must be the token (SCRAM:
// a wrong one is refused with 28P01, by pgx and psql alike); with a
// certificate the connection is TLS when the client asks.
func TestTokenAndTLS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	srv := startServe(t, "--token", "s3cret-token", "--pg-tls-cert", cert, "--pg-tls-key", key)
	ctx := context.Background()
	if _, err := pgx.Connect(ctx, srv.url("u", "wrong", "")); sqlstate(err) != "28P01" {
		t.Errorf("wrong password: %v, want SQLSTATE 28P01", err)
	}
	if _, err := pgx.Connect(ctx, srv.url("u", "", "")); err == nil {
		t.Error("no password: connected")
	}
	conn := connect(t, srv.url("u", "s3cret-token", "sslmode=require"))
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("sslmode=require: connection is %T, not TLS", conn.PgConn().Conn())
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM gold.daily_revenue WHERE orders >= $1", 1).Scan(&n); err != nil || n == 0 {
		t.Errorf("query over TLS with the token: %d, %v", n, err)
	}
	plain := connect(t, srv.url("u", "s3cret-token", "sslmode=disable"))
	if _, ok := plain.PgConn().Conn().(*tls.Conn); ok {
		t.Error("sslmode=disable: connection is TLS")
	}
	if out, err := psql(t, srv, []string{"PGPASSWORD=s3cret-token", "PGSSLMODE=require"}, "-A", "-t", "-c", "SELECT 40 + 2"); err != nil || strings.TrimSpace(out) != "42" {
		t.Errorf("psql with the token over TLS: %v\n%s", err, out)
	}
	if out, err := psql(t, srv, []string{"PGPASSWORD=nope"}, "-c", "SELECT 1"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("psql with a wrong password: %v\n%s", err, out)
	}
}

// python returns the repository's .venv Python (make test-deps) or
// python3 from PATH, when it can import psycopg and sqlalchemy; else the
// test is skipped, and fails under CI=true.
func python(t *testing.T) string {
	t.Helper()
	var candidates []string
	if root, err := filepath.Abs(filepath.Join("..", "..")); err == nil {
		candidates = append(candidates, filepath.Join(root, ".venv", "bin", "python"))
	}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	var tried []string
	for _, py := range candidates {
		out, err := exec.Command(py, "-c", "import psycopg, sqlalchemy; print(psycopg.__version__, sqlalchemy.__version__)").CombinedOutput()
		if err == nil {
			t.Logf("python: %s (psycopg, sqlalchemy %s)", py, bytes.TrimSpace(out))
			return py
		}
		tried = append(tried, fmt.Sprintf("%s: %v", py, err))
	}
	msg := fmt.Sprintf("no Python with psycopg and sqlalchemy (tried %v); run make test-deps (scripts/requirements-test.txt into .venv)", tried)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestPythonClients runs testdata/clients.py: psycopg (server-side
// parameters, text and binary results) and SQLAlchemy's inspector list
// schemas, tables and columns and query gold; the answers must be the
// CLI's, and writes must be refused with 42501.
func TestPythonClients(t *testing.T) {
	py := python(t)
	srv := startServe(t)
	host, port, _ := net.SplitHostPort(srv.pgAddr)
	cmd := exec.Command(py, filepath.Join("testdata", "clients.py"), fmt.Sprintf("postgresql://analyst@%s:%s/shop", host, port))
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("clients.py: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("clients.py stderr:\n%s", stderr.String())
	}
	var got struct {
		PsycopgSchemas, PsycopgTables, PsycopgColumns, SASchemas, SATables, SAViews []string
		PsycopgRows, PsycopgBinaryRows, SARows                                      [][]any
		PsycopgRefused                                                              map[string]*string
		SAColumns                                                                   [][]any
	}
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for key, dst := range map[string]any{
		"psycopg_schemas": &got.PsycopgSchemas, "psycopg_tables": &got.PsycopgTables, "psycopg_columns": &got.PsycopgColumns,
		"sa_schemas": &got.SASchemas, "sa_tables": &got.SATables, "sa_views": &got.SAViews, "sa_columns": &got.SAColumns,
		"psycopg_rows": &got.PsycopgRows, "psycopg_binary_rows": &got.PsycopgBinaryRows, "sa_rows": &got.SARows, "psycopg_refused": &got.PsycopgRefused,
	} {
		d := json.NewDecoder(bytes.NewReader(raw[key]))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	for _, s := range []string{"bronze", "silver", "gold", "medallion"} {
		if !slices.Contains(got.PsycopgSchemas, s) || !slices.Contains(got.SASchemas, s) {
			t.Errorf("schema %s missing: psycopg %v, SQLAlchemy %v", s, got.PsycopgSchemas, got.SASchemas)
		}
	}
	if !slices.Contains(got.PsycopgTables, "daily_revenue") || !slices.Contains(got.SATables, "daily_revenue") {
		t.Errorf("gold.daily_revenue missing: psycopg %v, SQLAlchemy %v", got.PsycopgTables, got.SATables)
	}
	if slices.Contains(got.SATables, "geo_revenue") || !slices.Contains(got.SAViews, "geo_revenue") {
		t.Errorf("the project's view silver.geo_revenue should be a view: tables %v, views %v", got.SATables, got.SAViews)
	}
	if fmt.Sprint(got.PsycopgColumns) != "[date revenue orders]" {
		t.Errorf("psycopg columns of gold.daily_revenue: %v", got.PsycopgColumns)
	}
	if fmt.Sprint(got.SAColumns) != "[[date DATE true] [revenue DOUBLE PRECISION true] [orders BIGINT true]]" {
		t.Errorf("SQLAlchemy columns of gold.daily_revenue: %v", got.SAColumns)
	}
	want := cliRows(t, "SELECT date, revenue, orders FROM gold.daily_revenue WHERE date >= DATE '2017-06-01' AND orders >= 2 ORDER BY date", []string{"date", "revenue", "orders"})
	for name, rows := range map[string][][]any{"psycopg": got.PsycopgRows, "psycopg binary": got.PsycopgBinaryRows, "SQLAlchemy": got.SARows} {
		var g [][]string
		for _, r := range rows {
			var cells []string
			for _, v := range r {
				cells = append(cells, fmt.Sprint(v))
			}
			g = append(g, cells)
		}
		if len(want) == 0 || !sameRows(g, want) {
			t.Errorf("%s rows:\n%v\nCLI:\n%v", name, g, want)
		}
	}
	for sql, code := range got.PsycopgRefused {
		if code == nil || *code != "42501" {
			t.Errorf("psycopg %q: SQLSTATE %v, want 42501", sql, code)
		}
	}
	if len(got.PsycopgRefused) != 3 {
		t.Errorf("psycopg refusals: %v", got.PsycopgRefused)
	}
}

// TestDialect sends what Postgres clients write where the engine's
// dialect differs; each translation must give Postgres' answer, and
// strings and comments must pass untouched.
func TestDialect(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	cases := []struct {
		sql  string
		args []any
		want string
	}{
		{`SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'gold' AND c.relname OPERATOR(pg_catalog.~) '^daily_rev' COLLATE pg_catalog.default`, nil, "daily_revenue"},
		{`SELECT 'gold.daily_revenue'::regclass = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'gold' AND c.relname = 'daily_revenue')`, nil, "true"},
		{`SELECT c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c WHERE c.relname = 'daily_revenue'`, nil, "daily_revenue"},
		{`SELECT relkind FROM pg_catalog.pg_class WHERE relname = 'daily_revenue'`, nil, "r"},
		{`SELECT pg_class.relkind FROM pg_class WHERE pg_class.relname = 'geo_revenue'`, nil, "v"},
		{`SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class WHERE pg_catalog.pg_class.relname = 'daily_revenue'`, nil, "daily_revenue"},
		{`SELECT table_type FROM information_schema.tables WHERE table_schema = 'gold' AND table_name = 'daily_revenue'`, nil, "BASE TABLE"},
		{`SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = 'daily_revenue' AND a.attname = 'revenue'`, nil, "double precision"},
		{`SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c WHERE c.relname = 'daily_revenue'`, nil, "medallion"},
		{`SELECT count(*) FROM pg_catalog.pg_policy pol WHERE pol.polroles = '{0}'`, nil, "0"},
		{`SELECT string_agg(CAST(s AS VARCHAR), ',') FROM pg_catalog.generate_series(1, 3) s`, nil, "1,2,3"},
		{`SELECT version() LIKE 'PostgreSQL 16%'`, nil, "true"},
		{`SELECT current_database()`, nil, "ecommerce"},
		{`SELECT 'it''s pg_class; version() $1' AS s`, nil, "it's pg_class; version() $1"},
		{"SELECT 7 -- $1; DROP TABLE x\n", nil, "7"},
		{`SELECT $1::int + 1`, []any{41}, "42"},
		{`SELECT CAST($1 AS DATE) + 1`, []any{time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC)}, "2024-02-29"},
		{`SELECT $1 || $2`, []any{"a'b", "$1"}, "a'b$1"},
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		conn := connect(t, srv.url("u", "", ""), mode)
		for _, c := range cases {
			var v any
			if err := conn.QueryRow(ctx, c.sql, c.args...).Scan(&v); err != nil {
				t.Errorf("%s: %s: %v", mode, c.sql, err)
				continue
			}
			if got := cell(v); got != c.want {
				t.Errorf("%s: %s: %q, want %q", mode, c.sql, got, c.want)
			}
		}
	}
}

// TestJDBC runs testdata/JdbcClient.java with the PostgreSQL JDBC driver
// (.cache/pgjdbc, fetched by make test-deps from scripts/pgjdbc/pom.xml):
// DatabaseMetaData lists schemas, tables and columns, a PreparedStatement
// (past the driver's prepareThreshold: named statements, binary
// transfer) answers as the CLI, writes are refused with 42501.
func TestJDBC(t *testing.T) {
	java := need(t, "java", "apt-get install -y openjdk-17-jdk-headless")
	jars, _ := filepath.Glob(filepath.Join("..", "..", ".cache", "pgjdbc", "postgresql-*.jar"))
	if len(jars) == 0 {
		msg := "the PostgreSQL JDBC driver is not in .cache/pgjdbc (make test-deps)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	srv := startServe(t)
	cmd := exec.Command(java, "-cp", jars[0], filepath.Join("testdata", "JdbcClient.java"), "jdbc:postgresql://"+srv.pgAddr+"/shop")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("JdbcClient: %v\n%s\n%s", err, stderr.String(), stdout.String())
	}
	got := map[string][]string{}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		f := strings.Split(line, "\t")
		switch f[0] {
		case "row":
			rows = append(rows, f[1:])
		case "refused":
			got["refused"] = append(got["refused"], f[1]+"="+f[2])
		default:
			got[f[0]] = strings.Split(f[1], ",")
		}
	}
	for _, s := range []string{"bronze", "silver", "gold", "medallion"} {
		if !slices.Contains(got["schemas"], s) {
			t.Errorf("JDBC schemas %v lack %s", got["schemas"], s)
		}
	}
	if !slices.Contains(got["tables"], "daily_revenue") {
		t.Errorf("JDBC gold tables %v lack daily_revenue", got["tables"])
	}
	if fmt.Sprint(got["columns"]) != "[date:date revenue:float8 orders:int8]" {
		t.Errorf("JDBC columns of gold.daily_revenue: %v", got["columns"])
	}
	want := cliRows(t, "SELECT date, revenue, orders FROM gold.daily_revenue WHERE date >= DATE '2017-06-01' AND orders >= 2 ORDER BY date", []string{"date", "revenue", "orders"})
	if len(want) == 0 || !sameRows(rows, want) {
		t.Errorf("JDBC rows:\n%v\nCLI:\n%v", rows, want)
	}
	if fmt.Sprint(got["refused"]) != "[DELETE FROM gold.daily_revenue=42501 CREATE TABLE gold.t AS SELECT 1=42501]" {
		t.Errorf("JDBC writes: %v", got["refused"])
	}
}

// TestHostileWire sends broken and hostile protocol traffic: garbage, a
// lying length, a message over the size bound, messages out of order,
// a Bind with the wrong number of parameters. Each gets an error or a
// closed connection, and the server keeps serving others.
func TestHostileWire(t *testing.T) {
	srv := startServe(t)
	ctx := context.Background()
	alive := func(what string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, srv.url("u", "", ""))
		if err != nil {
			t.Fatalf("after %s: connect: %v\n%s", what, err, srv.stderr.String())
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM gold.daily_revenue").Scan(&n); err != nil || n == 0 {
			t.Fatalf("after %s: %d, %v", what, n, err)
		}
	}
	raw := func(what string, payload []byte) {
		t.Helper()
		c, err := net.Dial("tcp", srv.pgAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(payload)
		c.(*net.TCPConn).CloseWrite()
		buf := make([]byte, 1<<16)
		for { // read until the server closes
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		c.Close()
		alive(what)
	}
	startup := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "u", "database": "shop"}})
	sb, err := startup.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	raw("garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	raw("a lying startup length", []byte{0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0})
	raw("a query longer than the bound", append(append([]byte{}, sb...), 'Q', 0x7f, 0xff, 0xff, 0xff))
	raw("an unknown message type", append(append([]byte{}, sb...), 'z', 0, 0, 0, 4))

	// Messages out of order and a Bind that lies about its parameters,
	// through pgx's frontend codec.
	c, err := net.Dial("tcp", srv.pgAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fe := pgproto3.NewFrontend(c, c)
	fe.Send(startup)
	fe.Flush()
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	expectError := func(code string, msgs ...pgproto3.FrontendMessage) {
		t.Helper()
		for _, m := range msgs {
			fe.Send(m)
		}
		fe.Send(&pgproto3.Sync{})
		fe.Flush()
		got := ""
		for {
			m, err := fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := m.(*pgproto3.ErrorResponse); ok && got == "" {
				got = e.Code
			}
			if _, ok := m.(*pgproto3.ReadyForQuery); ok {
				break
			}
		}
		if got != code {
			t.Errorf("SQLSTATE %q, want %s", got, code)
		}
	}
	expectError("34000", &pgproto3.Execute{Portal: "nope"})
	expectError("26000", &pgproto3.Bind{PreparedStatement: "nope"})
	expectError("08P01", &pgproto3.Parse{Name: "s", Query: "SELECT $1 || 'x'"}, &pgproto3.Bind{PreparedStatement: "s", Parameters: [][]byte{[]byte("a"), []byte("b")}})
	expectError("22P03", &pgproto3.Parse{Name: "t", Query: "SELECT CAST($1 AS BIGINT)"}, &pgproto3.Bind{PreparedStatement: "t", ParameterFormatCodes: []int16{1}, Parameters: [][]byte{{1, 2, 3}}})
	expectError("42501", &pgproto3.Parse{Query: "DROP VIEW gold.daily_revenue"})
	alive("messages out of order")
}

// TestServeRefusesBadConfig: a non-loopback --pg-addr without a token,
// a serve.pg_addr that is not host:port and half a TLS pair stop serve
// with an error naming the flag or key.
func TestServeRefusesBadConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	cli(t, "init", dir)
	f, err := os.OpenFile(filepath.Join(dir, "medallion.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("serve:\n  pg_addr: \"5433\"\n")
	f.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-C", projectDir, "--pg-addr", "0.0.0.0:" + strings.Split(freeAddr(t), ":")[1]}, "is not a loopback address: set --token"},
		{[]string{"-C", dir}, `serve.pg_addr: "5433" is not host:port`},
		{[]string{"-C", projectDir, "--pg-addr", freeAddr(t), "--pg-tls-cert", "x.pem"}, "TLS needs both a certificate"},
	} {
		cmd := exec.Command(medallionBin, append([]string{"serve", "--no-stream", "--addr", freeAddr(t)}, c.args...)...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("serve %v: %v\n%s\nwant an error containing %q", c.args, err, out, c.want)
		}
	}
}
