// Package web is the HTTP backend of `medallion serve`: a JSON API over a
// project's lake (tables, history, previews, read-only SQL, runs, the
// pipeline DAG), Prometheus metrics, health probes and a Server-Sent Events
// stream of commits.
//
// Security model (README "Security"): by default the server listens on
// loopback only; binding any other address requires a token, and then
// every request except /healthz must carry it ("Authorization: Bearer
// <token>"; ?token= on /api/events, which EventSource cannot give
// headers; the UI page takes ?token= once and keeps it in a strict
// same-site cookie for its static files). Requests naming a foreign Host
// or Origin get 403, POST bodies not declared application/json 415 (guard).
// SQL runs in a sandboxed engine session, must parse as exactly one
// read-only query, and is limited in rows, bytes, time and memory
// (runQuery).
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/medallionhq/medallion/pipeline"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of Options.
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultQueryTimeout = 10 * time.Second
	DefaultQueryMaxRows = 10000
	// DefaultQueryMaxBytes is the default cap of a query answer's JSON.
	DefaultQueryMaxBytes = 32 << 20
	// DefaultQueryMemoryLimit is the default engine memory limit of a
	// query session.
	DefaultQueryMemoryLimit = "1GB"
)

// Options configure a Server.
type Options struct {
	// Addr is the listen address (default 127.0.0.1:8080).
	Addr string
	// Token is required (non-empty) when Addr does not bind to loopback;
	// then every request except /healthz needs
	// "Authorization: Bearer <token>" (or ?token= on /api/events). When set,
	// it is enforced on loopback too.
	Token string
	// QueryTimeout bounds every SQL statement (default 10s).
	QueryTimeout time.Duration
	// QueryMaxRows caps the rows a query or preview returns (default 10000).
	QueryMaxRows int
	// QueryMaxBytes caps the JSON size of one query's rows (default
	// serve.query_max_bytes, else 32 MB): a bigger answer is an error.
	QueryMaxBytes int64
	// QueryMemoryLimit is the engine memory limit of a query session
	// (default serve.query_memory_limit, else 1GB).
	QueryMemoryLimit string
	// AllowedHosts are further names the Host header may carry (added to
	// serve.allowed_hosts).
	AllowedHosts []string
	// Registry serves /metrics; nil means a new one.
	Registry *prometheus.Registry
	// Log receives one line per notable event (errors, start, stop).
	Log func(string)
	// Jobs, when set, serves GET /api/jobs and POST /api/jobs/{name}/run.
	Jobs Jobs
	// Building, when set, reports whether a run is in progress: a panel
	// whose tables are not built yet then says "building…" rather than
	// "not built".
	Building func() bool
	// Dashboards, when non-nil, replace the project's dashboards (by
	// default dashboards/*.yaml of the project, or the built-in e-commerce
	// dashboard for the built-in project).
	Dashboards []pipeline.Dashboard
}

// Jobs is the scheduler as the API sees it.
type Jobs interface {
	// List describes every job and its latest runs.
	List(ctx context.Context) ([]JobStatus, error)
	// Trigger starts a job by hand (coalesced with a run in progress).
	Trigger(name string) error
}

// JobStatus is a job in GET /api/jobs.
type JobStatus struct {
	Name     string   `json:"name"`
	Select   []string `json:"select"`
	Schedule string   `json:"schedule,omitempty"`
	Runs     []any    `json:"runs"`
}

// Server is the HTTP backend.
type Server struct {
	proj    *pipeline.Project
	opts    Options
	handler http.Handler
	broker  *broker
	metrics *metrics

	// heartbeat is the interval of SSE comment lines (15s; tests shorten it).
	heartbeat time.Duration
	// heartbeats, when set, replaces the heartbeat ticker: tests send the
	// beats themselves instead of waiting for a clock.
	heartbeats <-chan time.Time

	dashCache dashCache
	infos     infoCache
	lakeMu    sync.Mutex
	lake      *pipeline.Lake

	hosts hostPolicy

	stopOnce sync.Once
	stop     chan struct{} // closed when Serve shuts down: ends SSE streams
}

// New validates opts and builds the server. A non-loopback Addr without a
// Token is an error.
func New(proj *pipeline.Project, opts Options) (*Server, error) {
	if proj == nil {
		return nil, errors.New("web: nil project")
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.QueryMaxRows <= 0 {
		opts.QueryMaxRows = DefaultQueryMaxRows
	}
	sc := proj.Config.Serve
	if opts.QueryMaxBytes <= 0 && sc.QueryMaxBytes != "" {
		n, err := pipeline.ParseBytes(sc.QueryMaxBytes)
		if err != nil {
			return nil, fmt.Errorf("web: serve.query_max_bytes: %w", err)
		}
		opts.QueryMaxBytes = n
	}
	if opts.QueryMaxBytes <= 0 {
		opts.QueryMaxBytes = DefaultQueryMaxBytes
	}
	if opts.QueryMemoryLimit == "" {
		opts.QueryMemoryLimit = sc.QueryMemoryLimit
	}
	if opts.QueryMemoryLimit == "" {
		opts.QueryMemoryLimit = DefaultQueryMemoryLimit
	}
	opts.AllowedHosts = append(slices.Clone(sc.AllowedHosts), opts.AllowedHosts...)
	for _, h := range opts.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/@ ") || strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
			return nil, fmt.Errorf("web: allowed host %q is not a host name (no scheme, port or path: e.g. medallion.example.com)", h)
		}
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	loop, err := isLoopback(opts.Addr)
	if err != nil {
		return nil, err
	}
	if !loop && opts.Token == "" {
		return nil, fmt.Errorf("web: --addr %s is not a loopback address: set --token (clients then send \"Authorization: Bearer <token>\"), or bind 127.0.0.1", opts.Addr)
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{
		proj:      proj,
		opts:      opts,
		broker:    newBroker(clientBuffer),
		metrics:   m,
		heartbeat: 15 * time.Second,
		stop:      make(chan struct{}),
		hosts:     newHostPolicy(opts.Addr, opts.AllowedHosts),
	}
	s.handler = s.routes()
	return s, nil
}

// isLoopback reports whether addr binds only to a loopback interface. An
// empty host (":8080") binds every interface.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("web: --addr %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback(), nil
}

// Handler is the server's HTTP handler (auth, metrics and every route).
func (s *Server) Handler() http.Handler { return s.handler }

// Addr is the configured listen address.
func (s *Server) Addr() string { return s.opts.Addr }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /api/tables", s.tables)
	mux.HandleFunc("GET /api/tables/{name}", s.table)
	mux.HandleFunc("GET /api/tables/{name}/preview", s.preview)
	mux.HandleFunc("POST /api/query", s.query)
	mux.HandleFunc("GET /api/runs", s.runs)
	mux.HandleFunc("GET /api/pipeline", s.pipeline)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("GET /api/jobs", s.jobs)
	mux.HandleFunc("POST /api/jobs/{name}/run", s.runJob)
	mux.HandleFunc("GET /api/dashboards", s.dashboards)
	mux.HandleFunc("GET /api/dashboards/{name}", s.dashboardData)
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /index.html", s.index)
	mux.Handle("GET /assets/", s.assets())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
	return s.instrument(s.guard(s.auth(mux)))
}

// Serve listens on Addr until ctx ends, then shuts down gracefully: SSE
// streams are closed and in-flight requests get up to 10s to finish.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("web: listen: %w", err)
	}
	return s.serve(ctx, ln)
}

func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(s.shutdownStreams)
	s.opts.Log(fmt.Sprintf("serving %s on http://%s", s.proj.Config.Name, ln.Addr()))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.shutdownStreams()
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	<-errc
	s.opts.Log("stopped")
	return err
}

func (s *Server) shutdownStreams() { s.stopOnce.Do(func() { close(s.stop) }) }

// writeJSON writes v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]string{"error": "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte("\n"))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// jsonValue makes an engine value JSON-encodable: NaN and infinities become
// strings, unknown types their fmt form.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int, int8, int16, int32, int64, uint8, uint16, uint32, uint64, time.Time:
		return v
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
		return v
	case float32:
		return jsonValue(float64(x))
	case []byte:
		return v
	}
	if _, err := json.Marshal(v); err != nil {
		return fmt.Sprint(v)
	}
	return v
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request) {
	if s.opts.Jobs == nil {
		writeJSON(w, http.StatusOK, []JobStatus{})
		return
	}
	list, err := s.opts.Jobs.List(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) runJob(w http.ResponseWriter, r *http.Request) {
	if s.opts.Jobs == nil {
		writeError(w, http.StatusNotFound, "this server runs no jobs (define jobs: in medallion.yaml)")
		return
	}
	name := r.PathValue("name")
	if err := s.opts.Jobs.Trigger(name); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job": name, "status": "triggered"})
}
