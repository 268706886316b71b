// Package xraygorm is a GORM v2 plugin that makes every GORM operation an
// X-Ray subsegment, with the same sql block, sanitized statement and error
// classes as package xraysql:
//
//	db.Use(xraygorm.NewPlugin())
//	db.WithContext(ctx).Preload("Orders").First(&user, id)
//
// Each create, query, update, delete, row and raw operation is one
// subsegment named "<database>@<host>" in namespace "remote", with the
// statement GORM ran (never its bound values) and, in metadata, the table,
// the operation and the rows affected. Preloads are subsegments of their
// own; a transaction (db.Transaction) is a subsegment holding its
// statements. gorm.ErrRecordNotFound is not a failure.
//
// If the connection underneath is already traced by xraysql, the plugin records nothing, so that one statement is
// one subsegment: use one or the other.
package xraygorm

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"time"

	"github.com/openxray/xray"
	"github.com/openxray/xray/sqltrace"
	"gorm.io/gorm"
)

// Option configures the plugin.
type Option interface {
	apply(*sqltrace.Config)
}

type optionFunc func(*sqltrace.Config)

func (f optionFunc) apply(c *sqltrace.Config) { f(c) }

// WithDSN describes the database when the dialector does not say (its
// secrets are never recorded).
func WithDSN(dsn string) Option { return optionFunc(func(c *sqltrace.Config) { c.DSN = dsn }) }

// WithName sets the subsegments' name, "<database>@<host>" by default.
func WithName(name string) Option { return optionFunc(func(c *sqltrace.Config) { c.Name = name }) }

// WithSlowQueryThreshold annotates operations that take d or longer with
// slow_query = true.
func WithSlowQueryThreshold(d time.Duration) Option {
	return optionFunc(func(c *sqltrace.Config) { c.SlowQuery = d })
}

// WithParameters records bound values: fn returns what to record of them
// (metadata sql.parameters), after redacting. Without it, GORM's
// Statement.Vars are never recorded.
func WithParameters(fn func(query string, vars []any) any) Option {
	return optionFunc(func(c *sqltrace.Config) {
		c.Params = func(query string, args []driver.NamedValue) any {
			vars := make([]any, len(args))
			for i, a := range args {
				vars[i] = a.Value
			}
			return fn(query, vars)
		}
	})
}

// WithQuery sets what is recorded of each statement: xraysql.QuerySanitized
// (the default), xraysql.QueryOff or xraysql.QueryRaw, the modes xraysql
// itself takes.
func WithQuery(mode sqltrace.QueryMode) Option {
	return optionFunc(func(c *sqltrace.Config) { c.Query = mode })
}

// WithRecorder makes rec (instead of the default recorder) the one told
// about operations run outside any segment, and the one that records the
// facades of Lambda invocations.
func WithRecorder(rec *xray.Recorder) Option {
	return optionFunc(func(c *sqltrace.Config) { c.Recorder = rec })
}

// WithSQLCommenter appends the trace context to each statement as a
// sqlcommenter comment (traceparent and x-amzn-trace-id, naming the trace
// and the operation's subsegment), so that the database's logs and
// pg_stat_activity can be joined to traces. The recorded statement has no
// comment. With PostgreSQL, GORM runs pgx, which caches statements by
// their text: comments are added only when the DSN sets
// default_query_exec_mode=exec (or simple_protocol, describe_exec), so
// that the cache is not defeated; see xraysql.WithSQLCommenter.
func WithSQLCommenter() Option {
	return optionFunc(func(c *sqltrace.Config) { c.SQLCommenter = true })
}

// Plugin is the GORM plugin.
type Plugin struct {
	cfg      sqltrace.Config
	t        *sqltrace.Tracer
	disabled bool // the connection is traced by xraysql already
}

var _ gorm.Plugin = (*Plugin)(nil)

// NewPlugin returns the plugin, for db.Use.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{}
	for _, o := range opts {
		if o != nil {
			o.apply(&p.cfg)
		}
	}
	return p
}

// Name is the plugin's name for GORM.
func (p *Plugin) Name() string { return "openxray" }

// Initialize registers the callbacks and wraps the connection pool so that
// transactions are seen.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if sqlDB, ok := db.ConnPool.(*sql.DB); ok && traced(sqlDB.Driver()) {
		p.disabled = true
		return nil
	}
	cfg := p.cfg
	cfg.DriverName = db.Dialector.Name()
	switch cfg.DriverName {
	case "postgres":
		cfg.DatabaseType = "PostgreSQL"
	case "mysql":
		cfg.DatabaseType = "MySQL"
	case "sqlite":
		cfg.DatabaseType = "SQLite"
	case "sqlserver":
		cfg.DatabaseType = "Microsoft SQL Server"
	}
	if cfg.DSN == "" {
		cfg.DSN = dialectorDSN(db.Dialector)
	}
	p.t = sqltrace.NewTracer(cfg, db.Dialector)

	if pool, ok := db.ConnPool.(txBeginner); ok {
		w := &connPool{txBeginner: pool, p: p}
		db.ConnPool = w
		if db.Statement != nil && db.Statement.ConnPool == pool {
			db.Statement.ConnPool = w // sessions start from the statement's pool
		}
	}
	cb := db.Callback()
	for _, register := range []func() error{
		func() error { return cb.Create().Before("gorm:create").Register("openxray:before_create", p.before()) },
		func() error {
			return cb.Create().After("gorm:create").Register("openxray:after_create", p.after("create"))
		},
		func() error { return cb.Query().Before("gorm:query").Register("openxray:before_query", p.before()) },
		func() error { return cb.Query().After("gorm:query").Register("openxray:after_query", p.after("query")) },
		func() error { return cb.Update().Before("gorm:update").Register("openxray:before_update", p.before()) },
		func() error {
			return cb.Update().After("gorm:update").Register("openxray:after_update", p.after("update"))
		},
		func() error { return cb.Delete().Before("gorm:delete").Register("openxray:before_delete", p.before()) },
		func() error {
			return cb.Delete().After("gorm:delete").Register("openxray:after_delete", p.after("delete"))
		},
		func() error { return cb.Row().Before("gorm:row").Register("openxray:before_row", p.before()) },
		func() error { return cb.Row().After("gorm:row").Register("openxray:after_row", p.after("row")) },
		func() error { return cb.Raw().Before("gorm:raw").Register("openxray:before_raw", p.before()) },
		func() error { return cb.Raw().After("gorm:raw").Register("openxray:after_raw", p.after("raw")) },
	} {
		if err := register(); err != nil {
			return err
		}
	}
	return nil
}

// traced reports whether a database/sql driver is OpenXRay's wrapper.
func traced(d driver.Driver) bool {
	_, ok := d.(interface{ OpenXRayTraced() })
	return ok
}

// dialectorDSN reads the DSN field of the common dialectors (postgres and
// mysql keep it in Config, sqlite on the dialector) without importing them.
func dialectorDSN(d gorm.Dialector) string {
	v := reflect.ValueOf(d)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	if f := v.FieldByName("DSN"); f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	if c := v.FieldByName("Config"); c.IsValid() {
		for c.Kind() == reflect.Pointer {
			if c.IsNil() {
				return ""
			}
			c = c.Elem()
		}
		if c.Kind() == reflect.Struct {
			if f := c.FieldByName("DSN"); f.IsValid() && f.Kind() == reflect.String {
				return f.String()
			}
		}
	}
	return ""
}

// stateKey keys a call's state in Statement.Settings. GORM's InstanceSet
// would build a string key with fmt.Sprintf on every call; a zero-size
// struct key costs nothing.
type stateKey struct{}

type call struct {
	span    *xray.Segment
	started time.Time
	ctx     context.Context // the statement's context before, when it was replaced
}

func (p *Plugin) before() func(*gorm.DB) {
	return func(tx *gorm.DB) {
		if p.disabled || tx.Statement == nil {
			return
		}
		ctx := tx.Statement.Context
		if ctx == nil {
			ctx = context.Background()
		}
		var parent *xray.Segment
		if t, ok := tx.Statement.ConnPool.(*txConn); ok {
			parent = t.span
		}
		started := p.t.Now()
		sctx, span := p.t.Start(ctx, parent)
		if span == nil {
			return
		}
		c := &call{span: span, started: started}
		if p.t.Commenting() {
			// The statement runs with the subsegment in its context, so
			// that its comment names the operation.
			c.ctx, tx.Statement.Context = tx.Statement.Context, sctx
		}
		tx.Statement.Settings.Store(stateKey{}, c)
	}
}

func (p *Plugin) after(op string) func(*gorm.DB) {
	return func(tx *gorm.DB) {
		if p.disabled || tx.Statement == nil {
			return
		}
		v, ok := tx.Statement.Settings.LoadAndDelete(stateKey{})
		if !ok {
			return
		}
		c, ok := v.(*call)
		if !ok || c == nil {
			return
		}
		if c.ctx != nil {
			tx.Statement.Context = c.ctx
		}
		query := tx.Statement.SQL.String()
		if tx.Statement.Table != "" {
			c.span.AddMetadataToNamespace("sql", "table", tx.Statement.Table)
		}
		c.span.AddMetadataToNamespace("sql", "operation", op)
		err := tx.Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			err = nil
		}
		if err == nil {
			c.span.AddMetadataToNamespace("sql", "rows_affected", tx.RowsAffected)
		}
		if p.cfg.Params != nil && len(tx.Statement.Vars) > 0 {
			args := make([]driver.NamedValue, len(tx.Statement.Vars))
			for i, v := range tx.Statement.Vars {
				args[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
			}
			c.span.AddMetadataToNamespace("sql", "parameters", p.cfg.Params(query, args))
		}
		sqlBlock := p.t.Base()
		if query != "" {
			sqlBlock = p.t.Statement(query, false)
		}
		p.t.Finish(c.span, sqlBlock, err, c.started)
	}
}

// txBeginner is a GORM connection pool that starts transactions.
type txBeginner interface {
	gorm.ConnPool
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// connPool wraps GORM's pool so that each transaction is a subsegment
// (and, with WithSQLCommenter, each statement carries the trace context).
type connPool struct {
	txBeginner
	p *Plugin
}

// comment adds the trace context to query (WithSQLCommenter), unless
// xraysql traces the connection underneath and comments for itself.
func (p *Plugin) comment(ctx context.Context, query string) string {
	if p.disabled {
		return query
	}
	return p.t.Comment(ctx, query)
}

func (c *connPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.txBeginner.ExecContext(ctx, c.p.comment(ctx, query), args...)
}

func (c *connPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.txBeginner.QueryContext(ctx, c.p.comment(ctx, query), args...)
}

func (c *connPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.txBeginner.QueryRowContext(ctx, c.p.comment(ctx, query), args...)
}

// BeginTx starts a transaction in a subsegment that lasts until Commit or
// Rollback and holds the subsegments of its statements.
func (c *connPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	started := c.p.t.Now()
	_, span := c.p.t.Start(ctx, nil)
	tx, err := c.txBeginner.BeginTx(ctx, opts)
	if err != nil {
		c.p.t.EndTransaction(span, sqltrace.TxBeginFailed, err, started)
		return nil, err
	}
	if span == nil {
		return tx, nil
	}
	return &txConn{Tx: tx, p: c.p, span: span, started: started}, nil
}

// GetDBConn hands GORM the *sql.DB underneath (db.DB()).
func (c *connPool) GetDBConn() (*sql.DB, error) {
	if db, ok := c.txBeginner.(*sql.DB); ok {
		return db, nil
	}
	if g, ok := c.txBeginner.(interface{ GetDBConn() (*sql.DB, error) }); ok {
		return g.GetDBConn()
	}
	return nil, errors.New("xraygorm: no *sql.DB under the pool")
}

// txConn is a traced transaction.
type txConn struct {
	*sql.Tx
	p       *Plugin
	span    *xray.Segment
	started time.Time
}

func (t *txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.p.comment(ctx, query), args...)
}

func (t *txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.p.comment(ctx, query), args...)
}

func (t *txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.p.comment(ctx, query), args...)
}

func (t *txConn) Commit() error {
	err := t.Tx.Commit()
	t.end(sqltrace.TxCommitted, err)
	return err
}

func (t *txConn) Rollback() error {
	err := t.Tx.Rollback()
	t.end(sqltrace.TxRolledBack, err)
	return err
}

func (t *txConn) end(outcome string, err error) {
	t.p.t.EndTransaction(t.span, outcome, err, t.started)
}
