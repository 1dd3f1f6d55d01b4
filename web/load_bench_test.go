package web

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medallionhq/medallion/datagen"
	"github.com/medallionhq/medallion/pipeline"
	"github.com/medallionhq/medallion/pipeline/ecommerce"
)

// Load of BenchmarkSSELoad (the environment variables MEDALLION_LOAD_CLIENTS,
// MEDALLION_LOAD_RATE, MEDALLION_LOAD_SECONDS and MEDALLION_LOAD_API_CLIENTS
// override the first four, to explore).
var (
	loadSSEClients   = envInt("MEDALLION_LOAD_CLIENTS", 200)
	loadEventsPerSec = envInt("MEDALLION_LOAD_RATE", 1000)
	loadDuration     = time.Duration(envInt("MEDALLION_LOAD_SECONDS", 3)) * time.Second
	loadAPIClients   = envInt("MEDALLION_LOAD_API_CLIENTS", 8)
)

const loadP95TargetMS = 50

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// loadProject is the e-commerce project (medallion init), with orders
// generated and the tables built.
func loadProject(b *testing.B, orders int) *pipeline.Project {
	b.Helper()
	dir := b.TempDir()
	if err := ecommerce.Init(dir); err != nil {
		b.Fatal(err)
	}
	proj, err := pipeline.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := datagen.Generate(b.Context(), proj.Resolve(proj.Config.Landing), datagen.Options{Orders: orders, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if _, err := pipeline.Run(b.Context(), proj, pipeline.RunOptions{Quiet: true}); err != nil {
		b.Fatal(err)
	}
	return proj
}

// BenchmarkSSELoad: 200 SSE clients on /api/events of a real server while
// commits are announced at 1,000 events/s (what a busy stream produces)
// and API clients read GET /api/tables and GET /api/dashboards/{name} in a
// loop. It reports the API's p95 latency and the commit events the SSE
// clients missed (gaps in the event ids, or events never received): the
// broker drops a client's oldest event when its buffer is full, so a missed
// update means a client could not keep up.
//
//	go test -run '^$' -bench SSELoad -benchtime 1x ./web/
func BenchmarkSSELoad(b *testing.B) {
	proj := loadProject(b, 300)
	s, err := New(proj, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.shutdownStreams() // end the SSE streams first: Close waits for them
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	// A dashboard to read, and the tables to announce commits of.
	var dashName string
	if ds, err := s.dashboardList(); err != nil || len(ds) == 0 {
		b.Fatalf("no dashboard: %v", err)
	} else {
		dashName = ds[0].Name
	}
	tables, err := s.lakeTables(b.Context())
	if err != nil || len(tables) == 0 {
		b.Fatalf("tables: %v", err)
	}
	for _, path := range []string{"/api/tables", "/api/dashboards/" + dashName} {
		if code, body := get(client, ts.URL+path); code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, code, body)
		}
	}

	var lat []time.Duration
	var byPath [2][]time.Duration // /api/tables, /api/dashboards/{name}
	var missed, sent, apiErrs int64
	b.ResetTimer()
	for range b.N {
		l, m, n, e := sseLoad(b, s, client, ts.URL, dashName, tables)
		for _, x := range l {
			lat = append(lat, x.d)
			byPath[x.path] = append(byPath[x.path], x.d)
		}
		missed += m
		sent += n
		apiErrs += e
	}
	b.StopTimer()
	q := func(lat []time.Duration, p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		slices.Sort(lat)
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	pct := func(p float64) float64 { return q(lat, p) }
	b.ReportMetric(pct(0.95), "p95_api_ms")
	b.ReportMetric(q(byPath[0], 0.95), "p95_tables_ms")
	b.ReportMetric(q(byPath[1], 0.95), "p95_dashboard_ms")
	b.ReportMetric(pct(0.50), "p50_api_ms")
	b.ReportMetric(float64(missed), "missed_updates")
	b.ReportMetric(float64(loadSSEClients), "clients")
	b.ReportMetric(float64(sent)/float64(b.N), "events")
	b.ReportMetric(float64(len(lat))/float64(b.N), "api_requests")
	b.Logf("%d SSE clients, %d events at %d/s: %d missed updates; %d API requests (%d failed): p50 %.1f ms, p95 %.1f ms, max %.1f ms; p95 /api/tables %.1f ms (%d), /api/dashboards/%s %.1f ms (%d)",
		loadSSEClients, sent, loadEventsPerSec, missed, len(lat), apiErrs, pct(0.50), pct(0.95), pct(1),
		q(byPath[0], 0.95), len(byPath[0]), dashName, q(byPath[1], 0.95), len(byPath[1]))
	if missed > 0 {
		b.Errorf("SSE clients missed %d updates (want 0)", missed)
	}
	if apiErrs > 0 {
		b.Errorf("%d API requests failed", apiErrs)
	}
	if p := pct(0.95); p > loadP95TargetMS {
		b.Errorf("p95 API latency %.1f ms, target ≤ %d ms", p, loadP95TargetMS)
	}
}

// apiLatency is an API request's time; path indexes sseLoad's paths.
type apiLatency struct {
	path int
	d    time.Duration
}

func get(c *http.Client, url string) (int, string) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sseLoad runs one round of the load: it returns the API latencies, the
// missed updates (summed over clients), the events sent and the failed API
// requests.
func sseLoad(b *testing.B, s *Server, client *http.Client, base, dashName string, tables []TableInfo) ([]apiLatency, int64, int64, int64) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	// The broker's ids continue across rounds: clients expect the ids after
	// the current one.
	s.broker.mu.Lock()
	first := s.broker.seq + 1
	s.broker.mu.Unlock()
	total := uint64(time.Duration(loadEventsPerSec) * loadDuration / time.Second)
	last := first + total - 1

	// SSE clients: each counts the ids it did not see.
	var missed atomic.Int64
	var clients, ready sync.WaitGroup
	dialErrs := make(chan error, loadSSEClients)
	for range loadSSEClients {
		clients.Add(1)
		ready.Add(1)
		go func() {
			defer clients.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
			resp, err := client.Do(req)
			if err != nil {
				dialErrs <- err
				ready.Done()
				missed.Add(int64(total))
				return
			}
			defer resp.Body.Close()
			ready.Done()
			next := first
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line := sc.Text()
				if !strings.HasPrefix(line, "id: ") {
					continue
				}
				id, err := strconv.ParseUint(line[4:], 10, 64)
				if err != nil || id < next {
					continue
				}
				missed.Add(int64(id - next)) // a gap: dropped events
				next = id + 1
				if id >= last {
					return
				}
			}
			missed.Add(int64(last + 1 - next)) // never received
		}()
	}
	ready.Wait()
	close(dialErrs)
	for err := range dialErrs {
		b.Errorf("SSE client: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.broker.count() < loadSSEClients {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d SSE clients subscribed", s.broker.count(), loadSSEClients)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// API clients, until the events are all sent.
	stop := make(chan struct{})
	var apiWG sync.WaitGroup
	var mu sync.Mutex
	var lat []apiLatency
	var apiErrs atomic.Int64
	paths := []string{"/api/tables", "/api/dashboards/" + dashName}
	for i := range loadAPIClients {
		apiWG.Add(1)
		go func() {
			defer apiWG.Done()
			var mine []apiLatency
			defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
			for j := i; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				code, body := get(client, base+paths[j%len(paths)])
				mine = append(mine, apiLatency{j % len(paths), time.Since(start)})
				if code != http.StatusOK {
					apiErrs.Add(1)
					if apiErrs.Load() <= 3 {
						b.Logf("GET %s: %d %.200s", paths[j%len(paths)], code, body)
					}
				}
			}
		}()
	}

	// Commits at loadEventsPerSec, paced every millisecond.
	start := time.Now()
	var n uint64
	version := int64(0)
	for n < total {
		due := min(total, uint64(time.Since(start)*time.Duration(loadEventsPerSec)/time.Second))
		for ; n < due; n++ {
			version++
			s.Notify(tables[int(n)%len(tables)].Name, version)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	close(stop)
	apiWG.Wait()

	// Let the clients drain what is in flight.
	done := make(chan struct{})
	go func() { clients.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cancel()
		<-done
	}
	if rate := float64(n) / elapsed.Seconds(); rate < 0.9*float64(loadEventsPerSec) {
		b.Logf("sent %d events in %s: %.0f/s, below %d/s", n, elapsed, rate, loadEventsPerSec)
	}
	return lat, missed.Load(), int64(n), apiErrs.Load()
}
