package sqltrace

import (
	"context"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/openxray/xray"
)

// conn is a traced driver.Conn. database/sql uses a connection from one
// goroutine at a time, so its fields need no lock.
type conn struct {
	inner driver.Conn
	t     *tracer
	// tx is the subsegment of the open transaction: statements run in it
	// become its subsegments, whatever context they are given.
	tx *xray.Segment

	// A statement the driver answered with driver.ErrSkip: database/sql
	// prepares it next and runs it as a statement, and that pair is
	// recorded in the subsegment begun for the first attempt.
	pendingQuery string
	pendingSpan  *xray.Segment
	pendingStart time.Time

	// waited is how long the call about to run waited for this
	// connection (Config.PoolWait), recorded on its subsegment.
	waited time.Duration
}

// begin starts the subsegment of a call on this connection: under the
// open transaction if there is one, with the pool wait that preceded it.
func (c *conn) begin(ctx context.Context) (context.Context, *xray.Segment) {
	sctx, span := c.t.start(ctx, c.tx, true)
	if c.waited > 0 {
		if span != nil {
			span.AddMetadataToNamespace("database", "pool_wait_ms", float64(c.waited.Microseconds())/1000)
		}
		c.waited = 0
	}
	return sctx, span
}

// The optional interfaces that change database/sql's behaviour by their
// mere presence (Pinger, SessionResetter, Validator: the pool keeps a
// connection after a cancelled transaction only when it has both of the
// last two) are offered exactly when the wrapped connection has them.
type (
	pingMethod  struct{ c *conn }
	resetMethod struct{ c *conn }
	validMethod struct{ c *conn }
)

func wrapConn(inner driver.Conn, t *tracer) driver.Conn {
	c := &conn{inner: inner, t: t}
	_, p := inner.(driver.Pinger)
	_, r := inner.(driver.SessionResetter)
	_, v := inner.(driver.Validator)
	switch {
	case p && r && v:
		return &struct {
			*conn
			pingMethod
			resetMethod
			validMethod
		}{c, pingMethod{c}, resetMethod{c}, validMethod{c}}
	case p && r:
		return &struct {
			*conn
			pingMethod
			resetMethod
		}{c, pingMethod{c}, resetMethod{c}}
	case p && v:
		return &struct {
			*conn
			pingMethod
			validMethod
		}{c, pingMethod{c}, validMethod{c}}
	case r && v:
		return &struct {
			*conn
			resetMethod
			validMethod
		}{c, resetMethod{c}, validMethod{c}}
	case p:
		return &struct {
			*conn
			pingMethod
		}{c, pingMethod{c}}
	case r:
		return &struct {
			*conn
			resetMethod
		}{c, resetMethod{c}}
	case v:
		return &struct {
			*conn
			validMethod
		}{c, validMethod{c}}
	}
	return c
}

// Unwrap returns the driver's own connection, for (*sql.Conn).Raw.
func (c *conn) Unwrap() driver.Conn { return c.inner }

// Ping pings the database in a subsegment.
func (m pingMethod) Ping(ctx context.Context) error {
	c := m.c
	c.dropPending()
	started := c.t.now()
	sctx, span := c.begin(ctx)
	err := c.inner.(driver.Pinger).Ping(sctx)
	if span != nil {
		span.AddMetadataToNamespace("sql", "operation", "ping")
		c.t.finish(span, c.t.base.Load(), err, started)
	}
	return err
}

// ResetSession is called before the pool reuses the connection.
func (m resetMethod) ResetSession(ctx context.Context) error {
	m.c.dropPending()
	m.c.waited = 0
	if m.c.t.cfg.PoolWait {
		m.c.waited = m.c.t.poolWait()
	}
	return m.c.inner.(driver.SessionResetter).ResetSession(ctx)
}

// IsValid reports whether the pool may keep the connection.
func (m validMethod) IsValid() bool { return m.c.inner.(driver.Validator).IsValid() }

// CheckNamedValue hands argument checks to the driver's own checker; a
// driver without one gets database/sql's default conversions.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if nvc, ok := c.inner.(driver.NamedValueChecker); ok {
		return nvc.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *conn) dropPending() {
	if c.pendingSpan != nil {
		c.pendingSpan.Discard()
		c.pendingSpan, c.pendingQuery = nil, ""
	}
}

// Close closes the driver's connection.
func (c *conn) Close() error {
	c.dropPending()
	return c.inner.Close()
}

// ExecContext runs a statement in a subsegment that records the rows
// affected.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.dropPending()
	ec, hasCtx := c.inner.(driver.ExecerContext)
	e, hasLegacy := c.inner.(driver.Execer) //nolint:staticcheck // drivers without contexts
	if !hasCtx && !hasLegacy {
		return nil, driver.ErrSkip
	}
	started, sctx, span, sent := c.start(ctx, query)
	var res driver.Result
	var err error
	if hasCtx {
		res, err = ec.ExecContext(sctx, sent, args)
	} else {
		var values []driver.Value
		if values, err = legacyValues(ctx, args); err == nil {
			res, err = e.Exec(sent, values)
		}
	}
	if err == driver.ErrSkip {
		c.skip(query, span, started)
		return nil, err
	}
	c.t.endExec(span, query, false, args, res, err, started)
	return res, err
}

// QueryContext runs a query in a subsegment that lasts until the rows are
// closed and records how many were read.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.dropPending()
	qc, hasCtx := c.inner.(driver.QueryerContext)
	q, hasLegacy := c.inner.(driver.Queryer) //nolint:staticcheck // drivers without contexts
	if !hasCtx && !hasLegacy {
		return nil, driver.ErrSkip
	}
	started, sctx, span, sent := c.start(ctx, query)
	var rs driver.Rows
	var err error
	if hasCtx {
		rs, err = qc.QueryContext(sctx, sent, args)
	} else {
		var values []driver.Value
		if values, err = legacyValues(ctx, args); err == nil {
			rs, err = q.Query(sent, values)
		}
	}
	if err == driver.ErrSkip {
		c.skip(query, span, started)
		return nil, err
	}
	return c.t.endQuery(span, query, false, args, rs, err, started)
}

// start begins the subsegment of a statement run on the connection and
// returns the statement to send: query with its trace comment, when
// commenting is on.
func (c *conn) start(ctx context.Context, query string) (started time.Time, sctx context.Context, span *xray.Segment, sent string) {
	started = c.t.now()
	sctx, span = c.begin(ctx)
	sent = query
	if c.t.Commenting() {
		sent = comment(ctx, span, query)
	}
	return started, sctx, span, sent
}

// endExec records an Exec's outcome (parameters, rows affected) and
// closes its subsegment; prepared says whether it ran as a statement.
func (t *tracer) endExec(span *xray.Segment, query string, prepared bool, args []driver.NamedValue, res driver.Result, err error, started time.Time) {
	if span == nil {
		return
	}
	t.recordParams(span, query, args)
	if err == nil {
		if n, rerr := res.RowsAffected(); rerr == nil {
			span.AddMetadataToNamespace("sql", "rows_affected", n)
		}
	}
	t.finish(span, t.sqlFor(query, prepared), err, started)
}

// endQuery records a Query's parameters and, when it failed, closes its
// subsegment; otherwise the rows it returns close it when they are.
func (t *tracer) endQuery(span *xray.Segment, query string, prepared bool, args []driver.NamedValue, rs driver.Rows, err error, started time.Time) (driver.Rows, error) {
	if span == nil {
		return rs, err
	}
	t.recordParams(span, query, args)
	sql := t.sqlFor(query, prepared)
	if err != nil {
		t.finish(span, sql, err, started)
		return nil, err
	}
	return &rows{inner: rs, t: t, span: span, sql: sql, started: started}, nil
}

// skip keeps the subsegment of a call the driver answered with ErrSkip for
// the prepared statement database/sql runs instead.
func (c *conn) skip(query string, span *xray.Segment, started time.Time) {
	if span != nil {
		c.pendingQuery, c.pendingSpan, c.pendingStart = query, span, started
	}
}

// Prepare prepares a statement.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext prepares a statement in a subsegment of its own, or in
// the one of the call it falls back from.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var span *xray.Segment
	var started time.Time
	fallback := c.pendingSpan != nil && c.pendingQuery == query
	sctx := ctx
	if fallback {
		span, started = c.pendingSpan, c.pendingStart
		c.pendingSpan, c.pendingQuery = nil, ""
	} else {
		c.dropPending()
		started = c.t.now()
		sctx, span = c.begin(ctx)
	}
	var st driver.Stmt
	var err error
	if pc, ok := c.inner.(driver.ConnPrepareContext); ok {
		st, err = pc.PrepareContext(sctx, query)
	} else if err = ctx.Err(); err == nil {
		st, err = c.inner.Prepare(query)
	}
	if err != nil {
		c.t.finish(span, c.t.sqlFor(query, true), err, started)
		return nil, err
	}
	s := &stmt{inner: st, c: c, query: query}
	if fallback {
		s.pendingSpan, s.pendingStart = span, started
	} else if span != nil {
		span.AddMetadataToNamespace("sql", "operation", "prepare")
		c.t.finish(span, c.t.sqlFor(query, true), nil, started)
	}
	return wrapStmt(s), nil
}

// Begin starts a transaction.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction in a subsegment that lasts until Commit or
// Rollback and holds the subsegments of its statements.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.dropPending()
	started := c.t.now()
	sctx, span := c.begin(ctx) // c.tx is nil: transactions do not nest
	var tx driver.Tx
	var err error
	if bt, ok := c.inner.(driver.ConnBeginTx); ok {
		tx, err = bt.BeginTx(sctx, opts)
	} else {
		// As database/sql does for drivers without ConnBeginTx.
		switch {
		case opts.Isolation != 0:
			err = errors.New("sql: driver does not support non-default isolation level")
		case opts.ReadOnly:
			err = errors.New("sql: driver does not support read-only transactions")
		default:
			if err = ctx.Err(); err == nil {
				tx, err = c.inner.Begin() //nolint:staticcheck // drivers without contexts
			}
		}
	}
	if err != nil {
		if span != nil {
			span.AddMetadataToNamespace("sql", "transaction", "begin failed")
		}
		c.t.finish(span, c.t.base.Load(), err, started)
		return nil, err
	}
	if span == nil {
		return tx, nil
	}
	c.tx = span
	return &txWrapper{inner: tx, c: c, span: span, started: started}, nil
}

// legacyValues converts args for a driver without context methods and,
// as database/sql does before such a call, checks that ctx is not done.
func legacyValues(ctx context.Context, args []driver.NamedValue) ([]driver.Value, error) {
	values, err := namedToValues(args)
	if err == nil {
		err = ctx.Err()
	}
	return values, err
}

// namedToValues converts arguments for drivers without context methods,
// which take no names.
func namedToValues(args []driver.NamedValue) ([]driver.Value, error) {
	values := make([]driver.Value, len(args))
	for i, a := range args {
		if a.Name != "" {
			return nil, errors.New("sql: driver does not support the use of Named Parameters")
		}
		values[i] = a.Value
	}
	return values, nil
}

// txWrapper is a traced transaction.
type txWrapper struct {
	inner   driver.Tx
	c       *conn
	span    *xray.Segment
	started time.Time
}

func (t *txWrapper) Commit() error {
	err := t.inner.Commit()
	t.end(TxCommitted, err)
	return err
}

func (t *txWrapper) Rollback() error {
	err := t.inner.Rollback()
	t.end(TxRolledBack, err)
	return err
}

func (t *txWrapper) end(outcome string, err error) {
	if t.c.tx == t.span {
		t.c.tx = nil
	}
	t.c.t.EndTransaction(t.span, outcome, err, t.started)
}
