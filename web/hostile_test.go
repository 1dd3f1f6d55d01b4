package web_test

// Hostile requests against a real `medallion serve`: the built binary, run
// as its own process, answering over TCP. Nothing any request sends may
// read a canary file outside the lake, write a file, change a setting of
// the engine or damage the lake; ordinary queries keep their answers.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// HostileBinDir is where the test binary is built; web_test.go's TestMain
// removes it.
func HostileBinDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("medallion-web-hostile-%d", os.Getpid()))
}

// medallionBin builds cmd/medallion once per test process.
func medallionBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir := HostileBinDir()
		if binErr = os.MkdirAll(dir, 0o755); binErr != nil {
			return
		}
		binPath = filepath.Join(dir, "medallion")
		goBin := "go"
		if root := runtime.GOROOT(); root != "" {
			goBin = filepath.Join(root, "bin", "go")
		}
		cmd := exec.Command(goBin, "build", "-o", binPath, "./cmd/medallion")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/medallion: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runBin runs the binary to completion.
func runBin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(medallionBin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("medallion %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// copyFixture copies testdata/hostile into a fresh directory; edit, when
// set, changes files (path → content) first.
func copyFixture(t *testing.T, dst string, edit map[string]string) string {
	t.Helper()
	src := filepath.Join("testdata", "hostile")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel, c := range edit {
		p := filepath.Join(dst, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// serveProc is a `medallion serve` process.
type serveProc struct {
	url, addr string
	stderr    *bytes.Buffer
}

// startServe starts `medallion serve --no-stream` over dir and waits until
// /healthz answers.
func startServe(t *testing.T, dir string, args ...string) *serveProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(medallionBin(t), append([]string{"serve", "-C", dir, "--no-stream", "--addr", addr}, args...)...)
	cmd.Dir = dir
	var errb bytes.Buffer
	cmd.Stderr, cmd.Stdout = &errb, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	})
	p := &serveProc{url: "http://" + addr, addr: addr, stderr: &errb}
	for {
		select {
		case err := <-exited:
			t.Fatalf("serve exited: %v\n%s", err, errb.String())
		default:
		}
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// do sends one request; hdr are header name/value pairs ("Host" sets the
// Host header).
func (p *serveProc) do(t *testing.T, method, path, body string, hdr ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// query posts {"sql": sql} as JSON.
func (p *serveProc) query(t *testing.T, sql string, hdr ...string) (int, string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"sql": sql})
	return p.do(t, "POST", "/api/query", string(b), append([]string{"Content-Type", "application/json"}, hdr...)...)
}

type fileState struct {
	size int64
	mod  time.Time
	mode fs.FileMode
}

// tree lists every file and directory under the roots.
func tree(t *testing.T, roots ...string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	for _, r := range roots {
		err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out[p] = fileState{size: fi.Size(), mod: fi.ModTime(), mode: fi.Mode()}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameTree(t *testing.T, what string, before, after map[string]fileState) {
	t.Helper()
	for p, a := range after {
		b, ok := before[p]
		if !ok {
			t.Errorf("%s: %s appeared", what, p)
		} else if b.mode.IsRegular() && b != a {
			t.Errorf("%s: %s changed (%+v → %+v)", what, p, b, a)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s: %s vanished", what, p)
		}
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// hostileEnv is a served lake with canaries around it.
type hostileEnv struct {
	dir, lake, out, secret string
	canary                 string // content of every canary file
	txt, csv, json         string // canary files outside the lake
	inProject              string // a canary in the project, outside the lake
	otherLake              string // a Delta table of another project, holding the canary
	otherFile              string // one of its Parquet files
}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	root := t.TempDir()
	e := &hostileEnv{canary: "CANARY" + randomHex(t)}
	e.dir = copyFixture(t, filepath.Join(root, "proj"), nil)
	e.lake = filepath.Join(e.dir, "lake")
	e.out = filepath.Join(root, "out")
	e.secret = filepath.Join(root, "secret")
	for _, d := range []string{e.out, e.secret} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.txt = filepath.Join(e.secret, "canary.txt")
	e.csv = filepath.Join(e.secret, "canary.csv")
	e.json = filepath.Join(e.secret, "canary.json")
	e.inProject = filepath.Join(e.dir, "canary.txt")
	for p, c := range map[string]string{
		e.txt: e.canary + "\n", e.csv: "secret\n" + e.canary + "\n", e.json: `{"secret": "` + e.canary + `"}` + "\n", e.inProject: e.canary + "\n",
	} {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := copyFixture(t, filepath.Join(root, "other"), map[string]string{"landing/items/a.csv": "sku,qty,price\n" + e.canary + ",1,1\n"})
	for _, d := range []string{e.dir, other} {
		if code, _, errb := runBin(t, "run", "-C", d); code != 0 {
			t.Fatalf("run %s: %s", d, errb)
		}
	}
	e.otherLake = filepath.Join(other, "lake", "silver", "items")
	parts, _ := filepath.Glob(filepath.Join(e.otherLake, "*.parquet"))
	if len(parts) == 0 {
		t.Fatalf("no Parquet file in %s", e.otherLake)
	}
	e.otherFile = parts[0]
	return e
}

// pathForms spells the string literal p every way DuckDB reads one.
func pathForms(p string) []string {
	dir, base := filepath.Dir(p), filepath.Base(p)
	return []string{
		"'" + p + "'",
		"E'" + strings.ReplaceAll(p, "/", `\x2f`) + "'",
		"e'" + strings.ReplaceAll(p, "/", `\/`) + "'",
		"$$" + p + "$$",
		"$a1$" + p + "$a1$",
		"$é$" + p + "$é$",
		"$_9$" + p + "$_9$",
		"'" + dir + "' || '/" + base + "'",
		"concat('" + dir + "', '/', '" + base + "')",
		"replace('" + strings.ReplaceAll(p, "/", "#") + "', '#', '/')",
		"chr(47) || '" + strings.TrimPrefix(p, "/") + "'",
		"(SELECT '" + p + "')",
		"(SELECT max(x) FROM (VALUES ('" + p + "')) t(x))",
		"U&'" + strings.ReplaceAll(p, "/", `\002F`) + "'",
		"'" + dir + "/' '" + base + "'",
	}
}

// hostileSQL is every statement the API must refuse.
func (e *hostileEnv) hostileSQL() []string {
	var out []string
	add := func(s ...string) { out = append(out, s...) }
	for _, p := range []string{e.txt, e.inProject} {
		for _, lit := range pathForms(p) {
			add("SELECT content FROM read_text(" + lit + ")")
		}
	}
	fileFuncs := map[string]string{
		"read_text": e.txt, "read_blob": e.txt, "read_csv": e.csv, "read_csv_auto": e.csv,
		"read_json": e.json, "read_json_auto": e.json, "read_json_objects": e.json, "read_json_objects_auto": e.json,
		"read_ndjson": e.json, "read_ndjson_auto": e.json, "read_ndjson_objects": e.json,
		"read_parquet": e.otherFile, "parquet_scan": e.otherFile, "parquet_metadata": e.otherFile, "parquet_schema": e.otherFile,
		"parquet_file_metadata": e.otherFile, "parquet_kv_metadata": e.otherFile, "parquet_bloom_probe": e.otherFile,
		"glob": e.secret + "/*", "sniff_csv": e.csv, "read_xlsx": e.csv, "sqlite_scan": e.txt, "iceberg_scan": e.otherLake,
		"delta_scan": e.otherLake, "read_duckdb": e.txt, "read_csv_rejects": e.csv,
	}
	for f, p := range fileFuncs {
		args := "'" + p + "'"
		switch f {
		case "parquet_bloom_probe":
			args += ", 'sku', 'x'"
		case "sqlite_scan":
			args += ", 't'"
		}
		add("SELECT * FROM "+f+"("+args+")", "FROM "+f+"("+args+")", "SELECT * FROM "+f+"(["+args+"])")
		add("SELECT * FROM " + f + "(" + strings.ReplaceAll(args, "'"+p+"'", "$q$"+p+"$q$") + ")")
	}
	for _, p := range []string{e.txt, e.csv, e.json, e.otherFile, e.secret + "/*.csv"} {
		add("SELECT * FROM '"+p+"'", `SELECT * FROM "`+p+`"`, "FROM '"+p+"'")
	}
	add(
		"SELECT * FROM delta_scan('"+e.lake+"/../../other/lake/silver/items')",
		"SELECT * FROM delta_scan('"+e.lake+"' || '/../../other/lake/silver/items')",
		"SELECT * FROM delta_scan('file://"+e.otherLake+"')",
		"SELECT * FROM delta_scan('"+e.otherLake+"', version => 0)", // medallion binds version => itself: inside the lake only
		"SELECT * FROM query('SELECT content FROM read_text(''"+e.txt+"'')')",
		"SELECT * FROM query_table('"+e.txt+"')",
		"SELECT content FROM read_text((SELECT '"+e.txt+"'))",
		"SELECT * FROM (VALUES (1)) v(x), LATERAL (SELECT content FROM read_text('"+e.txt+"'))",
		"WITH x AS (SELECT content FROM read_text('"+e.txt+"')) SELECT * FROM x",
		"VALUES ((SELECT content FROM read_text('"+e.txt+"')))",
		"DESCRIBE SELECT * FROM read_csv('"+e.csv+"')",
		"SUMMARIZE SELECT * FROM read_csv('"+e.csv+"')",
		"SHOW SELECT * FROM read_csv('"+e.csv+"')",
		"SELECT getenv('HOME')",
		"SELECT * FROM duckdb_secrets()",
	)
	// Comment terminators and stacked statements.
	copyTo := "COPY (SELECT 'pwned') TO '" + filepath.Join(e.out, "x.csv") + "'"
	for _, end := range []string{"\r", "\n", "\r\n"} {
		add(
			"SELECT 42 AS x --"+end+", content FROM read_text('"+e.txt+"')",
			"SHOW TABLES --"+end+"; "+copyTo,
			"SELECT 1 --"+end+"; SET enable_external_access = true; SELECT content FROM read_text('"+e.txt+"')",
		)
	}
	add(
		"SELECT 42 AS x /* a /* nested */ still a comment */, content FROM read_text('"+e.txt+"')",
		"SELECT 42 AS x /* a /* nested */ */ ; "+copyTo,
		"SELECT content FROM read_text('"+e.txt+"') /* unterminated",
		"SELECT 1 /* unterminated ; "+copyTo,
		"SELECT 1; "+copyTo,
		"SELECT 1;; "+copyTo,
		"SELECT 1\n;\n"+copyTo+";",
		"SELECT '; "+copyTo+"'; "+copyTo,
		"SELECT $$;$$; "+copyTo,
		"SELECT $a$ $$ $a$; "+copyTo,
		copyTo+" --",
		"/* */ "+copyTo,
		"-- hi\r"+copyTo,
	)
	// Statements that are not queries.
	deltaLog := filepath.Join(e.lake, "silver", "items", "_delta_log", "00000000000000000000.json")
	add(
		"SET enable_external_access = true", "SET lock_configuration = false", "SET GLOBAL lock_configuration = false",
		"RESET lock_configuration", "RESET ALL", "SET allowed_directories = ['/']", "SET allowed_paths = ['"+e.txt+"']",
		"SET autoinstall_known_extensions = true", "SET memory_limit = '100GB'", "SET VARIABLE x = 1", "SET threads = 1",
		"ATTACH '"+filepath.Join(e.out, "x.db")+"' AS x", "ATTACH ':memory:' AS m", "DETACH memory", "USE system",
		"INSTALL delta", "INSTALL httpfs FROM 'http://127.0.0.1:9'", "FORCE INSTALL json", "LOAD delta",
		"LOAD '"+filepath.Join(e.out, "evil.duckdb_extension")+"'",
		copyTo, "COPY (SELECT 1) TO 'x.csv'",
		"COPY silver.items TO '"+deltaLog+"' (FORMAT json)",
		"COPY (SELECT 1 AS x) TO '"+filepath.Join(e.lake, "silver", "items", "part-evil.parquet")+"' (FORMAT parquet)",
		"EXPORT DATABASE '"+filepath.Join(e.out, "export")+"'", "IMPORT DATABASE '"+e.out+"'",
		"PRAGMA version", "PRAGMA enable_profiling = 'json'", "PRAGMA profiling_output = '"+filepath.Join(e.out, "p.json")+"'",
		"PRAGMA enable_external_access", "CALL pragma_version()", "CALL checkpoint()", "CALL duckdb_secrets()",
		"CREATE TABLE t AS SELECT 1", "CREATE OR REPLACE VIEW silver.items AS SELECT 1 AS sku", "DROP VIEW silver.items",
		"INSERT INTO silver.items SELECT * FROM silver.items", "DELETE FROM silver.items", "UPDATE silver.items SET qty = 0",
		"ALTER VIEW silver.items RENAME TO x", "CHECKPOINT", "VACUUM", "BEGIN", "PREPARE p AS SELECT 1", "EXECUTE p",
		"CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')", "CREATE MACRO m(x) AS x", "EXPLAIN ANALYZE SELECT 1",
		"PIVOT silver.items ON sku USING sum(qty)",
	)
	return out
}

// TestHostileRequestsAgainstServe: every hostile request is refused, no
// canary content ever comes back, no file appears or changes anywhere
// under the project, the other lake, the canaries or the output
// directory, the engine's sandbox settings hold, and ordinary queries give
// the same answers before and after.
func TestHostileRequestsAgainstServe(t *testing.T) {
	e := newHostileEnv(t)
	srv := startServe(t, e.dir)
	ordinary := "SELECT sku, qty, price FROM silver.items ORDER BY sku"
	code, want := srv.query(t, ordinary)
	if code != 200 || !strings.Contains(want, `["a",1,10]`) {
		t.Fatalf("ordinary query: %d %s", code, want)
	}
	roots := []string{e.dir, filepath.Dir(e.otherLake), e.secret, e.out}
	before := tree(t, roots...)

	for _, sql := range e.hostileSQL() {
		code, body := srv.query(t, sql)
		if strings.Contains(body, e.canary) {
			t.Errorf("%q: the answer holds the canary: %s", sql, body)
		}
		if code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400: %s", sql, code, body)
		}
	}

	// The engine of every request is sandboxed and locked.
	code, body := srv.query(t, "SELECT current_setting('enable_external_access')::VARCHAR AS ext, current_setting('lock_configuration')::VARCHAR AS lock, current_setting('autoload_known_extensions')::VARCHAR AS autoload, current_setting('autoinstall_known_extensions')::VARCHAR AS autoinstall")
	if code != 200 || !strings.Contains(body, `"rows":[["false","true","false","false"]]`) {
		t.Errorf("settings of a query session: %d %s", code, body)
	}
	// Nothing was written, changed or removed; the lake answers the same.
	sameTree(t, "files", before, tree(t, roots...))
	if code, got := srv.query(t, ordinary); code != 200 || got != want {
		t.Errorf("after the hostile requests: %d %s, want %s", code, got, want)
	}
	if code, out, errb := runBin(t, "query", "-C", e.dir, "--format", "csv", "SELECT skus, qty FROM gold.stock"); code != 0 || out != "skus,qty\n3,6\n" {
		t.Errorf("the lake after the hostile requests: exit %d %q %s", code, out, errb)
	}

	// delta_scan inside the lake still works; outside it does not.
	if code, body := srv.query(t, "SELECT count(*) AS n FROM delta_scan('"+filepath.Join(e.lake, "silver", "items")+"')"); code != 200 || !strings.Contains(body, `[[3]]`) {
		t.Errorf("delta_scan inside the lake: %d %s", code, body)
	}
	link := filepath.Join(e.lake, "escape")
	if err := os.Symlink(e.otherLake, link); err != nil {
		t.Fatal(err)
	}
	if code, body := srv.query(t, "SELECT * FROM delta_scan('"+link+"')"); code != 400 || strings.Contains(body, e.canary) || !strings.Contains(body, "inside the project's lake") {
		t.Errorf("delta_scan through a symlink out of the lake: %d %s", code, body)
	}
}

// TestHostileHTTP: foreign Host and Origin headers get 403, bodies not
// declared application/json 415, oversized answers a clear 400 while the
// server keeps serving, and with --token everything but /healthz needs it.
func TestHostileHTTP(t *testing.T) {
	e := newHostileEnv(t)
	srv := startServe(t, e.dir)
	_, port, _ := net.SplitHostPort(srv.addr)
	sql := `{"sql": "SELECT count(*) AS n FROM silver.items"}`
	for _, c := range []struct {
		name string
		want int
		hdr  []string
	}{
		{"json", 200, []string{"Content-Type", "application/json"}},
		{"json with charset", 200, []string{"Content-Type", "application/json; charset=utf-8"}},
		{"text/plain", 415, []string{"Content-Type", "text/plain"}},
		{"form", 415, []string{"Content-Type", "application/x-www-form-urlencoded"}},
		{"multipart", 415, []string{"Content-Type", "multipart/form-data; boundary=x"}},
		{"no content type", 415, nil},
		{"same origin", 200, []string{"Content-Type", "application/json", "Origin", srv.url}},
		{"cross-site origin", 403, []string{"Content-Type", "application/json", "Origin", "http://evil.example"}},
		{"cross-port origin", 403, []string{"Content-Type", "application/json", "Origin", "http://127.0.0.1:1"}},
		{"null origin", 403, []string{"Content-Type", "application/json", "Origin", "null"}},
		{"rebinding host", 403, []string{"Content-Type", "application/json", "Host", "evil.example:" + port}},
		{"foreign host", 403, []string{"Content-Type", "application/json", "Host", "evil.example"}},
		{"localhost", 200, []string{"Content-Type", "application/json", "Host", "localhost:" + port}},
		{"ipv6 loopback", 200, []string{"Content-Type", "application/json", "Host", "[::1]:" + port}},
	} {
		code, body := srv.do(t, "POST", "/api/query", sql, c.hdr...)
		if code != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, code, c.want, body)
		}
	}
	if code, body := srv.do(t, "GET", "/api/tables", "", "Host", "evil.example:"+port); code != 403 {
		t.Errorf("GET with a foreign Host: %d %s", code, body)
	}
	if code, body := srv.do(t, "POST", "/api/jobs/x/run", "{}", "Content-Type", "text/plain"); code != 415 {
		t.Errorf("job trigger as text/plain: %d %s", code, body)
	}

	// The answer of repeat('x', 1000000) × 300 rows is 286 MB of JSON: the
	// default 32 MiB cap refuses it and the server keeps serving.
	code, body := srv.query(t, "SELECT repeat('x', 1000000) FROM range(300)")
	if code != 400 || len(body) > 4096 || !strings.Contains(body, "32 MiB") {
		t.Errorf("oversized answer: %d (%d bytes) %.300s", code, len(body), body)
	}
	if code, body := srv.query(t, "SELECT count(*) AS n FROM silver.items"); code != 200 || !strings.Contains(body, "[[3]]") {
		t.Errorf("after the oversized answer: %d %s", code, body)
	}

	// Token, allowed host and byte limit from flags.
	tok := startServe(t, e.dir, "--token", "s3cret", "--allowed-host", "medallion.test", "--query-max-bytes", "64KB", "--query-memory-limit", "20MB")
	auth := []string{"Authorization", "Bearer s3cret"}
	for _, c := range []struct {
		method, path string
		hdr          []string
		want         int
	}{
		{"GET", "/healthz", nil, 200},
		{"GET", "/readyz", nil, 401},
		{"GET", "/", nil, 401},
		{"GET", "/assets/app.js", nil, 401},
		{"GET", "/api/tables", nil, 401},
		{"GET", "/metrics", nil, 401},
		{"GET", "/api/events", nil, 401},
		{"GET", "/api/tables", auth, 200},
		{"GET", "/?token=s3cret", nil, 200},
		{"GET", "/api/tables", append([]string{"Host", "medallion.test"}, auth...), 200},
		{"GET", "/api/tables", append([]string{"Host", "other.test"}, auth...), 403},
		{"GET", "/api/tables", append([]string{"Origin", "http://medallion.test", "Host", "medallion.test"}, auth...), 200},
	} {
		if code, body := tok.do(t, c.method, c.path, "", c.hdr...); code != c.want {
			t.Errorf("--token: %s %s %v: %d, want %d: %.200s", c.method, c.path, c.hdr, code, c.want, body)
		}
	}
	if code, body := tok.query(t, "SELECT count(*) FROM silver.items"); code != 401 {
		t.Errorf("--token: query without the token: %d %s", code, body)
	}
	code, body = tok.query(t, "SELECT repeat('x', 1000) FROM range(1000)", auth...)
	if code != 400 || !strings.Contains(body, "64 KB") {
		t.Errorf("--query-max-bytes 64KB: %d %.300s", code, body)
	}
	if code, body := tok.query(t, "SELECT repeat('x', 1000) FROM range(10)", auth...); code != 200 {
		t.Errorf("--query-max-bytes 64KB, a 10 KB answer: %d %.300s", code, body)
	}
	// --query-memory-limit 20MB: a query needing more stops with the
	// engine's out-of-memory error; the server keeps answering.
	if code, body := tok.query(t, "SELECT length(list(range)) FROM range(10000000)", auth...); code != 400 || !strings.Contains(body, "Out of Memory") {
		t.Errorf("--query-memory-limit 20MB, a 80 MB list: %d %.300s", code, body)
	}
	if code, body := tok.query(t, "SELECT sku FROM silver.items ORDER BY sku", auth...); code != 200 || !strings.Contains(body, `[["a"],["b"],["c"]]`) {
		t.Errorf("after the out-of-memory query: %d %.300s", code, body)
	}
}

// TestHostileCLIQuery: `medallion query` is read-only whatever the text
// says and reads no file but the lake's; a Delta table outside the lake
// named with delta_scan is allowed (the user owns the machine).
func TestHostileCLIQuery(t *testing.T) {
	e := newHostileEnv(t)
	roots := []string{e.dir, filepath.Dir(e.otherLake), e.secret, e.out}
	before := tree(t, roots...)
	for _, sql := range []string{
		"SELECT 42 AS x --\r, content FROM read_text('" + e.txt + "')",
		"SHOW TABLES --\r; COPY (SELECT 1) TO '" + filepath.Join(e.out, "x.csv") + "'",
		"SELECT 1; COPY (SELECT 1) TO '" + filepath.Join(e.out, "x.csv") + "'",
		"COPY (SELECT 1) TO '" + filepath.Join(e.out, "x.csv") + "'",
		"SET enable_external_access = true",
		"ATTACH '" + filepath.Join(e.out, "x.db") + "'",
		"SELECT * FROM read_csv('" + e.csv + "')",
		"SELECT * FROM read_text($é$" + e.inProject + "$é$)",
		"DROP VIEW silver.items",
		"INSTALL delta",
	} {
		code, out, errb := runBin(t, "query", "-C", e.dir, sql)
		if code == 0 || strings.Contains(out+errb, e.canary) {
			t.Errorf("medallion query %q: exit %d %q %q", sql, code, out, errb)
		}
	}
	sameTree(t, "files", before, tree(t, roots...))
	code, out, errb := runBin(t, "query", "-C", e.dir, "--format", "csv", "SELECT sku FROM delta_scan('"+e.otherLake+"')")
	if code != 0 || out != "sku\n"+e.canary+"\n" {
		t.Errorf("medallion query of a table outside the lake: exit %d %q %s", code, out, errb)
	}
}

// TestModelMustBeOneSelect: a model that would run a second statement, or
// a statement that is not a query, stops the run naming its file before
// anything runs.
func TestModelMustBeOneSelect(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "written.csv")
	for i, sql := range []string{
		"SELECT count(*) AS skus, sum(qty) AS qty FROM silver.items; DROP TABLE silver.items",
		"SELECT count(*) AS skus, sum(qty) AS qty FROM silver.items --\r; COPY (SELECT 1) TO '" + out + "'",
		"SELECT 1 AS skus, 2 AS qty; COPY (SELECT 1) TO '" + out + "'",
		"COPY (SELECT 1) TO '" + out + "'",
		"SELECT 1 AS skus /* a /* b */ */; ATTACH '" + filepath.Join(root, "x.db") + "'",
	} {
		dir := copyFixture(t, filepath.Join(root, fmt.Sprint(i)), map[string]string{"models/gold.sql": "-- name: gold.stock\n" + sql + "\n"})
		code, _, errb := runBin(t, "run", "-C", dir)
		if code == 0 || !strings.Contains(errb, "models/gold.sql") || !strings.Contains(errb, "exactly one SELECT") {
			t.Errorf("model %q: exit %d, stderr %s", sql, code, errb)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("model %q wrote %s", sql, out)
		}
		if _, err := os.Stat(filepath.Join(root, "x.db")); err == nil {
			t.Fatalf("model %q attached a database file", sql)
		}
	}
}
