package pgwire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/medallionhq/medallion/engine"
	"github.com/medallionhq/medallion/pipeline"
)

// pgError is an error with its SQLSTATE.
type pgError struct {
	code, msg string
}

func (e *pgError) Error() string { return e.msg }

// statement is a prepared statement (Parse).
type statement struct {
	sql    string // as the client sent it
	kind   kind
	tag    string
	params []uint32 // parameter types: as declared, else as the engine infers
	cols   []column // nil until described
}

// portal is a bound statement (Bind) and, once run, its rows.
type portal struct {
	stmt    *statement
	lits    []string
	formats []int16
	res     *result
	sent    int
}

type column struct {
	name string
	oid  uint32
}

// result is the answer of one statement.
type result struct {
	cols []column
	rows [][]any
	tag  string
}

// conn is one client connection and its engine session.
type conn struct {
	srv      *Server
	nc       net.Conn
	be       *pgproto3.Backend
	ss       *pipeline.Session
	settings *settings
	tr       *translator
	user     string
	id       uint32
	key      []byte

	stmts   map[string]*statement
	portals map[string]*portal
	inTx    bool
	txError bool // a statement failed inside the transaction block
	fresh   bool // refreshed since the transaction began
	failed  bool // extended protocol: skip to Sync after an error

	mu       sync.Mutex
	cancel   context.CancelFunc
	canceled bool
}

// cancelRunning interrupts the statement running now, if any.
func (c *conn) cancelRunning() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.canceled = true
		c.cancel()
	}
}

func (c *conn) txStatus() byte {
	switch {
	case c.inTx && c.txError:
		return 'E'
	case c.inTx:
		return 'T'
	}
	return 'I'
}

// failTx marks the transaction block, if any, failed (as Postgres does:
// statements are refused until ROLLBACK or COMMIT).
func (c *conn) failTx() {
	if c.inTx {
		c.txError = true
	}
}

// loop answers messages until the client leaves.
func (c *conn) loop(ctx context.Context) {
	for {
		msg, err := c.be.Receive()
		if err != nil {
			return
		}
		if c.failed {
			switch msg.(type) {
			case *pgproto3.Sync:
			case *pgproto3.Terminate:
				return
			default:
				continue
			}
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			c.simple(ctx, m.String)
		case *pgproto3.Parse:
			err = c.parse(ctx, m.Name, m.Query, slices.Clone(m.ParameterOIDs))
			if err == nil {
				c.be.Send(&pgproto3.ParseComplete{})
			}
		case *pgproto3.Bind:
			err = c.bind(ctx, m)
			if err == nil {
				c.be.Send(&pgproto3.BindComplete{})
			}
		case *pgproto3.Describe:
			err = c.describe(ctx, m.ObjectType, m.Name)
		case *pgproto3.Execute:
			err = c.execute(ctx, m.Portal, int(m.MaxRows))
		case *pgproto3.Close:
			if m.ObjectType == 'S' {
				delete(c.stmts, m.Name)
			} else {
				delete(c.portals, m.Name)
			}
			c.be.Send(&pgproto3.CloseComplete{})
		case *pgproto3.Sync:
			c.failed = false
			delete(c.portals, "")
			c.be.Send(&pgproto3.ReadyForQuery{TxStatus: c.txStatus()})
		case *pgproto3.Flush:
		case *pgproto3.Terminate:
			return
		case *pgproto3.FunctionCall, *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			err = &pgError{code: "0A000", msg: "medallion: function calls and COPY are not supported"}
		default:
			err = &pgError{code: "08P01", msg: fmt.Sprintf("medallion: unexpected message %T", msg)}
		}
		if err != nil {
			c.sendError(err)
			c.failed = true
			c.failTx()
		}
		if err := c.be.Flush(); err != nil {
			return
		}
	}
}

// simple answers a simple-protocol Query: each statement in turn, text
// format, stopping at the first error.
func (c *conn) simple(ctx context.Context, sql string) {
	defer c.be.Send(&pgproto3.ReadyForQuery{TxStatus: c.txStatus()})
	stmts := splitStatements(sql)
	if len(stmts) == 0 {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for _, s := range stmts {
		k, tag := classify(s, c.settings)
		res, err := c.run(ctx, &statement{sql: s, kind: k, tag: tag}, nil)
		if err != nil {
			c.sendError(err)
			c.failTx()
			return
		}
		if res.cols != nil {
			c.be.Send(rowDescription(res.cols, nil))
		}
		for _, r := range res.rows {
			if err := c.sendRow(res.cols, nil, r); err != nil {
				c.sendError(err)
				return
			}
		}
		c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(res.tag)})
	}
}

func (c *conn) parse(ctx context.Context, name, sql string, oids []uint32) error {
	if _, ok := c.stmts[name]; ok && name != "" {
		return &pgError{code: "42P05", msg: fmt.Sprintf("prepared statement %q already exists", name)}
	}
	stmts := splitStatements(sql)
	if len(stmts) > 1 {
		return &pgError{code: "42601", msg: "medallion: cannot insert multiple commands into a prepared statement"}
	}
	k, tag := classify(sql, c.settings)
	st := &statement{sql: sql, kind: k, tag: tag, params: oids}
	if k == kindQuery {
		n := maxParam(sql)
		if len(st.params) < n {
			st.params = append(st.params, make([]uint32, n-len(st.params))...)
		}
		qctx, done := c.start(ctx)
		tr := c.tr.translate(sql)
		err := c.refresh(qctx)
		var types []string
		var cols []engine.Column
		if err == nil {
			types, cols, err = c.ss.Describe(qctx, tr)
		}
		done()
		if err != nil {
			return c.queryError(qctx, err)
		}
		casts := paramCasts(tr)
		for i := range st.params {
			if st.params[i] != 0 {
				continue
			}
			st.params[i] = pgtype.TextOID
			if i < len(types) && types[i] != "ANY" {
				st.params[i] = engineOID(types[i])
			} else if t, ok := casts[i+1]; ok {
				st.params[i] = engineOID(t)
			}
		}
		// With a parameter of unknown type the engine cannot tell the
		// columns yet: describe then runs the statement under LIMIT 0.
		if cols != nil && !slices.Contains(types, "ANY") {
			st.cols = make([]column, len(cols))
			for i, col := range cols {
				st.cols[i] = column{name: col.Name, oid: oidOf(col.Type)}
			}
		}
	}
	c.stmts[name] = st
	return nil
}

func (c *conn) bind(ctx context.Context, m *pgproto3.Bind) error {
	st := c.stmts[m.PreparedStatement]
	if st == nil {
		return &pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", m.PreparedStatement)}
	}
	if len(m.Parameters) != len(st.params) {
		return &pgError{code: "08P01", msg: fmt.Sprintf("bind message supplies %d parameters, but prepared statement %q requires %d", len(m.Parameters), m.PreparedStatement, len(st.params))}
	}
	p := &portal{stmt: st, formats: slices.Clone(m.ResultFormatCodes)}
	for i, raw := range m.Parameters {
		f := int16(0)
		switch len(m.ParameterFormatCodes) {
		case 0:
		case 1:
			f = m.ParameterFormatCodes[0]
		default:
			f = m.ParameterFormatCodes[i]
		}
		lit, err := literal(st.params[i], f, raw)
		if err != nil {
			return &pgError{code: "22P03", msg: fmt.Sprintf("medallion: parameter $%d: %v", i+1, err)}
		}
		p.lits = append(p.lits, lit)
	}
	c.portals[m.DestinationPortal] = p
	return nil
}

func (c *conn) describe(ctx context.Context, what byte, name string) error {
	if what == 'S' {
		st := c.stmts[name]
		if st == nil {
			return &pgError{code: "26000", msg: fmt.Sprintf("prepared statement %q does not exist", name)}
		}
		c.be.Send(&pgproto3.ParameterDescription{ParameterOIDs: st.params})
		if st.cols == nil {
			// The columns without running it: the statement with NULL
			// parameters under LIMIT 0.
			lits := make([]string, len(st.params))
			for i, o := range st.params {
				if lits[i], _ = literal(o, 0, nil); castType(o) == "" {
					// Text, as it will be; not NULL, which the engine
					// folds into a column of no type.
					lits[i] = "''"
				}
			}
			res, err := c.run(ctx, st, lits, 0)
			if err != nil {
				return err
			}
			st.cols = res.cols
		}
		if len(st.cols) == 0 && st.kind != kindQuery && st.kind != kindShow {
			c.be.Send(&pgproto3.NoData{})
		} else {
			c.be.Send(rowDescription(st.cols, nil))
		}
		return nil
	}
	p := c.portals[name]
	if p == nil {
		return &pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", name)}
	}
	if p.res == nil {
		res, err := c.run(ctx, p.stmt, p.lits)
		if err != nil {
			return err
		}
		p.res = res
	}
	if p.res.cols == nil {
		c.be.Send(&pgproto3.NoData{})
	} else {
		c.be.Send(rowDescription(p.res.cols, p.formats))
	}
	return nil
}

func (c *conn) execute(ctx context.Context, name string, maxRows int) error {
	p := c.portals[name]
	if p == nil {
		return &pgError{code: "34000", msg: fmt.Sprintf("portal %q does not exist", name)}
	}
	if p.stmt.kind == kindEmpty {
		c.be.Send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if p.res == nil {
		res, err := c.run(ctx, p.stmt, p.lits)
		if err != nil {
			return err
		}
		p.res = res
	}
	rows := p.res.rows[p.sent:]
	if maxRows > 0 && len(rows) > maxRows {
		rows = rows[:maxRows]
	}
	for _, r := range rows {
		if err := c.sendRow(p.res.cols, p.formats, r); err != nil {
			return err
		}
	}
	p.sent += len(rows)
	if p.sent < len(p.res.rows) {
		c.be.Send(&pgproto3.PortalSuspended{})
		return nil
	}
	c.be.Send(&pgproto3.CommandComplete{CommandTag: []byte(p.res.tag)})
	return nil
}

// run answers one statement. For queries, lits are the parameters'
// literals; limit, when given, wraps the query in LIMIT limit[0] (to
// describe it).
func (c *conn) run(ctx context.Context, st *statement, lits []string, limit ...int) (*result, error) {
	rollbackTo := st.kind == kindNoop && st.tag == "ROLLBACK"
	if c.txError && st.kind != kindCommit && st.kind != kindRollback && !rollbackTo && len(limit) == 0 {
		return nil, &pgError{code: "25P02", msg: "current transaction is aborted, commands ignored until end of transaction block"}
	}
	switch st.kind {
	case kindEmpty:
		return &result{tag: ""}, nil
	case kindSet:
		name, err := c.settings.applySet(st.sql)
		if err != nil {
			return nil, err
		}
		if name != "" && isReported(name) && len(limit) == 0 {
			c.be.Send(&pgproto3.ParameterStatus{Name: name, Value: c.settings.get(name)})
		}
		return &result{tag: st.tag}, nil
	case kindShow:
		return c.show(st.sql), nil
	case kindBegin:
		if len(limit) == 0 {
			if strings.Contains(strings.ToLower(st.sql), "read write") {
				return nil, &pgError{code: "25006", msg: "medallion: the lake is read-only over this endpoint (READ WRITE transactions are refused)"}
			}
			c.inTx, c.fresh = true, false
		}
		return &result{tag: st.tag}, nil
	case kindCommit, kindRollback:
		tag := st.tag
		if len(limit) == 0 {
			if c.txError {
				tag = "ROLLBACK" // COMMIT of a failed transaction
			}
			c.inTx, c.fresh, c.txError = false, false, false
		}
		return &result{tag: tag}, nil
	case kindNoop:
		if rollbackTo && len(limit) == 0 {
			c.txError = false // ROLLBACK TO SAVEPOINT: the transaction goes on
		}
		if strings.HasPrefix(st.tag, "DEALLOCATE") && len(limit) == 0 {
			f := strings.Fields(strings.TrimRight(stripComments(st.sql), "; \n"))
			if n := f[len(f)-1]; strings.EqualFold(n, "all") {
				clear(c.stmts)
			} else {
				delete(c.stmts, strings.Trim(n, `"`))
			}
		}
		return &result{tag: st.tag}, nil
	}
	sql := c.tr.translate(st.sql)
	if n := maxParam(sql); n > 0 || len(lits) > 0 {
		var err error
		if sql, err = substitute(sql, lits); err != nil {
			return nil, &pgError{code: "08P01", msg: "medallion: " + err.Error()}
		}
	}
	return c.query(ctx, sql, limit...)
}

// start gives a statement its context: the query time limit, and a
// cancel request's reach.
func (c *conn) start(ctx context.Context) (context.Context, func()) {
	qctx, cancel := context.WithTimeout(ctx, c.srv.opts.QueryTimeout)
	c.mu.Lock()
	c.cancel, c.canceled = cancel, false
	c.mu.Unlock()
	return qctx, func() {
		c.mu.Lock()
		c.cancel = nil
		c.mu.Unlock()
		cancel()
	}
}

// refresh binds the lake's latest snapshots, once per transaction block
// (outside one: before every statement).
func (c *conn) refresh(ctx context.Context) error {
	if c.fresh {
		return nil
	}
	if err := c.ss.Refresh(ctx); err != nil {
		return err
	}
	c.fresh = c.inTx
	return nil
}

var errTooMany = errors.New("pgwire: answer over the limit")

// query runs one read-only statement under the server's limits: the
// session is refreshed to the latest snapshots first (once per
// transaction block), the statement must be one read-only query, the
// engine stops after QueryMaxRows+1 rows, and the rows' size may not
// pass QueryMaxBytes.
func (c *conn) query(ctx context.Context, sql string, limit ...int) (*result, error) {
	qctx, done := c.start(ctx)
	defer done()
	if err := c.refresh(qctx); err != nil {
		return nil, c.queryError(qctx, err)
	}
	if err := c.ss.Check(qctx, sql); err != nil {
		return nil, c.queryError(qctx, err)
	}
	opts := c.srv.opts
	body := strings.TrimSpace(sql)
	for strings.HasSuffix(body, ";") {
		body = strings.TrimSpace(strings.TrimSuffix(body, ";"))
	}
	n := opts.QueryMaxRows + 1
	if len(limit) > 0 {
		n = limit[0]
	}
	run := fmt.Sprintf("SELECT * FROM (\n%s\n) AS __medallion_query LIMIT %d", body, n)
	if err := c.ss.Check(qctx, run); err != nil {
		// Not a subquery (DESCRIBE, SHOW, SUMMARIZE): the row count below
		// still stops it.
		run = sql
	}
	res := &result{}
	var size int64
	var over error
	err := c.ss.Scan(qctx, run, func(cols []engine.Column) error {
		res.cols = make([]column, len(cols))
		for i, col := range cols {
			res.cols[i] = column{name: col.Name, oid: oidOf(col.Type)}
		}
		return nil
	}, func(row []any) error {
		if len(res.rows) == opts.QueryMaxRows {
			over = &pgError{code: "53400", msg: fmt.Sprintf("medallion: the answer has more than %d rows (the server's row limit, --query-max-rows); narrow it with filters or a LIMIT", opts.QueryMaxRows)}
			return errTooMany
		}
		r := slices.Clone(row)
		for i, v := range r {
			if v != nil {
				size += int64(len(textValue(res.cols[i].oid, v))) + 4
			}
		}
		if size > opts.QueryMaxBytes {
			over = &pgError{code: "53400", msg: fmt.Sprintf("medallion: the answer passed the server's limit of %d bytes after %d rows (serve.query_max_bytes / --query-max-bytes); select fewer or narrower rows", opts.QueryMaxBytes, len(res.rows))}
			return errTooMany
		}
		res.rows = append(res.rows, r)
		return nil
	})
	if over != nil {
		return nil, over
	}
	if err != nil {
		return nil, c.queryError(qctx, err)
	}
	res.tag = fmt.Sprintf("SELECT %d", len(res.rows))
	return res, nil
}

// show answers SHOW name, SHOW ALL and SHOW TRANSACTION ISOLATION LEVEL
// from the session settings.
func (c *conn) show(sql string) *result {
	name := showName(sql)
	if strings.EqualFold(name, "all") {
		res := &result{cols: []column{{"name", pgtype.TextOID}, {"setting", pgtype.TextOID}, {"description", pgtype.TextOID}}, tag: "SHOW"}
		keys := make([]string, 0, len(c.settings.vals))
		for k := range c.settings.vals {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			res.rows = append(res.rows, []any{c.settings.names[k], c.settings.vals[k], ""})
		}
		return res
	}
	col := strings.ToLower(name)
	return &result{cols: []column{{col, pgtype.TextOID}}, rows: [][]any{{c.settings.get(name)}}, tag: "SHOW"}
}

// queryError turns an engine or session error into a Postgres error with
// the closest SQLSTATE.
func (c *conn) queryError(qctx context.Context, err error) error {
	var pe *pgError
	if errors.As(err, &pe) {
		return pe
	}
	c.mu.Lock()
	canceled := c.canceled
	c.mu.Unlock()
	msg := err.Error()
	switch {
	case canceled:
		return &pgError{code: "57014", msg: "canceling statement due to user request"}
	case errors.Is(qctx.Err(), context.DeadlineExceeded):
		return &pgError{code: "57014", msg: fmt.Sprintf("canceling statement due to statement timeout (the server's query time limit is %s, --query-timeout)", c.srv.opts.QueryTimeout)}
	case errors.Is(err, pipeline.ErrNotReadOnly):
		return &pgError{code: "42501", msg: "medallion: permission denied: " + msg}
	case strings.Contains(msg, "only tables inside the project's lake"), strings.Contains(msg, "Permission Error"), strings.Contains(msg, "disabled by configuration"), strings.Contains(msg, "not allowed"):
		return &pgError{code: "42501", msg: "medallion: permission denied: " + msg}
	case strings.Contains(msg, "Parser Error"), strings.Contains(msg, "syntax error"):
		return &pgError{code: "42601", msg: msg}
	case strings.Contains(msg, "Catalog Error") && strings.Contains(msg, "Function"):
		return &pgError{code: "42883", msg: msg}
	case strings.Contains(msg, "Catalog Error"):
		return &pgError{code: "42P01", msg: msg}
	case strings.Contains(msg, "Binder Error") && strings.Contains(msg, "column"):
		return &pgError{code: "42703", msg: msg}
	case strings.Contains(msg, "Binder Error"):
		return &pgError{code: "42804", msg: msg}
	case strings.Contains(msg, "Out of Memory"):
		return &pgError{code: "53200", msg: msg + " (the session's memory limit, serve.query_memory_limit / --query-memory-limit)"}
	case strings.Contains(msg, "Conversion Error"), strings.Contains(msg, "Invalid Input Error"):
		return &pgError{code: "22P02", msg: msg}
	}
	return &pgError{code: "XX000", msg: msg}
}

func (c *conn) sendError(err error) {
	var pe *pgError
	if !errors.As(err, &pe) {
		pe = &pgError{code: "XX000", msg: err.Error()}
	}
	c.be.Send(&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: pe.code, Message: pe.msg})
}

// format is the result format of column i under the Bind's codes.
func format(formats []int16, i int) int16 {
	switch len(formats) {
	case 0:
		return 0
	case 1:
		return formats[0]
	}
	if i < len(formats) {
		return formats[i]
	}
	return 0
}

func rowDescription(cols []column, formats []int16) *pgproto3.RowDescription {
	rd := &pgproto3.RowDescription{Fields: make([]pgproto3.FieldDescription, len(cols))}
	for i, col := range cols {
		rd.Fields[i] = pgproto3.FieldDescription{Name: []byte(col.name), DataTypeOID: col.oid, DataTypeSize: typeSize(col.oid), TypeModifier: -1, Format: format(formats, i)}
	}
	return rd
}

func (c *conn) sendRow(cols []column, formats []int16, row []any) error {
	vals := make([][]byte, len(row))
	for i, v := range row {
		b, err := encode(cols[i].oid, format(formats, i), v)
		if err != nil {
			return &pgError{code: "22P03", msg: fmt.Sprintf("medallion: column %s: %v", cols[i].name, err)}
		}
		vals[i] = b
	}
	c.be.Send(&pgproto3.DataRow{Values: vals})
	return nil
}
