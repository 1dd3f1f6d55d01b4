package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medallionhq/medallion/internal/cli"
)

// TestServeStreamsCommitsToEventClients starts `medallion serve` on the
// built-in project, subscribes to /api/events, lands a file of orders and
// waits for the commit events of the tables it updates.
func TestServeStreamsCommitsToEventClients(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := cli.Main(t.Context(), []string{"generate", "--out", filepath.Join(dir, "landing"), "--orders", "200"}, &out, &errb); code != 0 {
		t.Fatalf("generate: %s", errb.String())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var sout, serr syncBuffer
	go func() { done <- cli.Main(ctx, []string{"serve", "-C", dir, "--addr", addr}, &sout, &serr) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, serr.String())
		}
	}()
	// Wait for the server and for the first batch to build the tables.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/tables")
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if strings.Contains(b.String(), "gold.daily_revenue") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never listed gold.daily_revenue: %s", serr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			events <- sc.Text()
		}
		close(events)
	}()
	src, err := os.ReadFile(filepath.Join(dir, "landing", "orders", "order_year=2017", "order_month=1", "olist_orders_dataset.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(src)), "\n")
	var sb strings.Builder
	sb.WriteString(lines[0] + "\n")
	for i, l := range lines[1:min(len(lines), 6)] {
		f := strings.SplitN(l, ",", 2)
		sb.WriteString("ffffffffffffffffffffffffffff000" + string(rune('0'+i)) + "," + f[1] + "\n")
	}
	landDir := filepath.Join(dir, "landing", "orders", "order_year=2017", "order_month=1")
	if err := os.WriteFile(filepath.Join(landDir, ".new.tmp"), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(landDir, ".new.tmp"), filepath.Join(landDir, "new.csv")); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{`"table":"bronze.orders"`: false, `"table":"silver.orders"`: false, `"table":"gold.cancellation_rate_daily"`: false}
	timeout := time.After(60 * time.Second)
	for missing := len(want); missing > 0; {
		select {
		case l, ok := <-events:
			if !ok {
				t.Fatal("event stream closed")
			}
			for k, seen := range want {
				if !seen && strings.Contains(l, k) {
					want[k] = true
					missing--
				}
			}
		case <-timeout:
			t.Fatalf("commit events not all seen: %v", want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeRunsJobs defines jobs in medallion.yaml: one runs when files
// land, one after it; both are visible and can be started by hand through
// the API.
func TestServeRunsJobs(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := cli.Main(t.Context(), []string{"init", dir}, &out, &errb); code != 0 {
		t.Fatalf("init: %s", errb.String())
	}
	cfg := filepath.Join(dir, "medallion.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jobs := "\njobs:\n  ingest:\n    select: [+silver.orders_items]\n    on_file_arrival: true\n    debounce: 200ms\n  kpis:\n    select: [gold.cancellation_rate_daily]\n    after: [ingest]\n" +
		"  cohorts:\n    select: [+gold.cohort_retention]\n    on_table_update: [silver.orders]\n" +
		"  payments:\n    select: [+silver.payments]\n    continuous: true\n"
	if err := os.WriteFile(cfg, append(b, jobs...), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var sout, serr syncBuffer
	go func() { done <- cli.Main(ctx, []string{"serve", "-C", dir, "--addr", addr}, &sout, &serr) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, serr.String())
		}
	}()
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return b.String()
	}
	deadline := time.Now().Add(30 * time.Second)
	for get("/healthz") == "" {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", serr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Files land: the ingest job runs, then kpis after it (gold.cancellation_rate_daily
	// reads silver.orders_items, which the ingest job builds).
	if code := cli.Main(t.Context(), []string{"generate", "--out", filepath.Join(dir, "landing"), "--orders", "150"}, &out, &errb); code != 0 {
		t.Fatalf("generate: %s", errb.String())
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		tables := get("/api/tables")
		if strings.Contains(tables, "silver.orders") && strings.Contains(tables, "gold.cancellation_rate_daily") && strings.Contains(tables, "gold.cohort_retention") && strings.Contains(tables, "silver.payments") {
			if strings.Contains(tables, "gold.daily_revenue") {
				t.Fatalf("a job ran tables outside its selection: %s", tables)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the jobs did not build their tables: %s\n%s", tables, serr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	js := get("/api/jobs")
	if !strings.Contains(js, `"name":"ingest"`) || !strings.Contains(js, `"Status":"succeeded"`) {
		t.Fatalf("/api/jobs: %s", js)
	}
	resp, err := http.Post("http://"+addr+"/api/jobs/kpis/run", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("manual trigger: %s", resp.Status)
	}
	// The CLI reaches the same jobs.
	var jout, jerr bytes.Buffer
	if code := cli.Main(t.Context(), []string{"jobs", "list", "--server", "http://" + addr}, &jout, &jerr); code != 0 || !strings.Contains(jout.String(), "cohorts") || !strings.Contains(jout.String(), "succeeded") {
		t.Fatalf("jobs list: %d %s %s", code, jout.String(), jerr.String())
	}
	if code := cli.Main(t.Context(), []string{"jobs", "run", "kpis", "--server", "http://" + addr}, &jout, &jerr); code != 0 {
		t.Fatalf("jobs run: %s", jerr.String())
	}
	if code := cli.Main(t.Context(), []string{"jobs", "run", "nope", "--server", "http://" + addr}, &jout, &jerr); code == 0 || !strings.Contains(jerr.String(), "no job named") {
		t.Fatalf("jobs run nope: %d %s", code, jerr.String())
	}
	resp, err = http.Post("http://"+addr+"/api/jobs/nope/run", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown job: %s", resp.Status)
	}
}

// TestDemo runs `medallion demo` in an empty directory: the replayed orders
// flow through to the gold tables while it serves them, and a stop prints
// the headline KPIs.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var sout, serr syncBuffer
	go func() {
		done <- cli.Main(ctx, []string{"demo", "-C", dir, "--addr", addr, "--orders", "120", "--orders-per-second", "0", "--events-per-second", "0"}, &sout, &serr)
	}()
	defer cancel()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Post("http://"+addr+"/api/query", "application/json", strings.NewReader(`{"sql": "SELECT orders FROM gold.total_revenue"}`))
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(b.String(), `"rows":[[`) && !strings.Contains(b.String(), `"rows":[[0]]`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo never produced gold.total_revenue: %s\n%s", sout.String(), serr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(sout.String(), "medallion demo: open http://"+addr) {
		t.Fatalf("demo did not print its URL: %s", sout.String())
	}
	// It says when the replay has landed every order (at --orders-per-second
	// 0, at once); the test's own time limit bounds the wait.
	for !strings.Contains(sout.String(), "replay finished: all 120 orders have landed") {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo exited %d: %s", code, serr.String())
	}
	if out := sout.String(); !strings.Contains(out, "headline KPIs:") || !strings.Contains(out, "cancellation_rate_pct") {
		t.Fatalf("demo did not print the headline KPIs when stopped: %s", out)
	}
}
