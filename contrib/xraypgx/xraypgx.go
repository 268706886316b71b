// Package xraypgx traces pgx v5 used directly (pgx.Conn, pgxpool.Pool):
// each query, batch, copy, prepare and transaction becomes an X-Ray
// subsegment with the same sql block, sanitized statement and error
// classes as package xraysql.
//
//	cfg, _ := pgxpool.ParseConfig(dsn)
//	cfg.ConnConfig.Tracer = xraypgx.NewTracer()
//	pool, _ := pgxpool.NewWithConfig(ctx, cfg)
//
// or xraypgx.NewPool(ctx, dsn). The tracer works next to others under
// pgx's multitracer. WithSQLCommenter appends each statement's trace
// context as a sqlcommenter comment, for PostgreSQL's logs and
// pg_stat_activity.
package xraypgx

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/openxray/xray"
	"github.com/openxray/xray/sqltrace"
)

// Option configures a Tracer.
type Option interface {
	apply(*config)
}

type config struct {
	sql            sqltrace.Config
	batchChildren  bool
	slowConnect    time.Duration
	transactionsOn bool
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithBatchStatements records, under a batch's subsegment, one subsegment
// per queued statement. By default a batch is one subsegment with the
// number of statements, however many it holds.
func WithBatchStatements() Option {
	return optionFunc(func(c *config) { c.batchChildren = true })
}

// WithSlowConnect records connections and pool acquisitions that take at
// least d (default 10 ms); failed ones are always recorded. A warm pool
// adds no subsegments.
func WithSlowConnect(d time.Duration) Option {
	return optionFunc(func(c *config) { c.slowConnect = d })
}

// WithSlowQueryThreshold annotates calls that take d or longer with
// slow_query = true.
func WithSlowQueryThreshold(d time.Duration) Option {
	return optionFunc(func(c *config) { c.sql.SlowQuery = d })
}

// WithQuery sets what is recorded of each statement: xraysql.QuerySanitized
// (the default), xraysql.QueryOff or xraysql.QueryRaw, the modes xraysql
// itself takes.
func WithQuery(mode sqltrace.QueryMode) Option {
	return optionFunc(func(c *config) { c.sql.Query = mode })
}

// WithRawQueries records statements as written, literals included.
//
// Deprecated: use WithQuery(QueryRaw), the option xraysql and xraygorm
// share.
func WithRawQueries() Option { return WithQuery(sqltrace.QueryRaw) }

// WithParameters records bound values: fn returns what to record of them
// (metadata sql.parameters), after redacting. Without it, arguments are
// never recorded.
func WithParameters(fn func(query string, args []any) any) Option {
	return optionFunc(func(c *config) {
		if fn == nil {
			c.sql.Params = nil
			return
		}
		c.sql.Params = func(query string, args []driver.NamedValue) any {
			vals := make([]any, len(args))
			for i, a := range args {
				vals[i] = a.Value
			}
			return fn(query, vals)
		}
	})
}

// WithRecorder makes rec (instead of the default recorder) the one told
// about queries made outside any segment, and the one that records the
// facades of Lambda invocations.
func WithRecorder(rec *xray.Recorder) Option {
	return optionFunc(func(c *config) { c.sql.Recorder = rec })
}

// WithName sets the subsegments' name, "<database>@<host>" by default.
func WithName(name string) Option {
	return optionFunc(func(c *config) { c.sql.Name = name })
}

// Tracer implements pgx's QueryTracer, BatchTracer, CopyFromTracer,
// PrepareTracer and ConnectTracer, and pgxpool's AcquireTracer.
type Tracer struct {
	cfg config

	once sync.Once
	t    *sqltrace.Tracer

	txs     sync.Map // *pgx.Conn → *txState: the open transaction's subsegment
	writers sync.Map // net.Conn → *commentWriter (WithSQLCommenter)
}

var (
	_ pgx.QueryTracer       = (*Tracer)(nil)
	_ pgx.BatchTracer       = (*Tracer)(nil)
	_ pgx.CopyFromTracer    = (*Tracer)(nil)
	_ pgx.PrepareTracer     = (*Tracer)(nil)
	_ pgx.ConnectTracer     = (*Tracer)(nil)
	_ pgxpool.AcquireTracer = (*Tracer)(nil)
)

// NewTracer returns a tracer to set on pgx.ConnConfig.Tracer.
func NewTracer(opts ...Option) *Tracer {
	c := config{slowConnect: 10 * time.Millisecond}
	c.sql.DatabaseType = "PostgreSQL"
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return &Tracer{cfg: c}
}

// engine returns the shared tracer, made from the first connection's
// configuration (the password is never read).
func (t *Tracer) engine(cc *pgx.ConnConfig) *sqltrace.Tracer {
	t.once.Do(func() {
		c := t.cfg.sql
		c.SQLCommenter = false // comments go through BuildFrontend's writer
		if cc != nil {
			u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), Path: "/" + cc.Database}
			if cc.User != "" {
				u.User = url.User(cc.User)
			}
			if strings.HasPrefix(cc.Host, "/") {
				u.Host = "localhost"
			}
			c.DSN = u.String()
		}
		t.t = sqltrace.NewTracer(c, pgx.Identifier{})
	})
	return t.t
}

func (t *Tracer) connEngine(conn *pgx.Conn) *sqltrace.Tracer {
	if t.t != nil {
		return t.t
	}
	var cc *pgx.ConnConfig
	if conn != nil {
		cc = conn.Config()
	}
	return t.engine(cc)
}

type ctxKey int

const (
	queryKey ctxKey = iota
	batchKey
	copyKey
	prepareKey
	connectKey
	acquireKey
)

// call is what a Start hands its End through the context.
type call struct {
	span      *xray.Segment
	sql       *xray.SQL
	started   time.Time
	ctx       context.Context
	n         int
	err       error
	uncomment func() // clears the connection's comment (WithSQLCommenter)
}

type txState struct {
	span    *xray.Segment
	started time.Time
}

// txVerb recognizes the statements pgx runs for transactions.
func txVerb(sql string) string {
	s := strings.TrimSpace(sql)
	i := strings.IndexAny(s, " \t\n;")
	if i > 0 {
		s = s[:i]
	}
	switch strings.ToLower(s) {
	case "begin", "start":
		return "begin"
	case "commit", "end":
		return "commit"
	case "rollback", "abort":
		return "rollback"
	}
	return ""
}

func (t *Tracer) parent(conn *pgx.Conn) *xray.Segment {
	if v, ok := t.txs.Load(conn); ok {
		return v.(*txState).span
	}
	return nil
}

// TraceQueryStart begins a query's subsegment (or a transaction's, for
// BEGIN).
func (t *Tracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	e := t.connEngine(conn)
	if conn != nil && !e.HasVersion() {
		// From the connection's startup parameters: no query.
		e.SetVersionOnce(conn.PgConn().ParameterStatus("server_version"))
	}
	switch txVerb(data.SQL) {
	case "begin":
		sctx, span := e.Start(ctx, nil)
		if span != nil {
			t.txs.Store(conn, &txState{span: span, started: e.Now()})
			return context.WithValue(sctx, queryKey, &call{err: errTxBegin})
		}
		return ctx
	case "commit", "rollback":
		return context.WithValue(ctx, queryKey, &call{err: errTxEnd})
	}
	started := e.Now()
	sctx, span := e.Start(ctx, t.parent(conn))
	if span == nil {
		return ctx
	}
	if e.WantsParameters() && len(data.Args) > 0 {
		args := make([]driver.NamedValue, len(data.Args))
		for i, a := range data.Args {
			args[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		e.RecordParameters(span, data.SQL, args)
	}
	return context.WithValue(sctx, queryKey, &call{span: span, sql: e.Statement(data.SQL, false), started: started,
		uncomment: t.commenting(sctx, conn)})
}

var (
	errTxBegin = fmt.Errorf("begin")
	errTxEnd   = fmt.Errorf("end")
)

// TraceQueryEnd ends a query's subsegment with its rows and outcome.
func (t *Tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	c, ok := ctx.Value(queryKey).(*call)
	if !ok {
		return
	}
	e := t.connEngine(conn)
	switch c.err {
	case errTxBegin:
		if data.Err != nil {
			if v, ok := t.txs.LoadAndDelete(conn); ok {
				st := v.(*txState)
				e.EndTransaction(st.span, sqltrace.TxBeginFailed, data.Err, st.started)
			}
		}
		return
	case errTxEnd:
		v, ok := t.txs.LoadAndDelete(conn)
		if !ok {
			return
		}
		st := v.(*txState)
		outcome := sqltrace.TxCommitted
		if verb := strings.ToLower(data.CommandTag.String()); strings.HasPrefix(verb, "rollback") {
			outcome = sqltrace.TxRolledBack
		}
		e.EndTransaction(st.span, outcome, data.Err, st.started)
		return
	}
	if c.uncomment != nil {
		c.uncomment()
	}
	if data.Err == nil {
		c.span.AddMetadataToNamespace("sql", "rows_affected", data.CommandTag.RowsAffected())
	}
	e.Finish(c.span, c.sql, data.Err, c.started)
}

// TraceBatchStart begins one subsegment for a whole batch.
func (t *Tracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	e := t.connEngine(conn)
	started := e.Now()
	sctx, span := e.Start(ctx, t.parent(conn))
	if span == nil {
		return ctx
	}
	n := 0
	if data.Batch != nil {
		n = data.Batch.Len()
	}
	span.AddMetadataToNamespace("sql", "batch_statements", n)
	return context.WithValue(sctx, batchKey, &call{span: span, started: started, ctx: sctx, uncomment: t.commenting(sctx, conn)})
}

// TraceBatchQuery records one statement of a batch: its first error, and
// its own subsegment with WithBatchStatements.
func (t *Tracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	c, ok := ctx.Value(batchKey).(*call)
	if !ok {
		return
	}
	e := t.connEngine(conn)
	c.n++
	if c.sql == nil {
		c.sql = e.Statement(data.SQL, false) // the batch shows its first statement
	}
	if data.Err != nil && c.err == nil {
		c.err = data.Err
	}
	if t.cfg.batchChildren {
		_, span := e.Start(c.ctx, c.span)
		if span != nil {
			if data.Err == nil {
				span.AddMetadataToNamespace("sql", "rows_affected", data.CommandTag.RowsAffected())
			}
			e.Finish(span, e.Statement(data.SQL, false), data.Err, time.Time{})
		}
	}
}

// TraceBatchEnd ends the batch's subsegment.
func (t *Tracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	c, ok := ctx.Value(batchKey).(*call)
	if !ok {
		return
	}
	if c.uncomment != nil {
		c.uncomment()
	}
	e := t.connEngine(conn)
	err := data.Err
	if err == nil {
		err = c.err
	}
	c.span.AddMetadataToNamespace("sql", "batch_results", c.n)
	sql := c.sql
	if sql == nil {
		sql = e.Base()
	}
	e.Finish(c.span, sql, err, c.started)
}

// TraceCopyFromStart begins a COPY's subsegment.
func (t *Tracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	e := t.connEngine(conn)
	started := e.Now()
	sctx, span := e.Start(ctx, t.parent(conn))
	if span == nil {
		return ctx
	}
	table := data.TableName.Sanitize()
	span.AddMetadataToNamespace("sql", "table", table)
	q := "COPY " + table + " (" + strings.Join(quoteAll(data.ColumnNames), ", ") + ") FROM STDIN"
	return context.WithValue(sctx, copyKey, &call{span: span, sql: e.Statement(q, false), started: started})
}

func quoteAll(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = pgx.Identifier{c}.Sanitize()
	}
	return out
}

// TraceCopyFromEnd ends a COPY's subsegment with the rows copied.
func (t *Tracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	c, ok := ctx.Value(copyKey).(*call)
	if !ok {
		return
	}
	if data.Err == nil {
		c.span.AddMetadataToNamespace("sql", "rows_copied", data.CommandTag.RowsAffected())
	}
	t.connEngine(conn).Finish(c.span, c.sql, data.Err, c.started)
}

// TracePrepareStart begins the subsegment of a Prepare the program asked
// for. pgx also prepares on its own, inside a query or batch (its statement
// cache): that time belongs to the query's subsegment, which is already in
// ctx, so it gets none of its own. Statements prepared already leave none.
func (t *Tracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if _, inQuery := ctx.Value(queryKey).(*call); inQuery {
		return ctx
	}
	if _, inBatch := ctx.Value(batchKey).(*call); inBatch {
		return ctx
	}
	e := t.connEngine(conn)
	started := e.Now()
	sctx, span := e.Start(ctx, t.parent(conn))
	if span == nil {
		return ctx
	}
	return context.WithValue(sctx, prepareKey, &call{span: span, sql: e.Statement(data.SQL, true), started: started})
}

// TracePrepareEnd ends a prepare's subsegment.
func (t *Tracer) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	c, ok := ctx.Value(prepareKey).(*call)
	if !ok {
		return
	}
	if data.AlreadyPrepared && data.Err == nil {
		c.span.Discard()
		return
	}
	c.span.AddMetadataToNamespace("sql", "operation", "prepare")
	t.connEngine(conn).Finish(c.span, c.sql, data.Err, c.started)
}

// TraceConnectStart begins a connection's subsegment, kept only if the
// connection fails or is slow.
func (t *Tracer) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	e := t.engine(data.ConnConfig)
	sctx, span := e.StartQuiet(ctx)
	if span == nil {
		return ctx
	}
	return context.WithValue(sctx, connectKey, &call{span: span, started: time.Now()})
}

// TraceConnectEnd ends it.
func (t *Tracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	t.endQuiet(ctx, connectKey, "connect", data.Err)
}

// TraceAcquireStart begins a pool acquisition's subsegment, kept only if it
// fails or is slow.
func (t *Tracer) TraceAcquireStart(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireStartData) context.Context {
	var cc *pgx.ConnConfig
	if pool != nil {
		cc = pool.Config().ConnConfig
	}
	e := t.engine(cc)
	sctx, span := e.StartQuiet(ctx)
	if span == nil {
		return ctx
	}
	return context.WithValue(sctx, acquireKey, &call{span: span, started: time.Now()})
}

// TraceAcquireEnd ends it.
func (t *Tracer) TraceAcquireEnd(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	t.endQuiet(ctx, acquireKey, "acquire", data.Err)
}

func (t *Tracer) endQuiet(ctx context.Context, key ctxKey, op string, err error) {
	c, ok := ctx.Value(key).(*call)
	if !ok {
		return
	}
	took := time.Since(c.started)
	if err == nil && took < t.cfg.slowConnect {
		c.span.Discard()
		return
	}
	c.span.AddMetadataToNamespace("sql", "operation", op)
	t.engine(nil).Finish(c.span, t.engine(nil).Base(), err, c.started)
}

// Connect connects with a tracer set.
func Connect(ctx context.Context, dsn string, opts ...Option) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	t := NewTracer(opts...)
	cfg.Tracer = t
	cfg.BuildFrontend = t.BuildFrontend
	return pgx.ConnectConfig(ctx, cfg)
}

// NewPool makes a pool whose connections are traced.
func NewPool(ctx context.Context, dsn string, opts ...Option) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	t := NewTracer(opts...)
	cfg.ConnConfig.Tracer = t
	cfg.ConnConfig.BuildFrontend = t.BuildFrontend
	return pgxpool.NewWithConfig(ctx, cfg)
}

// RecordPoolStats records the pool's statistics as metadata in namespace
// "database" of the segment or subsegment in ctx.
func RecordPoolStats(ctx context.Context, pool *pgxpool.Pool) {
	seg := xray.GetSegment(ctx)
	if !seg.Sampled() || pool == nil {
		return
	}
	s := pool.Stat()
	for _, kv := range []struct {
		key string
		val any
	}{
		{"max_conns", s.MaxConns()},
		{"total_conns", s.TotalConns()},
		{"acquired_conns", s.AcquiredConns()},
		{"idle_conns", s.IdleConns()},
		{"constructing_conns", s.ConstructingConns()},
		{"acquire_count", s.AcquireCount()},
		{"empty_acquire_count", s.EmptyAcquireCount()},
		{"canceled_acquire_count", s.CanceledAcquireCount()},
		{"acquire_duration_ms", float64(s.AcquireDuration()) / float64(time.Millisecond)},
	} {
		seg.AddMetadataToNamespace("database", kv.key, kv.val)
	}
}
