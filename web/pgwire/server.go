// Package pgwire serves a project's lake over the Postgres wire protocol
// (`medallion serve --pg-addr`), read-only, so that psql, BI tools and
// Postgres drivers can query it. The codec is pgx's pgproto3; queries run
// in the same sandboxed engine sessions as the HTTP API
// (pipeline.Session): exactly one read-only statement as the engine's
// parser reads it, files only inside the lake, limits on time, rows,
// answer size and memory.
//
// Layers are schemas (bronze, silver, gold, medallion), tables are
// tables. Each connection has its own session; before each query it is
// refreshed to the tables' latest versions (inside BEGIN … COMMIT, once
// at the first query), so a query sees one consistent snapshot and a
// commit is visible to the next query.
//
// Auth: without a token only loopback clients may connect (any user and
// database name); with a token the password must equal it, checked by
// SCRAM-SHA-256 (the token never crosses the wire). TLS is optional
// (certificate and key files).
package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/medallionhq/medallion/pipeline"
)

// Defaults of Options.
const (
	DefaultMaxConns         = 64
	DefaultQueryTimeout     = 10 * time.Second
	DefaultQueryMaxRows     = 10000
	DefaultQueryMaxBytes    = 32 << 20
	DefaultQueryMemoryLimit = "1GB"
)

// maxMessage bounds one client message (a query text and its
// parameters): a larger one closes the connection.
const maxMessage = 16 << 20

// Options configure a Server.
type Options struct {
	// Addr is the listen address, e.g. 127.0.0.1:5433.
	Addr string
	// Token, when set, is the password every client must give (checked
	// by SCRAM-SHA-256). Without it only loopback clients are accepted,
	// and a non-loopback Addr is an error.
	Token string
	// TLSCert and TLSKey are PEM files; with them the server accepts TLS
	// (clients ask with sslmode=require).
	TLSCert, TLSKey string
	// MaxConns caps concurrent connections (default 64); one more gets
	// SQLSTATE 53300.
	MaxConns int
	// QueryTimeout bounds every statement (default 10s): SQLSTATE 57014.
	QueryTimeout time.Duration
	// QueryMaxRows caps the rows of one answer (default 10000); a larger
	// answer is an error (SQLSTATE 53400), never silently cut.
	QueryMaxRows int
	// QueryMaxBytes caps the encoded size of one answer's rows (default
	// 32 MB): SQLSTATE 53400.
	QueryMaxBytes int64
	// QueryMemoryLimit is each session's engine memory limit (default 1GB).
	QueryMemoryLimit string
	// Log receives one line per notable event.
	Log func(string)
}

// Server answers Postgres clients over one listener.
type Server struct {
	proj *pipeline.Project
	opts Options
	ln   net.Listener
	tls  *tls.Config
	sem  chan struct{}

	mu     sync.Mutex
	conns  map[uint32]*conn
	nextID uint32
	wg     sync.WaitGroup
}

// New validates opts and listens on opts.Addr.
func New(proj *pipeline.Project, opts Options) (*Server, error) {
	if opts.Addr == "" {
		return nil, errors.New("pgwire: no listen address")
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.QueryMaxRows <= 0 {
		opts.QueryMaxRows = DefaultQueryMaxRows
	}
	if opts.QueryMaxBytes <= 0 {
		opts.QueryMaxBytes = DefaultQueryMaxBytes
	}
	if opts.QueryMemoryLimit == "" {
		opts.QueryMemoryLimit = DefaultQueryMemoryLimit
	}
	if opts.Log == nil {
		opts.Log = func(string) {}
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("pgwire: --pg-addr / serve.pg_addr %q: %w", opts.Addr, err)
	}
	if opts.Token == "" && !loopbackHost(host) {
		return nil, fmt.Errorf("pgwire: --pg-addr / serve.pg_addr %s is not a loopback address: set --token (clients then give it as their password)", opts.Addr)
	}
	s := &Server{proj: proj, opts: opts, sem: make(chan struct{}, opts.MaxConns), conns: map[uint32]*conn{}}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return nil, errors.New("pgwire: TLS needs both a certificate (--pg-tls-cert) and a key (--pg-tls-key)")
	}
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("pgwire: TLS certificate %s / key %s: %w", opts.TLSCert, opts.TLSKey, err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("pgwire: %w", err)
	}
	s.ln = ln
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve accepts connections until ctx ends, then closes them all.
func (s *Server) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
	}()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.wg.Wait()
			return fmt.Errorf("pgwire: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				if r := recover(); r != nil { // one connection's bug must not stop the server
					s.opts.Log(fmt.Sprintf("pgwire: connection from %s: panic: %v", nc.RemoteAddr(), r))
					nc.Close()
				}
			}()
			s.handle(ctx, nc)
		}()
	}
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func loopbackAddr(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// handle runs the startup phase of one connection, then its session.
func (s *Server) handle(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	be := pgproto3.NewBackend(nc, nc)
	be.SetMaxBodyLen(maxMessage)
	secure := false
	var startup *pgproto3.StartupMessage
	for startup == nil {
		_ = nc.SetReadDeadline(time.Now().Add(30 * time.Second))
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if s.tls == nil || secure {
				if _, err := nc.Write([]byte{'N'}); err != nil {
					return
				}
				continue
			}
			if _, err := nc.Write([]byte{'S'}); err != nil {
				return
			}
			tc := tls.Server(nc, s.tls)
			if err := tc.HandshakeContext(ctx); err != nil {
				return
			}
			nc, secure = tc, true
			defer tc.Close()
			be = pgproto3.NewBackend(nc, nc)
			be.SetMaxBodyLen(maxMessage)
		case *pgproto3.GSSEncRequest:
			if _, err := nc.Write([]byte{'N'}); err != nil {
				return
			}
		case *pgproto3.CancelRequest:
			s.cancel(m.ProcessID, m.SecretKey)
			return
		case *pgproto3.StartupMessage:
			startup = &pgproto3.StartupMessage{ProtocolVersion: m.ProtocolVersion, Parameters: map[string]string{}}
			for k, v := range m.Parameters {
				startup.Parameters[k] = v
			}
		}
	}
	_ = nc.SetReadDeadline(time.Time{})
	fatal := func(code, msg string) {
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
		_ = be.Flush()
	}
	if startup.ProtocolVersion != pgproto3.ProtocolVersion30 {
		// 3.2 clients fall back to 3.0 when told (4-byte cancel keys).
		be.Send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0})
	}
	if s.opts.Token == "" && !loopbackAddr(nc.RemoteAddr()) {
		fatal("28000", "medallion: only loopback clients may connect without a token (start serve with --token)")
		return
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		fatal("53300", fmt.Sprintf("medallion: too many connections (the server's limit is %d, --pg-max-conns)", s.opts.MaxConns))
		return
	}
	if s.opts.Token != "" {
		if err := scramAuth(be, s.opts.Token); err != nil {
			fatal("28P01", "medallion: password authentication failed: "+err.Error())
			return
		}
	}
	ss, err := pipeline.OpenSessionWith(ctx, s.proj, pipeline.SessionOptions{MemoryLimit: s.opts.QueryMemoryLimit})
	if err != nil {
		fatal("58000", "medallion: cannot open the lake: "+err.Error())
		return
	}
	defer ss.Close()
	c := &conn{srv: s, nc: nc, be: be, ss: ss, settings: defaultSettings(s.proj.Config.Name), tr: s.translator(), stmts: map[string]*statement{}, portals: map[string]*portal{}}
	c.tr.lake = s.connLakeState(ctx, ss, c.settings)
	for k, v := range startup.Parameters {
		switch k {
		case "user", "database", "replication":
		case "options":
		default:
			c.settings.set(k, v)
		}
	}
	c.user = startup.Parameters["user"]
	c.id, c.key = s.register(c)
	defer s.unregister(c.id)
	be.Send(&pgproto3.AuthenticationOk{})
	for _, k := range reported {
		be.Send(&pgproto3.ParameterStatus{Name: k, Value: c.settings.get(k)})
	}
	be.Send(&pgproto3.BackendKeyData{ProcessID: c.id, SecretKey: c.key})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if err := be.Flush(); err != nil {
		return
	}
	c.loop(ctx)
}

// translator knows the project's views (which stay views in the catalog).
func (s *Server) translator() *translator {
	t := &translator{database: s.proj.Config.Name}
	for _, m := range s.proj.Models {
		if m.Materialized == pipeline.View {
			_, name, _ := strings.Cut(m.Name, ".")
			t.views = append(t.views, name)
		}
	}
	return t
}

// register gives c a process id and secret key for cancel requests.
func (s *Server) register(c *conn) (uint32, []byte) {
	key := make([]byte, 4)
	_, _ = rand.Read(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id := s.nextID
	s.conns[id] = c
	return id, key
}

func (s *Server) unregister(id uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, id)
}

// cancel interrupts the statement running on connection pid when key
// matches (a wrong key is ignored, as Postgres does).
func (s *Server) cancel(pid uint32, key []byte) {
	s.mu.Lock()
	c := s.conns[pid]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(key, c.key) != 1 {
		return
	}
	c.cancelRunning()
}
