package landingtest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/clitest"
	"github.com/medallionhq/medallion/pipeline"
)

func TestMain(m *testing.M) {
	clitest.RunIfChild()
	os.Exit(m.Run())
}

// project is a small project in a temporary directory: sources order_items
// (CSV) and clickstream (JSON lines), the models in testdata/models.
type project struct {
	t     *testing.T
	dir   string
	clock time.Time // modification times given to landed files, one minute apart
}

func newProject(t *testing.T, onChange string) *project {
	t.Helper()
	return newProjectFormat(t, onChange, "csv", "")
}

// newProjectFormat is newProject with order_items in the given format and
// with extra keys (YAML lines) for it.
func newProjectFormat(t *testing.T, onChange, itemsFormat, itemsExtra string) *project {
	t.Helper()
	dir := t.TempDir()
	oc := ""
	if onChange != "" {
		oc = "\n    on_change: " + onChange
	}
	cfg := `name: landtest
lake: lake
landing: landing
engine:
  memory_limit: 1GB
  threads: 1
sources:
  order_items:
    format: ` + itemsFormat + `
    mode: append` + oc + `
    schema: {order_id: string, order_item_id: long, price: double}` + itemsExtra + `
  clickstream:
    format: json
    mode: append` + oc + `
    schema: {event_id: string, event_type: string, event_time: timestamp}
`
	if err := os.WriteFile(filepath.Join(dir, "medallion.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "models"), os.DirFS("testdata/models")); err != nil {
		t.Fatal(err)
	}
	return &project{t: t, dir: dir, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// medallion runs the command line in a new process.
func (p *project) medallion(args ...string) (int, string, string) {
	p.t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-C", p.dir}, args...)...)
	cmd.Env = clitest.ChildEnv(pipeline.LeaseExpiryEnv + "=2s")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		p.t.Fatalf("medallion %s: %v", strings.Join(args, " "), err)
	}
	return code, stdout.String(), stderr.String()
}

// run runs `medallion run`, which must succeed, and returns its output.
func (p *project) run() string {
	p.t.Helper()
	code, out, errOut := p.medallion("run")
	p.t.Logf("medallion run → %d\n%s%s", code, out, errOut)
	if code != 0 {
		p.t.Fatalf("medallion run: exit %d\n%s%s", code, out, errOut)
	}
	return out
}

// query runs `medallion query --format csv` and returns the rows.
func (p *project) query(sql string) [][]string {
	p.t.Helper()
	code, out, errOut := p.medallion("query", "--format", "csv", sql)
	if code != 0 {
		p.t.Fatalf("medallion query %q: exit %d\n%s%s", sql, code, out, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) == 0 {
		p.t.Fatalf("query %q: output %q: %v", sql, out, err)
	}
	return recs[1:]
}

func (p *project) queryInt(sql string) int64 {
	p.t.Helper()
	rows := p.query(sql)
	if len(rows) != 1 || len(rows[0]) != 1 {
		p.t.Fatalf("query %q: want one value, got %v", sql, rows)
	}
	if rows[0][0] == "" {
		return 0
	}
	n, err := strconv.ParseInt(rows[0][0], 10, 64)
	if err != nil {
		p.t.Fatalf("query %q: %v", sql, err)
	}
	return n
}

// land writes a landing file with the next modification time.
func (p *project) land(rel string, data []byte) {
	p.t.Helper()
	path := filepath.Join(p.dir, "landing", filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.clock = p.clock.Add(time.Minute)
	if err := os.Chtimes(path, p.clock, p.clock); err != nil {
		p.t.Fatal(err)
	}
}

// items is an order_items CSV file with rows first..last (order o<i>,
// price i + 0.5).
func items(first, last int) []byte {
	var b strings.Builder
	b.WriteString("order_id,order_item_id,price\n")
	for i := first; i <= last; i++ {
		fmt.Fprintf(&b, "o%d,1,%d.5\n", i, i)
	}
	return []byte(b.String())
}

// revenue is the sum of the prices of items(first, last).
func revenue(first, last int) float64 {
	s := 0.0
	for i := first; i <= last; i++ {
		s += float64(i) + 0.5
	}
	return s
}

func (p *project) revenue() float64 {
	p.t.Helper()
	rows := p.query("SELECT revenue FROM gold.revenue")
	if len(rows) != 1 {
		p.t.Fatalf("gold.revenue: %v", rows)
	}
	v, err := strconv.ParseFloat(rows[0][0], 64)
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// TestChangedFile: order_items/items_1.csv lands with 5 rows, is ingested,
// then is rewritten with 10 rows (the 5 first, then 5 more). By default
// (and with on_change: ignore) bronze keeps the 5 rows and the run warns
// once, naming the file, and counts it in medallion.runs; reingest ingests
// the 10 rows again (15: the consequence documented); append_new ingests
// the 5 new rows only. A file landing later is ingested in every mode.
func TestChangedFile(t *testing.T) {
	for _, tc := range []struct {
		onChange string
		want     int64 // bronze rows after the rewrite
		warn     string
		revenue  float64
	}{
		{"", 5, "not ingested again (on_change: ignore)", revenue(1, 5)},
		{"ignore", 5, "not ingested again (on_change: ignore)", revenue(1, 5)},
		{"reingest", 15, "ingesting it again in full (on_change: reingest)", revenue(1, 5) + revenue(1, 10)},
		{"append_new", 10, "", revenue(1, 10)},
	} {
		name := tc.onChange
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProject(t, tc.onChange)
			p.land("order_items/items_1.csv", items(1, 5))
			p.run()
			if n := p.queryInt("SELECT count(*) FROM bronze.order_items"); n != 5 {
				t.Fatalf("first run: bronze has %d rows, want 5", n)
			}

			p.land("order_items/items_1.csv", items(1, 10))
			out := p.run()
			if n := p.queryInt("SELECT count(*) FROM bronze.order_items"); n != tc.want {
				t.Errorf("after the rewrite: bronze has %d rows, want %d", n, tc.want)
			}
			changedLine := "warning: bronze.order_items: order_items/items_1.csv changed since it was ingested"
			if tc.warn != "" {
				if !strings.Contains(out, changedLine) || !strings.Contains(out, tc.warn) {
					t.Errorf("the run does not warn %q … %q:\n%s", changedLine, tc.warn, out)
				}
			} else if strings.Contains(out, "warning") {
				t.Errorf("append_new warned about a file that grew:\n%s", out)
			}
			if n := p.queryInt("SELECT sum(changed_files) FROM medallion.runs WHERE table_name = 'bronze.order_items'"); n != 1 {
				t.Errorf("medallion.runs counts %d changed files, want 1", n)
			}
			if tc.onChange == "append_new" {
				if n := p.queryInt("SELECT count(DISTINCT order_id) FROM bronze.order_items"); n != 10 {
					t.Errorf("append_new: %d distinct orders, want each of the 10 once", n)
				}
			}
			if got := p.revenue(); got != tc.revenue {
				t.Errorf("gold.revenue %v, want %v", got, tc.revenue)
			}

			// Nothing new: no second warning, nothing counted again.
			out = p.run()
			if strings.Contains(out, "changed since") {
				t.Errorf("the change was reported again:\n%s", out)
			}
			if n := p.queryInt("SELECT sum(changed_files) FROM medallion.runs WHERE table_name = 'bronze.order_items'"); n != 1 {
				t.Errorf("medallion.runs counts %d changed files after a run with no change, want 1", n)
			}

			p.land("order_items/items_2.csv", items(11, 13))
			p.run()
			if n := p.queryInt("SELECT count(*) FROM bronze.order_items WHERE _source_file = 'order_items/items_2.csv'"); n != 3 {
				t.Errorf("a later file: %d rows ingested, want 3", n)
			}
		})
	}
}

// event is one clickstream event, 6 seconds after the previous one.
func event(i int) string {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i-1) * 6 * time.Second)
	typ := "view"
	if i%3 == 0 {
		typ = "cart"
	}
	return fmt.Sprintf(`{"event_id": "e%d", "event_type": %q, "event_time": %q}`, i, typ, at.Format(time.RFC3339))
}

// TestGrowingClickstream: a JSON-lines log grows between runs
// (on_change: append_new). The first run sees 60 events and half of the
// 61st (no newline yet: it waits); the log then grows to 100 events with a
// malformed line among them. Every event lands in bronze exactly once, the
// malformed line is rejected with its real line number, and each one-minute
// window counts each event once.
func TestGrowingClickstream(t *testing.T) {
	p := newProject(t, "append_new")
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, event(i))
		if i == 80 {
			lines = append(lines, `{"event_id": "e-broken", "event_type": `) // line 81
		}
	}
	first := strings.Join(lines[:60], "\n") + "\n" + lines[60][:20]
	p.land("clickstream/events.json", []byte(first))
	out := p.run()
	if n := p.queryInt("SELECT count(*) FROM bronze.clickstream"); n != 60 {
		t.Fatalf("first run: %d events in bronze, want the 60 complete lines", n)
	}
	if strings.Contains(out, "changed since") {
		t.Errorf("first run warned about a change:\n%s", out)
	}

	p.land("clickstream/events.json", []byte(strings.Join(lines, "\n")+"\n"))
	out = p.run()
	if !strings.Contains(out, "warning: bronze.clickstream: clickstream/events.json line 81: invalid JSON object") {
		t.Errorf("the malformed line is not reported at line 81:\n%s", out)
	}
	if n := p.queryInt("SELECT count(*) FROM bronze.clickstream WHERE event_id IS NOT NULL"); n != 100 {
		t.Errorf("%d events in bronze, want 100", n)
	}
	if n := p.queryInt("SELECT count(DISTINCT event_id) FROM bronze.clickstream"); n != 100 {
		t.Errorf("%d distinct events in bronze, want 100", n)
	}
	if n := p.queryInt(`SELECT count(*) FROM bronze.clickstream WHERE event_id IS NULL AND json_extract(_rescued_data, '$._line')::BIGINT = 81`); n != 1 {
		t.Errorf("%d rejected rows carry line 81, want 1", n)
	}
	p.run() // nothing new
	if n := p.queryInt("SELECT count(*) FROM bronze.clickstream"); n != 101 {
		t.Errorf("after a run with nothing new: %d rows, want 101", n)
	}

	// Windows: each written window counts each of its events once.
	want := map[string]int64{}
	for i := 1; i <= 100; i++ {
		at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i-1) * 6 * time.Second)
		typ := "view"
		if i%3 == 0 {
			typ = "cart"
		}
		want[strconv.FormatInt(at.Truncate(time.Minute).Unix(), 10)+" "+typ]++
	}
	rows := p.query("SELECT CAST(epoch(window_start) AS BIGINT) || ' ' || event_type, events FROM gold.clickstream_events_1m ORDER BY 1")
	if len(rows) < 10 {
		t.Fatalf("only %d windows written: %v", len(rows), rows)
	}
	for _, r := range rows {
		n, _ := strconv.ParseInt(r[1], 10, 64)
		if n != want[r[0]] {
			t.Errorf("window %s: %d events, want %d", r[0], n, want[r[0]])
		}
	}
	if n := p.queryInt("SELECT count(*) FROM gold.clickstream_late_events"); n != 0 {
		t.Errorf("%d false late events", n)
	}
}

// TestBadFiles: for each kind of bad file, a good file before it and one
// after it land with it; the bad one is set aside in medallion.bad_files
// (reason naming the line where there is one), the run warns and counts
// it, and the good files are ingested (rows in = bronze rows, rejects
// included). A good file landing later is ingested, the bad one is not
// reported again; once fixed, it is ingested and marked resolved.
func TestBadFiles(t *testing.T) {
	json := func(first, last int) []byte {
		var b strings.Builder
		for i := first; i <= last; i++ {
			b.WriteString(event(i) + "\n")
		}
		return []byte(b.String())
	}
	for _, tc := range []struct {
		name   string
		source string
		bad    []byte
		reason *regexp.Regexp
		line   int64 // 0: no line
	}{
		{"empty", "order_items", nil, regexp.MustCompile(`^empty file`), 0},
		{"binary", "order_items", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00\xff\xfe\n\x00\x01\x02"), regexp.MustCompile(`^binary content`), 1},
		{"duplicate_header_column", "order_items", []byte("order_id,price,price\no1,1.5,2.5\n"), regexp.MustCompile(`duplicate column "price" in the header \(line 1`), 1},
		{"invalid_utf8_json", "clickstream", append(json(50, 52), []byte("{\"event_id\": \"e\xff\xfe\", \"event_type\": \"view\"}\n")...), regexp.MustCompile(`^invalid UTF-8 at line 4$`), 4},
		{"missing_needed_column", "order_items", []byte("order_id,order_item_id\no50,1\no51,1\n"), regexp.MustCompile(`^lacks column price \(read by silver\.order_items\)`), 1},
		{"unclosed_quote", "order_items", []byte("order_id,order_item_id,price\no50,1,50.5\n\"o51,1,51.5\no52,1,52.5\no53,1,53.5\n"), regexp.MustCompile(`^unclosed quote: the quote opened at line 3 is never closed and swallows the 2 records after it \(lines 4-5\)$`), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProject(t, "")
			ext, good, fixed := ".csv", items, items(50, 52)
			if tc.source == "clickstream" {
				ext, good, fixed = ".json", json, json(50, 52)
			}
			file := func(n int) string { return fmt.Sprintf("%s/part_%d%s", tc.source, n, ext) }
			table := "bronze." + tc.source
			p.land(file(1), good(1, 4))
			p.land(file(2), tc.bad)
			p.land(file(3), good(10, 12))
			out := p.run()
			if !strings.Contains(out, "warning: "+table+": "+file(2)+" set aside (see medallion.bad_files): ") {
				t.Errorf("the run does not warn that %s is set aside:\n%s", file(2), out)
			}
			rows := p.query("SELECT source, path, size, epoch_ms(modified_at), reason, coalesce(line, 0), resolved_at IS NULL FROM medallion.bad_files")
			if len(rows) != 1 {
				t.Fatalf("medallion.bad_files: %v, want one row", rows)
			}
			r := rows[0]
			mtime := time.Date(2026, 1, 1, 0, 2, 0, 0, time.UTC).UnixMilli()
			if r[0] != tc.source || r[1] != file(2) || r[2] != strconv.Itoa(len(tc.bad)) || r[3] != strconv.FormatInt(mtime, 10) || !tc.reason.MatchString(r[4]) || r[5] != strconv.FormatInt(tc.line, 10) || r[6] != "true" {
				t.Errorf("medallion.bad_files row %q, want [%s %s %d %d %s %d true]", r, tc.source, file(2), len(tc.bad), mtime, tc.reason, tc.line)
			}
			if tc.line > 0 && !strings.Contains(out, fmt.Sprintf("line %d", tc.line)) {
				t.Errorf("the warning does not name line %d:\n%s", tc.line, out)
			}
			if n := p.queryInt("SELECT sum(bad_files) FROM medallion.runs WHERE table_name = '" + table + "'"); n != 1 {
				t.Errorf("medallion.runs counts %d bad files, want 1", n)
			}
			// Counts reconcile: the good files' 7 records are the rows in,
			// all in bronze (rejects would be rows too).
			rowsIn := p.queryInt("SELECT sum(rows_in) FROM medallion.runs WHERE table_name = '" + table + "'")
			bronze := p.queryInt("SELECT count(*) FROM " + table)
			rejected := p.queryInt("SELECT sum(rejected) FROM medallion.runs WHERE table_name = '" + table + "'")
			corrupt := p.queryInt("SELECT count(*) FROM " + table + ` WHERE _rescued_data LIKE '%"_corrupt_record"%'`)
			if rowsIn != 7 || bronze != rowsIn || rejected != corrupt {
				t.Errorf("rows in %d, bronze %d, rejected %d, corrupt rows %d: want 7 = 7, rejected = corrupt", rowsIn, bronze, rejected, corrupt)
			}
			if tc.source == "order_items" {
				if got, want := p.revenue(), revenue(1, 4)+revenue(10, 12); got != want {
					t.Errorf("gold.revenue %v, want %v (the good files only)", got, want)
				}
			}

			// A good file landing later goes in; the bad one waits quietly.
			p.land(file(4), good(20, 21))
			out = p.run()
			if strings.Contains(out, "set aside") {
				t.Errorf("the unchanged bad file was reported again:\n%s", out)
			}
			if n := p.queryInt("SELECT count(*) FROM " + table + " WHERE _source_file = '" + file(4) + "'"); n != 2 {
				t.Errorf("the later file: %d rows, want 2", n)
			}

			// Fixed, the file is tried again, ingested and resolved.
			p.land(file(2), fixed)
			out = p.run()
			if strings.Contains(out, "warning") {
				t.Errorf("the fixed file warned:\n%s", out)
			}
			if n := p.queryInt("SELECT count(*) FROM " + table + " WHERE _source_file = '" + file(2) + "'"); n != 3 {
				t.Errorf("the fixed file: %d rows, want 3", n)
			}
			if n := p.queryInt("SELECT count(*) FROM medallion.bad_files WHERE resolved_at IS NOT NULL AND path = '" + file(2) + "'"); n != 1 {
				t.Errorf("the fixed file is not marked resolved in medallion.bad_files")
			}
			if n := p.queryInt("SELECT count(*) FROM " + table); n != 12 {
				t.Errorf("bronze has %d rows, want 4 + 3 + 2 + 3", n)
			}
		})
	}
}

// TestKilledRunsIngestOnce grows a JSON-lines log (on_change: append_new)
// and SIGKILLs `medallion run` at a point given by its own output: when it
// says the file grew (before the bronze commit) or when it reports the
// bronze table (after it). The next run resumes from what the bronze
// table's log records: every event is in bronze exactly once, and each
// window counts each event once.
func TestKilledRunsIngestOnce(t *testing.T) {
	p := newProject(t, "append_new")
	var log strings.Builder
	total := 0
	for round := 1; round <= 6; round++ {
		for range 15 {
			total++
			log.WriteString(event(total) + "\n")
		}
		p.land("clickstream/events.json", []byte(log.String()))
		at := "bronze.clickstream " // after the commit
		if round%2 == 0 && round > 1 {
			at = "grew since it was ingested" // before it
		}
		p.killAt(at)
	}
	p.run()
	if n := p.queryInt("SELECT count(*) FROM bronze.clickstream"); n != int64(total) {
		t.Errorf("bronze has %d rows, want the %d events once each", n, total)
	}
	if n := p.queryInt("SELECT count(DISTINCT event_id) FROM bronze.clickstream"); n != int64(total) {
		t.Errorf("%d distinct events in bronze, want %d", n, total)
	}
	want := map[string]int64{}
	for i := 1; i <= total; i++ {
		at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i-1) * 6 * time.Second)
		typ := "view"
		if i%3 == 0 {
			typ = "cart"
		}
		want[strconv.FormatInt(at.Truncate(time.Minute).Unix(), 10)+" "+typ]++
	}
	rows := p.query("SELECT CAST(epoch(window_start) AS BIGINT) || ' ' || event_type, events FROM gold.clickstream_events_1m ORDER BY 1")
	if len(rows) == 0 {
		t.Fatal("no windows written")
	}
	for _, r := range rows {
		n, _ := strconv.ParseInt(r[1], 10, 64)
		if n != want[r[0]] {
			t.Errorf("window %s: %d events, want %d", r[0], n, want[r[0]])
		}
	}
}

// killAt starts `medallion run` and SIGKILLs it as soon as a line of its
// output contains marker (or lets it finish when none does).
func (p *project) killAt(marker string) {
	p.t.Helper()
	cmd := exec.Command(os.Args[0], "-C", p.dir, "run")
	// A killed run leaves the writer lease held until it expires: keep
	// that short so the next run takes it over soon.
	cmd.Env = clitest.ChildEnv(pipeline.LeaseExpiryEnv + "=2s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		if !killed && strings.Contains(sc.Text(), marker) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				p.t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	p.t.Logf("run killed at %q: %v (killed: %v)", marker, err, killed)
	if !killed {
		p.t.Fatalf("the run never printed %q (exit: %v)", marker, err)
	}
}

// TestGrowingCSVRejectLine: with append_new, the records a CSV file gained
// are read under its header, and a record that cannot be parsed is reported
// (and kept in _rescued_data) with its line in the whole file, not in the
// part read; a last record without its newline waits for it.
func TestGrowingCSVRejectLine(t *testing.T) {
	p := newProject(t, "append_new")
	p.land("order_items/items_1.csv", items(1, 5))
	p.run()
	grown := string(items(1, 5)) + "o6,1\n" + strings.TrimPrefix(string(items(7, 8)), "order_id,order_item_id,price\n") + "o9,1,9."
	p.land("order_items/items_1.csv", []byte(grown))
	out := p.run()
	if !strings.Contains(out, "warning: bronze.order_items: order_items/items_1.csv line 7: ") {
		t.Errorf("the record with too few fields is not reported at line 7:\n%s", out)
	}
	if n := p.queryInt(`SELECT count(*) FROM bronze.order_items WHERE order_id IS NULL AND json_extract(_rescued_data, '$._line')::BIGINT = 7`); n != 1 {
		t.Errorf("%d rejected rows carry line 7, want 1", n)
	}
	if n := p.queryInt("SELECT count(DISTINCT order_id) FROM bronze.order_items"); n != 7 {
		t.Errorf("%d orders in bronze, want o1-o5, o7, o8 (o9 has no newline yet)", n)
	}
	p.land("order_items/items_1.csv", []byte(grown+"5\n"))
	p.run()
	if n := p.queryInt("SELECT count(*) FROM bronze.order_items WHERE order_id = 'o9' AND price = 9.5"); n != 1 {
		t.Errorf("o9, once its line ended: %d rows, want 1", n)
	}
	if n := p.queryInt("SELECT count(*) FROM bronze.order_items"); n != 9 {
		t.Errorf("bronze has %d rows, want 8 records + 1 reject", n)
	}

	// Rewritten shorter: nothing to append; reported as a change left as is.
	p.land("order_items/items_1.csv", items(1, 3))
	out = p.run()
	if !strings.Contains(out, "warning: bronze.order_items: order_items/items_1.csv changed since it was ingested") || !strings.Contains(out, "did not grow past the") {
		t.Errorf("a file that shrank is not reported:\n%s", out)
	}
	if n := p.queryInt("SELECT count(*) FROM bronze.order_items"); n != 9 {
		t.Errorf("after the file shrank, bronze has %d rows, want 9", n)
	}
}

// TestQuotedFieldsAreNotBad: quoted fields with doubled quotes, delimiters
// and line breaks, and a quote inside an unquoted field, are ordinary CSV:
// nothing is set aside. With append_new, a record whose quoted field is
// still open at the end of the file waits until it is closed.
func TestQuotedFieldsAreNotBad(t *testing.T) {
	p := newProject(t, "append_new")
	head := "order_id,order_item_id,price\n" +
		"\"o1 \"\"big\"\"\nbox\",1,1.5\n" +
		"o2,1,2.5\n" +
		"\"o3,x\",1,3.5\n" +
		"o4 5\" screen,1,4.5\n"
	p.land("order_items/items_1.csv", []byte(head+"\"o5 first line\n"))
	out := p.run()
	if strings.Contains(out, "warning") {
		t.Errorf("warnings for well-formed CSV:\n%s", out)
	}
	rows := p.query("SELECT order_id FROM bronze.order_items ORDER BY price")
	want := []string{"o1 \"big\"\nbox", "o2", "o3,x", "o4 5\" screen"}
	if len(rows) != len(want) {
		t.Fatalf("bronze rows %q, want %q", rows, want)
	}
	for i, r := range rows {
		if r[0] != want[i] {
			t.Errorf("row %d: order_id %q, want %q", i, r[0], want[i])
		}
	}
	p.land("order_items/items_1.csv", []byte(head+"\"o5 first line\nsecond line\",1,5.5\n"))
	out = p.run()
	if strings.Contains(out, "warning") {
		t.Errorf("warnings for the completed record:\n%s", out)
	}
	if n := p.queryInt("SELECT count(*) FROM bronze.order_items WHERE order_id = 'o5 first line' || chr(10) || 'second line' AND price = 5.5"); n != 1 {
		t.Errorf("the record completed later: %d rows, want 1", n)
	}
	if n := p.queryInt("SELECT count(*) FROM bronze.order_items"); n != 5 {
		t.Errorf("bronze has %d rows, want 5", n)
	}
}

// TestBadParquet: a Parquet file without a column the models read, and one
// the engine cannot read (right magic bytes, broken footer), are set aside;
// the good Parquet files around them are ingested.
func TestBadParquet(t *testing.T) {
	p := newProjectFormat(t, "", "parquet", "")
	good, err := os.ReadFile("testdata/parquet/items_good.parquet")
	if err != nil {
		t.Fatal(err)
	}
	noPrice, err := os.ReadFile("testdata/parquet/items_no_price.parquet")
	if err != nil {
		t.Fatal(err)
	}
	p.land("order_items/part_1.parquet", good)
	p.land("order_items/part_2.parquet", noPrice)
	p.land("order_items/part_3.parquet", []byte("PAR1 not really a parquet file PAR1"))
	p.land("order_items/part_4.parquet", good)
	out := p.run()
	for _, f := range []string{"part_2", "part_3"} {
		if !strings.Contains(out, "warning: bronze.order_items: order_items/"+f+".parquet set aside") {
			t.Errorf("%s is not reported as set aside:\n%s", f, out)
		}
	}
	rows := p.query("SELECT path, reason FROM medallion.bad_files ORDER BY path")
	if len(rows) != 2 {
		t.Fatalf("medallion.bad_files: %q, want 2 rows", rows)
	}
	if rows[0][0] != "order_items/part_2.parquet" || rows[0][1] != "lacks column price (read by silver.order_items)" {
		t.Errorf("bad file %q", rows[0])
	}
	if rows[1][0] != "order_items/part_3.parquet" || !strings.HasPrefix(rows[1][1], "the engine cannot read it: ") || !strings.Contains(rows[1][1], "order_items/part_3.parquet") || strings.Contains(rows[1][1], p.dir) {
		t.Errorf("bad file %q: want the engine's error naming the landing path (not a local one)", rows[1])
	}
	if n := p.queryInt("SELECT count(*) FROM bronze.order_items"); n != 6 {
		t.Errorf("bronze has %d rows, want the 6 of the good files", n)
	}
	if got, want := p.revenue(), 2*(1.5+2.5+3.5); got != want {
		t.Errorf("gold.revenue %v, want %v", got, want)
	}
}

// TestOptionalColumns: a column listed in optional_columns may be missing
// from a file (its rows get NULL, which the model turns into 0.0 as its SQL
// says); nothing is set aside.
func TestOptionalColumns(t *testing.T) {
	p := newProjectFormat(t, "", "csv", "\n    optional_columns: [price]")
	p.land("order_items/part_1.csv", items(1, 2))
	p.land("order_items/part_2.csv", []byte("order_id,order_item_id\no3,1\n"))
	out := p.run()
	if strings.Contains(out, "set aside") {
		t.Errorf("a file without an optional column was set aside:\n%s", out)
	}
	if n := p.queryInt("SELECT count(*) FROM bronze.order_items WHERE order_id = 'o3' AND price IS NULL"); n != 1 {
		t.Errorf("o3 without price: %d rows, want 1", n)
	}
	if got, want := p.revenue(), revenue(1, 2); got != want {
		t.Errorf("gold.revenue %v, want %v", got, want)
	}
}

// TestBadFilesBeforeAnyBadFile: before a first file is set aside,
// medallion.bad_files reads as an empty table with the columns it has
// once written, not as an unknown table.
func TestBadFilesBeforeAnyBadFile(t *testing.T) {
	p := newProject(t, "")
	p.land("order_items/part_1.csv", items(1, 4))
	p.run()
	if n := p.queryInt("SELECT count(*) FROM medallion.bad_files"); n != 0 {
		t.Fatalf("medallion.bad_files holds %d rows before any bad file", n)
	}
	describe := "SELECT column_name, column_type FROM (DESCRIBE medallion.bad_files)"
	before := p.query(describe)
	p.land("order_items/part_2.csv", nil)
	p.run()
	if n := p.queryInt("SELECT count(*) FROM medallion.bad_files"); n != 1 {
		t.Fatalf("medallion.bad_files holds %d rows after one bad file, want 1", n)
	}
	if after := p.query(describe); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("medallion.bad_files columns before the first bad file %v, after %v", before, after)
	}
}
