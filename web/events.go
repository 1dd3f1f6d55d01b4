package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// clientBuffer is how many events an SSE client may lag behind. When its
// buffer is full, Notify drops the client's oldest pending event to make room
// (it never blocks); every event carries an increasing id, so a client that
// sees a gap knows it missed commits and can refetch /api/tables.
const clientBuffer = 1024

type event struct {
	id   uint64
	name string
	data []byte
}

type broker struct {
	size    int
	mu      sync.Mutex
	seq     uint64
	clients map[chan event]struct{}
	dropped uint64
}

func newBroker(size int) *broker {
	return &broker{size: size, clients: map[chan event]struct{}{}}
}

func (b *broker) subscribe() chan event {
	ch := make(chan event, b.size)
	b.mu.Lock()
	b.clients[ch] = struct{}{}
	b.mu.Unlock()
	return ch
}

func (b *broker) unsubscribe(ch chan event) {
	b.mu.Lock()
	delete(b.clients, ch)
	b.mu.Unlock()
}

func (b *broker) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.clients)
}

// publish sends an event to every client without blocking; it returns how
// many pending events were dropped to make room.
func (b *broker) publish(name string, data []byte) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev := event{id: b.seq, name: name, data: data}
	dropped := 0
	for ch := range b.clients {
		for {
			select {
			case ch <- ev:
			default:
				// Full: drop the oldest (the reader may have taken one meanwhile).
				select {
				case <-ch:
					dropped++
				default:
				}
				continue
			}
			break
		}
	}
	b.dropped += uint64(dropped)
	return dropped
}

// Notify is called after a commit: it pushes a "commit" event
// {table, version, time} to every SSE client. It never blocks on slow
// clients (see clientBuffer).
func (s *Server) Notify(table string, version int64) {
	data, _ := json.Marshal(map[string]any{"table": table, "version": version, "time": time.Now().UTC()})
	if n := s.broker.publish("commit", data); n > 0 {
		s.metrics.sseDropped.Add(float64(n))
	}
	s.metrics.notifies.Inc()
}

// events streams Server-Sent Events: "hello" on connect, then one "commit"
// per Notify, and a comment line every heartbeat.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ch := s.broker.subscribe()
	defer s.broker.unsubscribe(ch)
	s.metrics.sseClients.Inc()
	defer s.metrics.sseClients.Dec()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	hello, _ := json.Marshal(map[string]any{"project": s.proj.Config.Name, "time": time.Now().UTC()})
	if writeEvent(w, event{name: "hello", data: hello}) != nil || rc.Flush() != nil {
		return
	}
	beats := s.heartbeats
	if beats == nil {
		tick := time.NewTicker(s.heartbeat)
		defer tick.Stop()
		beats = tick.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case ev := <-ch:
			// Write what is queued, then flush once: under a burst of
			// commits a client gets them in one packet instead of one
			// write and flush each.
			if writeEvent(w, ev) != nil {
				return
			}
		drain:
			for {
				select {
				case ev := <-ch:
					if writeEvent(w, ev) != nil {
						return
					}
				default:
					break drain
				}
			}
			if rc.Flush() != nil {
				return
			}
		case <-beats:
			if _, err := fmt.Fprintf(w, ": heartbeat %s\n\n", time.Now().UTC().Format(time.RFC3339)); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

func writeEvent(w http.ResponseWriter, ev event) error {
	var sb strings.Builder
	if ev.id > 0 {
		fmt.Fprintf(&sb, "id: %d\n", ev.id)
	}
	fmt.Fprintf(&sb, "event: %s\n", ev.name)
	for _, line := range strings.Split(string(ev.data), "\n") {
		sb.WriteString("data: " + line + "\n")
	}
	sb.WriteString("\n")
	_, err := w.Write([]byte(sb.String()))
	return err
}

type metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	sseClients prometheus.Gauge
	sseDropped prometheus.Counter
	notifies   prometheus.Counter
	queries    *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medallion_web_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "medallion_web_request_duration_seconds", Help: "HTTP request duration by route (SSE excluded).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "medallion_web_sse_clients", Help: "Connected Server-Sent Events clients.",
		}),
		sseDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "medallion_web_sse_dropped_events_total", Help: "Events dropped because a client's buffer was full.",
		}),
		notifies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "medallion_web_commit_notifications_total", Help: "Commits announced through Notify.",
		}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "medallion_web_queries_total", Help: "SQL queries by outcome (ok, truncated, rejected, timeout, error).",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.sseClients, m.sseDropped, m.notifies, m.queries} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("web: register metrics: %w", err)
		}
	}
	return m, nil
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route is a low-cardinality label for a request path.
func route(path string) string {
	switch {
	case path == "/healthz", path == "/readyz", path == "/metrics", path == "/api/tables",
		path == "/api/query", path == "/api/runs", path == "/api/pipeline", path == "/api/events":
		return path
	case strings.HasPrefix(path, "/api/tables/") && strings.HasSuffix(path, "/preview"):
		return "/api/tables/{name}/preview"
	case strings.HasPrefix(path, "/api/tables/"):
		return "/api/tables/{name}"
	}
	return "other"
}

func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		rt := route(r.URL.Path)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(rt, fmt.Sprint(sw.code)).Inc()
		if rt != "/api/events" {
			s.metrics.duration.WithLabelValues(rt).Observe(time.Since(start).Seconds())
		}
		if sw.code >= 500 {
			s.opts.Log(fmt.Sprintf("%s %s: %d", r.Method, r.URL.Path, sw.code))
		}
	})
}
