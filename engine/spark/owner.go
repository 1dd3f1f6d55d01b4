package spark

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/spark-connect-go/spark/client/channel"
	"github.com/apache/spark-connect-go/spark/sql"
	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/credentials/oauth"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/medallionhq/medallion/engine"
)

// The owner of kind spark: a process holds one Spark Connect session per
// project (one gRPC connection, one session on the server, its settings
// and functions defined once), and the project's engine sessions — runs,
// HTTP queries, dashboards, pgwire — share it instead of each opening a
// remote session. An engine session's temporary views are named with a
// prefix of its own (__m_<tag>_s<N>_…, see remoteSession.tag), so what
// one session binds is invisible to the others' SQL, and Release and
// Close drop only its own views.

func init() {
	engine.RegisterOwner(Kind, openOwner)
}

// sessionsOpened counts the Spark Connect sessions this process opened
// (tests check that an owner opens one).
var sessionsOpened atomic.Int64

// remoteSession is a Spark Connect session whose gRPC connection and
// server-side session can be closed: the client library's Stop does
// neither, so the connection is built here and the session id is read off
// the first request.
type remoteSession struct {
	sess    sql.SparkSession
	conn    *grpc.ClientConn
	headers map[string]string

	mu   sync.Mutex
	id   string        // the server session id, from the first request
	user proto.Message // the requests' UserContext
	// cached are the temporary views holding cached rows (CACHE TABLE)
	// that exist in the session: Spark keeps cached rows in the server's
	// shared cache, not in the session, so close uncaches them before it
	// releases the session.
	cached map[string]bool
}

// tag is the first 12 hex digits of the session id: the names of the
// relations the session caches hold it, so that the server's cache reaper
// (scripts/spark-reaper) can uncache them when the session closes without
// its client (a killed run: its session expires).
func (r *remoteSession) tag() string {
	id := strings.ReplaceAll(r.sessionID(), "-", "")
	return strings.ToLower(id[:min(12, len(id))])
}

// cachedView records that the view v holds cached rows (on) or was
// dropped (off).
func (r *remoteSession) cachedView(v string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !on {
		delete(r.cached, v)
		return
	}
	if r.cached == nil {
		r.cached = map[string]bool{}
	}
	r.cached[v] = true
}

// uncache uncaches the cached views the session still holds: releasing a
// session does not drop its cached rows from the server's cache.
func (r *remoteSession) uncache(ctx context.Context) error {
	r.mu.Lock()
	views := make([]string, 0, len(r.cached))
	for v := range r.cached {
		views = append(views, v)
	}
	r.cached = nil
	r.mu.Unlock()
	var errs []error
	for _, v := range views {
		if _, err := r.sess.Sql(ctx, "UNCACHE TABLE IF EXISTS "+backtick(v)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// capture records the session id and user context of a request.
func (r *remoteSession) capture(req any) {
	m, ok := req.(proto.Message)
	if !ok {
		return
	}
	msg := m.ProtoReflect()
	fields := msg.Descriptor().Fields()
	sid, uc := fields.ByName("session_id"), fields.ByName("user_context")
	if sid == nil || sid.Kind() != protoreflect.StringKind {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.id != "" {
		return
	}
	r.id = msg.Get(sid).String()
	if uc != nil && uc.Kind() == protoreflect.MessageKind && msg.Has(uc) {
		r.user = proto.Clone(msg.Get(uc).Message().Interface())
	}
}

// sessionID is the server session's id ("" before the first request).
func (r *remoteSession) sessionID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}

// builder is the client's channel builder with a connection this package
// keeps (to close it) and interceptors that capture the session id.
type builder struct {
	*channel.BaseBuilder
	r *remoteSession
}

// Build dials the server the way channel.BaseBuilder does (TLS and a
// bearer token when the address carries one, plain text otherwise).
func (b *builder) Build(ctx context.Context) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{grpc.WithAuthority(b.Host())}
	if b.Token() == "" {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		roots, err := x509.SystemCertPool()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots})),
			grpc.WithPerRPCCredentials(oauth.TokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: b.Token(), TokenType: "bearer"})}))
	}
	opts = append(opts,
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, o ...grpc.CallOption) error {
			b.r.capture(req)
			return invoker(ctx, method, req, reply, cc, o...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, o...)
			if err != nil {
				return nil, err
			}
			return &capturing{ClientStream: s, r: b.r}, nil
		}))
	conn, err := grpc.NewClient(b.Host()+":"+strconv.Itoa(b.Port()), opts...)
	if err != nil {
		return nil, err
	}
	b.r.conn = conn
	return conn, nil
}

// capturing is a client stream whose requests are captured.
type capturing struct {
	grpc.ClientStream
	r *remoteSession
}

func (c *capturing) SendMsg(m any) error {
	c.r.capture(m)
	return c.ClientStream.SendMsg(m)
}

// connect opens a Spark Connect session to remote.
func connect(ctx context.Context, remote string) (*remoteSession, error) {
	base, err := channel.NewBuilder(remote)
	if err != nil {
		return nil, err
	}
	r := &remoteSession{headers: base.Headers()}
	sess, err := sql.NewSessionBuilder().WithChannelBuilder(&builder{BaseBuilder: base, r: r}).Build(ctx)
	if err != nil {
		if r.conn != nil {
			r.conn.Close()
		}
		return nil, err
	}
	r.sess = sess
	sessionsOpened.Add(1)
	return r, nil
}

// close uncaches the session's cached views, releases the server session
// (its temporary views go with it; its cached rows would not) and closes
// the connection.
func (r *remoteSession) close() error {
	var err error
	if id := r.sessionID(); id != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = errors.Join(r.uncache(ctx), r.release(ctx, id))
		cancel()
	}
	if r.conn != nil {
		err = errors.Join(err, r.conn.Close())
	}
	return err
}

// release sends ReleaseSession for id. The request is built from the
// descriptors the client registers (its generated package is internal).
func (r *remoteSession) release(ctx context.Context, id string) error {
	reqType, err := protoregistry.GlobalTypes.FindMessageByName("spark.connect.ReleaseSessionRequest")
	if err != nil {
		return err
	}
	respType, err := protoregistry.GlobalTypes.FindMessageByName("spark.connect.ReleaseSessionResponse")
	if err != nil {
		return err
	}
	req := reqType.New()
	fields := req.Descriptor().Fields()
	req.Set(fields.ByName("session_id"), protoreflect.ValueOfString(id))
	r.mu.Lock()
	user := r.user
	r.mu.Unlock()
	if uc := fields.ByName("user_context"); uc != nil && user != nil {
		req.Set(uc, protoreflect.ValueOfMessage(user.ProtoReflect()))
	}
	md := metadata.MD{}
	for k, v := range r.headers {
		md.Append(k, v)
	}
	return r.conn.Invoke(metadata.NewOutgoingContext(ctx, md), "/spark.connect.SparkConnectService/ReleaseSession", req.Interface(), respType.New().Interface())
}

// ReleaseSession releases the Spark Connect session id on the server of
// st: the session of a process that died without releasing it (SIGKILL),
// which the server would otherwise keep until
// spark.connect.session.manager.defaultSessionTimeout. With the cache
// reaper on the server (scripts/spark-reaper) its cached relations go
// with it. The id is the one `--trace` prints ("engine spark session …").
func ReleaseSession(ctx context.Context, st Settings, id string) error {
	remote, secrets, err := st.remote()
	if err != nil {
		return err
	}
	rs, err := connect(ctx, remote)
	if err != nil {
		return fmt.Errorf("spark: connect to %s: %s", redact(remote, secrets...), redact(err.Error(), secrets...))
	}
	// One request first: the user context the release must carry.
	_, err = rs.sess.Sql(ctx, "SELECT 1")
	if err == nil {
		err = rs.release(ctx, id)
	}
	if cerr := rs.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spark: release session %s: %s", id, redact(err.Error(), secrets...))
	}
	return nil
}

// Owner is the engine.Owner of kind spark: one Spark Connect session
// shared by engine sessions, each with a temporary-view namespace of its
// own.
type Owner struct {
	rs      *remoteSession
	secrets []string
	sandbox bool

	mu     sync.Mutex
	seq    int
	open   int
	closed bool
}

var _ engine.Owner = (*Owner)(nil)

func openOwner(ctx context.Context, cfg *engine.Config) (engine.Owner, error) {
	st, err := decode(cfg.Settings)
	if err != nil {
		return nil, fmt.Errorf("spark: engine.spark.%w", err)
	}
	o, err := OpenOwner(ctx, st)
	if err != nil {
		return nil, err
	}
	o.sandbox = cfg.Sandbox != nil
	return o, nil
}

// OpenOwner connects one Spark Connect session to the server of st and
// prepares it for medallion's SQL; its engine sessions share it.
func OpenOwner(ctx context.Context, st Settings) (*Owner, error) {
	rs, secrets, err := openRemote(ctx, st)
	if err != nil {
		return nil, err
	}
	return &Owner{rs: rs, secrets: secrets}, nil
}

// openRemote connects to st's server and prepares the session: the
// settings medallion's SQL needs and the functions it defines.
func openRemote(ctx context.Context, st Settings) (*remoteSession, []string, error) {
	remote, secrets, err := st.remote()
	if err != nil {
		return nil, nil, err
	}
	rs, err := connect(ctx, remote)
	if err != nil {
		return nil, nil, fmt.Errorf("spark: connect to %s: %s", redact(remote, secrets...), redact(err.Error(), secrets...))
	}
	e := &Engine{secrets: secrets}
	for _, kv := range [][2]string{
		{"spark.sql.parser.escapedStringLiterals", "true"}, // 'a\s' as DuckDB reads it
		{"spark.sql.session.timeZone", "UTC"},
		// A temporary view keeps the plan it was created with: a cached
		// relation (CACHE TABLE … AS) is then found again when read, and
		// keeps its rows when the names it read are bound again.
		{"spark.sql.legacy.storeAnalyzedPlanForView", "true"},
		// Write: Parquet timestamps as Delta and medallion read them.
		{"spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS"},
	} {
		if err := rs.sess.Config().Set(ctx, kv[0], kv[1]); err != nil {
			rs.close()
			return nil, nil, e.wrap("set "+kv[0], err)
		}
	}
	for _, stmt := range functions() {
		if _, err := rs.sess.Sql(ctx, stmt); err != nil {
			rs.close()
			return nil, nil, e.wrap("define functions", err)
		}
	}
	return rs, secrets, nil
}

// Session opens an engine session on the owner's Spark session. Closing
// it drops the temporary views it created; the Spark session stays.
func (o *Owner) Session(ctx context.Context, opts engine.SessionOptions) (engine.Engine, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, errors.New("spark: session of a closed owner")
	}
	o.seq++
	o.open++
	if opts.Trace != nil {
		// Which server session the trace's statements run in (the
		// server's logs name it; ReleaseSession takes it).
		fmt.Fprintf(opts.Trace, "engine spark session %s, views __m_%s_s%d_…\n", o.rs.sessionID(), o.rs.tag(), o.seq)
	}
	return &Engine{
		sess: traced(o.rs.sess, opts.Trace), secrets: o.secrets, owner: o, prefix: o.rs.tag() + "_s" + strconv.Itoa(o.seq) + "_",
		rels: map[string]*relation{}, created: map[string]bool{}, sealed: o.sandbox,
	}, nil
}

// Sessions is the number of engine sessions open.
func (o *Owner) Sessions() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.open
}

func (o *Owner) done() {
	o.mu.Lock()
	o.open--
	o.mu.Unlock()
}

func (o *Owner) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// Close releases the Spark session on the server and closes the
// connection; engine sessions still open fail from then on.
func (o *Owner) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	if err := o.rs.close(); err != nil {
		return fmt.Errorf("spark: close: %s", redact(err.Error(), o.secrets...))
	}
	return nil
}

// closeSession drops the temporary views a session of an owner created.
func (e *Engine) closeSession() error {
	if e.closed {
		return nil
	}
	e.closed = true
	defer e.owner.done()
	if e.owner.isClosed() {
		return nil // the server session and its views are gone
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for name := range e.made {
		if _, err := e.sess.Sql(ctx, "DROP VIEW IF EXISTS "+backtick(e.viewName(name))); err != nil {
			errs = append(errs, e.wrap("close: drop "+name, err))
		} else {
			e.remote().cachedView(e.viewName(name), false)
		}
	}
	e.created, e.made, e.rels = map[string]bool{}, map[string]bool{}, map[string]*relation{}
	return errors.Join(errs...)
}
